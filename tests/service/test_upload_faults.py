"""An upload whose connection breaks records nothing, leaves nothing behind, and is sent again whole."""
from __future__ import annotations

import json
import socket
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from rfarm_testlib import clean_env, run_cli, run_cli_process

from rfarm.files.hashing import hash_file

pytestmark = pytest.mark.e2e


def test_a_connection_broken_mid_upload_stores_nothing(tmp_path: Path, start_server: Callable[..., Any]) -> None:
    farm_home = tmp_path / "farm"
    farm_env = clean_env({"RFARM_HOME": str(farm_home)})
    code, out, err = run_cli_process("users", "add", "alice", "--json", env=farm_env)
    assert code == 0, err
    token = json.loads(out)["token"]
    server = start_server(farm_env)
    data = tmp_path / "plate.exr"
    data.write_bytes(bytes(range(256)) * 8192)  # 2 MiB
    h = hash_file(data)
    with socket.create_connection(("127.0.0.1", server.port), timeout=10) as sock:
        head = (f"POST /api/files/upload?md5={h.md5}&xxh64={h.xxh64}&size={h.size} HTTP/1.1\r\n"
                f"Host: 127.0.0.1\r\nAuthorization: Bearer {token}\r\nContent-Type: application/octet-stream\r\n"
                f"Content-Length: {h.size}\r\n\r\n")
        sock.sendall(head.encode() + data.read_bytes()[: h.size // 2])
        time.sleep(0.5)
    deadline = time.monotonic() + 10
    spool = farm_home / "uploads"
    while time.monotonic() < deadline and spool.is_dir() and any(spool.iterdir()):
        time.sleep(0.1)
    assert not spool.is_dir() or not any(spool.iterdir()), "the half-received body was removed"
    env = clean_env({"RFARM_HOME": str(tmp_path / "artist"), "RFARM_SERVER_URL": server.url, "RFARM_TOKEN": token})
    code, out, err = run_cli("upload", str(data), "--dedup", "--json", env=env)
    assert code == 0, err
    assert json.loads(out)["uploaded"] == 1, "nothing was recorded for the broken upload, so it is sent again"
    code, out, err = run_cli("upload", str(data), "--dedup", "--json", env=env)
    assert json.loads(out)["skipped"] == 1
    stored = list((farm_home / "storage").rglob(f"{h.md5}-{h.xxh64}"))
    assert len(stored) == 1 and hash_file(stored[0]) == h
