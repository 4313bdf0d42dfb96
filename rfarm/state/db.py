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


def open_database(url: str, *, create: bool = False) -> Database:
    """A connected-on-demand peewee database for ``url``, bound to the models, its schema made or
    upgraded on first use.

    Args:
        create: Make a SQLite file (and its folder) or a PostgreSQL database that is not there yet.
            Without it a missing one is a :class:`ConfigError` naming it: a typo in
            ``database_url`` must not look like a new, empty farm.
    """
    return _open(url, create=create, made=[])


def create_database(url: str) -> list[str]:
    """Make what of the database ``url`` names is not there yet (``rfarm init``): a SQLite file and
    its folder, or a PostgreSQL database, and the schema. Returns what was made, in words."""
    made: list[str] = []
    _open(url, create=True, made=made).close()
    return made


def _open(url: str, *, create: bool, made: list[str]) -> Database:
    if url.startswith("sqlite:///"):
        path = sqlite_path(url)
        if create and not path.parent.is_dir():
            made.append(f"the folder {path.parent}")
        if create and not path.is_file():
            made.append(f"the database {path}")
        if not create and not path.is_file():
            raise ConfigError(
                f"no farm database at {path}: database_url names a file that does not exist; "
                "correct database_url (rfarm config show says where it is set), or run rfarm init to make a new farm there"
            )
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
        if create and is_postgres(db) and not _pg_database_exists(db):
            _create_pg_database(db)
            made.append(f"the PostgreSQL database {db.database}")
        if ensure_schema(db):
            made.append(f"the schema (version {SCHEMA_VERSION})")
    except OperationalError as exc:
        if is_postgres(db) and _is_missing_pg_database(exc):
            raise ConfigError(
                f"PostgreSQL at {redact(url)} has no database {db.database!r}: correct database_url, "
                "or run rfarm init to create it"
            ) from exc
        raise ServiceError(f"cannot open the database {redact(url)}: {first_line(exc)}") from exc
    return db


def _is_missing_pg_database(exc: Exception) -> bool:
    """Whether connecting failed because the database does not exist (SQLSTATE 3D000 at connect)."""
    return 'database "' in str(exc) and "does not exist" in str(exc)


def _maintenance(db: PostgresqlDatabase) -> PostgresqlDatabase:
    """The server's ``postgres`` database, with ``db``'s host and credentials: where databases are made."""
    return PostgresqlDatabase("postgres", **db.connect_params)


def _pg_database_exists(db: PostgresqlDatabase) -> bool:
    admin = _maintenance(db)
    try:
        return admin.execute_sql("SELECT 1 FROM pg_database WHERE datname = %s", (db.database,)).fetchone() is not None
    finally:
        admin.close()


def _create_pg_database(db: PostgresqlDatabase) -> None:
    admin = _maintenance(db)
    try:
        quoted = db.database.replace('"', '""')
        admin.execute_sql(f'CREATE DATABASE "{quoted}"')
    finally:
        admin.close()


def ensure_schema(db: Database) -> bool:
    """Create or upgrade the schema, safely when several processes start at once; whether this call did."""
    if _version(db) == SCHEMA_VERSION:
        return False
    with db.atomic():  # BEGIN IMMEDIATE on SQLite
        if is_postgres(db):
            db.execute_sql("SELECT pg_advisory_xact_lock(%s)", (_PG_SCHEMA_LOCK,))
        version = _version(db)
        if version == SCHEMA_VERSION:
            return False
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
    return True


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
