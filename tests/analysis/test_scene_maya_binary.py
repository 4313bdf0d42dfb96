"""Maya binary files: FOR4 and FOR8 scenes built chunk by chunk, as Maya lays them out."""
from __future__ import annotations

import struct
from pathlib import Path

import pytest

from rfarm.analysis import analyze_scene


class Iff:
    """Writes IFF chunks: FOR4 (32-bit sizes, 4-byte padding) or FOR8 (64-bit, 8-byte)."""

    def __init__(self, *, wide: bool) -> None:
        self.wide = wide
        self.align = 8 if wide else 4

    def _header(self, tag: bytes, size: int) -> bytes:
        if self.wide:
            return tag + b"\xfd\x7f\x00\x00" + struct.pack(">Q", size)
        return tag + struct.pack(">I", size)

    def chunk(self, tag: bytes, payload: bytes) -> bytes:
        return self._header(tag, len(payload)) + payload + bytes(-len(payload) % self.align)

    def group(self, form: bytes, *children: bytes, tag: bytes | None = None) -> bytes:
        payload = form + b"".join(children)
        return self._header(tag or (b"FOR8" if self.wide else b"FOR4"), len(payload)) + payload

    def attr(self, tag: bytes, name: str, value: bytes) -> bytes:
        return self.chunk(tag, name.encode() + b"\0\x20" + value)


UUID = bytes(range(16))


