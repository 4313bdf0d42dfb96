"""Maya ASCII (.ma) reader: streams statements into a :class:`MayaSceneBuilder`."""
from __future__ import annotations

import codecs
import re
from pathlib import Path

from rfarm.analysis import mel
from rfarm.analysis.maya_scene import MayaSceneBuilder, decode, parse_edits
from rfarm.errors import AnalysisError

_HEADER = re.compile(rb"//Maya ASCII (\S+) scene")
_CODESET = re.compile(rb"^//Codeset: *(\S+)", re.MULTILINE)
_FLAG = re.compile(rb"-[A-Za-z][A-Za-z0-9]*")
_NUMBER = re.compile(rb"[-+]?(\d+\.?\d*|\.\d+)([eE][-+]?\d+)?")
_BOOLEANS = {b"yes": True, b"on": True, b"true": True, b"no": False, b"off": False, b"false": False}

# Arguments each flag takes; a flag not listed takes one unless a string follows.
_SET_ATTR_FLAGS = {
    b"-k": 1, b"-keyable": 1, b"-l": 1, b"-lock": 1, b"-cb": 1, b"-channelBox": 1,
    b"-av": 0, b"-alteredValue": 0, b"-c": 0, b"-clamp": 0, b"-ca": 1, b"-caching": 1,
    b"-s": 1, b"-size": 1, b"-type": 1, b"-typ": 1,
}
_FILE_FLAGS = {
    b"-r": 0, b"-reference": 0, b"-rdi": 1, b"-referenceDepthInfo": 1, b"-ns": 1,
    b"-namespace": 1, b"-rfn": 1, b"-referenceNode": 1, b"-op": 1, b"-options": 1,
    b"-typ": 1, b"-type": 1, b"-dr": 1, b"-deferReference": 1, b"-shd": 1,
    b"-sharedNodes": 1, b"-lck": 0, b"-lockReference": 0, b"-gl": 0, b"-groupLocator": 0,
    b"-gr": 0, b"-groupReference": 0, b"-gn": 1, b"-groupName": 1, b"-lrd": 1,
    b"-loadReferenceDepth": 1, b"-rpr": 1, b"-renamingPrefix": 1, b"-dns": 0,
    b"-defaultNamespace": 0, b"-mnc": 1, b"-mergeNamespacesOnClash": 1,
}
_CREATE_NODE_FLAGS = {
    b"-n": 1, b"-name": 1, b"-p": 1, b"-parent": 1, b"-s": 0, b"-shared": 0,
    b"-ss": 0, b"-skipSelect": 0,
}
_REQUIRES_FLAGS = {b"-nodeType": 1, b"-dataType": 1}
_CURRENT_UNIT_FLAGS = {b"-l": 1, b"-linear": 1, b"-a": 1, b"-angle": 1, b"-t": 1, b"-time": 1}
# The statements that matter, by what the reader is in: the always wanted ones,
# Render Setup's links (layer -> legacy layer ``.lrl``, the collection tree
# ``.pls``, selectors ``.sel``), ``setAttr "node.attr"`` on a named node, and
# path-shaped string values on other nodes (named in a tip).
_ALWAYS = rb"createNode\b|select\b|file[ \t\r\n]|requires\b|currentUnit\b|connectAttr\b[^;]*?\.(?:lrl|pls|sel)\""
_SET_NAMED = rb'setAttr\b[^";]*+"[^.]'
_FLAGS = rb'(?:\s++-(?!typ)[A-Za-z]\w*+(?:\s++[^\s"-]\S*+)?)*+'
# A string on a node type the input table does not list matters only when it is path-shaped (a
# slash or a leading ``$``): it is then named in a tip.
_STRING_VALUE = (
    rb'setAttr\b' + _FLAGS + rb'\s++(?:"[^"]*+"' + _FLAGS + rb'\s++)?-type?\s++"string"\s*+'
    rb'(?:"(?:\$|[^"]{0,160}?[/\\])|\()'
)
_WANT_ATTRIBUTES = re.compile(rb"setAttr\b|" + _ALWAYS)
_WANT_STRINGS = re.compile(_SET_NAMED + b"|" + _STRING_VALUE + b"|" + _ALWAYS)
_WANT_NAMED = re.compile(_SET_NAMED + b"|" + _ALWAYS)
# The form Maya writes: ``createNode mesh -n "bodyShape" -p "body";``, read without tokenizing.
_CREATE_NODE = re.compile(
    rb'createNode\s+([^\s"(){},+;-][^\s"(){},+;]*)(?:\s+-(?:s|ss|shared|skipSelect))*'
    rb'\s+-n(?:ame)?\s+"([^"\\]+)"(?:\s+-p(?:arent)?\s+"([^"\\]*)")?'
    rb"(?:\s+-(?:s|ss|shared|skipSelect))*\s*;"
)
# ``setAttr ".ftn" -type "string" "tex/a.exr";`` without escapes, read without tokenizing.
_SET_STRING = re.compile(rb'setAttr\s+"([^"\\]*)"\s+-type\s+"string"\s+"([^"\\]*)"\s*;')


