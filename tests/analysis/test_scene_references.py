"""The Maya reference tree: every file of it once, with its depth and the file that needs it."""
from __future__ import annotations

import json
from pathlib import Path

from tests.analysis.test_scene_maya_binary import UUID, Iff

from rfarm.analysis import analyze_scene

HEADER = '//Maya ASCII 2022 scene\n//Codeset: UTF-8\n'
CAMERA = 'createNode transform -s -n "persp";\ncreateNode camera -s -n "perspShape" -p "persp";\n'


def ma(path: Path, lines: str, *, camera: bool = False) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(HEADER + lines + (CAMERA if camera else ""), encoding="utf-8")
    return path


def texture(node: str, name: str) -> str:
    return f'createNode file -n "{node}";\n\tsetAttr ".ftn" -type "string" "{name}";\n'


def mb_referencing(path: Path, reference: str, texture_name: str) -> Path:
    """A Maya 2022 binary file with one reference (FREF) and one file node."""
    iff = Iff(wide=True)
    body = iff.group(
        b"Maya",
        iff.group(b"HEAD", iff.chunk(b"VERS", b"2022"), iff.chunk(b"TUNI", b"film")),
        iff.group(b"FREF", iff.chunk(b"FREF", reference.encode() + b"\0c\0\x01\x01cRN\0VERS|2022|\0mayaAscii\0")),
        iff.group(b"RTFT", iff.chunk(b"CREA", b"\x00bTex\0" + UUID), iff.attr(b"STR ", "ftn", texture_name.encode() + b"\0")),
    )
    path.write_bytes(body)
    return path


def rdi(depth: int, namespace: str, node: str, path: str, *, deferred: bool = False) -> str:
    return f'file -rdi {depth} -ns "{namespace}"{" -dr 1" if deferred else ""} -rfn "{node}" "{path}";\n'


def ref(namespace: str, node: str, path: str) -> str:
    return f'file -r -ns "{namespace}" -dr 1 -rfn "{node}" "{path}";\n'


def by_path(result: object) -> dict[str, object]:
    return {d.path: d for d in result.dependencies}  # type: ignore[attr-defined]


def test_a_present_tree_three_deep_with_namespaces_copies_and_a_binary_level(tmp_path: Path) -> None:
    assets = tmp_path / "assets"
    (assets / "tex").mkdir(parents=True)
    for name in ("a.png", "b.png", "c.png"):
        (assets / "tex" / name).write_bytes(b"x")
    ma(assets / "c.ma", texture("cTex", "tex/c.png"))
    mb_referencing(assets / "b.mb", (assets / "c.ma").as_posix(), "tex/b.png")
    ma(assets / "a.ma", rdi(1, "b", "bRN", "b.mb") + ref("b", "bRN", "b.mb") + texture("aTex", "tex/a.png"))
    a, b, c = (assets / n for n in ("a.ma", "b.mb", "c.ma"))
    shot = ma(
        tmp_path / "shot.ma",
        rdi(1, "hero", "heroRN", a.as_posix())
        + rdi(2, "b", "hero:bRN", "b.mb")
        + rdi(3, "c", "hero:b:cRN", c.as_posix())
        + rdi(1, "hero1", "heroRN1", a.as_posix() + "{1}")
        + rdi(2, "b", "hero1:bRN", "b.mb")
        + rdi(3, "c", "hero1:b:cRN", c.as_posix())
        + ref("hero", "heroRN", a.as_posix())
        + ref("hero1", "heroRN1", a.as_posix() + "{1}"),
        camera=True,
    )
    result = analyze_scene(shot, env={})
    deps = [(d.kind, d.node, d.path, d.depth, d.via, d.exists) for d in result.dependencies]
    source = str(shot.resolve())
    # Each file's own inputs, then the files it loads, depth first.
    assert deps == [
        ("reference", "heroRN", a.as_posix(), 1, source, True),
        ("texture", "hero:aTex", "tex/a.png", 1, str(a), True),
        ("reference", "hero:bRN", "b.mb", 2, str(a), True),
        ("texture", "hero:b:bTex", "tex/b.png", 2, str(b), True),
        ("reference", "hero:b:cRN", c.as_posix(), 3, str(b), True),
        ("texture", "hero:b:c:cTex", "tex/c.png", 3, str(c), True),
    ]
    found = by_path(result)
    # The copy and the scene's own -rdi namings are kept for the node's rewrite.
    assert found[a.as_posix()].also == ((a.as_posix() + "{1}", source),)
    assert ("b.mb", source) in found["b.mb"].also and (c.as_posix(), source) in found[c.as_posix()].also
    document = json.loads(result.to_json())
    assert document["asset"] == [a.as_posix(), "tex/a.png", "b.mb", "tex/b.png", c.as_posix(), "tex/c.png"]
    assert document["missing"] == []
    assert document["dependencies"][2]["via"] == str(a) and document["dependencies"][2]["depth"] == 2
    assert not {t.code for t in result.tips} & {"missing_reference", "reference_loop", "missing_files"}


