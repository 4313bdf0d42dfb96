"""``rfarm submit`` and the commands that watch and control tasks."""
from __future__ import annotations

import sys
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, NoReturn, Optional

import typer
from rich.text import Text

from rfarm.cli.options import AllOption, JsonOption, TaskArg, connect
from rfarm.cli.output import cell, err_console, info, local_time, out_console, plural, print_json, state_cell
from rfarm.state.states import TERMINAL, FrameState

#: seconds ``status --watch`` and ``submit --wait`` wait for an event before reading the task anyway
#: (a frame's render progress changes without one)
WATCH_REFRESH_S = 2.0
WAIT_REFRESH_S = 1.0
#: seconds ``logs --follow`` waits for an event before reading the logs again
LOGS_POLL_S = 0.5

if TYPE_CHECKING:
    from rfarm.api import FarmAPI, TaskChange
    from rfarm.cli.task_view import FrameFilter
    from rfarm.state.taskinfo import TaskInfo
    from rfarm.state.users import Caller

#: the colour of each task and frame state
def register(app: typer.Typer) -> None:
    for command in (submit, status, list_, cancel, pause, resume, retry, cleanup, logs):
        name = "list" if command is list_ else command.__name__
        app.command(name)(command)
    app.command("delete")(delete)


def submit(
    scene: Annotated[str, typer.Argument(help="The scene file to render.", show_default=False)],
    frames: Annotated[Optional[str], typer.Option("--frames", "-f", help="Frames: 1-100, 1-100x2 or 1,5,10-20.")] = None,
    test_frame: Annotated[list[str], typer.Option("--test-frame", "-t", help="Render first, alone (repeatable or 1,50,100).")] = [],  # noqa: B006
    priority: Annotated[str, typer.Option(help="high, default or low.")] = "default",
    chunk: Annotated[int, typer.Option(help="Frames per render process.")] = 1,
    timeout: Annotated[Optional[float], typer.Option(help="Longest a frame may render, in minutes.")] = None,
    ram: Annotated[float, typer.Option(help="RAM the render needs, in GB.")] = 0,
    gpus: Annotated[int, typer.Option(help="GPUs the render needs.")] = 0,
    gpu_memory: Annotated[float, typer.Option("--gpu-memory", help="Memory each GPU needs, in GB.")] = 0,
    tag: Annotated[list[str], typer.Option("--tag", help="Only nodes with this tag (repeatable).")] = [],  # noqa: B006
    hardware_config: Annotated[Optional[str], typer.Option("--hardware-config", help="Needs from a named hardware config.")] = None,
    no_progress_timeout: Annotated[Optional[float], typer.Option("--no-progress-timeout", help="Kill a render whose progress has not moved for this many minutes.")] = None,
    renderer: Annotated[Optional[str], typer.Option(help="blender, maya or unreal (default: from the file type).")] = None,
    resolution: Annotated[Optional[str], typer.Option(help="WIDTHxHEIGHT (default: the scene's own).")] = None,
    option: Annotated[list[str], typer.Option("--option", help="A renderer option KEY=VALUE (repeatable), e.g. Unreal's config=/Game/Render/Preset.")] = [],  # noqa: B006
    camera: Annotated[Optional[str], typer.Option(help="Render through this camera.")] = None,
    layer: Annotated[list[str], typer.Option("--layer", help="Render only this layer (repeatable; default: every renderable one).")] = [],  # noqa: B006
    output: Annotated[Optional[Path], typer.Option("--output", "-o", help="Where the finished images go.")] = None,
    user: Annotated[Optional[str], typer.Option(help="Submit as this user.")] = None,
    stop_after_test: Annotated[bool, typer.Option("--stop-after-test", help="A failed test frame fails the task.")] = False,
    hold_after_test: Annotated[bool, typer.Option("--hold-after-test", help="Hold the task after its test frames until `rfarm resume`.")] = False,
    strict: Annotated[bool, typer.Option("--strict", help="Refuse to submit while a dependency is missing.")] = False,
    force: Annotated[bool, typer.Option("--force", help="Submit a scene its analysis says cannot render, or through a camera it does not list.")] = False,
    analyse: Annotated[bool, typer.Option("--analyse/--no-analyse", help="Read the scene's settings and dependencies first.")] = True,
    wait: Annotated[bool, typer.Option("--wait", help="Show progress until the task ends; exit 0 only if it succeeded.")] = False,
    upload: Annotated[bool, typer.Option("--upload", help="Upload the scene and its dependencies (with dedup): nodes render only from these copies.")] = False,
    in_place: Annotated[bool, typer.Option("--in-place", help="Render the live scene file, not a snapshot of it taken now.")] = False,
    scene_in_zip: Annotated[Optional[str], typer.Option("--scene-in-zip", help="For a .zip project: the scene inside it (default: its only scene).")] = None,
    json: JsonOption = False,
) -> int:
    """Submit a scene for rendering.

    The scene is snapshotted to storage so that saving it again does not change
    the frames still to render; --upload sends its dependencies too, --in-place
    renders the live file.

    Example: rfarm submit shot.blend --frames 1-100 --test-frame 50 --upload --wait
    """
    from rich.markup import escape

    from rfarm.submit import submission
    from rfarm.cli.analyse_cmd import analysing
    from rfarm.cli.files_cmd import transfer_bar, upload_line
    from rfarm.errors import UsageError
    from rfarm.submit import flow

    if upload and in_place:
        raise UsageError("--upload and --in-place cannot be combined")
    mode = "upload" if upload else "in-place" if in_place else "snapshot"
    api, caller, config = connect(user=user)
    analysis = None
    if analyse:
        with analysing(scene, quiet=json):
            analysis = flow.analyse_if_readable(scene)
    request = submission.build_request(
        scene, frames=frames, test_frames=test_frame, priority=priority, chunk=chunk,
        timeout_min=timeout, ram_gb=ram, gpus=gpus, gpu_memory_gb=gpu_memory, tags=tag,
        hardware_config=hardware_config, no_progress_timeout_min=no_progress_timeout,
        renderer=renderer, resolution=resolution, camera=camera,
        layers=layer, output_dir=str(output) if output else None,
        stop_after_test=stop_after_test, hold_after_test=hold_after_test,
        analysis=analysis, strict=strict, force=force, scene_in_archive=scene_in_zip,
        options=submission.parse_options(option),
    )
    if analysis is None and upload and not scene.lower().endswith(".zip"):
        info("[yellow]warning:[/yellow] the scene was not analysed, so --upload sends the scene file alone")
    with transfer_bar(quiet=json) as bar:
        submitted = flow.send(api, caller, config, request, files=mode, analysis=analysis,
                              on_progress=None if json else bar)
    task_id = submitted.task_id
    uploaded = submitted.upload
    if uploaded is not None and not json:
        info(upload_line(uploaded))
    for warning in submitted.warnings:
        info(f"[yellow]warning:[/yellow] {escape(warning)}")
    if not json:
        info(f"submitted task [bold]{task_id}[/bold]: {plural(len(request.frames), 'frame')} of {escape(request.name)}"
             + (f", test frames {','.join(map(str, request.test_frames))}" if request.test_frames else ""))
    if wait:
        final = _wait(api, caller, task_id, quiet=json)
        if json:
            print_json(final.to_dict())
        if final.status != "done":
            _failed(final)
        return 0
    if json:
        print_json(submitted.to_dict())
    else:
        print(task_id)
    return 0


