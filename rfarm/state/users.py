"""Who is asking: users, their roles, and the caller every farm operation carries.

Roles nest: a ``viewer`` reads, an ``artist`` also submits and controls their
own tasks and files, a ``manager`` also controls every task, the nodes and the
hardware configs, an ``admin`` also manages users. A user's role is kept in
their row (``rfarm users add NAME --role ROLE``); users made on first use are
artists. On this machine's database the configuration's ``admins`` are admins too.
"""
from __future__ import annotations

import unicodedata
import uuid
from dataclasses import dataclass
from functools import lru_cache

from rfarm.config import Config
from rfarm.errors import NotAllowedError, NotFoundError, UsageError
from rfarm.state.models import Token, User, database, utcnow
from rfarm.state.states import Role

#: the longest user name
MAX_NAME = 64


@dataclass(frozen=True, slots=True)
class Caller:
    """The user a call is made for, and what they may do."""

    user: str
    role: Role = Role.ARTIST
    #: acting on every user's tasks (``--all``), which only managers and admins may
    all_users: bool = False
    #: the call came through the service (a token), not from the database's own machine
    remote: bool = False

    def may(self, role: Role) -> bool:
        """Whether this caller's role includes ``role``."""
        return self.role.rank >= role.rank


def caller_for(config: Config, *, all_users: bool = False) -> Caller:
    """The caller a local configuration acts as without reading the database: its ``user``, an admin if ``admins`` lists them."""
    return Caller(config.user, Role.ADMIN if config.user in config.admins else Role.ARTIST, all_users)


def local_caller(config: Config, *, all_users: bool = False) -> Caller:
    """The caller a direct database connection acts as (the farm must be open).

    An admin when ``admins`` lists the configuration's ``user``, else the role
    of the user's row (a removed user only reads), else an artist (made on first use).
    """
    if config.user in config.admins:
        return Caller(config.user, Role.ADMIN, all_users)
    user = User.get_or_none(User.name == config.user)
    if user is None:
        return Caller(config.user, Role.ARTIST, all_users)
    return Caller(config.user, Role.VIEWER if user.removed_at is not None else Role(user.role), all_users)


@dataclass(frozen=True, slots=True)
class UserInfo:
    name: str
    unionid: str
    role: str
    created_at: str

    def to_dict(self) -> dict[str, str]:
        return {"name": self.name, "unionid": self.unionid, "role": self.role, "created_at": self.created_at}


def _info(user: User) -> UserInfo:
    from rfarm.state.taskinfo import iso

    return UserInfo(user.name, user.unionid, user.role, iso(user.created_at) or "")


def get_user(name: str) -> User:
    """The user called ``name``, created on first use."""
    user = User.get_or_none(User.name == name)
    if user is None:
        with database.atomic():
            User.insert(name=name, unionid=uuid.uuid4().hex).on_conflict_ignore().execute()
        user = User.get(User.name == name)
    return user


def active_user(name: str) -> User:
    """The user called ``name``; :class:`NotFoundError` when there is none or they were removed."""
    user = User.get_or_none(User.name == name)
    if user is None or user.removed_at is not None:
        raise NotFoundError(f"no user {name!r}; rfarm users list shows them")
    return user


def list_users(*, include_removed: bool = False) -> list[UserInfo]:
    query = User.select().order_by(User.name)
    if not include_removed:
        query = query.where(User.removed_at.is_null())
    return [_info(u) for u in query]


def has_admin() -> bool:
    """Whether the database holds an admin (until it does, anyone on its machine may add one)."""
    return User.select().where((User.role == Role.ADMIN.value) & User.removed_at.is_null()).exists()


def check_name(name: str) -> str:
    """``name`` if it can name a user: 1 to 64 characters, no control characters, slashes or outer spaces."""
    if not name or len(name) > MAX_NAME:
        raise UsageError(f"a user name has 1 to {MAX_NAME} characters; {name[:MAX_NAME]!r} has {len(name)}")
    if name != name.strip() or any(c in "/\\" or unicodedata.category(c).startswith("C") for c in name):
        raise UsageError(f"user name {name!r} has a slash, a control character or outer spaces; choose another")
    return name


def add_user(name: str, role: Role | str, password: str | None = None) -> UserInfo:
    """Add the user ``name`` (a removed one comes back, with this role); :class:`UsageError` when they exist."""
    from rfarm.state.passwords import hash_password

    check_name(name)
    role = Role.parse(role)
    password_hash = hash_password(password) if password is not None else None
    with database.atomic():
        user = User.get_or_none(User.name == name)
        if user is None:
            user = User.create(name=name, unionid=uuid.uuid4().hex, role=role.value, password_hash=password_hash)
        elif user.removed_at is None:
            raise UsageError(
                f"user {name!r} exists ({user.role}); rfarm users token {name} gives them a new token, "
                f"rfarm users role {name} ROLE changes their role"
            )
        else:
            User.update(role=role.value, password_hash=password_hash, removed_at=None).where(User.id == user.id).execute()
            user = User.get_by_id(user.id)
    return _info(user)


def set_role(name: str, role: Role | str) -> UserInfo:
    """Give the user ``name`` another role; it holds for their tokens at once."""
    role = Role.parse(role)
    user = active_user(name)
    User.update(role=role.value).where(User.id == user.id).execute()
    return _info(User.get_by_id(user.id))


def set_password(name: str, password: str) -> None:
    from rfarm.state.passwords import hash_password

    user = active_user(name)
    User.update(password_hash=hash_password(password)).where(User.id == user.id).execute()


def remove_user(name: str) -> None:
    """Remove the user ``name``: their tokens and password go, their row stays (their tasks keep their owner)."""
    user = active_user(name)
    with database.atomic():
        Token.delete().where(Token.user == user.id).execute()
        User.update(removed_at=utcnow(), password_hash=None).where(User.id == user.id).execute()


@lru_cache(maxsize=1)
def _unused_hash() -> str:
    """A hash to check a password against when the name is wrong, so the time tells neither apart."""
    from rfarm.state.passwords import hash_password

    return hash_password(uuid.uuid4().hex)


def check_password(name: str, password: str) -> Caller:
    """The caller a dashboard login is for; :class:`NotAllowedError` alike for an unknown name and a wrong password."""
    from rfarm.state.passwords import verify_password

    user = User.get_or_none(User.name == name)
    if user is None or user.removed_at is not None or not user.password_hash:
        verify_password(password, _unused_hash())
    elif verify_password(password, user.password_hash):
        return Caller(user.name, Role(user.role))
    raise NotAllowedError("wrong name or password")
