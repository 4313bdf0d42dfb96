"""The ``mayapy`` backend: Maya itself opens the scene, in a child process.

Used only when asked for (it needs a Maya licence). The child prints one JSON
object with the render settings and the raw paths; resolution and tips then
work as for the parser.
"""
from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path
from typing import Any

from rfarm.analysis.base import (
    AnalysisResult,
    Collector,
    RenderLayer,
    SceneInfo,
    render_tips,
    sort_tips,
)
from rfarm.analysis.maya_nodes import DEPENDENCY_ATTRS, time_unit_fps
from rfarm.analysis.paths import PathResolver
from rfarm.errors import AnalysisError

TIMEOUT_S = 900

_CHILD_SCRIPT = r"""
import json, sys
import maya.standalone
maya.standalone.initialize(name="python")
import maya.cmds as cmds

scene, table = sys.argv[1], json.loads(sys.argv[2])
cmds.file(scene, open=True, force=True, prompt=False, ignoreVersion=True)

def get(plug, default=None):
    try:
        return cmds.getAttr(plug)
    except Exception:
        return default

files = []
for ref in cmds.file(query=True, reference=True) or []:
    if cmds.referenceQuery(ref, isLoaded=True):
        files.append({"path": cmds.referenceQuery(ref, filename=True, unresolvedName=True),
                      "kind": "reference", "node": cmds.referenceQuery(ref, referenceNode=True),
                      "node_type": "reference", "attr": ""})
for node_type, attrs in table.items():
    for node in cmds.ls(type=node_type) or []:
        seen = set()
        for attr, kind in attrs.items():
            value = get(node + "." + attr)
            for item in (value if isinstance(value, (list, tuple)) else [value]):
                if isinstance(item, str) and item and item not in seen:
                    seen.add(item)
                    files.append({"path": item, "kind": kind, "node": node,
                                  "node_type": node_type, "attr": attr})
cameras = []
for shape in cmds.ls(type="camera") or []:
    if get(shape + ".renderable"):
        cameras.append((cmds.listRelatives(shape, parent=True) or [shape])[0])
layers = [{"name": layer, "renderable": bool(get(layer + ".renderable", True))}
          for layer in cmds.ls(type="renderLayer") or [] if ":" not in layer]
plugins = {}
for plugin in cmds.pluginInfo(query=True, pluginsInUse=True) or []:
    if isinstance(plugin, str):
        plugins[plugin] = cmds.pluginInfo(plugin, query=True, version=True)
rg = "defaultRenderGlobals."
print("RFARM_JSON " + json.dumps({
    "software_version": cmds.about(version=True),
    "renderer": get(rg + "currentRenderer", "mayaSoftware"),
    "start": get(rg + "startFrame", 1.0), "end": get(rg + "endFrame", 10.0),
    "by_frame": get(rg + "byFrameStep", 1.0), "animation": bool(get(rg + "animation", False)),
    "current_frame": cmds.currentTime(query=True),
    "width": get("defaultResolution.width", 960), "height": get("defaultResolution.height", 540),
    "image_prefix": get(rg + "imageFilePrefix") or "", "image_format": get(rg + "imfPluginKey") or "",
    "cameras": cameras, "render_layers": layers, "plugins": plugins,
    "time_unit": cmds.currentUnit(query=True, time=True), "files": files,
}))
"""


def find_mayapy() -> str | None:
    """The ``mayapy`` on PATH, if any."""
    return shutil.which("mayapy")


def analyze_with_mayapy(
    path: Path, resolver: PathResolver, *, timeout_s: float = TIMEOUT_S
) -> AnalysisResult:
    """Open ``path`` in ``mayapy`` and report what Maya itself sees.

    Raises:
        AnalysisError: mayapy is not installed, fails, or times out.
    """
    mayapy = find_mayapy()
    if mayapy is None:
        raise AnalysisError(
            "The mayapy backend needs Maya's mayapy on PATH, and it was not found. "
            "Use the parser backend, which needs no Maya."
        )
    table = json.dumps({node_type: dict(attrs) for node_type, attrs in DEPENDENCY_ATTRS.items()})
    try:
        done = subprocess.run(
            [mayapy, "-c", _CHILD_SCRIPT, str(path), table],
            capture_output=True,
            text=True,
            timeout=timeout_s,
            check=False,
        )
    except subprocess.TimeoutExpired as exc:
        raise AnalysisError(f"mayapy did not finish analysing {path} within {timeout_s:g} s.") from exc
    except OSError as exc:
        raise AnalysisError(f"Cannot run mayapy ({mayapy}): {exc.strerror or exc}.") from exc
    report = _report(done.stdout)
    if done.returncode != 0 or report is None:
        last = (done.stderr.strip().splitlines() or ["no output"])[-1]
        raise AnalysisError(f"mayapy could not analyse {path} (exit {done.returncode}): {last}")
    return _result(path, resolver, report)


def _report(stdout: str) -> dict[str, Any] | None:
    for line in reversed(stdout.splitlines()):
        if line.startswith("RFARM_JSON "):
            try:
                value = json.loads(line[len("RFARM_JSON ") :])
            except ValueError:
                return None
            return value if isinstance(value, dict) else None
    return None


def _result(path: Path, resolver: PathResolver, report: dict[str, Any]) -> AnalysisResult:
    collector = Collector()
    for item in report.get("files", []):
        collector.add(
            resolver,
            str(item["path"]),
            kind=str(item["kind"]),
            node=str(item["node"]),
            node_type=str(item["node_type"]),
            attr=str(item["attr"]),
        )
    time_unit = str(report.get("time_unit") or "film")
    info = SceneInfo(
        scene_type="maya",
        path=str(path),
        software_version=report.get("software_version"),
        renderer=str(report.get("renderer") or "mayaSoftware"),
        start=float(report.get("start", 1)),
        end=float(report.get("end", 10)),
        by_frame=float(report.get("by_frame", 1)),
        animation=bool(report.get("animation")),
        current_frame=float(report.get("current_frame", 1)),
        width=int(report.get("width", 960)),
        height=int(report.get("height", 540)),
        image_prefix=str(report.get("image_prefix") or ""),
        image_format=str(report.get("image_format") or ""),
        cameras=tuple(str(camera) for camera in report.get("cameras", [])),
        render_layers=tuple(
            RenderLayer(str(layer["name"]), bool(layer["renderable"]))
            for layer in report.get("render_layers", [])
        ),
        time_unit=time_unit,
        fps=time_unit_fps(time_unit),
        plugins=tuple((str(name), str(version)) for name, version in report.get("plugins", {}).items()),
    )
    tips = render_tips(info) + collector.tips()
    return AnalysisResult(info, tuple(collector.dependencies), sort_tips(tips))
