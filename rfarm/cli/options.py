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
    """The farm's seam, who this command calls it as, and the configuration.

    The farm's database is opened here: the caller's role is kept in it.
    """
    from rfarm.api import open_api
    from rfarm.config import load_config
    from rfarm.state.farm import open_farm
    from rfarm.state.users import local_caller

    config = load_config().with_user(user)
    open_farm(config)
    return open_api(config), local_caller(config, all_users=all_users), config
