"""The vocabulary of the farm: task and frame states, event kinds, priorities, roles and the moves between states.

Every value is the exact string the database stores and ``--json`` prints, so a
member compares equal to (and hashes like) its string. Only
:mod:`rfarm.state.scheduler` writes states, and only the moves listed in
:data:`FRAME_MOVES` and :data:`TASK_MOVES`.
"""
from __future__ import annotations

from collections.abc import Iterable, Mapping
from enum import StrEnum
from typing import TypeVar

from rfarm.errors import StateError, UsageError


class TaskState(StrEnum):
    QUEUED = "queued"
    RENDERING = "rendering"
    #: its test frames ended; it waits for ``rfarm resume``
    HELD = "held"
    PAUSED = "paused"
    DONE = "done"
    FAILED = "failed"
    CANCELLED = "cancelled"


class FrameState(StrEnum):
    QUEUED = "queued"
    RUNNING = "running"
    DONE = "done"
    FAILED = "failed"
    CANCELLED = "cancelled"


class EventKind(StrEnum):
    """What an ``Event`` row records; :mod:`rfarm.state.stats` counts some of them.

    ``done``, ``failed`` and ``cancelled`` name a frame's outcome when the event
    has a frame, and the task's when it has none.
    """

    SUBMITTED = "submitted"
    CLAIMED = "claimed"
    DONE = "done"
    #: a render failed with attempts left; the frame is queued again
    RETRY = "retry"
    FAILED = "failed"
    #: a node failed the task often enough to be kept away from it
    BLOCKLISTED = "blocklisted"
    #: frames given back by a stopping worker, or released after the test frames
    RELEASED = "released"
    LEASE_EXPIRED = "lease_expired"
    TEST_FAILED = "test_failed"
    HELD = "held"
    CANCELLED = "cancelled"
    PAUSED = "paused"
    RESUMED = "resumed"
    #: ``rfarm retry`` queued frames again
    RETRIED = "retried"
    UPLOAD = "upload"
    DOWNLOAD = "download"
    # What a user did to something other than a task's frames (the audit trail); the event's
    # ``actor`` names who, its ``subject`` (or its task) what.
    CLEANED_UP = "cleaned_up"
    #: ``rfarm delete``: the task and everything of it are gone (the event names it as ``task:ID``)
    TASK_DELETED = "task_deleted"
    NODE_ENABLED = "node_enabled"
    NODE_DISABLED = "node_disabled"
    HWCONFIG_ADDED = "hwconfig_added"
    HWCONFIG_REMOVED = "hwconfig_removed"
    USER_ADDED = "user_added"
    USER_REMOVED = "user_removed"
    ROLE_SET = "role_set"
    PASSWORD_SET = "password_set"
    TOKEN_ISSUED = "token_issued"
    TOKEN_REVOKED = "token_revoked"
    WEBHOOK_ADDED = "webhook_added"
    WEBHOOK_REMOVED = "webhook_removed"


class HookEvent(StrEnum):
    """What a webhook can ask to be told about (``rfarm webhooks add URL --events ...``)."""

    TASK_DONE = "task.done"
    TASK_FAILED = "task.failed"
    TASK_CANCELLED = "task.cancelled"
    TEST_FRAME_DONE = "test_frame.done"
    FRAME_FAILED = "frame.failed"

    @classmethod
    def parse_list(cls, names: Iterable[str]) -> list[HookEvent]:
        """The named events, each once, in order; UsageError naming the known ones for any other."""
        found: list[HookEvent] = []
        for name in (n.strip() for n in names):
            try:
                event = cls(name)
            except ValueError:
                known = ", ".join(e.value for e in cls)
                raise UsageError(f"unknown webhook event {name!r}: the events are {known}") from None
            if event not in found:
                found.append(event)
        if not found:
            raise UsageError(f"name at least one event: {', '.join(e.value for e in cls)}")
        return found


class Priority(StrEnum):
    """A task's priority by name; the database stores its :attr:`order`."""

    HIGH = "high"
    DEFAULT = "default"
    LOW = "low"

    @property
    def order(self) -> int:
        """Its sort order: tasks of a lower order are claimed first."""
        return _PRIORITY_ORDER[self]

    @classmethod
    def named(cls, name: str) -> Priority:
        """The priority called ``name``; UsageError for any other name."""
        try:
            return cls(name)
        except ValueError:
            raise UsageError(f"unknown priority {name!r}: use high, default or low") from None

    @classmethod
    def of_order(cls, order: int) -> Priority | None:
        """The priority stored as ``order``, or None for a number no priority has."""
        return _PRIORITY_OF_ORDER.get(order)


