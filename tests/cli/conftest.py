"""The farm a CLI test talks to, in both modes: this machine's database, or an ``rfarm serve`` over it."""
from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

class CliFarm:
    """The environments of the users of one farm, local or through its server.

    ``farm_env`` is the farm's own side (workers, inspection); ``env_for``
    gives a user's environment: locally ``RFARM_USER`` (a role other than artist
    kept in the database), remotely an empty home with only the server's URL
    and that user's token.
    """

    def __init__(self, mode: str, home: Path, farm_env: dict[str, str], tmp_path: Path, server: Any = None) -> None:
        self.mode, self.home, self.farm_env, self.tmp_path, self.server = mode, home, farm_env, tmp_path, server
        self._envs: dict[str, dict[str, str]] = {}

    @property
    def remote(self) -> bool:
        return self.mode == "remote"

    def env_for(self, name: str, role: str = "artist") -> dict[str, str]:
        from rfarm.api import LocalFarm
        from rfarm.config import load_config
        from rfarm.state.users import Caller, Role
        from rfarm_testlib import clean_env

        if name in self._envs:
            return self._envs[name]
        token = ""
        if self.remote or role != "artist":  # locally an artist is made on first use, as before users had roles
            token = LocalFarm(load_config(self.farm_env)).add_user(Caller("root", Role.ADMIN), name, role).token
        if not self.remote:
            env = {**self.farm_env, "RFARM_USER": name}
        else:
            home = self.tmp_path / f"artist-{name}"
            home.mkdir()
            env = clean_env({"RFARM_HOME": str(home), "RFARM_SERVER_URL": self.server.url, "RFARM_TOKEN": token})
        self._envs[name] = env
        return env


@pytest.fixture(params=["local", "remote"])
def both(request: pytest.FixtureRequest, home: Path, home_env: dict[str, str], tmp_path: Path) -> Iterator[CliFarm]:
    """A :class:`CliFarm`, once on this machine and once through a real ``rfarm serve``."""
    if request.param == "local":
        yield CliFarm("local", home, home_env, tmp_path)
        return
    from rfarm_testlib import Server

    server = Server(home_env, tmp_path / "serve.log")
    try:
        server.wait_ready()
        yield CliFarm("remote", home, home_env, tmp_path, server)
    finally:
        server.stop()
