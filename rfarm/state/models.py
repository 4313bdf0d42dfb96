"""The peewee models: rows only, no logic. :mod:`rfarm.state.scheduler` changes frame states."""
from __future__ import annotations

import json
from datetime import datetime, timezone
from typing import Any

from peewee import (
    BigIntegerField,
    BooleanField,
    CharField,
    DatabaseProxy,
    DateTimeField,
    FloatField,
    ForeignKeyField,
    IntegerField,
    Model,
    SQL,
    TextField,
)

database = DatabaseProxy()


def utcnow() -> datetime:
    """Now, as the naive UTC datetime every row stores."""
    return datetime.now(timezone.utc).replace(tzinfo=None)


class JSONField(TextField):
    """A JSON document stored as text (portable across SQLite and PostgreSQL)."""

    def db_value(self, value: Any) -> str | None:
        return None if value is None else json.dumps(value, separators=(",", ":"))

    def python_value(self, value: str | None) -> Any:
        return None if value is None else json.loads(value)


class BaseModel(Model):
    class Meta:
        database = database
        legacy_table_names = False


class SchemaInfo(BaseModel):
    """One row per fact about the schema; ``version`` is the one that matters."""

    key = CharField(primary_key=True)
    value = TextField()


class User(BaseModel):
    """A user; ``rfarm users remove`` keeps the row (their tasks keep their owner) and sets ``removed_at``."""

    name = CharField(unique=True)
    unionid = CharField(unique=True)
    created_at = DateTimeField(default=utcnow)
    #: a :class:`rfarm.state.users.Role`; the column default makes the users of a version-1 database artists
    role = CharField(default="artist", constraints=[SQL("DEFAULT 'artist'")])
    #: for the dashboard's login: :func:`rfarm.state.passwords.hash_password`'s text, or None
    password_hash = TextField(null=True)
    removed_at = DateTimeField(null=True)


class Token(BaseModel):
    """An issued token, stored only as the SHA-256 of its text; ``id`` is its ``jti`` claim."""

    id = CharField(primary_key=True)
    user = ForeignKeyField(User, backref="tokens", on_delete="CASCADE")
    digest = CharField()
    created_at = DateTimeField(default=utcnow)
    expires_at = DateTimeField()
    revoked_at = DateTimeField(null=True)


class HardwareConfig(BaseModel):
    name = CharField(unique=True)
    ram_gb = FloatField(default=0)
    gpus = IntegerField(default=0)
    gpu_memory_gb = FloatField(default=0)
    tags = JSONField(default=list)
    created_at = DateTimeField(default=utcnow)


class Node(BaseModel):
    name = CharField(unique=True)
    hostname = CharField(default="")
    os = CharField(default="")
    pid = IntegerField(default=0)
    cpu_count = IntegerField(default=0)
    ram_gb = FloatField(default=0)
    gpus = IntegerField(default=0)
    gpu_memory_gb = FloatField(default=0)
    tags = JSONField(default=list)
    renderers = JSONField(default=dict)
    version = CharField(default="")
    is_enabled = BooleanField(default=True)
    state = CharField(default="idle")
    cpu_percent = FloatField(default=0)
    ram_used_gb = FloatField(default=0)
    registered_at = DateTimeField(default=utcnow)
    last_seen = DateTimeField(default=utcnow)


class Task(BaseModel):
    user = ForeignKeyField(User, backref="tasks", on_delete="CASCADE")
    name = CharField(default="")
    scene = TextField()
    renderer = CharField()
    status = CharField(default="queued", index=True)
    priority = IntegerField(default=1)
    frames_spec = TextField(default="")
    camera = CharField(null=True)
    layers = JSONField(default=list)
    output_dir = TextField(null=True)
    chunk_size = IntegerField(default=1)
    timeout_s = IntegerField(null=True)
    ram_gb = FloatField(default=0)
    gpus = IntegerField(default=0)
    gpu_memory_gb = FloatField(default=0)
    tags = JSONField(default=list)
    #: the renderer's major version the scene needs ("" when any will do)
    renderer_version = CharField(default="")
    no_progress_timeout_s = IntegerField(null=True)
    max_attempts = IntegerField(default=3)
    max_lost_leases = IntegerField(default=5)
    stop_after_test = BooleanField(default=False)
    hold_after_test = BooleanField(default=False)
    options = JSONField(default=dict)
    created_at = DateTimeField(default=utcnow)
    finished_at = DateTimeField(null=True)


