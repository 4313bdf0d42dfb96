"""``rfarm hardware``, ``rfarm nodes``, ``rfarm hwconfig`` and ``rfarm stats``: the farm itself."""
from __future__ import annotations

from typing import Annotated

import typer

from rfarm.cli.options import JsonOption, connect
from rfarm.cli.output import ago, cell, info, out_console, print_json
from rfarm.errors import UsageError

nodes_app = typer.Typer(help="List render nodes; enable or disable one.", invoke_without_command=True)
hwconfig_app = typer.Typer(help="Named hardware configs tasks can ask for.", no_args_is_help=True)


def register(app: typer.Typer) -> None:
    app.command("init")(init)
    app.command("hardware")(hardware)
    app.command("stats")(stats)
    app.add_typer(nodes_app, name="nodes")
    app.add_typer(hwconfig_app, name="hwconfig")


def init(json: JsonOption = False) -> int:
    """Make the farm's database where database_url names it (its folder, the file or the PostgreSQL
    database, the tables); nothing that is there already. The default one, under RFARM_HOME, needs no init.

    Example: rfarm config set database_url sqlite:////srv/farm/rfarm.db && rfarm init
    """
    from rfarm.api import init_farm
    from rfarm.config import load_config

    made = init_farm(load_config())
    if json:
        print_json(made)
    elif made.created:
        info(f"created {', '.join(made.created)}")
    else:
        info(f"the farm's database {made.database} is there already: nothing to do")
    return 0


def hardware(json: JsonOption = False) -> int:
    """Show this machine's CPU cores, RAM, GPUs, OS and the workspace's free disk.

    Example: rfarm hardware --json
    """
    from rich.table import Table

    from rfarm.config import load_config
    from rfarm.node.hardware import detect_hardware

    hw = detect_hardware(load_config().workspace)
    if json:
        print_json(hw)
        return 0
    table = Table("", "", title=f"{hw.hostname}: {hw.os} {hw.os_version}", show_header=False)
    table.add_row("CPU cores", str(hw.cpu_count))
    table.add_row("RAM", f"{hw.ram_gb:g} GB")
    table.add_row("GPUs", "\n".join(f"{g.index}: {g.model}, {g.memory_gb:g} GB, driver {g.driver}" for g in hw.gpus) or "none")
    table.add_row("free disk", f"{hw.disk_free_gb:g} GB at {hw.disk_path}")
    out_console().print(table)
    return 0


@nodes_app.callback()
def nodes(ctx: typer.Context, json: JsonOption = False) -> int:
    """List render nodes with their state and load.

    Example: rfarm nodes --json
    """
    if ctx.invoked_subcommand is not None:
        return 0
    from rich.table import Table

    api, caller, _ = connect()
    found = api.nodes(caller)
    if json:
        print_json(found)
        return 0
    table = Table("node", "state", "enabled", "os", "cores", "CPU %", "RAM GB used/total", "GPUs", "tags", "renderers", "frames")
    for column in (table.columns[9], table.columns[10]):
        column.overflow = "fold"
    for n in found:
        table.add_row(cell(n.name), cell(_node_state(n.state)), "yes" if n.is_enabled else "no", cell(n.os),
                      str(n.cpu_count), f"{n.cpu_percent:.0f}", f"{n.ram_used_gb:g}/{n.ram_gb:g}", str(n.gpus),
                      cell(",".join(n.tags)), cell(",".join(f"{k} {v}".strip() for k, v in n.renderers.items())),
                      cell(",".join(n.running_frames)))
    out_console().print(table)
    return 0


def _node_state(state: str) -> str:
    """``offline since 5 min ago`` for the ``--json`` document's ``offline since <ISO stamp>``."""
    prefix = "offline since "
    return prefix + ago(state[len(prefix):]) if state.startswith(prefix) else state


@nodes_app.command("disable")
def disable(ctx: typer.Context, name: Annotated[str, typer.Argument(help="The node's name.")],
            json: JsonOption = False) -> int:
    """Stop a node from claiming frames (what it renders now finishes).

    Example: rfarm nodes disable node07
    """
    return _set_enabled(name, False, json or _group_json(ctx))


@nodes_app.command("enable")
def enable(ctx: typer.Context, name: Annotated[str, typer.Argument(help="The node's name.")],
           json: JsonOption = False) -> int:
    """Let a disabled node claim frames again.

    Example: rfarm nodes enable node07
    """
    return _set_enabled(name, True, json or _group_json(ctx))


