"""Maya binary (.mb) reader: walks the IFF chunks into a :class:`MayaSceneBuilder`.

FOR4 files (Maya 2013 and older) have 8-byte chunk headers and 4-byte
alignment; FOR8 files have a tag, 4 ignored bytes and a 64-bit size, and 8-byte
alignment. A data chunk's padding counts from its payload start; a group's size
already includes its children's padding. Time attributes are integer ticks.
"""
from __future__ import annotations

import mmap
import struct
from collections.abc import Mapping
from pathlib import Path

from rfarm.analysis.maya_nodes import TIME_ATTRS, time_unit_fps
from rfarm.analysis.maya_scene import MayaSceneBuilder, decode
from rfarm.errors import AnalysisError

_GROUPS = frozenset({b"FOR4", b"LIS4", b"CAT4", b"PRO4", b"FOR8", b"LIS8", b"CAT8", b"PRO8"})

# Node types Maya stores as four characters; plugin types have numeric ids.
_FOURCC_TYPES: Mapping[bytes, str] = {
    b"XFRM": "transform", b"DCAM": "camera", b"RTFT": "file", b"REFN": "reference",
    b"RGLB": "renderGlobals", b"RLTN": "resolution", b"RNDL": "renderLayer",
    b"RNLM": "renderLayerManager", b"AUDI": "audio", b"DIPL": "imagePlane", b"CCHF": "cacheFile",
    b"DSKC": "diskCache", b"PSDT": "psdFileTex", b"RTMV": "movie", b"BRSH": "brush",
    b"SCRP": "script", b"TIME": "time",
}
_NUMERIC_TYPES: Mapping[int, str] = {
    0x580000C4: "gpuCache", 0x00082697: "AlembicNode", 0x58000371: "renderSetup",
    0x58000372: "renderSetupLayer", 0x58000373: "collection", 0x580000B1: "assemblyReference",
    0x58000305: "xgmPalette", 0x00115C00: "aiOptions", 0x00115C01: "aiStandIn",
    0x00115C03: "aiAOVDriver", 0x00115C05: "aiVolume", 0x00115D17: "aiImage",
    0x00115C87: "aiPhotometricLight",
}
_UUID_SINCE = 2016
_ATTRIBUTE_TAGS = frozenset({b"STR ", b"STR#", b"DBLE"})
_EVENT_TAGS = frozenset({b"VERS", b"TUNI", b"TDUR", b"PLUG", b"CREA", b"SLCT", b"FREF", b"FRDI", b"CWFL"})
_CONTROL = bytes(range(32))


def read_scene(path: Path, builder: MayaSceneBuilder) -> None:
    """Feed the .mb file at ``path`` to ``builder``.

    Raises:
        AnalysisError: the file cannot be read or is not a Maya binary scene.
    """
    try:
        with path.open("rb") as stream:
            head = stream.read(24)
            if len(head) < 12 or head[:4] not in (b"FOR4", b"FOR8"):
                raise AnalysisError(
                    f"{path} is not a Maya binary scene: it starts with neither FOR4 nor FOR8."
                )
            with mmap.mmap(stream.fileno(), 0, access=mmap.ACCESS_READ) as data:
                _Walker(data, builder, wide=head[:4] == b"FOR8").walk(path)
    except OSError as exc:
        raise AnalysisError(f"Cannot read {path}: {exc.strerror or exc}.") from exc


