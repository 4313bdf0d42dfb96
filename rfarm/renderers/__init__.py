"""The renderer registry: every renderer by name, the scene suffixes each renders, what this node runs.

Each :class:`~rfarm.renderers.base.Renderer` class owns its scene suffixes, how
a node finds it (:meth:`~rfarm.renderers.base.Renderer.for_node`), its version
on the node and its scene check; versions compare by
:func:`~rfarm.renderers.base.major_version`.
"""
from __future__ import annotations

import logging
from pathlib import PurePath
from typing import TYPE_CHECKING

from rfarm.errors import UsageError
from rfarm.renderers.base import Renderer, major_version
from rfarm.renderers.blender import BlenderRenderer
from rfarm.renderers.maya import MayaRenderer
from rfarm.renderers.unreal import UnrealRenderer

if TYPE_CHECKING:
    from rfarm.config import Config

__all__ = ["NAMES", "RENDERERS", "SCENE_SUFFIXES", "get_renderer", "major_version", "node_renderers",
           "renderer_for_scene"]

#: renderer name → its class
log = logging.getLogger(__name__)

RENDERERS: dict[str, type[Renderer]] = {cls.name: cls for cls in (BlenderRenderer, MayaRenderer, UnrealRenderer)}
NAMES = tuple(RENDERERS)
#: every scene suffix some renderer renders by default
SCENE_SUFFIXES = tuple(suffix for cls in RENDERERS.values() for suffix in cls.suffixes)


def renderer_for_scene(scene: str) -> str:
    """The renderer a scene's file type implies (Windows paths too)."""
    suffix = PurePath(scene.replace("\\", "/")).suffix.lower()
    for name, cls in RENDERERS.items():
        if suffix in cls.suffixes:
            return name
    raise UsageError(f"no renderer renders {suffix or 'files without a suffix'} scenes; pass --renderer ({', '.join(NAMES)})")


def get_renderer(name: str, config: Config) -> Renderer:
    """The renderer called ``name``, set up for this node from ``config``."""
    cls = RENDERERS.get(name)
    if cls is None:
        raise UsageError(f"unknown renderer {name!r}: use one of {', '.join(NAMES)}")
    return cls.for_node(config)


def node_renderers(config: Config) -> dict[str, str]:
    """The renderers this node can run, with their versions where known ("" otherwise).

    Each is checked (:meth:`~rfarm.renderers.base.Renderer.unavailable`); one the
    configuration names but that cannot run is left out with a warning.
    """
    found: dict[str, str] = {}
    for name, cls in RENDERERS.items():
        renderer = cls.for_node(config)
        why = renderer.unavailable()
        if why is None:
            found[name] = renderer.node_version()
        elif getattr(config, f"{name}_executable", ""):
            log.warning("this node does not offer %s: %s (%s_executable)", name, why, name)
    return found