def build_scene(wide: bool) -> bytes:
    iff = Iff(wide=wide)
    ticks = 141_120_000 if wide else 6000
    per_frame = ticks // 24
    time_value = (lambda frame: struct.pack(">q", frame * per_frame)) if wide else (
        lambda frame: struct.pack(">i", frame * per_frame)
    )
    version = b"2022" if wide else b"2012"
    uuid = UUID if wide else b""
    plug = b"myShaders\x001.2 \x00 -nodeType \"texHolder\"\x00texHolder\x00" + struct.pack(">I", 0x0BADF00D)
    header = [
        iff.chunk(b"VERS", version),
        iff.chunk(b"UVER", b"undef"),
        iff.chunk(b"INCL", b"undef("),
        iff.chunk(b"LUNI", b"cm"),
        iff.chunk(b"TUNI", b"film"),
        iff.chunk(b"AUNI", b"deg"),
    ]
    if wide:
        header.append(iff.chunk(b"TDUR", b"141120000\0"))
    header += [
        iff.chunk(b"FINF", b"product\0Maya 2022\0"),
        iff.chunk(b"PLUG", b"mtoa\x005.0.0\x00 -nodeType \"aiImage\"\x00aiImage\x00" + struct.pack(">I", 0x00115D17)),
        iff.chunk(b"PLUG", plug),
    ]
    nodes = [
        iff.group(b"FREF", iff.chunk(b"FREF", b"assets/rig.mb{1}\0rig\0\x01\x01rigRN\0VERS|2022|\0mayaBinary\0")),
        iff.group(b"XFRM", iff.chunk(b"CREA", b"\x0dshotCam\0" + uuid)),
        iff.group(
            b"DCAM",
            iff.chunk(b"CREA", b"\x05shotCamShape\0shotCam\0" + uuid),
            iff.attr(b"STR ", "imn", b"shotCam\0"),
        ),
        iff.group(b"XFRM", iff.chunk(b"CREA", b"\x0dpersp\0" + uuid)),
        iff.group(
            b"DCAM",
            iff.chunk(b"CREA", b"\x05perspShape\0persp\0" + uuid),
            iff.attr(b"DBLE", "rnd", struct.pack(">d", 0.0)),
        ),
        iff.group(
            b"RTFT",
            iff.chunk(b"CREA", b"\x00wall\0" + uuid),
            iff.attr(b"STR ", "ftn", b"sourceimages/wall.<UDIM>.tx\0"),
            iff.attr(b"STR ", "cs", b"sRGB\0"),
        ),
        iff.group(
            struct.pack(">I", 0x00115D17),
            iff.chunk(b"CREA", b"\x00aiImage1\0" + uuid),
            iff.attr(b"STR ", "filename", b"D:/tex/noise.exr\0"),
        ),
        iff.group(
            struct.pack(">I", 0x0BADF00D),
            iff.chunk(b"CREA", b"\x00holder1\0" + uuid),
            iff.attr(b"STR ", "data", b"/mnt/lib/holder.vdb\0"),
        ),
        iff.group(
            struct.pack(">I", 0x00082697),
            iff.chunk(b"CREA", b"\x00abc1\0" + uuid),
            iff.attr(b"STR#", "fns", struct.pack(">I", 2) + b"cache/a.abc\0cache/b.abc\0"),
        ),
        iff.group(b"RNDL", iff.chunk(b"CREA", b"\x00defaultRenderLayer\0" + uuid), iff.attr(b"DBLE", "g", struct.pack(">d", 1.0))),
        iff.group(b"RNDL", iff.chunk(b"CREA", b"\x00beauty\0" + uuid), iff.attr(b"DBLE", "rndr", struct.pack(">d", 0.0))),
        iff.group(b"SLCT", iff.chunk(b"SLCT", b":time1"), iff.attr(b"DBLE", "o", time_value(1010))),
        iff.group(
            b"SLCT",
            iff.chunk(b"SLCT", b":defaultRenderGlobals"),
            iff.attr(b"STR ", "ren", b"arnold\0"),
            iff.attr(b"DBLE", "an", struct.pack(">d", 1.0)),
            iff.attr(b"DBLE", "fs", time_value(1001)),
            iff.attr(b"DBLE", "ef", time_value(1048)),
            iff.attr(b"DBLE", "outf", struct.pack(">d", 51.0)),
            iff.attr(b"STR ", "imfkey", b"exr\0"),
            iff.attr(b"STR ", "ifp", b"<Scene>/<RenderLayer>\0"),
        ),
        iff.group(
            b"SLCT",
            iff.chunk(b"SLCT", b":defaultResolution"),
            iff.attr(b"DBLE", "w", struct.pack(">d", 2048.0)),
            iff.attr(b"DBLE", "h", struct.pack(">d", 858.0)),
        ),
        # A CONS list whose one CONN form is not a multiple of 8 long: no padding after groups.
        iff.group(b"CONS", iff.group(b"CONN", iff.chunk(b"CWFL", b"\x00wall.oc\0lambert2.c\0")), tag=b"LIS8" if wide else b"LIS4"),
        iff.group(b"HEAD", iff.chunk(b"OBJN", b"12"), iff.chunk(b"INCL", b"undef(")),
    ]
    return iff.group(b"Maya", iff.group(b"HEAD", *header), *nodes)


@pytest.mark.parametrize("wide", [True, False], ids=["FOR8", "FOR4"])
def test_binary_scene(tmp_path: Path, wide: bool) -> None:
    path = tmp_path / "shot.mb"
    path.write_bytes(build_scene(wide))
    result = analyze_scene(path, env={})
    info = result.to_dict()["scene_info"]
    assert {key: info[key] for key in ("software_version", "renderer", "start", "end", "animation", "current_frame")} == {
        "software_version": "2022" if wide else "2012",
        "renderer": "arnold",
        "start": 1001,
        "end": 1048,
        "animation": True,
        "current_frame": 1010,
    }
    assert (info["width"], info["height"], info["image_format"], info["image_prefix"]) == (
        2048, 858, "exr", "<Scene>/<RenderLayer>",
    )
    assert info["cameras"] == ["shotCam"]
    assert info["render_layers"] == [
        {"name": "defaultRenderLayer", "renderable": True, "render_setup_layer": None, "overrides": {}},
        {"name": "beauty", "renderable": False, "render_setup_layer": None, "overrides": {}},
    ]
    assert info["plugins"] == {"mtoa": "5.0.0", "myShaders": "1.2"}
    deps = [(d.kind, d.node, d.node_type, d.attr, d.path) for d in result.dependencies]
    assert deps == [
        ("texture", "wall", "file", "ftn", "sourceimages/wall.<UDIM>.tx"),
        ("texture", "aiImage1", "aiImage", "filename", "D:/tex/noise.exr"),
        ("alembic", "abc1", "AlembicNode", "fns[0]", "cache/a.abc"),
        ("alembic", "abc1", "AlembicNode", "fns[1]", "cache/b.abc"),
        ("reference", "rigRN", "reference", "", "assets/rig.mb{1}"),
    ]
    assert not any(tip.code == "truncated" for tip in result.tips)
    # A plug-in node's path the attribute table does not know: a tip, not an input.
    unknown = next(tip for tip in result.tips if tip.code == "unknown_path_attribute")
    assert "holder1.data = /mnt/lib/holder.vdb" in unknown.message


