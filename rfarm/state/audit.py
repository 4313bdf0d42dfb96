"""The audit trail: who did what to which task, node, hardware config, user, token or webhook, and when.

It is read from the :class:`~rfarm.state.models.Event` rows that carry an
``actor`` (the scheduler records one for every control call; :func:`record`
for the changes that are no task's). A node's own doing has no actor and is
not in the trail.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from rfarm.state.db import db_now
from rfarm.state.models import Event
from rfarm.state.states import EventKind

#: the most entries one read of the trail returns
MAX_ENTRIES = 10_000


@dataclass(frozen=True, slots=True)
class AuditEntry:
    id: int
    #: ISO 8601 UTC
    at: str
    actor: str
    #: an :class:`EventKind`
    action: str
    #: ``task:ID``, ``node:NAME``, ``hwconfig:NAME``, ``user:NAME``, ``token:ID`` or ``webhook:ID``
    subject: str
    task_id: int | None
    message: str

    def to_dict(self) -> dict[str, object]:
        return {"id": self.id, "at": self.at, "actor": self.actor, "action": self.action, "subject": self.subject,
                "task_id": self.task_id, "message": self.message}


def record(kind: EventKind, *, actor: str, subject: str | None = None, task_id: int | None = None,
           message: str = "") -> None:
    """Record that ``actor`` did ``kind`` to ``subject`` (or to the task ``task_id``)."""
    Event.insert(task=task_id, kind=kind, actor=actor, subject=subject, message=message,
                 created_at=db_now()).execute()


def audit_entries(*, since: datetime | None = None, limit: int = 200) -> list[AuditEntry]:
    """The newest entries first (at most ``limit``), from ``since`` (naive UTC) on."""
    from rfarm.state.taskinfo import iso

    query = Event.select().where(Event.actor.is_null(False)).order_by(Event.id.desc()).limit(max(1, min(limit, MAX_ENTRIES)))
    if since is not None:
        query = query.where(Event.created_at >= since)
    return [
        AuditEntry(e.id, iso(e.created_at) or "", e.actor, e.kind,
                   e.subject or (f"task:{e.task_id}" if e.task_id is not None else ""), e.task_id, e.message)
        for e in query
    ]
