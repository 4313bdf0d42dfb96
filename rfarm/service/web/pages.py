"""The dashboard's pages and the actions their forms post; every decision is the seam's (:class:`LocalFarm`).

Pages read the caller from the session cookie through the same check as the
API; every form posts the session's CSRF token, checked before anything is done.
A manager's pages act on every user's tasks (``all_users``), as ``--all`` does.
"""
from __future__ import annotations

import json
from dataclasses import replace
from typing import Annotated, Any, Literal, Optional
from urllib.parse import parse_qs

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import RedirectResponse, Response

from rfarm.errors import NotAuthenticatedError, UsageError
from rfarm.service.auth import token_key
from rfarm.service.deps import Farm
from rfarm.service.web import sessions, views
from rfarm.service.web.dashboard import PageRoute, render
from rfarm.state.states import EventKind, TaskState
from rfarm.state.users import Caller, Role

router = APIRouter(route_class=PageRoute, include_in_schema=False)

#: tasks per page of the tasks list
PAGE_SIZE = 50
#: the most a form post may carry
MAX_FORM_BYTES = 16 * 1024
#: the most of a log the log page shows (its end)
MAX_LOG_CHARS = 256 * 1024


# -- who is asking --------------------------------------------------------------


def page_caller(request: Request) -> Caller:
    """The caller of a page: the session's token, counted and verified as the API's are (401: to the login form)."""
    token = sessions.session_token(request)
    if token is None:
        raise NotAuthenticatedError("not logged in")
    request.app.state.limiter.take(token_key(token))
    who = sessions.check_session(request.app.state.farm.config, token)
    request.state.user = who.user
    return replace(who, remote=True)


async def form_fields(request: Request) -> dict[str, str]:
    """The fields of a posted form (``application/x-www-form-urlencoded``, the only kind the pages send);
    any other body has no fields, so it lacks the CSRF token too."""
    kind = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if kind != "application/x-www-form-urlencoded":
        return {}
    body = await request.body()
    if len(body) > MAX_FORM_BYTES:
        raise UsageError(f"a form post is at most {MAX_FORM_BYTES} bytes")
    return {k: v[0] for k, v in parse_qs(body.decode("utf-8", "replace"), keep_blank_values=True).items()}


Form = Annotated[dict[str, str], Depends(form_fields)]


def acting_caller(request: Request, fields: Form) -> Caller:
    """The caller of a form's post: a page's caller whose post carries the session's CSRF token."""
    who = page_caller(request)
    sessions.check_csrf(sessions.session_token(request) or "", fields.get(sessions.CSRF_FIELD))
    return who


Page = Annotated[Caller, Depends(page_caller)]
Acting = Annotated[Caller, Depends(acting_caller)]


def _everyone(who: Caller) -> Caller:
    """A manager sees and controls every user's tasks from the dashboard; anyone else, their own."""
    return replace(who, all_users=who.may(Role.MANAGER))


def _page(request: Request, name: str, who: Caller, status_code: int = 200, **context: Any) -> Response:
    token = sessions.session_token(request) or ""
    return render(request, name, {"who": who, "csrf": sessions.csrf_token(token), "is_manager": who.may(Role.MANAGER), **context}, status_code=status_code)


def _back(path: str) -> RedirectResponse:
    return RedirectResponse(path, status_code=303)


def _next_page(value: str | None) -> str:
    """Where a login goes on to: a path on this server, else the tasks page."""
    if value and value.startswith("/") and not value.startswith("//") and "\\" not in value:
        return value
    return "/tasks"


# -- logging in and out -----------------------------------------------------------


@router.get("/")
def home() -> RedirectResponse:
    return _back("/tasks")


def _login_form(request: Request, *, next_path: str, message: str = "", status_code: int = 200,
                username: str = "") -> Response:
    token = sessions.login_form_token(request)
    response = render(request, "login.html", {"who": None, "next": next_path, "message": message,
                                              "username": username, "csrf": token}, status_code=status_code)
    sessions.keep_login_form_token(request, response, token)
    return response


@router.get("/login")
def login_page(request: Request, next: Annotated[Optional[str], Query(max_length=2000)] = None) -> Response:
    return _login_form(request, next_path=_next_page(next))


@router.post("/login")
def login(request: Request, farm: Farm, fields: Form) -> Response:
    sessions.check_login_form(request, fields.get(sessions.CSRF_FIELD))
    name, password = fields.get("username", "").strip(), fields.get("password", "")
    next_path = _next_page(fields.get("next"))
    request.app.state.limiter.take("login:" + (request.client.host if request.client else "-"))
    if not name or not password:
        return _login_form(request, next_path=next_path, message="Enter your name and password.", status_code=400,
                           username=name)
    try:
        issued = farm.login(name, password)
    except NotAuthenticatedError as exc:
        return _login_form(request, next_path=next_path, message=f"{str(exc).capitalize()}.", status_code=401,
                           username=name)
    response = _back(next_path)
    sessions.start_session(request, response, issued.token)
    request.state.user = issued.user
    return response


