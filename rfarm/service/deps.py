"""What every route is given: the farm's seam and the caller its token stands for."""
from __future__ import annotations

from dataclasses import replace
from typing import Annotated

from fastapi import Depends, Query, Request

from rfarm.api import LocalFarm
from rfarm.service.auth import bearer, check_token, token_key
from rfarm.state.users import Caller


def farm(request: Request) -> LocalFarm:
    return request.app.state.farm


def caller(
    request: Request,
    all_users: Annotated[bool, Query(alias="all", description="Every user's tasks (managers and admins).")] = False,
) -> Caller:
    """The caller of this request: its bearer token, counted by the rate limiter, then verified."""
    token = bearer(request.headers.get("authorization"))
    request.app.state.limiter.take(token_key(token))
    who = check_token(request.app.state.farm.config, token)
    request.state.user = who.user
    return replace(who, all_users=all_users, remote=True)


Farm = Annotated[LocalFarm, Depends(farm)]
Who = Annotated[Caller, Depends(caller)]
