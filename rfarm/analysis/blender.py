"""Blender (.blend) analyser, read in-process with blender-asset-tracer.

bpy is never imported here: a .blend is read as data, from 2.7x files (render
layers in ``Scene.r.layers``) to Blender 5's zstd-compressed ones (view layers).
Dependencies are what blender-asset-tracer's tracer finds, following linked
libraries through the blocks actually linked from them; a library or data block
that cannot be read is named in a tip and the rest is still reported.
"""
from __future__ import annotations

import dataclasses
import logging
import posixpath
import re
import struct
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path
from typing import Any, TypeVar

from blender_asset_tracer import blendfile, cdefs, trace
from blender_asset_tracer.blendfile import exceptions, iterators
from blender_asset_tracer.trace import blocks2assets, file2blocks
from blender_asset_tracer.trace.result import BlockUsage

from rfarm.analysis.base import (
    AnalysisResult,
    Collector,
    Dependency,
    RenderLayer,
    SceneInfo,
    Tip,
    render_tips,
    sort_tips,
)
from rfarm.analysis.paths import PathResolver
from rfarm.errors import AnalysisError

# blender-asset-tracer warns of each library it cannot find; the analysis reports
# those as missing dependencies, so its warnings would only repeat them.
logging.getLogger("blender_asset_tracer").setLevel(logging.ERROR)

# DNA type of the block a usage comes from -> dependency kind.
_KINDS = {
    "Image": "image",
    "Library": "library",
    "MovieClip": "movie",
    "bSound": "sound",
    "VFont": "font",
    "CacheFile": "alembic",
    "MeshCacheModifierData": "mesh_cache",
    "PointCache": "point_cache",
    "OceanModifierData": "ocean_cache",
    "FluidsimSettings": "fluid_cache",
    "FluidDomainSettings": "fluid_cache",
    "Mesh": "multires",
    "Strip": "sequence",
    "Volume": "volume",
    "NodeShaderTexIES": "ies",
    "NodesModifierData": "bake",
    "NodesModifierBake": "bake",
}
# ImageFormatData.imtype -> the name Blender's Python API uses (2.7x movie types included).
_IMAGE_TYPES = {
    0: "TARGA", 1: "IRIS", 4: "JPEG", 14: "TARGA_RAW", 15: "AVI_RAW", 16: "AVI_JPEG", 17: "PNG",
    20: "BMP", 21: "HDR", 22: "TIFF", 23: "OPEN_EXR", 24: "FFMPEG", 26: "CINEON", 27: "DPX",
    28: "OPEN_EXR_MULTILAYER", 29: "DDS", 30: "JPEG2000", 31: "H264", 32: "XVID", 33: "THEORA",
    35: "WEBP",
}
_VIEW_LAYER_RENDER = 1  # ViewLayer.flag (2.80+)
_SCE_LAY_DISABLE = 1 << 17  # SceneRenderLayer.layflag (2.7x): the layer does not render
_R_SINGLE_LAYER = 0x0200  # RenderData.scemode (2.7x): only the active layer renders
_BLEND_ERRORS = (exceptions.BlendFileError, struct.error, EOFError, ValueError, KeyError, IndexError, TypeError)

T = TypeVar("T")


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
        settings = _Settings(scene)
        info = _scene_info(path, bfile, settings)
        tracer = _Tracer()
        collector = Collector()
        for usage in tracer.usages(bfile):
            _add(collector, resolver, usage)
        tips = render_tips(info) + collector.tips() + settings.tips() + tracer.tips()
        return AnalysisResult(info, tuple(collector.dependencies), sort_tips(tips))


class _Settings:
    """Reads the scene's settings; one the file does not hold takes a default and is noted."""

    def __init__(self, scene: blendfile.BlendFileBlock) -> None:
        self.scene = scene
        self.defaulted: list[str] = []

    def read(self, key: str, read: Callable[[blendfile.BlendFileBlock], T], default: T) -> T:
        try:
            return read(self.scene)
        except _BLEND_ERRORS:
            self.defaulted.append(key)
            return default

    def render(self, key: str, field: bytes | tuple[bytes, ...], default: Any, *, as_str: bool = False) -> Any:
        """``Scene.r.<field>``."""
        path = (b"r", *((field,) if isinstance(field, bytes) else field))
        return self.read(key, lambda scene: scene.get(path, as_str=as_str), default)

    def tips(self) -> list[Tip]:
        if not self.defaulted:
            return []
        names = ", ".join(dict.fromkeys(self.defaulted))
        return [Tip("partly_read", "warning", f"Settings not readable in this file, Blender's defaults used: {names}.")]


