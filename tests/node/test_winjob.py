"""The Windows start of a render (rfarm.node.winjob), against a test double of the Win32 calls.

Windows cannot run here, so ``FakeWin32`` stands in for the kernel, modelled on
the documented behaviour of each call: a process created with
``CREATE_SUSPENDED`` runs nothing until it is resumed; a process started by a
process in a job is in that job from its creation; ``AssignProcessToJobObject``
fails on a process that has ended; closing the last handle of a
``KILL_ON_JOB_CLOSE`` job ends every process in it, and a process's handles are
closed when it ends (the worker killed). The fake render starts a child the
moment it first runs, the window a render started running and assigned
afterwards would have to escape the job.
"""
from __future__ import annotations

from dataclasses import dataclass, field

import pytest

from rfarm.node.winjob import CREATE_SUSPENDED, RenderJobObject, start_in_job


@dataclass
class FakeProcess:
    pid: int
    suspended: bool
    job: int | None = None
    alive: bool = True
    children: list[FakeProcess] = field(default_factory=list)


class FakeWin32:
    """A test double of rfarm.node.winjob.Win32: the kernel's processes, jobs and the worker's handles."""

    def __init__(self, *, assign_fails: bool = False) -> None:
        self.calls: list[str] = []
        self.processes: dict[int, FakeProcess] = {}
        self.jobs: dict[int, bool] = {}  # job handle -> kill on close
        self.worker_handles: set[int] = set()
        self.assign_fails = assign_fails
        self._next = 100

    def _handle(self) -> int:
        self._next += 4
        self.worker_handles.add(self._next)
        return self._next

    # -- what the render and the worker do -------------------------------------

    def create_process(self, flags: int, *, parent: FakeProcess | None = None) -> FakeProcess:
        """CreateProcess: a child of a process in a job is in that job; a render starts a child as it first runs."""
        proc = FakeProcess(self._handle(), suspended=bool(flags & CREATE_SUSPENDED),
                           job=parent.job if parent is not None else None)
        self.processes[proc.pid] = proc
        if parent is None:
            self.calls.append(f"create suspended={proc.suspended}")
            if not proc.suspended:
                self._runs(proc)
        return proc

    def _runs(self, proc: FakeProcess) -> None:
        """The render's first instructions: it starts a child of its own."""
        proc.children.append(self.create_process(0, parent=proc))

    def worker_dies(self) -> None:
        """The worker ends (TerminateProcess, a crash): the kernel closes each of its handles."""
        for handle in list(self.worker_handles):
            self.close_handle(handle)

    def tree(self, proc: FakeProcess) -> list[FakeProcess]:
        return [proc, *(p for child in proc.children for p in self.tree(child))]

    # -- the Win32 adapter ----------------------------------------------------------

    def create_kill_on_close_job(self) -> int:
        handle = self._handle()
        self.jobs[handle] = True
        self.calls.append("create job")
        return handle

    def assign_process(self, job: int, process: int) -> None:
        self.calls.append("assign")
        proc = self.processes[process]
        if self.assign_fails or not proc.alive:
            raise OSError(5, "AssignProcessToJobObject failed")
        proc.job = job

    def resume_process(self, process: int) -> None:
        self.calls.append("resume")
        proc = self.processes[process]
        if proc.suspended and proc.alive:
            proc.suspended = False
            self._runs(proc)

    def terminate_process(self, process: int) -> None:
        self.calls.append("terminate process")
        self.processes[process].alive = False

    def terminate_job(self, job: int) -> None:
        self.calls.append("terminate job")
        for proc in self.processes.values():
            if proc.job == job:
                proc.alive = False

    def close_handle(self, handle: int) -> None:
        self.worker_handles.discard(handle)
        if self.jobs.pop(handle, False):
            self.calls.append("close job")
            for proc in self.processes.values():
                if proc.job == handle:
                    proc.alive = False


def start(win32: FakeWin32) -> tuple[FakeProcess, RenderJobObject]:
    return start_in_job(lambda flags: (p := win32.create_process(flags), p.pid), win32)


def test_the_render_is_in_its_job_before_it_runs_a_single_instruction() -> None:
    win32 = FakeWin32()
    render, job = start(win32)
    assert win32.calls == ["create job", "create suspended=True", "assign", "resume"]
    assert job.handle is not None
    assert all(p.job == job.handle and p.alive for p in win32.tree(render))
    assert len(win32.tree(render)) == 2  # the child it started as it first ran is in the job too


def test_the_render_tree_dies_with_the_worker() -> None:
    win32 = FakeWin32()
    render, _ = start(win32)
    win32.worker_dies()
    assert not [p for p in win32.tree(render) if p.alive]


def test_kill_tree_and_close_end_the_whole_tree() -> None:
    win32 = FakeWin32()
    render, job = start(win32)
    job.terminate()
    assert not [p for p in win32.tree(render) if p.alive]
    job.close()
    assert job.handle is None and not win32.jobs


def test_a_render_that_cannot_be_put_in_its_job_never_runs() -> None:
    win32 = FakeWin32(assign_fails=True)
    with pytest.raises(OSError, match="AssignProcessToJobObject"):
        start(win32)
    (render,) = win32.processes.values()
    assert (render.alive, render.suspended, render.children) == (False, True, [])
    assert win32.calls == ["create job", "create suspended=True", "assign", "terminate process", "close job"]
    assert not win32.worker_handles - {render.pid}


def test_a_render_that_cannot_start_leaves_no_job_open() -> None:
    win32 = FakeWin32()

    def spawn(flags: int) -> tuple[FakeProcess, int]:
        raise FileNotFoundError(2, "The system cannot find the file specified")

    with pytest.raises(FileNotFoundError):
        start_in_job(spawn, win32)
    assert not win32.jobs and not win32.worker_handles
