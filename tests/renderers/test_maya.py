"""MayaRenderer: Render command lines for Linux and Windows nodes, and Arnold/Maya logs."""
from __future__ import annotations

from pathlib import Path

import pytest

from rfarm.errors import UsageError
from rfarm.renderers.base import RenderEvent, RenderJob
from rfarm.renderers.maya import MayaRenderer

LOGS = Path(__file__).resolve().parents[1] / "data" / "logs"


def parse_log(name: str) -> list[RenderEvent]:
    renderer = MayaRenderer(platform="linux")
    lines = (LOGS / name).read_text(encoding="utf-8").splitlines()
    return [event for event in map(renderer.parse_line, lines) if event is not None]


def test_linux_command_with_every_setting() -> None:
    job = RenderJob(
        scene="/jobs/task42/scenes/shot010.ma",
        frames=(1, 2, 3, 4),
        output_dir="/jobs/task42/out",
        camera="renderCamShape",
        layers=("fg", "bg"),
        width=1920,
        height=1080,
        project_dir="/jobs/task42",
    )
    assert MayaRenderer(platform="linux").build_command(job) == [
        "Render", "-r", "arnold", "-s", "1", "-e", "4", "-b", "1",
        "-rd", "/jobs/task42/out", "-proj", "/jobs/task42", "-cam", "renderCamShape",
        "-rl", "fg,bg", "-x", "1920", "-y", "1080",
        "-ai:ltc", "1", "-ai:lve", "2", "/jobs/task42/scenes/shot010.ma",
    ]


def test_linux_command_leaves_out_unset_settings() -> None:
    job = RenderJob(scene="/s/a.mb", frames=(7,), output_dir="/out")
    assert MayaRenderer(platform="linux").build_command(job) == [
        "Render", "-r", "arnold", "-s", "7", "-e", "7", "-b", "1",
        "-rd", "/out", "-ai:ltc", "1", "-ai:lve", "2", "/s/a.mb",
    ]


def test_windows_command_uses_render_exe_and_forward_slashes() -> None:
    job = RenderJob(
        scene="C:/proj/scenes/shot020.mb",
        frames=(10, 12, 14),
        output_dir=r"\\nas\share\proj\images",
        project_dir=r"C:\proj",
        width=1280,
    )
    assert MayaRenderer(platform="win32").build_command(job) == [
        "Render.exe", "-r", "arnold", "-s", "10", "-e", "14", "-b", "2",
        "-rd", "//nas/share/proj/images", "-proj", "C:/proj", "-x", "1280",
        "-ai:ltc", "1", "-ai:lve", "2", "C:/proj/scenes/shot020.mb",
    ]


def test_linux_keeps_backslashes_in_paths() -> None:
    job = RenderJob(scene="/s/odd\\name.ma", frames=(1,), output_dir="/out")
    assert MayaRenderer(platform="linux").build_command(job)[-1] == "/s/odd\\name.ma"


def test_configured_executable_replaces_the_default() -> None:
    renderer = MayaRenderer("C:/Program Files/Autodesk/Maya2024/bin/Render.exe", platform="win32")
    job = RenderJob(scene="C:/s.ma", frames=(1,), output_dir="C:/out")
    assert renderer.build_command(job)[0] == "C:/Program Files/Autodesk/Maya2024/bin/Render.exe"


@pytest.mark.parametrize("frames", [(1, 2, 4), (5, 3, 1), (3, 3)])
def test_chunk_that_is_not_one_increasing_run_is_refused(frames: tuple[int, ...]) -> None:
    job = RenderJob(scene="/s.ma", frames=frames, output_dir="/out")
    with pytest.raises(UsageError, match=r"one start/end/step range"):
        MayaRenderer(platform="linux").build_command(job)


def test_negative_frames_are_a_valid_range() -> None:
    job = RenderJob(scene="/s.ma", frames=(-4, -2, 0), output_dir="/out")
    command = MayaRenderer(platform="linux").build_command(job)
    assert command[3:9] == ["-s", "-4", "-e", "0", "-b", "2"]


@pytest.mark.parametrize(
    ("line", "percent"),
    [
        ("00:00:01   512MB         |     0% done - 12 rays/pixel", 0.0),
        ("00:19:36 49197MB         |    50% done - 1198 rays/pixel", 50.0),
        ("00:21:54 49262MB         |   100% done - 812 rays/pixel\r\n", 100.0),
    ],
)
def test_arnold_progress(line: str, percent: float) -> None:
    assert MayaRenderer().parse_line(line) == RenderEvent(percent=percent)


def test_written_image_gives_path_and_frame() -> None:
    line = "00:00:09   514MB         |  [driver_exr] writing file `/tmp/output/basic_01.0001.exr'"
    assert MayaRenderer().parse_line(line) == RenderEvent(
        frame=1, output="/tmp/output/basic_01.0001.exr"
    )


