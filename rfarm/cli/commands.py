"""The root command: one module per group of commands, registered here, each made when it is used."""
from __future__ import annotations

import inspect
from collections.abc import Iterator, MutableMapping
from typing import Any

import typer
from typer.core import TyperCommand, TyperGroup
from typer.main import get_command_from_info, get_command_name, get_group_from_info, solve_typer_info_defaults
from typer.models import CommandInfo, TyperInfo


def build_app() -> Any:
    """The root command (a Click group, vendored in newer Typer); each command is made when it is used."""
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

    app = typer.Typer(add_completion=False, pretty_exceptions_enable=False)
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
    command = LazyGroup(
        app,
        name="rfarm",
        help="Render submission and render-farm tool. Exit codes: 0 ok, 1 the work failed, "
        "2 bad usage or input, 3 a service is unreachable, 4 not allowed, 130 interrupted.",
        no_args_is_help=True,
        context_settings={"help_option_names": ["-h", "--help"]},
    )
    _name_metavars(command)
    return command


class LazyGroup(TyperGroup):
    """The root group over a Typer app's registrations, each made into a Click command when first asked for.

    Typer reads every parameter's annotations to make a command, some 40 ms for all
    of rfarm's; a command line needs one of them. ``commands`` holds every name
    (for Click's lookups and suggestions) and makes a command when it is read; the
    root's own help lists them by name and help text from the registrations.
    """

    def __init__(self, app: typer.Typer, **attrs: Any) -> None:
        registered: dict[str, CommandInfo | TyperInfo] = {
            info.name or get_command_name(info.callback.__name__): info  # type: ignore[union-attr]
            for info in app.registered_commands
        }
        registered.update((info.name, info) for info in app.registered_groups if info.name)
        super().__init__(rich_markup_mode=app.rich_markup_mode, commands=_MadeOnUse(app, registered), **attrs)
        self._summaries_only = False

    def list_commands(self, ctx: Any) -> list[str]:
        return list(self.commands)  # the names; TyperGroup's own reads every command

    def get_command(self, ctx: Any, cmd_name: str) -> Any:
        commands = self.commands
        assert isinstance(commands, _MadeOnUse)
        if self._summaries_only and not commands.is_made(cmd_name):
            return commands.summary(cmd_name)
        return commands.get(cmd_name)

    def format_help(self, ctx: Any, formatter: Any) -> None:
        self._summaries_only = True
        try:
            super().format_help(ctx, formatter)
        finally:
            self._summaries_only = False


class _MadeOnUse(MutableMapping[str, Any]):
    """Command names to Click commands, each made from its registration the first time it is read."""

    def __init__(self, app: typer.Typer, registered: dict[str, CommandInfo | TyperInfo]) -> None:
        self._app = app
        self._registered = registered
        self._made: dict[str, Any] = {}

    def is_made(self, name: str) -> bool:
        return name in self._made

    def summary(self, name: str) -> Any:
        info = self._registered.get(name)
        return None if info is None else _summary(name, info)

    def __getitem__(self, name: str) -> Any:
        if name not in self._made:
            self._made[name] = made = _make(self._app, self._registered[name])
            _name_metavars(made)
        return self._made[name]

    def __setitem__(self, name: str, command: Any) -> None:
        self._made[name] = command
        self._registered.setdefault(name, CommandInfo(name=name))

    def __delitem__(self, name: str) -> None:
        del self._registered[name]
        self._made.pop(name, None)

    def __iter__(self) -> Iterator[str]:
        return iter(self._registered)

    def __len__(self) -> int:
        return len(self._registered)


def _make(app: typer.Typer, info: CommandInfo | TyperInfo) -> Any:
    """The Click command (or group) Typer makes of one registration."""
    if isinstance(info, CommandInfo):
        return get_command_from_info(info, pretty_exceptions_short=app.pretty_exceptions_short,
                                     rich_markup_mode=app.rich_markup_mode)
    return get_group_from_info(info, pretty_exceptions_short=app.pretty_exceptions_short,
                               rich_markup_mode=app.rich_markup_mode, suggest_commands=app.suggest_commands)


def _summary(name: str, info: CommandInfo | TyperInfo) -> TyperCommand:
    """A stand-in with what a list of commands shows (name, help, panel), made without reading parameters."""
    if isinstance(info, TyperInfo):
        info = solve_typer_info_defaults(info)
        text = info.help
    else:
        text = inspect.cleandoc(info.help) if info.help is not None else inspect.getdoc(info.callback)
    return TyperCommand(name=name, help=text, short_help=info.short_help, hidden=bool(info.hidden),
                        deprecated=bool(info.deprecated), rich_help_panel=info.rich_help_panel)


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
    if isinstance(command, LazyGroup):
        return  # each of its commands is named when it is made
    for sub in getattr(command, "commands", {}).values():
        _name_metavars(sub)
