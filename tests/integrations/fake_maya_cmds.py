"""FakeMayaCmds, a test double of the few ``maya.cmds`` calls rfarm.integrations.maya makes.

It is NOT Maya and nothing here ran in Maya: Maya cannot be installed on this machine. It
answers from a table written for a given .ma scene, in the return shapes Maya's command
reference gives: ``file -q -sn`` a str (``""`` when untitled), ``file -q -list`` a list
of str with the scene first, ``file -q -modified`` a bool, ``getAttr`` a float for time
attributes, an int for the resolution, a bool for ``animation`` and ``renderable``, a str
or None (an empty string attribute) for strings; ``ls -type`` a list (``[]`` when none);
``listRelatives -parent`` a list or None; ``about -version`` a str.
"""
from __future__ import annotations

from typing import Any


class FakeMayaCmds:
    def __init__(self, scene: str, attrs: dict[str, Any], nodes: dict[str, list[str]], *,
                 files: list[str], parents: dict[str, str], version: str = "2022", modified: bool = False) -> None:
        self.scene, self.attrs, self.nodes, self.files = scene, dict(attrs), nodes, files
        self.parents, self.version, self.modified = parents, version, modified
        self.saved = 0

    def file(self, *args: Any, query: bool = False, sceneName: bool = False, list: bool = False,  # noqa: A002, N803
             modified: bool = False, save: bool = False) -> Any:
        if save:
            self.saved += 1
            self.modified = False
            return self.scene
        assert query, "only queries and save are recorded"
        if sceneName:
            return self.scene
        if list:
            return [self.scene, *self.files]
        if modified:
            return self.modified
        raise AssertionError("unrecorded file query")

    def getAttr(self, name: str) -> Any:  # noqa: N802 - maya.cmds' name
        if name not in self.attrs:
            raise ValueError(f"No object matches name: {name}")  # what maya.cmds raises for an unknown plug
        return self.attrs[name]

    def ls(self, *, type: str) -> list[str]:  # noqa: A002
        return list(self.nodes.get(type, []))

    def listRelatives(self, node: str, *, parent: bool = False) -> list[str] | None:  # noqa: N802
        return [self.parents[node]] if parent and node in self.parents else None

    def about(self, *, version: bool = False) -> str:
        return self.version
