"""What .ma and .mb files have in common: one model of a scene, fed by both readers.

Both readers turn their file into the same events (``create_node``,
``set_attr``, ``reference`` …) on a :class:`MayaSceneBuilder`, which keeps only
render settings and the attributes that hold input files, so memory does not
grow with the scene. :class:`MayaAnalyzer` then follows references into the
files they load.
"""
from __future__ import annotations

import os
import re
from collections.abc import Callable, Mapping
from pathlib import Path

from rfarm.analysis import mel
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
from rfarm.analysis.maya_nodes import (
    DEFAULT_NODES,
    DEPENDENCY_ATTRS,
    EDIT_ATTRS,
    IMAGE_FORMATS,
    INPUT_EXTENSIONS,
    NOT_INPUT_ATTRS,
    NOT_INPUT_TYPES,
    PATH_SHAPED,
    SCRIPT_NODES_MAYA_WRITES,
    SEQUENCE_NODE_TYPES,
    SETTINGS,
    time_unit_fps,
)
from rfarm.analysis.paths import PathResolver
from rfarm.errors import AnalysisError

AttrValue = str | float | bool | tuple[str, ...]
Reader = Callable[[Path, "MayaSceneBuilder"], None]

MAX_REFERENCE_DEPTH = 16
_INDEX = re.compile(r"\[[^\]]*\]")

def _major_version(version: str | None) -> int | None:
    match = re.match(r"(\d{4})", version or "")
    return int(match.group(1)) if match else None


