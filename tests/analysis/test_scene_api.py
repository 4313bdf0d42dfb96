"""analyze_scene and the JSON document; the mayapy backend runs only when asked."""
from __future__ import annotations

import json
import os
import stat
import sys
from pathlib import Path

import pytest

from rfarm.analysis import ANALYZERS, analyze_scene
from rfarm.errors import AnalysisError

pytest_plugins = ["scene_fixtures"]

FAKE_MAYAPY = """#!{python}
import json, sys
scene, table = sys.argv[3], json.loads(sys.argv[4])
assert "file" in table and sys.argv[1] == "-c"
if "broken" in scene:
    sys.stderr.write("Error: file could not be opened\\n")
    sys.exit(3)
print("Maya noise on stdout")
print("RFARM_JSON " + json.dumps({{
    "software_version": "2025", "renderer": "arnold", "start": 1.0, "end": 5.0, "by_frame": 1.0,
    "animation": True, "current_frame": 1.0, "width": 1280, "height": 720, "image_prefix": "out",
    "image_format": "exr", "cameras": ["shotCam"],
    "render_layers": [{{"name": "defaultRenderLayer", "renderable": True}}],
    "plugins": {{"mtoa": "5.4.5"}}, "time_unit": "film",
    "files": [{{"path": "tex/a.png", "kind": "texture", "node": "file1", "node_type": "file", "attr": "fileTextureName"}}],
}}))
"""


def test_registry_is_explicit() -> None:
    assert sorted(ANALYZERS) == [".blend", ".ma", ".mb"]


def test_json_document_shape(scene_data: Path) -> None:
    result = analyze_scene(scene_data / "traps.ma", env={})
    document = json.loads(result.to_json())
    assert list(document) == ["scene_info", "asset", "missing", "dependencies", "tips"]
    assert set(document["scene_info"]) == {
        "scene_type", "path", "software_version", "renderer", "start", "end", "by_frame", "animation",
        "current_frame", "width", "height", "image_prefix", "image_format", "cameras", "render_layers",
        "time_unit", "fps", "plugins", "defaulted",
    }
    assert set(document["dependencies"][0]) == {
        "path", "kind", "node", "node_type", "attr", "resolved", "exists", "files", "source", "via", "depth", "also",
    }
    assert set(document["tips"][0]) == {"code", "level", "message"}
    assert all(len(entry) == 1 for entry in document["missing"])
    assert document == result.to_dict()


def test_mayapy_backend_needs_mayapy(scene_data: Path, monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("PATH", str(tmp_path))
    with pytest.raises(AnalysisError, match="mayapy on PATH"):
        analyze_scene(scene_data / "traps.ma", backend="mayapy")


@pytest.fixture
def fake_mayapy(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Path:
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    script = bin_dir / "mayapy"
    script.write_text(FAKE_MAYAPY.format(python=sys.executable))
    script.chmod(script.stat().st_mode | stat.S_IEXEC)
    monkeypatch.setenv("PATH", f"{bin_dir}{os.pathsep}{os.environ['PATH']}")
    return bin_dir


def test_mayapy_backend_reports_what_maya_sees(fake_mayapy: Path, tmp_path: Path) -> None:
    scene = tmp_path / "shot.ma"
    scene.write_text("//Maya ASCII 2025 scene\n")
    (tmp_path / "tex").mkdir()
    (tmp_path / "tex" / "a.png").write_bytes(b"x")
    result = analyze_scene(scene, backend="mayapy", env={})
    info = result.scene_info
    assert (info.renderer, info.start, info.end, info.width, info.cameras) == ("arnold", 1, 5, 1280, ("shotCam",))
    (dep,) = result.dependencies
    assert (dep.node, dep.attr, dep.exists) == ("file1", "fileTextureName", True)
    assert result.can_render


def test_mayapy_failure_is_an_analysis_error(fake_mayapy: Path, tmp_path: Path) -> None:
    scene = tmp_path / "broken.ma"
    scene.write_text("//Maya ASCII 2025 scene\n")
    with pytest.raises(AnalysisError, match="could not be opened"):
        analyze_scene(scene, backend="mayapy")


def test_mayapy_backend_is_for_maya_scenes(tmp_path: Path) -> None:
    scene = tmp_path / "a.blend"
    scene.write_bytes(b"BLENDER")
    with pytest.raises(AnalysisError, match="Maya scenes only"):
        analyze_scene(scene, backend="mayapy")
