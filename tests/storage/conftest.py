"""Storage fixtures: a local OSS-protocol server and a ``storage`` fixture for every backend.

``storage`` is parametrized over ``folder`` and ``oss``. The OSS backend runs the
real ``oss2`` client against :class:`tests.oss_server.OssServer`, or against a
real bucket when ``RFARM_TEST_OSS_URL`` is set (credentials from the usual
``OSS_*`` variables; each test works under its own random prefix).
"""
from __future__ import annotations

import os
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from rfarm.storage import FolderStorage, Storage, open_storage
from rfarm.storage.oss import OssStorage
from tests.oss_server import OssServer

PART_SIZE = 100 * 1024
MULTIPART_THRESHOLD = 3 * PART_SIZE


@pytest.fixture
def oss_server() -> Iterator[OssServer]:
    with OssServer() as server:
        yield server


@pytest.fixture
def make_oss(oss_server: OssServer, tmp_path: Path) -> Callable[..., OssStorage]:
    """``make_oss(**options)``: an :class:`OssStorage` on ``oss_server`` with small parts and no backoff."""

    def make(**options: Any) -> OssStorage:
        settings: dict[str, Any] = {
            "endpoint": oss_server.endpoint,
            "region": oss_server.region,
            "access_key_id": oss_server.access_key_id,
            "access_key_secret": oss_server.access_key_secret,
            "checkpoint_dir": tmp_path / "checkpoints",
            "multipart_threshold_bytes": MULTIPART_THRESHOLD,
            "part_size_bytes": PART_SIZE,
            "retry_backoff_s": 0.0,
        }
        settings.update(options)
        return OssStorage(oss_server.bucket, "farm", **settings)

    return make


@pytest.fixture(params=["folder", "oss"])
def storage(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Storage]:
    if request.param == "folder":
        yield FolderStorage(tmp_path / "store")
        return
    real_url = os.environ.get("RFARM_TEST_OSS_URL")
    if real_url:
        base = open_storage(real_url, checkpoint_dir=tmp_path / "checkpoints")
        assert isinstance(base, OssStorage)
        prefix = f"{base.prefix}rfarm-test-{uuid.uuid4().hex[:12]}"
        real = open_storage(
            f"oss://{base.bucket}/{prefix}?endpoint={base.endpoint}&region={base.region}",
            checkpoint_dir=tmp_path / "checkpoints",
        )
        yield real
        for key in [*real.list()]:
            real.delete(key)
        return
    yield request.getfixturevalue("make_oss")()
