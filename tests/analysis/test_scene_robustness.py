"""Broken input gives a clear AnalysisError or a partial result with a tip: never a hang."""
from __future__ import annotations

import random
import tempfile
from collections.abc import Callable
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from rfarm.analysis import analyze_scene, maya_scene
from rfarm.errors import AnalysisError, NotFoundError, UsageError
from test_scene_maya_binary import build_scene

pytest_plugins = ["scene_fixtures"]

WriteMa = Callable[..., Path]  # the write_ma fixture

FUZZ = settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def codes(result: object) -> set[str]:
    return {tip.code for tip in result.tips}  # type: ignore[attr-defined]


def test_truncated_ma_gives_a_partial_result(write_ma: WriteMa, tmp_path: Path) -> None:
    body = (
        'requires maya "2018ff08";\n'
        'createNode file -n "file1";\n\tsetAttr ".ftn" -type "string" "arnold_<UDIM>_<f>.jpg";\n'
        'createNode aiImage -n "aiImage1";\n'
        '\tsetAttr ".filename" -type "string" "D:/arnold/scenes/textures/arnold_<UDIM>_<f>.jpg";\n'
    )
    text = write_ma("whole.ma", body, version="2018ff08").read_bytes()
    cut = tmp_path / "cut.ma"
    cut.write_bytes(text[: text.index(b'"D:/arnold/scenes/textures') + 10])
    result = analyze_scene(cut, env={})
    assert "truncated" in codes(result)
    # What came before the cut is there; the statement cut in half is not.
    assert [d.node for d in result.dependencies] == ["file1"]
    assert result.scene_info.software_version == "2018ff08"


@pytest.mark.parametrize(
    "content",
    [
        b"",
        b"just some text; not a scene\n",
        b"//Maya BINARY 2020 scene\n",
        random.Random(3).randbytes(4096),
        b"\x00" * 100,
    ],
    ids=["empty", "text", "wrong-header", "random-bytes", "nul-bytes"],
)
def test_not_a_maya_ascii_file(tmp_path: Path, content: bytes) -> None:
    path = tmp_path / "junk.ma"
    path.write_bytes(content)
    with pytest.raises(AnalysisError, match="not a Maya ASCII scene"):
        analyze_scene(path)


def test_binary_junk_after_a_valid_header(tmp_path: Path) -> None:
    # Without slashes, so the junk is read as statements rather than skipped as a comment.
    junk = random.Random(5).randbytes(200_000).replace(b"/", b"_")
    path = tmp_path / "junk.ma"
    path.write_bytes(b"//Maya ASCII 2020 scene\n" + junk)
    result = analyze_scene(path, env={})
    assert result.scene_info.software_version == "2020"


@FUZZ
@given(body=st.binary(max_size=400))
def test_any_bytes_after_a_header_are_read_or_refused(body: bytes) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "fuzz.ma"
        path.write_bytes(b"//Maya ASCII 2022 scene\n" + body)
        try:
            analyze_scene(path, env={})
        except AnalysisError:
            pass


def test_enormous_lines(write_ma: WriteMa) -> None:
    numbers = b" ".join(b"0.123456" for _ in range(3_000_000))  # one 27 MB line
    path = write_ma("big.ma", "")
    with path.open("ab") as out:
        out.write(b'createNode mesh -n "m";\n\tsetAttr -s 3000000 ".vt[0:2999999]" ' + numbers + b";\n")
        out.write(b'createNode file -n "f";\n\tsetAttr ".ftn" -type "string" "a/' + b"x" * (17 << 20) + b'.png";\n')
        out.write(b"// " + b"a comment; " * 2_000_000 + b"\n/* " + b"block " * 2_000_000 + b"*/\n")
        out.write(b'createNode file -n "g";\n\tsetAttr ".ftn" -type "string" "after/long.png";\n')
        out.write(b"no end " * 1_000_000)
    result = analyze_scene(path, env={})
    assert [d.path for d in result.dependencies] == ["after/long.png"]
    assert {"statement_too_long", "truncated"} <= codes(result)


