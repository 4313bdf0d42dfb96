"""Printing: results on stdout (a rich table or one JSON document), everything else on stderr."""
from __future__ import annotations

import json
import sys
from functools import lru_cache
from pathlib import Path
from typing import Any

from rich.console import Console

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
