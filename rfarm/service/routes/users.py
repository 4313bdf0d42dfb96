"""Users and tokens (``/api/users``, ``/api/tokens``), and logging in with a password (``/api/login``)."""
from __future__ import annotations

from typing import Annotated, Optional

from fastapi import APIRouter, Query, Request
from pydantic import BaseModel, Field

from rfarm.service.auth import token_key
from rfarm.service.deps import Farm, Who

router = APIRouter(prefix="/api", tags=["users"])

Name = Annotated[str, Field(min_length=1, max_length=64)]
Password = Annotated[str, Field(min_length=1, max_length=1024)]
RoleName = Annotated[str, Field(pattern="^(viewer|artist|manager|admin)$")]


class UserDoc(BaseModel):
    name: str
    unionid: str
    role: str
    created_at: str


class NewUserBody(BaseModel):
    name: Name
    role: RoleName = "artist"
    password: Optional[Password] = None


class NewUserDoc(BaseModel):
    name: str
    role: str
    token: str


class RoleBody(BaseModel):
    role: RoleName


class PasswordBody(BaseModel):
    password: Password


class Login(BaseModel):
    name: Name
    password: Password


class TokenDoc(BaseModel):
    token_id: str
    token: str
    user: str
    expires_at: str


class KeptToken(BaseModel):
    id: str
    user: str
    created_at: str
    expires_at: str
    revoked: bool


class Done(BaseModel):
    name: str
    done: bool = True


@router.get("/users", response_model=list[UserDoc], summary="Every user (admins)")
def users(farm: Farm, who: Who) -> list[UserDoc]:
    return [UserDoc(**u.to_dict()) for u in farm.users(who)]


@router.post("/users", status_code=201, response_model=NewUserDoc, summary="Add a user; their token is shown once")
def add_user(body: NewUserBody, farm: Farm, who: Who) -> NewUserDoc:
    return NewUserDoc(**farm.add_user(who, body.name, body.role, body.password).to_dict())


@router.post("/users/{name}/role", response_model=UserDoc)
def set_role(name: str, body: RoleBody, farm: Farm, who: Who) -> UserDoc:
    return UserDoc(**farm.set_role(who, name, body.role).to_dict())


@router.post("/users/{name}/tokens", status_code=201, response_model=TokenDoc, summary="A new token (shown once)")
def new_token(name: str, farm: Farm, who: Who) -> TokenDoc:
    return TokenDoc(**farm.new_token(who, name).to_dict())


@router.put("/users/{name}/password", response_model=Done)
def set_password(name: str, body: PasswordBody, farm: Farm, who: Who) -> Done:
    farm.set_password(who, name, body.password)
    return Done(name=name)


@router.delete("/users/{name}", response_model=Done)
def remove_user(name: str, farm: Farm, who: Who) -> Done:
    farm.remove_user(who, name)
    return Done(name=name)


@router.get("/tokens", response_model=list[KeptToken], summary="Kept tokens, without their text")
def tokens(farm: Farm, who: Who, user: Annotated[Optional[str], Query(max_length=64)] = None) -> list[KeptToken]:
    return [KeptToken(**t.to_dict()) for t in farm.tokens(who, user)]


@router.delete("/tokens/{token_id}", response_model=Done)
def revoke(token_id: str, farm: Farm, who: Who) -> Done:
    farm.revoke_token(who, token_id)
    return Done(name=token_id)


@router.post("/login", status_code=201, response_model=TokenDoc, summary="A new token for a name and password")
def login(body: Login, request: Request, farm: Farm) -> TokenDoc:
    request.app.state.limiter.take("login:" + token_key(body.name))  # guessing passwords is rate limited too
    return TokenDoc(**farm.login(body.name, body.password).to_dict())
