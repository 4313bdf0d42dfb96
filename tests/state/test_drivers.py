"""peewee loads without its database drivers; PostgreSQL still opens in a process that used SQLite first."""
from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

from rfarm_testlib import clean_env

REPO = Path(__file__).resolve().parents[2]


def _python(code: str, *args: str) -> dict[str, object]:
    """Run ``code`` in a fresh interpreter on this checkout; its last stdout line, as JSON."""
    env = clean_env({"PYTHONPATH": os.pathsep.join([str(REPO), os.environ.get("PYTHONPATH", "")])})
    done = subprocess.run([sys.executable, "-c", textwrap.dedent(code), *args], env=env, capture_output=True,
                          text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout.strip().splitlines()[-1])


DRIVERS_LOADED = "sorted({m.split('.')[0] for m in sys.modules} & {'psycopg', 'psycopg2', 'redis'})"


def test_sqlite_then_postgresql_in_one_process(tmp_path: Path, pg_url: str) -> None:
    found = _python(f"""
        import json, sys
        from rfarm.state.db import open_database
        from rfarm.state.models import User
        open(sys.argv[1], "wb").close()  # an empty farm database: the schema is made on first use
        sqlite = open_database("sqlite:///" + sys.argv[1])
        User.create(name="sqlite-user", unionid="u1")
        on_sqlite = {DRIVERS_LOADED}
        sqlite.close()
        pg = open_database(sys.argv[2])
        User.create(name="pg-user", unionid="u2")
        names = [u.name for u in User.select().order_by(User.name)]
        import peewee  # a database made by other code than rfarm's
        other = peewee.PostgresqlDatabase(sys.argv[2]).execute_sql("SELECT count(*) FROM public.user").fetchone()
        print(json.dumps({{"on_sqlite": on_sqlite, "on_pg": {DRIVERS_LOADED}, "names": names,
                          "usable": pg.is_connection_usable(), "other": other}}))
    """, str(tmp_path / "farm.db"), pg_url)
    assert found["on_sqlite"] == [], "a SQLite farm loads no database or Redis driver"
    assert found["on_pg"] == ["psycopg2"]
    assert found["names"] == ["pg-user"] and found["usable"] is True and found["other"] == [1]


def test_postgresql_works_when_peewee_came_first_with_its_drivers(pg_url: str) -> None:
    found = _python(f"""
        import json, sys
        import peewee  # before rfarm.state: peewee imports the drivers itself
        from rfarm.state.db import open_database
        from rfarm.state.models import User
        open_database(sys.argv[1])
        User.create(name="pg-user", unionid="u2")
        print(json.dumps({{"names": [u.name for u in User.select()], "drivers": {DRIVERS_LOADED}}}))
    """, pg_url)
    assert found == {"names": ["pg-user"], "drivers": ["psycopg", "psycopg2"]}
