"""The root Typer app: one module per group of commands, added here."""
from __future__ import annotations

from typing import Any

import typer


def build_app() -> Any:
    """The root command, built from the Typer app (a Click command, vendored in newer Typer)."""
    from rfarm.cli import (
        analyse_cmd,
        config_cmd,
        farm_cmd,
        files_cmd,
        serve_cmd,
        tasks_cmd,
        users_cmd,
        webhooks_cmd,
        worker_cmd,
    )

    app = typer.Typer(
        name="rfarm",
        help="Render submission and render-farm tool. Exit codes: 0 ok, 1 the work failed, "
        "2 bad usage or input, 3 a service is unreachable, 4 not allowed, 130 interrupted.",
        no_args_is_help=True,
        add_completion=False,
        pretty_exceptions_enable=False,
        context_settings={"help_option_names": ["-h", "--help"]},
    )
    analyse_cmd.register(app)
    files_cmd.register(app)
    tasks_cmd.register(app)
    worker_cmd.register(app)
    farm_cmd.register(app)
    users_cmd.register(app)
    webhooks_cmd.register(app)
    serve_cmd.register(app)
    app.add_typer(config_cmd.app, name="config")
    return typer.main.get_command(app)
