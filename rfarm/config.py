"""Settings: defaults, then ``rfarm.toml``, then ``RFARM_*`` environment variables.

``load_config()`` is the only place that reads the config file and the
environment (``OSS_*`` credentials and ``RFARM_PATH_MAP`` included). Every key of :data:`KEYS` can be overridden by ``RFARM_<KEY>``;
``RFARM_CONFIG`` names the file and ``RFARM_HOME`` the folder that holds all
state (database, queue, storage, workspaces, logs).
"""
from __future__ import annotations

import getpass
import os
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, Mapping
from urllib.parse import urlsplit

from rfarm.errors import ConfigError
from rfarm.pathmap import PathMap


@dataclass(frozen=True, slots=True)
class Key:
    """One setting: its type, default and help text (mirrored in rfarm.toml.example)."""

    name: str
    kind: type
    default: Any
    help: str
    secret: bool = False


KEYS: dict[str, Key] = {
    k.name: k
    for k in (
        Key("home", str, "", "Folder for all state; default: the platform's user data folder."),
        Key("database_url", str, "", "sqlite:///PATH or postgresql://USER@HOST/DB; default: HOME/rfarm.db.", secret=True),
        Key("queue_url", str, "", "sqlite:///PATH, redis://HOST:PORT/DB or postgresql://...; default: HOME/queue.db.", secret=True),
        Key("queue_secret", str, "", "Secret that signs queue messages (required on a shared Redis).", secret=True),
        Key("storage_url", str, "", "file:///PATH or oss://BUCKET/PREFIX; default: HOME/storage.", secret=True),
        Key("workspace_dir", str, "", "Where render nodes unpack and render; default: HOME/workspaces."),
        Key("user", str, "", "Who submits; default: the OS login name."),
        Key("admins", list, [], "Users allowed to pass --all to see and control every task."),
        Key("lease_seconds", int, 60, "How long a claimed frame stays claimed without a heartbeat."),
        Key("max_attempts", int, 3, "Failed renders after which a frame fails."),
        Key("max_lost_leases", int, 5, "Lost leases (dead workers) after which a frame fails."),
        Key("blender_executable", str, "", "Path to blender; default: the bpy module, else blender on PATH."),
        Key("maya_executable", str, "", "Path to Maya's Render (Render.exe on Windows); default: on PATH."),
        Key("unreal_executable", str, "", "Path to UnrealEditor-Cmd; default: on PATH."),
        Key("oss_access_key_id", str, "", "OSS AccessKey id; default: OSS_ACCESS_KEY_ID.", secret=True),
        Key("oss_access_key_secret", str, "", "OSS AccessKey secret; default: OSS_ACCESS_KEY_SECRET.", secret=True),
        Key("oss_session_token", str, "", "OSS STS token; default: OSS_SESSION_TOKEN.", secret=True),
        Key("cache_max_gb", float, 50.0, "Size past which a node's file cache drops the least recently used files."),
        Key("workspace_keep_hours", float, 24.0, "Hours a finished task's workspace stays on a node."),
        Key("min_free_gb", float, 2.0, "Free space below which a node claims nothing."),
        Key("server_url", str, "", "https://HOST:PORT of an rfarm server; set, every command goes through it."),
        Key("token", str, "", "The token the server gave this user (rfarm login stores it).", secret=True),
        Key("server_ca", str, "", "CA file that signed the server's certificate; default: the system's store."),
        Key("api_rate_limit", int, 600, "Requests a minute the server takes from one token."),
        Key("token_days", int, 90, "Days a new token stays valid."),
        Key("token_secret", str, "", "Secret the server signs tokens with; default: one kept in the database.",
            secret=True),
    )
}

_TRUE = {"1", "true", "yes", "on"}
_FALSE = {"0", "false", "no", "off"}