def status(
    task: Annotated[Optional[str], typer.Argument(help="A task id (default: your tasks).", show_default=False)] = None,
    watch: Annotated[bool, typer.Option("--watch", "-w", help="Refresh until the task ends (or until interrupted).")] = False,
    frames: Annotated[Optional[str], typer.Option("--frames", help="Only these frames of the task: 1-100 or 1,5,10-20.")] = None,
    state: Annotated[list[str], typer.Option("--state", help="Only the task's frames in this state (repeatable).")] = [],  # noqa: B006
    all_users: AllOption = False,
    json: JsonOption = False,
) -> int:
    """Show a task's summary and frames, or a summary of your tasks (with --watch --json: one JSON line per refresh).

    A big task's table shows its first frames; --frames and --state choose others, --json gives every one.

    Example: rfarm status 12 --state failed
    """
    from rfarm.cli import task_view
    from rfarm.errors import UsageError

    if task is None and (frames is not None or state):
        raise UsageError("--frames and --state choose frames of one task: give its id")
    chosen = task_view.FrameFilter.parse(frames, state)
    api, caller, _ = connect(all_users=all_users)
    cursor = api.wait_events(caller, task_id=task)[0] if watch else 0
    if task is not None:
        return _task_status(api, caller, task, chosen, watch=watch, json=json, cursor=cursor)

    def snapshot():  # type: ignore[no-untyped-def]
        infos = api.tasks(caller)
        return [t.to_dict(with_frames=False) for t in infos], _tasks_table(infos)

    doc, table = snapshot()
    if not watch:
        if json:
            print_json(doc)
        else:
            out_console().print(table)
        return 0

    def changed() -> None:
        """Wait for the next event (or a few seconds, for render progress), then read again."""
        nonlocal cursor, doc, table
        cursor, _ = api.wait_events(caller, after=cursor, task_id=task, timeout_s=WATCH_REFRESH_S)
        doc, table = snapshot()

    if json:  # a stream: one JSON document per line and refresh
        while True:
            print_json(doc, compact=True)
            changed()
    from rich.live import Live

    with Live(table, console=out_console(), auto_refresh=False) as live:
        while True:
            changed()
            live.update(table, refresh=True)