_PRIORITY_ORDER = {Priority.HIGH: 0, Priority.DEFAULT: 1, Priority.LOW: 2}
_PRIORITY_OF_ORDER = {order: priority for priority, order in _PRIORITY_ORDER.items()}

#: states a task or frame never leaves by itself (only ``rfarm retry`` brings one back)
TERMINAL: frozenset[str] = frozenset({TaskState.DONE, TaskState.FAILED, TaskState.CANCELLED})
#: task states in which frames may be claimed
CLAIMABLE: tuple[TaskState, ...] = (TaskState.QUEUED, TaskState.RENDERING)
#: task states ``rfarm pause`` accepts
PAUSABLE: tuple[TaskState, ...] = (*CLAIMABLE, TaskState.HELD)

_F = FrameState
#: frame state → the states the scheduler may move it to
FRAME_MOVES: Mapping[FrameState, frozenset[FrameState]] = {
    # queued → failed: a frame can fail without running when no node is left
    # that may render its task (every eligible node failed it too often).
    _F.QUEUED: frozenset({_F.RUNNING, _F.CANCELLED, _F.FAILED}),
    # running → queued: the render failed with attempts left, its lease
    # expired, or its worker gave it back while stopping.
    _F.RUNNING: frozenset({_F.DONE, _F.FAILED, _F.QUEUED, _F.CANCELLED}),
    _F.FAILED: frozenset({_F.QUEUED}),
    _F.CANCELLED: frozenset({_F.QUEUED}),
    # done → queued: only a retry that names the frame renders it again.
    _F.DONE: frozenset({_F.QUEUED}),
}

_T = TaskState
_ENDINGS = frozenset({_T.DONE, _T.FAILED, _T.CANCELLED})
#: task state → the states the scheduler may move it to. A task follows its
#: frames (queued ⇄ rendering, then an ending once none is open), stops at its
#: test frames (held, or failed with ``stop_after_test``) and obeys pause,
#: resume, cancel and retry.
TASK_MOVES: Mapping[TaskState, frozenset[TaskState]] = {
    _T.QUEUED: frozenset({_T.RENDERING, _T.HELD, _T.PAUSED, *_ENDINGS}),
    _T.RENDERING: frozenset({_T.QUEUED, _T.HELD, _T.PAUSED, *_ENDINGS}),
    _T.HELD: frozenset({_T.QUEUED, _T.PAUSED, *_ENDINGS}),
    _T.PAUSED: frozenset({_T.QUEUED, *_ENDINGS}),
    # done → queued: a retry of chosen frames renders them again.
    _T.DONE: frozenset({_T.QUEUED}),
    _T.FAILED: frozenset({_T.QUEUED}),
    # cancelled → done: every frame had rendered before the cancel reached it.
    _T.CANCELLED: frozenset({_T.QUEUED, _T.DONE}),
}

S = TypeVar("S", TaskState, FrameState)


def sources(moves: Mapping[S, frozenset[S]], to: S) -> tuple[S, ...]:
    """Every state from which ``moves`` allow a move to ``to``."""
    return tuple(s for s, targets in moves.items() if to in targets)


def check_move(moves: Mapping[S, frozenset[S]], frm: str | Iterable[str], to: S) -> tuple[S, ...]:
    """The states of ``frm`` that move to ``to`` (staying in ``to`` is no move).

    Raises StateError when ``moves`` forbid the move from one of them.
    """
    kind = type(to)
    states = [kind(s) for s in ((frm,) if isinstance(frm, str) else frm)]
    forbidden = [s for s in states if s != to and to not in moves[s]]
    if forbidden:
        noun = "task" if kind is TaskState else "frame"
        raise StateError(f"a {noun} cannot move from {forbidden[0]} to {to}")
    return tuple(s for s in states if s != to)


class Role(StrEnum):
    """What a user may do; each role includes the one before (see :mod:`rfarm.state.users`)."""

    VIEWER = "viewer"
    ARTIST = "artist"
    MANAGER = "manager"
    ADMIN = "admin"

    @property
    def rank(self) -> int:
        return list(Role).index(self)

    @classmethod
    def parse(cls, value: str | Role) -> Role:
        """``value`` as a role (:class:`UsageError` naming the roles for anything else)."""
        try:
            return cls(value)
        except ValueError:
            raise UsageError(f"no role {value!r}; the roles are {', '.join(r.value for r in cls)}") from None