class MayaSceneBuilder:
    """Collects what a Maya scene says about rendering and its input files.

    Args:
        path: the scene file.
        resolver: resolves the paths it names.
        collector: receives the dependencies (shared with referenced files).
        namespace: prefix for node names in a referenced file.
    """

    def __init__(
        self, path: Path, resolver: PathResolver, collector: Collector, *, namespace: str = ""
    ) -> None:
        self.path = path
        self.resolver = resolver
        self.collector = collector
        self.namespace = namespace
        self.version: str | None = None
        self.codec = "cp1252"
        self.time_unit: str | None = None
        self.plugins: dict[str, str] = {}
        self.tips: list[Tip] = []
        self.references: list[tuple[Dependency, str]] = []  # (dependency, namespace)
        self._settings: dict[str, dict[str, AttrValue]] = {name: {} for name in SETTINGS}
        self._cameras: dict[str, list[str | bool]] = {}
        self._layers: dict[str, bool] = {}
        self._setup_layers: dict[str, str] = {}
        self._unloaded: set[str] = set()
        self._file_refs: list[tuple[str, str, str]] = []
        self._node_types: dict[str, str] = {}
        self._current: tuple[str, str | None] = ("", None)
        self._pending: dict[str, AttrValue] = {}
        self._script_nodes: list[str] = []

    # Events ------------------------------------------------------------------------

    def requires(self, plugin: str, version: str) -> None:
        if plugin == "maya":
            self.version = self.version or version
        else:
            self.plugins.setdefault(plugin, version.strip())

    def reference(
        self, path: str, *, namespace: str, node: str, depth: int | None, deferred: bool
    ) -> None:
        """A ``file -r`` line (``depth`` None) or a ``file -rdi`` depth-info line."""
        if depth is None:
            self._file_refs.append((path, namespace, node))
        elif depth == 1 and deferred:
            self._unloaded.add(node)

    def create_node(self, node_type: str, name: str, parent: str | None) -> None:
        self._flush()
        self._current = (name, node_type)
        if node_type == "camera":
            self._cameras[name] = [parent or name, True]
        elif node_type == "renderLayer":
            self._layers[name] = True
        elif node_type == "renderSetupLayer":
            self._setup_layers[name] = ""
        elif node_type == "script" and name not in SCRIPT_NODES_MAYA_WRITES:
            self._script_nodes.append(name)
        if node_type in DEPENDENCY_ATTRS or node_type in ("camera", "renderLayer", "reference"):
            self._node_types[name] = node_type

    def select(self, name: str) -> None:
        self._flush()
        name = name.lstrip(":")
        self._current = (name, self._node_types.get(name) or DEFAULT_NODES.get(name))

    @property
    def current_name(self) -> str:
        return self._current[0]

    def wants_attributes(self) -> bool:
        """Whether any attribute of the current node can matter."""
        name, node_type = self._current
        return name in SETTINGS or name in self._node_types or node_type in DEPENDENCY_ATTRS

    def wants_strings(self) -> bool:
        """Whether a string attribute of the current node could name an input file."""
        return self._current[1] not in NOT_INPUT_TYPES

    def set_attr(self, attr: str, value: AttrValue) -> None:
        """Set ``.attr`` on the current node, or ``node.attr`` on a named one."""
        if attr.startswith("."):
            name, node_type = self._current
            attr = attr[1:]
        else:
            name, _, attr = attr.lstrip(":").partition(".")
            node_type = self._node_types.get(name) or DEFAULT_NODES.get(name)
            if (name, node_type) != self._current:
                self._apply(name, node_type, attr, value, pending=False)
                return
        self._apply(name, node_type, attr, value, pending=True)

    def connect(self, source: str, destination: str) -> None:
        """Render Setup links each layer to its legacy layer: ``rs_x.msg -> x.lrl``."""
        src_node, _, src_attr = source.lstrip(":").partition(".")
        dst_node, _, dst_attr = destination.lstrip(":").partition(".")
        if dst_attr == "lrl" and src_attr == "msg" and dst_node in self._setup_layers:
            self._setup_layers[dst_node] = src_node

    def edited_path(self, node: str, attr: str, value: str) -> None:
        """A reference edit that sets ``node.attr`` (long name) to a path."""
        node_type, kind = EDIT_ATTRS[attr]
        self._add(value, kind=kind, node=node, node_type=node_type, attr=attr)

    def tip(self, code: str, level: str, message: str) -> None:
        self.tips.append(Tip(code, level, message))  # type: ignore[arg-type]

    # Attribute handling -------------------------------------------------------------

    def _apply(
        self, name: str, node_type: str | None, attr: str, value: AttrValue, *, pending: bool
    ) -> None:
        leaf = _INDEX.sub("", attr.rpartition(".")[2])
        aliases = SETTINGS.get(name)
        if aliases is not None and leaf in aliases:
            self._settings[name][aliases[leaf]] = value
        if node_type == "camera" and leaf in ("rnd", "renderable") and name in self._cameras:
            self._cameras[name][1] = bool(value)
        elif node_type == "renderLayer" and leaf in ("rndr", "renderable"):
            self._layers[name] = bool(value)
        table = DEPENDENCY_ATTRS.get(node_type or "")
        if table is None:
            if isinstance(value, str) and self._looks_like_input(node_type, leaf, value):
                self._add(value, kind="unclassified", node=name, node_type=node_type or "", attr=attr)
        elif pending:
            self._pending[attr] = value
        elif leaf in table:
            self._emit(name, node_type or "", {attr: value})

    def _looks_like_input(self, node_type: str | None, attr: str, value: str) -> bool:
        """A path with an input file's extension on a node type the table does not know.

        Labels, patterns, search paths and the scene's own name are not inputs.
        """
        if node_type in NOT_INPUT_TYPES or attr in NOT_INPUT_ATTRS or "\n" in value or len(value) > 4096:
            return False
        if not PATH_SHAPED.search(value) or not INPUT_EXTENSIONS.search(value):
            return False
        return value.replace("\\", "/").rpartition("/")[2] != self.path.name

    def _flush(self) -> None:
        name, node_type = self._current
        if self._pending and node_type is not None:
            self._emit(name, node_type, self._pending)
        self._pending = {}

    def _emit(self, name: str, node_type: str, attrs: Mapping[str, AttrValue]) -> None:
        """Add the dependencies of one node from its attributes."""
        table = DEPENDENCY_ATTRS[node_type]
        leaves = {_INDEX.sub("", attr.rpartition(".")[2]): value for attr, value in attrs.items()}
        for attr, value in attrs.items():
            leaf = _INDEX.sub("", attr.rpartition(".")[2])
            kind = table.get(leaf)
            if kind is None:
                continue
            values = value if isinstance(value, tuple) else (value,)
            for index, item in enumerate(values):
                if not isinstance(item, str) or not item or item.startswith("<MAYA_"):
                    continue
                label = f"{attr}[{index}]" if isinstance(value, tuple) else attr
                if node_type == "assemblyDefinition" and not _is_representation_file(attr, item, attrs):
                    continue
                if node_type == "cacheFile":
                    item = self._cache_file_path(item, leaves)
                lookup = _sequence_lookup(item, leaves) if node_type in SEQUENCE_NODE_TYPES else None
                self._add(item, kind=kind, node=name, node_type=node_type, attr=label, lookup=lookup)

    @staticmethod
    def _cache_file_path(cache_path: str, leaves: Mapping[str, AttrValue]) -> str:
        name = leaves.get("cn") or leaves.get("cacheName")
        return f"{cache_path.rstrip('/')}/{name}.xml" if isinstance(name, str) and name else cache_path

    def _add(
        self, path: str, *, kind: str, node: str, node_type: str, attr: str, lookup: str | None = None
    ) -> Dependency:
        node = f"{self.namespace}:{node}" if self.namespace else node
        return self.collector.add(
            self.resolver, path, kind=kind, node=node, node_type=node_type, attr=attr, lookup=lookup
        )

    # Results ----------------------------------------------------------------------

    def finish(self) -> None:
        """Flush the last node and add the loaded references as dependencies."""
        self._flush()
        for path, namespace, node in self._file_refs:
            if node in self._unloaded:
                self.tip(
                    "unloaded_reference",
                    "info",
                    f"Reference {node} ({path}) is unloaded in the scene, so a render does not load it.",
                )
                continue
            dep = self._add(path, kind="reference", node=node or namespace, node_type="reference", attr="")
            self.references.append((dep, namespace))
        if self._script_nodes:
            self.tip(
                "script_nodes",
                "info",
                "Script nodes run code when the scene opens; their effect is not analysed: "
                + ", ".join(self._script_nodes[:5]),
            )

    def scene_info(self, scene_type: str) -> SceneInfo:
        """The render settings, Maya's defaults for those the file does not write."""
        rg = self._settings["defaultRenderGlobals"]
        res = self._settings["defaultResolution"]
        defaulted: list[str] = []

        def pick(values: Mapping[str, AttrValue], attr: str, key: str, default: AttrValue) -> AttrValue:
            if attr in values:
                return values[attr]
            defaulted.append(key)
            return default

        old_default = (_major_version(self.version) or 9999) < 2016
        renderer = str(pick(rg, "ren", "renderer", "mayaSoftware"))
        start = float(pick(rg, "fs", "start", 1.0))  # type: ignore[arg-type]
        end = float(pick(rg, "ef", "end", 10.0))  # type: ignore[arg-type]
        by_frame = float(pick(rg, "bfs", "by_frame", 1.0))  # type: ignore[arg-type]
        animation = bool(pick(rg, "an", "animation", False))
        width = int(pick(res, "w", "width", 640 if old_default else 960))  # type: ignore[arg-type]
        height = int(pick(res, "h", "height", 480 if old_default else 540))  # type: ignore[arg-type]
        current = float(pick(self._settings["time1"], "o", "current_frame", 1.0))  # type: ignore[arg-type]
        prefix = str(pick(rg, "ifp", "image_prefix", ""))
        vray = self._settings["vraySettings"]
        if renderer.lower().startswith("vray") and vray.get("fnprx"):
            prefix = str(vray["fnprx"])
        image_format = self._image_format(renderer, rg, defaulted)
        time_unit = self.time_unit
        if time_unit is None:
            defaulted.append("time_unit")
            time_unit = "film"
        layers = self._render_layers()
        if not self._layers:
            defaulted.append("render_layers")
        cameras = tuple(str(parent) for parent, renderable in self._cameras.values() if renderable)
        return SceneInfo(
            scene_type=scene_type,
            path=str(self.path),
            software_version=self.version,
            renderer=renderer,
            start=start,
            end=end,
            by_frame=by_frame,
            animation=animation,
            current_frame=current,
            width=width,
            height=height,
            image_prefix=prefix,
            image_format=image_format,
            cameras=cameras,
            render_layers=layers,
            time_unit=time_unit,
            fps=time_unit_fps(time_unit),
            plugins=tuple(self.plugins.items()),
            defaulted=tuple(defaulted),
        )

    def _image_format(self, renderer: str, rg: Mapping[str, AttrValue], defaulted: list[str]) -> str:
        """Arnold and V-Ray write images in their own format setting when the file sets it."""
        driver = self._settings["defaultArnoldDriver"].get("ai_translator")
        if renderer == "arnold" and isinstance(driver, str) and driver:
            return driver
        vray = self._settings["vraySettings"].get("imgfs")
        if renderer.lower().startswith("vray") and isinstance(vray, str) and vray:
            return vray
        key = rg.get("imfkey")
        outf = rg.get("outf")
        plugin_format = outf is None or int(outf) in (50, 51)  # type: ignore[arg-type]
        if isinstance(key, str) and key and plugin_format:
            return key
        if outf is None:
            defaulted.append("image_format")
            return "iff"
        return IMAGE_FORMATS.get(int(outf), str(int(outf)))  # type: ignore[arg-type]

    def _render_layers(self) -> tuple[RenderLayer, ...]:
        if not self._layers:
            return (RenderLayer("defaultRenderLayer", True),)
        owners = {legacy: setup for setup, legacy in self._setup_layers.items() if legacy}
        return tuple(
            RenderLayer(name, renderable, owners.get(name)) for name, renderable in self._layers.items()
        )

    def render_tips(self, info: SceneInfo) -> list[Tip]:
        """Why the scene cannot render as it stands, and what a render will do."""
        tips = render_tips(info)
        if not info.animation:
            tips.append(
                Tip(
                    "animation_off",
                    "info",
                    "Animation is off in the render settings: a batch render renders only the "
                    f"current frame ({info.current_frame:g}) unless frames are given.",
                )
            )
        return tips


