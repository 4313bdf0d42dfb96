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
from dataclasses import dataclass
from pathlib import Path

from rfarm.analysis import mel
from rfarm.analysis.base import (
    AnalysisResult,
    Collector,
    Dependency,
    reference_key,
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
from rfarm.analysis.render_setup import NODE_TYPES as RENDER_SETUP_TYPES
from rfarm.analysis.render_setup import RenderSetup
from rfarm.errors import AnalysisError

AttrValue = str | float | bool | tuple[str, ...]
Reader = Callable[[Path, "MayaSceneBuilder"], None]

MAX_REFERENCE_DEPTH = 16
_INDEX = re.compile(r"\[[^\]]*\]")
_TRACKED_TYPES = frozenset({"camera", "renderLayer", "reference", *RENDER_SETUP_TYPES})

@dataclass(frozen=True, slots=True)
class DepthInfo:
    """One ``file -rdi`` line: a reference of the tree below the file that writes it."""

    depth: int
    path: str
    namespace: str
    node: str
    deferred: bool


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
        depth: how many references away from the scene this file is (0: the scene).
        unloaded: the reference nodes (full names) the scene marks unloaded,
            shared by every file of the tree.
    """

    def __init__(
        self,
        path: Path,
        resolver: PathResolver,
        collector: Collector,
        *,
        namespace: str = "",
        depth: int = 0,
        unloaded: set[str] | None = None,
    ) -> None:
        self.path = path
        self.resolver = resolver
        self.collector = collector
        self.namespace = namespace
        self.depth = depth
        self.source = str(resolver.scene) if depth == 0 else str(path)
        self.unloaded = set() if unloaded is None else unloaded
        self.depth_info: list[DepthInfo] = []
        self.version: str | None = None
        self.codec = "cp1252"
        self.time_unit: str | None = None
        self.plugins: dict[str, str] = {}
        self.tips: list[Tip] = []
        self.references: list[tuple[Dependency, str]] = []  # (reference, namespace)
        self._settings: dict[str, dict[str, AttrValue]] = {name: {} for name in SETTINGS}
        self._cameras: dict[str, list[str | bool]] = {}
        self._layers: dict[str, bool] = {}
        self._setup_layers: dict[str, str] = {}
        self.render_setup = RenderSetup()
        self._file_refs: list[tuple[str, str, str]] = []
        self._node_types: dict[str, str] = {}
        self._current: tuple[str, str | None] = ("", None)
        self._pending: dict[str, AttrValue] = {}
        self._script_nodes: list[str] = []
        self.unknown_paths: list[str] = []

    # Events ------------------------------------------------------------------------

    def requires(self, plugin: str, version: str) -> None:
        if plugin == "maya":
            self.version = self.version or version
        else:
            self.plugins.setdefault(plugin, version.strip())

    def reference(
        self, path: str, *, namespace: str, node: str, depth: int | None, deferred: bool
    ) -> None:
        """A ``file -r`` line (``depth`` None) or a ``file -rdi`` depth-info line.

        The ``-rdi`` lines list this file's whole reference tree, depth first;
        ``-dr 1`` on one marks that reference unloaded.
        """
        if depth is None:
            self._file_refs.append((path, namespace, node))
            return
        self.depth_info.append(DepthInfo(depth, path, namespace, self.full_name(node), deferred))
        if deferred:
            self.unloaded.add(self.full_name(node))

    def full_name(self, node: str) -> str:
        """A node's name as the scene sees it, under this file's namespace."""
        return f"{self.namespace}:{node}" if self.namespace and node else node

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
        self.render_setup.create_node(node_type, name)
        if node_type in DEPENDENCY_ATTRS or node_type in _TRACKED_TYPES:
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
        return (
            name in SETTINGS
            or name in self._node_types
            or node_type in DEPENDENCY_ATTRS
            or node_type == "colorManagementGlobals"
        )

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
        self.render_setup.connect(src_node, src_attr, dst_node, dst_attr)

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
        elif node_type in RENDER_SETUP_TYPES:
            self.render_setup.set_attr(name, leaf, value)
        if node_type == "colorManagementGlobals" and leaf in ("cfp", "configFilePath") and isinstance(value, str):
            if value and not value.startswith("<MAYA_"):
                self.tip(
                    "ocio_config",
                    "info",
                    f"The scene's colour management reads the OCIO config {value}: configuration, not sent, "
                    "so render nodes need it at that path (or through path mapping).",
                )
        table = DEPENDENCY_ATTRS.get(node_type or "")
        if table is None:
            self._note_unknown_path(name, node_type, leaf, attr, value)
        elif pending:
            self._pending[attr] = value
        elif leaf in table:
            self._emit(name, node_type or "", {attr: value})

    def _note_unknown_path(self, name: str, node_type: str | None, leaf: str, attr: str, value: AttrValue) -> None:
        """Remember a string that looks like an input file on an attribute the table does not know.

        It is not sent (the table decides what is an input); a tip names it.
        Labels, patterns, settings nodes and the scene's own name do not count.
        """
        if not isinstance(value, str) or node_type in NOT_INPUT_TYPES or leaf in NOT_INPUT_ATTRS:
            return
        if "\n" in value or len(value) > 4096 or not PATH_SHAPED.search(value) or not INPUT_EXTENSIONS.search(value):
            return
        if value.replace("\\", "/").rpartition("/")[2] != self.path.name:
            self.unknown_paths.append(f"{self.full_name(name)}.{attr} = {value}")

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
                self._note_unknown_path(name, node_type, leaf, attr, value)
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
    ) -> tuple[Dependency, bool]:
        return self.collector.add(
            self.resolver,
            path,
            kind=kind,
            node=self.full_name(node),
            node_type=node_type,
            attr=attr,
            lookup=lookup,
            source=self.source,
            depth=self.depth + (kind == "reference"),
        )

    # Results ----------------------------------------------------------------------

    def finish(self) -> None:
        """Flush the last node and add the loaded references as dependencies."""
        self._flush()
        for path, namespace, node in self._file_refs:
            if self.full_name(node) in self.unloaded:
                self.tip(
                    "unloaded_reference",
                    "info",
                    f"Reference {self.full_name(node)} ({path}) is unloaded in the scene, so a render "
                    "does not load it.",
                )
                continue
            dep, _ = self._add(path, kind="reference", node=node or namespace, node_type="reference", attr="")
            self.references.append((dep, namespace))
        if self.unknown_paths:
            shown = "; ".join(self.unknown_paths[:5])
            more = f" and {len(self.unknown_paths) - 5} more" if len(self.unknown_paths) > 5 else ""
            self.tip(
                "unknown_path_attribute",
                "info",
                f"Strings that look like files on attributes not known to hold inputs, so not sent: {shown}{more}. "
                "If the render needs them, add them to the project or path mapping.",
            )
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
        scene_settings = {"start": start, "end": end, "by_frame": by_frame, "width": width, "height": height}
        layers = self._render_layers(scene_settings)
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

    def _render_layers(self, settings: Mapping[str, float]) -> tuple[RenderLayer, ...]:
        """Each layer, with the Render Setup overrides its own settings differ by."""
        if not self._layers:
            return (RenderLayer("defaultRenderLayer", True),)
        owners = {legacy: setup for setup, legacy in self._setup_layers.items() if legacy}
        cameras = {shape: (str(parent), bool(flag)) for shape, (parent, flag) in self._cameras.items()}
        layers = []
        for name, renderable in self._layers.items():
            setup = owners.get(name)
            overrides = self.render_setup.overrides(setup, settings, cameras) if setup else ()
            layers.append(RenderLayer(name, renderable, setup, overrides))
        return tuple(layers)

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
    """Analyses .ma and .mb scenes and every file of their reference tree.

    Args:
        readers: file suffix -> function that feeds a file to a builder.
    """

    def __init__(self, readers: Mapping[str, Reader]) -> None:
        self._readers = dict(readers)

    def analyze(self, path: Path, resolver: PathResolver) -> AnalysisResult:
        collector = Collector()
        builder = MayaSceneBuilder(path, resolver, collector)
        self.read(path, builder)
        tree = _ReferenceTree(self, builder, collector)
        tree.walk()
        info = builder.scene_info("maya")
        tips = tree.tips + builder.render_tips(info) + collector.tips()
        scene = os.path.realpath(path)
        dependencies = [
            dep for dep in collector.dependencies if dep.kind != "reference" or reference_key(dep) != scene
        ]
        return AnalysisResult(info, tuple(dependencies), sort_tips(tips))

    def can_read(self, path: Path) -> bool:
        return path.suffix.lower() in self._readers

    def read(self, path: Path, builder: MayaSceneBuilder) -> None:
        """Feed one file to ``builder`` and finish it."""
        reader = self._readers.get(path.suffix.lower())
        if reader is None:
            raise AnalysisError(f"{path} is not a Maya scene (.ma or .mb).")
        reader(path, builder)
        builder.finish()


class _ReferenceTree:
    """Reads each file of a scene's reference tree once, depth first.

    A file's own ``file -r`` lines lead to the files it loads; afterwards the
    ``file -rdi`` lines of every file read add the nested references whose
    referencing file is absent, so they are listed all the same (and read
    when present).
    """

    def __init__(self, analyzer: MayaAnalyzer, top: MayaSceneBuilder, collector: Collector) -> None:
        self.analyzer = analyzer
        self.collector = collector
        self.tips: list[Tip] = list(top.tips)
        self.builders = [top]
        self.read = {os.path.realpath(top.path)}
        # reference (reference_key) -> the files that lead to it, the scene first
        self.chains: dict[str, tuple[str, ...]] = {}
        # file read (its source) -> the files from the scene to it
        self.file_chains: dict[str, tuple[str, ...]] = {top.source: (top.source,)}

    def walk(self) -> None:
        top = self.builders[0]
        self._follow(top, top.references, (top.source,))
        index = 0
        while index < len(self.builders):
            self._depth_info(self.builders[index])
            index += 1
        self._missing_tip()

    def _follow(
        self, parent: MayaSceneBuilder, references: list[tuple[Dependency, str]], chain: tuple[str, ...]
    ) -> None:
        """Read the files ``references`` load (each once), then the files they load.

        ``chain`` is the files from the scene to the one that names ``references``.
        """
        above = {os.path.realpath(path) for path in chain}
        for dep, namespace in references:
            self.chains.setdefault(reference_key(dep), chain)
            if not dep.files:
                continue
            child_path = Path(dep.files[0])
            real = os.path.realpath(child_path)
            if real in above:
                names = " > ".join(Path(p).name for p in (*chain, dep.files[0]))
                self.tips.append(
                    Tip("reference_loop", "warning",
                        f"A reference loops back to a file above it ({names}); Maya does not load it again.")
                )
                continue
            if real in self.read or not self.analyzer.can_read(child_path):
                continue
            if dep.depth > MAX_REFERENCE_DEPTH:
                self.tips.append(
                    Tip("reference_depth", "warning",
                        f"References nest deeper than {MAX_REFERENCE_DEPTH} levels; {dep.path} was not read.")
                )
                continue
            self.read.add(real)
            prefix = ":".join(part for part in (parent.namespace, namespace.strip(":")) if part)
            child = MayaSceneBuilder(
                child_path,
                parent.resolver.for_scene(child_path),
                self.collector,
                namespace=prefix,
                depth=dep.depth,
                unloaded=parent.unloaded,
            )
            try:
                self.analyzer.read(child_path, child)
            except AnalysisError as exc:
                self.tips.append(Tip("unreadable_reference", "warning", f"Referenced file not read: {exc}"))
                continue
            self.tips.extend(child.tips)
            self.builders.append(child)
            self.file_chains[child.source] = (*chain, child.source)
            self._follow(child, child.references, self.file_chains[child.source])

    def _depth_info(self, builder: MayaSceneBuilder) -> None:
        """List the nested references a file's ``-rdi`` lines name that no file read has listed.

        The lines come depth first, so a line's referencing file is the last
        line before it one level up (the file itself for depth 1).
        """
        chain = self.file_chains[builder.source]
        parents: list[str] = [builder.source]  # parents[d]: the file at relative depth d
        skip_below: int | None = None
        for info in builder.depth_info:
            if info.depth < 1 or info.depth > len(parents):
                continue  # a line out of order: no known referencing file
            del parents[info.depth :]
            if skip_below is not None and info.depth > skip_below:
                parents.append(info.path)
                continue
            skip_below = info.depth if info.deferred else None
            if info.deferred:
                parents.append(info.path)
                continue
            referencing = Path(parents[-1])
            resolver = builder.resolver.for_scene(referencing) if referencing.is_file() else builder.resolver
            dep, is_new = self.collector.add(
                resolver,
                info.path,
                kind="reference",
                node=info.node,
                node_type="reference",
                attr="",
                source=builder.source,
                via=parents[-1],
                depth=builder.depth + info.depth,
            )
            parents.append(dep.files[0] if dep.files else dep.resolved or info.path)
            if is_new:
                path_chain = (*chain, *parents[1:-1])
                ns_of_node = info.node.rpartition(":")[0]
                namespace = ":".join(part for part in (ns_of_node, info.namespace.strip(":")) if part)
                self._follow(builder, [(dep, namespace)], path_chain)

    def _missing_tip(self) -> None:
        missing = [dep for dep in self.collector.dependencies if dep.kind == "reference" and not dep.exists]
        if not missing:
            return
        lines = []
        for dep in missing[:5]:
            chain = self.chains.get(reference_key(dep), (dep.via,))
            lines.append(f"{dep.path} (needed by {' > '.join(chain)})")
        more = f" and {len(missing) - 5} more" if len(missing) > 5 else ""
        self.tips.append(
            Tip("missing_reference", "warning",
                f"{len(missing)} referenced file(s) not found: " + "; ".join(lines) + more + ".")
        )


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
