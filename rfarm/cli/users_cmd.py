"""``rfarm users``: users, their roles, passwords and tokens (admins; anyone for the first admin)."""
from __future__ import annotations

import sys
from typing import Annotated

import typer

from rfarm.cli.options import JsonOption, connect
from rfarm.cli.output import info, out_console, print_json
from rfarm.errors import UsageError
from rfarm.state.states import Role

app = typer.Typer(help="Users, their roles, passwords and tokens.", no_args_is_help=True)

NameArg = Annotated[str, typer.Argument(help="The user's name.", show_default=False)]
RoleOption = Annotated[Role, typer.Option("--role", help="viewer, artist, manager or admin (each includes the one before).")]
PasswordStdinOption = Annotated[
    bool, typer.Option("--password-stdin", help="Read the password (one line) from stdin.")
]

_ONCE = "the token is shown only this once; keep it (rfarm login URL stores it on the user's machine)"


def register(root: typer.Typer) -> None:
    root.add_typer(app, name="users")


def _read_password(*, ask: bool) -> str:
    """The password: typed twice at a terminal when ``ask``, else one line of stdin."""
    if ask and sys.stdin.isatty():
        from getpass import getpass

        first = getpass("Password: ")
        if getpass("Again: ") != first:
            raise UsageError("the two passwords differ; run the command again")
        return first
    line = sys.stdin.readline()
    password = line.removesuffix("\n").removesuffix("\r")
    if not password:
        raise UsageError("no password on stdin; give one line (echo PASSWORD | rfarm users ... --password-stdin)")
    return password


@app.command("add")
def add(name: NameArg, role: RoleOption = Role.ARTIST, password_stdin: PasswordStdinOption = False,
        json: JsonOption = False) -> int:
    """Add a user and print their first token (once). The first admin is added on the database's machine.

    Example: rfarm users add carol --role artist --json
    """
    password = _read_password(ask=False) if password_stdin else None
    api, caller, _ = connect()
    made = api.add_user(caller, name, role, password)
    if json:
        print_json(made)
    else:
        info(f"user {made.name} added ({made.role}); {_ONCE}")
        sys.stdout.write(made.token + "\n")
    return 0


@app.command("list")
def list_(json: JsonOption = False) -> int:
    """List the users with their roles.

    Example: rfarm users list --json
    """
    from rich.table import Table

    api, caller, _ = connect()
    users = api.users(caller)
    if json:
        print_json(users)
        return 0
    live: dict[str, int] = {}
    for t in api.tokens(caller):
        live[t.user] = live.get(t.user, 0) + (not t.revoked)
    table = Table("name", "role", "created", "tokens")
    for u in users:
        table.add_row(u.name, u.role, u.created_at, str(live.get(u.name, 0)))
    out_console().print(table)
    return 0


@app.command("role")
def role_(name: NameArg, role: Annotated[Role, typer.Argument(help="viewer, artist, manager or admin.")],
          json: JsonOption = False) -> int:
    """Give a user another role; it holds for their tokens at once.

    Example: rfarm users role carol manager
    """
    api, caller, _ = connect()
    changed = api.set_role(caller, name, role)
    if json:
        print_json(changed)
    else:
        info(f"user {changed.name} is now {changed.role}")
    return 0


@app.command("token")
def token(name: NameArg, json: JsonOption = False) -> int:
    """Make a new token for a user (admins; anyone for themselves); older tokens stay valid.

    Example: rfarm users token carol --json
    """
    api, caller, _ = connect()
    issued = api.new_token(caller, name)
    if json:
        print_json(issued)
    else:
        info(f"token {issued.token_id} for {issued.user}, valid until {issued.expires_at}; {_ONCE}")
        sys.stdout.write(issued.token + "\n")
    return 0


@app.command("tokens")
def tokens(name: Annotated[str | None, typer.Argument(help="Only this user's tokens.", show_default=False)] = None,
           json: JsonOption = False) -> int:
    """List kept tokens (their ids, never their text): every user's for admins, else your own.

    Example: rfarm users tokens carol
    """
    from rich.table import Table

    api, caller, _ = connect()
    found = api.tokens(caller, name)
    if json:
        print_json(found)
        return 0
    table = Table("id", "user", "created", "expires", "revoked")
    for t in found:
        table.add_row(t.id, t.user, t.created_at, t.expires_at, "yes" if t.revoked else "no")
    out_console().print(table)
    return 0


@app.command("revoke")
def revoke(token_id: Annotated[str, typer.Argument(help="The token's id (rfarm users tokens lists them).")],
           json: JsonOption = False) -> int:
    """Revoke a token; the server refuses it at once.

    Example: rfarm users revoke 3f2a...
    """
    api, caller, _ = connect()
    api.revoke_token(caller, token_id)
    if json:
        print_json({"token_id": token_id, "revoked": True})
    else:
        info(f"token {token_id} revoked")
    return 0


@app.command("passwd")
def passwd(name: NameArg, password_stdin: PasswordStdinOption = False, json: JsonOption = False) -> int:
    """Set a user's password for the dashboard's login (typed twice at a terminal, else one line of stdin).

    Example: echo "$PASSWORD" | rfarm users passwd carol --password-stdin
    """
    password = _read_password(ask=not password_stdin)
    api, caller, _ = connect()
    api.set_password(caller, name, password)
    if json:
        print_json({"name": name, "password_set": True})
    else:
        info(f"password of {name} set")
    return 0


@app.command("remove")
def remove(name: NameArg, json: JsonOption = False) -> int:
    """Remove a user: their tokens and password go; their tasks and files stay theirs.

    Example: rfarm users remove carol
    """
    api, caller, _ = connect()
    api.remove_user(caller, name)
    if json:
        print_json({"name": name, "removed": True})
    else:
        info(f"user {name} removed")
    return 0