def read_scene(path: Path, builder: MayaSceneBuilder) -> None:
    """Feed the .ma file at ``path`` to ``builder``.

    Raises:
        AnalysisError: the file cannot be read or has no Maya ASCII header.
    """
    try:
        stream = path.open("rb")
    except OSError as exc:
        raise AnalysisError(f"Cannot read {path}: {exc.strerror or exc}.") from exc
    with stream:
        try:
            head = stream.read(4096)
            stream.seek(0)
        except OSError as exc:
            raise AnalysisError(f"Cannot read {path}: {exc.strerror or exc}.") from exc
        header = _HEADER.match(head)
        if header is None:
            raise AnalysisError(f"{path} is not a Maya ASCII scene: it lacks the '//Maya ASCII' header.")
        builder.version = header.group(1).decode("ascii", "replace")
        codeset = _CODESET.search(head)
        if codeset is not None:
            builder.codec = _codec(codeset.group(1).decode("ascii", "replace"))
        reader = _Statements(builder)
        scanner = mel.StatementScanner(stream, reader.wanted)
        try:
            for statement in scanner:
                reader.handle(statement.text)
        except OSError as exc:
            raise AnalysisError(f"Cannot read {path}: {exc.strerror or exc}.") from exc
    for offset in scanner.too_long:
        builder.tip(
            "statement_too_long",
            "warning",
            f"A statement at byte {offset} is longer than {mel.MAX_STATEMENT >> 20} MB and was "
            "skipped; the result may be partial.",
        )
    if scanner.unterminated_at is not None:
        builder.tip(
            "truncated",
            "warning",
            f"The file ends inside a statement (byte {scanner.unterminated_at}); it may be "
            "truncated, so the result may be partial.",
        )


def _codec(codeset: str) -> str:
    """Python's name for a ``//Codeset:`` value (``1252``, ``932``, ``UTF-8``)."""
    name = f"cp{codeset}" if codeset.isdigit() else codeset
    try:
        return codecs.lookup(name).name
    except LookupError:
        return "cp1252"


