"""The service's tokens: signed JWTs (HS256) whose id the server keeps, so a revoke holds at once.

A token carries ``sub`` (the user's name), ``jti`` (its id, a row of
:class:`~rfarm.state.models.Token`), ``iat``, ``exp`` and ``iss`` ("rfarm").
The server keeps only each token's SHA-256, never the token; the role is read
from the user's row on every check, so a role change holds at once too.
The signing secret is ``token_secret`` from the configuration, else one made
on first use and kept in the database.
"""
from __future__ import annotations

import hashlib
import hmac
import secrets
import weakref
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone

import jwt

from rfarm.config import Config
from rfarm.errors import NotAllowedError, NotFoundError
from rfarm.state.models import SchemaInfo, Token, User, database, utcnow
from rfarm.state.users import Caller, Role, active_user

ISSUER = "rfarm"
_ALGORITHM = "HS256"
_SECRET_KEY = "token_secret"
_ASK = "ask an admin for a new one (rfarm users token {name}) and run rfarm login URL"


@dataclass(frozen=True, slots=True)
class IssuedToken:
    """A new token: its text is shown once and never stored."""

    token_id: str
    token: str
    user: str
    #: ISO 8601 UTC
    expires_at: str

    def to_dict(self) -> dict[str, str]:
        return {"token_id": self.token_id, "token": self.token, "user": self.user, "expires_at": self.expires_at}


@dataclass(frozen=True, slots=True)
class TokenInfo:
    """A kept token, without its text."""

    id: str
    user: str
    created_at: str
    expires_at: str
    revoked: bool

    def to_dict(self) -> dict[str, object]:
        return {"id": self.id, "user": self.user, "created_at": self.created_at, "expires_at": self.expires_at,
                "revoked": self.revoked}


def token_secret(config: Config) -> str:
    """The signing secret: the configured one, else the database's, made by whichever process asks first.

    A database's secret never changes once made, so each process reads it once.
    """
    if config.token_secret:
        return config.token_secret
    known = _SECRETS.get(database.obj)
    if known is not None:
        return known
    row = SchemaInfo.get_or_none(SchemaInfo.key == _SECRET_KEY)
    if row is None:
        with database.atomic():
            SchemaInfo.insert(key=_SECRET_KEY, value=secrets.token_urlsafe(32)).on_conflict_ignore().execute()
        row = SchemaInfo.get(SchemaInfo.key == _SECRET_KEY)
    _SECRETS[database.obj] = str(row.value)
    return str(row.value)


#: each open database's signing secret, as read once by this process
_SECRETS: weakref.WeakKeyDictionary[object, str] = weakref.WeakKeyDictionary()


def _digest(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def _iso(when: datetime) -> str:
    from rfarm.state.taskinfo import iso

    return iso(when) or ""


def issue_token(config: Config, name: str, *, now: datetime | None = None) -> IssuedToken:
    """A new token for the user ``name``, valid for ``token_days``; only its digest is kept."""
    user = active_user(name)
    now = now or utcnow()
    expires = now + timedelta(days=config.token_days)
    token_id = uuid.uuid4().hex
    claims = {
        "sub": user.name, "jti": token_id, "iss": ISSUER,
        "iat": int(now.replace(tzinfo=timezone.utc).timestamp()),
        "exp": int(expires.replace(tzinfo=timezone.utc).timestamp()),
    }
    token = jwt.encode(claims, token_secret(config), algorithm=_ALGORITHM)
    Token.create(id=token_id, user=user, digest=_digest(token), created_at=now, expires_at=expires)
    return IssuedToken(token_id, token, user.name, _iso(expires))


def verify_token(config: Config, token: str, *, now: datetime | None = None) -> Caller:
    """The caller ``token`` stands for; :class:`NotAllowedError` (one line saying what to do) when it does not.

    The message never holds the token.
    """
    invalid = "not a valid rfarm token (altered, or signed by another server); run rfarm login URL with a token from this server"
    try:
        claims = jwt.decode(
            token, token_secret(config), algorithms=[_ALGORITHM], issuer=ISSUER,
            options={"require": ["sub", "jti", "iat", "exp", "iss"], "verify_exp": False},
        )
    except jwt.InvalidTokenError:
        raise NotAllowedError(invalid) from None
    name, token_id = claims["sub"], claims["jti"]
    if not isinstance(name, str) or not isinstance(token_id, str) or not isinstance(claims["exp"], int):
        raise NotAllowedError(invalid)
    now = now or utcnow()
    if claims["exp"] <= now.replace(tzinfo=timezone.utc).timestamp():
        raise NotAllowedError(f"the token has expired; {_ASK.format(name=name)}")
    row = Token.select(Token, User).join(User).where(Token.id == token_id).get_or_none()  # one query per call
    removed = row.user.removed_at is not None if row is not None else User.select().where(
        (User.name == name) & User.removed_at.is_null(False)).exists()
    if removed:
        raise NotAllowedError(f"user {name!r} was removed from this farm; ask an admin to add them again")
    if row is None or row.user.name != name or not hmac.compare_digest(row.digest, _digest(token)):
        raise NotAllowedError(f"the token is not known to this server; {_ASK.format(name=name)}")
    if row.revoked_at is not None:
        raise NotAllowedError(f"the token was revoked; {_ASK.format(name=name)}")
    if row.expires_at <= now:
        raise NotAllowedError(f"the token has expired; {_ASK.format(name=name)}")
    return Caller(row.user.name, Role(row.user.role))


def token_owner(token_id: str) -> str:
    """The name of the user a kept token was issued to (:class:`NotFoundError` for an unknown id)."""
    row = Token.select(Token, User).join(User).where(Token.id == token_id).get_or_none()
    if row is None:
        raise NotFoundError(f"no token {token_id!r}; rfarm users tokens lists them")
    return str(row.user.name)


def revoke_token(token_id: str, *, now: datetime | None = None) -> None:
    """Revoke the token at once (revoking it again changes nothing)."""
    token_owner(token_id)
    Token.update(revoked_at=now or utcnow()).where((Token.id == token_id) & Token.revoked_at.is_null()).execute()


def list_tokens(name: str | None = None) -> list[TokenInfo]:
    """The kept tokens (of the user ``name``), oldest first."""
    query = Token.select(Token, User).join(User).order_by(Token.created_at, Token.id)
    if name is not None:
        query = query.where(User.name == name)
    return [TokenInfo(t.id, t.user.name, _iso(t.created_at), _iso(t.expires_at), t.revoked_at is not None)
            for t in query]
