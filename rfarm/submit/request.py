"""What a new task asks for, checked once, wherever the request was built.

A :class:`SubmitRequest` is built on the submitting machine
(:func:`rfarm.submit.submission.build_request` parses the user's words and reads the
scene) and recorded on the farm; the farm may get it over a network, so the
request checks its own invariants when it is made, and every front end gets
the same answer for the same mistake.
"""
from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from rfarm.errors import UsageError
from rfarm.state.states import Priority
from rfarm.state.taskinfo import MAX_ID
from rfarm.submit.frames import MAX_FRAMES


#: the most GB of RAM or GPU memory, or GPUs, a task may ask for (far past any node)
MAX_AMOUNT = 1e6


def check_needs(ram_gb: float, gpus: int, gpu_memory_gb: float) -> None:
    """Refuse needs no node can have: negative, not finite, or past :data:`MAX_AMOUNT`."""
    if not all(math.isfinite(v) and 0 <= v <= MAX_AMOUNT for v in (ram_gb, gpus, gpu_memory_gb)):
        raise UsageError(f"--ram, --gpus and --gpu-memory must be numbers from 0 to {MAX_AMOUNT:g}")


@dataclass(frozen=True, slots=True)
class SubmitRequest:
    """What a new task renders and how."""

    scene: str
    renderer: str
    frames: Sequence[int]
    test_frames: Sequence[int] = ()
    priority: str = "default"
    chunk_size: int = 1
    timeout_s: int | None = None
    ram_gb: float = 0
    gpus: int = 0
    gpu_memory_gb: float = 0
    tags: Sequence[str] = ()
    renderer_version: str = ""
    no_progress_timeout_s: int | None = None
    camera: str | None = None
    layers: Sequence[str] = ()
    output_dir: str | None = None
    stop_after_test: bool = False
    hold_after_test: bool = False
    name: str = ""
    frames_spec: str = ""
    options: dict[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        Priority.named(self.priority)  # UsageError for an unknown name
        if not self.frames:
            raise UsageError("the task has no frames to render")
        if len(self.frames) > MAX_FRAMES:
            raise UsageError(f"the task names {len(self.frames)} frames, more than {MAX_FRAMES}")
        if any(abs(f) > MAX_ID for f in self.frames):
            raise UsageError(f"frame numbers must lie within ±{MAX_ID}")
        outside = sorted(set(self.test_frames) - set(self.frames))
        if outside:
            raise UsageError(f"test frame {outside[0]} is not in the frame range {self.frames_spec or ''}".rstrip())
        if self.chunk_size < 1:
            raise UsageError("--chunk must be at least 1")
        check_needs(self.ram_gb, self.gpus, self.gpu_memory_gb)
        if self.timeout_s is not None and self.timeout_s <= 0:
            raise UsageError("--timeout must be a positive number of minutes")
        if self.no_progress_timeout_s is not None and self.no_progress_timeout_s <= 0:
            raise UsageError("--no-progress-timeout must be a positive number of minutes")
        if self.stop_after_test and self.hold_after_test:
            raise UsageError("--stop-after-test and --hold-after-test cannot be combined")
        if (self.stop_after_test or self.hold_after_test) and not self.test_frames:
            raise UsageError("--stop-after-test and --hold-after-test need --test-frame")

    @property
    def chunk_count(self) -> int:
        """Render processes the task needs: one per test frame, then one per chunk of the rest."""
        rest = len(set(self.frames) - set(self.test_frames))
        return len(set(self.test_frames)) + -(-rest // self.chunk_size)
