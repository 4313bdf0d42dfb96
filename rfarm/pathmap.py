"""Path mapping between Windows and POSIX nodes: ``[[path_map]]`` rules in rfarm.toml.

    [[path_map]]
    windows = "//nas/proj"      # or "\\\\nas\\proj", "P:/proj"
    posix = "/mnt/proj"

The longest matching prefix wins; the Windows side matches case-insensitively
and with either slash; ``\\\\?\\`` long-path prefixes are understood.
"""
from __future__ import annotations

import json
import re
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from rfarm.errors import ConfigError

_DRIVE = re.compile(r"^[A-Za-z]:([\\/]|$)")


def is_windows_path(path: str) -> bool:
    """A drive-letter, UNC or ``\\\\?\\`` path."""
    return bool(_DRIVE.match(path)) or path.startswith(("\\\\", "//")) and not path.startswith("///")


def normalize_windows(path: str) -> str:
    """Forward slashes, no ``\\\\?\\`` prefix, drive letter upper-case: ``C:/proj/x``, ``//nas/share/x``."""
    text = path.replace("\\", "/")
    if text.startswith("//?/UNC/"):
        text = "//" + text[len("//?/UNC/") :]
    elif text.startswith("//?/"):
        text = text[len("//?/") :]
    if _DRIVE.match(text):
        text = text[0].upper() + text[1:]
    return text


@dataclass(frozen=True, slots=True)
class PathRule:
    windows: str
    posix: str


class PathMap:
    """Translate paths for a node of the other OS."""

    def __init__(self, rules: Iterable[PathRule] = ()) -> None:
        self.rules = [PathRule(normalize_windows(r.windows).rstrip("/"), r.posix.rstrip("/")) for r in rules]

    @classmethod
    def parse(cls, raw: Any, *, source: str = "path_map") -> PathMap:
        """Rules from ``[[path_map]]`` tables (a list of ``{"windows", "posix"}``), or a JSON text of one."""
        if isinstance(raw, str):
            try:
                raw = json.loads(raw)
            except json.JSONDecodeError as exc:
                raise ConfigError(f"{source} is not JSON: {exc}") from exc
        if not isinstance(raw, list) or not all(isinstance(r, dict) and {"windows", "posix"} <= r.keys() for r in raw):
            raise ConfigError('path_map must be a list of tables with "windows" and "posix" keys')
        return cls(PathRule(str(r["windows"]), str(r["posix"])) for r in raw)

    def to_posix(self, path: str) -> str:
        if not is_windows_path(path):
            return path
        norm = normalize_windows(path)
        folded = norm.casefold()
        for rule in sorted(self.rules, key=lambda r: len(r.windows), reverse=True):
            prefix = rule.windows.casefold()
            if folded == prefix or folded.startswith(prefix + "/"):
                return rule.posix + norm[len(rule.windows) :]
        return norm

    def to_windows(self, path: str) -> str:
        if is_windows_path(path):
            return normalize_windows(path)
        for rule in sorted(self.rules, key=lambda r: len(r.posix), reverse=True):
            if path == rule.posix or path.startswith(rule.posix + "/"):
                return rule.windows + path[len(rule.posix) :]
        return path

    def for_os(self, path: str, os_name: str) -> str:
        """``path`` as a node running ``os_name`` (``platform.system()``) must see it."""
        return self.to_windows(path) if os_name == "Windows" else self.to_posix(path)
