"""``rfarm webhooks`` (notifications of the farm's events) and ``rfarm audit`` (who did what)."""
from __future__ import annotations

import re
from datetime import datetime, timedelta, timezone
from typing import TYPE_CHECKING, Annotated

import typer

from rfarm.cli.options import JsonOption, connect
from rfarm.cli.output import info, out_console, print_json
from rfarm.errors import UsageError
from rfarm.state.states import HookEvent

if TYPE_CHECKING:
    from rfarm.state.webhooks import DeliveryInfo

app = typer.Typer(help="Webhooks: POSTs to a URL when your tasks (or, for managers, any task) finish.",
                  no_args_is_help=True)

_EVENTS = ", ".join(e.value for e in HookEvent)
_AGO = re.compile(r"^(\d+)\s*([mhdw])$")
_UNITS = {"m": "minutes", "h": "hours", "d": "days", "w": "weeks"}


def register(root: typer.Typer) -> None:
    root.add_typer(app, name="webhooks")
    root.command("audit")(audit)


@app.command("add")
def add(
    url: Annotated[str, typer.Argument(help="The http:// or https:// URL to POST to.", show_default=False)],
    events: Annotated[str, typer.Option("--events", help=f"Comma-separated: {_EVENTS}.")] = "task.done,task.failed",
    farm: Annotated[bool, typer.Option("--farm", help="Every task's events, not only yours (managers).")] = False,
    json: JsonOption = False,
) -> int:
    """Add a webhook and print its signing secret (once).

    Each POST carries X-Rfarm-Signature: sha256=HMAC-SHA256(secret, body).

    Example: rfarm webhooks add https://hooks.studio.lan/rfarm --events task.done,task.failed,test_frame.done
    """
    api, caller, _ = connect()
    made = api.add_webhook(caller, url, [e for e in events.split(",") if e.strip()], farm_wide=farm)
    if json:
        print_json(made)
    else:
        info(f"webhook {made.id} added for {', '.join(made.events)}"
             f"{' on every task' if made.owner is None else ''}; its secret is shown only this once:")
        typer.echo(made.secret)
    return 0


@app.command("list")
def list_(json: JsonOption = False) -> int:
    """List your webhooks (every one for managers), with how their latest delivery went.

    Example: rfarm webhooks list --json
    """
    from rich.table import Table

    api, caller, _ = connect()
    found = api.webhooks(caller)
    if json:
        print_json(found)
        return 0
    table = Table("id", "url", "events", "owner", "created", "last delivery")
    for w in found:
        last = api.deliveries(caller, w.id, limit=1)
        table.add_row(str(w.id), w.url, ",".join(w.events), w.owner or "(farm)", w.created_at,
                      _outcome(last[0]) if last else "")
    out_console().print(table)
    return 0


def _outcome(d: DeliveryInfo) -> str:
    if d.delivered:
        return f"{d.event} delivered (HTTP {d.status_code})"
    return f"{d.event} {'failed' if d.done else 'retrying'} after {d.attempts} tries: {d.error}"


@app.command("deliveries")
def deliveries(
    webhook_id: Annotated[int, typer.Argument(help="The webhook's id.", show_default=False)],
    limit: Annotated[int, typer.Option("--limit", min=1, max=1000, help="The newest N.")] = 50,
    json: JsonOption = False,
) -> int:
    """Show a webhook's delivery log, newest first.

    Example: rfarm webhooks deliveries 3 --json
    """
    from rich.table import Table

    api, caller, _ = connect()
    found = api.deliveries(caller, webhook_id, limit=limit)
    if json:
        print_json(found)
        return 0
    table = Table("id", "event", "task", "tries", "outcome", "at")
    for d in found:
        table.add_row(str(d.id), d.event, str(d.task_id or ""), str(d.attempts), _outcome(d),
                      d.delivered_at or d.created_at)
    out_console().print(table)
    return 0


@app.command("remove")
def remove(webhook_id: Annotated[int, typer.Argument(help="The webhook's id.", show_default=False)],
           json: JsonOption = False) -> int:
    """Remove a webhook and its delivery log.

    Example: rfarm webhooks remove 3
    """
    api, caller, _ = connect()
    api.remove_webhook(caller, webhook_id)
    if json:
        print_json({"id": webhook_id, "removed": True})
    else:
        info(f"webhook {webhook_id} removed")
    return 0


def parse_since(text: str, *, now: datetime | None = None) -> datetime:
    """``--since``: ``30m``, ``24h``, ``7d``, ``2w`` ago, or an ISO 8601 date or time (UTC without a zone); naive UTC."""
    now = now or datetime.now(timezone.utc).replace(tzinfo=None)
    ago = _AGO.match(text.strip().lower())
    if ago:
        return now - timedelta(**{_UNITS[ago.group(2)]: int(ago.group(1))})
    try:
        when = datetime.fromisoformat(text.strip())
    except ValueError:
        raise UsageError(f"--since {text!r} is neither a date (2026-12-01), a time (2026-12-01T09:30) "
                         "nor a span ago (30m, 24h, 7d, 2w)") from None
    return when.astimezone(timezone.utc).replace(tzinfo=None) if when.tzinfo else when


def audit(
    since: Annotated[str | None, typer.Option("--since", help="From this date, time or span ago (24h, 7d).")] = None,
    limit: Annotated[int, typer.Option("--limit", min=1, max=10_000, help="The newest N entries.")] = 200,
    json: JsonOption = False,
) -> int:
    """Show who did what to which task, node, hardware config, user, token or webhook, newest first (managers).

    Example: rfarm audit --since 24h --json
    """
    from rich.table import Table

    start = parse_since(since) if since is not None else None
    api, caller, _ = connect()
    entries = api.audit(caller, since=start, limit=limit)
    if json:
        print_json(entries)
        return 0
    table = Table("at", "actor", "action", "subject", "detail")
    for e in entries:
        table.add_row(e.at, e.actor, e.action, e.subject, e.message)
    out_console().print(table)
    return 0
