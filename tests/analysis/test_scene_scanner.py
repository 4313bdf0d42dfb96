"""The scanner's and the reader's short cuts agree with their general paths.

Block boundaries anywhere in a statement: the inline end-finding and the slow path agree.

The scanner finds most statement ends inside the buffer it holds and hands the
rest (a string running past the buffer, an escaped quote, a ``;`` in a string)
to a path that refills the buffer. These documents are longer than the head a
``wants`` call sees, so block boundaries fall inside strings, escapes, comments
and between ``;`` and the newline, and every answer is checked against the
byte-at-a-time oracle of test_scene_mel.
"""
from __future__ import annotations

import io
import re
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from test_scene_mel import oracle

from rfarm.analysis import maya_ascii, mel
from rfarm.analysis.base import Collector
from rfarm.analysis.maya_scene import AttrValue, MayaSceneBuilder
from rfarm.analysis.paths import PathResolver

FILLER = b"setAttr -s 40 \".vt[0:39]\" " + b" ".join(b"%d.5" % i for i in range(80)) + b";\n"

# Every construct the scanner treats apart, each after a statement longer than HEAD_SIZE.
DOCUMENT = b"".join(
    FILLER + piece
    for piece in (
        b'file -r -ns "a" -op "v=0;p=17;" "C:/proj/a.ma";\r\n',  # ';' inside a string
        b'setAttr ".b" -type "string" "say \\"hi\\"; C:\\\\\\\\nas\\\\";\n',  # escaped quotes, backslashes
        b"// a comment; with \"a quote\n",
        b"/* a block; \"comment\" */ select -ne :time1;\n",
        b'setAttr ".s" -type "string" "";;\n',  # an empty string, an empty statement
        b'connectAttr "x.msg" "y.lrl";\n',
    )
)


def scan(data: bytes, wants: mel.Pattern, block_size: int) -> list[tuple[int, bytes]]:
    scanner = mel.StatementScanner(io.BytesIO(data), lambda: wants, block_size=block_size)
    found = [(statement.offset, statement.text) for statement in scanner]
    assert scanner.unterminated_at is None and scanner.too_long == []
    return found


def expected(data: bytes, wants: mel.Pattern) -> list[tuple[int, bytes]]:
    statements, _ = oracle(data)
    return [(start, text) for start, text in statements if wanted(wants, data, start)]


def wanted(wants: mel.Pattern, data: bytes, start: int) -> bool:
    """What the scanner's contract says: the pattern matches at the start, within the head."""
    return wants.match(data[start : start + mel.HEAD_SIZE]) is not None


every = mel.EVERY
not_geometry = re.compile(b"(?!setAttr -s)")


def test_a_boundary_at_every_byte_of_the_document() -> None:
    assert len(expected(DOCUMENT, every)) == 12  # six fillers, six others (one is a lone ";")
    for wants in (every, not_geometry):
        want = expected(DOCUMENT, wants)
        for block_size in range(1, len(DOCUMENT) + 2, 3):
            assert scan(DOCUMENT, wants, block_size) == want, (wants.pattern, block_size)


def test_a_string_longer_than_the_buffer_holding_semicolons_and_escapes() -> None:
    body = b'\\"; x \\\\' * 400
    data = FILLER + b'setAttr ".notes" -type "string" "' + body + b'";\nselect -ne :time1;\n'
    for block_size in (7, 64, 300, 1000, 4096):
        assert scan(data, every, block_size) == expected(data, every)
        assert scan(data, not_geometry, block_size) == expected(data, not_geometry)


def test_long_wanted_statements_are_reported_at_any_block_size() -> None:
    data = FILLER + b'setAttr ".b" "' + b"y" * 2000 + b'";\nselect -ne :time1;\n'
    for block_size in (5, 512, 1 << 16):
        scanner = mel.StatementScanner(
            io.BytesIO(data), lambda: not_geometry, block_size=block_size, max_statement=1000
        )
        assert [s.text for s in scanner] == [b"select -ne :time1;"]
        assert scanner.too_long == [len(FILLER)]