class _Tracer(file2blocks.BlockIterator):
    """blender-asset-tracer's block iterator, noting what it cannot read instead of failing.

    The iterator follows linked libraries recursively (each block once, so a
    library that links back ends there); a library that is present but cannot be
    read is noted and the others are still followed.
    """

    def __init__(self) -> None:
        super().__init__()
        self.unreadable_libraries: dict[str, str] = {}
        self.unreadable_blocks: dict[str, str] = {}

    def open_blendfile(self, bfilepath: Path) -> blendfile.BlendFile | None:  # type: ignore[override]
        try:
            return super().open_blendfile(bfilepath)
        except (*_BLEND_ERRORS, OSError) as exc:
            self.unreadable_libraries[str(bfilepath)] = str(exc)
            return None

    def iter_blocks(
        self, bfile: blendfile.BlendFile | None, limit_to: set[blendfile.BlendFileBlock] = frozenset()  # type: ignore[assignment]
    ) -> Iterator[blendfile.BlendFileBlock]:
        if bfile is None:  # a library open_blendfile could not read
            return
        try:
            yield from super().iter_blocks(bfile, limit_to)
        except _BLEND_ERRORS as exc:
            if not limit_to:  # the scene itself: usages() reads its own blocks directly
                raise
            self.unreadable_libraries[str(bfile.filepath)] = str(exc)

    def usages(self, bfile: blendfile.BlendFile) -> Iterator[BlockUsage]:
        """The tracer's asset usages in ``bfile`` and its libraries, each once.

        If expanding the scene's blocks fails part way, its own data blocks are
        still traced one by one.
        """
        seen: set[int] = set()
        try:
            yield from self._usages(self.iter_blocks(bfile), seen)
        except _BLEND_ERRORS as exc:
            self.unreadable_blocks.setdefault("block expansion", str(exc))
            yield from self._usages((block for block in bfile.blocks if block.code != b"DATA"), seen)

    def _usages(self, blocks: Iterable[blendfile.BlendFileBlock], seen: set[int]) -> Iterator[BlockUsage]:
        for block in blocks:
            for holder in trace.asset_holding_blocks([block, *_node_tree_ids(block)]):
                try:
                    found = list(blocks2assets.iter_assets(holder))
                except _BLEND_ERRORS as exc:
                    self.unreadable_blocks[_block_label(holder)] = str(exc)
                    continue
                for usage in found:
                    if hash(usage) not in seen:
                        seen.add(hash(usage))
                        yield usage

    def tips(self) -> list[Tip]:
        tips = []
        if self.unreadable_libraries:
            tips.append(Tip(
                "unreadable_library",
                "warning",
                "Linked libraries that could not be read, so their own inputs are not listed: "
                + "; ".join(f"{name} ({why})" for name, why in self.unreadable_libraries.items()) + ".",
            ))
        if self.unreadable_blocks:
            tips.append(Tip(
                "partly_read",
                "warning",
                "Data blocks whose inputs could not be read: "
                + "; ".join(f"{name} ({why})" for name, why in self.unreadable_blocks.items()) + ".",
            ))
        return tips


def _block_label(block: blendfile.BlendFileBlock) -> str:
    name = BlockUsage.guess_block_name(block).decode("utf-8", "replace")
    return f"{name} in {Path(block.bfile.filepath).name}"


def _add(collector: Collector, resolver: PathResolver, usage: BlockUsage) -> None:
    raw = bytes(usage.asset_path).decode("utf-8", "surrogateescape")
    holder = Path(usage.block.bfile.filepath)
    # "//" is the folder of the file holding the path (a library's own folder for its paths).
    lookup = raw
    if raw.startswith("//"):
        relative = raw[2:].replace("\\", "/")
        lookup = posixpath.normpath(f"{holder.parent.as_posix()}/{relative}")
    folder = usage.is_sequence and Path(lookup).is_dir()
    if usage.is_sequence and not folder:
        lookup = _sequence_pattern(lookup, tiled=_is_tiled(usage.block))
    name = usage.block_name.decode("utf-8", "replace")
    dep = collector.add(
        resolver.for_scene(holder),
        raw,
        kind=_KINDS.get(usage.block.dna_type_name, "file"),
        node=name[2:] if len(name) > 2 else name,
        node_type=usage.block.dna_type_name,
        attr="filepath",
        lookup=lookup,
    )
    if folder:
        collector.dependencies[-1] = _expand_folder(dep)