def _task_status(api: FarmAPI, caller: Caller, task: str, chosen: FrameFilter, *, watch: bool, json: bool,
                 cursor: int) -> int:
    """One task's status, once or (``watch``) at each change until the task ends."""
    from rfarm.cli import task_view

    if json:  # with --watch, a stream: one JSON document per line and refresh
        while not task_view.print_status_json(api, caller, task, chosen, compact=watch).task.is_finished and watch:
            cursor, _ = api.wait_events(caller, after=cursor, task_id=task, timeout_s=WATCH_REFRESH_S)
        return 0
    summary, view = task_view.status_view(api, caller, task, chosen)
    if not watch or summary.task.is_finished:
        out_console().print(view)
        return 0
    from rich.live import Live

    with Live(view, console=out_console(), auto_refresh=False) as live:
        while not summary.task.is_finished:
            cursor, _ = api.wait_events(caller, after=cursor, task_id=task, timeout_s=WATCH_REFRESH_S)
            summary, view = task_view.status_view(api, caller, task, chosen)
            live.update(view, refresh=True)
    return 0


def list_(
    user: Annotated[Optional[str], typer.Option(help="Only this user's tasks (admins).")] = None,
    status_: Annotated[list[str], typer.Option("--status", help="Only tasks in this state (repeatable).")] = [],  # noqa: B006
    all_users: AllOption = False,
    json: JsonOption = False,
) -> int:
    """List tasks.

    Example: rfarm list --status failed
    """
    api, caller, _ = connect(all_users=all_users)
    infos = api.tasks(caller, user=user, status=status_)
    if json:
        print_json([t.to_dict(with_frames=False) for t in infos])
    else:
        out_console().print(_tasks_table(infos))
    return 0


def cancel(task: TaskArg, all_users: AllOption = False, json: JsonOption = False) -> int:
    """Cancel a task: queued frames are dropped, running renders are killed.

    Example: rfarm cancel 12
    """
    api, caller, _ = connect(all_users=all_users)
    change = api.cancel(caller, task)
    _done(change, json, f"task {task} cancelled ({change.frames_cancelled} frames)")
    return 0


def pause(task: TaskArg, all_users: AllOption = False, json: JsonOption = False) -> int:
    """Stop dispatching a task's frames (frames rendering now finish).

    Example: rfarm pause 12
    """
    api, caller, _ = connect(all_users=all_users)
    _done(api.pause(caller, task), json, f"task {task} paused")
    return 0


def resume(task: TaskArg, all_users: AllOption = False, json: JsonOption = False) -> int:
    """Resume a paused or held task.

    Example: rfarm resume 12
    """
    api, caller, _ = connect(all_users=all_users)
    _done(api.resume(caller, task), json, f"task {task} resumed")
    return 0


