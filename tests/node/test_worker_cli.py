"""``rfarm worker`` start-up: the database it renders from is shown without its password."""
from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from rfarm_testlib import TEST_USER, clean_env

from rfarm.state.db import redact


def test_redact_hides_only_the_password() -> None:
    assert redact("postgresql://render:S3cr3t%40x@db.studio:5432/farm") == "postgresql://render:***@db.studio:5432/farm"
    assert redact("postgres://render@db.studio/farm") == "postgres://render@db.studio/farm"
    assert redact("sqlite:///C:/farm/rfarm.db") == "sqlite:///C:/farm/rfarm.db"


def test_the_worker_prints_its_database_without_the_password(tmp_path: Path, pg_url: str, redis_url: str) -> None:
    with_password = pg_url.replace("postgresql://postgres@", "postgresql://postgres:hunter2@")
    assert with_password != pg_url
    env = clean_env({"RFARM_HOME": str(tmp_path / "home"), "RFARM_USER": TEST_USER,
                     "RFARM_DATABASE_URL": with_password, "RFARM_QUEUE_URL": redis_url,
                     "RFARM_QUEUE_SECRET": "farm-secret"})
    done = subprocess.run([sys.executable, "-m", "rfarm", "worker", "--burst", "--name", "n1"], env=env,
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    assert "hunter2" not in done.stdout + done.stderr
    assert f"rendering from {pg_url.replace('postgres@', 'postgres:***@')}" in done.stderr.replace("\n", "")
