"""Schemathesis against the service's own OpenAPI document: no input gives a 5xx, every answer matches its schema.

The app runs in this process (ASGI); an artist's token is sent with every
request, so the routes run past authentication to the seam. Examples are few
and derandomized: the same requests on every run, about 20 s on two cores; the
two fuzzing tests are marked ``e2e`` to keep them out of the quick loop.
"""
from __future__ import annotations

from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest
import schemathesis
from hypothesis import HealthCheck, settings
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)

CHECKS = [not_a_server_error, status_code_conformance, content_type_conformance, response_schema_conformance]
FUZZ = settings(max_examples=12, derandomize=True, deadline=None, database=None,
                suppress_health_check=list(HealthCheck))


@pytest.fixture
def artist(farm: Any, config: Any) -> str:
    """The token of the artist alice."""
    from rfarm.api import LocalFarm
    from rfarm.state.users import Caller, Role

    return LocalFarm(config).add_user(Caller("root", Role.ADMIN), "alice", "artist").token


@pytest.fixture
def alices_task(farm: Any, config: Any, artist: str, tmp_path: Path) -> int:
    """A queued four-frame task of alice's (a test frame first), rendering its scene in place."""
    from rfarm.api import LocalFarm
    from rfarm.state.users import Caller
    from rfarm.submit.request import SubmitRequest

    scene = tmp_path / "shot.ma"
    scene.write_text('//Maya ASCII 2024 scene\nrequires maya "2024";\n', encoding="utf-8")
    request = SubmitRequest(scene=str(scene), renderer="maya", frames=[1, 2, 3, 4], test_frames=[2])
    return LocalFarm(config).submit(Caller("alice"), request).task_id


@pytest.fixture
def api_schema(farm: Any, config: Any) -> Any:
    """The OpenAPI document of an app whose rate limit never stops the fuzzer."""
    from rfarm.service.app import create_app

    app = create_app(replace(config, api_rate_limit=1_000_000))
    return schemathesis.openapi.from_asgi("/api/openapi.json", app)


schema = schemathesis.pytest.from_fixture("api_schema")


@pytest.mark.e2e
@schema.exclude(path="/api/events").parametrize()
@FUZZ
def test_every_operation_answers_as_documented(case: Any, artist: str) -> None:
    """Every operation but the event stream, which never ends by design (a request a case cannot wait out)."""
    case.call_and_validate(headers={"Authorization": f"Bearer {artist}"}, checks=CHECKS)


@pytest.mark.e2e
@schema.include(path_regex=r"\{task_id\}").parametrize()
@FUZZ
def test_every_task_operation_on_a_real_task(case: Any, artist: str, alices_task: int) -> None:
    """The same with the path naming alice's task, so the routes reach its frames, logs and results."""
    case.path_parameters["task_id"] = str(alices_task)
    case.call_and_validate(headers={"Authorization": f"Bearer {artist}"}, checks=CHECKS)


def test_every_status_an_error_can_have_is_documented_on_every_operation(service: Any) -> None:
    """A library error that reaches a route answers a status the document names (schemathesis sees only those it hits)."""
    from fastapi.testclient import TestClient

    from rfarm.service.problems import MEDIA_TYPE, STATUS

    doc = TestClient(service).get("/api/openapi.json").json()
    errors = {str(code) for _, code in STATUS}
    for path, operations in doc["paths"].items():
        for method, operation in operations.items():
            missing = errors - set(operation["responses"])
            assert not missing, f"{method.upper()} {path} does not document {sorted(missing)}"
            assert MEDIA_TYPE in operation["responses"]["404"]["content"], f"{method.upper()} {path}"
