"""The frame tracker replays renderers' real logs: which frame each line is about, progress, outputs, errors, timeouts."""
from __future__ import annotations

from pathlib import Path

import pytest

from rfarm.node.frame_tracker import FrameTracker
from rfarm.renderers.base import Renderer
from rfarm.renderers.blender import BlenderRenderer
from rfarm.renderers.maya import MayaRenderer
from rfarm.renderers.unreal import UnrealRenderer

LOGS = Path(__file__).resolve().parents[1] / "data" / "logs"

# What rfarm/renderers/blender_script.py printed rendering frames 1-2 of a Cycles
# scene with the bpy module (Blender 5.0): Blender's own lines and rfarm's.
BLENDER_LOG = """\
00:00.477  blend            | Read blend: "/jobs/task7/shot.blend"
RFARM FRAME 1 start
RFARM PROGRESS 1 0.0
RFARM PROGRESS 1 25.0
RFARM PROGRESS 1 100.0
00:00.660  render           | Saved: '/jobs/task7/out/frame_0001.png'
RFARM OUTPUT 1 /jobs/task7/out/frame_0001.png
RFARM FRAME 1 done
RFARM FRAME 2 start
RFARM PROGRESS 2 0.0
RFARM PROGRESS 2 25.0
RFARM PROGRESS 2 100.0
00:00.678  render           | Saved: '/jobs/task7/out/frame_0002.png'
RFARM OUTPUT 2 /jobs/task7/out/frame_0002.png
RFARM FRAME 2 done
"""


def replay(renderer: Renderer, lines: list[str], frames: tuple[int, ...]) -> tuple[FrameTracker, dict[int, list[str]], list[int]]:
    """Feed ``lines`` one second apart; the tracker, each frame's lines, and the frames finished in order."""
    tracker = FrameTracker(frames, reports_frames=renderer.reports_frames, now=0.0)
    by_frame: dict[int, list[str]] = {}
    finished: list[int] = []
    for second, line in enumerate(lines, start=1):
        fed = tracker.feed(renderer.parse_line(line), float(second))
        by_frame.setdefault(fed.frame, []).append(line)
        if fed.finished is not None:
            finished.append(fed.finished)
            tracker.close(fed.finished)
    return tracker, by_frame, finished


def log_lines(name: str) -> list[str]:
    return (LOGS / name).read_text(encoding="utf-8").splitlines()


def test_a_maya_chunk_moves_to_the_next_frame_after_each_written_image() -> None:
    lines = log_lines("maya_arnold_ok.log")
    tracker, by_frame, finished = replay(MayaRenderer(platform="linux"), lines, (1, 2, 3))
    assert sorted(by_frame) == [1, 2, 3]
    assert by_frame[1][-1].endswith("writing file `/jobs/task42/out/masterLayer/shot010.0001.exr'")
    assert by_frame[2][-1].endswith("shot010.0002.exr'") and by_frame[3][0].endswith("| render done")
    assert not any("0001.exr" in line for line in by_frame[2] + by_frame[3])
    assert tracker.outputs == {n: [f"/jobs/task42/out/masterLayer/shot010.000{n}.exr"] for n in (1, 2, 3)}
    assert tracker.progress == {1: 100.0, 2: 100.0, 3: 100.0}, "Arnold's % lines are the current frame's"
    assert tracker.errors == ['Error: Cannot find procedure "xgmPreview".']
    assert finished == [] and tracker.unfinished == [1, 2, 3], "Maya's frames end with the process"
    assert tracker.current == 3
    image_2_read_at = lines.index(by_frame[3][0])  # the line before frame 3's first, fed at second = its index + 1
    assert tracker.frame_started == image_2_read_at
    assert MayaRenderer().check_exit(0, tracker.errors) is None


def test_a_maya_crash_leaves_every_frame_unfinished_with_its_cause() -> None:
    tracker, _, _ = replay(MayaRenderer(platform="linux"), log_lines("maya_crash.log"), (1, 2))
    assert tracker.outputs == {} and tracker.current == 1 and tracker.unfinished == [1, 2]
    assert tracker.errors[-1] == "maya encountered a fatal error"
    assert MayaRenderer().check_exit(1, tracker.errors) == "maya encountered a fatal error"


def test_an_unreal_render_reports_camera_cut_progress_on_its_one_chunk() -> None:
    tracker, by_frame, finished = replay(UnrealRenderer(platform="linux"), log_lines("unreal_mrq_ok.log"), (0, 1, 2))
    assert list(by_frame) == [0] and finished == [] and tracker.outputs == {}
    assert tracker.progress == {0: 100.0}
    assert UnrealRenderer().check_exit(0, tracker.errors) is None


def test_an_unreal_error_is_kept_for_the_exit_check() -> None:
    tracker, _, _ = replay(UnrealRenderer(platform="linux"), log_lines("unreal_mrq_missing_sequence.log"), (0,))
    assert UnrealRenderer().check_exit(0, tracker.errors) == (
        "LogMovieRenderPipeline: Error: Failed to load Sequence specified by job: /Game/Cinematics/SEQ_Chase.SEQ_Chase"
    )