def _sequence_pattern(path: str, *, tiled: bool) -> str:
    """The pattern for the files of a sequence whose first file (or glob, or folder) is ``path``.

    The last number of the file name becomes ``<UDIM>`` for tiles, ``<f>`` for frames.
    """
    folder, slash, name = path.replace("\\", "/").rpartition("/")
    if "*" in name or re.search(r"<UDIM>|#", name, re.IGNORECASE):
        return path
    token = "<UDIM>" if tiled else "<f>"
    name = re.sub(r"1\d{3}(?=\D*$)" if tiled else r"\d+(?=\D*$)", token, name, count=1)
    return folder + slash + name


def _is_tiled(block: blendfile.BlendFileBlock) -> bool:
    return block.code == b"IM" and block.get(b"source", default=cdefs.IMA_SRC_FILE) == cdefs.IMA_SRC_TILED


def _expand_folder(dep: Dependency) -> Dependency:
    """A cache named by its folder (ocean, fluid, external point caches): the files under it."""
    folder = Path(dep.resolved or "")
    files = tuple(sorted(path.as_posix() for path in folder.rglob("*") if path.is_file()))
    return dataclasses.replace(dep, exists=True, files=files)


def _node_tree_ids(block: blendfile.BlendFileBlock) -> Iterator[blendfile.BlendFileBlock]:
    """Data blocks (images…) that nodes of ``block``'s embedded node tree use.

    For Blender 5 files the tracer looks for a material's tree under the
    compositor's field name, so images used by linked materials would be missed.
    """
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
        try:
            scene = glob.get_pointer(b"curscene")
        except _BLEND_ERRORS:
            continue
        if scene is not None:
            return scene
    scenes = bfile.find_blocks_from_code(b"SC")
    return scenes[0] if scenes else None


def _render_layers(scene: blendfile.BlendFileBlock) -> tuple[RenderLayer, ...]:
    """View layers (2.80+), else the render layers of ``Scene.r.layers`` (2.7x)."""
    if scene.has_field(b"view_layers"):
        return tuple(
            RenderLayer(layer.get(b"name", as_str=True), bool(layer.get(b"flag") & _VIEW_LAYER_RENDER))
            for layer in iterators.listbase(scene.get_pointer((b"view_layers", b"first")))
        )
    layers = list(iterators.listbase(scene.get_pointer((b"r", b"layers", b"first"))))
    single = scene.get((b"r", b"scemode")) & _R_SINGLE_LAYER
    active = scene.get((b"r", b"actlay"))
    return tuple(
        RenderLayer(
            layer.get(b"name", as_str=True),
            not layer.get(b"layflag") & _SCE_LAY_DISABLE and (not single or index == active),
        )
        for index, layer in enumerate(layers)
    )


def _camera(scene: blendfile.BlendFileBlock) -> tuple[str, ...]:
    camera = scene.get_pointer(b"camera")
    name = camera.id_name if camera is not None else None
    return (name.decode("utf-8", "replace")[2:],) if name else ()


def _scene_info(path: Path, bfile: blendfile.BlendFile, settings: _Settings) -> SceneInfo:
    version = bfile.header.version
    modern = version >= 280
    percentage = settings.render("resolution", b"size", 100) or 100
    fps = settings.render("fps", b"frs_sec", 24) / (settings.render("fps", b"frs_sec_base", 1.0) or 1.0)
    imtype = settings.render("image_format", (b"im_format", b"imtype"), 17)
    values: dict[str, Any] = {
        "renderer": settings.render("renderer", b"engine", "BLENDER_EEVEE" if modern else "BLENDER_RENDER", as_str=True),
        "start": settings.render("start", b"sfra", 1),
        "end": settings.render("end", b"efra", 250),
        "by_frame": settings.render("by_frame", b"frame_step", 1),
        "current_frame": settings.render("current_frame", b"cfra", 1),
        "width": settings.render("width", b"xsch", 1920) * percentage // 100,
        "height": settings.render("height", b"ysch", 1080) * percentage // 100,
        "image_prefix": settings.render("image_prefix", b"pic", "/tmp/", as_str=True),
        "cameras": settings.read("cameras", _camera, ()),
        "render_layers": settings.read(
            "render_layers", _render_layers, (RenderLayer("ViewLayer" if modern else "RenderLayer", True),)
        ),
    }
    return SceneInfo(
        scene_type="blender",
        path=str(path),
        software_version=f"{version // 100}.{version % 100}",
        animation=True,
        image_format=_IMAGE_TYPES.get(imtype, str(imtype)),
        time_unit=f"{fps:g}fps",
        fps=fps,
        defaulted=tuple(dict.fromkeys(settings.defaulted)),
        **values,
    )
