"""``rfarm integrations install blender|maya``: put the DCC add-ons where Blender and Maya find them."""
from __future__ import annotations

import os
from pathlib import Path
from typing import Annotated, Optional

import typer

from rfarm.cli.options import JsonOption

app = typer.Typer(help="Submit from inside Blender and Maya: install their add-ons.", no_args_is_help=True)


@app.command("install")
def install(
    dcc: Annotated[str, typer.Argument(help="blender or maya.", show_default=False)],
    blender_dir: Annotated[Optional[Path], typer.Option("--blender-dir", help="Write the Blender add-on into this add-ons folder.")] = None,
    maya_dir: Annotated[Optional[Path], typer.Option("--maya-dir", help="Write the Maya module into this modules folder.")] = None,
    json: JsonOption = False,
) -> int:
    """Write the add-on into your Blender add-ons folder (every version's), or the plug-in into your Maya modules folder.

    Example: rfarm integrations install blender
    """
    from rich.markup import escape

    from rfarm.cli.output import info, print_json
    from rfarm.errors import UsageError
    from rfarm.integrations import install as installer

    home, system = Path.home(), installer.system_name()
    if dcc == "blender":
        if maya_dir is not None:
            raise UsageError("--maya-dir is for `rfarm integrations install maya`")
        done = installer.install_blender(home, os.environ, system=system, blender_dir=blender_dir)
        then = "enable \"rfarm\" in Blender's Preferences > Add-ons; the panel is in Render properties"
    elif dcc == "maya":
        if blender_dir is not None:
            raise UsageError("--blender-dir is for `rfarm integrations install blender`")
        done = installer.install_maya(home, system=system, maya_dir=maya_dir)
        then = "restart Maya: the rfarm menu has Submit to farm…"
    else:
        raise UsageError(f"unknown application {dcc!r}: use blender or maya")
    if json:
        print_json(done.to_dict())
        return 0
    for path in done.files:
        info(f"wrote {escape(path)}")
    info(then)
    return 0
