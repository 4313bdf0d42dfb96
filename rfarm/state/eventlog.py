"""The events table read as a stream: what happened after a given event id, for one user's tasks or all.

Event ids only grow, so a reader that remembers the last id it saw (an SSE
client's ``Last-Event-ID``) resumes exactly where it stopped.
"""
from __future__ import annotations

from dataclasses import dataclass

from peewee import JOIN

from rfarm.state.models import Event, Frame, Task, User
from rfarm.state.taskinfo import iso

#: the most events one read returns
PAGE = 500


@dataclass(frozen=True, slots=True)
class EventInfo:
    id: int
    kind: str
    task_id: int | None
    frame: int | None
    node: str | None
    message: str
    created_at: str

    def to_dict(self) -> dict[str, object]:
        return {"id": self.id, "kind": self.kind, "task_id": self.task_id, "frame": self.frame, "node": self.node,
                "message": self.message, "created_at": self.created_at}


def last_event_id() -> int:
    """The newest event's id (0 when there is none): a reader starting now waits for what comes after it."""
    row = Event.select(Event.id).order_by(Event.id.desc()).first()
    return int(row.id) if row else 0


def events_after(after: int, *, owner: str | None, task_id: int | None = None, limit: int = PAGE) -> list[EventInfo]:
    """Events with an id above ``after``, oldest first.

    Args:
        owner: Only events of this user's tasks; None: every event, the farm's own included.
        task_id: Only this task's events.
    """
    query = (
        Event.select(Event.id, Event.kind, Event.task, Event.node, Event.message, Event.created_at, Frame.number)
        .join(Frame, JOIN.LEFT_OUTER, on=(Event.frame == Frame.id))
        .switch(Event)
        .where(Event.id > after)
    )
    if owner is not None:
        query = query.join(Task, on=(Event.task == Task.id)).join(User).where(User.name == owner)
    if task_id is not None:
        query = query.where(Event.task == task_id)
    rows = query.order_by(Event.id).limit(limit).objects()
    return [EventInfo(r.id, r.kind, r.task_id, r.number, r.node, r.message, iso(r.created_at) or "") for r in rows]
