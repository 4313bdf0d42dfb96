"""Webhooks: who wants which events, and the deliveries owed to them, kept in the database.

A webhook is a user's (it fires for their own tasks) or, with no owner, the
whole farm's (made by a manager; it fires for every task). The events are
read after the scheduler wrote them, never while it does: :func:`enqueue_new`
turns the event rows past a cursor kept in the database into delivery rows
(each webhook and event at most once), and a sender claims due deliveries with
a compare-and-set update (:func:`claim_due`), so two servers never send the
same one. :mod:`rfarm.service.webhooks` is the sender.
"""
from __future__ import annotations

import secrets
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from urllib.parse import urlsplit

from peewee import JOIN, fn

from rfarm.errors import NotFoundError, UsageError
from rfarm.state.db import BATCH, db_now
from rfarm.state.models import (
    Event,
    Frame,
    SchemaInfo,
    Task,
    User,
    Webhook,
    WebhookAttempt,
    WebhookDelivery,
    database,
)
from rfarm.state.states import EventKind, HookEvent

#: the SchemaInfo key of the newest event already turned into deliveries
_CURSOR_KEY = "webhook_cursor"
#: the event kinds that may become a webhook event
_HOOKED_KINDS = (EventKind.DONE, EventKind.FAILED, EventKind.CANCELLED, EventKind.TEST_FAILED)
#: how long an event is read again before the cursor passes it (see :func:`enqueue_new`)
SETTLE = timedelta(seconds=30)
#: the longest URL a webhook takes
MAX_URL = 2000


@dataclass(frozen=True, slots=True)
class WebhookInfo:
    id: int
    url: str
    events: list[str]
    #: the owner's name; None for a farm-wide webhook
    owner: str | None
    created_at: str
    #: the signing secret, only in the answer that made the webhook
    secret: str | None = None

    def to_dict(self) -> dict[str, object]:
        doc: dict[str, object] = {"id": self.id, "url": self.url, "events": list(self.events), "owner": self.owner,
                                  "farm_wide": self.owner is None, "created_at": self.created_at}
        if self.secret is not None:
            doc["secret"] = self.secret
        return doc


@dataclass(frozen=True, slots=True)
class DeliveryInfo:
    """A delivery as the log shows it: its last answer (``status_code``) or error, and its tries."""

    id: int
    webhook_id: int
    event: str
    event_id: int
    task_id: int | None
    attempts: int
    status_code: int | None
    error: str | None
    delivered: bool
    done: bool
    created_at: str
    delivered_at: str | None
    next_try_at: str | None

    def to_dict(self) -> dict[str, object]:
        return {"id": self.id, "webhook_id": self.webhook_id, "event": self.event, "event_id": self.event_id,
                "task_id": self.task_id, "attempts": self.attempts, "status_code": self.status_code,
                "error": self.error, "delivered": self.delivered, "done": self.done, "created_at": self.created_at,
                "delivered_at": self.delivered_at, "next_try_at": self.next_try_at}


@dataclass(frozen=True, slots=True)
class Due:
    """A delivery a sender has claimed: where to send which body."""

    id: int
    url: str
    secret: str
    event: str
    payload: dict[str, object]
    attempts: int


def _iso(value: datetime | None) -> str | None:
    from rfarm.state.taskinfo import iso

    return iso(value)


def _info(hook: Webhook, secret: str | None = None) -> WebhookInfo:
    owner = hook.owner.name if hook.owner_id is not None else None
    return WebhookInfo(hook.id, hook.url, list(hook.events), owner, _iso(hook.created_at) or "", secret)


def check_url(url: str) -> str:
    """``url`` if a webhook can POST to it: http or https, with a host."""
    parts = urlsplit(url)
    if len(url) > MAX_URL or parts.scheme not in ("http", "https") or not parts.hostname:
        raise UsageError(f"webhook URL {url[:200]!r} is not an http:// or https:// URL with a host "
                         f"(of at most {MAX_URL} characters)")
    return url


def add_webhook(owner: str | None, url: str, events: Iterable[str]) -> WebhookInfo:
    """A new webhook of the user ``owner`` (None: the farm's), with its secret (shown this once)."""
    from rfarm.state.users import get_user

    names = [e.value for e in HookEvent.parse_list(events)]
    check_url(url)
    secret = secrets.token_hex(32)
    newest = Event.select(fn.MAX(Event.id)).scalar() or 0
    hook = Webhook.create(owner=get_user(owner) if owner is not None else None, url=url, events=names,
                          secret=secret, after_event=newest)
    return _info(Webhook.get_by_id(hook.id), secret)


