"""Render Setup (Maya 2017 and later): the per-layer overrides of render settings.

A Render Setup layer (``renderSetupLayer``) owns a legacy ``renderLayer``
(``rs_x.msg -> x.lrl``) and a tree of collections (``parent.lit -> child.pls``);
each collection selects nodes with a ``simpleSelector`` (``sel.c ->
collection.sel``: a static list ``.ssl`` and wildcard patterns ``.pat``) and
holds overrides. An ``absOverride`` sets attribute ``.atr`` of the selected
nodes to ``.atv``; a ``relOverride`` multiplies by ``.mul`` and adds ``.ofs``;
the ``*UniqueOverride`` kinds target the one node ``.tgName``. Only the
overrides a farm needs are applied: frame range, resolution and camera
renderability.
"""
from __future__ import annotations

import fnmatch
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

LAYER = "renderSetupLayer"
COLLECTIONS = frozenset({"collection", "renderSettingsCollection"})
OVERRIDES = frozenset({"absOverride", "absUniqueOverride", "relOverride", "relUniqueOverride"})
NODE_TYPES = frozenset({LAYER, "simpleSelector", *COLLECTIONS, *OVERRIDES})

# attribute (short and long) -> its short name, on the nodes Render Setup nodes may hold
_ATTRS = {
    "atr": "atr", "attribute": "atr", "atv": "atv", "attrValue": "atv", "tgName": "tgName",
    "targetNodeName": "tgName", "mul": "mul", "multiply": "mul", "ofs": "ofs", "offset": "ofs",
    "ssl": "ssl", "staticSelection": "ssl", "pat": "pat", "pattern": "pat",
}
# (settings node, overridden attribute) -> scene_info key
_SETTINGS = {
    ("defaultRenderGlobals", "startFrame"): "start", ("defaultRenderGlobals", "fs"): "start",
    ("defaultRenderGlobals", "endFrame"): "end", ("defaultRenderGlobals", "ef"): "end",
    ("defaultRenderGlobals", "byFrameStep"): "by_frame", ("defaultRenderGlobals", "bfs"): "by_frame",
    ("defaultResolution", "width"): "width", ("defaultResolution", "w"): "width",
    ("defaultResolution", "height"): "height", ("defaultResolution", "h"): "height",
}
_CAMERA_RENDERABLE = frozenset({"renderable", "rnd"})


@dataclass
class _Node:
    node_type: str
    attrs: dict[str, Any] = field(default_factory=dict)


class RenderSetup:
    """The Render Setup nodes of one scene, fed as the file is read."""

    def __init__(self) -> None:
        self._nodes: dict[str, _Node] = {}
        self._parent: dict[str, str] = {}
        self._selector: dict[str, str] = {}

    def create_node(self, node_type: str, name: str) -> None:
        if node_type in NODE_TYPES:
            self._nodes[name] = _Node(node_type)

    def set_attr(self, name: str, leaf: str, value: Any) -> None:
        node = self._nodes.get(name)
        if node is not None and leaf in _ATTRS:
            node.attrs[_ATTRS[leaf]] = value

    def connect(self, src_node: str, src_attr: str, dst_node: str, dst_attr: str) -> None:
        """``parent.lit -> child.pls`` (the tree) and ``selector.c -> collection.sel``."""
        if src_attr == "lit" and dst_attr == "pls" and dst_node in self._nodes:
            self._parent[dst_node] = src_node
        elif src_attr == "c" and dst_attr == "sel" and dst_node in self._nodes:
            self._selector[dst_node] = src_node

    def overrides(
        self,
        layer: str,
        settings: Mapping[str, float],
        cameras: Mapping[str, tuple[str, bool]],
    ) -> tuple[tuple[str, Any], ...]:
        """The settings ``layer`` renders with that differ from the scene's.

        Args:
            settings: the scene's ``start``, ``end``, ``by_frame``, ``width``, ``height``.
            cameras: camera shape -> (transform, renderable) as the scene sets them.
        """
        values: dict[str, float] = {}
        renderable = {shape: flag for shape, (_, flag) in cameras.items()}
        for name, node in self._nodes.items():
            if node.node_type not in OVERRIDES or self._layer_of(name) != layer:
                continue
            attr = node.attrs.get("atr")
            if not isinstance(attr, str):
                continue
            for target in self._targets(name, node, cameras):
                key = _SETTINGS.get((target, attr))
                if key is not None:
                    value = self._value(node, values.get(key, settings.get(key)))
                    if value is not None:
                        values[key] = value
                elif target in cameras and attr in _CAMERA_RENDERABLE:
                    value = self._value(node, float(renderable[target]))
                    if value is not None:
                        renderable[target] = bool(value)
        result: list[tuple[str, Any]] = [
            (key, int(value) if key in ("width", "height") else value)
            for key, value in values.items()
            if value != settings.get(key)
        ]
        if any(renderable[shape] != flag for shape, (_, flag) in cameras.items()):
            result.append(("cameras", tuple(cameras[s][0] for s, flag in renderable.items() if flag)))
        return tuple(result)

    def _layer_of(self, name: str) -> str | None:
        seen: set[str] = set()
        while name in self._parent and name not in seen:
            seen.add(name)
            name = self._parent[name]
            node = self._nodes.get(name)
            if node is not None and node.node_type == LAYER:
                return name
        return None

    def _targets(self, name: str, node: _Node, cameras: Mapping[str, tuple[str, bool]]) -> list[str]:
        """The nodes an override sets: its ``.tgName``, or what its collection's selector selects."""
        if node.node_type.endswith("UniqueOverride"):
            target = node.attrs.get("tgName")
            return [target] if isinstance(target, str) else []
        collection = self._parent.get(name, "")
        selector = self._nodes.get(self._selector.get(collection, ""))
        if selector is None:
            return []
        static = str(selector.attrs.get("ssl") or "")
        names = [entry.strip() for entry in static.split("\n") if entry.strip()]
        patterns = [p.strip() for p in str(selector.attrs.get("pat") or "").replace(",", " ").split() if p.strip()]
        targets = [entry.rpartition("|")[2] for entry in names]
        for shape, (transform, _) in cameras.items():
            spellings = (shape, transform, f"|{transform}|{shape}", f"|{transform}")
            if any(_matches(pattern, spelling) for pattern in patterns for spelling in spellings):
                targets.append(shape)
            elif transform in targets:
                targets.append(shape)  # a static selection of the transform includes its shape
        return targets

    @staticmethod
    def _value(node: _Node, base: float | None) -> float | None:
        if node.node_type.startswith("abs"):
            value = node.attrs.get("atv")
            return float(value) if isinstance(value, (int, float)) else None
        if base is None:
            return None
        multiply, offset = node.attrs.get("mul", 1.0), node.attrs.get("ofs", 0.0)
        if not isinstance(multiply, (int, float)) or not isinstance(offset, (int, float)):
            return None
        return base * multiply + offset


def _matches(pattern: str, name: str) -> bool:
    """Render Setup wildcards; ``::`` at the start matches any namespace."""
    if pattern.startswith("::"):
        return fnmatch.fnmatchcase(name.rpartition(":")[2], pattern[2:]) or fnmatch.fnmatchcase(name, pattern[2:])
    return fnmatch.fnmatchcase(name, pattern)