def coerce(key: Key, value: Any) -> Any:
    """``value`` (from TOML or a string from the environment) as ``key``'s type."""
    if key.kind is list:
        if isinstance(value, str):
            return [v.strip() for v in value.split(",") if v.strip()]
        if isinstance(value, list):
            return [str(v) for v in value]
    elif key.kind is bool:
        if isinstance(value, bool):
            return value
        if str(value).lower() in _TRUE | _FALSE:
            return str(value).lower() in _TRUE
    elif key.kind is int:
        if isinstance(value, int) and not isinstance(value, bool):
            return value
        if isinstance(value, str) and value.strip().lstrip("-").isdigit():
            return int(value)
    elif key.kind is float:
        if isinstance(value, (int, float)) and not isinstance(value, bool):
            return float(value)
        if isinstance(value, str):
            try:
                return float(value)
            except ValueError:
                pass
    elif key.kind is str:
        if isinstance(value, (str, int, float)) and not isinstance(value, bool):
            return str(value)
    kinds = {int: "an integer", float: "a number", bool: "true or false", list: "a list", str: "a string"}
    raise ConfigError(f"config key {key.name!r} must be {kinds.get(key.kind, key.kind.__name__)}, got {value!r}")


@dataclass(frozen=True, slots=True)
class Config:
    """The effective settings, each with its type; ``sources`` says where each came from."""

    home: str
    database_url: str
    queue_url: str
    queue_secret: str
    storage_url: str
    workspace_dir: str
    user: str
    admins: list[str]
    lease_seconds: int
    max_attempts: int
    max_lost_leases: int
    blender_executable: str
    maya_executable: str
    unreal_executable: str
    oss_access_key_id: str
    oss_access_key_secret: str
    oss_session_token: str
    cache_max_gb: float
    workspace_keep_hours: float
    min_free_gb: float
    server_url: str
    token: str
    server_ca: str
    api_rate_limit: int
    token_days: int
    token_secret: str
    sources: Mapping[str, str]
    path: Path
    #: ``[[path_map]]`` rules (or ``RFARM_PATH_MAP``), parsed once
    path_map: PathMap = field(default_factory=PathMap)
    #: tables and keys of the file rfarm does not know (kept, not used)
    extra: Mapping[str, Any] = field(default_factory=dict)

    @property
    def values(self) -> dict[str, Any]:
        """Every key of :data:`KEYS` with its effective value."""
        return {name: getattr(self, name) for name in KEYS}

    @property
    def home_dir(self) -> Path:
        return Path(self.home)

    @property
    def database(self) -> str:
        return self.database_url or "sqlite:///" + (self.home_dir / "rfarm.db").as_posix()

    @property
    def queue(self) -> str:
        return self.queue_url or "sqlite:///" + (self.home_dir / "queue.db").as_posix()

    @property
    def storage(self) -> str:
        return self.storage_url or (self.home_dir / "storage").as_uri()

    @property
    def workspace(self) -> Path:
        return Path(self.workspace_dir or self.home_dir / "workspaces")

    @property
    def logs_dir(self) -> Path:
        return self.home_dir / "logs"

    @property
    def is_admin(self) -> bool:
        return self.user in self.admins

    def with_user(self, user: str | None) -> Config:
        """A copy acting as ``user`` (the ``--user`` flag)."""
        if not user:
            return self
        return replace(self, user=user, sources={**self.sources, "user": "flag"})


#: where OSS credentials come from when no ``RFARM_OSS_*`` variable or file key sets them
_OSS_ENV = {"oss_access_key_id": "OSS_ACCESS_KEY_ID", "oss_access_key_secret": "OSS_ACCESS_KEY_SECRET",
            "oss_session_token": "OSS_SESSION_TOKEN"}


def default_home() -> Path:
    import platformdirs

    return Path(platformdirs.user_data_dir("rfarm", appauthor=False))


def config_path(env: Mapping[str, str]) -> Path:
    """The config file: ``RFARM_CONFIG``, else ``$RFARM_HOME/rfarm.toml``, else the user config folder."""
    if env.get("RFARM_CONFIG"):
        return Path(env["RFARM_CONFIG"]).expanduser()
    if env.get("RFARM_HOME"):
        return Path(env["RFARM_HOME"]).expanduser() / "rfarm.toml"
    import platformdirs

    return Path(platformdirs.user_config_dir("rfarm", appauthor=False)) / "rfarm.toml"