def get_webhook(webhook_id: int) -> Webhook:
    hook = Webhook.select(Webhook, User).join(User, on=(Webhook.owner == User.id), join_type=JOIN.LEFT_OUTER) \
        .where(Webhook.id == webhook_id).get_or_none()
    if hook is None:
        raise NotFoundError(f"no webhook {webhook_id}; rfarm webhooks list shows them")
    return hook


def webhook_owner(webhook_id: int) -> str | None:
    """The owner's name of the webhook (None: farm-wide); :class:`NotFoundError` for an unknown id."""
    hook = get_webhook(webhook_id)
    return hook.owner.name if hook.owner_id is not None else None


def list_webhooks(owner: str | None = None) -> list[WebhookInfo]:
    """Every webhook, or with ``owner`` only that user's, oldest first (never their secrets)."""
    query = Webhook.select(Webhook, User).join(User, on=(Webhook.owner == User.id), join_type=JOIN.LEFT_OUTER) \
        .order_by(Webhook.id)
    if owner is not None:
        query = query.where(User.name == owner)
    return [_info(h) for h in query]


def remove_webhook(webhook_id: int) -> None:
    """Remove the webhook with its delivery log (a delivery being sent now is its last)."""
    get_webhook(webhook_id)
    Webhook.delete().where(Webhook.id == webhook_id).execute()


def list_deliveries(webhook_id: int, *, limit: int = 50) -> list[DeliveryInfo]:
    """The webhook's newest deliveries first."""
    get_webhook(webhook_id)
    query = (WebhookDelivery.select(WebhookDelivery, Event.task)
             .join(Event).where(WebhookDelivery.webhook == webhook_id)
             .order_by(WebhookDelivery.id.desc()).limit(max(1, min(limit, 1000))))
    return [
        DeliveryInfo(d.id, d.webhook_id, d.name, d.event_id, d.event.task_id, d.attempts, d.status_code, d.error,
                     d.delivered_at is not None, d.done, _iso(d.created_at) or "", _iso(d.delivered_at),
                     None if d.done else _iso(d.next_try_at))
        for d in query
    ]


# -- from events to deliveries ----------------------------------------------------


def _hook_event(event: Event, is_test: bool | None) -> HookEvent | None:
    """The webhook event an event row is, if any."""
    if event.frame_id is None:
        return {EventKind.DONE: HookEvent.TASK_DONE, EventKind.FAILED: HookEvent.TASK_FAILED,
                EventKind.TEST_FAILED: HookEvent.TASK_FAILED,
                EventKind.CANCELLED: HookEvent.TASK_CANCELLED}.get(EventKind(event.kind))
    if event.kind == EventKind.DONE and is_test:
        return HookEvent.TEST_FRAME_DONE
    if event.kind == EventKind.FAILED:
        return HookEvent.FRAME_FAILED
    return None


def _payload(name: HookEvent, event: Event, task: Task, frame_number: int | None) -> dict[str, object]:
    doc: dict[str, object] = {
        "event": name.value, "event_id": event.id, "task_id": task.id, "task_name": task.name,
        "status": {HookEvent.TASK_DONE: "done", HookEvent.TASK_FAILED: "failed",
                   HookEvent.TASK_CANCELLED: "cancelled", HookEvent.TEST_FRAME_DONE: "done",
                   HookEvent.FRAME_FAILED: "failed"}[name],
        "user": task.user.name, "at": _iso(event.created_at), "message": event.message,
    }
    if frame_number is not None:
        doc["frame"] = frame_number
    return doc


def _cursor() -> int:
    row = SchemaInfo.get_or_none(SchemaInfo.key == _CURSOR_KEY)
    return int(row.value) if row else 0


def enqueue_new(*, now: datetime | None = None) -> int:
    """Turn the events past the cursor into deliveries for the webhooks that want them; how many are owed.

    One transaction: the deliveries are inserted (a webhook and event pair
    already there is left alone, so reading an event twice is harmless) and the
    cursor moves with a compare-and-set. It stops :data:`SETTLE` short of now:
    on PostgreSQL an event's id is taken before its transaction commits, so a
    younger id may become visible before an older one, and the events of the
    last moments are read again until they settle.
    """
    now = now or db_now()
    rows: list[dict[str, object]] = []
    with database.atomic():
        cursor = _cursor()
        start = cursor
        hooks = list(Webhook.select(Webhook, User).join(User, on=(Webhook.owner == User.id), join_type=JOIN.LEFT_OUTER))
        if hooks:
            start = max(cursor, min(h.after_event for h in hooks))
            events = list(
                Event.select(Event, Frame.id, Frame.number, Frame.is_test, Task, User)
                .join(Frame, join_type=JOIN.LEFT_OUTER, on=(Event.frame == Frame.id))
                .switch(Event).join(Task, on=(Event.task == Task.id)).join(User)
                .where((Event.id > start) & Event.kind.in_(_HOOKED_KINDS))
                .order_by(Event.id).limit(BATCH)
            )
            for event in events:
                rows.extend(_owed(event, hooks, now))
            for i in range(0, len(rows), 100):
                WebhookDelivery.insert_many(rows[i: i + 100]).on_conflict_ignore().execute()
        settled = Event.select(fn.MAX(Event.id)).where((Event.id > start) & (Event.created_at < now - SETTLE))
        if hooks and len(events) == BATCH:
            settled = settled.where(Event.id <= events[-1].id)
        _move_cursor(cursor, max(start, settled.scalar() or 0))
    return len(rows)


