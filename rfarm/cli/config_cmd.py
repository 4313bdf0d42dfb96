"""``rfarm config show|set``."""
from __future__ import annotations

from typing import Annotated

import typer

from rfarm.cli.options import JsonOption

app = typer.Typer(help="Show or edit the configuration.", no_args_is_help=True)


@app.command("show")
def show(json: JsonOption = False) -> int:
    """Print every effective setting and where it came from (secrets masked).

    Example: rfarm config show
    """
    from rich.table import Table

    from rfarm.cli.output import out_console, print_json
    from rfarm.config import KEYS, load_config, masked

    config = load_config()
    rows = [
        {"key": name, "value": masked(key, config.values[name]), "source": config.sources[name]}
        for name, key in KEYS.items()
    ]
    if json:
        print_json({"config_file": str(config.path), "settings": rows})
        return 0
    table = Table("key", "value", "source", title=f"config file: {config.path}")
    for row in rows:
        table.add_row(row["key"], str(row["value"]), row["source"])
    out_console().print(table)
    return 0


@app.command("set")
def set_(
    key: Annotated[str, typer.Argument(help="The setting's name.")],
    value: Annotated[str, typer.Argument(help="Its new value (lists: comma-separated).")],
    json: JsonOption = False,
) -> int:
    """Set a key in the config file, keeping its comments.

    Example: rfarm config set lease_seconds 120
    """
    from rfarm.cli.output import info, print_json
    from rfarm.config import load_config, set_key

    config = load_config()
    stored = set_key(config.path, key, value)
    if json:
        print_json({"key": key, "value": stored, "path": str(config.path)})
    else:
        info(f"{key} = {stored!r} in {config.path}")
    return 0
