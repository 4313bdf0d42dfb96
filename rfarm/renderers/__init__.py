"""Renderers by name, and the default renderer for a scene file."""
from __future__ import annotations

from pathlib import PurePath

from rfarm.config import Config
from rfarm.errors import UsageError
from rfarm.renderers.base import Renderer

#: renderer name → scene suffixes it renders by default
SUFFIXES: dict[str, tuple[str, ...]] = {
    "blender": (".blend",),
    "maya": (".ma", ".mb"),
    "unreal": (".uproject",),
}
NAMES = tuple(SUFFIXES)


def renderer_for_scene(scene: str) -> str:
    """The renderer a scene's file type implies (Windows paths too)."""
    suffix = PurePath(scene.replace("\\", "/")).suffix.lower()
    for name, suffixes in SUFFIXES.items():
        if suffix in suffixes:
            return name
    raise UsageError(f"no renderer renders {suffix or 'files without a suffix'} scenes; pass --renderer ({', '.join(NAMES)})")


def get_renderer(name: str, config: Config) -> Renderer:
    """The renderer called ``name``, set up for this node from ``config``."""
    if name == "blender":
        from rfarm.renderers.blender import BlenderRenderer

        return BlenderRenderer.for_node(config.blender_executable or None)
    if name == "maya":
        from rfarm.renderers.maya import MayaRenderer

        return MayaRenderer(config.maya_executable or None)
    if name == "unreal":
        from rfarm.renderers.unreal import UnrealRenderer

        return UnrealRenderer(config.unreal_executable or None)
    raise UsageError(f"unknown renderer {name!r}: use one of {', '.join(NAMES)}")


def node_renderers(config: Config) -> dict[str, str]:
    """The renderers this node can run, with their versions where known ("" otherwise)."""
    import re
    import shutil

    from rfarm.renderers.blender import BlenderRenderer

    found: dict[str, str] = {}
    blender = BlenderRenderer.for_node(config.blender_executable or None)
    if blender.is_available:
        version = blender.version()
        found["blender"] = f"{version[0]}.{version[1]}" if version else ""
    for name, exe, program, pattern in (
        ("maya", config.maya_executable, "Render", r"Maya(\d{4})"),
        ("unreal", config.unreal_executable, "UnrealEditor-Cmd", r"UE_(\d+\.\d+)"),
    ):
        path = exe or shutil.which(program)
        if path:
            match = re.search(pattern, path)
            found[name] = match[1] if match else ""
    return found