class Frame(BaseModel):
    task = ForeignKeyField(Task, backref="frames", on_delete="CASCADE")
    number = IntegerField()
    chunk = IntegerField()
    is_test = BooleanField(default=False)
    #: False while the frame waits behind its task's test frames
    is_released = BooleanField(default=True)
    #: claim order: lower first (priority * 2, test frames one ahead)
    rank = IntegerField()
    status = CharField(default="queued")
    attempts = IntegerField(default=0)
    failures = IntegerField(default=0)
    lost_leases = IntegerField(default=0)
    worker = CharField(null=True)
    lease_token = CharField(null=True)
    lease_until = DateTimeField(null=True)
    progress = FloatField(default=0)
    started_at = DateTimeField(null=True)
    finished_at = DateTimeField(null=True)
    error = TextField(null=True)
    outputs = JSONField(default=list)
    log_path = TextField(null=True)

    class Meta:
        indexes = (
            (("task", "number"), True),
            # the claim: a task's best waiting frame, and its chunk, by index alone
            (("task", "status", "is_released", "rank", "chunk", "number"), False),
            (("status", "is_released", "rank", "task", "chunk"), False),
            (("status", "lease_until"), False),
        )


class Asset(BaseModel):
    """A file held in storage, named by both hashes (isolated per user)."""

    user = ForeignKeyField(User, backref="assets", on_delete="CASCADE")
    hash = CharField()
    xxhash = CharField()
    size = IntegerField()
    key = TextField()
    created_at = DateTimeField(default=utcnow)
    last_used = DateTimeField(default=utcnow)

    class Meta:
        indexes = (
            (("hash", "xxhash"), False),
            (("user", "hash", "xxhash"), True),
        )


class TaskAsset(BaseModel):
    """A task's manifest: each original path and the asset that holds its content."""

    task = ForeignKeyField(Task, backref="assets", on_delete="CASCADE")
    asset = ForeignKeyField(Asset, on_delete="CASCADE")
    path = TextField()
    is_scene = BooleanField(default=False)

    class Meta:
        indexes = ((("task", "path"), True),)


class NodeFailure(BaseModel):
    """Renders of a task that failed on a node; past a limit the node is blocklisted for the task."""

    task = ForeignKeyField(Task, on_delete="CASCADE")
    node = CharField()
    failures = IntegerField(default=0)

    class Meta:
        indexes = ((("task", "node"), True),)


class Event(BaseModel):
    task = ForeignKeyField(Task, null=True, backref="events", on_delete="CASCADE")
    frame = ForeignKeyField(Frame, null=True, on_delete="CASCADE")
    kind = CharField()
    node = CharField(null=True)
    message = TextField(default="")
    #: for ``upload`` and ``download`` events: what moved and how long it took
    bytes = BigIntegerField(null=True)
    seconds = FloatField(null=True)
    created_at = DateTimeField(default=utcnow, index=True)
    #: the user whose call caused it (None: a node's or the farm's own doing)
    actor = CharField(null=True)
    #: what an event without a task acted on: ``user:NAME``, ``token:ID``, ``node:NAME``, ``hwconfig:NAME``, ``webhook:ID``
    subject = CharField(null=True)


class Webhook(BaseModel):
    """Where to POST the farm's events: a user's (their own tasks) or, with no owner, the whole farm's."""

    owner = ForeignKeyField(User, null=True, backref="webhooks", on_delete="CASCADE")
    url = TextField()
    #: the :class:`rfarm.state.states.HookEvent` names it wants
    events = JSONField(default=list)
    #: the HMAC-SHA256 key its deliveries are signed with (shown once, when it is made)
    secret = CharField()
    #: the newest event when it was made: it fires only for later ones
    after_event = BigIntegerField(default=0)
    created_at = DateTimeField(default=utcnow)


class WebhookDelivery(BaseModel):
    """One event sent to one webhook: its body (the same on every try), its tries so far and its outcome."""

    webhook = ForeignKeyField(Webhook, backref="deliveries", on_delete="CASCADE")
    event = ForeignKeyField(Event, on_delete="CASCADE")
    name = CharField()
    payload = JSONField()
    attempts = IntegerField(default=0)
    status_code = IntegerField(null=True)
    error = TextField(null=True)
    next_try_at = DateTimeField(default=utcnow)
    delivered_at = DateTimeField(null=True)
    #: delivered, or given up after the last try
    done = BooleanField(default=False)
    #: the sender that holds it now, and until when (a compare-and-set claim, so two servers never both send it)
    claimed_by = CharField(null=True)
    claimed_until = DateTimeField(null=True)
    created_at = DateTimeField(default=utcnow)

    class Meta:
        indexes = (
            (("webhook", "event"), True),
            (("done", "next_try_at"), False),
        )


class WebhookAttempt(BaseModel):
    """One try of a delivery: the answer's status code, or the error that stopped it."""

    delivery = ForeignKeyField(WebhookDelivery, backref="tries", on_delete="CASCADE")
    number = IntegerField()
    status_code = IntegerField(null=True)
    error = TextField(null=True)
    seconds = FloatField(default=0)
    at = DateTimeField(default=utcnow)


MODELS: tuple[type[BaseModel], ...] = (
    SchemaInfo, User, Token, HardwareConfig, Node, Task, Frame, Asset, TaskAsset, NodeFailure, Event,
    Webhook, WebhookDelivery, WebhookAttempt,
)
