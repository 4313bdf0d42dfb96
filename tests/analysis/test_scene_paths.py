"""Path resolution: variables, mapping, project rules, tile and frame patterns."""
from __future__ import annotations

from pathlib import Path

import pytest

from rfarm.analysis import paths
from rfarm.analysis.paths import PathResolver, Project


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("C:\\Users\\me\\tex.png", "C:/Users/me/tex.png"),
        ("D:/proj//cache/alembic/x.abc", "D:/proj/cache/alembic/x.abc"),
        ("//server/share//a.exr", "//server/share/a.exr"),
        ("\\\\nas\\proj\\a.exr", "//nas/proj/a.exr"),
    ],
)
def test_normalise(raw: str, expected: str) -> None:
    assert paths.normalise(raw) == expected


def test_expand_variables() -> None:
    env = {"PROJ": "/mnt/proj", "LIB": "/lib"}
    assert paths.expand_variables("$PROJ/a/${LIB}/b", env, windows=False) == ("/mnt/proj/a//lib/b", ())
    assert paths.expand_variables("%PROJ%/a", env, windows=False) == ("%PROJ%/a", ())
    assert paths.expand_variables("%PROJ%/a", env, windows=True) == ("/mnt/proj/a", ())
    assert paths.expand_variables("$NOPE/x", env, windows=False) == ("$NOPE/x", ("NOPE",))


def test_map_path_longest_prefix_whole_components() -> None:
    rules = [("P:/", "/mnt/p"), ("p:\\show\\shots", "/mnt/shots"), ("/data", "/srv/data")]
    assert paths.map_path("P:/show/shots/a.exr", rules) == ("/mnt/shots/a.exr", True)
    assert paths.map_path("P:/show/assets/a.exr", rules) == ("/mnt/p/show/assets/a.exr", True)
    assert paths.map_path("/data/x", rules) == ("/srv/data/x", True)
    assert paths.map_path("/database/x", rules) == ("/database/x", False)
    assert paths.map_path("/DATA/x", rules) == ("/DATA/x", False)


@pytest.mark.parametrize(
    ("pattern", "matches", "rejects"),
    [
        ("col.<UDIM>.exr", ["col.1001.exr", "col.1012.exr"], ["col.101.exr", "col.<UDIM>.exr"]),
        ("col.<udim>.tif", ["col.1001.tif"], ["col.a.tif"]),
        ("col_<UVTILE>.png", ["col_u1_v1.png"], ["col_1001.png"]),
        ("nr_u<u>v<v>.tga", ["nr_u1v2.tga"], ["nr_uv.tga"]),
        ("mudbox._u<utile>_v<vtile>.tif", ["mudbox._u1_v1.tif"], ["mudbox.tif"]),
        ("plate.<f>.jpg", ["plate.1.jpg", "plate.0100.jpg", "plate.-5.jpg"], ["plate..jpg"]),
        ("plate.####.jpg", ["plate.0001.jpg", "plate.12345.jpg"], ["plate.001.jpg"]),
        ("u#_v#.png", ["u1_v1.png"], ["u_v.png"]),
        ("plate.%04d.exr", ["plate.0042.exr"], ["plate.42.exr"]),
        ("mari.<attr:myString>.tif", ["mari.1001.tif", "mari.x.tif"], ["mari.tif"]),
        ("seq.*.png", ["seq.0001.png"], ["seq.png"]),
    ],
)
def test_sequence_patterns(pattern: str, matches: list[str], rejects: list[str]) -> None:
    regex = paths.sequence_regex(pattern)
    assert regex is not None
    assert all(regex.fullmatch(name) for name in matches)
    assert not any(regex.fullmatch(name) for name in rejects)


def test_plain_names_are_not_patterns() -> None:
    assert paths.sequence_regex("wall_1001.exr") is None


def test_workspace_rules_and_project_search(tmp_path: Path) -> None:
    root = tmp_path / "show"
    (root / "scenes" / "sq01").mkdir(parents=True)
    (root / "workspace.mel").write_text(
        '//Maya 2024 Project Definition\nworkspace -fr "sourceImages" "Images";\n'
        'workspace -fileRule "alembicCache" "D:/caches";\nworkspace -v "x" "y";\n'
    )
    project = paths.find_project(root / "scenes" / "sq01" / "shot.ma")
    assert project is not None and project.root == root.resolve()
    assert project.rules["sourceImages"] == "Images"
    assert project.rules["alembicCache"] == "D:/caches"
    assert project.rules["scene"] == "scenes"
    assert paths.find_project(tmp_path / "elsewhere" / "x.ma") is None


def test_relative_paths_try_root_then_rule_then_scene_folder(tmp_path: Path) -> None:
    root = tmp_path / "proj"
    (root / "Images").mkdir(parents=True)
    (root / "scenes").mkdir()
    resolver = PathResolver(root / "scenes" / "shot.ma", project=Project(root, {"sourceImages": "Images"}), env={})
    (root / "scenes" / "a.png").write_bytes(b"x")
    assert resolver.resolve("a.png", kind="texture").resolved == (root / "scenes" / "a.png").as_posix()
    (root / "Images" / "a.png").write_bytes(b"x")
    assert resolver.resolve("a.png", kind="texture").resolved == (root / "Images" / "a.png").as_posix()
    (root / "a.png").write_bytes(b"x")
    assert resolver.resolve("./a.png", kind="texture").resolved == (root / "a.png").as_posix()
    missing = resolver.resolve("b.png", kind="texture")
    assert (missing.resolved, missing.exists, missing.files) == ((root / "b.png").as_posix(), False, ())


def test_drive_letters_are_local_unless_mapped(tmp_path: Path) -> None:
    (tmp_path / "tex").mkdir()
    (tmp_path / "tex" / "a.png").write_bytes(b"x")
    plain = PathResolver(tmp_path / "s.ma", env={})
    assert plain.resolve("C:/tex/a.png").local_only
    assert not plain.resolve("/tex/a.png").local_only
    mapped = PathResolver(tmp_path / "s.ma", path_map=[("c:/", str(tmp_path))], env={})
    found = mapped.resolve("C:\\tex\\a.png")
    assert found.exists and not found.local_only


def test_reference_copy_numbers_are_stripped(tmp_path: Path) -> None:
    (tmp_path / "rig.ma").write_text("//Maya ASCII 2020 scene\n")
    resolver = PathResolver(tmp_path / "shot.ma", env={})
    assert resolver.resolve("rig.ma{2}", kind="reference").exists
    assert not resolver.resolve("rig.ma{2}", kind="texture").exists
