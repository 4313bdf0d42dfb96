"""Fixtures for the scene analyser tests (the shared corpus, scene writers), loaded as a plugin.

A plugin module rather than a conftest.py, so that `from conftest import ...` in other
test folders keeps finding the root conftest.
"""
from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest
from rfarm_testlib import require_corpus

REPO = Path(__file__).resolve().parents[2]
DATA = REPO / "tests" / "data" / "scenes"

# A renderable camera, so scenes written by tests can render.
CAMERA = 'createNode transform -s -n "persp";\ncreateNode camera -s -n "perspShape" -p "persp";\n'

WriteMa = Callable[..., Path]


@pytest.fixture(scope="session")
def maya_corpus() -> Path:
    """The real Maya scenes in ../shared/corpus/maya (tests using it are marked ``corpus("maya")``)."""
    return require_corpus("maya")


@pytest.fixture(scope="session")
def blender_corpus() -> Path:
    """The real Blender files in ../shared/corpus/blender (tests using it are marked ``corpus("blender")``)."""
    return require_corpus("blender")


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