@router.post("/logout")
def logout(request: Request, farm: Farm, who: Acting) -> Response:
    """End the session: its token is revoked, so the cookie is worthless even where a copy survives."""
    token = sessions.session_token(request) or ""
    farm.revoke_token(who, sessions.token_id(token))
    response = _back("/login")
    sessions.end_session(request, response)
    return response


# -- tasks --------------------------------------------------------------------------


@router.get("/tasks")
def tasks_page(
    request: Request, farm: Farm, who: Page,
    status: Annotated[Optional[str], Query(max_length=20)] = None,
    everyone: Annotated[bool, Query(alias="all")] = False,
    cursor: Annotated[Optional[int], Query(ge=1, le=2**63 - 1)] = None,
) -> Response:
    scoped = replace(who, all_users=everyone and who.may(Role.MANAGER))
    found = farm.tasks(scoped, status=[status] if status else [], limit=PAGE_SIZE, before=cursor)
    next_cursor = found[-1].task_id if len(found) == PAGE_SIZE else None
    return _page(request, "tasks.html", who, tasks=found, status=status or "", everyone=scoped.all_users,
                 cursor=cursor, next_cursor=next_cursor, states=views.TASK_STATES)


@router.get("/tasks/{task_id}")
def task_page(request: Request, task_id: str, farm: Farm, who: Page) -> Response:
    info = farm.task(_everyone(who), task_id)
    frames = [f.to_dict() for f in info.frames]
    scope = "?all=1" if info.user != who.user else ""
    return _page(request, "task.html", who, task=info, frames=frames, scope=scope,
                 details=farm.task_details(_everyone(who), task_id),
                 may_control=who.may(Role.ARTIST), action_states=json.dumps(views.ACTION_STATES),
                 event_kinds=json.dumps([k.value for k in EventKind]))


@router.get("/tasks/{task_id}/sheet")
def sheet_page(request: Request, task_id: str, farm: Farm, who: Page) -> Response:
    """The contact sheet: every done frame's thumbnail (linked to its result) and every failed frame's error."""
    scoped = _everyone(who)
    info = farm.task(scoped, task_id)
    shown = sorted((f for f in info.frames if f.status in views.SHEET_STATES), key=lambda f: f.frame)
    results = views.results_by_frame(shown, farm.results(scoped, task_id))
    scope = "?all=1" if info.user != who.user else ""
    return _page(request, "sheet.html", who, task=info, frames=shown, results=results, scope=scope)


@router.post("/tasks/{task_id}/{action}")
def task_action(task_id: str, action: Literal["approve", "cancel", "pause", "resume", "retry"], farm: Farm,
                who: Acting) -> Response:
    scoped = _everyone(who)
    if action == "approve":
        held = farm.task(scoped, task_id, with_frames=False)
        if held.status != TaskState.HELD:
            raise UsageError(f"task {held.task_id} is {held.status}, not held after its test frames: nothing to approve")
        change = farm.resume(scoped, task_id)
    elif action == "retry":
        change = farm.retry(scoped, task_id, failed_only=True)
    else:
        change = getattr(farm, action)(scoped, task_id)
    return _back(f"/tasks/{change.task_id}")


@router.get("/tasks/{task_id}/frames/{frame}/log")
def log_page(request: Request, task_id: str, frame: int, farm: Farm, who: Page) -> Response:
    scoped = _everyone(who)
    entries = farm.frame_logs(scoped, task_id, frame)
    entry = entries[0] if entries else None
    chunk = farm.read_log(scoped, task_id, frame, entry.attempt) if entry is not None else None
    text = chunk.text if chunk is not None else ""
    cut = len(text) > MAX_LOG_CHARS
    return _page(request, "log.html", who, task_id=task_id, frame=frame, attempt=entry.attempt if entry else 0,
                 text=text[-MAX_LOG_CHARS:] if cut else text, cut=cut, has_log=chunk is not None)


# -- nodes --------------------------------------------------------------------------------


@router.get("/nodes")
def nodes_page(request: Request, farm: Farm, who: Page) -> Response:
    return _page(request, "nodes.html", who, nodes=farm.nodes(who))


@router.post("/nodes/{name}/{action}")
def node_action(name: str, action: Literal["enable", "disable"], farm: Farm, who: Acting) -> Response:
    farm.set_node_enabled(who, name, action == "enable")
    return _back("/nodes")
