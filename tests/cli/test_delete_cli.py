"""``rfarm delete`` asks on a terminal (a real pseudo-terminal here) before it removes anything."""
from __future__ import annotations

import json
import os
import pty
import select
import subprocess
import sys
import time

import pytest
from rfarm_testlib import run_cli

pytestmark = pytest.mark.e2e


def answer_prompt(args: list[str], env: dict[str, str], reply: str) -> tuple[int, str]:
    """Run ``python -m rfarm ARGS`` on a terminal, answer its question with ``reply``; (exit code, what it wrote)."""
    main, side = pty.openpty()
    proc = subprocess.Popen([sys.executable, "-m", "rfarm", *args], env=env, stdin=side, stdout=side, stderr=side)
    os.close(side)
    seen, answered = b"", False
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        ready, _, _ = select.select([main], [], [], 0.1)
        if ready:
            try:
                chunk = os.read(main, 4096)
            except OSError:  # the process ended and closed the terminal
                break
            if not chunk:
                break
            seen += chunk
        if not answered and b"[y/N]" in seen:
            os.write(main, reply.encode() + b"\n")
            answered = True
        if proc.poll() is not None and not ready:
            break
    os.close(main)
    return proc.wait(timeout=30), seen.decode(errors="replace")


def test_delete_asks_first_and_a_no_deletes_nothing(home_env: dict[str, str], tmp_path) -> None:  # type: ignore[no-untyped-def]
    scene = tmp_path / "shot.ma"
    scene.write_text('//Maya ASCII 2024 scene\nrequires maya "2024";\nplaybackOptions -min 1 -max 2;\n'
                     'createNode camera -s -n "perspShape";\n', encoding="utf-8")
    code, out, err = run_cli("submit", str(scene), "--frames", "1-2", "--json", env=home_env)
    assert code == 0, err
    tid = json.loads(out)["task_id"]
    code, seen = answer_prompt(["delete", str(tid)], home_env, "n")
    assert code == 1 and f"Delete task {tid} (shot.ma, queued)" in seen and "nothing deleted" in seen, seen
    assert run_cli("status", str(tid), env=home_env)[0] == 0, "still there"
    code, seen = answer_prompt(["delete", str(tid)], home_env, "y")
    assert code == 0 and f"task {tid}: deleted (2 frames" in seen, seen
    assert run_cli("status", str(tid), env=home_env)[0] == 2
