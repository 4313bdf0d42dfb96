"""Streaming MEL statement scanner and tokenizer for .ma files and workspace.mel.

A statement is everything up to the next ``;`` outside a double-quoted string.
The scanner reads fixed-size blocks and keeps only the statement it is in, so a
scene of any size is read in constant memory; statements the caller does not
want are skipped without being copied, and a wanted statement longer than
``max_statement`` bytes is skipped and reported.

Which statements are wanted is a compiled pattern matched where each statement
starts, so that the bulk of a scene (the geometry's ``setAttr`` lines) costs a
few C calls per statement and no Python call at all.
"""
from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from typing import BinaryIO, NamedTuple

Pattern = re.Pattern[bytes]

STRING = 0
WORD = 1
PUNCT = 2

Token = tuple[int, bytes]

BLOCK_SIZE = 4 << 20
MAX_STATEMENT = 16 << 20
HEAD_SIZE = 256

# Whitespace and whole comments between statements.
_GAP = re.compile(rb"(?:\s+|//[^\n]*\n|/\*.*?\*/)*", re.DOTALL)
_TOKEN = re.compile(
    rb'("[^"\\]*(?:\\.[^"\\]*)*")|([(){},+;])|([^\s"(){},+;]+)', re.DOTALL
)
_ESCAPE = re.compile(rb"\\(.)", re.DOTALL)
EVERY: Pattern = re.compile(b"")
# The bytes a gap between statements can start with (b"": the buffer's end).
_SPACE_OR_SLASH = frozenset((b" ", b"\t", b"\n", b"\r", b"\x0b", b"\x0c", b"/", b""))
_ESCAPES = {b"n": b"\n", b"t": b"\t", b"r": b"\r"}


class Statement(NamedTuple):
    offset: int
    text: bytes


class StatementScanner:
    """Iterates the statements of a MEL stream that the caller wants.

    ``wanted`` returns the pattern of the statements wanted now; a statement is
    wanted when the pattern matches at its start within its first ``HEAD_SIZE``
    bytes (which may run into the next statement). It is called before the
    first statement and again after each wanted statement was consumed, since
    what a reader wants can depend on what it has read. After iteration,
    ``too_long`` holds the offsets of wanted statements skipped for their
    length and ``unterminated_at`` the offset of a statement cut off by the end
    of the stream.
    """

    def __init__(
        self,
        stream: BinaryIO,
        wanted: Callable[[], Pattern],
        *,
        block_size: int = BLOCK_SIZE,
        max_statement: int = MAX_STATEMENT,
    ) -> None:
        self._stream = stream
        self._wanted = wanted
        self._block_size = max(1, block_size)
        self._max_statement = max_statement
        self._buf = b""
        self._base = 0
        self._eof = False
        self.too_long: list[int] = []
        self.unterminated_at: int | None = None

    def _fill(self, keep_from: int) -> int:
        """Drop ``buf[:keep_from]``, append a block; return the shift applied."""
        chunk = self._stream.read(self._block_size)
        if not chunk:
            self._eof = True
        self._buf = self._buf[keep_from:] + chunk
        self._base += keep_from
        return keep_from

    def _skip_comment(self, pos: int) -> int | None:
        """Skip the comment at ``pos`` that does not end in the buffer; None at the end.

        Only the bytes that could start its end are kept, so an enormous comment
        costs no memory.
        """
        closing = b"\n" if self._buf[pos + 1] == 0x2F else b"*/"
        pos += 2
        while True:
            close = self._buf.find(closing, pos)
            if close >= 0:
                return close + len(closing)
            if self._eof:
                return None
            keep = max(pos, len(self._buf) - len(closing) + 1)
            pos = keep - self._fill(keep)

    def __iter__(self) -> Iterator[Statement]:
        """Finds each statement's end with ``bytes.find`` over the buffer.

        The common statement (no ``;`` inside its strings, no escaped quote, in
        the buffer) is found inline; any other goes through :meth:`_find_end`.
        """
        gap, find, max_statement = _GAP.match, bytes.find, self._max_statement
        wants = self._wanted().match
        buf, pos, refill_at = self._buf, 0, -1
        while True:
            # The gap Maya writes (a newline and a tab) without a regex call.
            if buf[pos : pos + 1] == b"\n":
                pos += 2 if buf[pos + 1 : pos + 2] == b"\t" else 1
            if buf[pos : pos + 1] in _SPACE_OR_SLASH:
                pos = gap(buf, pos).end()  # type: ignore[union-attr]
            if pos > refill_at:
                if not self._eof:
                    pos -= self._fill(pos)
                    buf, refill_at = self._buf, self._refill_at()
                    continue
                if pos >= len(buf):
                    return
            if buf[pos] == 0x2F and buf[pos + 1 : pos + 2] in (b"/", b"*"):
                skipped = self._skip_comment(pos)
                if skipped is None:
                    return
                buf, pos, refill_at = self._buf, skipped, self._refill_at()
                continue
            start = pos
            wanted = wants(buf, start, start + HEAD_SIZE) is not None
            end = -1
            semi = find(buf, b";", start)
            while semi >= 0:
                quote = find(buf, b'"', pos, semi)
                if quote < 0:
                    end = semi + 1
                    break
                close = find(buf, b'"', quote + 1)
                if close < 0 or buf[close - 1] == 0x5C:
                    break  # the string runs past the buffer, or holds an escaped quote
                pos = close + 1
                if close > semi:
                    semi = find(buf, b";", pos)
            if end < 0:
                offset = self._base + start
                found = self._find_end(start, wanted, offset)
                if found is None:
                    self.unterminated_at = offset
                    return
                start, end, wanted = found
                buf, refill_at = self._buf, self._refill_at()
            pos = end
            if not wanted:
                continue
            if end - start > max_statement:
                self.too_long.append(self._base + start)
            else:
                yield Statement(self._base + start, buf[start:end])
                wants = self._wanted().match

    def _refill_at(self) -> int:
        """The position past which a statement's head may not be in the buffer yet."""
        return len(self._buf) - (1 if self._eof else HEAD_SIZE)

    def _find_end(self, start: int, wanted: bool, offset: int) -> tuple[int, int, bool] | None:
        """Scan to the ``;`` that ends the statement at ``start``.

        Returns the statement's start and end in the (refilled) buffer and
        whether it is still wanted; None when the stream ends first. Uses
        ``bytes.find`` throughout; ``semi`` caches the next ``;`` until a refill.
        """
        pos, in_string, semi = start, False, None
        while True:
            buf = self._buf
            if in_string:
                close = _string_end(buf, pos)
                if close is not None:
                    pos, in_string = close, False
                    continue
                run = len(buf)
                while run > 0 and buf[run - 1] == 0x5C:
                    run -= 1
                # Backslash pairs are complete escapes; an odd one escapes what comes next.
                pos = len(buf) - (len(buf) - run) % 2
            else:
                if semi is None or (0 <= semi < pos):
                    semi = buf.find(b";", pos)
                quote = buf.find(b'"', pos, semi if semi >= 0 else len(buf))
                if quote >= 0:
                    pos, in_string = quote + 1, True
                    continue
                if semi >= 0:
                    return start, semi + 1, wanted
                pos = len(buf)
            if self._eof:
                return None
            if wanted and pos - start > self._max_statement:
                wanted = False
                self.too_long.append(offset)
            shift = self._fill(start if wanted else pos)
            pos -= shift
            start -= shift
            semi = None


