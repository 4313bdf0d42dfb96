"""What every route is given: the farm's seam and the caller its token stands for."""
from __future__ import annotations

from dataclasses import replace
from typing import Annotated

from fastapi import Depends, Query, Request

from rfarm.api import LocalFarm
from rfarm.service.auth import bearer, check_token, token_key
from rfarm.service.web import sessions
from rfarm.state.users import Caller


def farm(request: Request) -> LocalFarm:
    return request.app.state.farm


def caller(
    request: Request,
    all_users: Annotated[bool, Query(alias="all", description="Every user's tasks (managers and admins).")] = False,
) -> Caller:
    """The caller of this request: its bearer token, counted by the rate limiter, then verified.

    Without an Authorization header, the dashboard's session cookie stands in for
    the token (:mod:`rfarm.service.web.sessions`), with its CSRF header on every
    unsafe request, so the dashboard's pages call the API under the same rules.
    """
    config = request.app.state.farm.config
    session = None if request.headers.get("authorization") else sessions.session_token(request)
    if session is not None:
        if request.method not in sessions.SAFE_METHODS:
            sessions.check_csrf(session, request.headers.get(sessions.CSRF_HEADER))
        request.app.state.limiter.take(token_key(session))
        who = sessions.check_session(config, session)
    else:
        token = bearer(request.headers.get("authorization"))
        request.app.state.limiter.take(token_key(token))
        who = check_token(config, token)
    request.state.user = who.user
    return replace(who, all_users=all_users, remote=True)


Farm = Annotated[LocalFarm, Depends(farm)]
Who = Annotated[Caller, Depends(caller)]
