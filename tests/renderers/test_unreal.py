"""UnrealRenderer: Movie Render Queue command lines and engine logs."""
from __future__ import annotations

from pathlib import Path

import pytest

from rfarm.errors import UsageError
from rfarm.renderers.base import RenderEvent, RenderJob
from rfarm.renderers.unreal import UnrealRenderer

LOGS = Path(__file__).resolve().parents[1] / "data" / "logs"

PIPELINE = "[2024.05.02-14.03.02:590][  2]LogMovieRenderPipeline: "


def parse_log(name: str) -> list[RenderEvent]:
    renderer = UnrealRenderer(platform="linux")
    lines = (LOGS / name).read_text(encoding="utf-8").splitlines()
    return [event for event in map(renderer.parse_line, lines) if event is not None]


def job(**options: str) -> RenderJob:
    return RenderJob(
        scene="/projects/City/City.uproject", frames=(0, 1, 2), output_dir="/out", options=options
    )


def test_linux_command_with_a_queue_config() -> None:
    command = UnrealRenderer(platform="linux").build_command(job(config="/Game/Cinematics/Q_Final"))
    assert command == [
        "UnrealEditor-Cmd", "/projects/City/City.uproject", "-game",
        "-MoviePipelineConfig=/Game/Cinematics/Q_Final",
        "-windowed", "-RenderOffscreen", "-Unattended", "-log", "-StdOut", "-allowStdOutLogVerbosity",
    ]


def test_windows_command_with_map_sequence_and_preset() -> None:
    renderer = UnrealRenderer(platform="win32")
    task = RenderJob(
        scene="C:/Unreal Projects/City/City.uproject",
        frames=(0,),
        output_dir="C:/Unreal Projects/City/Saved/MovieRenders",
        options={
            "map": "/Game/Maps/L_Street",
            "level_sequence": "/Game/Cinematics/SEQ_Chase.SEQ_Chase",
            "config": "/Game/Cinematics/MRQ_Final.MRQ_Final",
        },
    )
    assert renderer.build_command(task) == [
        "UnrealEditor-Cmd.exe", "C:/Unreal Projects/City/City.uproject", "/Game/Maps/L_Street", "-game",
        "-LevelSequence=/Game/Cinematics/SEQ_Chase.SEQ_Chase",
        "-MoviePipelineConfig=/Game/Cinematics/MRQ_Final.MRQ_Final",
        "-windowed", "-RenderOffscreen", "-Unattended", "-log", "-StdOut", "-allowStdOutLogVerbosity",
    ]


def test_configured_executable_replaces_the_default() -> None:
    program = "D:/UE_5.3/Engine/Binaries/Win64/UnrealEditor-Cmd.exe"
    renderer = UnrealRenderer(program, platform="win32")
    assert renderer.build_command(job(config="/Game/Q"))[0] == program


def test_config_is_required() -> None:
    with pytest.raises(UsageError, match=r"needs its Movie Render Queue config"):
        UnrealRenderer().build_command(job(map="/Game/Maps/L_Street"))


def test_other_options_are_ignored() -> None:
    command = UnrealRenderer(platform="linux").build_command(job(config="/Game/Q", project_dir="/p"))
    assert command == UnrealRenderer(platform="linux").build_command(job(config="/Game/Q"))


def test_settings_owned_by_the_config_are_refused() -> None:
    task = RenderJob(
        scene="/p/City.uproject", frames=(0,), output_dir="/out", camera="Cam", width=1920,
        options={"config": "/Game/Q"},
    )
    with pytest.raises(UsageError, match=r"takes camera, width from the Movie Render Queue config /Game/Q"):
        UnrealRenderer().build_command(task)


@pytest.mark.parametrize(
    ("message", "percent"),
    [
        ("[216] Initializing Camera Cut [1/4] in [sh010] CineCameraActor1.", 0.0),
        ("[392] Finished processing Camera Cut [1/4].", 25.0),
        ("[392] Initializing Camera Cut [3/4] in [sh030] CineCameraActor3.", 50.0),
        ("[604] Finished processing Camera Cut [4/4].", 100.0),
    ],
)
def test_camera_cut_progress(message: str, percent: float) -> None:
    renderer = UnrealRenderer()
    assert renderer.parse_line(PIPELINE + message) == RenderEvent(percent=percent)
    assert renderer.parse_line("LogMovieRenderPipeline: " + message) == RenderEvent(percent=percent)


def test_lines_that_are_not_progress() -> None:
    renderer = UnrealRenderer()
    for line in [
        PIPELINE + "[216] Finished initializing Camera Cut [1/4] in [sh010] CineCameraActor1.",
        PIPELINE + "Movie Pipeline completed. Duration: +00:02:12.906",
        "LogInit: Engine Version: 5.3.2-29314046+++UE5+Release-5.3",
        "LogStreaming: Warning: Failed to read file 'Cinematics/Old.uasset' error.",
        "",
    ]:
        assert renderer.parse_line(line) is None


def test_error_lines_keep_their_category_and_drop_the_timestamp() -> None:
    line = PIPELINE + "Error: Error exporting frame, canceling movie export."
    assert UnrealRenderer().parse_line(line) == RenderEvent(
        error="LogMovieRenderPipeline: Error: Error exporting frame, canceling movie export."
    )


def test_callstack_and_empty_error_lines_are_skipped() -> None:
    renderer = UnrealRenderer()
    assert renderer.parse_line("[2024.05.03-10.02.11:903][  0]LogWindows: Error: ") is None
    callstack = "[Callstack] 0x00007ffc7f2ecf19 KERNELBASE.dll!UnknownFunction []"
    assert renderer.parse_line(f"[2024.05.03-10.02.11:903][  0]LogWindows: Error: {callstack}") is None


def test_crash_line_without_error_level_is_an_error() -> None:
    line = "Unhandled Exception: SIGSEGV: invalid attempt to read memory at address 0x0000000000000000"
    assert UnrealRenderer().parse_line(line) == RenderEvent(error=line)


def test_successful_render_log() -> None:
    events = parse_log("unreal_mrq_ok.log")
    assert [event.percent for event in events if event.percent is not None] == [0.0, 50.0, 50.0, 100.0]
    errors = [event.error for event in events if event.error]
    assert errors == [
        "LogStreaming: Error: Couldn't find file for package /Game/Props/SM_Bench requested by "
        "async loading code. NameToLoad: /Game/Props/SM_Bench"
    ]
    assert UnrealRenderer().check_exit(0, errors) is None


def test_job_whose_sequence_does_not_load_fails_despite_exit_zero() -> None:
    errors = [event.error for event in parse_log("unreal_mrq_missing_sequence.log") if event.error]
    assert len(errors) == 2
    assert UnrealRenderer().check_exit(0, errors) == (
        "LogMovieRenderPipeline: Error: Failed to load Sequence specified by job: "
        "/Game/Cinematics/SEQ_Chase.SEQ_Chase"
    )


@pytest.mark.parametrize("code", [0, 3])
def test_crash_reports_the_fatal_message(code: int) -> None:
    errors = [event.error for event in parse_log("unreal_crash_missing_config.log") if event.error]
    assert UnrealRenderer().check_exit(code, errors) == (
        "LogWindows: Error: Failed to find Pipeline Configuration asset to render. Please note that the "
        "/Content/ part of the on-disk structure is omitted. Looked for: /Game/Cinematics/MRQ_Final"
    )


def test_non_zero_exit_without_errors_reports_the_code() -> None:
    assert UnrealRenderer().check_exit(1, []) == "unreal exited with code 1"
