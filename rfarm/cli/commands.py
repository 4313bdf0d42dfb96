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
        integrations_cmd,
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
    app.add_typer(integrations_cmd.app, name="integrations")
    command = typer.main.get_command(app)
    _name_metavars(command)
    return command


def _name_metavars(command: Any) -> None:
    """Show each value by its name in help (``--frames FRAMES``, ``rfarm submit SCENE``), not as a
    Python type (``<str>``, ``<list[str]>``) or a placeholder in braces (``{scene}``), which is
    what this Typer prints by default."""
    for param in getattr(command, "params", ()):
        if getattr(param, "is_flag", False) or not param.name:
            param.display_type_rich = lambda ctx: None  # a flag takes no value
            continue
        label = (param.metavar or param.name).upper()
        param.metavar = label
        param.display_type_rich = lambda ctx, label=label, is_option=bool(getattr(param, "opts", ())) and \
            param.param_type_name == "option": label if is_option else None
        if param.param_type_name == "argument":
            param._usage_display_name = lambda label=label, param=param: (
                label if param.required else f"[{label}]") + ("..." if param.nargs != 1 else "")
    make_help = getattr(command, "get_help_option", None)
    if make_help is not None:
        def get_help_option(ctx: Any, make_help: Any = make_help) -> Any:
            option = make_help(ctx)
            if option is not None:
                option.display_type_rich = lambda ctx: None
            return option

        command.get_help_option = get_help_option
    for sub in getattr(command, "commands", {}).values():
        _name_metavars(sub)
