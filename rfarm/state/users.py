"""Who is asking: users, their roles, and the caller every farm operation carries.

Roles nest: a ``viewer`` reads, an ``artist`` also submits and controls their
own tasks and files, a ``manager`` also controls every task, the nodes and the
hardware configs, an ``admin`` also manages users. On a farm without the
service a user's role comes from the configuration (``admins``); every other
user is an artist.
"""
from __future__ import annotations

import uuid
from dataclasses import dataclass
from enum import StrEnum

from rfarm.config import Config
from rfarm.state.models import User, database


class Role(StrEnum):
    VIEWER = "viewer"
    ARTIST = "artist"
    MANAGER = "manager"
    ADMIN = "admin"

    @property
    def rank(self) -> int:
        return list(Role).index(self)


@dataclass(frozen=True, slots=True)
class Caller:
    """The user a call is made for, and what they may do."""

    user: str
    role: Role = Role.ARTIST
    #: acting on every user's tasks (``--all``), which only managers and admins may
    all_users: bool = False

    def may(self, role: Role) -> bool:
        """Whether this caller's role includes ``role``."""
        return self.role.rank >= role.rank


def caller_for(config: Config, *, all_users: bool = False) -> Caller:
    """The caller a local configuration acts as: its ``user``, an admin if ``admins`` lists them."""
    return Caller(config.user, Role.ADMIN if config.user in config.admins else Role.ARTIST, all_users)


@dataclass(frozen=True, slots=True)
class UserInfo:
    name: str
    unionid: str
    created_at: str

    def to_dict(self) -> dict[str, str]:
        return {"name": self.name, "unionid": self.unionid, "created_at": self.created_at}


def get_user(name: str) -> User:
    """The user called ``name``, created on first use."""
    user = User.get_or_none(User.name == name)
    if user is None:
        with database.atomic():
            User.insert(name=name, unionid=uuid.uuid4().hex).on_conflict_ignore().execute()
        user = User.get(User.name == name)
    return user


def list_users() -> list[UserInfo]:
    from rfarm.state.taskinfo import iso

    return [UserInfo(u.name, u.unionid, iso(u.created_at) or "") for u in User.select().order_by(User.name)]
