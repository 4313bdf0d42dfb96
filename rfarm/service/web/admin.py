"""The dashboard's farm-wide pages: stats (charts drawn here), the user's files, users and tokens, the audit trail.

Each page asks the seam, which decides: a viewer's stats are the farm's, an
artist's files their own, users and tokens are for admins (a user sees their
own tokens), the audit trail for managers.
"""
from __future__ import annotations

from datetime import datetime, timedelta
from typing import Annotated, Literal

from fastapi import APIRouter, Query, Request
from fastapi.responses import Response

from rfarm.errors import UsageError
from rfarm.service.deps import Farm
from rfarm.service.web import charts
from rfarm.service.web.dashboard import PageRoute
from rfarm.service.web.pages import Acting, Form, Page, _back, _page
from rfarm.state.users import Caller, Role

router = APIRouter(route_class=PageRoute, include_in_schema=False)

#: the stats page's windows: name → (how far back, how many steps)
WINDOWS = {"6h": (timedelta(hours=6), 24), "24h": (timedelta(hours=24), 24), "7d": (timedelta(days=7), 28)}


def _label(iso: str, window: timedelta) -> str:
    when = datetime.fromisoformat(iso)
    return when.strftime("%H:%M" if window <= timedelta(days=1) else "%m-%d %H:%M")


@router.get("/stats")
def stats_page(request: Request, farm: Farm, who: Page,
               window: Annotated[Literal["6h", "24h", "7d"], Query()] = "24h") -> Response:
    span, steps = WINDOWS[window]
    now = farm.stats(who, window=span)
    series = farm.stats_series(who, window=span, buckets=steps)
    labels = [_label(s, span) for s in series.starts]
    hours = series.bucket_s / 3600
    rate = [None if d + f == 0 else 100 * d / (d + f) for d, f in zip(series.done, series.failed)]

    def mb_s(moved: list[int], seconds: list[float]) -> list[float]:
        return [b / s / 1e6 if s else 0.0 for b, s in zip(moved, seconds)]

    figures = [
        ("Frames queued per priority", charts.line_chart(
            "Frames queued per priority", labels, [charts.Series(p, v) for p, v in series.queued.items()])),
        ("Frames done per hour", charts.line_chart(
            "Frames done per hour", labels, [charts.Series("done", [d / hours for d in series.done])])),
        ("Success rate", charts.line_chart(
            "Success rate of renders", labels, [charts.Series("success", [r if r is not None else 100 for r in rate])],
            unit=" %")),
        ("Mean frame time per node", charts.bar_chart(
            "Mean frame time per node", [(n.node, n.mean_frame_s) for n in now.nodes if n.mean_frame_s is not None],
            unit=" s")),
        ("Transfer rates", charts.line_chart(
            "Upload and download rates", labels,
            [charts.Series("upload", mb_s(series.upload_bytes, series.upload_s)),
             charts.Series("download", mb_s(series.download_bytes, series.download_s))], unit=" MB/s")),
    ]
    return _page(request, "stats.html", who, now=now, figures=figures, window=window, windows=list(WINDOWS),
                 series=series, labels=labels, rate=rate)


@router.get("/files")
def files_page(request: Request, farm: Farm, who: Page) -> Response:
    assets = farm.assets(who)
    return _page(request, "files.html", who, assets=assets, stored=sum(a.size for a in assets),
                 saved=sum(a.saved for a in assets))


@router.get("/users")
def users_page(request: Request, farm: Farm, who: Page) -> Response:
    return _users(request, farm, who)


@router.post("/users")
def add_user(request: Request, farm: Farm, who: Acting, fields: Form) -> Response:
    name, role = fields.get("name", "").strip(), fields.get("role", "artist")
    if not name:
        raise UsageError("give the new user a name")
    made = farm.add_user(who, name, role, fields.get("password") or None)
    return _users(request, farm, who, new_token=(made.name, made.token))


@router.post("/users/{name}/token")
def new_token(request: Request, name: str, farm: Farm, who: Acting) -> Response:
    issued = farm.new_token(who, name)
    return _users(request, farm, who, new_token=(name, issued.token))


def _users(request: Request, farm: Farm, who: Caller, new_token: tuple[str, str] | None = None) -> Response:
    """The users page (every user for admins; anyone else, their own tokens), showing a new token once: it is
    answered to this post alone and kept nowhere it could be read again."""
    is_admin = who.may(Role.ADMIN)
    return _page(request, "users.html", who, users=farm.users(who) if is_admin else [],
                 tokens=farm.tokens(who, None if is_admin else who.user), is_admin=is_admin,
                 roles=[str(r) for r in Role], new_token=new_token)


@router.post("/tokens/{token_id}/revoke")
def revoke(token_id: str, farm: Farm, who: Acting) -> Response:
    farm.revoke_token(who, token_id)
    return _back("/users")


@router.post("/users/{name}/role")
def set_role(name: str, farm: Farm, who: Acting, fields: Form) -> Response:
    farm.set_role(who, name, fields.get("role", ""))
    return _back("/users")


@router.get("/audit")
def audit_page(request: Request, farm: Farm, who: Page,
               hours: Annotated[int, Query(ge=1, le=24 * 366)] = 24) -> Response:
    from rfarm.state.models import utcnow

    entries = farm.audit(who, since=utcnow() - timedelta(hours=hours), limit=500)
    return _page(request, "audit.html", who, entries=entries, hours=hours)
