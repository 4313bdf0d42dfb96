"""Schema version 2 over a database the version-1 release wrote: upgraded in place, not a row lost.

``tests/data/rfarm-schema-v1.db`` was written by rfarm at f6cd9fd (see
``tests/data/make_schema_v1_db.py``); on PostgreSQL the same rows are copied
into the tables that release's DDL (``tests/data/rfarm-schema-v1-postgresql.sql``) makes.
"""
from __future__ import annotations

import shutil
import sqlite3
from datetime import datetime
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest
from rfarm_testlib import clean_env, run_together

from rfarm.state.db import SCHEMA_VERSION, open_database
from rfarm.state.models import SchemaInfo, Task, User
from rfarm.state.tokens import issue_token, verify_token
from rfarm.state.users import Role, add_user, list_users

DATA = Path(__file__).resolve().parents[1] / "data"
V1_SQLITE = DATA / "rfarm-schema-v1.db"
V1_POSTGRESQL = DATA / "rfarm-schema-v1-postgresql.sql"
#: the version-1 tables, parents before children
V1_TABLES = ("schema_info", "user", "hardware_config", "node", "task", "frame", "asset", "task_asset",
             "node_failure", "event")


def _v1_rows() -> dict[str, list[tuple[Any, ...]]]:
    """Every row of every table of the version-1 file, by table, in key order, with its column names first."""
    conn = sqlite3.connect(f"file:{V1_SQLITE}?mode=ro", uri=True)
    try:
        rows = {}
        for table in V1_TABLES:
            columns = tuple(r[1] for r in conn.execute(f'PRAGMA table_info("{table}")'))
            rows[table] = [columns, *conn.execute(f'SELECT * FROM "{table}" ORDER BY 1')]
        return rows
    finally:
        conn.close()


def _normal(value: Any) -> Any:
    """A value as SQLite returns it: booleans as 0 and 1, times as the text peewee stores."""
    if isinstance(value, bool):
        return int(value)
    if isinstance(value, datetime):
        return str(value)
    return value


def _rows_now(db: Any, before: dict[str, list[tuple[Any, ...]]]) -> dict[str, list[tuple[Any, ...]]]:
    """The same tables and columns, read from the upgraded database."""
    now = {}
    for table, (columns, *_) in before.items():
        listed = ", ".join(f'"{c}"' for c in columns)
        cursor = db.execute_sql(f'SELECT {listed} FROM "{table}" ORDER BY 1')
        now[table] = [columns, *(tuple(_normal(v) for v in row) for row in cursor.fetchall())]
    return now


def _check_upgraded(db: Any, config: Any) -> None:
    before = _v1_rows()
    assert [len(before[t]) - 1 for t in ("user", "task", "frame", "asset", "event")] == [2, 2, 6, 1, 6]
    now = _rows_now(db, before)
    before["schema_info"] = [before["schema_info"][0], ("version", str(SCHEMA_VERSION))]
    assert now == before, "every row of every version-1 table is still there, unchanged"
    assert SCHEMA_VERSION == 2
    assert [(u.name, u.role) for u in list_users()] == [("alice", "artist"), ("bob", "artist")]
    assert all(u.password_hash is None and u.removed_at is None for u in User.select())
    # the upgraded database works: tokens, new users, new tasks (their ids continue)
    issued = issue_token(config, "alice")
    assert verify_token(config, issued.token).role is Role.ARTIST
    add_user("root", Role.ADMIN)
    from rfarm.state import scheduler
    from rfarm.submit.request import SubmitRequest

    tid = scheduler.submit(SubmitRequest(scene="/s.blend", renderer="blender", frames=[1]), user="bob")
    assert tid == 3 and Task.select().count() == 3


def test_a_version_1_sqlite_database_is_upgraded_in_place(home: Path, config: Any) -> None:
    path = home / "rfarm.db"
    shutil.copyfile(V1_SQLITE, path)
    db = open_database(f"sqlite:///{path.as_posix()}")
    try:
        _check_upgraded(db, config)
        assert db.execute_sql("PRAGMA foreign_key_check").fetchall() == []
        assert db.execute_sql("PRAGMA integrity_check").fetchone()[0] == "ok"
    finally:
        db.close()


def _load_v1_into_postgresql(url: str) -> None:
    """The version-1 schema made by that release's DDL, and the version-1 file's rows copied in."""
    import psycopg2

    parts = urlsplit(url)
    conn = psycopg2.connect(host=parts.hostname, port=parts.port, user=parts.username, dbname=parts.path[1:])
    try:
        with conn, conn.cursor() as cur:
            cur.execute(V1_POSTGRESQL.read_text(encoding="utf-8"))
            for table, (columns, *rows) in _v1_rows().items():
                cur.execute("SELECT column_name, data_type FROM information_schema.columns WHERE table_name = %s",
                            (table,))
                boolean = {name for name, kind in cur.fetchall() if kind == "boolean"}
                listed = ", ".join(f'"{c}"' for c in columns)
                marks = ", ".join(["%s"] * len(columns))
                for row in rows:
                    values = [bool(v) if c in boolean and v is not None else v for c, v in zip(columns, row)]
                    cur.execute(f'INSERT INTO "{table}" ({listed}) VALUES ({marks})', values)
                if "id" in columns and rows:
                    cur.execute(f"""SELECT setval(pg_get_serial_sequence('"{table}"', 'id'), MAX(id)) FROM "{table}" """)
    finally:
        conn.close()


def test_a_version_1_postgresql_database_is_upgraded_in_place(fresh_pg_url: str, config: Any) -> None:
    _load_v1_into_postgresql(fresh_pg_url)
    db = open_database(fresh_pg_url)
    try:
        _check_upgraded(db, config)
    finally:
        db.close()


def test_a_fresh_database_is_made_at_version_2(farm: Any) -> None:
    assert SchemaInfo.get(SchemaInfo.key == "version").value == str(SCHEMA_VERSION) == "2"
    columns = {c.name for c in farm.db.get_columns("user")}
    assert {"role", "password_hash", "removed_at"} <= columns and farm.db.table_exists("token")


_OPEN_CHILD = """
from rfarm.state.db import open_database
from rfarm.state.models import SchemaInfo, Task

db = open_database((sync / "url").read_text())
print(SchemaInfo.get(SchemaInfo.key == "version").value, Task.select().count())
"""


@pytest.mark.e2e
def test_several_processes_upgrading_at_once_upgrade_once(tmp_path: Path) -> None:
    path = tmp_path / "farm" / "rfarm.db"
    path.parent.mkdir()
    shutil.copyfile(V1_SQLITE, path)
    sync = tmp_path / "sync"
    sync.mkdir()
    (sync / "url").write_text(f"sqlite:///{path.as_posix()}")
    outs = run_together(_OPEN_CHILD, 4, clean_env(), sync)
    assert [o.split() for o in outs] == [[str(SCHEMA_VERSION), "2"]] * 4
    conn = sqlite3.connect(path)
    try:
        assert [r[1] for r in conn.execute('PRAGMA table_info("user")')].count("role") == 1
    finally:
        conn.close()
