"""What a frame's thumbnail costs against the frame's render, on the example scene.

1. The example scene (``examples/turntable.blend``: Cycles, 320x180, 8
   samples) is rendered through the real path, in a fresh embedded farm: a
   task recorded, an in-process ``Worker`` (burst) claiming each frame,
   rendering it with Blender, storing its results and its thumbnail. Each
   frame's thumbnail record says what making and storing the thumbnail took,
   and ``make_thumbnail`` is timed again alone on the frame's output; both are
   set against the frame's time on the node: from its claim, or in a chunk
   (``--chunk 8``: one Blender start for all) from the chunk's previous frame
   recorded done, so Blender's start is left out. The goal is under 5 %.
2. ``make_thumbnail`` alone on 1920x1080 images of each format (median of
   ``--repeat``), to show what a full-HD frame costs.

Figures are printed; goals are printed beside them, never asserted.

    python benchmarks/bench_thumbnails.py [--frames 1-8] [--chunk 1] [--repeat 5]
"""
from __future__ import annotations

import argparse
import os
import shutil
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from datetime import datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

SCENE = ROOT / "examples" / "turntable.blend"
GOAL_SHARE = 0.05


def render_share(frames: list[int], chunk: int, repeat: int) -> None:
    from rfarm.config import load_config
    from rfarm.files.thumbnails import load_thumbnail, make_thumbnail
    from rfarm.node.worker import Worker
    from rfarm.state import scheduler
    from rfarm.state.farm import open_farm
    from rfarm.state.models import Frame
    from rfarm.submit.request import SubmitRequest

    home = Path(tempfile.mkdtemp(prefix="rfarm-bench-thumbs-"))
    try:
        os.environ.update({"RFARM_HOME": str(home), "RFARM_USER": "bench"})
        config = load_config()
        farm = open_farm(config)
        scene = home / "turntable.blend"
        shutil.copyfile(SCENE, scene)
        task_id = scheduler.submit(SubmitRequest(scene=str(scene), renderer="blender", frames=frames,
                                                 chunk_size=chunk), user="bench")
        started = time.perf_counter()
        Worker(config, name="bench-node", burst=True).run()
        wall = time.perf_counter() - started

        rows = []
        previous: dict[int, datetime] = {}  # per chunk: when its last frame was recorded
        for row in Frame.select().where(Frame.task == task_id).order_by(Frame.chunk, Frame.finished_at):
            _, record = load_thumbnail(farm.storage, task_id, row.number)
            begun = max(row.started_at, previous.get(row.chunk, row.started_at))
            previous[row.chunk] = row.finished_at
            make = statistics.median(_timed(make_thumbnail, Path(row.outputs[0])) for _ in range(repeat))
            rows.append((row.number, record, (row.finished_at - begun).total_seconds(), make))
    finally:
        shutil.rmtree(home, ignore_errors=True)

    print(f"\n1. the example scene, {len(frames)} frames in chunks of {chunk}, rendered in {wall:.1f} s")
    print("   frame: its time on the node (since its chunk's previous frame was recorded, or since the claim);")
    print("   stored: making and storing the thumbnail, as the node did; made: make_thumbnail alone, median")
    print(f"{'frame':>6} {'frame time':>10} {'stored':>9} {'share':>7} {'made':>8} {'share':>7}")
    thumbs, spans, makes = [], [], []
    for number, record, span, make in sorted(rows, key=lambda r: r[0]):
        if record is None or record.md5 is None:
            print(f"{number:>6}   no thumbnail: {record.error if record else 'none was made'}")
            continue
        thumbs.append(record.seconds)
        spans.append(span)
        makes.append(make)
        print(f"{number:>6} {span:9.2f}s {record.seconds * 1000:7.1f}ms {record.seconds / span:7.2%} "
              f"{make * 1000:6.1f}ms {make / span:7.2%}")
    if not thumbs:
        print("no thumbnails were made")
        return
    print(f"total: frames {sum(spans):.2f} s, thumbnails stored {sum(thumbs) * 1000:.1f} ms = "
          f"{sum(thumbs) / sum(spans):.2%} (worst frame {max(t / s for t, s in zip(thumbs, spans)):.2%}), "
          f"made {sum(makes) * 1000:.1f} ms = {sum(makes) / sum(spans):.2%}; goal: under {GOAL_SHARE:.0%}")


def _timed(function: Callable[[Path], object], path: Path) -> float:
    started = time.perf_counter()
    function(path)
    return time.perf_counter() - started


def full_hd(repeat: int) -> None:
    import numpy as np
    import OpenEXR
    from PIL import Image

    from rfarm.files.thumbnails import make_thumbnail

    folder = Path(tempfile.mkdtemp(prefix="rfarm-bench-thumbs-"))
    try:
        rng = np.random.default_rng(0)
        yy, xx = np.mgrid[0:1080, 0:1920].astype(np.float32)
        linear = np.stack([xx / 1920, yy / 1080, 0.5 + 0.5 * np.sin(xx / 50)], axis=-1)
        linear += rng.normal(0, 0.02, linear.shape).astype(np.float32)  # render noise: harder to compress
        eight = (np.clip(linear, 0, 1) * 255).astype(np.uint8)
        Image.fromarray(eight).save(folder / "f.png")
        Image.fromarray(eight).save(folder / "f.jpg", quality=92)
        Image.fromarray(eight).save(folder / "f.tif", compression="tiff_lzw")
        header = {"compression": OpenEXR.ZIP_COMPRESSION, "type": OpenEXR.scanlineimage}
        for name, dtype in (("half", "float16"), ("float", "float32")):
            channels = {c: np.ascontiguousarray(linear[..., i] * 40).astype(dtype) for i, c in enumerate("RGB")}
            channels["A"] = np.ones((1080, 1920), dtype=dtype)
            OpenEXR.File(header, channels).write(str(folder / f"f-{name}.exr"))
        print(f"\n2. make_thumbnail of a 1920x1080 image (median of {repeat})")
        for path in sorted(folder.iterdir()):
            median = statistics.median(_timed(make_thumbnail, path) for _ in range(repeat))
            print(f"{path.name:>12}: {median * 1000:7.1f} ms ({path.stat().st_size // 1024} KiB)")
    finally:
        shutil.rmtree(folder, ignore_errors=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--frames", default="1-8")
    parser.add_argument("--chunk", type=int, default=1)
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()
    from rfarm.submit.frames import parse_frames

    for name in list(os.environ):
        if name.startswith("RFARM_"):
            del os.environ[name]
    render_share(list(parse_frames(args.frames)), args.chunk, args.repeat)
    full_hd(args.repeat)


if __name__ == "__main__":
    main()
