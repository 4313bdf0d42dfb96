"""Settings: defaults, then ``rfarm.toml``, then ``RFARM_*`` environment variables.

``load_config()`` is the only place that reads the config file and the
environment (``OSS_*`` credentials and ``RFARM_PATH_MAP`` included). Every key of :data:`KEYS` can be overridden by ``RFARM_<KEY>``;
``RFARM_CONFIG`` names the file and ``RFARM_HOME`` the folder that holds all
state (database, queue, storage, workspaces, logs).
"""
from __future__ import annotations

import difflib
import getpass
import logging
import math
import os
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, Mapping

from rfarm.errors import ConfigError
from rfarm.pathmap import PathMap

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class Key:
    """One setting: its type, default, help text (mirrored in rfarm.toml.example) and bounds.

    The bounds are checked by :func:`check`, for ``load_config`` and ``set_key``
    alike: ``minimum`` and ``maximum`` for numbers (a float must also be finite),
    ``schemes`` for a URL (empty, the default, is always allowed).
    """

    name: str
    kind: type
    default: Any
    help: str
    secret: bool = False
    minimum: float | None = None
    maximum: float | None = None
    schemes: tuple[str, ...] = ()


KEYS: dict[str, Key] = {
    k.name: k
    for k in (
        Key("home", str, "", "Folder for all state; default: the platform's user data folder."),
        Key("database_url", str, "", "sqlite:///PATH or postgresql://USER@HOST/DB; default: HOME/rfarm.db.", secret=True,
            schemes=("sqlite", "postgresql", "postgres")),
        Key("queue_url", str, "", "sqlite:///PATH, redis://HOST:PORT/DB or postgresql://...; default: HOME/queue.db.", secret=True,
            schemes=("sqlite", "redis", "rediss", "postgresql", "postgres")),
        Key("queue_secret", str, "", "Secret that signs queue messages (required on a shared Redis).", secret=True),
        Key("storage_url", str, "", "file:///PATH or oss://BUCKET/PREFIX; default: HOME/storage.", secret=True,
            schemes=("file", "oss")),
        Key("workspace_dir", str, "", "Where render nodes unpack and render; default: HOME/workspaces."),
        Key("user", str, "", "Who submits; default: the OS login name."),
        Key("admins", list, [], "Users allowed to pass --all to see and control every task."),
        Key("lease_seconds", int, 60, "How long a claimed frame stays claimed without a heartbeat.",
            minimum=2, maximum=86400),
        Key("max_attempts", int, 3, "Failed renders after which a frame fails.", minimum=1),
        Key("max_lost_leases", int, 5, "Lost leases (dead workers) after which a frame fails.", minimum=1),
        Key("max_frames_per_task", int, 100_000, "Frames one task may have; a submit naming more is refused.",
            minimum=1, maximum=1_000_000),
        Key("blender_executable", str, "", "Path to blender; default: the bpy module, else blender on PATH."),
        Key("maya_executable", str, "", "Path to Maya's Render (Render.exe on Windows); default: on PATH."),
        Key("unreal_executable", str, "", "Path to UnrealEditor-Cmd; default: on PATH."),
        Key("oss_access_key_id", str, "", "OSS AccessKey id; default: OSS_ACCESS_KEY_ID.", secret=True),
        Key("oss_access_key_secret", str, "", "OSS AccessKey secret; default: OSS_ACCESS_KEY_SECRET.", secret=True),
        Key("oss_session_token", str, "", "OSS STS token; default: OSS_SESSION_TOKEN.", secret=True),
        Key("cache_max_gb", float, 50.0, "Size past which a node's file cache drops the least recently used files.",
            minimum=0),
        Key("workspace_keep_hours", float, 24.0, "Hours a finished task's workspace stays on a node.",
            minimum=0, maximum=87600),
        Key("min_free_gb", float, 2.0, "Free space below which a node claims nothing.", minimum=0),
        Key("server_url", str, "", "https://HOST:PORT of an rfarm server; set, every command goes through it.",
            schemes=("http", "https")),
        Key("token", str, "", "The token the server gave this user (rfarm login stores it).", secret=True),
        Key("server_ca", str, "", "CA file that signed the server's certificate; default: the system's store."),
        Key("api_rate_limit", int, 600, "Requests a minute the server takes from one token.", minimum=1),
        Key("token_days", int, 90, "Days a new token stays valid.", minimum=1, maximum=36600),
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


def check(key: Key, value: Any) -> Any:
    """``value`` as ``key``'s type, within its bounds; ConfigError naming the key and the bound."""
    value = coerce(key, value)
    if key.kind is float and not math.isfinite(value):
        raise ConfigError(f"{key.name} must be a finite number, got {value!r}")
    if key.minimum is not None and value < key.minimum:
        raise ConfigError(f"{key.name} must be at least {key.minimum:g}, got {value!r}")
    if key.maximum is not None and value > key.maximum:
        raise ConfigError(f"{key.name} must be at most {key.maximum:g}, got {value!r}")
    if key.schemes and value:
        scheme, sep, rest = value.partition("://")
        if not sep or not rest or scheme.lower() not in key.schemes:
            shown = masked(key, value)
            raise ConfigError(f"{key.name} must be {' or '.join(s + '://...' for s in key.schemes)}, got {shown!r}")
    return value


@dataclass(frozen=True, slots=True)
class Problem:
    """A setting whose value is invalid: the value as given, where it came from, and why."""

    value: Any
    source: str
    message: str

    def fix(self, name: str) -> str:
        """How to repair it: the variable to change, or the ``rfarm config set`` command."""
        if self.source.startswith("env "):
            return f"change or unset {self.source.removeprefix('env ')}"
        return f"rfarm config set {name} VALUE"


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
    max_frames_per_task: int
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
    #: with ``load_config(lenient=True)``: the invalid settings (their defaults are used here)
    problems: Mapping[str, Problem] = field(default_factory=dict)
    #: with ``load_config(lenient=True)``: why the config file could not be read, if it could not
    file_problem: str = ""

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


def load_config(env: Mapping[str, str] | None = None, *, lenient: bool = False) -> Config:
    """The effective configuration from defaults, the file and the environment.

    An invalid value raises one ConfigError naming the key and how to fix it;
    with ``lenient`` (``rfarm config show``, ``config set``) it is listed in
    :attr:`Config.problems` and the key's default used, and an unreadable file
    in :attr:`Config.file_problem`. Unknown keys of the file are warned about.
    """
    env = os.environ if env is None else env
    path = config_path(env)
    file_problem = ""
    try:
        data = read_toml(path)
    except ConfigError as exc:
        if not lenient:
            raise
        data, file_problem = {}, str(exc)
    values: dict[str, Any] = {}
    sources: dict[str, str] = {}
    problems: dict[str, Problem] = {}
    for name, key in KEYS.items():
        env_name = "RFARM_" + name.upper()
        if env.get(env_name, "") != "":
            raw, sources[name] = env[env_name], f"env {env_name}"
        elif name in data:
            raw, sources[name] = data[name], f"file {path}"
        elif env.get(_OSS_ENV.get(name, ""), ""):
            raw, sources[name] = env[_OSS_ENV[name]], f"env {_OSS_ENV[name]}"
        else:
            values[name], sources[name] = key.default, "default"
            continue
        try:
            values[name] = check(key, raw)
        except ConfigError as exc:
            problems[name] = Problem(raw, sources[name], str(exc))
            values[name] = key.default
    if problems and not lenient:
        name, problem = next(iter(problems.items()))
        more = f" ({len(problems) - 1} more: rfarm config show lists them)" if len(problems) > 1 else ""
        where = problem.source.removeprefix("env ").removeprefix("file ")
        raise ConfigError(f"{problem.message} in {where}; fix: {problem.fix(name)}{more}")
    if not values["home"]:
        values["home"] = str(default_home())
    values["home"] = str(Path(values["home"]).expanduser().resolve())
    if not values["user"]:
        values["user"], sources["user"] = login_name(), "default (OS login)"
    if env.get("RFARM_PATH_MAP"):
        path_map = PathMap.parse(env["RFARM_PATH_MAP"], source="RFARM_PATH_MAP")
    else:
        path_map = PathMap.parse(data.get("path_map", []))
    extra = {k: v for k, v in data.items() if k not in KEYS and k != "path_map"}
    for warning in unknown_keys(extra, path):
        _warn_once(warning)
    return Config(**values, sources=sources, path=path, path_map=path_map, extra=extra, problems=problems,
                  file_problem=file_problem)


def unknown_keys(extra: Mapping[str, Any], path: Path) -> list[str]:
    """A warning for each key of the file rfarm does not know, with the known key it most looks like."""
    warnings = []
    for name in extra:
        close = difflib.get_close_matches(name, KEYS, n=1, cutoff=0.6)
        hint = f"; did you mean {close[0]!r}?" if close else " (ignored)"
        warnings.append(f"unknown config key {name!r} in {path}{hint}")
    return warnings


#: warnings already logged by this process (several commands read the config more than once)
_warned: set[str] = set()


def _warn_once(message: str) -> None:
    if message not in _warned:
        _warned.add(message)
        log.warning("%s", message)


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
    """Set ``name`` to ``raw`` in the config file at ``path``, keeping its comments.

    The value is checked (:func:`check`) before anything is written, so a
    stored value never stops rfarm from starting.
    """
    import tomlkit

    key = KEYS.get(name)
    if key is None:
        close = difflib.get_close_matches(name, KEYS, n=1, cutoff=0.6)
        hint = f"did you mean {close[0]!r}?" if close else f"known keys: {', '.join(KEYS)}"
        raise ConfigError(f"unknown config key {name!r}; {hint}")
    value = check(key, raw)
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