def retry(
    task: TaskArg,
    failed: Annotated[bool, typer.Option("--failed", help="Only failed frames, not cancelled ones.")] = False,
    frames: Annotated[Optional[str], typer.Option("--frames", help="Exactly these frames, finished ones too: 1-100 or 1,5,10-20.")] = None,
    all_users: AllOption = False,
    json: JsonOption = False,
) -> int:
    """Queue a task's failed (and cancelled) frames again, or the frames --frames names; clears the task's blocklist.

    Example: rfarm retry 12 --frames 5,17
    """
    from rfarm.submit.frames import parse_frames

    chosen = None if frames is None else parse_frames(frames)
    api, caller, _ = connect(all_users=all_users)
    change = api.retry(caller, task, failed_only=failed, frames=chosen)
    cleared = change.blocklist_cleared or 0
    _done(change, json, f"task {task}: {change.frames_requeued} frames queued again"
          + (f"; blocklist cleared on {plural(cleared, 'node')}" if cleared else ""))
    return 0


ForceOption = Annotated[bool, typer.Option("--force", help="Cancel the task first if a frame is rendering.")]


def cleanup(task: TaskArg, force: ForceOption = False, all_users: AllOption = False, json: JsonOption = False) -> int:
    """Remove a task's workspace; its records, logs and results stay. Refused while a frame renders.

    Example: rfarm cleanup 12
    """
    api, caller, _ = connect(all_users=all_users)
    change = api.cleanup(caller, task, force=force)
    cancelled = f" (cancelled {plural(change.frames_cancelled, 'frame')} first)" if change.frames_cancelled else ""
    _done(change, json, f"task {task}: workspace {'removed' if change.removed else 'already gone'}{cancelled}")
    return 0


def delete(
    task: TaskArg,
    yes: Annotated[bool, typer.Option("--yes", "-y", help="Do not ask for confirmation.")] = False,
    force: ForceOption = False,
    all_users: AllOption = False,
    json: JsonOption = False,
) -> int:
    """Delete a task: its records, logs, results and the stored files no other task uses.

    Asks first (--yes does not); refused while a frame renders (--force cancels the task first).

    Example: rfarm delete 12 --yes
    """
    from rfarm.errors import UsageError

    api, caller, _ = connect(all_users=all_users)
    one = api.task(caller, task, with_frames=False)
    if not yes:
        if not sys.stdin.isatty():
            raise UsageError(f"rfarm delete {one.task_id} asks for confirmation and this is no terminal: add --yes")
        question = (f"Delete task {one.task_id} ({one.name}, {one.status}) with its records, logs, results "
                    "and the stored files no other task uses?")
        if not typer.confirm(question, default=False, err=True):
            info(f"task {one.task_id}: nothing deleted")
            return 1
    gone = api.delete(caller, one.task_id, force=force)
    if json:
        print_json(gone.to_dict())
    else:
        cancelled = f", cancelled {plural(gone.frames_cancelled, 'frame')} first" if gone.frames_cancelled else ""
        info(f"task {gone.task_id}: deleted ({plural(gone.frames, 'frame')}, "
             f"{plural(gone.objects_removed, 'stored file')} no other task used{cancelled})")
    return 0


def logs(
    task: TaskArg,
    frame: Annotated[Optional[int], typer.Option("--frame", help="Only this frame's log.")] = None,
    follow: Annotated[bool, typer.Option("--follow", "-f", help="Keep printing as the log grows.")] = False,
    all_users: AllOption = False,
    json: Annotated[bool, typer.Option(
        "--json", help="One JSON document; with --follow, one JSON line per piece of log.")] = False,
) -> int:
    """Print the render logs of a task (or one frame).

    Example: rfarm logs 12 --frame 50 -f
    """
    api, caller, _ = connect(all_users=all_users)
    cursor = api.wait_events(caller, task_id=task)[0] if follow else 0
    entries = api.frame_logs(caller, task, frame)
    many = len(entries) > 1
    offsets: dict[tuple[int, int], int] = {}
    pieces: list[dict[str, object]] = []
    shown: list[int | None] = [None]  # the frame whose log was printed last

    def show(number: int, attempt: int) -> None:
        """Print what the log of ``number``'s ``attempt`` holds past what was printed of it."""
        key = (number, attempt)
        chunk = api.read_log(caller, task, number, attempt, offsets.get(key, 0))
        if chunk is None or not chunk.text:
            return
        offsets[key] = chunk.next_offset
        if json and not follow:
            pieces.append({"frame": number, "attempt": attempt, "text": chunk.text})
        elif json:
            print_json({"frame": number, "attempt": attempt, "text": chunk.text}, compact=True)
        else:
            if many and shown[0] != number:
                sys.stdout.write(f"==> frame {number} <==\n")
            sys.stdout.write(chunk.text)
            sys.stdout.flush()
        shown[0] = number

    for entry in entries:
        if entry.attempt or entry.path:
            show(entry.frame, entry.attempt)
    if follow:
        _follow_logs(api, caller, task, frame, cursor, show)
    if json and not follow:
        print_json({"task_id": int(task), "logs": pieces})
    elif not offsets and not json:
        info("no log yet: the frame has not started rendering")
    return 0