def test_deep_and_cyclic_reference_trees(write_ma: WriteMa, tmp_path: Path) -> None:
    depth = maya_scene.MAX_REFERENCE_DEPTH + 8
    for level in range(depth):
        child = f"level{level + 1}.ma"
        write_ma(
            f"level{level}.ma",
            f'file -r -ns "n{level}" -rfn "n{level}RN" -typ "mayaAscii" "{child}";\n'
            f'file -r -ns "back" -rfn "backRN" -typ "mayaAscii" "level0.ma";\n'
            f'createNode file -n "tex";\n\tsetAttr ".ftn" -type "string" "tex{level}.png";\n',
        )
    write_ma(f"level{depth}.ma", "")
    result = analyze_scene(tmp_path / "level0.ma", env={})
    assert "reference_depth" in codes(result)
    textures = [d for d in result.dependencies if d.node.endswith("tex")]
    assert len(textures) == maya_scene.MAX_REFERENCE_DEPTH + 1
    assert textures[2].node == "n0:n1:tex"


def test_wide_reference_trees_read_each_file_once(write_ma: WriteMa, tmp_path: Path) -> None:
    refs = "".join(f'file -r -ns "c{i}" -rfn "c{i}RN" "shared.ma";\n' for i in range(200))
    write_ma("wide.ma", refs)
    write_ma("shared.ma", 'createNode file -n "t";\n\tsetAttr ".ftn" -type "string" "t.png";\n')
    result = analyze_scene(tmp_path / "wide.ma", env={})
    assert [d.node for d in result.dependencies if d.kind == "texture"] == ["c0:t"]


def test_unreadable_reference_is_a_tip(write_ma: WriteMa, tmp_path: Path) -> None:
    write_ma("top.ma", 'file -r -ns "bad" -rfn "badRN" "bad.ma";\n')
    (tmp_path / "bad.ma").write_bytes(b"\x00garbage")
    result = analyze_scene(tmp_path / "top.ma", env={})
    assert "unreadable_reference" in codes(result)
    assert result.dependencies[0].exists


def test_truncated_mb_gives_a_partial_result(tmp_path: Path) -> None:
    data = build_scene(wide=False)
    cut = tmp_path / "cut.mb"
    cut.write_bytes(data[: data.index(b":defaultRenderGlobals") + 30])
    result = analyze_scene(cut, env={})
    assert "truncated" in codes(result)
    assert result.scene_info.software_version == "2012"
    assert result.scene_info.cameras == ("shotCam",)


@pytest.mark.parametrize(
    "content",
    [
        b"",
        b"FOR4",
        b"FOR8\x00\x00\x00\x00\x00\x00",
        b"FOR8" + bytes(8) + b"\x10",
        b"FOR4\x00\x00\x00\x10NotM\x00\x00",
        b"<html>" * 10,
    ],
    ids=["empty", "tag-only", "short-for8", "for8-header-only", "not-maya-form", "html"],
)
def test_not_a_maya_binary_file(tmp_path: Path, content: bytes) -> None:
    path = tmp_path / "junk.mb"
    path.write_bytes(content)
    with pytest.raises(AnalysisError):
        analyze_scene(path)


@FUZZ
@given(flips=st.lists(st.tuples(st.integers(min_value=0), st.integers(min_value=0, max_value=255)), max_size=12))
def test_corrupted_mb_is_read_or_refused(flips: list[tuple[int, int]]) -> None:
    data = bytearray(build_scene(wide=False))
    for position, value in flips:
        data[position % len(data)] = value
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "fuzz.mb"
        path.write_bytes(bytes(data))
        try:
            analyze_scene(path, env={})
        except AnalysisError:
            pass


def test_unknown_suffix_missing_file_and_backend(tmp_path: Path) -> None:
    (tmp_path / "notes.txt").write_text("hi")
    with pytest.raises(AnalysisError, match="not a scene rfarm can analyse"):
        analyze_scene(tmp_path / "notes.txt")
    with pytest.raises(NotFoundError):
        analyze_scene(tmp_path / "absent.ma")
    with pytest.raises(UsageError):
        analyze_scene(tmp_path / "notes.txt", backend="maya")
