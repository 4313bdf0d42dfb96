"""The renderer registry: suffixes, node detection, versions and scene checks, each owned by its renderer."""
from __future__ import annotations

import os
import stat
from pathlib import Path
from typing import Any

import pytest

from rfarm.state.allocation import Needs, NodeCaps, fits
from rfarm.config import load_config
from rfarm.errors import UsageError
from rfarm.renderers import NAMES, RENDERERS, SCENE_SUFFIXES, get_renderer, major_version, node_renderers, renderer_for_scene


@pytest.mark.parametrize(("version", "major"), [
    ("2024ff07", "2024"), ("2024", "2024"), ("4.2.1", "4"), ("5.0", "5"), ("5.3", "5"), ("", ""), ("unknown", ""),
])
def test_major_version_is_the_leading_number(version: str, major: str) -> None:
    assert major_version(version) == major


def test_a_maya_2024_task_runs_on_any_maya_2024_build() -> None:
    task = Needs(renderer="maya", renderer_version=major_version("2024ff07"))
    assert fits(task, NodeCaps(64, 0, renderers={"maya": "2024"}))
    assert fits(Needs(renderer="maya", renderer_version="2024"), NodeCaps(64, 0, renderers={"maya": "2024ff07"}))
    assert not fits(task, NodeCaps(64, 0, renderers={"maya": "2023"}))


def test_every_suffix_belongs_to_one_renderer() -> None:
    assert NAMES == ("blender", "maya", "unreal")
    assert SCENE_SUFFIXES == (".blend", ".ma", ".mb", ".uproject")
    for name, cls in RENDERERS.items():
        for suffix in cls.suffixes:
            assert renderer_for_scene(f"C:\\proj\\scene{suffix.upper()}") == name
    with pytest.raises(UsageError, match="no renderer renders .max scenes"):
        renderer_for_scene("/proj/scene.max")


def fake_program(folder: Path, name: str) -> Path:
    """An executable file named like the renderer's program (never run: detection only reads its path)."""
    folder.mkdir(parents=True)
    path = folder / name
    path.write_text("#!/bin/sh\nexit 0\n")
    path.chmod(path.stat().st_mode | stat.S_IXUSR)
    return path


def test_a_node_detects_the_renderers_on_its_path_and_their_versions(home: Path, tmp_path: Path,
                                                                     monkeypatch: pytest.MonkeyPatch) -> None:
    maya = fake_program(tmp_path / "autodesk" / "Maya2024" / "bin", "Render")
    unreal = fake_program(tmp_path / "Epic" / "UE_5.3" / "Engine" / "Binaries" / "Linux", "UnrealEditor-Cmd")
    monkeypatch.setenv("PATH", os.pathsep.join([str(maya.parent), str(unreal.parent), os.environ["PATH"]]))
    found = node_renderers(load_config())
    assert found["maya"] == "2024" and found["unreal"] == "5.3"
    monkeypatch.setenv("PATH", str(tmp_path / "empty"))
    found = node_renderers(load_config())
    assert "maya" not in found and "unreal" not in found


def test_a_configured_executable_wins_over_the_path(home: Path, tmp_path: Path) -> None:
    render = fake_program(tmp_path / "Maya2025" / "bin", "Render")
    (home / "rfarm.toml").write_text(f'maya_executable = "{render}"\n', encoding="utf-8")
    renderer = get_renderer("maya", load_config())
    assert renderer.node_executable() == str(render) and renderer.node_version() == "2025"
    with pytest.raises(UsageError, match="unknown renderer 'houdini'"):
        get_renderer("houdini", load_config())


@pytest.mark.parametrize("name", NAMES)
def test_every_renderer_accepts_a_scene_it_can_open(name: str, tmp_path: Path, home: Any) -> None:
    scene = tmp_path / f"scene{RENDERERS[name].suffixes[0]}"
    scene.write_bytes(b"BLENDER-v402" + bytes(52) if name == "blender" else b"scene")
    get_renderer(name, load_config()).check_scene(scene)


def test_blender_refuses_a_scene_saved_by_a_newer_blender(tmp_path: Path, home: Path) -> None:
    node = get_renderer("blender", load_config())
    mine = node.version()
    assert mine is not None, "this node renders with the bpy module"
    scene = tmp_path / "shot.blend"
    newer = (mine[0], mine[1] + 1)
    scene.write_bytes(b"BLENDER17-01v%02d%02d" % newer + bytes(47))  # the header Blender 5 writes
    with pytest.raises(UsageError, match=rf"shot.blend was saved by Blender {newer[0]}.{newer[1]}, "
                                         rf"newer than this node's Blender {mine[0]}.{mine[1]}"):
        node.check_scene(scene)
    scene.write_bytes(b"BLENDER17-01v%02d%02d" % mine + bytes(47))
    node.check_scene(scene)
