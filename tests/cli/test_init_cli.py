"""Only the default database under RFARM_HOME makes itself; any other is made by ``rfarm init``.

A typo in ``database_url`` must not look like a new, empty farm.
"""
from __future__ import annotations

import json
import uuid
from pathlib import Path

import pytest
from rfarm_testlib import PG_HOST, PG_PORT, PG_USER, _pg_admin, assert_one_error_line, run_cli


def test_a_missing_sqlite_file_elsewhere_is_an_error_until_rfarm_init(home_env: dict[str, str], tmp_path: Path) -> None:
    db = tmp_path / "nonexistent" / "dir" / "x.db"
    env = {**home_env, "RFARM_DATABASE_URL": f"sqlite:///{db.as_posix()}"}
    for command in (("status",), ("list",), ("nodes",), ("stats",)):
        line = assert_one_error_line(*run_cli(*command, env=env))
        assert str(db) in line and "rfarm init" in line, line
    assert not db.parent.parent.exists(), "neither the folder nor the file is made"

    code, out, err = run_cli("init", env=env)
    assert code == 0, err
    assert err.strip() == f"created the folder {db.parent}, the database {db}, the schema (version 2)"
    code, out, err = run_cli("init", "--json", env=env)
    assert code == 0 and json.loads(out) == {"database": f"sqlite:///{db.as_posix()}", "created": []}, err
    code, out, err = run_cli("status", "--json", env=env)
    assert (code, json.loads(out)) == (0, []), err


def test_the_default_database_makes_itself(home: Path, home_env: dict[str, str]) -> None:
    code, out, err = run_cli("status", "--json", env=home_env)
    assert (code, json.loads(out)) == (0, []), err
    assert (home / "rfarm.db").is_file()
    code, out, err = run_cli("init", "--json", env=home_env)
    assert code == 0 and json.loads(out)["created"] == [], "already made by the first use"


@pytest.mark.services
def test_a_postgresql_database_that_does_not_exist_is_an_error_until_rfarm_init(home_env: dict[str, str]) -> None:
    name = f"rfarm_test_init_{uuid.uuid4().hex[:10]}"
    env = {**home_env, "RFARM_DATABASE_URL": f"postgresql://{PG_USER}@{PG_HOST}:{PG_PORT}/{name}"}
    try:
        line = assert_one_error_line(*run_cli("status", env=env))
        assert f"has no database '{name}'" in line and "rfarm init" in line, line
        code, _, err = run_cli("init", env=env)
        assert code == 0 and err.strip() == f"created the PostgreSQL database {name}, the schema (version 2)", err
        code, out, err = run_cli("init", "--json", env=env)
        assert code == 0 and json.loads(out)["created"] == [], err
        code, out, err = run_cli("status", "--json", env=env)
        assert (code, json.loads(out)) == (0, []), err
    finally:
        conn = _pg_admin()
        with conn.cursor() as cur:
            cur.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        conn.close()


def test_init_through_a_server_is_refused(home_env: dict[str, str]) -> None:
    env = {**home_env, "RFARM_SERVER_URL": "http://127.0.0.1:9", "RFARM_TOKEN": "t"}
    assert "server" in assert_one_error_line(*run_cli("init", env=env))
