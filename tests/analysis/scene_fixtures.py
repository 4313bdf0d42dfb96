"""Fixtures for the scene analyser tests (the shared corpus, scene writers), loaded as a plugin.

A plugin module rather than a conftest.py, so that `from conftest import ...` in other
test folders keeps finding the root conftest.
"""
from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
CORPUS = REPO / ".." / "shared" / "corpus" / "maya"
DATA = REPO / "tests" / "data" / "scenes"

# A renderable camera, so scenes written by tests can render.
CAMERA = 'createNode transform -s -n "persp";\ncreateNode camera -s -n "perspShape" -p "persp";\n'

WriteMa = Callable[..., Path]


@pytest.fixture(scope="session")
def maya_corpus() -> Path:
    """The real Maya scenes in ../shared/corpus/maya; a clear failure when absent."""
    if not CORPUS.is_dir():
        pytest.fail(
            f"The Maya scene corpus is missing: expected {CORPUS.resolve()} "
            "(../shared/corpus/maya beside the repository). The analyser tests read real "
            "Maya files from there; check out or mount the shared corpus.",
            pytrace=False,
        )
    return CORPUS


@pytest.fixture(scope="session")
def scene_data() -> Path:
    """Small hand-written scenes and projects kept in the repository."""
    return DATA


@pytest.fixture
def write_ma(tmp_path: Path) -> WriteMa:
    """Write ``name`` under tmp_path: a Maya ASCII header, then ``body``."""

    def write(name: str, body: str, *, version: str = "2022", camera: bool = True) -> Path:
        path = tmp_path / name
        path.parent.mkdir(parents=True, exist_ok=True)
        text = f"//Maya ASCII {version} scene\n//Codeset: UTF-8\n" + (CAMERA if camera else "") + body
        path.write_text(text, encoding="utf-8")
        return path

    return write
