"""Options shared by several commands, declared once, and the farm a command talks to."""
from __future__ import annotations

from typing import TYPE_CHECKING, Annotated

import typer

if TYPE_CHECKING:
    from rfarm.api import FarmAPI
    from rfarm.config import Config
    from rfarm.state.users import Caller

JsonOption = Annotated[bool, typer.Option("--json", help="Print one JSON document on stdout.")]
AllOption = Annotated[bool, typer.Option("--all", help="Every user's tasks (admins only).")]
TaskArg = Annotated[str, typer.Argument(help="The task id.", show_default=False)]


def connect(*, user: str | None = None, all_users: bool = False) -> tuple[FarmAPI, Caller, Config]:
    """The farm's seam, who this command calls it as (the role the farm keeps), and the configuration."""
    from rfarm.api import local_caller, open_api
    from rfarm.config import load_config

    config = load_config().with_user(user)
    if config.server_url:
        from rfarm.errors import UsageError
        from rfarm.state.users import Caller

        if user:
            raise UsageError("--user works on the farm's own machine only; through a server you act as your token's user")
        return open_api(config), Caller(config.user, all_users=all_users), config
    return open_api(config), local_caller(config, all_users=all_users), config
