"""peewee without its database drivers: psycopg2 loads when a PostgreSQL database is made.

peewee imports every driver it knows (psycopg2, psycopg 3, ...) as it is imported
itself, about 80 ms of every command that runs on SQLite. :func:`import_peewee`
imports peewee with those drivers hidden from the importing thread, and
:class:`PostgresDatabase` brings psycopg2 in through peewee's adapter hook
(``PostgresqlDatabase.psycopg2_adapter``) when one is made, so PostgreSQL works
in a process that opened SQLite first. If something imported peewee before
``rfarm.state`` did, peewee holds the drivers and this adapter works just the same.
"""
from __future__ import annotations

import importlib.abc
import importlib.machinery
import sys
import threading
from collections.abc import Sequence
from types import ModuleType
from typing import Any

DRIVERS = frozenset({"psycopg", "psycopg2", "psycopg2cffi", "pymysql", "MySQLdb"})
"""Top-level modules peewee tries to import for databases; rfarm opens PostgreSQL through psycopg2 only."""


class _HiddenDrivers(importlib.abc.MetaPathFinder):
    """Answers "not installed" for :data:`DRIVERS`, to one thread, while it is on ``sys.meta_path``."""

    def __init__(self) -> None:
        self.thread = threading.get_ident()

    def find_spec(self, name: str, path: Sequence[str] | None = None,
                  target: ModuleType | None = None) -> importlib.machinery.ModuleSpec | None:
        if threading.get_ident() == self.thread and name.partition(".")[0] in DRIVERS:
            raise ModuleNotFoundError(f"{name} loads when a PostgreSQL database is opened", name=name)
        return None


def import_peewee() -> ModuleType:
    """peewee, imported (the first time) without importing the database drivers."""
    if "peewee" in sys.modules:
        return sys.modules["peewee"]
    finder = _HiddenDrivers()
    sys.meta_path.insert(0, finder)
    try:
        import peewee
    finally:
        sys.meta_path.remove(finder)
    return peewee


peewee = import_peewee()


class _Psycopg2(peewee.Psycopg2Adapter):
    """peewee's psycopg2 adapter with the driver imported when the database is made, not with peewee."""

    def __init__(self) -> None:
        super().__init__()
        try:
            import psycopg2
            import psycopg2.extensions
            import psycopg2.extras
        except ImportError:
            self.driver: Any = None
            return
        self.driver = psycopg2
        psycopg2.extras.register_uuid()  # as peewee does on import when it finds psycopg2
        self.txn_idle = psycopg2.extensions.TRANSACTION_STATUS_IDLE
        self.txn_inerror = psycopg2.extensions.TRANSACTION_STATUS_INERROR
        self.txn_unknown = psycopg2.extensions.TRANSACTION_STATUS_UNKNOWN
        self.json_type = self.jsonb_type = psycopg2.extras.Json

    def check_driver(self) -> None:
        if self.driver is None:
            raise peewee.ImproperlyConfigured("psycopg2 postgres driver not found.")

    def get_binary_type(self) -> Any:
        return self.driver.Binary

    def connect(self, db: peewee.PostgresqlDatabase, **params: Any) -> Any:
        params.setdefault("dsn" if db.database.startswith("postgresql://") else "dbname", db.database)
        conn = self.driver.connect(**params)
        if db._encoding:
            conn.set_client_encoding(db._encoding)
        return conn


class PostgresDatabase(peewee.PostgresqlDatabase):
    """A peewee PostgreSQL database on psycopg2, which it imports when made."""

    psycopg2_adapter = psycopg3_adapter = _Psycopg2
