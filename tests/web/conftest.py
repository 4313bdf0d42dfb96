"""The dashboard over a fresh embedded farm: users with passwords, browsers' sessions, tasks to show."""
from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import pytest
from fastapi.testclient import TestClient
from webtools import PASSWORD, log_in


@pytest.fixture
def service(farm: Any, config: Any) -> Iterator[Any]:
    """The FastAPI app (API and dashboard) over the ``farm`` fixture's home."""
    from rfarm.service.app import create_app

    yield create_app(config)


@pytest.fixture
def add_user(service: Any) -> Callable[..., None]:
    """``add_user(name, role)``: a user whose password is :data:`PASSWORD`."""
    from rfarm.state.users import Caller, Role

    def add(name: str, role: str = "artist") -> None:
        service.state.farm.add_user(Caller("root", Role.ADMIN), name, role, PASSWORD)

    return add


@pytest.fixture
def browser(service: Any, add_user: Callable[..., None]) -> Iterator[Callable[..., TestClient]]:
    """``browser(name, role)``: a client holding a logged-in session of a new user ``name``."""
    made: list[TestClient] = []

    def make(name: str, role: str = "artist", *, base_url: str = "http://testserver") -> TestClient:
        add_user(name, role)
        client = TestClient(service, base_url=base_url)
        made.append(client)
        answer = log_in(client, name)
        assert answer.status_code == 303 and answer.headers["location"] == "/tasks", answer.text
        return client

    yield make
    for client in made:
        client.close()


@pytest.fixture
def submit_task(farm: Any) -> Callable[..., int]:
    """``submit_task(user, frames=range(1, 4), test_frames=())``: a queued task recorded by the scheduler."""
    from rfarm.state import scheduler
    from rfarm.submit.request import SubmitRequest

    def submit(user: str, frames: range = range(1, 4), test_frames: tuple[int, ...] = ()) -> int:
        request = SubmitRequest(scene="/proj/shot.blend", renderer="blender", frames=list(frames),
                                test_frames=list(test_frames))
        return scheduler.submit(request, user=user)

    return submit
