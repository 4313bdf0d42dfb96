"""Blender (.blend) analyser, read in-process with blender-asset-tracer.

bpy is never imported here: a .blend is read as data, including Blender 5's
zstd-compressed files, and linked libraries are followed by the tracer.
"""
from __future__ import annotations

import re
import struct
from collections.abc import Iterator
from pathlib import Path

from blender_asset_tracer import blendfile, trace
from blender_asset_tracer.blendfile import exceptions, iterators
from blender_asset_tracer.trace import blocks2assets, file2blocks
from blender_asset_tracer.trace.result import BlockUsage

from rfarm.analysis.base import (
    AnalysisResult,
    Collector,
    RenderLayer,
    SceneInfo,
    render_tips,
    sort_tips,
)
from rfarm.analysis.paths import PathResolver
from rfarm.errors import AnalysisError

# Block codes the tracer reports -> dependency kind.
_KINDS = {
    b"IM": "image", b"LI": "library", b"CF": "cache", b"SO": "sound", b"VF": "font",
    b"VO": "volume", b"MC": "movie", b"ME": "mesh", b"OB": "cache", b"SC": "sequence",
    b"LA": "ies",
}
# ImageFormatData.imtype -> the name Blender's Python API uses.
_IMAGE_TYPES = {
    0: "TARGA", 1: "IRIS", 4: "JPEG", 14: "TARGA_RAW", 17: "PNG", 20: "BMP", 21: "HDR",
    22: "TIFF", 23: "OPEN_EXR", 24: "FFMPEG", 26: "CINEON", 27: "DPX",
    28: "OPEN_EXR_MULTILAYER", 30: "JPEG2000", 35: "WEBP",
}
_VIEW_LAYER_RENDER = 1
_BLEND_ERRORS = (exceptions.BlendFileError, struct.error, EOFError, ValueError, KeyError, IndexError)


class BlenderAnalyzer:
    """Render settings and input files of a .blend file."""

    def analyze(self, path: Path, resolver: PathResolver) -> AnalysisResult:
        try:
            return self._analyze(path, resolver)
        except OSError as exc:
            raise AnalysisError(f"Cannot read {path}: {exc.strerror or exc}.") from exc
        except _BLEND_ERRORS as exc:
            raise AnalysisError(f"{path} is not a readable Blender file ({exc}).") from exc
        finally:
            blendfile.close_all_cached()

    def _analyze(self, path: Path, resolver: PathResolver) -> AnalysisResult:
        bfile = blendfile.open_cached(path)
        scene = _active_scene(bfile)
        if scene is None:
            raise AnalysisError(f"{path} has no scene.")
        info = _scene_info(path, bfile, scene)
        collector = Collector()
        for usage in _usages(bfile):
            self._add(collector, resolver, usage)
        tips = render_tips(info) + collector.tips()
        return AnalysisResult(info, tuple(collector.dependencies), sort_tips(tips))

    @staticmethod
    def _add(collector: Collector, resolver: PathResolver, usage: BlockUsage) -> None:
        raw = bytes(usage.asset_path).decode("utf-8", "surrogateescape")
        holder = Path(usage.block.bfile.filepath)
        lookup = raw
        if raw.startswith("//"):
            lookup = (holder.parent / raw[2:]).as_posix()
        if usage.is_sequence and "*" not in lookup and not re.search(r"<UDIM>|#", lookup):
            lookup = re.sub(r"\d+(?=\D*$)", "<f>", lookup, count=1)
        name = usage.block_name.decode("utf-8", "replace")
        collector.add(
            resolver.for_scene(holder),
            raw,
            kind=_KINDS.get(usage.block.code, "file"),
            node=name[2:] if len(name) > 2 else name,
            node_type=usage.block.dna_type_name,
            attr="filepath",
            lookup=lookup,
        )


def _usages(bfile: blendfile.BlendFile) -> Iterator[BlockUsage]:
    """The tracer's asset usages, following linked libraries, each once.

    Blocks are also expanded through material node trees: for Blender 5 files
    the tracer looks for a material's tree under the compositor's field name,
    so images used by linked materials would be missed.
    """
    seen: set[int] = set()
    for block in file2blocks.iter_blocks(bfile):
        for holder in trace.asset_holding_blocks([block, *_node_tree_ids(block)]):
            for usage in blocks2assets.iter_assets(holder):
                if hash(usage) not in seen:
                    seen.add(hash(usage))
                    yield usage


def _node_tree_ids(block: blendfile.BlendFileBlock) -> Iterator[blendfile.BlendFileBlock]:
    """Data blocks (images…) that nodes of ``block``'s embedded node tree use."""
    if block.code != b"MA":
        return
    try:
        tree = block.get_pointer(b"nodetree")
    except KeyError:
        return
    trees, visited = [tree], set()
    while trees:
        tree = trees.pop()
        if tree is None or tree.addr_old in visited or tree.dna_type_name != "bNodeTree":
            continue
        visited.add(tree.addr_old)
        for node in iterators.listbase(tree.get_pointer((b"nodes", b"first"))):
            ident = node.get_pointer(b"id")
            if ident is None:
                continue
            if ident.code == b"NT":
                trees.append(ident)
            else:
                yield ident


def _active_scene(bfile: blendfile.BlendFile) -> blendfile.BlendFileBlock | None:
    """The scene saved as current (the GLOB block), else the first one."""
    for glob in bfile.find_blocks_from_code(b"GLOB"):
        scene = glob.get_pointer(b"curscene")
        if scene is not None:
            return scene
    scenes = bfile.find_blocks_from_code(b"SC")
    return scenes[0] if scenes else None


def _scene_info(path: Path, bfile: blendfile.BlendFile, scene: blendfile.BlendFileBlock) -> SceneInfo:
    render = (b"r",)
    version = bfile.header.version
    percentage = scene.get(render + (b"size",)) or 100
    fps = scene.get(render + (b"frs_sec",)) / (scene.get(render + (b"frs_sec_base",)) or 1.0)
    camera = scene.get_pointer(b"camera")
    camera_name = camera.id_name if camera is not None else None
    layers = []
    first = scene.get_pointer((b"view_layers", b"first"))
    for layer in iterators.listbase(first):
        renderable = bool(layer.get(b"flag") & _VIEW_LAYER_RENDER)
        layers.append(RenderLayer(layer.get(b"name", as_str=True), renderable))
    imtype = scene.get(render + (b"im_format", b"imtype"))
    return SceneInfo(
        scene_type="blender",
        path=str(path),
        software_version=f"{version // 100}.{version % 100}",
        renderer=scene.get(render + (b"engine",), as_str=True),
        start=scene.get(render + (b"sfra",)),
        end=scene.get(render + (b"efra",)),
        by_frame=scene.get(render + (b"frame_step",)),
        animation=True,
        current_frame=scene.get(render + (b"cfra",)),
        width=scene.get(render + (b"xsch",)) * percentage // 100,
        height=scene.get(render + (b"ysch",)) * percentage // 100,
        image_prefix=scene.get(render + (b"pic",), as_str=True),
        image_format=_IMAGE_TYPES.get(imtype, str(imtype)),
        cameras=(camera_name.decode("utf-8", "replace")[2:],) if camera_name else (),
        render_layers=tuple(layers),
        time_unit=f"{fps:g}fps",
        fps=fps,
    )