def _is_representation_file(attr: str, value: str, attrs: Mapping[str, AttrValue]) -> bool:
    """A representation's data is a file unless it is a Locator's annotation text."""
    kind = attrs.get(attr.replace("representationData", "representationType").replace("rda", "rty"))
    return kind != "Locator" if kind is not None else bool(PATH_SHAPED.search(value))


def _sequence_lookup(path: str, leaves: Mapping[str, AttrValue]) -> str | None:
    """The tile/frame pattern a file or image-plane node reads for ``path``.

    UV tiling mode 1/2 reads ``u1_v1``-style tiles and 3 reads UDIM numbers from
    the name; use-frame-extension reads the last number as the frame.
    """
    folder, slash, name = path.replace("\\", "/").rpartition("/")
    tiling = leaves.get("uvt", leaves.get("uvTilingMode", 0))
    frames = leaves.get("ufe", leaves.get("useFrameExtension", False))
    new = name
    if tiling in (1, 2, 1.0, 2.0):
        new = re.sub(r"u\d+_v\d+", "<UVTILE>", new)
    elif tiling in (3, 3.0):
        new = re.sub(r"(?<!\d)1\d{3}(?!\d)", "<UDIM>", new, count=1)
    if frames is True or frames == 1:
        new = re.sub(r"\d+(?=\D*$)", "<f>", new, count=1)
    return f"{folder}{slash}{new}" if new != name else None


