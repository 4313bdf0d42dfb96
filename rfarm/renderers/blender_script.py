"""Renders frames inside Blender (``blender -b --python``) or a Python with the bpy module.

It is run, never imported, by rfarm: ``python blender_script.py JOB_JSON``,
or ``blender -b SCENE --python blender_script.py -- JOB_JSON``. In background
mode Blender 5 prints no per-sample progress and prefixes its ``Saved:`` lines
with a time, so this script reports frames, progress and outputs itself as
``RFARM <event> <frame> <value>`` lines.

Before rendering it points the scene at the node's copies of its files: the
job's ``remap_file`` maps paths as the scene writes them to new ones, and
``relative_base`` rebases ``//`` relative paths (a snapshot of the scene
rendered away from its folder). Linked libraries that moved are reloaded.
"""
import json
import os
import sys


def emit(kind, frame, value=""):
    sys.stdout.write(f"RFARM {kind} {frame} {value}\n")
    sys.stdout.flush()


# bpy.data collections whose items carry a file path
FILE_COLLECTIONS = ("libraries", "images", "sounds", "movieclips", "volumes", "cache_files", "fonts")


def remap_paths(bpy, remap, relative_base):
    """Point local data blocks at their new files; reload the libraries that moved."""
    moved = []
    for name in FILE_COLLECTIONS:
        for item in getattr(bpy.data, name, ()):
            if item.library is not None or getattr(item, "parent", None) is not None:
                continue  # linked data, or a library another library links: paths relative to their own file
            old = item.filepath
            new = remap.get(old)
            if new is None and relative_base and old.startswith("//"):
                new = os.path.join(relative_base, old[2:])
            if new is None or os.path.normpath(bpy.path.abspath(old)) == os.path.normpath(new):
                continue
            item.filepath = new
            if name == "libraries":
                moved.append(item)
    for library in moved:
        library.reload()


def main():
    args = sys.argv[sys.argv.index("--") + 1 :] if "--" in sys.argv else sys.argv[1:]
    job = json.loads(args[0])
    import bpy

    if os.path.normcase(os.path.abspath(bpy.data.filepath or "")) != os.path.normcase(os.path.abspath(job["scene"])):
        bpy.ops.wm.open_mainfile(filepath=job["scene"])
    if job.get("remap_file") or job.get("relative_base"):
        remap = {}
        if job.get("remap_file"):
            with open(job["remap_file"], encoding="utf-8") as fh:
                remap = json.load(fh)
        remap_paths(bpy, remap, job.get("relative_base"))
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