class _Walker:
    def __init__(self, data: mmap.mmap, builder: MayaSceneBuilder, *, wide: bool) -> None:
        self.data = data
        self.builder = builder
        self.header = 16 if wide else 8
        self.align = 8 if wide else 4
        self.ticks_per_second = 6000.0
        self.plugin_types: dict[int, str] = {}
        self.node_type: str | None = None

    def _chunk(self, pos: int) -> tuple[bytes, int, int]:
        """Tag, payload start and payload size of the chunk at ``pos``."""
        tag = self.data[pos : pos + 4]
        if self.header == 16:
            (size,) = struct.unpack_from(">Q", self.data, pos + 8)
        else:
            (size,) = struct.unpack_from(">I", self.data, pos + 4)
        return tag, pos + self.header, size

    def walk(self, path: Path) -> None:
        if len(self.data) < self.header + 4:
            raise AnalysisError(f"{path} is not a Maya binary scene: it is too short.")
        tag, start, size = self._chunk(0)
        if self.data[start : start + 4] != b"Maya":
            raise AnalysisError(f"{path} is not a Maya binary scene: its IFF form is not 'Maya'.")
        end = min(start + size, len(self.data))
        if start + size > len(self.data):
            self._truncated()
        # Each entry: (position, end of the enclosing group, form type of that group).
        stack: list[tuple[int, int, bytes]] = [(start + 4, end, b"Maya")]
        while stack:
            pos, group_end, form = stack.pop()
            if pos + self.header > group_end:
                continue
            tag, payload, size = self._chunk(pos)
            if payload + size > group_end:
                self._truncated()
                continue
            if tag in _GROUPS:
                child_form = self.data[payload : payload + 4]
                stack.append((payload + size, group_end, form))
                if form == b"Maya" and tag[:3] == b"FOR":
                    self.builder.select("")
                    self.node_type = self._type_of(child_form)
                stack.append((payload + 4, payload + size, child_form))
            else:
                padded = size + (-size % self.align)
                stack.append((payload + padded, group_end, form))
                if self._wants(tag):
                    self._data_chunk(tag, self.data[payload : payload + size])

    def _truncated(self) -> None:
        self.builder.tip(
            "truncated",
            "warning",
            "A chunk runs past the end of the file; it may be truncated, so the result may be partial.",
        )

    def _wants(self, tag: bytes) -> bool:
        """Whether a data chunk can matter; mesh data and the like are never copied."""
        if tag in _ATTRIBUTE_TAGS:
            builder = self.builder
            return builder.wants_attributes() or (tag != b"DBLE" and builder.wants_strings())
        return tag in _EVENT_TAGS

    def _type_of(self, form: bytes) -> str | None:
        if form in _FOURCC_TYPES:
            return _FOURCC_TYPES[form]
        number = int.from_bytes(form, "big")
        return self.plugin_types.get(number) or _NUMERIC_TYPES.get(number)

    def _data_chunk(self, tag: bytes, payload: bytes) -> None:
        builder = self.builder
        if tag == b"VERS":
            builder.version = decode(payload.rstrip(b"\0"))
        elif tag == b"TUNI":
            builder.time_unit = decode(payload.rstrip(b"\0"))
        elif tag == b"TDUR":
            try:
                self.ticks_per_second = float(payload.rstrip(b"\0"))
            except ValueError:
                pass
        elif tag == b"PLUG":
            self._plugin(payload)
        elif tag == b"CREA":
            self._create(payload)
        elif tag == b"SLCT":
            name = decode(payload.rstrip(b"\0"))
            builder.select(name)
        elif tag == b"FREF":
            self._reference(payload)
        elif tag == b"FRDI":
            self._depth_info(payload)
        elif tag == b"CWFL":
            plugs = payload[1:].split(b"\0")
            if len(plugs) >= 2:
                builder.connect(decode(plugs[0]), decode(plugs[1]))
        elif tag in _ATTRIBUTE_TAGS:
            self._attribute(tag, payload)

    def _plugin(self, payload: bytes) -> None:
        """``name\\0 version\\0 [requires flags\\0]`` then ``type\\0 u32 id`` pairs."""
        fields = payload.split(b"\0", 2)
        if len(fields) < 2:
            return
        self.builder.requires(decode(fields[0]), decode(fields[1]))
        rest = fields[2] if len(fields) > 2 else b""
        if rest.lstrip().startswith(b"-"):
            rest = rest.partition(b"\0")[2]
        while rest:
            name, nul, tail = rest.partition(b"\0")
            if not nul or len(tail) < 4 or not name.isascii() or not name.isalnum():
                break
            self.plugin_types[int.from_bytes(tail[:4], "big")] = name.decode("ascii")
            rest = tail[4:]

    def _create(self, payload: bytes) -> None:
        """``flags u8, name\\0, [parent\\0], [uuid 16 bytes]``."""
        body = payload[1:]
        version = self.builder.version or ""
        if version[:4].isdigit() and int(version[:4]) >= _UUID_SINCE and len(body) > 16:
            body = body[:-16]
        fields = body.split(b"\0")
        name = decode(fields[0])
        parent = decode(fields[1]) if len(fields) > 1 and fields[1] else None
        self.builder.create_node(self.node_type or "", name, parent)

    def _reference(self, payload: bytes) -> None:
        """``path\\0 namespace\\0 … referenceNode\\0 options\\0 type\\0``; control bytes stripped."""
        fields = [field.lstrip(bytes(range(32))).strip() for field in payload.split(b"\0")]
        if len(fields) < 2 or not fields[0]:
            return
        node = next((field for field in fields[2:] if field.endswith(b"RN")), fields[1])
        self.builder.reference(
            decode(fields[0]), namespace=decode(fields[1]), node=decode(node), depth=None, deferred=False
        )

    def _depth_info(self, payload: bytes) -> None:
        """A nested reference of this file's tree, as ``file -rdi`` lines give it in a .ma.

        ``control bytes\0 … depth path\0 namespace\0 control\0 referenceNode\0
        options\0 type\0``: the path is the first field with text, and the
        control byte just before it is the depth. Where that byte is missing
        the depth is the reference node's nesting (``a:b:cRN`` is depth 3), as
        Maya names the nodes of nested references.
        """
        raw = payload.split(b"\0")
        index = next((i for i, field in enumerate(raw) if field.lstrip(_CONTROL).strip()), None)
        if index is None:
            return
        path_field = raw[index]
        path = path_field.lstrip(_CONTROL).strip()
        rest = [field.lstrip(_CONTROL).strip() for field in raw[index + 1 :]]
        namespace = next((field for field in rest if field and not field.endswith(b"RN")), b"")
        node = next((field for field in rest if field.endswith(b"RN")), namespace)
        lead = path_field[: len(path_field) - len(path_field.lstrip(_CONTROL))]
        depth = lead[-1] if lead and 1 <= lead[-1] <= 16 else node.count(b":") + 1
        self.builder.reference(
            decode(path), namespace=decode(namespace), node=decode(node), depth=depth, deferred=False
        )

    def _attribute(self, tag: bytes, payload: bytes) -> None:
        """``name\\0 flag u8 value``."""
        name, nul, rest = payload.partition(b"\0")
        if not nul or not rest:
            return
        value = rest[1:]
        attr = "." + decode(name)
        if tag == b"STR ":
            self.builder.set_attr(attr, decode(value.split(b"\0", 1)[0]))
        elif tag == b"STR#":
            if len(value) >= 4:
                (count,) = struct.unpack_from(">I", value)
                strings = value[4:].split(b"\0")[:count]
                self.builder.set_attr(attr, tuple(decode(item) for item in strings))
        else:
            self._number(attr, value)

    def _number(self, attr: str, value: bytes) -> None:
        if (self.builder.current_name, attr[1:]) in TIME_ATTRS and len(value) in (4, 8):
            ticks = struct.unpack(">i" if len(value) == 4 else ">q", value)[0]
            fps = time_unit_fps(self.builder.time_unit or "film") or 24.0
            self.builder.set_attr(attr, ticks / (self.ticks_per_second / fps))
        elif len(value) >= 8:
            self.builder.set_attr(attr, struct.unpack_from(">d", value)[0])


