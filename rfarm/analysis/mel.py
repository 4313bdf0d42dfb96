"""Streaming MEL statement scanner and tokenizer for .ma files and workspace.mel.

A statement is everything up to the next ``;`` outside a double-quoted string.
The scanner reads fixed-size blocks and keeps only the statement it is in, so a
scene of any size is read in constant memory; statements the caller does not
want are skipped without being copied, and a wanted statement longer than
``max_statement`` bytes is skipped and reported.
"""
from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import BinaryIO

STRING = 0
WORD = 1
PUNCT = 2

Token = tuple[int, bytes]

BLOCK_SIZE = 1 << 20
MAX_STATEMENT = 16 << 20
HEAD_SIZE = 256

_SPACE = re.compile(rb"\s*")
_TOKEN = re.compile(
    rb'"([^"\\]*(?:\\.[^"\\]*)*)"|([(){},+;])|([^\s"(){},+;]+)', re.DOTALL
)
_ESCAPE = re.compile(rb"\\(.)", re.DOTALL)
_ESCAPES = {b"n": b"\n", b"t": b"\t", b"r": b"\r"}


@dataclass(frozen=True, slots=True)
class Statement:
    offset: int
    text: bytes


class StatementScanner:
    """Iterates the statements of a MEL stream that ``wants`` accepts.

    ``wants`` sees the first ``HEAD_SIZE`` bytes of each statement (which may
    run into the next one) and is called in order, after the previous wanted
    statement was consumed. After iteration, ``too_long`` holds the offsets of
    wanted statements skipped for their length and ``unterminated_at`` the
    offset of a statement cut off by the end of the stream.
    """

    def __init__(
        self,
        stream: BinaryIO,
        wants: Callable[[bytes], bool],
        *,
        block_size: int = BLOCK_SIZE,
        max_statement: int = MAX_STATEMENT,
    ) -> None:
        self._stream = stream
        self._wants = wants
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

    def _skip_space(self, pos: int) -> int | None:
        """Skip whitespace and comments; the position of the next statement, None at the end.

        Inside a comment only the bytes that could start its end are kept, so an
        enormous comment costs no memory.
        """
        closing: bytes | None = None
        while True:
            buf = self._buf
            if closing is not None:
                close = buf.find(closing, pos)
                if close >= 0:
                    pos, closing = close + len(closing), None
                    continue
                if self._eof:
                    return None
                keep = max(pos, len(buf) - len(closing) + 1)
                pos = keep - self._fill(keep)
                continue
            pos = _SPACE.match(buf, pos).end()  # type: ignore[union-attr]
            if pos >= len(buf) - 1 and not self._eof:
                pos -= self._fill(pos)
                continue
            if pos >= len(buf):
                return None
            if buf.startswith(b"//", pos):
                closing, pos = b"\n", pos + 2
            elif buf.startswith(b"/*", pos):
                closing, pos = b"*/", pos + 2
            else:
                return pos

    def __iter__(self) -> Iterator[Statement]:
        pos = 0
        while True:
            start = self._skip_space(pos)
            if start is None:
                return
            while len(self._buf) - start < HEAD_SIZE and not self._eof:
                start -= self._fill(start)
            offset = self._base + start
            found = self._find_end(start, self._wants(self._buf[start : start + HEAD_SIZE]), offset)
            if found is None:
                self.unterminated_at = offset
                return
            start, pos, wanted = found
            if wanted:
                yield Statement(offset, self._buf[start:pos])

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
    for match in _TOKEN.finditer(text):
        string, punct, word = match.groups()
        if string is not None:
            tokens.append((STRING, unescape(string)))
        elif punct is not None:
            tokens.append((PUNCT, punct))
        else:
            tokens.append((WORD, word))
    return _fold_concatenations(tokens) if (PUNCT, b"(") in tokens else tokens


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
    return iter(StatementScanner(stream, lambda head: True, **kwargs))
