"""The MEL statement scanner and tokenizer, with property-based tests."""
from __future__ import annotations

import io
import re

from hypothesis import given, settings
from hypothesis import strategies as st

from rfarm.analysis import mel

FAST = settings(max_examples=150, deadline=None)


def scan(data: bytes, *, block_size: int = mel.BLOCK_SIZE) -> tuple[list[tuple[int, bytes]], int | None]:
    scanner = mel.StatementScanner(io.BytesIO(data), lambda: mel.EVERY, block_size=block_size)
    statements = [(statement.offset, statement.text) for statement in scanner]
    return statements, scanner.unterminated_at


def oracle(data: bytes) -> tuple[list[tuple[int, bytes]], int | None]:
    """A byte-at-a-time reading of the same rules the scanner implements."""
    out: list[tuple[int, bytes]] = []
    i, n = 0, len(data)
    while True:
        while i < n:
            if data[i : i + 1].isspace():
                i += 1
            elif data.startswith(b"//", i) or data.startswith(b"/*", i):
                close = data.find(b"\n", i) if data[i + 1] == 0x2F else data.find(b"*/", i + 2)
                if close < 0:
                    return out, None
                i = close + (1 if data[i + 1] == 0x2F else 2)
            else:
                break
        if i >= n:
            return out, None
        start, in_string = i, False
        while i < n:
            byte = data[i]
            if in_string and byte == 0x5C:
                i += 2
                continue
            if byte == 0x22:
                in_string = not in_string
            elif byte == 0x3B and not in_string:
                break
            i += 1
        if i >= n:
            return out, start
        i += 1
        out.append((start, data[start:i]))


def mel_escape(text: str) -> str:
    return (
        text.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n").replace("\t", "\\t").replace("\r", "\\r")
    )


mel_bytes = st.lists(
    st.sampled_from([b";", b'"', b"\\", b"/", b"*", b" ", b"\n", b"\t", b"a", b"setAttr", b"-k", b"\x00", b"\xff"]),
    max_size=80,
).map(b"".join)


@FAST
@given(data=mel_bytes, block_size=st.integers(min_value=1, max_value=9))
def test_scanner_matches_the_oracle_at_any_block_size(data: bytes, block_size: int) -> None:
    assert scan(data, block_size=block_size) == oracle(data)


@FAST
@given(text=st.text(max_size=60))
def test_escaped_strings_round_trip(text: str) -> None:
    statement = f'setAttr ".ftn" -type "string" "{mel_escape(text)}";'.encode()
    (found,), unterminated = scan(statement)
    assert unterminated is None
    tokens = mel.tokenize(found[1])
    assert tokens[4] == (mel.STRING, text.encode())


@FAST
@given(parts=st.lists(st.text(max_size=12), min_size=1, max_size=6))
def test_concatenations_fold_into_one_string(parts: list[str]) -> None:
    chunks = "\n\t\t+ ".join(f'"{mel_escape(part)}"' for part in parts)
    statement = f'setAttr ".b" -type "string" (\n\t\t{chunks});'.encode()
    (found,), _ = scan(statement, block_size=7)
    tokens = mel.tokenize(found[1])
    assert tokens[4] == (mel.STRING, "".join(parts).encode())
    assert tokens[5] == (mel.PUNCT, b";")


@FAST
@given(data=st.binary(max_size=200))
def test_tokenize_never_fails(data: bytes) -> None:
    for kind, value in mel.tokenize(data):
        assert kind in (mel.STRING, mel.WORD, mel.PUNCT)
        assert isinstance(value, bytes)


def test_statements_span_lines_and_hold_semicolons_in_strings() -> None:
    data = (
        b'//Maya ASCII 2020 scene\r\n// a comment ; "with a quote\r\n'
        b'file -rdi 1 -ns "x" -rfn "xRN"\r\n\t\t -op "v=0;" -typ "mayaAscii" "C:/a//b.ma";\r\n'
        b'/* block ; */ setAttr ".b" -type "string" "// not a comment; \\"quoted\\" C:\\\\";\n'
    )
    statements, unterminated = scan(data, block_size=5)
    assert unterminated is None
    assert [text.split()[0] for _, text in statements] == [b"file", b"setAttr"]
    assert statements[0][1].endswith(b'"C:/a//b.ma";')
    assert mel.tokenize(statements[1][1])[4] == (mel.STRING, b'// not a comment; "quoted" C:\\')


def test_unwanted_statements_are_skipped_and_long_ones_reported() -> None:
    data = b'skip "a;b";\nkeep 1;\nkeep "' + b"x" * 5000 + b'";\nkeep 2;\nskip'
    scanner = mel.StatementScanner(
        io.BytesIO(data), lambda: re.compile(b"keep"), block_size=64, max_statement=1000
    )
    assert [s.text for s in scanner] == [b"keep 1;", b"keep 2;"]
    assert scanner.too_long == [data.index(b'keep "')]
    assert scanner.unterminated_at == data.rindex(b"skip")


def test_unknown_escapes_keep_the_character() -> None:
    assert mel.unescape(b"a\\qb\\n\\\\") == b"aqb\n\\"
