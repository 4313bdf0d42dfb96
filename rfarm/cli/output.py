"""Printing: results on stdout (a rich table or one JSON document), everything else on stderr."""
from __future__ import annotations

import json
import sys
from datetime import datetime, timezone
from functools import lru_cache
from pathlib import Path
from collections.abc import Iterable
from typing import Any

from rich.console import Console
from rich.text import Text

from rfarm.errors import UsageError, first_line
from rfarm.wire import to_doc


@lru_cache(maxsize=1)
def err_console() -> Console:
    return Console(stderr=True, highlight=False)


@lru_cache(maxsize=1)
def out_console() -> Console:
    console = Console(highlight=False)
    if not console.is_terminal:  # piped tables: don't squeeze them into 80 columns
        console = Console(highlight=False, width=160)
    return console


def error(message: str) -> None:
    """One ``Error: ...`` line on stderr."""
    line = " ".join(str(message).split())
    err_console().print(f"[red]Error:[/red] {line}", markup=True, soft_wrap=True)


def write_file(path: Path, text: str, *, what: str) -> None:
    """Write ``text`` to a file the user named; a path that cannot be written is bad input."""
    if path.is_dir():
        raise UsageError(f"{what} {path} is a folder; name a file")
    try:
        path.write_text(text, encoding="utf-8")
    except OSError as exc:
        raise UsageError(f"cannot write {what} {path}: {exc.strerror or first_line(exc)}") from None


def info(message: str) -> None:
    err_console().print(message, soft_wrap=True)


#: how each task or frame state is coloured in tables
STATE_STYLE: dict[str, str] = {
    "queued": "white", "running": "cyan", "rendering": "cyan", "held": "yellow", "paused": "yellow",
    "done": "green", "failed": "red", "cancelled": "magenta",
}


def cell(value: object, style: str = "") -> Text:
    """A table cell shown exactly as written: ``[failed]`` in a name is text, not rich markup."""
    return Text("" if value is None else str(value), style=style)


def state_cell(status: str) -> Text:
    return cell(status, STATE_STYLE.get(status, "white"))


def _moment(stamp: str) -> datetime | None:
    """An ISO 8601 stamp as an aware datetime (UTC when it names no zone); None when it is not one."""
    try:
        moment = datetime.fromisoformat(stamp)
    except ValueError:
        return None
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=timezone.utc)


def local_time(stamp: str | None) -> str:
    """An ISO 8601 UTC stamp (as ``--json`` has it) in this machine's time zone, to the second."""
    if not stamp:
        return ""
    moment = _moment(stamp)
    return moment.astimezone().strftime("%Y-%m-%d %H:%M:%S") if moment else stamp


def ago(stamp: str | None, *, now: datetime | None = None) -> str:
    """How long ago an ISO 8601 UTC stamp was, in words: ``just now``, ``5 min ago``, ``3 h ago``, ``2 days ago``."""
    if not stamp:
        return "never"
    moment = _moment(stamp)
    if moment is None:
        return stamp
    seconds = ((now or datetime.now(timezone.utc)) - moment).total_seconds()
    if seconds < 60:
        return "just now"
    for size, unit in ((86400, "day"), (3600, "h"), (60, "min")):
        if seconds >= size:
            n = int(seconds // size)
            return f"{n} {unit}{'s' if unit == 'day' and n != 1 else ''} ago"
    return "just now"  # pragma: no cover - the loop always returns


def plural(n: int, word: str) -> str:
    """``1 frame``, ``2 frames``."""
    return f"{n} {word}{'' if n == 1 else 's'}"


#: whether this command has written its JSON document (an error after it then adds none)
_documents = [0]


def print_json(value: Any, *, compact: bool = False) -> None:
    """Exactly one JSON document on stdout (``compact``: on one line, for streams)."""
    text = json.dumps(to_doc(value), indent=None if compact else 2, ensure_ascii=False)
    sys.stdout.write(text + "\n")
    sys.stdout.flush()
    _documents[0] += 1


def documents_written() -> int:
    """How many JSON documents this process has written to stdout."""
    return _documents[0]


def print_json_stream(head: dict[str, Any], key: str, items: Iterable[Any], *, compact: bool = False) -> None:
    """One JSON document on stdout, ``head`` with ``key`` last: the list ``items``, written as it is read.

    The document is the one :func:`print_json` would print for ``{**head, key: list(items)}`` (each item on
    a line of its own), without ever holding the whole list, or its text, in memory.
    """
    text = json.dumps(to_doc({**head, key: []}), indent=None if compact else 2, ensure_ascii=False)
    opening, closing = text.rsplit("[]", 1)
    sep, lead = (", ", "") if compact else (",\n", "    ")
    out = sys.stdout
    out.write(opening + "[")
    batch: list[str] = []
    first = True
    for item in items:
        batch.append(lead + json.dumps(to_doc(item), ensure_ascii=False))
        if len(batch) >= 1000:
            out.write(("" if compact else "\n") + sep.join(batch) if first else sep + sep.join(batch))
            first, batch = False, []
    if batch:
        out.write(("" if compact else "\n") + sep.join(batch) if first else sep + sep.join(batch))
        first = False
    out.write(("" if first or compact else "\n  ") + "]" + closing + "\n")
    out.flush()
    _documents[0] += 1
