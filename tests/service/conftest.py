"""A service over a fresh embedded farm, and its users with real tokens."""
from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest


@pytest.fixture
def service(farm: Any, config: Any) -> Iterator[Any]:
    """The FastAPI app over the ``farm`` fixture's home."""
    from rfarm.service.app import create_app

    yield create_app(config)


@pytest.fixture
def token_for(farm: Any, config: Any) -> Callable[[str, str], str]:
    """``token_for(name, role)``: a new user with ``role`` and a token the server will take."""
    from rfarm.api import LocalFarm
    from rfarm.state.users import Caller, Role

    api = LocalFarm(config)
    root = Caller("root", Role.ADMIN)

    def make(name: str, role: str = "artist") -> str:
        return api.add_user(root, name, role).token

    return make


@pytest.fixture
def http_farm(service: Any, token_for: Callable[[str, str], str]) -> Callable[..., Any]:
    """``http_farm(name, role)``: an HttpFarm for a new user, talking to ``service`` in this process."""
    from fastapi.testclient import TestClient

    from rfarm.client.http import HttpFarm

    made: list[Any] = []

    def make(name: str, role: str = "artist", token: str | None = None) -> HttpFarm:
        token = token if token is not None else token_for(name, role)
        api = HttpFarm("http://testserver", token, http=TestClient(service, base_url="http://testserver"))
        made.append(api)
        return api

    yield make
    for api in made:
        api.close()


def free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class Server:
    """``rfarm serve`` as a real process on a free port of this machine."""

    def __init__(self, env: dict[str, str], log: Path, *args: str) -> None:
        import subprocess
        import sys

        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.log = log
        with open(log, "wb") as fh:
            self.proc = subprocess.Popen(
                [sys.executable, "-m", "rfarm", "serve", "--port", str(self.port), *args],
                env=env, stdout=fh, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
            )

    def wait_ready(self, timeout: float = 30, **httpx_options: Any) -> None:
        import time

        import httpx

        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                pytest.fail(f"rfarm serve exited {self.proc.returncode}:\n{self.log.read_text()[-3000:]}",
                            pytrace=False)
            try:
                if httpx.get(self.url + "/api/health", timeout=1, **httpx_options).status_code == 200:
                    return
            except httpx.HTTPError:
                pass
            time.sleep(0.1)
        pytest.fail(f"rfarm serve never answered:\n{self.log.read_text()[-3000:]}", pytrace=False)

    def stop(self) -> int:
        """SIGTERM, as a service manager stops it; its exit code."""
        import signal
        import subprocess

        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(20)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(10)
        return int(self.proc.returncode)


@pytest.fixture
def start_server(tmp_path: Path) -> Iterator[Callable[..., Server]]:
    """``start_server(env, *args)``: a running ``rfarm serve``; stopped at the end."""
    started: list[Server] = []

    def start(env: dict[str, str], *args: str, **httpx_options: Any) -> Server:
        server = Server(env, tmp_path / f"serve-{len(started)}.log", *args)
        started.append(server)
        server.wait_ready(**httpx_options)
        return server

    yield start
    for server in started:
        server.stop()
