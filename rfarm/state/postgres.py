"""peewee's psycopg2 adapter with the driver imported when a PostgreSQL database is made.

:mod:`rfarm.state.drivers` imports peewee without its drivers and hands this
adapter to ``peewee.PostgresqlDatabase`` (its ``psycopg2_adapter`` hook).
"""
from __future__ import annotations

from typing import Any

import peewee


class LazyPsycopg2(peewee.Psycopg2Adapter):
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