def _owed(event: Event, hooks: list[Webhook], now: datetime) -> list[dict[str, object]]:
    """The delivery rows ``event`` owes the ``hooks`` that want it."""
    frame = event.frame if event.frame_id is not None else None
    name = _hook_event(event, frame.is_test if frame else None)
    if name is None:
        return []
    return [
        {"webhook": hook.id, "event": event.id, "name": name.value, "next_try_at": now, "created_at": now,
         "payload": _payload(name, event, event.task, frame.number if frame else None)}
        for hook in hooks
        if event.id > hook.after_event and name in hook.events
        and (hook.owner_id is None or hook.owner_id == event.task.user_id)
    ]


def _move_cursor(old: int, new: int) -> None:
    if new <= old:
        return
    if SchemaInfo.get_or_none(SchemaInfo.key == _CURSOR_KEY) is None:
        SchemaInfo.insert(key=_CURSOR_KEY, value=str(new)).on_conflict_ignore().execute()
    else:
        SchemaInfo.update(value=str(new)).where((SchemaInfo.key == _CURSOR_KEY) & (SchemaInfo.value == str(old))).execute()


def claim_due(sender: str, *, lease_s: float, limit: int = 20, now: datetime | None = None) -> list[Due]:
    """Claim up to ``limit`` deliveries due now for ``sender`` until ``lease_s`` from now.

    Each is taken by one conditional UPDATE (not done, not held by a live
    claim), so of two senders only one wins a delivery.
    """
    now = now or db_now()
    free = WebhookDelivery.claimed_until.is_null() | (WebhookDelivery.claimed_until < now)
    due = (WebhookDelivery.done == False) & (WebhookDelivery.next_try_at <= now) & free  # noqa: E712
    won: list[Due] = []
    candidates = list(WebhookDelivery.select(WebhookDelivery.id).where(due)
                      .order_by(WebhookDelivery.next_try_at, WebhookDelivery.id).limit(limit))
    for row in candidates:
        n = WebhookDelivery.update(claimed_by=sender, claimed_until=now + timedelta(seconds=lease_s)) \
            .where((WebhookDelivery.id == row.id) & due).execute()
        if n != 1:
            continue
        d = WebhookDelivery.select(WebhookDelivery, Webhook).join(Webhook).where(WebhookDelivery.id == row.id).get()
        won.append(Due(d.id, d.webhook.url, d.webhook.secret, d.name, dict(d.payload), d.attempts))
    return won


def record_attempt(
    delivery_id: int, sender: str, *, status_code: int | None, error: str | None, seconds: float,
    delays: Sequence[float], now: datetime | None = None,
) -> bool:
    """Record one try of a delivery ``sender`` holds; whether it is finished (delivered, or given up).

    A 2xx answer delivers it. Otherwise the next try comes ``delays[n - 1]``
    seconds after try ``n``; past the last delay the delivery gives up.
    """
    now = now or db_now()
    ok = status_code is not None and 200 <= status_code < 300
    with database.atomic():
        d = WebhookDelivery.get_or_none((WebhookDelivery.id == delivery_id) & (WebhookDelivery.claimed_by == sender))
        if d is None:  # removed with its webhook meanwhile
            return True
        number = d.attempts + 1
        WebhookAttempt.create(delivery=d.id, number=number, status_code=status_code, error=error, seconds=seconds,
                              at=now)
        done = ok or number > len(delays)
        values: dict[str, object] = {"attempts": number, "status_code": status_code, "error": error, "done": done,
                                     "claimed_by": None, "claimed_until": None}
        if ok:
            values["delivered_at"] = now
        elif not done:
            values["next_try_at"] = now + timedelta(seconds=delays[number - 1])
        WebhookDelivery.update(**values).where(WebhookDelivery.id == d.id).execute()
    return done
