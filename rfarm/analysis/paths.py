"""Resolving the file paths a scene names, the way Maya looks for them.

Order: strip a reference copy number ``{N}``; expand ``$VAR`` / ``${VAR}``
(and ``%VAR%`` on Windows); normalise slashes; apply the farm's path-mapping
rules; then, for a relative path, try the project root, the project's file rule
for that kind of file, and the scene's folder. Tile and frame patterns are
expanded to the files present.
"""
from __future__ import annotations

import os
import posixpath
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from rfarm.analysis import mel

# Maya's default project rules, used for any rule workspace.mel does not set.
DEFAULT_FILE_RULES: Mapping[str, str] = {
    "scene": "scenes",
    "mayaAscii": "scenes",
    "mayaBinary": "scenes",
    "sourceImages": "sourceimages",
    "images": "images",
    "alembicCache": "cache/alembic",
    "fileCache": "cache/nCache",
    "diskCache": "data",
    "particles": "cache/particles",
    "bifrostCache": "cache/bifrost",
    "sound": "sound",
    "movie": "movies",
    "ASS": "data",
    "renderData": "renderData",
}

# Which file rule Maya searches for each dependency kind.
KIND_RULES: Mapping[str, str] = {
    "texture": "sourceImages",
    "image_plane": "sourceImages",
    "movie": "movie",
    "reference": "scene",
    "alembic": "alembicCache",
    "gpu_cache": "alembicCache",
    "cache": "fileCache",
    "audio": "sound",
    "standin": "ASS",
}

_COPY_NUMBER = re.compile(r"\{\d+\}$")
_VARIABLE = re.compile(r"\$\{(\w+)\}|\$(\w+)")
_WINDOWS_VARIABLE = re.compile(r"\$\{(\w+)\}|\$(\w+)|%(\w+)%")
_DRIVE = re.compile(r"^[A-Za-z]:/")
_SEQUENCE_TOKEN = re.compile(r"<[^<>/]+>|#+|%0?\d*d|\*")


@dataclass(frozen=True, slots=True)
class Project:
    """A Maya project: its root folder and its file rules."""

    root: Path
    rules: Mapping[str, str] = field(default_factory=lambda: dict(DEFAULT_FILE_RULES))


@dataclass(frozen=True, slots=True)
class Resolution:
    """Where a path was looked for and what is there.

    ``local_only`` marks a drive-letter path no mapping rule covers;
    ``unknown_variables`` the variables the environment does not define.
    """

    resolved: str | None
    exists: bool
    files: tuple[str, ...] = ()
    local_only: bool = False
    unknown_variables: tuple[str, ...] = ()


def read_workspace(root: Path) -> dict[str, str]:
    """The file rules of ``root/workspace.mel`` over Maya's defaults.

    Only ``workspace -fr "rule" "dir";`` statements (``-fileRule`` too) count.
    """
    rules = dict(DEFAULT_FILE_RULES)
    try:
        stream = (root / "workspace.mel").open("rb")
    except OSError:
        return rules
    with stream:
        for statement in mel.iter_statements(stream):
            tokens = mel.tokenize(statement.text)
            if len(tokens) < 4 or tokens[0] != (mel.WORD, b"workspace"):
                continue
            if tokens[1][1] not in (b"-fr", b"-fileRule"):
                continue
            if tokens[2][0] == mel.STRING and tokens[3][0] == mel.STRING:
                rule = tokens[2][1].decode("utf-8", "replace")
                rules[rule] = tokens[3][1].decode("utf-8", "replace")
    return rules


def find_project(scene: Path, project: Path | None = None) -> Project | None:
    """The project given, else the nearest folder above the scene with a workspace.mel."""
    if project is not None:
        root = Path(project).expanduser().resolve()
        return Project(root, read_workspace(root))
    for folder in Path(scene).resolve().parents:
        if (folder / "workspace.mel").is_file():
            return Project(folder, read_workspace(folder))
    return None


def is_absolute(path: str) -> bool:
    """True for POSIX, drive-letter and UNC paths (after slash normalisation)."""
    return path.startswith("/") or bool(_DRIVE.match(path))


def normalise(path: str) -> str:
    """Forward slashes, repeated slashes collapsed except a leading UNC ``//``."""
    path = path.replace("\\", "/")
    lead = "//" if path.startswith("//") else ""
    return lead + re.sub(r"/{2,}", "/", path[len(lead) :])


def expand_variables(
    path: str, env: Mapping[str, str], *, windows: bool
) -> tuple[str, tuple[str, ...]]:
    """Expand ``$VAR`` and ``${VAR}`` (and ``%VAR%`` when ``windows``).

    Unknown variables stay as written and are returned by name.
    """
    unknown: list[str] = []

    def replace(match: re.Match[str]) -> str:
        name = next(group for group in match.groups() if group)
        if name in env:
            return env[name]
        unknown.append(name)
        return match.group(0)

    pattern = _WINDOWS_VARIABLE if windows else _VARIABLE
    return pattern.sub(replace, path), tuple(unknown)