def test_blender_names_each_frame_and_finishes_it() -> None:
    lines = BLENDER_LOG.splitlines()
    tracker, by_frame, finished = replay(BlenderRenderer(python="python"), lines, (1, 2))
    assert finished == [1, 2] and tracker.unfinished == []
    assert by_frame[1][0].endswith('Read blend: "/jobs/task7/shot.blend"')
    assert by_frame[1][-1] == "RFARM FRAME 1 done" and by_frame[2][0] == "RFARM FRAME 2 start"
    assert tracker.outputs == {1: ["/jobs/task7/out/frame_0001.png"], 2: ["/jobs/task7/out/frame_0002.png"]}
    assert tracker.progress == {1: 100.0, 2: 100.0} and tracker.errors == []


def test_a_finished_frame_named_again_does_not_become_current() -> None:
    renderer = BlenderRenderer(python="python")
    tracker, _, _ = replay(renderer, BLENDER_LOG.splitlines()[:8], (1, 2))
    assert tracker.current == 1 and tracker.unfinished == [2]
    tracker.feed(renderer.parse_line("RFARM PROGRESS 1 50.0"), 9.0)
    assert tracker.current == 1, "frame 2 has not started yet"
    fed = tracker.feed(renderer.parse_line("RFARM FRAME 2 start"), 10.0)
    assert (fed.frame, tracker.current, tracker.frame_started) == (2, 2, 10.0)


def test_timeouts_count_from_the_frame_start_and_the_last_change_of_progress() -> None:
    renderer = BlenderRenderer(python="python")
    tracker = FrameTracker((1, 2), reports_frames=True, now=100.0)
    tracker.feed(renderer.parse_line("RFARM FRAME 1 start"), 100.0)
    tracker.feed(renderer.parse_line("RFARM PROGRESS 1 10.0"), 130.0)
    assert tracker.overdue(185.0, timeout_s=120, no_progress_s=60) is None
    assert tracker.overdue(191.0, timeout_s=None, no_progress_s=60) == "frame 1 made no progress for 1 min"
    tracker.feed(renderer.parse_line("RFARM PROGRESS 1 10.0"), 190.0)  # the same percent is no progress
    assert tracker.overdue(191.0, timeout_s=0, no_progress_s=60) == "frame 1 made no progress for 1 min"
    tracker.feed(renderer.parse_line("RFARM PROGRESS 1 20.0"), 200.0)
    assert tracker.overdue(221.0, timeout_s=120, no_progress_s=60) == "frame 1 rendered longer than the 2 min timeout"
    tracker.feed(renderer.parse_line("RFARM FRAME 2 start"), 221.0)
    assert tracker.overdue(250.0, timeout_s=120, no_progress_s=60) is None, "a new frame resets both clocks"


# the lifeline's output when Popen could not start the render's program (recorded from Python 3.11)
LIFELINE_TRACEBACK = """Traceback (most recent call last):
  File "<frozen runpy>", line 198, in _run_module_as_main
  File "/opt/rfarm/rfarm/node/lifeline.py", line 45, in main
    child = subprocess.Popen(argv[2:])
            ^^^^^^^^^^^^^^^^^^^^^^^^^^
  File "/usr/lib/python3.11/subprocess.py", line 1950, in _execute_child
    raise child_exception_type(errno_num, err_msg, err_filename)
FileNotFoundError: [Errno 2] No such file or directory: '/nope/blender'"""

CHAINED_TRACEBACK = """Read blend: "/proj/shot.blend"
Traceback (most recent call last):
  File "/proj/scripts/setup.py", line 3, in <module>
    open("/proj/missing.json")
FileNotFoundError: [Errno 2] No such file or directory: '/proj/missing.json'

During handling of the above exception, another exception occurred:

Traceback (most recent call last):
  File "/proj/scripts/setup.py", line 5, in <module>
    raise RuntimeError("setup failed: no settings")
RuntimeError: setup failed: no settings
Blender quit"""


@pytest.mark.parametrize(("log", "cause"), [
    (LIFELINE_TRACEBACK, "FileNotFoundError: [Errno 2] No such file or directory: '/nope/blender'"),
    (CHAINED_TRACEBACK, "RuntimeError: setup failed: no settings"),
    ("rfarm: cannot start /nope/blender: No such file or directory", "cannot start /nope/blender: No such file or directory"),
])
def test_the_error_of_a_traceback_is_its_exception_line(log: str, cause: str) -> None:
    renderer = BlenderRenderer(python="python")
    tracker = FrameTracker((1,), reports_frames=True, now=0.0)
    for line in log.splitlines():
        tracker.feed(renderer.parse_line(line), 1.0, line)
    assert tracker.errors[-1] == cause
    assert not any("Traceback" in e for e in tracker.errors)
    assert renderer.check_exit(1, tracker.errors) == cause