pieces = st.sampled_from(
    [b";", b'"', b"\\", b"/", b"*", b" ", b"\n", b"\r\n", b"a", b"setAttr -s", b"\xff", FILLER, b"x" * 300]
)


@settings(max_examples=200, deadline=None)
@given(data=st.lists(pieces, max_size=40).map(b"".join), block_size=st.integers(min_value=1, max_value=700))
def test_large_documents_match_the_oracle(data: bytes, block_size: int) -> None:
    for wants in (every, not_geometry):
        scanner = mel.StatementScanner(io.BytesIO(data), lambda: wants, block_size=block_size)
        found = [(statement.offset, statement.text) for statement in scanner]
        statements, unterminated = oracle(data)
        assert found == [(s, t) for s, t in statements if wanted(wants, data, s)]
        assert scanner.unterminated_at == unterminated


class RecordingBuilder(MayaSceneBuilder):
    """A real builder that also records the events the reader sends it."""

    def __init__(self) -> None:
        super().__init__(Path("scene.ma"), PathResolver(Path("scene.ma"), env={}), Collector())
        self.events: list[tuple[object, ...]] = []

    def create_node(self, node_type: str, name: str, parent: str | None) -> None:
        self.events.append(("create_node", node_type, name, parent))
        super().create_node(node_type, name, parent)

    def set_attr(self, attr: str, value: AttrValue) -> None:
        self.events.append(("set_attr", attr, value))
        super().set_attr(attr, value)


names = st.text(st.characters(blacklist_characters='"\\;', blacklist_categories=("Cs",)), max_size=12)
flags = st.lists(st.sampled_from(["-s", "-ss", "-shared", "-skipSelect"]), max_size=2).map(" ".join)
spaces = st.sampled_from([" ", "\t", "\r\n\t", "  "])


@settings(max_examples=300, deadline=None)
@given(kind=names, name=names, parent=st.none() | names, before=flags, after=flags, gap=spaces, value=names)
def test_statements_read_without_tokenizing_give_the_tokenized_events(
    kind: str, name: str, parent: str | None, before: str, after: str, gap: str, value: str
) -> None:
    """``createNode`` and plain string ``setAttr`` lines take a short cut; it must change nothing."""
    node = f"createNode{gap}{kind} {before}{gap}-n \"{name}\"" + (f' -p "{parent}"' if parent is not None else "")
    statements = [
        f"{node} {after};".encode(),
        f'setAttr{gap}"{name}"{gap}-type "string"{gap}"{value}";'.encode(),
        f'setAttr ".{name}" -type "string" "{value}" ;'.encode("cp1252", "replace"),
    ]
    fast, general = RecordingBuilder(), RecordingBuilder()
    for text in statements:
        maya_ascii._Statements(fast).handle(text)
        reader = maya_ascii._Statements(general)
        tokens = mel.tokenize(text)
        if tokens[0][1] == b"createNode":
            reader._create_node(tokens)
        else:
            reader._set_attr(tokens)
    assert fast.events == general.events


def test_the_lines_maya_writes_take_the_short_cut(monkeypatch: pytest.MonkeyPatch) -> None:
    builder = RecordingBuilder()
    reader = maya_ascii._Statements(builder)
    monkeypatch.setattr(mel, "tokenize", None)  # any use of the tokenizer would fail
    reader.handle(b'createNode file -n "tex" -p "grp";')
    reader.handle(b'setAttr ".ftn" -type "string" "C:/proj/sourceimages/wood.exr";')
    assert builder.events == [
        ("create_node", "file", "tex", "grp"),
        ("set_attr", ".ftn", "C:/proj/sourceimages/wood.exr"),
    ]


