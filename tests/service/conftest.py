"""A service over a fresh embedded farm, and its users with real tokens."""
from __future__ import annotations

from collections.abc import Callable, Iterator
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

