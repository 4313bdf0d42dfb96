"""Generated bad input for every command's options: never a traceback, a documented exit code, one JSON document."""
from __future__ import annotations

import json
import os
import tempfile
from pathlib import Path

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from rfarm_testlib import TEST_USER, clean_env, run_cli

#: exit codes the README documents (0 ok, 1 the work failed, 2 bad input, 3 a service, 4 not allowed)
DOCUMENTED = {0, 1, 2, 3, 4}
SCENE = '//Maya ASCII 2024 scene\nrequires maya "2024";\nplaybackOptions -min 1 -max 3;\n'

NUMBERS = st.sampled_from([
    "0", "-1", "-0", "1", "2", "1e300", "-1e300", "nan", "NaN", "inf", "-inf", "1e-320", "9" * 30, "-" + "9" * 30,
    "0x10", "1_000", " 5 ", "", "٣", "½", "1,5", "1.5", "2**63", "9223372036854775808",
])
WORDS = st.one_of(
    NUMBERS,
    st.sampled_from(["", " ", "nope", "../../etc/passwd", "C:\\Windows\\x", "\\\\nas\\share", "a" * 5000, "—", "😀",
                     "[red]x[/red]", "--json", "-x", "\x00", "null", "{}", "1-3", "3-1", "1-1000000000"]),
    st.text(min_size=0, max_size=20).filter(lambda s: "\x00" not in s),
)
PATHS = st.sampled_from(["/proc/x.json", "/dev/null", "/dev/full", "/nonexist/a/b.json", ".", "/", "", "~nope/x",
                         "C:/proj/x.json", "\\\\nas\\share\\x.json", "/proc/self/mem", "FOLDER", "FILE", "é/ü.json"])


def home() -> tuple[dict[str, str], Path]:
    root = Path(tempfile.mkdtemp(prefix="rfarm-prop-"))
    (root / "FOLDER").mkdir()
    (root / "FILE").write_text("x", encoding="utf-8")
    (root / "shot.ma").write_text(SCENE, encoding="utf-8")
    env = clean_env({"RFARM_HOME": str(root / "home"), "RFARM_USER": TEST_USER})
    return env, root


def place(path: str, root: Path) -> str:
    return str(root / path) if path in ("FOLDER", "FILE") else path


def check(args: list[str], env: dict[str, str], root: Path) -> None:
    cwd = os.getcwd()
    code, out, err = run_cli(*args, env=env, cwd=root)
    assert os.getcwd() == cwd
    assert "Traceback" not in err and "Traceback" not in out, (args, err[-2000:])
    assert code in DOCUMENTED, (args, code, err[-500:])
    if code >= 2:  # refused: one line says why (exit 1 is the work's own outcome, e.g. a scene's problems)
        lines = [line for line in err.splitlines() if line.startswith("Error")]
        assert len(lines) == 1, (args, err)
    if "--json" in args:
        json.loads(out)  # exactly one document, on success and on error
    elif code >= 2:
        assert out == "", (args, out)


PROPERTY = settings(max_examples=15, deadline=None, derandomize=True, database=None,
                    suppress_health_check=[HealthCheck.too_slow])


@PROPERTY
@given(task=WORDS, frame=NUMBERS, as_json=st.booleans(),
       command=st.sampled_from(["status", "cancel", "pause", "resume", "retry", "cleanup", "logs", "download"]))
def test_task_commands(task: str, frame: str, as_json: bool, command: str) -> None:
    env, root = home()
    args = [command, task] + (["--frame", frame] if command == "logs" else []) + (["--json"] if as_json else [])
    check(args, env, root)


@PROPERTY
@given(frames=WORDS, test_frame=NUMBERS, timeout=NUMBERS, ram=NUMBERS, gpus=NUMBERS, chunk=NUMBERS,
       priority=WORDS, camera=WORDS, as_json=st.booleans())
def test_submit_options(frames: str, test_frame: str, timeout: str, ram: str, gpus: str, chunk: str, priority: str,
                        camera: str, as_json: bool) -> None:
    env, root = home()
    args = ["submit", str(root / "shot.ma"), "--in-place", "--frames", frames, "--test-frame", test_frame,
            "--timeout", timeout, "--ram", ram, "--gpus", gpus, "--chunk", chunk, "--priority", priority,
            "--camera", camera] + (["--json"] if as_json else [])
    check(args, env, root)


@PROPERTY
@given(hours=NUMBERS, out=PATHS, dest=PATHS, key=st.sampled_from(["lease_seconds", "max_attempts", "user",
                                                                   "cache_max_gb", "database_url", "nope"]),
       value=WORDS, ram=NUMBERS, as_json=st.booleans())
def test_farm_files_and_config_options(hours: str, out: str, dest: str, key: str, value: str, ram: str,
                                       as_json: bool) -> None:
    env, root = home()
    flag = ["--json"] if as_json else []
    check(["stats", "--hours", hours, *flag], env, root)
    check(["analyse", str(root / "shot.ma"), "-o", place(out, root), *flag], env, root)
    check(["download", "1", "--dest", place(dest, root), *flag], env, root)
    if dest not in ("/", "."):  # hashing the whole disk is allowed, but not in a test
        check(["hash", place(dest, root), *flag], env, root)
    check(["hwconfig", "add", "big", "--ram", ram, *flag], {**env, "RFARM_ADMINS": TEST_USER}, root)
    check(["config", "set", key, value, *flag], env, root)
    check(["config", "show", *flag], env, root)
