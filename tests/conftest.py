"""Shared fixtures: an isolated RFARM_HOME, its config and farm, a PostgreSQL
database emptied for each test, small Cycles scenes made by a child Python with
bpy, and helpers that run the ``rfarm`` command in this process or as a real one.

Services (PostgreSQL on 127.0.0.1:5432, Redis on 127.0.0.1:6379) must be up:
a test that needs one fails with a clear message, it never skips.
bpy is never imported into the pytest process (it writes to the C-level stdout).

Markers: ``services`` (the test uses PostgreSQL or Redis) is applied here to
every test that uses their fixtures; ``e2e`` (the test runs real rfarm or bpy
processes) is set by the test modules and applied here to users of
``make_blend``. ``pytest -m "not e2e and not services"`` is the quick loop.
"""
from __future__ import annotations

import contextlib
import hashlib
import io
import json
import os
import shutil
import subprocess
import sys
import textwrap
import time
import traceback
import uuid
from collections.abc import Callable, Iterator, Mapping
from pathlib import Path
from typing import Any

import pytest

PG_HOST = os.environ.get("RFARM_TEST_PG_HOST", "127.0.0.1")
PG_PORT = int(os.environ.get("RFARM_TEST_PG_PORT", "5432"))
PG_USER = os.environ.get("RFARM_TEST_PG_USER", "postgres")
REDIS_URL = os.environ.get("RFARM_TEST_REDIS_URL", "redis://127.0.0.1:6379/15")
TEST_USER = "alice"

#: tests/fakes/fake_render.py: Maya's ``Render`` as a test double (exit codes, log lines, images, modes)
FAKE_RENDER = Path(__file__).resolve().parent / "fakes" / "fake_render.py"


def maya_scene(last_frame: int = 1) -> str:
    """A minimal Maya ASCII scene Arnold renders from frame 1 to ``last_frame``, with the camera every scene has."""
    return f"""//Maya ASCII 2024 scene
//Name: shot.ma
requires maya "2024";
requires "mtoa" "5.3.5.2";
currentUnit -l centimeter -a degree -t film;
createNode transform -s -n "persp";
createNode camera -s -n "perspShape" -p "persp";
\tsetAttr ".rnd" yes;
select -ne :defaultRenderGlobals;
\tsetAttr ".ren" -type "string" "arnold";
\tsetAttr ".an" yes;
\tsetAttr ".fs" 1;
\tsetAttr ".ef" {last_frame};
"""

CliResult = tuple[int, str, str]

# Test modules import the helpers below with ``from rfarm_testlib import ...``:
# every folder's conftest.py is loaded as a module called ``conftest`` (the
# last one loaded wins), so that name cannot be imported reliably.
sys.modules.setdefault("rfarm_testlib", sys.modules[__name__])


# -- markers ------------------------------------------------------------------

_SERVICE_FIXTURES = {"pg_url", "fresh_pg_url", "redis_url"}


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """``services`` on the users of PostgreSQL or Redis, ``e2e`` on the users of bpy-made scenes."""
    for item in items:
        names = set(getattr(item, "fixturenames", ()))
        if names & _SERVICE_FIXTURES:
            item.add_marker(pytest.mark.services)
        if "make_blend" in names:
            item.add_marker(pytest.mark.e2e)


# -- environment --------------------------------------------------------------


def clean_env(extra: Mapping[str, str] | None = None) -> dict[str, str]:
    """``os.environ`` without any RFARM_* variable, plus ``extra``."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("RFARM_")}
    env["PYTHONUNBUFFERED"] = "1"
    env.update(extra or {})
    return env


@pytest.fixture
def home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A fresh RFARM_HOME (and RFARM_USER) in this process's environment."""
    for name in list(os.environ):
        if name.startswith("RFARM_"):
            monkeypatch.delenv(name)
    path = tmp_path / "home"
    path.mkdir()
    monkeypatch.setenv("RFARM_HOME", str(path))
    monkeypatch.setenv("RFARM_USER", TEST_USER)
    return path


@pytest.fixture
def home_env(home: Path) -> dict[str, str]:
    """The environment a child ``rfarm`` process needs to share ``home``."""
    return clean_env({"RFARM_HOME": str(home), "RFARM_USER": TEST_USER})