def test_loops_and_self_references_are_read_once_and_reported(tmp_path: Path) -> None:
    loop_a, loop_b, selfish = tmp_path / "a.ma", tmp_path / "b.ma", tmp_path / "self.ma"
    ma(loop_a, ref("b", "bRN", "b.ma") + texture("aTex", "a.png"))
    ma(loop_b, ref("a", "aRN", "a.ma") + texture("bTex", "b.png"))
    ma(selfish, ref("me", "meRN", "self.ma"))
    shot = ma(tmp_path / "shot.ma", ref("a", "aRN", "a.ma") + ref("s", "sRN", "self.ma") + ref("x", "xRN", "shot.ma"),
              camera=True)
    result = analyze_scene(shot, env={})
    assert [(d.node, d.path) for d in result.dependencies] == [
        ("aRN", "a.ma"), ("sRN", "self.ma"), ("a:aTex", "a.png"), ("a:bRN", "b.ma"), ("a:b:bTex", "b.png"),
    ]
    # b.ma's reference back to a.ma names the listed file again, for the rewrite.
    assert by_path(result)["a.ma"].also == (("a.ma", str(loop_b)),)
    loops = [t.message for t in result.tips if t.code == "reference_loop"]
    assert len(loops) == 3
    assert any("shot.ma > a.ma > b.ma > a.ma" in m for m in loops)
    assert any("shot.ma > self.ma > self.ma" in m for m in loops)
    assert any("shot.ma > shot.ma" in m for m in loops)


def test_a_missing_middle_file_keeps_the_references_its_rdi_lines_name(tmp_path: Path) -> None:
    (tmp_path / "lib").mkdir()
    (tmp_path / "lib" / "leaf.png").write_bytes(b"x")
    leaf = ma(tmp_path / "lib" / "leaf.ma", texture("leafTex", "leaf.png") + ref("deep", "deepRN", "deep.ma"))
    shot = ma(
        tmp_path / "shot.ma",
        rdi(1, "set", "setRN", "gone/set.ma")
        + rdi(2, "leaf", "set:leafRN", leaf.as_posix())
        + rdi(3, "deep", "set:leaf:deepRN", "deep.ma")
        + rdi(2, "old", "set:oldRN", "gone/old.ma", deferred=True)
        + rdi(3, "older", "set:old:olderRN", "gone/older.ma")
        + ref("set", "setRN", "gone/set.ma"),
        camera=True,
    )
    result = analyze_scene(shot, env={})
    scene = str(shot.resolve())
    middle = (tmp_path / "gone" / "set.ma").as_posix()
    deps = [(d.node, d.path, d.depth, d.via, d.source, d.exists) for d in result.dependencies]
    assert deps == [
        ("setRN", "gone/set.ma", 1, scene, scene, False),
        # Named only by the scene's -rdi line, needed via the absent set.ma; present, so read.
        ("set:leafRN", leaf.as_posix(), 2, middle, scene, True),
        ("set:leaf:leafTex", "leaf.png", 2, str(leaf), str(leaf), True),
        ("set:leaf:deepRN", "deep.ma", 3, str(leaf), str(leaf), False),
    ]
    # The unloaded reference and everything below it are left out.
    assert result.missing == [{"setRN": "gone/set.ma"}, {"set:leaf:deepRN": "deep.ma"}]
    tip = next(t for t in result.tips if t.code == "missing_reference")
    assert f"gone/set.ma (needed by {scene})" in tip.message
    assert f"deep.ma (needed by {scene} > {middle} > {leaf})" in tip.message


def frdi(depth: int, path: str, namespace: str, node: str) -> bytes:
    """An FRDI payload as Maya writes it: control bytes, the depth just before the path."""
    return b"\x01\x04\0" + bytes([depth]) + path.encode() + b"\0" + namespace.encode() + b"\0\x01\0" + (
        node.encode() + b"\0VERS|2022|\0mayaAscii\0"
    )


def test_a_binary_scene_keeps_the_nested_references_its_frdi_chunks_name(tmp_path: Path) -> None:
    """A .mb lists its whole tree in FRDI chunks, as a .ma does in -rdi lines; absent files keep theirs."""
    iff = Iff(wide=True)
    shot = tmp_path / "shot.mb"
    shot.write_bytes(iff.group(
        b"Maya",
        iff.group(b"HEAD", iff.chunk(b"VERS", b"2022"), iff.chunk(b"TUNI", b"film")),
        iff.group(b"FRDI", iff.chunk(b"FRDI", frdi(1, "gone/set.mb", "set", "setRN"))),
        iff.group(b"FRDI", iff.chunk(b"FRDI", frdi(2, "gone/props/chair.ma", "chair", "set:chairRN"))),
        iff.group(b"FRDI", iff.chunk(b"FRDI", frdi(3, "gone/props/wood.ma", "wood", "set:chair:woodRN"))),
        iff.group(b"FREF", iff.chunk(b"FREF", b"gone/set.mb\0set\0\x01\x01setRN\0VERS|2022|\0mayaBinary\0")),
        iff.group(b"XFRM", iff.chunk(b"CREA", b"\x0dpersp\0" + UUID)),
        iff.group(b"DCAM", iff.chunk(b"CREA", b"\x05perspShape\0persp\0" + UUID)),
    ))
    result = analyze_scene(shot, env={})
    scene = str(shot.resolve())
    set_mb, chair = (tmp_path / "gone" / "set.mb").as_posix(), (tmp_path / "gone" / "props" / "chair.ma").as_posix()
    assert [(d.node, d.path, d.depth, d.via, d.exists) for d in result.dependencies] == [
        ("setRN", "gone/set.mb", 1, scene, False),
        ("set:chairRN", "gone/props/chair.ma", 2, set_mb, False),
        ("set:chair:woodRN", "gone/props/wood.ma", 3, chair, False),
    ]
