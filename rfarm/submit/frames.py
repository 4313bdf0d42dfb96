"""Frame specs (``1-100``, ``1-100x2``, ``1,5,10-20``) and chunking."""
from __future__ import annotations

import re
from collections.abc import Iterable, Sequence

from rfarm.errors import UsageError

MAX_FRAMES = 1_000_000
#: a frame number has at most this many digits (a database holds none longer than 19)
_DIGITS = 30
_RANGE = re.compile(rf"^(-?\d{{1,{_DIGITS}}})(?:-(-?\d{{1,{_DIGITS}}})(?:[x:](\d{{1,{_DIGITS}}}))?)?$")


def parse_frames(spec: str) -> list[int]:
    """The frames a spec names, in order, without duplicates.

    ``"1-100"`` is 1 to 100 inclusive, ``"1-100x2"`` every second frame
    (``1-100:2`` too), ``"1,5,10-20"`` a list of frames and ranges.
    """
    text = spec.strip().replace(" ", "")
    if not text:
        raise UsageError("empty frame range; expected e.g. 1-100, 1-100x2 or 1,5,10-20")
    frames: dict[int, None] = {}
    for part in text.split(","):
        match = _RANGE.match(part)
        if not match:
            raise UsageError(f"bad frame range {spec!r}: {part!r} is not N, A-B or A-BxSTEP")
        start = int(match[1])
        end = int(match[2]) if match[2] is not None else start
        step = int(match[3]) if match[3] is not None else 1
        if end < start:
            raise UsageError(f"bad frame range {spec!r}: {part!r} ends before it starts")
        if step < 1:
            raise UsageError(f"bad frame range {spec!r}: the step must be at least 1")
        if (end - start) // step + 1 + len(frames) > MAX_FRAMES:
            raise UsageError(f"frame range {spec!r} names more than {MAX_FRAMES} frames")
        frames.update(dict.fromkeys(range(start, end + 1, step)))
    return list(frames)


def parse_frame_list(values: Iterable[str]) -> list[int]:
    """Frames from repeated options, each a spec (``--test-frame 1 --test-frame 50,100``)."""
    frames: dict[int, None] = {}
    for value in values:
        frames.update(dict.fromkeys(parse_frames(value)))
    return list(frames)


def chunk_frames(frames: Sequence[int], size: int) -> list[list[int]]:
    """``frames`` in groups of ``size``, in order (one group per render process)."""
    if size < 1:
        raise UsageError("--chunk must be at least 1")
    return [list(frames[i : i + size]) for i in range(0, len(frames), size)]


def format_frames(frames: Sequence[int]) -> str:
    """A compact spec for ``frames`` (``1-5,7,9-11``)."""
    parts: list[str] = []
    run: list[int] = []
    for f in sorted(frames):
        if run and f == run[-1] + 1:
            run.append(f)
            continue
        if run:
            parts.append(f"{run[0]}-{run[-1]}" if len(run) > 1 else str(run[0]))
        run = [f]
    if run:
        parts.append(f"{run[0]}-{run[-1]}" if len(run) > 1 else str(run[0]))
    return ",".join(parts)
