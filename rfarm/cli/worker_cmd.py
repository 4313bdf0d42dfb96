"""``rfarm worker``: run a render node."""
from __future__ import annotations

import logging
import signal
import sys
from typing import Annotated, Optional

import typer


def register(app: typer.Typer) -> None:
    app.command("worker")(worker)


def worker(
    name: Annotated[Optional[str], typer.Option(help="This node's name (default: the host name).")] = None,
    burst: Annotated[bool, typer.Option("--burst", help="Exit 0 when nothing claimable is left.")] = False,
    slots: Annotated[int, typer.Option(help="Renders at once (RAM and GPUs are never oversubscribed).")] = 1,
    tag: Annotated[list[str], typer.Option("--tag", help="A tag tasks may ask for (repeatable).")] = [],  # noqa: B006
    verbose: Annotated[bool, typer.Option("--verbose", "-v", help="Log every claim and render.")] = False,
) -> int:
    """Claim and render frames until stopped (Ctrl+C or SIGTERM release the current frame).

    Exits 0 when stopped by SIGTERM or done (--burst), 130 on Ctrl+C, 1 when a
    --burst worker stopped on an unexpected error (without --burst it logs the
    error and carries on after a pause).

    Example: rfarm worker --name node01
    """
    from rich.logging import RichHandler

    from rfarm.cli.output import err_console
    from rfarm.config import KEYS, load_config, masked
    from rfarm.node.worker import Worker

    if err_console().is_terminal:
        handler: logging.Handler = RichHandler(console=err_console(), show_path=False)
    else:  # a log file: one line per event, ISO dates, never wrapped
        handler = logging.StreamHandler(sys.stderr)
        handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(message)s", "%Y-%m-%dT%H:%M:%S%z"))
    logging.basicConfig(level=logging.INFO if verbose else logging.WARNING, handlers=[handler], force=True)
    config = load_config()
    if slots < 1:
        from rfarm.errors import UsageError

        raise UsageError("--slots must be at least 1")
    node = Worker(config, name=name, burst=burst, slots=slots, tags=tuple(tag))
    interrupted: list[int] = []

    def on_signal(sig: int, _frame: object) -> None:
        if sig == signal.SIGINT:
            interrupted.append(sig)
        node.stop()

    for sig in (signal.SIGINT, signal.SIGTERM, getattr(signal, "SIGBREAK", None)):
        if sig is not None:
            signal.signal(sig, on_signal)
    err_console().print(f"worker {node.name}: rendering from {masked(KEYS['database_url'], config.database)}", soft_wrap=True)
    rendered = node.run()
    if node.failed:
        err_console().print(f"worker {node.name}: stopped after {rendered} renders on an error: {node.failed}",
                            soft_wrap=True)
        return 1
    err_console().print(f"worker {node.name}: stopped after {rendered} renders" + (": interrupted" if interrupted else ""))
    return 130 if interrupted else 0