@pytest.fixture
def config(home: Path):  # type: ignore[no-untyped-def]
    from rfarm.config import load_config

    return load_config()


def _forget_farm() -> None:
    """Close and drop the process-wide farm so the next open_farm rebinds the models."""
    import rfarm.state.farm
    from rfarm.state.models import database

    current = rfarm.state.farm._current
    if current is not None:
        with contextlib.suppress(Exception):  # closing is best effort
            current.db.close()
    rfarm.state.farm._current = None
    if database.obj is not None:
        with contextlib.suppress(Exception):
            database.obj.close()


@pytest.fixture
def farm(config) -> Iterator[Any]:  # type: ignore[no-untyped-def]
    """The embedded default farm (SQLite database and queue) under ``home``."""
    from rfarm.state.farm import open_farm

    _forget_farm()
    yield open_farm(config)
    _forget_farm()


# -- PostgreSQL and Redis -------------------------------------------------------


def _pg_admin():  # type: ignore[no-untyped-def]
    import psycopg2

    try:
        conn = psycopg2.connect(host=PG_HOST, port=PG_PORT, user=PG_USER, dbname="postgres", connect_timeout=5)
    except psycopg2.OperationalError as exc:
        pytest.fail(
            f"PostgreSQL is not reachable at {PG_USER}@{PG_HOST}:{PG_PORT} ({exc}); "
            "the tests need it running (trust auth for the postgres user)",
            pytrace=False,
        )
    conn.autocommit = True
    return conn


def _pg_url(name: str) -> str:
    return f"postgresql://{PG_USER}@{PG_HOST}:{PG_PORT}/{name}"


@contextlib.contextmanager
def _new_pg_database() -> Iterator[str]:
    """A new, empty PostgreSQL database (its name), dropped afterwards."""
    name = f"rfarm_test_{uuid.uuid4().hex[:12]}"
    conn = _pg_admin()
    with conn.cursor() as cur:
        cur.execute(f'CREATE DATABASE "{name}"')
    conn.close()
    try:
        yield name
    finally:
        _forget_farm()
        conn = _pg_admin()
        with conn.cursor() as cur:
            cur.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        conn.close()


@pytest.fixture(scope="session")
def _pg_session_database() -> Iterator[str]:
    """The PostgreSQL database the session's tests share; rfarm creates its schema on first use."""
    with _new_pg_database() as name:
        yield name


def _empty_pg_database(name: str) -> None:
    """Every row of every table (rfarm's and the Huey queue's) gone, identities restarted.

    Connections a finished test left behind are ended first, so that none
    holds a lock the TRUNCATE would wait for.
    """
    import psycopg2

    conn = psycopg2.connect(host=PG_HOST, port=PG_PORT, user=PG_USER, dbname=name, connect_timeout=5)
    conn.autocommit = True
    try:
        with conn.cursor() as cur:
            cur.execute(
                "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = %s AND pid <> pg_backend_pid()",
                (name,),
            )
            cur.execute("SELECT tablename FROM pg_tables WHERE schemaname = 'public'")
            tables = [row[0] for row in cur.fetchall()]
            if tables:
                listed = ", ".join(f'public."{table}"' for table in tables)
                cur.execute(f"TRUNCATE TABLE {listed} RESTART IDENTITY CASCADE")
    finally:
        conn.close()


@pytest.fixture
def pg_url(_pg_session_database: str) -> Iterator[str]:
    """The session's PostgreSQL database, with no rows in it (the schema may already be there)."""
    _forget_farm()
    _empty_pg_database(_pg_session_database)
    yield _pg_url(_pg_session_database)
    _forget_farm()


@pytest.fixture
def fresh_pg_url() -> Iterator[str]:
    """A new PostgreSQL database with no schema at all, for tests of schema creation; dropped afterwards."""
    with _new_pg_database() as name:
        yield _pg_url(name)