def _follow_logs(api: FarmAPI, caller: Caller, task: str, frame: int | None, cursor: int,
                 show: Callable[[int, int], None]) -> None:
    """Print the logs of the frames rendering now, and of those that start later, until the task
    (or, with ``frame``, that frame) has ended; a frame not started yet is waited for."""
    chosen = None if frame is None else [frame]

    def rendering() -> set[tuple[int, int]]:
        return {(f.frame, f.attempts) for f in api.iter_frames(caller, task, frames=chosen, states=["running"])}

    active = rendering()
    while True:
        finished = _ended(api, caller, task, frame)  # before the last read: every event of the end is then recorded
        cursor, events = api.wait_events(caller, after=cursor, task_id=task, timeout_s=0 if finished else LOGS_POLL_S)
        # a frame that started and ended between two looks is found by its event
        touched = sorted({e.frame for e in events if e.frame is not None and (frame is None or e.frame == frame)})
        latest = {(e.frame, e.attempt) for n in touched for e in api.frame_logs(caller, task, n) if e.attempt}
        now = set() if finished else rendering()
        for number, attempt in sorted(active | latest | now):
            show(number, attempt)
        if finished:
            return
        active = now


def _ended(api: FarmAPI, caller: Caller, task: str, frame: int | None) -> bool:
    if frame is None:
        return api.task(caller, task, with_frames=False).is_finished
    return all(f.status in TERMINAL for f in api.iter_frames(caller, task, frames=[frame]))


# -- helpers ---------------------------------------------------------------


def _done(change: TaskChange, json: bool, message: str) -> None:
    if json:
        print_json(change.to_dict())
    else:
        info(message)


def _failed(final: TaskInfo) -> NoReturn:
    from rfarm.errors import JobFailed

    failed = [f for f in final.frames if f.status == "failed"]
    detail = f": frame {failed[0].frame}: {failed[0].error}" if failed else ""
    raise JobFailed(f"task {final.task_id} ended {final.status}{detail}")


def _wait(api: FarmAPI, caller: Caller, task_id: int, *, quiet: bool) -> TaskInfo:
    from rich.progress import (
        BarColumn,
        MofNCompleteColumn,
        Progress,
        TextColumn,
        TimeElapsedColumn,
    )

    with Progress(
        TextColumn("task {task.fields[tid]}: {task.fields[state]}", markup=False), BarColumn(), MofNCompleteColumn(),
        TimeElapsedColumn(), console=err_console(), disable=quiet, transient=False,
    ) as bar:
        cursor, _ = api.wait_events(caller, task_id=task_id)
        one = api.task(caller, task_id)
        handle = bar.add_task("", total=len(one.frames), tid=task_id, state=one.status)
        while True:
            done = sum(1 for f in one.frames if f.status in TERMINAL)
            running = sum(f.progress / 100 for f in one.frames if f.status == FrameState.RUNNING)
            bar.update(handle, completed=done + running, state=one.status)
            if one.is_finished:
                bar.update(handle, completed=done)
                return one
            cursor, _ = api.wait_events(caller, after=cursor, task_id=task_id, timeout_s=WAIT_REFRESH_S)
            one = api.task(caller, task_id)


def _tasks_table(infos):  # type: ignore[no-untyped-def]
    from rich.table import Table

    table = Table("task", "user", "status", "scene", "priority", "done", "running", "queued", "failed", "cancelled",
                  "created")
    table.columns[3].overflow = "fold"
    for t in infos:
        c = t.counts
        table.add_row(str(t.task_id), cell(t.user), state_cell(t.status), cell(t.name), t.priority,
                      str(c["done"]), str(c["running"]), str(c["queued"]), str(c["failed"]), str(c["cancelled"]),
                      local_time(t.created_at))
    return table
