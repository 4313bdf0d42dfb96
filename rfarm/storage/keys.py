"""The content-addressed key layout; no other module builds storage keys.

::

    users/<user>/objects/<md5[:2]>/<md5>-<xxh64>        scene files, isolated per user
    tasks/<task_id>/manifest.json                       original path -> object
    tasks/<task_id>/results/<relpath>                   rendered output
    tasks/<task_id>/outputs/frame-<frame>.json          a frame's results with their hashes
    tasks/<task_id>/logs/frame-<frame>-attempt-<n>.log  render logs
    tasks/<task_id>/thumbnails/frame-<frame>.json       a frame's thumbnail: its MD5, or why it has none
    tasks/<task_id>/thumbnails/frame-<frame>-<md5>.jpg  the thumbnail, named by its content

Objects are named by both hashes, so an MD5 collision alone can never
substitute a file, and sharded by the first two hex digits of the MD5.
"""
from __future__ import annotations

import re
from pathlib import PurePath

from rfarm.errors import UsageError
from rfarm.storage.base import check_key

_SEGMENT = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]{0,127}")
_MD5_HEX = re.compile(r"[0-9a-f]{32}")
_DECIMAL = re.compile(r"0|[1-9][0-9]{0,19}")


def _segment(value: str | int, what: str) -> str:
    text = str(value)
    if not _SEGMENT.fullmatch(text):
        raise UsageError(f"Invalid {what} {text!r}: use letters, digits, '_', '-' and '.'.")
    return text


def object_key(user: str, md5: str, xxh64: str) -> str:
    """The key of a user's file with this content.

    Args:
        user: The owner's id (unionid).
        md5: MD5, lowercase hex.
        xxh64: xxHash64 as an unsigned decimal string.
    """
    if not _MD5_HEX.fullmatch(md5):
        raise UsageError(f"Invalid MD5 {md5!r}: expected 32 lowercase hex digits.")
    if not _DECIMAL.fullmatch(xxh64) or int(xxh64) >= 1 << 64:
        raise UsageError(f"Invalid xxHash64 {xxh64!r}: expected an unsigned 64-bit decimal.")
    return f"users/{_segment(user, 'user id')}/objects/{md5[:2]}/{md5}-{xxh64}"


def analysis_key(user: str, md5: str, xxh64: str) -> str:
    """The key of the cached analysis of a user's scene with this content (the original design's
    analysis cache: a scene is read once per content, however often it is asked about)."""
    return object_key(user, md5, xxh64).replace("/objects/", "/analysis/", 1) + ".json"


def task_prefix(task_id: str | int) -> str:
    """The prefix under which everything of one task is stored, ending in ``/``."""
    return f"tasks/{_segment(task_id, 'task id')}/"


def manifest_key(task_id: str | int) -> str:
    """The key of a task's manifest."""
    return f"{task_prefix(task_id)}manifest.json"


def results_prefix(task_id: str | int) -> str:
    """The prefix of a task's results, ending in ``/``."""
    return f"{task_prefix(task_id)}results/"


def result_key(task_id: str | int, relpath: str | PurePath) -> str:
    """The key of one result file, ``relpath`` being relative to the task's output folder.

    A :class:`~pathlib.PurePath` (Windows or POSIX) is converted; a string must
    already use ``/``.
    """
    rel = relpath.as_posix() if isinstance(relpath, PurePath) else relpath
    if isinstance(relpath, PurePath) and (relpath.is_absolute() or relpath.anchor):
        raise UsageError(f"Result path {str(relpath)!r} must be relative to the output folder.")
    return check_key(f"{results_prefix(task_id)}{check_key(rel)}")


def output_manifest_key(task_id: str | int, frame: int) -> str:
    """The key of the record of one frame's results (relative paths, keys and hashes)."""
    return f"{task_prefix(task_id)}outputs/frame-{int(frame)}.json"


def outputs_prefix(task_id: str | int) -> str:
    """The prefix of a task's per-frame result records, ending in ``/``."""
    return f"{task_prefix(task_id)}outputs/"


def log_key(task_id: str | int, frame: int, attempt: int) -> str:
    """The key of the log of one attempt at rendering one frame."""
    return f"{task_prefix(task_id)}logs/frame-{int(frame)}-attempt-{int(attempt)}.log"


def thumbnail_key(task_id: str | int, frame: int, md5: str | None = None) -> str:
    """The key of the record of one frame's thumbnail, or with ``md5`` of the thumbnail itself.

    The image is named by its content, so a reader who found its MD5 in the
    record always gets the bytes that MD5 names, even while a retry replaces it.
    """
    name = f"{task_prefix(task_id)}thumbnails/frame-{int(frame)}"
    if md5 is None:
        return f"{name}.json"
    if not _MD5_HEX.fullmatch(md5):
        raise UsageError(f"Invalid MD5 {md5!r}: expected 32 lowercase hex digits.")
    return f"{name}-{md5}.jpg"
