"""A PostgreSQL database made for one benchmark run and dropped after it (the benchmarks' shared helper)."""
from __future__ import annotations

import uuid
from collections.abc import Iterator
from contextlib import contextmanager

PG_ADMIN = "postgresql://postgres@127.0.0.1:5432/postgres"


@contextmanager
def scratch_database() -> Iterator[str]:
    """The URL of a new, empty database; dropped on exit, after rfarm's own connection is closed."""
    import psycopg2

    name = "rfarm_bench_" + uuid.uuid4().hex[:8]
    admin = psycopg2.connect(PG_ADMIN)
    admin.autocommit = True
    admin.cursor().execute(f"CREATE DATABASE {name}")
    try:
        yield PG_ADMIN.rsplit("/", 1)[0] + "/" + name
    finally:
        from rfarm.state.models import database

        database.obj.close()
        admin.cursor().execute(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")
        admin.close()
