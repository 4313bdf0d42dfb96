"""Configuration: defaults, the file, the environment, where each setting came from."""
from __future__ import annotations

import ntpath
from pathlib import Path, PurePosixPath, PureWindowsPath

import pytest

from rfarm.config import KEYS, Config, coerce, load_config, masked, set_key
from rfarm.state.db import sqlite_path
from rfarm.errors import ConfigError
from rfarm.renderers import renderer_for_scene


@pytest.fixture
def isolated(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """platformdirs' folders point into tmp_path, so the real user's files are never read."""
    for name in ("XDG_CONFIG_HOME", "XDG_DATA_HOME"):
        monkeypatch.setenv(name, str(tmp_path / name.lower()))
    return tmp_path


def write(path: Path, text: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    return path


def test_defaults(isolated: Path) -> None:
    home = isolated / "h"
    config = load_config({"RFARM_HOME": str(home), "RFARM_USER": "alice"})
    assert config.lease_seconds == 60
    assert config.max_attempts == 3
    assert config.max_lost_leases == 5
    assert config.admins == []
    assert config.home_dir == home.resolve()
    assert config.path == home / "rfarm.toml"
    assert config.database == "sqlite:///" + (home.resolve() / "rfarm.db").as_posix()
    assert config.queue == "sqlite:///" + (home.resolve() / "queue.db").as_posix()
    assert config.storage == (home.resolve() / "storage").as_uri()
    assert config.workspace == home.resolve() / "workspaces"
    assert config.logs_dir == home.resolve() / "logs"
    assert sqlite_path(config.database) == home.resolve() / "rfarm.db"
    for name in KEYS:
        if name not in ("home", "user"):
            assert config.sources[name] == "default", name
    assert config.sources["home"] == "env RFARM_HOME"
    assert config.sources["user"] == "env RFARM_USER"


def test_user_defaults_to_the_os_login(isolated: Path) -> None:
    import getpass

    config = load_config({"RFARM_HOME": str(isolated / "h")})
    assert config.user == getpass.getuser()
    assert config.sources["user"].startswith("default")


def test_home_defaults_to_the_platform_data_folder(isolated: Path) -> None:
    config = load_config({})
    assert config.home_dir == (isolated / "xdg_data_home" / "rfarm").resolve()
    assert config.path == isolated / "xdg_config_home" / "rfarm" / "rfarm.toml"


def test_file_values_and_sources(isolated: Path) -> None:
    home = isolated / "h"
    path = write(home / "rfarm.toml", 'lease_seconds = 30\nadmins = ["bob", "carol"]\nfuture_key = 1\n')
    config = load_config({"RFARM_HOME": str(home)})
    assert config.lease_seconds == 30
    assert config.admins == ["bob", "carol"]
    assert config.sources["lease_seconds"] == f"file {path}"
    assert config.sources["max_attempts"] == "default"
    assert config.extra == {"future_key": 1}


def test_environment_beats_the_file(isolated: Path) -> None:
    home = isolated / "h"
    write(home / "rfarm.toml", 'lease_seconds = 30\nmax_attempts = 4\nadmins = ["bob"]\n')
    env = {"RFARM_HOME": str(home), "RFARM_LEASE_SECONDS": "7", "RFARM_ADMINS": "x, y,", "RFARM_MAX_ATTEMPTS": ""}
    config = load_config(env)
    assert config.lease_seconds == 7
    assert config.sources["lease_seconds"] == "env RFARM_LEASE_SECONDS"
    assert config.admins == ["x", "y"]
    # an empty variable does not override
    assert config.max_attempts == 4
    assert config.sources["max_attempts"].startswith("file ")


def test_every_key_has_an_environment_override(isolated: Path) -> None:
    samples = {str: "some-value", int: "9", list: "a,b", bool: "true", float: "1.5"}
    for name, key in KEYS.items():
        env = {"RFARM_HOME": str(isolated / "h"), f"RFARM_{name.upper()}": samples[key.kind]}
        if name == "home":
            env[f"RFARM_{name.upper()}"] = str(isolated / "other")
        if key.schemes:  # a URL
            env[f"RFARM_{name.upper()}"] = f"{key.schemes[0]}://farm.example/x"
        config = load_config(env)
        assert config.sources[name] == f"env RFARM_{name.upper()}", name


def test_rfarm_home_makes_its_file_the_only_one_read(isolated: Path) -> None:
    write(isolated / "xdg_config_home" / "rfarm" / "rfarm.toml", "lease_seconds = 99\nmax_attempts = 9\n")
    # without RFARM_HOME the user config file is read ...
    assert load_config({}).lease_seconds == 99
    # ... with it, only $RFARM_HOME/rfarm.toml
    home = isolated / "h"
    config = load_config({"RFARM_HOME": str(home)})
    assert config.lease_seconds == 60 and config.max_attempts == 3
    write(home / "rfarm.toml", "lease_seconds = 42\n")
    config = load_config({"RFARM_HOME": str(home)})
    assert config.lease_seconds == 42
    assert config.max_attempts == 3
    assert config.path == home / "rfarm.toml"


def test_rfarm_config_wins(isolated: Path) -> None:
    home = isolated / "h"
    write(home / "rfarm.toml", "lease_seconds = 22\n")
    other = write(isolated / "elsewhere" / "mine.toml", "lease_seconds = 11\n")
    config = load_config({"RFARM_HOME": str(home), "RFARM_CONFIG": str(other)})
    assert config.lease_seconds == 11
    assert config.path == other
    assert config.sources["lease_seconds"] == f"file {other}"
    # RFARM_HOME still decides where state lives
    assert config.home_dir == home.resolve()


def test_home_from_the_file(isolated: Path) -> None:
    other = write(isolated / "c.toml", f'home = "{(isolated / "state").as_posix()}"\n')
    config = load_config({"RFARM_CONFIG": str(other)})
    assert config.home_dir == (isolated / "state").resolve()
    assert config.database.endswith("/state/rfarm.db")


def test_set_key_keeps_comments(isolated: Path) -> None:
    path = write(
        isolated / "rfarm.toml",
        "# rfarm settings\n# the lease, in seconds\nlease_seconds = 30  # keep it short\n\nadmins = [\"bob\"] # who\n",
    )
    assert set_key(path, "lease_seconds", "120") == 120
    assert set_key(path, "admins", "ann, ben") == ["ann", "ben"]
    assert set_key(path, "user", "carol") == "carol"
    text = path.read_text(encoding="utf-8")
    for comment in ("# rfarm settings", "# the lease, in seconds", "# keep it short", "# who"):
        assert comment in text
    assert "lease_seconds = 120" in text
    config = load_config({"RFARM_CONFIG": str(path)})
    assert (config.lease_seconds, config.admins, config.user) == (120, ["ann", "ben"], "carol")
    assert not path.with_name("rfarm.toml.tmp").exists()


def test_set_key_creates_the_file(isolated: Path) -> None:
    path = isolated / "new" / "rfarm.toml"
    set_key(path, "max_attempts", "5")
    assert load_config({"RFARM_CONFIG": str(path)}).max_attempts == 5


def test_set_key_refuses_bad_input(isolated: Path) -> None:
    path = write(isolated / "rfarm.toml", "# keep\nlease_seconds = 30\n")
    before = path.read_text()
    with pytest.raises(ConfigError, match="unknown config key"):
        set_key(path, "no_such_key", "1")
    with pytest.raises(ConfigError, match="must be an integer"):
        set_key(path, "lease_seconds", "soon")
    assert path.read_text() == before


@pytest.mark.parametrize(
    ("env", "text"),
    [
        ({"RFARM_LEASE_SECONDS": "abc"}, ""),
        ({"RFARM_LEASE_SECONDS": "1"}, ""),
        ({"RFARM_MAX_ATTEMPTS": "3.5"}, ""),
        ({}, 'lease_seconds = "x"\n'),
        ({}, "max_attempts = true\n"),
        ({}, "admins = 5\n"),
        ({}, "user = true\n"),
        ({}, "lease_seconds = [\n"),  # not TOML
    ],
)
def test_bad_values_are_config_errors(isolated: Path, env: dict[str, str], text: str) -> None:
    home = isolated / "h"
    if text:
        write(home / "rfarm.toml", text)
    with pytest.raises(ConfigError):
        load_config({"RFARM_HOME": str(home), **env})


def test_coerce() -> None:
    assert coerce(KEYS["lease_seconds"], " 12 ") == 12
    assert coerce(KEYS["lease_seconds"], "-3") == -3
    assert coerce(KEYS["admins"], ["a", 1]) == ["a", "1"]
    assert coerce(KEYS["user"], 7) == "7"


@pytest.mark.parametrize(
    ("name", "value", "shown"),
    [
        ("database_url", "postgresql://rf:s3cret@db.example:5432/farm", "postgresql://rf:***@db.example:5432/farm"),
        ("queue_url", "redis://:hunter2@cache:6379/0", "redis://:***@cache:6379/0"),
        ("database_url", "postgresql://rf@db/farm", "postgresql://rf@db/farm"),
        ("database_url", "sqlite:///C:/farm/rfarm.db", "sqlite:///C:/farm/rfarm.db"),
        ("queue_secret", "abc123", "***"),
        ("queue_secret", "", ""),
        ("user", "alice", "alice"),
        ("lease_seconds", 60, 60),
    ],
)
def test_masked(name: str, value: object, shown: object) -> None:
    assert masked(KEYS[name], value) == shown


def test_masked_never_shows_a_password() -> None:
    value = "postgresql://user:pa55@word@host/db"
    assert "pa55" not in str(masked(KEYS["database_url"], value))


# -- Windows paths stay Windows paths -----------------------------------------------


@pytest.mark.parametrize(
    ("url", "posix", "drive"),
    [
        ("sqlite:///C:/farm/rfarm.db", "C:/farm/rfarm.db", "C:"),
        ("sqlite:///d:/Farm Data/rfarm.db", "d:/Farm Data/rfarm.db", "d:"),
        ("sqlite:////var/lib/rfarm/rfarm.db", "/var/lib/rfarm/rfarm.db", ""),
        ("sqlite://///nas/share/rfarm.db", "//nas/share/rfarm.db", "\\\\nas\\share"),
        ("sqlite:///\\\\?\\C:\\farm\\rfarm.db", "\\\\?\\C:\\farm\\rfarm.db", "\\\\?\\C:"),
    ],
)
def test_sqlite_path_keeps_windows_paths(url: str, posix: str, drive: str) -> None:
    path = sqlite_path(url)
    assert (str(path) if "\\" in posix else path.as_posix()) == posix
    assert PureWindowsPath(str(path)).drive == drive
    assert ntpath.splitdrive(str(path))[0].replace("/", "\\") == drive


def test_sqlite_path_needs_a_file() -> None:
    with pytest.raises(ConfigError):
        sqlite_path("sqlite:///")


def test_windows_values_are_kept_verbatim(isolated: Path) -> None:
    path = write(
        isolated / "rfarm.toml",
        "database_url = 'sqlite:///C:/farm/rfarm.db'\n"
        "storage_url = 'file:///C:/farm/storage'\n"
        "workspace_dir = 'D:\\render\\ws'\n"
        "blender_executable = 'C:\\Program Files\\Blender Foundation\\Blender 4.2\\blender.exe'\n"
        "maya_executable = '//nas/apps/maya/bin/Render.exe'\n"
        "unreal_executable = '\\\\?\\C:\\UE\\UnrealEditor-Cmd.exe'\n",
    )
    config = load_config({"RFARM_CONFIG": str(path), "RFARM_HOME": str(isolated / "h")})
    assert config.database == "sqlite:///C:/farm/rfarm.db"
    assert sqlite_path(config.database).as_posix() == "C:/farm/rfarm.db"
    assert config.storage == "file:///C:/farm/storage"
    assert str(config.workspace) == "D:\\render\\ws"
    assert PureWindowsPath(str(config.workspace)).parts == ("D:\\", "render", "ws")
    exe = PureWindowsPath(config.blender_executable)
    assert exe.drive == "C:" and exe.name == "blender.exe"
    assert PureWindowsPath(config.maya_executable).drive == "\\\\nas\\apps"
    assert PureWindowsPath(config.unreal_executable).drive == "\\\\?\\C:"
    assert config.unreal_executable == "\\\\?\\C:\\UE\\UnrealEditor-Cmd.exe"


@pytest.mark.parametrize(
    ("scene", "renderer"),
    [
        ("C:\\shots\\sh010\\light.BLEND", "blender"),
        ("\\\\nas\\proj\\maya\\scenes\\shot.mb", "maya"),
        ("\\\\?\\D:\\UE\\Game\\Game.uproject", "unreal"),
        ("//nas/proj/shot.ma", "maya"),
        (str(PurePosixPath("/srv/shots/a.blend")), "blender"),
    ],
)
def test_renderer_from_windows_scene_paths(scene: str, renderer: str) -> None:
    assert renderer_for_scene(scene) == renderer


def test_with_user_marks_the_flag(isolated: Path) -> None:
    config = load_config({"RFARM_HOME": str(isolated / "h"), "RFARM_USER": "alice", "RFARM_ADMINS": "root"})
    bob = config.with_user("bob")
    assert isinstance(bob, Config)
    assert (bob.user, bob.sources["user"]) == ("bob", "flag")
    assert config.with_user(None) is config
    assert not bob.is_admin and config.with_user("root").is_admin


def test_every_setting_is_a_typed_field_of_the_config() -> None:
    import typing

    from rfarm.config import Config

    hints = typing.get_type_hints(Config)
    kinds = {str: str, int: int, float: float, list: list[str], bool: bool}
    for name, key in KEYS.items():
        assert hints.get(name) == kinds[key.kind], f"Config.{name} should be typed {kinds[key.kind]}"


@pytest.mark.parametrize(("name", "value", "needle"), [
    ("server_url", "farm.example:8765", "server_url must be http"),
    ("server_url", "ftp://farm", "server_url must be http"),
    ("api_rate_limit", "0", "api_rate_limit must be at least 1"),
    ("token_days", "-3", "token_days must be at least 1"),
])
def test_service_settings_are_checked_at_load(isolated: Path, name: str, value: str, needle: str) -> None:
    with pytest.raises(ConfigError, match=needle):
        load_config({"RFARM_HOME": str(isolated / "h"), f"RFARM_{name.upper()}": value})