def map_path(path: str, rules: Sequence[tuple[str, str]]) -> tuple[str, bool]:
    """Apply the ``(from_prefix, to_prefix)`` rule with the longest matching prefix.

    Prefixes match whole path components; drive-letter and UNC prefixes match
    case-insensitively, as Windows does.
    """
    best: tuple[int, str] | None = None
    for source, target in rules:
        prefix = normalise(source).rstrip("/")
        if not prefix or (best is not None and len(prefix) <= best[0]):
            continue
        fold = bool(_DRIVE.match(prefix + "/")) or prefix.startswith("//")
        head, rest = path[: len(prefix)], path[len(prefix) :]
        matches = head.lower() == prefix.lower() if fold else head == prefix
        if matches and (not rest or rest[0] == "/"):
            best = (len(prefix), normalise(target).rstrip("/") + rest)
    return (best[1], True) if best is not None else (path, False)


def sequence_regex(name: str) -> re.Pattern[str] | None:
    """A regex matching the files a tile/frame pattern names; None if it has none.

    ``<UDIM>`` is four digits, ``<UVTILE>`` ``u1_v1``, ``<U>``/``<V>`` and
    ``<f>`` numbers, ``####`` / ``%04d`` a padded frame, ``*`` anything; any
    other ``<token>`` (``<tile>``, ``<attr:x>``, ``<shapeName>``…) matches any text.
    """
    parts: list[str] = []
    last = 0
    for match in _SEQUENCE_TOKEN.finditer(name):
        parts.append(re.escape(name[last : match.start()]))
        parts.append(_token_regex(match.group(0)))
        last = match.end()
    if not parts:
        return None
    parts.append(re.escape(name[last:]))
    return re.compile("".join(parts))


def _token_regex(token: str) -> str:
    lowered = token.lower()
    if lowered == "<udim>":
        return r"\d{4}"
    if lowered == "<uvtile>":
        return r"u\d+_v\d+"
    if lowered in ("<u>", "<v>"):
        return r"\d+"
    if re.fullmatch(r"<f(?:rame)?\d*>", lowered):
        return r"-?\d+"
    if token.startswith("#"):
        return rf"-?\d{{{len(token)},}}"
    if token.startswith("%"):
        width = re.sub(r"\D", "", token)
        return rf"-?\d{{{int(width)},}}" if width else r"-?\d+"
    return r"[^/]*" if token == "*" else r".+?"


class PathResolver:
    """Resolves the paths one scene file names.

    Args:
        scene: the scene file (relative paths fall back to its folder).
        project: the Maya project, if any.
        path_map: ordered ``(from_prefix, to_prefix)`` farm mapping rules.
        env: variables for ``$VAR`` expansion.
        windows_vars: also expand ``%VAR%``.
    """

    def __init__(
        self,
        scene: Path,
        *,
        project: Project | None = None,
        path_map: Sequence[tuple[str, str]] = (),
        env: Mapping[str, str] | None = None,
        windows_vars: bool = False,
    ) -> None:
        self.scene = Path(scene).resolve()
        self.scene_dir = self.scene.parent
        self.project = project
        self.path_map = tuple(path_map)
        self.env = os.environ if env is None else env
        self.windows_vars = windows_vars

    def for_scene(self, scene: Path) -> PathResolver:
        """The same rules for another scene file (a referenced one)."""
        return PathResolver(
            scene,
            project=self.project,
            path_map=self.path_map,
            env=self.env,
            windows_vars=self.windows_vars,
        )

    def resolve(self, raw: str, *, kind: str = "") -> Resolution:
        """Resolve ``raw`` (a path or tile/frame pattern) to the files present."""
        text = _COPY_NUMBER.sub("", raw) if kind == "reference" else raw
        text, unknown = expand_variables(text, self.env, windows=self.windows_vars)
        text, mapped = map_path(normalise(text), self.path_map)
        local_only = bool(_DRIVE.match(text)) and not mapped
        if unknown:
            return Resolution(None, False, (), local_only, unknown)
        candidates = self._candidates(text, kind)
        for candidate in candidates:
            files = present_files(candidate)
            if files:
                return Resolution(candidate, True, files, local_only, unknown)
        return Resolution(candidates[0] if candidates else None, False, (), local_only, unknown)

    def _candidates(self, text: str, kind: str) -> list[str]:
        if not text:
            return []
        if is_absolute(text):
            return [text]
        relative = text.removeprefix("./")
        folders: list[Path] = []
        if self.project is not None:
            folders.append(self.project.root)
            rule = self.project.rules.get(KIND_RULES.get(kind, ""), "")
            if rule:
                rule_dir = Path(normalise(rule))
                folders.append(rule_dir if rule_dir.is_absolute() else self.project.root / rule_dir)
        folders.append(self.scene_dir)
        return list(dict.fromkeys(posixpath.normpath((folder / relative).as_posix()) for folder in folders))


def present_files(path: str) -> tuple[str, ...]:
    """The files a path or pattern names that exist, sorted."""
    folder, _, name = path.rpartition("/")
    pattern = sequence_regex(name)
    if pattern is None:
        return (path,) if os.path.isfile(path) else ()
    try:
        names = os.listdir(folder or ".")
    except OSError:
        return ()
    return tuple(sorted(f"{folder}/{entry}" for entry in names if pattern.fullmatch(entry)))
