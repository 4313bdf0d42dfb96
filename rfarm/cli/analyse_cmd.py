"""``rfarm analyse``: a scene's render settings and input files, without its application."""
from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Optional

import typer

from rfarm.cli.options import JsonOption
from rfarm.cli.output import err_console, out_console, print_json, write_file

if TYPE_CHECKING:
    from rfarm.analysis import AnalysisResult, Dependency


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

    with analysing(scene, quiet=json):
        result = analyse_for_farm(scene, project=str(project) if project else None, backend=backend)
    if output is not None:
        write_file(output, result.to_json(indent=2), what="--output")
    if json:
        print_json(result.to_dict())
    else:
        show(result)
    return 0 if result.can_render else 1


@contextmanager
def analysing(scene: str, *, quiet: bool = False) -> Iterator[None]:
    """A spinner on stderr naming the phase while a scene is read (a big one takes seconds); none when piped."""
    console = err_console()
    if quiet or not console.is_terminal:
        yield
        return
    from rich.markup import escape

    with console.status(f"analysing {escape(Path(scene).name)}: reading the scene and finding its files"):
        yield


def grouped(dependencies: tuple[Dependency, ...]) -> list[tuple[Dependency, list[str]]]:
    """One entry per path (and kind), in scene order: its first dependency and every ``node.attr`` using it."""
    groups: dict[tuple[str, str], tuple[Dependency, list[str]]] = {}
    for dep in dependencies:
        groups.setdefault((dep.kind, dep.path), (dep, []))[1].append(dep.key)
    return list(groups.values())


def _users(keys: list[str]) -> str:
    return keys[0] if len(keys) == 1 else f"{len(keys)} nodes ({', '.join(keys[:2])}, ...)"


def show(result: AnalysisResult) -> None:
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
        groups = grouped(result.dependencies)
        title = f"{len(result.dependencies)} dependencies" + (
            f", {len(groups)} paths" if len(groups) != len(result.dependencies) else "")
        deps = Table("kind", "used by", "path", "files", title=title)
        for dep, keys in groups:
            style = "" if dep.exists else "red"
            deps.add_row(dep.kind, _users(keys), dep.path, str(len(dep.files)) if dep.exists else "missing",
                         style=style)
        console.print(deps)
    for tip in result.tips:
        colour = {"error": "red", "warning": "yellow"}.get(tip.level, "cyan")
        err_console().print(f"[{colour}]{tip.level}[/{colour}] {tip.code}: {tip.message}", soft_wrap=True)
