"""Path mapping between Windows and POSIX nodes (drive letters, UNC, long paths, case)."""
from __future__ import annotations

import ntpath

from pathlib import Path

import pytest

from rfarm.errors import ConfigError
from rfarm.pathmap import PathMap, PathRule, is_windows_path, normalize_windows

RULES = PathMap([
    PathRule("//nas/proj", "/mnt/proj"),
    PathRule(r"\\NAS\proj\shots", "/mnt/shots"),
    PathRule("P:/", "/mnt/p"),
])


@pytest.mark.parametrize(("windows", "posix"), [
    (r"\\nas\PROJ\chars\hero.ma", "/mnt/proj/chars/hero.ma"),
    (r"\\nas\proj\shots\s010\s010.ma", "/mnt/shots/s010/s010.ma"),  # the longest prefix wins
    ("//NAS/proj/shots", "/mnt/shots"),
    (r"p:\tex\wood.tx", "/mnt/p/tex/wood.tx"),
    (r"\\?\UNC\nas\proj\a.abc", "/mnt/proj/a.abc"),
    (r"\\?\P:\tex\b.tx", "/mnt/p/tex/b.tx"),
    ("C:/local/only.png", "C:/local/only.png"),  # no rule: normalised, not mapped
])
def test_windows_paths_map_to_posix(windows: str, posix: str) -> None:
    assert RULES.to_posix(windows) == posix
    assert RULES.for_os(windows, "Linux") == posix


def test_posix_paths_map_to_windows_and_back() -> None:
    assert RULES.to_windows("/mnt/proj/chars/hero.ma") == "//nas/proj/chars/hero.ma"
    assert RULES.to_windows("/mnt/shots/s010") == "//NAS/proj/shots/s010"
    assert RULES.to_windows("/mnt/projects/x") == "/mnt/projects/x", "a prefix matches whole segments only"
    assert RULES.for_os("/mnt/p/tex/wood.tx", "Windows") == "P:/tex/wood.tx"
    for path in ("/mnt/proj/a/b.ma", "/mnt/p/c.tx"):
        assert RULES.to_posix(RULES.to_windows(path)) == path
    assert ntpath.splitdrive(RULES.to_windows("/mnt/p/c.tx"))[0] == "P:"
    assert ntpath.splitdrive(RULES.to_windows("/mnt/proj/a"))[0].lower() == "//nas/proj"


def test_recognises_windows_paths() -> None:
    assert is_windows_path("C:\\x") and is_windows_path("d:/x") and is_windows_path(r"\\nas\share")
    assert is_windows_path(r"\\?\C:\very\long")
    assert not is_windows_path("/mnt/x") and not is_windows_path("relative/x") and not is_windows_path("///x")
    assert normalize_windows(r"c:\A\b") == "C:/A/b"


def test_rules_from_config_and_environment(tmp_path: Path) -> None:
    from rfarm.config import load_config

    (tmp_path / "rfarm.toml").write_text('[[path_map]]\nwindows = "//nas/proj"\nposix = "/mnt/proj"\n')
    env = {"RFARM_HOME": str(tmp_path)}
    assert load_config(env).path_map.to_posix(r"\\nas\proj\x") == "/mnt/proj/x"
    override = {**env, "RFARM_PATH_MAP": '[{"windows": "Q:/", "posix": "/q"}]'}
    assert load_config(override).path_map.to_posix("Q:/a") == "/q/a"
    assert load_config(override).path_map.to_posix(r"\\nas\proj\x") == "//nas/proj/x"  # the variable replaces the file's rules
    with pytest.raises(ConfigError):
        PathMap.parse([{"windows": "Q:/"}])
    with pytest.raises(ConfigError, match="RFARM_PATH_MAP is not JSON"):
        load_config({**env, "RFARM_PATH_MAP": "not json"})
