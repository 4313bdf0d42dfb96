"""The peewee database from a URL, and the schema created or upgraded on first use."""
from __future__ import annotations

import logging
import sqlite3
import time
from datetime import datetime
from pathlib import Path
from urllib.parse import urlsplit

from peewee import Database, OperationalError, PostgresqlDatabase, SqliteDatabase

from rfarm.errors import ConfigError, ServiceError, first_line
from rfarm.state.models import (
    MODELS, Event, SchemaInfo, Token, User, Webhook, WebhookAttempt, WebhookDelivery, database, utcnow,
)

log = logging.getLogger(__name__)

#: 1: the first release; 2: users gain role, password_hash and removed_at, tokens are kept, events carry
#: their actor and subject, and webhooks with their deliveries get tables
SCHEMA_VERSION = 2
#: the most values one IN list or bulk statement carries: well under the bound
#: parameters SQLite allows in one statement (999 before 3.32)
BATCH = 500
#: the PostgreSQL advisory lock that serialises schema changes (any constant)
_PG_SCHEMA_LOCK = 0x72666172

#: per connection; WAL is set once per file by :func:`_enable_wal` (it persists in the file)
_SQLITE_PRAGMAS = {
    "synchronous": "normal",
    "foreign_keys": 1,
    "cache_size": -16000,
}


def sqlite_path(url: str) -> Path:
    """The file a ``sqlite:///PATH`` URL names (``sqlite:///C:/farm/x.db`` too)."""
    path = url[len("sqlite:///") :]
    if not path:
        raise ConfigError(f"database URL {url!r} names no file")
    if len(path) > 2 and path[1] == ":" or path.startswith("/"):
        return Path(path)
    return Path("/" + path) if url.startswith("sqlite:////") else Path(path)


def _enable_wal(path: Path, *, timeout_s: float = 30) -> None:
    """Put the SQLite file in WAL mode (it stays so), retrying while another process does the same.

    Two connections switching a fresh file to WAL at once can get SQLITE_BUSY
    at once, without the busy handler (SQLite's deadlock avoidance), so
    several processes opening a new database together must retry here.
    """
    deadline = time.monotonic() + timeout_s
    while True:
        conn = None
        try:
            conn = sqlite3.connect(str(path), timeout=timeout_s)
            conn.execute("PRAGMA journal_mode = wal")
            return
        except sqlite3.Error as exc:  # locked, not a database, cannot be opened
            if "locked" not in str(exc) or time.monotonic() > deadline:
                raise ServiceError(f"cannot open the database {path}: {exc}") from exc
        finally:
            if conn is not None:
                conn.close()
        time.sleep(0.05)


def may_exist(url: str) -> bool:
    """Whether the database ``url`` names may hold rows: False only for a SQLite file not made yet."""
    return not url.startswith("sqlite:///") or sqlite_path(url).is_file()


def is_postgres(db: Database) -> bool:
    return isinstance(db, PostgresqlDatabase)


def open_database(url: str) -> Database:
    """A connected-on-demand peewee database for ``url``, bound to the models."""
    if url.startswith("sqlite:///"):
        path = sqlite_path(url)
        path.parent.mkdir(parents=True, exist_ok=True)
        _enable_wal(path)
        db: Database = SqliteDatabase(
            str(path), pragmas=_SQLITE_PRAGMAS, timeout=30, lock_type="IMMEDIATE"
        )
    elif url.startswith(("postgresql://", "postgres://")):
        parts = urlsplit(url)
        name = parts.path.lstrip("/")
        if not name:
            raise ConfigError(f"database URL {url!r} names no database")
        db = PostgresqlDatabase(
            name,
            host=parts.hostname or "127.0.0.1",
            port=parts.port or 5432,
            user=parts.username,
            password=parts.password,
            connect_timeout=10,
        )
    else:
        raise ConfigError(f"unsupported database URL {url!r}: use sqlite:///PATH or postgresql://...")
    database.initialize(db)
    try:
        ensure_schema(db)
    except OperationalError as exc:
        raise ServiceError(f"cannot open the database {redact(url)}: {first_line(exc)}") from exc
    return db


def ensure_schema(db: Database) -> None:
    """Create or upgrade the schema, safely when several processes start at once."""
    if _version(db) == SCHEMA_VERSION:
        return
    with db.atomic():  # BEGIN IMMEDIATE on SQLite
        if is_postgres(db):
            db.execute_sql("SELECT pg_advisory_xact_lock(%s)", (_PG_SCHEMA_LOCK,))
        version = _version(db)
        if version == SCHEMA_VERSION:
            return
        if version is not None and version > SCHEMA_VERSION:
            raise ServiceError(
                f"the database has schema version {version}, newer than this rfarm "
                f"understands ({SCHEMA_VERSION}); upgrade rfarm on this machine"
            )
        if version is None:
            log.info("creating rfarm schema version %s", SCHEMA_VERSION)
            db.create_tables(MODELS, safe=True)
        else:
            for step in range(version, SCHEMA_VERSION):
                log.info("upgrading the rfarm schema from version %s to %s", step, step + 1)
                _UPGRADES[step](db)
        SchemaInfo.delete().where(SchemaInfo.key == "version").execute()
        SchemaInfo.create(key="version", value=str(SCHEMA_VERSION))


def _upgrade_1_to_2(db: Database) -> None:
    """Users gain their role (existing ones become artists), a password and a removal time; events their
    actor and subject; tokens, webhooks and their deliveries get tables.

    Columns are only added (``ALTER TABLE ... ADD COLUMN``, with the role's
    default in the column itself): never a table rebuilt, which on SQLite would
    drop the ``user`` table and with it, through ``ON DELETE CASCADE``, every task.
    """
    from playhouse.migrate import PostgresqlMigrator, SqliteMigrator, migrate

    migrator = PostgresqlMigrator(db) if is_postgres(db) else SqliteMigrator(db)
    table = User._meta.table_name
    migrate(
        migrator.add_column(table, "role", User.role, allow_not_null=True),
        migrator.add_column(table, "password_hash", User.password_hash),
        migrator.add_column(table, "removed_at", User.removed_at),
        migrator.add_column(Event._meta.table_name, "actor", Event.actor),
        migrator.add_column(Event._meta.table_name, "subject", Event.subject),
    )
    db.create_tables([Token, Webhook, WebhookDelivery, WebhookAttempt], safe=True)


#: the step that upgrades a schema from each version to the next
_UPGRADES = {1: _upgrade_1_to_2}


def _version(db: Database) -> int | None:
    if not db.table_exists(SchemaInfo._meta.table_name):
        return None
    row = SchemaInfo.get_or_none(SchemaInfo.key == "version")
    return int(row.value) if row else None


def db_now() -> datetime:
    """Now by the database's clock (naive UTC): nodes of a farm share one clock for leases."""
    if is_postgres(database.obj):
        row = database.execute_sql("SELECT CURRENT_TIMESTAMP AT TIME ZONE 'UTC'").fetchone()
        return row[0]
    return utcnow()


def redact(url: str) -> str:
    parts = urlsplit(url)
    if parts.password:
        return url.replace(f":{parts.password}@", ":***@")
    return url


assert sqlite3.sqlite_version_info >= (3, 35), "rfarm needs SQLite 3.35 or newer"