@pytest.fixture
def redis_url() -> Iterator[str]:
    """Redis database 15, flushed before and after the test."""
    import redis

    client = redis.Redis.from_url(REDIS_URL, socket_connect_timeout=5)
    try:
        client.flushdb()
    except redis.exceptions.ConnectionError as exc:
        pytest.fail(f"Redis is not reachable at {REDIS_URL} ({exc}); the tests need it running", pytrace=False)
    try:
        yield REDIS_URL
    finally:
        client.flushdb()
        client.close()


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.services)])
def db_kind(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest.fixture
def any_farm(db_kind: str, home: Path, monkeypatch: pytest.MonkeyPatch, request: pytest.FixtureRequest) -> Iterator[Any]:
    """The farm under ``home`` on SQLite or on the emptied PostgreSQL database (parametrized)."""
    from rfarm.config import load_config
    from rfarm.state.farm import open_farm

    if db_kind == "postgresql":
        monkeypatch.setenv("RFARM_DATABASE_URL", request.getfixturevalue("pg_url"))
    _forget_farm()
    yield open_farm(load_config())
    _forget_farm()


# -- the rfarm command ----------------------------------------------------------------


def run_cli(*args: str, env: Mapping[str, str] | None = None, cwd: Path | None = None) -> CliResult:
    """``rfarm ARGS`` run in this process as a new process would run it: (exit code, stdout, stderr).

    The command sees exactly ``env`` (default: :func:`clean_env`) as its
    environment, ``cwd`` as its working folder and an empty stdin; it opens its
    own farm and sets up its own logging; afterwards everything is as it was.
    Commands that need a process of their own (workers, signals, ``--wait``
    on a render) go through :func:`run_cli_process`.
    """
    from rfarm.cli.app import main

    assert not args or args[0] != "worker", "a worker runs as a real process: use run_cli_process"
    with _as_a_new_process(dict(env) if env is not None else clean_env(), cwd) as (out, err):
        try:
            main(list(args))
            code = 0
        except SystemExit as exc:
            if isinstance(exc.code, str):  # what the interpreter does with sys.exit("message")
                err.write(exc.code + "\n")
            code = exc.code if isinstance(exc.code, int) else (0 if exc.code is None else 1)
        except Exception:  # noqa: BLE001 - an uncaught exception: a traceback and exit 1, as in a process
            traceback.print_exc(file=err)
            code = 1
    return code, out.getvalue(), err.getvalue()


@contextlib.contextmanager
def _as_a_new_process(env: dict[str, str], cwd: Path | None) -> Iterator[tuple[io.StringIO, io.StringIO]]:
    """This process dressed as a new one for one command; the process-wide state is put back after.

    The state rfarm keeps per process: the environment, the working folder,
    the standard streams (and the rich consoles made for them), the root
    logger's handlers and the loggers' levels, and the open farm with the
    database the models are bound to.
    """
    import logging

    import rfarm.state.farm
    from rfarm.cli import output
    from rfarm.state.models import database

    saved_env, saved_cwd = dict(os.environ), os.getcwd()
    saved_streams = sys.stdin, sys.stdout, sys.stderr
    saved_farm, saved_db = rfarm.state.farm._current, database.obj
    root = logging.getLogger()
    saved_handlers = root.handlers[:]
    loggers = [root, *(lg for lg in logging.root.manager.loggerDict.values() if isinstance(lg, logging.Logger))]
    saved_levels = [(logger, logger.level) for logger in loggers]
    out, err = io.StringIO(), io.StringIO()
    os.environ.clear()
    os.environ.update(env)
    try:
        if cwd is not None:
            os.chdir(cwd)
        sys.stdin, sys.stdout, sys.stderr = io.StringIO(""), out, err
        root.handlers = []
        rfarm.state.farm._current = None
        output.err_console.cache_clear()
        output.out_console.cache_clear()
        yield out, err
    finally:
        _close_farm(rfarm.state.farm._current)
        rfarm.state.farm._current = saved_farm
        database.initialize(saved_db)
        output.err_console.cache_clear()
        output.out_console.cache_clear()
        root.handlers = saved_handlers
        for logger, level in saved_levels:
            if logger.level != level:
                logger.setLevel(level)
        sys.stdin, sys.stdout, sys.stderr = saved_streams
        os.chdir(saved_cwd)
        os.environ.clear()
        os.environ.update(saved_env)


def _close_farm(farm: Any) -> None:
    """Close what a command's farm opened: its database connection and its queue's."""
    if farm is None:
        return
    with contextlib.suppress(Exception):  # closing is best effort
        farm.db.close()
    queue = farm.__dict__.get("queue")  # only if the command opened it
    if queue is not None:
        with contextlib.suppress(Exception):
            queue.huey.storage.close()


def run_cli_process(
    *args: str, env: Mapping[str, str] | None = None, timeout: float = 60, cwd: Path | None = None
) -> CliResult:
    """``python -m rfarm ARGS`` as a real process: (exit code, stdout, stderr)."""
    proc = subprocess.run(
        [sys.executable, "-m", "rfarm", *args],
        env=dict(env) if env is not None else clean_env(),
        cwd=str(cwd) if cwd else None,
        capture_output=True,
        text=True,
        timeout=timeout,
        stdin=subprocess.DEVNULL,
        check=False,
    )
    return proc.returncode, proc.stdout, proc.stderr


# -- child processes ------------------------------------------------------------


_BARRIER = """
(sync / f"ready-{me}").touch()
deadline = time.monotonic() + 60
while not (sync / "go").exists():
    if time.monotonic() > deadline:
        sys.exit("never told to go")
    time.sleep(0.002)
"""


def run_together(
    code: str, n: int, env: dict[str, str], sync: Path, *, setup: str = "", timeout: float = 90
) -> list[str]:
    """Start ``n`` child Pythons, release them at once into ``code``, return their stdouts.

    Each child runs ``setup`` first, then waits at a barrier until every child
    is ready; ``sync`` (a folder) and ``me`` (``p0``, ``p1``, ...) are defined.
    """
    sync.mkdir(parents=True, exist_ok=True)
    script = "\n".join([
        "import sys, time", "from pathlib import Path", "sync, me = Path(sys.argv[1]), sys.argv[2]",
        textwrap.dedent(setup), _BARRIER, textwrap.dedent(code),
    ])
    procs = [
        subprocess.Popen(
            [sys.executable, "-c", script, str(sync), f"p{i}"],
            env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, stdin=subprocess.DEVNULL,
        )
        for i in range(n)
    ]
    try:
        deadline = time.monotonic() + timeout
        while len(list(sync.glob("ready-*"))) < n:
            dead = [p for p in procs if p.poll() is not None]
            if dead:
                pytest.fail(f"a child exited early: {dead[0].communicate()[1][-3000:]}", pytrace=False)
            assert time.monotonic() < deadline, "children never got ready"
            time.sleep(0.01)
        (sync / "go").touch()
        outs = []
        for p in procs:
            out, err = p.communicate(timeout=timeout)
            assert p.returncode == 0, f"child exited {p.returncode}: {err[-3000:]}"
            outs.append(out)
        return outs
    finally:
        for p in procs:
            if p.poll() is None:
                p.kill()
                p.wait(timeout=10)



def assert_one_error_line(code: int, out: str, err: str, *, exit_code: int = 2, json_doc: bool = False) -> str:
    """A refused command: its exit code, one ``Error:`` line on stderr, no traceback.

    Stdout is empty, or with ``json_doc`` (the command ran with ``--json``) exactly one
    error document, ``{"error": {"type", "message"}, "exit_code"}``, that agrees with it.
    """
    assert code == exit_code, f"exit {code}, stderr: {err}"
    assert "Traceback" not in err and "Traceback" not in out
    lines = err.strip().splitlines()
    assert len(lines) == 1, f"expected one line on stderr, got: {err!r}"
    assert lines[0].startswith("Error: "), lines[0]
    if json_doc:
        doc = json.loads(out)
        assert set(doc) == {"error", "exit_code"} and doc["exit_code"] == exit_code, doc
        assert set(doc["error"]) == {"type", "message"} and doc["error"]["type"], doc
        assert " ".join(lines[0].removeprefix("Error: ").split()) == doc["error"]["message"]
    else:
        assert out == ""
    return lines[0]

def cli_json(*args: str, env: Mapping[str, str]) -> Any:
    """Run an ``rfarm ... --json`` command that must succeed (in this process); its one JSON document."""
    code, out, err = run_cli(*args, "--json", env=env)
    assert code == 0, f"rfarm {' '.join(args)} --json exited {code}: {err}"
    return json.loads(out)



# -- rfarm serve ------------------------------------------------------------------


def free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class Server:
    """``rfarm serve`` as a real process on a free port of this machine."""

    def __init__(self, env: dict[str, str], log: Path, *args: str) -> None:
        import subprocess
        import sys

        self.port = free_port()
        self.url = f"{'https' if '--cert' in args else 'http'}://127.0.0.1:{self.port}"
        self.log = log
        with open(log, "wb") as fh:
            self.proc = subprocess.Popen(
                [sys.executable, "-m", "rfarm", "serve", "--port", str(self.port), *args],
                env=env, stdout=fh, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
            )

    def wait_ready(self, timeout: float = 30, **httpx_options: Any) -> None:
        import time

        import httpx

        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                pytest.fail(f"rfarm serve exited {self.proc.returncode}:\n{self.log.read_text()[-3000:]}",
                            pytrace=False)
            try:
                if httpx.get(self.url + "/api/health", timeout=1, **httpx_options).status_code == 200:
                    return
            except httpx.HTTPError:
                pass
            time.sleep(0.1)
        pytest.fail(f"rfarm serve never answered:\n{self.log.read_text()[-3000:]}", pytrace=False)

    def stop(self) -> int:
        """SIGTERM, as a service manager stops it; its exit code."""
        import signal
        import subprocess

        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(20)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(10)
        return int(self.proc.returncode)


@pytest.fixture
def start_server(tmp_path: Path) -> Iterator[Callable[..., Server]]:
    """``start_server(env, *args)``: a running ``rfarm serve``; stopped at the end."""
    started: list[Server] = []

    def start(env: dict[str, str], *args: str, **httpx_options: Any) -> Server:
        server = Server(env, tmp_path / f"serve-{len(started)}.log", *args)
        started.append(server)
        server.wait_ready(**httpx_options)
        return server

    yield start
    for server in started:
        server.stop()


# -- Blender scenes ---------------------------------------------------------------

MAKE_SCENE = Path(__file__).resolve().parents[1] / "examples" / "make_scene.py"


@pytest.fixture(scope="session")
def make_blend(tmp_path_factory: pytest.TempPathFactory) -> Callable[..., Path]:
    """``make_blend(path, *, samples, frames, size, threads=0)``: a small Cycles scene at ``path``.

    Each distinct scene is made once per session by a child Python with bpy
    and copied to ``path``.
    """
    cache = tmp_path_factory.mktemp("blend-cache")

    def make(path: Path, *, samples: int = 1, frames: int = 3, size: int = 16, threads: int = 0) -> Path:
        spec: dict[str, Any] = {"samples": samples, "frames": frames, "size": size, "threads": threads}
        key = hashlib.sha1(json.dumps(spec, sort_keys=True).encode()).hexdigest()[:12]
        cached = cache / f"scene-{key}.blend"
        if not cached.is_file():
            command = [
                sys.executable, str(MAKE_SCENE), "--out", str(cached), "--samples", str(samples),
                "--size", f"{size}x{size}", "--frames", str(frames), "--threads", str(threads), "--no-compress",
            ]
            proc = subprocess.run(
                command,
                env=clean_env(), capture_output=True, text=True, timeout=120, stdin=subprocess.DEVNULL, check=False,
            )
            if proc.returncode != 0 or not cached.is_file():
                pytest.fail(
                    f"could not make a .blend with bpy (exit {proc.returncode}); is rfarm[blender] installed?\n"
                    f"{proc.stderr[-3000:]}",
                    pytrace=False,
                )
        path = Path(path)
        path.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(cached, path)
        return path

    return make


# -- the shared scene corpus ---------------------------------------------------

SHARED_CORPUS = Path(__file__).resolve().parents[1].parent / "shared" / "corpus"


def require_corpus(folder: str) -> Path:
    """``../shared/corpus/<folder>``; the test is skipped where it is absent (failed under RFARM_REQUIRE_CORPUS=1)."""
    path = SHARED_CORPUS / folder
    if not path.is_dir():
        message = f"the shared scene corpus is absent: no {path} (../shared/corpus/{folder} beside the repository)"
        if os.environ.get("RFARM_REQUIRE_CORPUS") == "1":
            pytest.fail(f"{message}, and RFARM_REQUIRE_CORPUS=1 requires it", pytrace=False)
        pytest.skip(message)
    return path


def pytest_runtest_setup(item: pytest.Item) -> None:
    marker = item.get_closest_marker("corpus")
    if marker is not None:
        require_corpus(*marker.args)
