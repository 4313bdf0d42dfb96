"""The content-addressed key layout."""
from __future__ import annotations

from pathlib import PurePosixPath, PureWindowsPath

import pytest

from rfarm.errors import UsageError
from rfarm.storage.keys import log_key, manifest_key, object_key, result_key, results_prefix

MD5 = "6e57efc1fb88700dfc4820e160348f07"
XXH = "7021565326244519815"


def test_object_key() -> None:
    assert object_key("o6_bmjrPTlm6_2sgVt7hMZOPfL2M", MD5, XXH) == (
        f"users/o6_bmjrPTlm6_2sgVt7hMZOPfL2M/objects/6e/{MD5}-{XXH}"
    )


@pytest.mark.parametrize(
    ("user", "md5", "xxh"),
    [
        ("../x", MD5, XXH),
        ("a/b", MD5, XXH),
        ("", MD5, XXH),
        ("u", MD5.upper(), XXH),
        ("u", MD5[:-1], XXH),
        ("u", MD5, "-1"),
        ("u", MD5, "18446744073709551616"),
        ("u", MD5, "0123"),
    ],
)
def test_object_key_refuses_bad_parts(user: str, md5: str, xxh: str) -> None:
    with pytest.raises(UsageError):
        object_key(user, md5, xxh)


def test_task_keys() -> None:
    assert manifest_key(42) == "tasks/42/manifest.json"
    assert results_prefix("t-7") == "tasks/t-7/results/"
    assert result_key(42, "beauty/shot.0001.exr") == "tasks/42/results/beauty/shot.0001.exr"
    assert result_key(42, PureWindowsPath(r"beauty\shot.0001.exr")) == "tasks/42/results/beauty/shot.0001.exr"
    assert log_key(42, -5, 2) == "tasks/42/logs/frame--5-attempt-2.log"


@pytest.mark.parametrize(
    "relpath",
    ["../escape.exr", "/abs.exr", r"beauty\shot.exr", "a//b", PureWindowsPath(r"C:\x.exr"), PurePosixPath("/abs")],
)
def test_result_key_refuses_paths_outside_the_task(relpath: str | PurePosixPath) -> None:
    with pytest.raises(UsageError):
        result_key(1, relpath)


def test_task_id_is_one_safe_segment() -> None:
    with pytest.raises(UsageError):
        manifest_key("../1")
