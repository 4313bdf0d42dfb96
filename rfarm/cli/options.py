"""Options shared by several commands, declared once."""
from __future__ import annotations

from typing import Annotated

import typer

JsonOption = Annotated[bool, typer.Option("--json", help="Print one JSON document on stdout.")]
AllOption = Annotated[bool, typer.Option("--all", help="Every user's tasks (admins only).")]
TaskArg = Annotated[str, typer.Argument(help="The task id.", show_default=False)]


def load(*, user: str | None = None, all_users: bool = False, open_db: bool = True):  # type: ignore[no-untyped-def]
    """The configuration, acting as ``user``; checks ``--all`` is allowed and opens the farm."""
    from rfarm.config import load_config
    from rfarm.errors import UsageError
    from rfarm.farm import open_farm
    config = load_config().with_user(user)
    if all_users and not config.is_admin:
        raise UsageError(f"--all is for admins; {config.user!r} is not in the config's admins")
    if open_db:
        open_farm(config)
    return config
