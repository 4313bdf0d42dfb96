"""``rfarm integrations install``: where each DCC looks for add-ons on this machine, and the
small files written there that load :mod:`rfarm.integrations` from this installation.

Folders are computed as pure paths from the platform and the home folder, so the Windows
layout is the same code (and tested) on any machine.
"""
from __future__ import annotations

import re
import sys
import sysconfig
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path, PurePath, PurePosixPath, PureWindowsPath

from rfarm.errors import UsageError

BLENDER_ADDON = "rfarm_submit.py"
MAYA_MODULE = "rfarm.mod"
MAYA_PLUGIN = "rfarm_submit.py"

#: what Blender's add-ons list shows (Blender reads it from the file's text, so it is written as a literal)
BL_INFO = {
    "name": "rfarm",
    "author": "rfarm",
    "version": (1, 0, 0),
    "blender": (3, 6, 0),
    "location": "Properties > Render > rfarm; Render > Submit to rfarm",
    "description": "Analyse the open scene, upload what the farm lacks and submit it to rfarm",
    "category": "Render",
}


def _pure(system: str, path: str | PurePath) -> PurePath:
    return PureWindowsPath(path) if system == "windows" else PurePosixPath(path)


def blender_root(system: str, home: str | PurePath, env: Mapping[str, str]) -> PurePath:
    """The folder holding Blender's per-version folders (``4.2``, ``5.0``) for this user."""
    if system == "windows":
        appdata = env.get("APPDATA") or str(PureWindowsPath(home) / "AppData" / "Roaming")
        return PureWindowsPath(appdata) / "Blender Foundation" / "Blender"
    if system == "darwin":
        return PurePosixPath(home) / "Library" / "Application Support" / "Blender"
    return PurePosixPath(env.get("XDG_CONFIG_HOME") or PurePosixPath(home) / ".config") / "blender"


def maya_modules(system: str, home: str | PurePath) -> PurePath:
    """The user's Maya modules folder (Maya reads every ``*.mod`` there at start-up)."""
    if system == "windows":
        return PureWindowsPath(home) / "Documents" / "maya" / "modules"
    if system == "darwin":
        return PurePosixPath(home) / "Library" / "Preferences" / "Autodesk" / "maya" / "modules"
    return PurePosixPath(home) / "maya" / "modules"


def addon_folders(root: Path) -> list[Path]:
    """``VERSION/scripts/addons`` under each Blender version folder of ``root``, oldest first."""
    versions = [p for p in root.iterdir() if p.is_dir() and re.fullmatch(r"\d+\.\d+", p.name)] if root.is_dir() else []
    return [p / "scripts" / "addons" for p in sorted(versions, key=lambda p: tuple(map(int, p.name.split("."))))]


def import_paths() -> list[str]:
    """The folders a DCC's Python needs on its path to import rfarm and what it depends on."""
    here = str(Path(__file__).resolve().parents[2])
    return list(dict.fromkeys([here, sysconfig.get_paths()["purelib"], sysconfig.get_paths()["platlib"]]))


def blender_addon_text() -> str:
    """The add-on file: ``bl_info`` as a literal, then register/unregister that load rfarm's add-on."""
    return (
        '"""rfarm for Blender, written by `rfarm integrations install blender`: it loads\n'
        'rfarm.integrations.blender from the rfarm installation named below."""\n'
        f"bl_info = {BL_INFO!r}\n\n"
        "import sys\n\n"
        f"for _path in {import_paths()!r}:\n"
        "    if _path not in sys.path:\n"
        "        sys.path.append(_path)\n\n\n"
        "def register():\n"
        "    from rfarm.integrations import blender\n"
        "    blender.register(addon_id=__name__)\n\n\n"
        "def unregister():\n"
        "    from rfarm.integrations import blender\n"
        "    blender.unregister()\n"
    )


def maya_module_text(root: PurePath) -> str:
    """A Maya module file: the module's folder (its ``plug-ins`` and ``scripts``) and rfarm's import paths."""
    lines = [f"+ rfarm 1.0 {root}"] + [f"PYTHONPATH+={path}" for path in import_paths()]
    return "\n".join(lines) + "\n"


MAYA_PLUGIN_TEXT = '''"""rfarm for Maya, written by `rfarm integrations install maya`: the plug-in adds the rfarm menu."""


def initializePlugin(plugin):
    from rfarm.integrations import maya
    maya.initializePlugin(plugin)


def uninitializePlugin(plugin):
    from rfarm.integrations import maya
    maya.uninitializePlugin(plugin)
'''

MAYA_USER_SETUP = '''"""Loads the rfarm plug-in once Maya's UI is up (written by `rfarm integrations install maya`)."""
from maya import cmds

cmds.evalDeferred(lambda: cmds.loadPlugin("rfarm_submit.py", quiet=True))
'''


@dataclass(frozen=True, slots=True)
class Installed:
    """What an install wrote."""

    dcc: str
    files: list[str]

    def to_dict(self) -> dict[str, object]:
        return {"dcc": self.dcc, "files": self.files}


def system_name() -> str:
    return "windows" if sys.platform == "win32" else "darwin" if sys.platform == "darwin" else "linux"


def install_blender(home: Path, env: Mapping[str, str], *, system: str, blender_dir: Path | None = None) -> Installed:
    """Write the add-on into every Blender version's add-ons folder (or ``blender_dir``, an add-ons folder)."""
    if blender_dir is not None:
        folders = [blender_dir]
    else:
        root = Path(blender_root(system, home, env))
        folders = addon_folders(root)
        if not folders:
            raise UsageError(f"no Blender version folder under {root} (start Blender once to make it), "
                             "or name an add-ons folder with --blender-dir")
    written = []
    for folder in folders:
        folder.mkdir(parents=True, exist_ok=True)
        target = folder / BLENDER_ADDON
        target.write_text(blender_addon_text(), encoding="utf-8")
        written.append(str(target))
    return Installed("blender", written)


def install_maya(home: Path, *, system: str, maya_dir: Path | None = None) -> Installed:
    """Write ``rfarm.mod`` and the module's plug-in and ``userSetup.py`` into the user's Maya modules folder."""
    modules = maya_dir if maya_dir is not None else Path(maya_modules(system, home))
    root = modules / "rfarm"
    files = {modules / MAYA_MODULE: maya_module_text(root), root / "plug-ins" / MAYA_PLUGIN: MAYA_PLUGIN_TEXT,
             root / "scripts" / "userSetup.py": MAYA_USER_SETUP}
    for path, text in files.items():
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
    return Installed("maya", [str(path) for path in files])
