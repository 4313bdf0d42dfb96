"""Make a small Cycles scene that renders in seconds on a CPU: examples/turntable.blend by default.

Run with a Python that has the bpy module (``pip install 'rfarm[blender]'``):

    python examples/make_scene.py                      # regenerate examples/turntable.blend
    python examples/make_scene.py --out /tmp/s.blend --samples 1 --size 16x16 --frames 3

The tests make their scenes with it too, at other sizes and sample counts.
"""
from __future__ import annotations

import argparse
import math
from pathlib import Path

import bpy

OUT = Path(__file__).with_name("turntable.blend")


def make_scene(out: Path, *, samples: int, width: int, height: int, frames: int, threads: int, compress: bool) -> None:
    bpy.ops.wm.read_factory_settings(use_empty=True)
    scene = bpy.context.scene
    scene.render.engine = "CYCLES"
    scene.cycles.device = "CPU"
    scene.cycles.samples = samples
    scene.cycles.use_denoising = False
    scene.cycles.use_adaptive_sampling = False
    scene.render.resolution_x, scene.render.resolution_y = width, height
    scene.render.resolution_percentage = 100
    scene.render.image_settings.file_format = "PNG"
    if threads:
        scene.render.threads_mode = "FIXED"
        scene.render.threads = threads
    scene.frame_start, scene.frame_end = 1, frames

    bpy.ops.mesh.primitive_plane_add(size=20)
    bpy.ops.mesh.primitive_monkey_add(location=(0, 0, 1))
    monkey = bpy.context.active_object
    monkey.rotation_euler = (0, 0, 0)
    monkey.keyframe_insert("rotation_euler", frame=1)
    monkey.rotation_euler = (0, 0, math.radians(315))
    monkey.keyframe_insert("rotation_euler", frame=max(2, frames))
    material = bpy.data.materials.new("clay")
    material.use_nodes = True
    material.node_tree.nodes["Principled BSDF"].inputs["Base Color"].default_value = (0.8, 0.45, 0.3, 1)
    monkey.data.materials.append(material)

    bpy.ops.object.light_add(type="SUN", location=(4, -4, 8))
    bpy.context.active_object.data.energy = 4
    bpy.ops.object.camera_add(location=(0, -6, 2.5), rotation=(math.radians(75), 0, 0))
    camera = bpy.context.active_object
    camera.name = "shotCam"
    scene.camera = camera
    world = bpy.data.worlds.new("sky")
    world.color = (0.2, 0.25, 0.35)
    scene.world = world
    out.parent.mkdir(parents=True, exist_ok=True)
    bpy.ops.wm.save_as_mainfile(filepath=str(out), compress=compress)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=OUT)
    parser.add_argument("--samples", type=int, default=8)
    parser.add_argument("--size", default="320x180", help="WIDTHxHEIGHT")
    parser.add_argument("--frames", type=int, default=8)
    parser.add_argument("--threads", type=int, default=0, help="render threads (0: all)")
    parser.add_argument("--no-compress", action="store_true")
    args = parser.parse_args()
    width, height = (int(v) for v in args.size.lower().split("x"))
    make_scene(args.out, samples=args.samples, width=width, height=height, frames=args.frames,
               threads=args.threads, compress=not args.no_compress)


if __name__ == "__main__":
    main()