def rewrite_paths(data: bytes, remap: Mapping[str, str]) -> tuple[bytes, int]:
    """``data`` (a whole .mb) with each path of ``remap`` replaced; the replacements made.

    Paths are replaced where the reader finds them: a reference's path in
    ``FREF`` and ``FRDI`` chunks and string attribute values (``STR ``). Every
    group holding a changed chunk gets its new size; every other byte is kept.
    """
    if data[:4] not in (b"FOR4", b"FOR8"):
        return data, 0
    rewriter = _Rewriter(data, {old.encode("utf-8", "surrogateescape"): new.encode("utf-8", "surrogateescape")
                                for old, new in remap.items()})
    return rewriter.span(0, len(data)), rewriter.count


class _Rewriter:
    def __init__(self, data: bytes, remap: Mapping[bytes, bytes]) -> None:
        self.data = data
        self.remap = remap
        self.wide = data[:4] == b"FOR8"
        self.header = 16 if self.wide else 8
        self.align = 8 if self.wide else 4
        self.count = 0

    def span(self, pos: int, end: int) -> bytes:
        """The chunks from ``pos`` to ``end`` rewritten; bytes that are no whole chunk kept as they are."""
        data, parts = self.data, []
        while pos + self.header <= end:
            tag = data[pos : pos + 4]
            size = int.from_bytes(data[pos + 8 : pos + 16] if self.wide else data[pos + 4 : pos + 8], "big")
            payload = pos + self.header
            if payload + size > end:
                break
            if tag in _GROUPS:
                body = data[payload : payload + 4] + self.span(payload + 4, payload + size)
                parts.append(self._header(pos, len(body)) + body)
                pos = payload + size
                continue
            padded = size + (-size % self.align)
            old = data[payload : payload + size]
            new = self._payload(tag, old)
            if new is old:
                parts.append(data[pos : min(payload + padded, end)])
            else:
                parts.append(self._header(pos, len(new)) + new + bytes(-len(new) % self.align))
            pos = payload + padded
        parts.append(data[pos:end])
        return b"".join(parts)

    def _header(self, pos: int, size: int) -> bytes:
        """The header at ``pos`` (with FOR8's filler bytes) for a new payload size."""
        if self.wide:
            return self.data[pos : pos + 8] + size.to_bytes(8, "big")
        return self.data[pos : pos + 4] + size.to_bytes(4, "big")

    def _payload(self, tag: bytes, payload: bytes) -> bytes:
        if tag == b"STR ":
            name, nul, rest = payload.partition(b"\0")
            value, end, tail = rest[1:].partition(b"\0")
            new = self.remap.get(value) if nul and rest else None
            if new is None:
                return payload
            self.count += 1
            return name + nul + rest[:1] + new + end + tail
        if tag not in (b"FREF", b"FRDI"):
            return payload
        fields = payload.split(b"\0")
        changed = False
        for i, field in enumerate(fields):
            text = field.lstrip(_CONTROL)
            new = self.remap.get(text)
            if text and new is not None:
                fields[i] = field[: len(field) - len(text)] + new
                changed = True
                self.count += 1
        return b"\0".join(fields) if changed else payload