def _group_json(ctx: typer.Context) -> bool:
    """``rfarm nodes --json disable wk``: the flag given to the group holds for its command."""
    return bool(ctx.parent is not None and ctx.parent.params.get("json"))


def _set_enabled(name: str, enabled: bool, json: bool) -> int:
    api, caller, _ = connect()
    api.set_node_enabled(caller, name, enabled)
    if json:
        print_json({"node": name, "enabled": enabled})
    else:
        info(f"node {name} {'enabled' if enabled else 'disabled'}")
    return 0


@hwconfig_app.command("add")
def hwconfig_add(
    name: Annotated[str, typer.Argument(help="The config's name.")],
    ram: Annotated[float, typer.Option(help="RAM in GB.")] = 0,
    gpus: Annotated[int, typer.Option(help="GPU count.")] = 0,
    gpu_memory: Annotated[float, typer.Option("--gpu-memory", help="Memory per GPU in GB.")] = 0,
    tag: Annotated[list[str], typer.Option("--tag", help="A node tag (repeatable).")] = [],  # noqa: B006
    json: JsonOption = False,
) -> int:
    """Create or replace a named hardware config.

    Example: rfarm hwconfig add gpu-large --ram 64 --gpus 2 --tag redshift
    """
    api, caller, _ = connect()
    made = api.add_hardware_config(caller, name, ram_gb=ram, gpus=gpus, gpu_memory_gb=gpu_memory, tags=tuple(tag))
    if json:
        print_json(made)
    else:
        info(f"hardware config {name}: {ram:g} GB RAM, {gpus} GPUs" + (f", tags {', '.join(made.tags)}" if made.tags else ""))
    return 0


@hwconfig_app.command("list")
def hwconfig_list(json: JsonOption = False) -> int:
    """List the hardware configs.

    Example: rfarm hwconfig list
    """
    from rich.table import Table

    api, caller, _ = connect()
    configs = api.hardware_configs(caller)
    if json:
        print_json(configs)
        return 0
    table = Table("name", "RAM GB", "GPUs", "GPU memory GB", "tags")
    for c in configs:
        table.add_row(c.name, f"{c.ram_gb:g}", str(c.gpus), f"{c.gpu_memory_gb:g}", ",".join(c.tags))
    out_console().print(table)
    return 0


@hwconfig_app.command("remove")
def hwconfig_remove(name: Annotated[str, typer.Argument(help="The config's name.")], json: JsonOption = False) -> int:
    """Remove a hardware config.

    Example: rfarm hwconfig remove gpu-large
    """
    api, caller, _ = connect()
    api.remove_hardware_config(caller, name)
    if json:
        print_json({"name": name, "removed": True})
    else:
        info(f"hardware config {name} removed")
    return 0


def stats(
    hours: Annotated[float, typer.Option(help="Outcomes over this many past hours.")] = 24,
    json: JsonOption = False,
) -> int:
    """Queue length per priority, running frames, success rate and mean frame time, per node.

    Example: rfarm stats --json
    """
    from datetime import timedelta

    from rich.table import Table

    from rfarm.api import MAX_STATS_HOURS as MAX_HOURS

    if not 0 < hours <= MAX_HOURS:  # NaN fails every comparison
        raise UsageError(f"--hours must be a positive number, at most {MAX_HOURS} (ten years); got {hours:g}")
    api, caller, _ = connect()
    s = api.stats(caller, window=timedelta(hours=hours))
    if json:
        print_json(s)
        return 0
    rate = f"{s.success_rate:.1%}" if s.success_rate is not None else "-"
    mean = f"{s.mean_frame_s:.1f} s" if s.mean_frame_s is not None else "-"
    out_console().print(
        f"queued: high {s.queued['high']}, default {s.queued['default']}, low {s.queued['low']}"
        f" (held back {s.held_back}); running {s.running}; last {hours:g} h: {s.done} done,"
        f" {s.failed_renders} failed renders, success {rate}, mean frame {mean},"
        f" upload {_num(s.upload_mb_s)} MB/s, download {_num(s.download_mb_s)} MB/s", markup=False)
    table = Table("node", "running", "done", "failed renders", "mean frame s", "upload MB/s", "download MB/s")
    for n in s.nodes:
        table.add_row(cell(n.node), str(n.running), str(n.done), str(n.failed_renders), _num(n.mean_frame_s),
                      _num(n.upload_mb_s), _num(n.download_mb_s))
    out_console().print(table)
    return 0


def _num(value: float | None) -> str:
    return "-" if value is None else f"{value:.1f}"