def read_toml(path: Path) -> dict[str, Any]:
    if not path.is_file():
        return {}
    import tomlkit

    try:
        return tomlkit.parse(path.read_text(encoding="utf-8")).unwrap()
    except (OSError, UnicodeDecodeError, tomlkit.exceptions.ParseError) as exc:
        raise ConfigError(f"cannot read config file {path}: {exc}") from exc


def load_config(env: Mapping[str, str] | None = None) -> Config:
    """The effective configuration from defaults, the file and the environment."""
    env = os.environ if env is None else env
    path = config_path(env)
    data = read_toml(path)
    values: dict[str, Any] = {}
    sources: dict[str, str] = {}
    for name, key in KEYS.items():
        env_name = "RFARM_" + name.upper()
        if env.get(env_name, "") != "":
            values[name], sources[name] = coerce(key, env[env_name]), f"env {env_name}"
        elif name in data:
            values[name], sources[name] = coerce(key, data[name]), f"file {path}"
        elif env.get(_OSS_ENV.get(name, ""), ""):
            values[name], sources[name] = env[_OSS_ENV[name]], f"env {_OSS_ENV[name]}"
        else:
            values[name], sources[name] = key.default, "default"
    if not values["home"]:
        values["home"] = str(default_home())
    values["home"] = str(Path(values["home"]).expanduser().resolve())
    if not values["user"]:
        values["user"], sources["user"] = login_name(), "default (OS login)"
    if values["lease_seconds"] < 2:
        raise ConfigError("lease_seconds must be at least 2")
    for name in ("api_rate_limit", "token_days"):
        if values[name] < 1:
            raise ConfigError(f"{name} must be at least 1, got {values[name]}")
    if values["server_url"] and urlsplit(values["server_url"]).scheme not in ("http", "https"):
        raise ConfigError(f"server_url must be http://HOST:PORT or https://HOST:PORT, got {values['server_url']!r}")
    if env.get("RFARM_PATH_MAP"):
        path_map = PathMap.parse(env["RFARM_PATH_MAP"], source="RFARM_PATH_MAP")
    else:
        path_map = PathMap.parse(data.get("path_map", []))
    extra = {k: v for k, v in data.items() if k not in KEYS and k != "path_map"}
    return Config(**values, sources=sources, path=path, path_map=path_map, extra=extra)


def login_name() -> str:
    try:
        return getpass.getuser()
    except (KeyError, OSError):
        return os.environ.get("USERNAME") or "user"


def masked(key: Key, value: Any) -> Any:
    """``value`` with any password or secret hidden."""
    if not key.secret or not value:
        return value
    text = str(value)
    if "://" in text:
        from urllib.parse import urlsplit, urlunsplit

        parts = urlsplit(text)
        if parts.password:
            netloc = parts.netloc.replace(f":{parts.password}@", ":***@")
            return urlunsplit(parts._replace(netloc=netloc))
        return text
    return "***"


def set_key(path: Path, name: str, raw: str) -> Any:
    """Set ``name`` to ``raw`` in the config file at ``path``, keeping its comments."""
    import tomlkit

    key = KEYS.get(name)
    if key is None:
        raise ConfigError(f"unknown config key {name!r}; known keys: {', '.join(KEYS)}")
    value = coerce(key, raw)
    if path.exists() and not path.is_file():
        raise ConfigError(f"{path} is not a file; move it aside to keep settings there")
    doc = tomlkit.parse(path.read_text(encoding="utf-8")) if path.is_file() else tomlkit.document()
    doc[name] = value
    tmp = path.with_name(path.name + ".tmp")
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp.write_text(tomlkit.dumps(doc), encoding="utf-8")
        if path.is_file():  # keep the file's permissions (a file holding a token is the owner's alone)
            os.chmod(tmp, path.stat().st_mode & 0o7777)
        os.replace(tmp, path)
    except OSError as exc:
        if tmp.is_file():
            tmp.unlink()
        raise ConfigError(f"cannot write {path}: {exc.strerror or exc}") from None
    return value