def test_udim_tiles_in_a_binary_scene_expand(tmp_path: Path) -> None:
    (tmp_path / "sourceimages").mkdir()
    for tile in (1001, 1002):
        (tmp_path / "sourceimages" / f"wall.{tile}.tx").write_bytes(b"tx")
    (tmp_path / "workspace.mel").write_text('workspace -fr "sourceImages" "sourceimages";\n')
    (tmp_path / "scenes").mkdir()
    path = tmp_path / "scenes" / "shot.mb"
    path.write_bytes(build_scene(True))
    wall = analyze_scene(path, env={}).dependencies[0]
    assert [Path(f).name for f in wall.files] == ["wall.1001.tx", "wall.1002.tx"]


@pytest.mark.parametrize("wide", [True, False], ids=["FOR8", "FOR4"])
def test_rewriting_paths_keeps_the_file_readable_and_every_other_byte(tmp_path: Path, wide: bool) -> None:
    """References (FREF, FRDI) and string attributes take new paths of any length; sizes follow."""
    from rfarm.analysis.maya_binary import rewrite_paths

    iff = Iff(wide=wide)
    data = iff.group(
        b"Maya",
        iff.group(b"HEAD", iff.chunk(b"VERS", b"2022"), iff.chunk(b"TUNI", b"film")),
        iff.group(b"FRDI", iff.chunk(b"FRDI", b"\x01\x04\0\x01C:/show/set.mb\0set\0\x01\0setRN\0VERS|2022|\0mayaBinary\0")),
        iff.group(b"FREF", iff.chunk(b"FREF", b"C:/show/set.mb\0set\0\x01\x01setRN\0VERS|2022|\0mayaBinary\0")),
        iff.group(b"RTFT", iff.chunk(b"CREA", b"\x00wall\0" + UUID), iff.attr(b"STR ", "ftn", b"tex/wall.png\0"),
                  iff.attr(b"STR ", "cs", b"sRGB\0")),
        iff.group(b"XFRM", iff.chunk(b"CREA", b"\x0dpersp\0" + UUID)),
        iff.group(b"DCAM", iff.chunk(b"CREA", b"\x05perspShape\0persp\0" + UUID)),
    )
    assert rewrite_paths(data, {"D:/elsewhere.ma": "/x.ma"}) == (data, 0)
    new, count = rewrite_paths(data, {"C:/show/set.mb": "/w/alice/7/project/set.mb", "tex/wall.png": "/w/t/w.png"})
    assert count == 3
    scene = tmp_path / "shot.mb"
    scene.write_bytes(new)
    result = analyze_scene(scene, env={})
    assert [(d.kind, d.node, d.path) for d in result.dependencies] == [
        ("texture", "wall", "/w/t/w.png"),
        ("reference", "setRN", "/w/alice/7/project/set.mb"),
    ]
    # Back again: the same bytes as before.
    assert rewrite_paths(new, {"/w/alice/7/project/set.mb": "C:/show/set.mb", "/w/t/w.png": "tex/wall.png"}) == (
        data, 3)
