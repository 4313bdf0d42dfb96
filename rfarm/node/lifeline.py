"""Run a render so that it never outlives its worker (POSIX).

``python -m rfarm.node.lifeline FD -- COMMAND...`` starts COMMAND in this process's
group and watches FD, the read end of a pipe whose write end only the worker
holds. When the worker dies, even by SIGKILL, the pipe reaches end-of-file
and the whole process group is killed. On Linux the parent-death signal is
set as well, so the lifeline itself goes with the worker.
"""
from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading


def _set_parent_death_signal() -> None:
    if not sys.platform.startswith("linux"):
        return
    import ctypes

    try:
        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(1, signal.SIGKILL)  # PR_SET_PDEATHSIG
    except (OSError, AttributeError):
        pass


def _watch(fd: int) -> None:
    try:
        while os.read(fd, 64):
            pass
    except OSError:
        pass
    os.killpg(os.getpgrp(), signal.SIGKILL)


def main(argv: list[str]) -> int:
    if len(argv) < 3 or argv[1] != "--":
        print("usage: python -m rfarm.node.lifeline FD -- COMMAND...", file=sys.stderr)
        return 2
    _set_parent_death_signal()
    fd = int(argv[0])
    if os.getppid() == 1:  # the worker is already gone
        return 137
    child = subprocess.Popen(argv[2:])
    threading.Thread(target=_watch, args=(fd,), daemon=True).start()
    signal.signal(signal.SIGTERM, lambda *_: os.killpg(os.getpgrp(), signal.SIGKILL))
    code = child.wait()
    return 128 - code if code < 0 else code


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