def _string_end(buf: bytes, pos: int) -> int | None:
    """Index after the closing quote of a string whose body starts at ``pos``."""
    while True:
        quote = buf.find(b'"', pos)
        if quote < 0:
            return None
        before = quote - 1
        while before >= 0 and buf[before] == 0x5C:
            before -= 1
        if (quote - 1 - before) % 2 == 0:
            return quote + 1
        pos = quote + 1


def unescape(raw: bytes) -> bytes:
    """MEL string escapes: ``\\n \\t \\r``; any other escaped byte stands for itself."""
    if b"\\" not in raw:
        return raw
    return _ESCAPE.sub(lambda m: _ESCAPES.get(m.group(1), m.group(1)), raw)


def tokenize(text: bytes) -> list[Token]:
    """Split one statement into string, word and punctuation tokens.

    Strings come unescaped, and ``( "a" + "b" )`` concatenations are folded
    into one string. An unterminated quote is dropped.
    """
    tokens: list[Token] = []
    append = tokens.append
    for string, punct, word in _TOKEN.findall(text):
        if string:
            append((STRING, unescape(string[1:-1])))
        elif punct:
            append((PUNCT, punct))
        else:
            append((WORD, word))
    if b"(" in text and (PUNCT, b"(") in tokens:
        return _fold_concatenations(tokens)
    return tokens


def _fold_concatenations(tokens: list[Token]) -> list[Token]:
    out: list[Token] = []
    i = 0
    while i < len(tokens):
        if tokens[i] == (PUNCT, b"(") and i + 1 < len(tokens) and tokens[i + 1][0] == STRING:
            parts, j = [tokens[i + 1][1]], i + 2
            while j + 1 < len(tokens) and tokens[j] == (PUNCT, b"+") and tokens[j + 1][0] == STRING:
                parts.append(tokens[j + 1][1])
                j += 2
            if j < len(tokens) and tokens[j] == (PUNCT, b")"):
                out.append((STRING, b"".join(parts)))
                i = j + 1
                continue
        out.append(tokens[i])
        i += 1
    return out


def iter_statements(stream: BinaryIO, **kwargs: int) -> Iterator[Statement]:
    """Every statement of ``stream`` (for small files such as workspace.mel)."""
    return iter(StatementScanner(stream, lambda: EVERY, **kwargs))
