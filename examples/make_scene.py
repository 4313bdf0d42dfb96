"""Regenerate examples/turntable.blend: a small Cycles scene that renders in seconds on a CPU.

Run with a Python that has the bpy module (``pip install 'rfarm[blender]'``):

    python examples/make_scene.py
"""
from __future__ import annotations

import math
from pathlib import Path

import bpy

OUT = Path(__file__).with_name("turntable.blend")


def main() -> None:
    bpy.ops.wm.read_factory_settings(use_empty=True)
    scene = bpy.context.scene
    scene.render.engine = "CYCLES"
    scene.cycles.device = "CPU"
    scene.cycles.samples = 8
    scene.cycles.use_denoising = False
    scene.render.resolution_x, scene.render.resolution_y = 320, 180
    scene.render.resolution_percentage = 100
    scene.render.image_settings.file_format = "PNG"
    scene.frame_start, scene.frame_end = 1, 8

    bpy.ops.mesh.primitive_plane_add(size=20)
    bpy.ops.mesh.primitive_monkey_add(location=(0, 0, 1))
    monkey = bpy.context.active_object
    monkey.rotation_euler = (0, 0, 0)
    monkey.keyframe_insert("rotation_euler", frame=1)
    monkey.rotation_euler = (0, 0, math.radians(315))
    monkey.keyframe_insert("rotation_euler", frame=8)
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
    bpy.ops.wm.save_as_mainfile(filepath=str(OUT), compress=True)


if __name__ == "__main__":
    main()
