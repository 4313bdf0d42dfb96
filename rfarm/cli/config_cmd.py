"""``rfarm config show|set``: both work whatever the stored values, so a bad one can always be seen and repaired."""
from __future__ import annotations

from typing import Annotated

import typer

from rfarm.cli.options import JsonOption

app = typer.Typer(help="Show or edit the configuration.", no_args_is_help=True)


@app.command("show")
def show(json: JsonOption = False) -> int:
    """Print every effective setting and where it came from (secrets masked; invalid values marked).

    Example: rfarm config show
    """
    from rich.markup import escape
    from rich.table import Table

    from rfarm.cli.output import info, out_console, print_json
    from rfarm.config import KEYS, load_config, masked, unknown_keys

    config = load_config(lenient=True)
    rows = []
    for name, key in KEYS.items():
        problem = config.problems.get(name)
        value = config.values[name] if problem is None else problem.value
        rows.append({"key": name, "value": masked(key, value), "source": config.sources[name],
                     "problem": None if problem is None else f"{problem.message}; fix: {problem.fix(name)}"})
    warnings = unknown_keys(config.extra, config.path)
    if json:
        print_json({"config_file": str(config.path), "file_problem": config.file_problem or None,
                    "settings": rows, "warnings": warnings})
        return 0
    if config.file_problem:
        info(f"[red]invalid:[/red] {escape(config.file_problem)}")
    table = Table("key", "value", "source", title=f"config file: {config.path}")
    for row in rows:
        if row["problem"] is None:
            table.add_row(row["key"], escape(str(row["value"])), row["source"])
        else:
            table.add_row(row["key"], escape(f"{row['value']!s}  invalid: {row['problem']}"), row["source"],
                          style="red")
    out_console().print(table)
    return 0


@app.command("set", context_settings={"ignore_unknown_options": True})  # a negative VALUE is a value
def set_(
    key: Annotated[str, typer.Argument(help="The setting's name.")],
    value: Annotated[str, typer.Argument(help="Its new value (lists: comma-separated).")],
    json: JsonOption = False,
) -> int:
    """Set a key in the config file, keeping its comments; the value is checked before it is written.

    Example: rfarm config set lease_seconds 120
    """
    from rich.markup import escape

    from rfarm.cli.output import info, print_json
    from rfarm.config import load_config, set_key

    path = load_config(lenient=True).path
    stored = set_key(path, key, value)
    after = load_config(lenient=True)
    if json:
        print_json({"key": key, "value": stored, "path": str(path)})
    else:
        info(escape(f"{key} = {stored!r} in {path}"))
    if not after.sources[key].startswith("file "):
        info(f"[yellow]warning:[/yellow] {after.sources[key].removeprefix('env ')} overrides it here")
    for name, problem in after.problems.items():
        info(f"[yellow]warning:[/yellow] {escape(problem.message)}; fix: {escape(problem.fix(name))}")
    return 0
