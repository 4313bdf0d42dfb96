"""Render processes that can be killed as a tree and never outlive their worker.

POSIX: the render runs under :mod:`rfarm.node.lifeline` in a new session (its own
process group); the lifeline, which outlives the worker, kills the render's
tree when the worker's end of a pipe closes. Windows (:mod:`rfarm.node.winjob`):
the render is created suspended, put in a Job Object with KILL_ON_JOB_CLOSE and
only then resumed, so the OS kills its whole tree when the worker's handle
closes (also when the worker is killed).
"""
from __future__ import annotations

import os
import signal
import subprocess
import sys
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import IO

import psutil

from rfarm.node.winjob import Kernel32, RenderJobObject, start_in_job

IS_WINDOWS = os.name == "nt"


class RenderProcess:
    """A started render: its merged stdout/stderr lines, its exit code, and a tree kill."""

    def __init__(self, argv: list[str], *, cwd: Path, env: Mapping[str, str] | None = None, node: str = "") -> None:
        """``node``: the worker's node, named on the lifeline's command line (:func:`node_renders`)."""
        self.argv = argv
        self._lifeline_w: int | None = None
        self._job: RenderJobObject | None = None
        common = dict(
            cwd=str(cwd),
            env=dict(env) if env is not None else None,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
        )
        if IS_WINDOWS:
            def spawn(flags: int) -> tuple[subprocess.Popen[bytes], int]:
                popen = subprocess.Popen(argv, creationflags=flags, **common)  # type: ignore[call-overload]
                return popen, int(popen._handle)  # type: ignore[attr-defined]

            self.popen, self._job = start_in_job(spawn, Kernel32())
        else:
            r, w = os.pipe()
            cmd = [sys.executable, "-m", "rfarm.node.lifeline", str(r), "--node", node, "--", *argv]
            try:
                self.popen = subprocess.Popen(cmd, pass_fds=(r,), start_new_session=True, **common)  # type: ignore[call-overload]
            finally:
                os.close(r)
            self._lifeline_w = w
        self.pid = self.popen.pid

    def lines(self) -> Iterator[str]:
        """Output lines as they come (``\\r``-separated progress included), until the process closes its output."""
        stream: IO[bytes] = self.popen.stdout  # type: ignore[assignment]
        pending = b""
        while True:
            chunk = stream.read1(65536) if hasattr(stream, "read1") else stream.read(4096)
            if not chunk:
                break
            pending += chunk
            *complete, pending = pending.replace(b"\r\n", b"\n").replace(b"\r", b"\n").split(b"\n")
            for raw in complete:
                yield raw.decode("utf-8", errors="replace")
        if pending:
            yield pending.decode("utf-8", errors="replace")

    def wait(self, timeout_s: float | None = None) -> int:
        code = self.popen.wait(timeout_s)
        self._close()
        return code

    def poll(self) -> int | None:
        return self.popen.poll()

    def kill_tree(self, grace_s: float = 3.0) -> None:
        """Stop the render and every process it started (terminate, then kill)."""
        if self._job is not None:
            self._job.terminate()
        else:
            kill_process_tree(self.pid, grace_s=grace_s, group=True)
        try:
            self.popen.wait(grace_s + 5)
        except subprocess.TimeoutExpired:
            pass
        self._close()

    def _close(self) -> None:
        if self._lifeline_w is not None:
            os.close(self._lifeline_w)
            self._lifeline_w = None
        if self._job is not None:
            self._job.close()
            self._job = None


def node_renders(node: str) -> list[psutil.Process]:
    """The renders (their lifelines) of ``node`` alive on this machine (POSIX; none on Windows)."""
    found = []
    for proc in psutil.process_iter(["cmdline"]):
        cmdline = proc.info["cmdline"] or []
        if "rfarm.node.lifeline" not in cmdline:
            continue
        at = cmdline.index("rfarm.node.lifeline")  # python -m rfarm.node.lifeline FD --node NAME -- ...
        if cmdline[at + 2 : at + 4] == ["--node", node]:
            found.append(proc)
    return found


def kill_process_tree(pid: int, *, grace_s: float = 3.0, group: bool = False) -> None:
    """Terminate ``pid`` and its descendants, then kill what is left after ``grace_s``."""
    try:
        root = psutil.Process(pid)
        procs = root.children(recursive=True) + [root]  # list before the parent goes
    except psutil.NoSuchProcess:
        procs = []
    _signal(pid, procs, signal.SIGTERM, group=group)
    _, alive = psutil.wait_procs(procs, timeout=grace_s)
    _signal(pid, alive, signal.SIGKILL, group=group)
    psutil.wait_procs(alive, timeout=grace_s)


def _signal(pid: int, procs: list[psutil.Process], sig: int, *, group: bool) -> None:
    """``sig`` to ``pid``'s process group (POSIX, when ``group``) and to each of ``procs``."""
    if group and not IS_WINDOWS:
        try:
            os.killpg(pid, sig)
        except (ProcessLookupError, PermissionError):
            pass
    for proc in procs:
        try:
            if sig == signal.SIGKILL:
                proc.kill()
            else:
                proc.terminate()
        except psutil.NoSuchProcess:
            pass
