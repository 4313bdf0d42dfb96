"""Run a render so that it never outlives its worker (POSIX).

``python -m rfarm.node.lifeline FD --node NAME -- COMMAND...`` runs COMMAND as its child and
watches FD, the read end of a pipe whose write end only the worker holds. The
worker is this process's parent; the render is this process's child.

* When the worker dies, however (SIGKILL from the OOM killer included), the
  kernel closes its end of the pipe and the read here returns end-of-file: the
  lifeline kills every descendant and its own process group, itself last. The
  lifeline must outlive the worker to do this, so it sets no parent-death
  signal on itself (it did once, and died with the worker before it could kill
  anything, leaving the render to PID 1).
* On Linux the lifeline is a child subreaper, so a descendant whose parent
  exits (a render that daemonises a helper) is re-parented here, not to PID 1,
  and stays in the tree it kills, even when it moved to a session of its own.
* On Linux the render gets SIGKILL as its parent-death signal: its parent is
  the lifeline, so if the lifeline itself is killed outright the render goes
  with it.
* When the render exits, the descendants it left behind are killed too.

End-of-file is sticky, so a worker that died before the watch began is seen
at once. ``--node`` names the worker's node on the command line, so a restarted
worker can tell whether a render of its previous run is still alive.
"""
from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading

#: how the lifeline says that the render's program could not be started (one line, read as the error)
START_FAILED = "rfarm: cannot start "
_PR_SET_PDEATHSIG = 1
_PR_SET_CHILD_SUBREAPER = 36


def _prctl(option: int, value: int) -> None:
    """``prctl(option, value)`` on Linux; nothing elsewhere or where it is refused."""
    if not sys.platform.startswith("linux"):
        return
    import ctypes

    try:
        ctypes.CDLL(None, use_errno=True).prctl(option, value, 0, 0, 0)
    except (OSError, AttributeError):
        pass


def _die_with(parent: int) -> None:
    """In the render, before it runs: SIGKILL when ``parent`` (the lifeline) dies; at once if it is gone."""
    _prctl(_PR_SET_PDEATHSIG, signal.SIGKILL)
    if os.getppid() != parent:
        os._exit(137)


def kill_descendants() -> None:
    """SIGKILL every process below this one (its group members and those that left the group alike)."""
    import psutil

    try:
        tree = psutil.Process().children(recursive=True)
    except psutil.Error:
        return
    for proc in tree:
        try:
            proc.kill()
        except psutil.Error:
            pass


def _kill_all() -> None:
    kill_descendants()
    os.killpg(os.getpgrp(), signal.SIGKILL)


def _watch(fd: int) -> None:
    try:
        while os.read(fd, 64):
            pass
    except OSError:
        pass
    _kill_all()


def main(argv: list[str]) -> int:
    if len(argv) < 5 or argv[1] != "--node" or argv[3] != "--":
        print("usage: python -m rfarm.node.lifeline FD --node NAME -- COMMAND...", file=sys.stderr)
        return 2
    fd, command = int(argv[0]), argv[4:]
    _prctl(_PR_SET_CHILD_SUBREAPER, 1)
    me = os.getpid()
    try:
        child = subprocess.Popen(command, preexec_fn=lambda: _die_with(me))
    except OSError as exc:
        print(f"{START_FAILED}{command[0]}: {exc.strerror or exc}", flush=True)
        return 127
    threading.Thread(target=_watch, args=(fd,), daemon=True).start()
    signal.signal(signal.SIGTERM, lambda *_: _kill_all())
    code = child.wait()
    kill_descendants()
    return 128 - code if code < 0 else code


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