def outcome(builder: MayaSceneBuilder) -> tuple[object, ...]:
    """All that a reading leaves for the analysis."""
    builder.finish()
    return (
        builder.collector.dependencies, builder.references, builder.depth_info, builder.tips,
        builder.plugins, builder.version, builder.time_unit, builder.scene_info("maya"),
    )


# Statements of every kind the reader treats apart, in the forms Maya and people write.
maya_statements = st.sampled_from([
    'createNode file -n "tex";', 'createNode mesh -n "bodyShape" -p "body";', 'createNode camera -s -n "camShape";',
    'createNode transform -n "body";', 'createNode script -n "notes";', 'createNode aiStandIn -n "standin";',
    'createNode renderSetupLayer -n "rs_a";', 'createNode renderLayer -n "a";', "select -ne :defaultRenderGlobals;",
    "select -ne :defaultResolution;", 'setAttr ".ftn" -type "string" "tex/a.exr";',
    'setAttr -k on ".ftn" -type "string" "tex/b.exr";', 'setAttr ".dso" -l on -type "string" "ass/c.ass";',
    'setAttr -type "string" ".ftn" "tex/d.exr";', 'setAttr ".notes" -type "string" "C:/cache/e.abc";',
    'setAttr ".uvst[0].uvsn" -type "string" "map1";', 'setAttr ".x" -type "stringArray" 2 "tex/f.exr" "g.exr";',
    'setAttr "defaultRenderGlobals.fs" 5;', 'setAttr -k off "perspShape.rnd" no;', 'setAttr ".fs" 3;',
    'setAttr ".ren" -type "string" "arnold";', 'setAttr -av ".w" 640;', 'setAttr ".rnd" yes;', 'setAttr ".rndr" no;',
    'setAttr -s 4 ".vt[0:3]" 0 0 0 1 1 1 2 2 2 3 3 3;', 'setAttr ".t" -type "double3" 1 2 3 ;',
    'setAttr ".b" -type "string" ( "a;" + "b" );', 'connectAttr "rs_a.msg" "a.lrl";', 'connectAttr "a.oc" "b.c";',
    'file -r -ns "ch" -rfn "chRN" "chars/ch.ma";', 'file -rdi 1 -ns "p" -rfn "pRN" "props/p.ma";',
    'fileInfo "application" "maya";', 'requires "mtoa" "5.3";', "currentUnit -t pal;", 'rename -uid "AB";',
    'createNode collection -n "col";', 'createNode simpleSelector -n "sel";', 'createNode absOverride -n "ov";',
    'connectAttr "sel.c" "col.sel";', 'connectAttr "rs_a.lit" "col.pls";', 'setAttr ".pat" -type "string" "*";',
    'setAttr ".atr" -type "string" "defaultRenderGlobals.startFrame";', 'setAttr ".atv" 20;', "// a comment\n",
    'setAttr ".notes" -type "string" ( "C:/cache/" + "f.abc" );', 'setAttr ".label" -type "string" "hero.exr";',
    'setAttr ".src" -type "string"\n\t\t "$SHOW/tex/g.tx";',
])


@settings(max_examples=300, deadline=None)
@given(body=st.lists(maya_statements, max_size=30), gap=spaces)
def test_the_reader_drops_only_statements_that_change_nothing(body: list[str], gap: str) -> None:
    """The reader's patterns pass on a statement only when reading it would change nothing."""
    data = ("//Maya ASCII 2024 scene\n" + gap.join(body) + "\n").encode()
    skimmed, everything = RecordingBuilder(), RecordingBuilder()
    reader = maya_ascii._Statements(skimmed)
    for statement in mel.StatementScanner(io.BytesIO(data), reader.wanted, block_size=64):
        reader.handle(statement.text)
    general = maya_ascii._Statements(everything)
    for statement in mel.iter_statements(io.BytesIO(data)):
        general.handle(statement.text)
    assert outcome(skimmed) == outcome(everything)
