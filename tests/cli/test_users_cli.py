"""`rfarm users`: add (the first admin on the database's machine), list, token(s), revoke, passwd, role, remove."""
from __future__ import annotations

import json
import subprocess
import sys
from typing import Any

import pytest
from rfarm_testlib import TEST_USER, assert_one_error_line, cli_json, run_cli


def rfarm_with_stdin(env: dict[str, str], text: str, *args: str) -> tuple[int, str, str]:
    """``python -m rfarm ARGS`` as a real process reading ``text`` on stdin (not a terminal)."""
    proc = subprocess.run([sys.executable, "-m", "rfarm", *args], env=env, input=text, capture_output=True,
                          text=True, timeout=60, check=False)
    return proc.returncode, proc.stdout, proc.stderr


def test_users_add_prints_name_role_and_a_token_once(home_env: dict[str, str], farm: Any) -> None:
    from rfarm.state.tokens import verify_token
    from rfarm.state.users import Role

    doc = cli_json("users", "add", "root", "--role", "admin", env=home_env)
    assert set(doc) == {"name", "role", "token"} and (doc["name"], doc["role"]) == ("root", "admin")
    assert verify_token(farm.config, doc["token"]).role is Role.ADMIN
    code, out, err = run_cli("users", "add", "carol", "--role", "artist", env={**home_env, "RFARM_USER": "root"})
    assert code == 0 and "shown only this once" in err
    (token,) = out.split()
    assert verify_token(farm.config, token).user == "carol"
    listed = cli_json("users", "list", env={**home_env, "RFARM_USER": "root"})
    assert [(u["name"], u["role"]) for u in listed] == [("carol", "artist"), ("root", "admin")]


def test_an_artist_may_not_add_users_once_an_admin_exists(home_env: dict[str, str]) -> None:
    cli_json("users", "add", "root", "--role", "admin", env=home_env)
    code, out, err = run_cli("users", "add", "eve", "--role", "admin", "--json", env=home_env)
    line = assert_one_error_line(code, out, err, exit_code=4, json_doc=True)
    assert line == f"Error: adding users needs the admin role; '{TEST_USER}' is artist"
    code, out, err = run_cli("users", "list", env=home_env)
    assert_one_error_line(code, out, err, exit_code=4)
    # an admin by the configuration's admins, as before the roles were kept
    made = cli_json("users", "add", "eve", "--role", "viewer", env={**home_env, "RFARM_ADMINS": TEST_USER})
    assert made["role"] == "viewer"


def test_a_role_outside_the_four_is_refused(home_env: dict[str, str]) -> None:
    code, out, err = run_cli("users", "add", "x", "--role", "god", env=home_env)
    line = assert_one_error_line(code, out, err, exit_code=2)
    assert all(role in line for role in ("viewer", "artist", "manager", "admin"))
    code, out, err = run_cli("users", "add", "a/b", "--role", "artist", env=home_env)
    assert_one_error_line(code, out, err, exit_code=2)


def test_tokens_are_made_listed_and_revoked(home_env: dict[str, str], farm: Any) -> None:
    from rfarm.errors import NotAllowedError
    from rfarm.state.tokens import verify_token

    root = {**home_env, "RFARM_USER": "root"}
    cli_json("users", "add", "root", "--role", "admin", env=root)
    cli_json("users", "add", TEST_USER, "--role", "artist", env=root)
    issued = cli_json("users", "token", TEST_USER, env=home_env)  # a user makes their own
    assert set(issued) == {"token_id", "token", "user", "expires_at"} and issued["user"] == TEST_USER
    code, out, err = run_cli("users", "token", "root", env=home_env)
    assert_one_error_line(code, out, err, exit_code=4)
    mine = cli_json("users", "tokens", env=home_env)
    assert {t["user"] for t in mine} == {TEST_USER} and len(mine) == 2
    assert len(cli_json("users", "tokens", env=root)) == 3
    assert cli_json("users", "revoke", issued["token_id"], env=home_env) == {"token_id": issued["token_id"],
                                                                           "revoked": True}
    with pytest.raises(NotAllowedError, match="revoked"):
        verify_token(farm.config, issued["token"])
    code, out, err = run_cli("users", "revoke", "nope", env=root)
    assert_one_error_line(code, out, err, exit_code=2)
    assert "no token 'nope'" in err


def test_role_and_remove(home_env: dict[str, str], farm: Any) -> None:
    from rfarm.errors import NotAllowedError
    from rfarm.state.tokens import verify_token
    from rfarm.state.users import Role

    root = {**home_env, "RFARM_USER": "root"}
    cli_json("users", "add", "root", "--role", "admin", env=root)
    token = cli_json("users", "add", "carol", "--role", "artist", env=root)["token"]
    assert cli_json("users", "role", "carol", "manager", env=root)["role"] == "manager"
    assert verify_token(farm.config, token).role is Role.MANAGER
    assert cli_json("users", "remove", "carol", env=root) == {"name": "carol", "removed": True}
    with pytest.raises(NotAllowedError, match="removed"):
        verify_token(farm.config, token)
    assert [u["name"] for u in cli_json("users", "list", env=root)] == ["root"]
    code, out, err = run_cli("users", "remove", "carol", env=root)
    assert_one_error_line(code, out, err, exit_code=2)


@pytest.mark.e2e
def test_passwords_come_from_stdin(home_env: dict[str, str], farm: Any) -> None:
    from rfarm.errors import NotAllowedError
    from rfarm.state.users import check_password

    code, out, err = rfarm_with_stdin(home_env, "first pw\n", "users", "add", "root", "--role", "admin",
                                      "--password-stdin", "--json")
    assert code == 0, err
    assert set(json.loads(out)) == {"name", "role", "token"}
    assert check_password("root", "first pw").user == "root"
    root = {**home_env, "RFARM_USER": "root"}
    code, _, err = rfarm_with_stdin(root, "second pw\n", "users", "passwd", "root")  # stdin not a terminal: one line
    assert code == 0, err
    assert check_password("root", "second pw").user == "root"
    with pytest.raises(NotAllowedError, match="wrong name or password"):
        check_password("root", "first pw")
    code, out, err = rfarm_with_stdin(root, "", "users", "passwd", "root", "--password-stdin")
    assert_one_error_line(code, out, err, exit_code=2)
    assert "no password on stdin" in err
