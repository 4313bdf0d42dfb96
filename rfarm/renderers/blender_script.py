"""Renders frames inside Blender (``blender -b --python``) or a Python with the bpy module.

It is run, never imported, by rfarm: ``python blender_script.py JOB_JSON``,
or ``blender -b SCENE --python blender_script.py -- JOB_JSON``. In background
mode Blender 5 prints no per-sample progress and prefixes its ``Saved:`` lines
with a time, so this script reports frames, progress and outputs itself as
``RFARM <event> <frame> <value>`` lines.
"""
import json
import os
import sys


def emit(kind, frame, value=""):
    sys.stdout.write(f"RFARM {kind} {frame} {value}\n")
    sys.stdout.flush()


def main():
    args = sys.argv[sys.argv.index("--") + 1 :] if "--" in sys.argv else sys.argv[1:]
    job = json.loads(args[0])
    import bpy

    if os.path.normcase(os.path.abspath(bpy.data.filepath or "")) != os.path.normcase(os.path.abspath(job["scene"])):
        bpy.ops.wm.open_mainfile(filepath=job["scene"])
    scene = bpy.context.scene
    render = scene.render
    if job.get("camera"):
        camera = bpy.data.objects.get(job["camera"])
        if camera is None or camera.type != "CAMERA":
            emit("ERROR", 0, f"no camera named {job['camera']!r} in the scene")
            sys.exit(3)
        scene.camera = camera
    if scene.camera is None:
        emit("ERROR", 0, "the scene has no active camera")
        sys.exit(3)
    layers = job.get("layers") or []
    if layers:
        missing = [name for name in layers if name not in scene.view_layers]
        if missing:
            emit("ERROR", 0, f"no view layer named {missing[0]!r} in the scene")
            sys.exit(3)
        for layer in scene.view_layers:
            layer.use = layer.name in layers
    if job.get("width"):
        render.resolution_x = int(job["width"])
        render.resolution_percentage = 100
    if job.get("height"):
        render.resolution_y = int(job["height"])
        render.resolution_percentage = 100
    samples = {}

    def on_stats(stats):
        for part in str(stats).split("|"):
            part = part.strip()
            if part.startswith("Sample ") and "/" in part:
                done, _, total = part[len("Sample ") :].partition("/")
                try:
                    pct = 100.0 * int(done) / max(1, int(total.split()[0]))
                except ValueError:
                    continue
                if samples.get("last") != pct:
                    samples["last"] = pct
                    emit("PROGRESS", scene.frame_current, f"{pct:.1f}")

    bpy.app.handlers.render_stats.append(on_stats)
    out_dir = job["output_dir"]
    os.makedirs(out_dir, exist_ok=True)
    for frame in job["frames"]:
        emit("FRAME", frame, "start")
        samples.clear()
        scene.frame_set(frame)
        render.filepath = os.path.join(out_dir, "frame_####")
        path = render.frame_path(frame=frame)
        render.filepath = path
        bpy.ops.render.render(write_still=True)
        if not os.path.isfile(path):
            emit("ERROR", frame, f"Blender wrote no image for frame {frame}")
            sys.exit(4)
        emit("OUTPUT", frame, path)
        emit("FRAME", frame, "done")


if __name__ == "__main__":
    try:
        main()
    except SystemExit:
        raise
    except BaseException as exc:  # report the cause on one line, then fail
        emit("ERROR", 0, f"{type(exc).__name__}: {exc}".replace("\n", " "))
        sys.exit(1)
