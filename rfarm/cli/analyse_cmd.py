"""``rfarm analyse``: a scene's render settings and input files, without its application."""
from __future__ import annotations

from pathlib import Path
from typing import Annotated, Optional

import typer

from rfarm.cli.options import JsonOption
from rfarm.cli.output import err_console, out_console, print_json, write_file


def register(app: typer.Typer) -> None:
    app.command("analyse")(analyse)
    app.command("analyze", hidden=True)(analyse)


def analyse(
    scene: Annotated[str, typer.Argument(help="A .ma, .mb or .blend scene.", show_default=False)],
    project: Annotated[Optional[Path], typer.Option(help="The Maya project folder (default: found upward from the scene).")] = None,
    backend: Annotated[str, typer.Option(help="auto, parser or mayapy.")] = "auto",
    output: Annotated[Optional[Path], typer.Option("--output", "-o", help="Also write the JSON document to this file (asset.json).")] = None,
    json: JsonOption = False,
) -> int:
    """Analyse a scene: settings, dependencies (missing files in red) and tips.

    Exit 0 when the scene was analysed (even with missing files), 1 when it
    cannot render as it stands, 2 when it cannot be read.

    Example: rfarm analyse shot.ma --json -o asset.json
    """
    from rfarm.submit.scene import analyse_for_farm

    result = analyse_for_farm(scene, project=str(project) if project else None, backend=backend)
    if output is not None:
        write_file(output, result.to_json(indent=2), what="--output")
    if json:
        print_json(result.to_dict())
    else:
        show(result)
    return 0 if result.can_render else 1


def show(result) -> None:  # type: ignore[no-untyped-def]
    """The human summary: settings, a dependency table, tips."""
    from rich.table import Table

    info = result.scene_info
    console = out_console()
    settings = Table(show_header=False, title=f"{Path(info.path).name} ({info.scene_type})")
    for label, value in (
        ("software", info.software_version or "?"),
        ("renderer", info.renderer),
        ("frames", f"{info.start:g}-{info.end:g} by {info.by_frame:g}" + ("" if info.animation else f" (still: frame {info.current_frame:g})")),
        ("resolution", f"{info.width} x {info.height}"),
        ("output", f"{info.image_prefix or '(default)'} [{info.image_format}]"),
        ("cameras", ", ".join(info.cameras) or "none renderable"),
        ("layers", ", ".join(f"{layer.name}{'' if layer.renderable else ' (off)'}" for layer in info.render_layers) or "-"),
        ("plugins", ", ".join(f"{k} {v}".strip() for k, v in info.plugins) or "-"),
    ):
        settings.add_row(label, str(value))
    console.print(settings)
    if result.dependencies:
        deps = Table("kind", "node.attr", "path", "files", title=f"{len(result.dependencies)} dependencies")
        for dep in result.dependencies:
            style = "" if dep.exists else "red"
            deps.add_row(dep.kind, dep.key, dep.path, str(len(dep.files)) if dep.exists else "missing", style=style)
        console.print(deps)
    for tip in result.tips:
        colour = {"error": "red", "warning": "yellow"}.get(tip.level, "cyan")
        err_console().print(f"[{colour}]{tip.level}[/{colour}] {tip.code}: {tip.message}", soft_wrap=True)
