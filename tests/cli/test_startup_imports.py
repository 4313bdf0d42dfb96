"""A command imports what it uses: what ``rfarm --version``, ``--help``, ``status``, ``list`` and ``hash`` load.

Each runs as ``python -m rfarm`` would, in a process of its own that writes the
modules it holds when it exits. Speed itself is measured by ``benchmarks/bench_startup.py``.
"""
from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from rfarm_testlib import run_cli

#: what no command on a farm on SQLite needs: database and Redis drivers, the queue, OSS, Blender, the service
NEVER_ON_SQLITE = {"psycopg", "psycopg2", "redis", "huey", "oss2", "bpy", "fastapi", "uvicorn", "starlette", "httpx"}


def imported(*args: str, env: dict[str, str]) -> set[str]:
    """The top-level packages ``rfarm ARGS`` imports."""
    done = subprocess.run([sys.executable, "-c", _HELD_AT_EXIT, *args], env=env, capture_output=True, text=True,
                          timeout=120, stdin=subprocess.DEVNULL)
    assert done.returncode == 0, done.stderr
    return set(done.stderr.splitlines()[-1].split())


_HELD_AT_EXIT = """
import atexit, runpy, sys
atexit.register(lambda: print(*sorted({name.split(".")[0] for name in sys.modules}), file=sys.stderr))
sys.argv[0] = "rfarm"
runpy.run_module("rfarm", run_name="__main__", alter_sys=True)
"""


def test_version_loads_no_command(home_env: dict[str, str]) -> None:
    found = imported("--version", env=home_env)
    assert "rfarm" in found
    unwanted = found & (NEVER_ON_SQLITE | {"typer", "rich", "peewee", "pydantic", "xxhash"})
    assert not unwanted, unwanted


def test_help_reads_no_command_parameters_and_opens_no_database(home_env: dict[str, str]) -> None:
    found = imported("--help", env=home_env)
    assert {"rfarm", "typer", "rich"} <= found
    unwanted = found & (NEVER_ON_SQLITE | {"peewee", "pydantic", "xxhash", "psutil"})
    assert not unwanted, unwanted


@pytest.mark.parametrize("command", [["status"], ["list"], ["status", "1", "--json"]])
def test_task_commands_on_sqlite_load_no_driver(command: list[str], home_env: dict[str, str], tmp_path: Path) -> None:
    scene = tmp_path / "shot.ma"
    scene.write_text('//Maya ASCII 2024 scene\nrequires maya "2024";\ncreateNode camera -n "perspShape";\n'
                     'playbackOptions -min 1 -max 2;\n', encoding="utf-8")
    assert run_cli("submit", str(scene), "--in-place", env=home_env)[0] == 0
    found = imported(*command, env=home_env)
    assert "peewee" in found, "the farm's database is open"
    unwanted = found & NEVER_ON_SQLITE
    assert not unwanted, unwanted


def test_hash_opens_only_the_hash_cache(home_env: dict[str, str], tmp_path: Path) -> None:
    (tmp_path / "f.bin").write_bytes(b"x" * 1000)
    found = imported("hash", str(tmp_path / "f.bin"), env=home_env)
    assert "xxhash" in found
    unwanted = found & (NEVER_ON_SQLITE | {"peewee"})
    assert not unwanted, unwanted