class _Statements:
    """Decides which statements matter and turns them into builder events."""

    def __init__(self, builder: MayaSceneBuilder) -> None:
        self.builder = builder
        self.codec = builder.codec

    def _decode(self, raw: bytes) -> str:
        return decode(raw, self.codec)

    def wanted(self) -> re.Pattern[bytes]:
        """The statements that can matter now: every ``setAttr`` only on a node that matters."""
        if self.builder.wants_attributes():
            return _WANT_ATTRIBUTES
        return _WANT_STRINGS if self.builder.wants_strings() else _WANT_NAMED

    def handle(self, text: bytes) -> None:
        decode = self._decode
        if text.startswith(b"createNode"):
            plain = _CREATE_NODE.fullmatch(text)
            if plain is not None:
                node_type, name, parent = plain.groups()
                self.builder.create_node(decode(node_type), decode(name), decode(parent) if parent else None)
                return
        elif text.startswith(b"setAttr"):
            plain = _SET_STRING.fullmatch(text)
            if plain is not None:
                attr, value = plain.groups()
                self.builder.set_attr(decode(attr), decode(value))
                return
        tokens = mel.tokenize(text)
        if not tokens or tokens[0][0] != mel.WORD:
            return
        command = tokens[0][1]
        if command == b"setAttr":
            self._set_attr(tokens)
        elif command == b"createNode":
            self._create_node(tokens)
        elif command == b"select":
            names = [v for kind, v in tokens[1:] if kind != mel.PUNCT and not _FLAG.fullmatch(v)]
            if names:
                self.builder.select(self._decode(names[-1]))
        elif command == b"file":
            self._file(tokens)
        elif command == b"requires":
            positional, _ = _split_flags(tokens, _REQUIRES_FLAGS)
            if len(positional) >= 2:
                self.builder.requires(self._decode(positional[-2][1]), self._decode(positional[-1][1]))
        elif command == b"currentUnit":
            _, flags = _split_flags(tokens, _CURRENT_UNIT_FLAGS)
            unit = flags.get(b"-t") or flags.get(b"-time")
            if unit:
                self.builder.time_unit = self._decode(unit)
        elif command == b"connectAttr":
            plugs = [value for kind, value in tokens if kind == mel.STRING]
            if len(plugs) >= 2:
                self.builder.connect(self._decode(plugs[0]), self._decode(plugs[1]))

    def _create_node(self, tokens: list[mel.Token]) -> None:
        positional, flags = _split_flags(tokens, _CREATE_NODE_FLAGS)
        name = flags.get(b"-n") or flags.get(b"-name")
        if len(positional) < 1 or name is None:
            return
        parent = flags.get(b"-p") or flags.get(b"-parent")
        self.builder.create_node(
            self._decode(positional[0][1]), self._decode(name), self._decode(parent) if parent else None
        )

    def _set_attr(self, tokens: list[mel.Token]) -> None:
        positional, flags = _split_flags(tokens, _SET_ATTR_FLAGS)
        if not positional or positional[0][0] != mel.STRING or len(positional) < 2:
            return
        attr = self._decode(positional[0][1])
        values = positional[1:]
        data_type = flags.get(b"-type") or flags.get(b"-typ")
        if data_type == b"string":
            if values[0][0] == mel.STRING:
                self.builder.set_attr(attr, self._decode(values[0][1]))
        elif data_type == b"stringArray":
            strings = tuple(self._decode(value) for kind, value in values if kind == mel.STRING)
            self.builder.set_attr(attr, strings)
        elif data_type == b"dataReferenceEdits":
            parse_edits(self.builder, values)
        elif data_type is None and values[0][0] == mel.WORD:
            value = _scalar(values[0][1])
            if value is not None:
                self.builder.set_attr(attr, value)

    def _file(self, tokens: list[mel.Token]) -> None:
        positional, flags = _split_flags(tokens, _FILE_FLAGS)
        is_reference = b"-r" in flags or b"-reference" in flags
        depth = flags.get(b"-rdi") or flags.get(b"-referenceDepthInfo")
        strings = [value for kind, value in positional if kind == mel.STRING]
        if not strings or not (is_reference or depth):
            return
        deferred = (flags.get(b"-dr") or flags.get(b"-deferReference")) in (b"1", b"true", b"on", b"yes")
        self.builder.reference(
            self._decode(strings[-1]),
            namespace=self._decode(flags.get(b"-ns") or flags.get(b"-namespace") or b""),
            node=self._decode(flags.get(b"-rfn") or flags.get(b"-referenceNode") or b""),
            depth=None if is_reference else _int(depth),
            deferred=deferred,
        )


def _split_flags(
    tokens: list[mel.Token], arities: dict[bytes, int]
) -> tuple[list[mel.Token], dict[bytes, bytes]]:
    """Separate ``-flag value`` pairs from positional tokens (the command word excluded)."""
    positional: list[mel.Token] = []
    flags: dict[bytes, bytes] = {}
    i = 1
    while i < len(tokens):
        kind, value = tokens[i]
        if kind == mel.WORD and value[0] == 0x2D and _FLAG.fullmatch(value):
            arity = arities.get(value)
            if arity is None:
                arity = 1 if i + 1 < len(tokens) and tokens[i + 1][0] == mel.WORD else 0
            flags[value] = tokens[i + 1][1] if arity and i + 1 < len(tokens) else b""
            i += 1 + arity
            continue
        if kind != mel.PUNCT:
            positional.append(tokens[i])
        i += 1
    return positional, flags


def _scalar(word: bytes) -> float | bool | None:
    if word in _BOOLEANS:
        return _BOOLEANS[word]
    return float(word) if _NUMBER.fullmatch(word) else None


def _int(word: bytes | None) -> int | None:
    try:
        return int(word) if word else None
    except ValueError:
        return None