@pytest.mark.parametrize(
    ("path", "frame"),
    [
        ("J:/pat/sc045/lighting_v0003/Canyon/lighting_v0003_Canyon.1009.exr", 1009),
        ("/out/beauty_0042.tif", 42),
        ("/out/shot.-005.exr", -5),
        ("/out/still.png", None),
    ],
)
def test_frame_comes_from_the_number_before_the_extension(path: str, frame: int | None) -> None:
    line = f"00:00:09   514MB         |  [driver_tiff] writing file `{path}'"
    assert MayaRenderer().parse_line(line) == RenderEvent(frame=frame, output=path)


def test_render_done_does_not_end_a_frame() -> None:
    renderer = MayaRenderer()
    assert renderer.parse_line("00:00:09   514MB         | render done") is None
    assert renderer.parse_line("00:00:09   514MB         |  render done in 0:08.090") is None


def test_arnold_errors_and_license_warnings_are_errors() -> None:
    renderer = MayaRenderer()
    reason = "aborting render because this is a batch render and abort_on_license_fail option is enabled"
    abort = f"00:34:55  5452MB ERROR   |  {reason}"
    assert renderer.parse_line(abort) == RenderEvent(error=f"Arnold: {reason}")
    watermark = "00:00:01   402MB WARNING | rendering with watermarks because of failed authorization:"
    assert renderer.parse_line(watermark) == RenderEvent(
        error="Arnold: rendering with watermarks because of failed authorization:"
    )
    nan = "00:17:54 49158MB WARNING |   found NaN/inf in aiNormalMap283.out.VECTOR when shading object /tree"
    assert renderer.parse_line(nan) is None


@pytest.mark.parametrize(
    "line",
    ['Error: Cannot find procedure "xgmPreview".', '// Error: Cannot find procedure "xgmPreview". //'],
)
def test_maya_error_lines_in_both_styles(line: str) -> None:
    assert MayaRenderer().parse_line(line) == RenderEvent(error='Error: Cannot find procedure "xgmPreview".')


def test_other_lines_say_nothing() -> None:
    renderer = MayaRenderer()
    quiet = ["Result: /s/shot.ma", "Scene /s/shot.ma completed.", "", "// Warning: file: /s.ma line 3: x //"]
    for line in quiet:
        assert renderer.parse_line(line) is None


def test_successful_log_reports_each_frame_and_passes() -> None:
    events = parse_log("maya_arnold_ok.log")
    outputs = [(event.frame, event.output) for event in events if event.output]
    assert outputs == [
        (1, "/jobs/task42/out/masterLayer/shot010.0001.exr"),
        (2, "/jobs/task42/out/masterLayer/shot010.0002.exr"),
        (3, "/jobs/task42/out/masterLayer/shot010.0003.exr"),
    ]
    assert not any(event.frame_done for event in events)
    percents = [event.percent for event in events if event.percent is not None]
    assert percents[:7] == [0.0, 5.0, 10.0, 50.0, 95.0, 100.0, 0.0]
    errors = [event.error for event in events if event.error]
    assert errors == ['Error: Cannot find procedure "xgmPreview".']
    assert MayaRenderer().check_exit(0, errors) is None


def test_watermarked_render_fails_despite_exit_zero() -> None:
    events = parse_log("maya_arnold_watermark.log")
    errors = [event.error for event in events if event.error]
    assert [event.output for event in events if event.output] == ["//nas/share/proj/images/shot020.0012.exr"]
    assert MayaRenderer().check_exit(0, errors) == (
        "Arnold: rendering with watermarks because of failed authorization:"
    )


@pytest.mark.parametrize("code", [0, 211])
def test_license_abort_names_arnolds_line_not_the_last_error(code: int) -> None:
    errors = [event.error for event in parse_log("maya_arnold_license_abort.log") if event.error]
    assert errors[-1] == 'Error: Cannot find procedure "xgmPreview".'
    assert MayaRenderer().check_exit(code, errors) == (
        "Arnold: aborting render because this is a batch render and abort_on_license_fail option is enabled"
    )


def test_crash_names_the_fatal_error() -> None:
    errors = [event.error for event in parse_log("maya_crash.log") if event.error]
    assert MayaRenderer().check_exit(1, errors) == "maya encountered a fatal error"


@pytest.mark.parametrize(
    "error",
    [
        "Error: Scene /s/shot.ma failed to open",
        "Error: Could not open file: /s/shot.ma",
        'Error: file: /s/shot.ma line 4: Plug-in, "mtoa", was not found on MAYA_PLUG_IN_PATH.',
    ],
)
def test_scene_that_cannot_load_fails_despite_exit_zero(error: str) -> None:
    assert MayaRenderer().check_exit(0, ['Error: Cannot find procedure "x".', error]) == error


def test_non_zero_exit_without_fatal_error_reports_the_last_error_or_the_code() -> None:
    renderer = MayaRenderer()
    assert renderer.check_exit(211, ["Error: first", "Error: last"]) == "Error: last"
    assert renderer.check_exit(211, []) == "maya exited with code 211"
    assert renderer.check_exit(0, ["Error: Unable to modify overrides to the default layer."]) is None