class MayaAnalyzer:
    """Analyses .ma and .mb scenes, following the references they load.

    Args:
        readers: file suffix -> function that feeds a file to a builder.
    """

    def __init__(self, readers: Mapping[str, Reader]) -> None:
        self._readers = dict(readers)

    def analyze(self, path: Path, resolver: PathResolver) -> AnalysisResult:
        collector = Collector()
        builder = MayaSceneBuilder(path, resolver, collector)
        self._read(path, builder)
        tips = list(builder.tips)
        seen = {os.path.realpath(path)}
        self._follow(builder, collector, seen, tips, depth=1)
        info = builder.scene_info("maya")
        tips += builder.render_tips(info) + collector.tips()
        return AnalysisResult(info, tuple(collector.dependencies), sort_tips(tips))

    def _read(self, path: Path, builder: MayaSceneBuilder) -> None:
        reader = self._readers.get(path.suffix.lower())
        if reader is None:
            raise AnalysisError(f"{path} is not a Maya scene (.ma or .mb).")
        reader(path, builder)
        builder.finish()

    def _follow(
        self, parent: MayaSceneBuilder, collector: Collector, seen: set[str], tips: list[Tip], *, depth: int
    ) -> None:
        """Read the files ``parent`` references (each once) for their own dependencies."""
        for dep, namespace in parent.references:
            if not dep.files:
                continue
            child_path = Path(dep.files[0])
            real = os.path.realpath(child_path)
            if real in seen or child_path.suffix.lower() not in self._readers:
                continue
            if depth > MAX_REFERENCE_DEPTH:
                tips.append(
                    Tip(
                        "reference_depth",
                        "warning",
                        f"References nest deeper than {MAX_REFERENCE_DEPTH} levels; the files "
                        f"{parent.path} references were not read.",
                    )
                )
                return
            seen.add(real)
            prefix = ":".join(part for part in (parent.namespace, namespace.strip(":")) if part)
            child = MayaSceneBuilder(
                child_path, parent.resolver.for_scene(child_path), collector, namespace=prefix
            )
            try:
                self._read(child_path, child)
            except AnalysisError as exc:
                tips.append(Tip("unreadable_reference", "warning", f"Referenced file not read: {exc}"))
                continue
            tips.extend(child.tips)
            self._follow(child, collector, seen, tips, depth=depth + 1)


def decode(raw: bytes, codec: str = "cp1252") -> str:
    """Scene strings: UTF-8 when valid, else the code page the file declares."""
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError:
        return raw.decode(codec, "replace")


def parse_edits(builder: MayaSceneBuilder, tokens: list[mel.Token]) -> None:
    """Find ``2 "node" "longAttr" " -type \\"string\\" \\"path\\""`` path edits in an ``.ed`` value."""
    for i in range(len(tokens) - 3):
        if tokens[i] != (mel.WORD, b"2") or tokens[i + 2][0] != mel.STRING:
            continue
        attr = tokens[i + 2][1].decode("ascii", "replace")
        if attr not in EDIT_ATTRS or tokens[i + 1][0] != mel.STRING or tokens[i + 3][0] != mel.STRING:
            continue
        inner = mel.tokenize(tokens[i + 3][1])
        strings = [value for kind, value in inner if kind == mel.STRING]
        if len(strings) >= 2 and strings[0] == b"string" and strings[1]:
            node = decode(tokens[i + 1][1], builder.codec)
            builder.edited_path(node, attr, decode(strings[1], builder.codec))
