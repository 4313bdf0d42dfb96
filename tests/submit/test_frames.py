"""Frame specs, frame lists, chunks and the compact format."""
from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from rfarm.errors import UsageError
from rfarm.submit.frames import (
    MAX_FRAMES,
    chunk_frames,
    format_frames,
    parse_frame_list,
    parse_frames,
)


@pytest.mark.parametrize(
    ("spec", "expected"),
    [
        ("1", [1]),
        ("1-5", [1, 2, 3, 4, 5]),
        ("1-10x3", [1, 4, 7, 10]),
        ("1-10:3", [1, 4, 7, 10]),
        ("1,5,10-20", [1, 5, *range(10, 21)]),
        ("5-5", [5]),
        (" 1 - 3 , 7 ", [1, 2, 3, 7]),
        ("-3", [-3]),
        ("-5--2", [-5, -4, -3, -2]),
        ("-2-2", [-2, -1, 0, 1, 2]),
        ("-10--1x3", [-10, -7, -4, -1]),
        ("0", [0]),
        # order kept, duplicates dropped
        ("5,1-3,2,5", [5, 1, 2, 3]),
    ],
)
def test_parse_frames(spec: str, expected: list[int]) -> None:
    assert parse_frames(spec) == expected


def test_every_second_frame() -> None:
    frames = parse_frames("1-100x2")
    assert frames == list(range(1, 101, 2))
    assert len(frames) == 50 and frames[-1] == 99


@pytest.mark.parametrize(
    "spec",
    ["10-1", "abc", "1-5x0", "", "   ", "1,,2", "1-", "-", "1-5x", "1-5x-1", "1.5", "1-5y2", "a-b", "1;2", ",", "--1"],
)
def test_bad_specs_are_usage_errors(spec: str) -> None:
    with pytest.raises(UsageError):
        parse_frames(spec)


def test_bad_spec_message_names_the_problem() -> None:
    with pytest.raises(UsageError, match="ends before it starts"):
        parse_frames("10-1")
    with pytest.raises(UsageError, match="step must be at least 1"):
        parse_frames("1-5x0")
    with pytest.raises(UsageError, match="empty"):
        parse_frames("")


def test_too_many_frames_is_refused() -> None:
    with pytest.raises(UsageError, match="more than"):
        parse_frames(f"1-{MAX_FRAMES + 1}")
    assert len(parse_frames(f"1-{MAX_FRAMES}x1000")) == MAX_FRAMES // 1000


def test_parse_frame_list_merges_repeated_options() -> None:
    assert parse_frame_list(["1", "50,100", "1", "99-100"]) == [1, 50, 100, 99]
    assert parse_frame_list([]) == []
    with pytest.raises(UsageError):
        parse_frame_list(["1", "abc"])


def test_chunk_frames() -> None:
    assert chunk_frames([1, 2, 3, 4, 5, 6, 7], 3) == [[1, 2, 3], [4, 5, 6], [7]]
    assert chunk_frames([4, 1, 9], 1) == [[4], [1], [9]]
    assert chunk_frames([1, 2], 10) == [[1, 2]]
    assert chunk_frames([], 2) == []
    with pytest.raises(UsageError):
        chunk_frames([1, 2], 0)


@pytest.mark.parametrize(
    ("frames", "spec"),
    [
        ([1, 2, 3, 5, 7, 8], "1-3,5,7-8"),
        ([8, 7, 1, 2, 3, 5], "1-3,5,7-8"),
        ([4], "4"),
        ([], ""),
        ([-3, -2, -1, 0, 1], "-3-1"),
        ([-5, -4, 2], "-5--4,2"),
    ],
)
def test_format_frames(frames: list[int], spec: str) -> None:
    assert format_frames(frames) == spec


@settings(max_examples=200, deadline=None)
@given(st.sets(st.integers(min_value=-2000, max_value=2000), min_size=1, max_size=300))
def test_format_then_parse_round_trips(frames: set[int]) -> None:
    spec = format_frames(list(frames))
    assert parse_frames(spec) == sorted(frames)


@settings(max_examples=100, deadline=None)
@given(
    st.integers(min_value=-500, max_value=500),
    st.integers(min_value=0, max_value=500),
    st.integers(min_value=1, max_value=20),
)
def test_stepped_range_matches_python_range(start: int, length: int, step: int) -> None:
    end = start + length
    assert parse_frames(f"{start}-{end}x{step}") == list(range(start, end + 1, step))


@settings(max_examples=100, deadline=None)
@given(st.lists(st.integers(min_value=-100, max_value=100), min_size=1, max_size=50), st.integers(1, 7))
def test_chunks_keep_every_frame_in_order(frames: list[int], size: int) -> None:
    chunks = chunk_frames(frames, size)
    assert [f for c in chunks for f in c] == frames
    assert all(1 <= len(c) <= size for c in chunks)
    assert all(len(c) == size for c in chunks[:-1])
