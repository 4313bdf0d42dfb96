"""Dashboard sessions: a cookie holding a token from :meth:`LocalFarm.login`, and CSRF tokens.

The session cookie holds an ordinary rfarm token, so every check the API makes
holds for the browser too: it is verified on every request through
:func:`rfarm.service.auth.check_token` (a revoked token, a removed user or a
changed role hold at once), and logging out revokes it. A session also ends
:data:`SESSION_HOURS` after its login, whatever the token's own expiry.

CSRF: the cookie is HttpOnly and SameSite=Lax, and every unsafe request carried
by it must also bring the session's CSRF token (a hidden form field, or the
``X-CSRF-Token`` header from the page's JavaScript). That token is an HMAC of
the session token, so another site can neither read nor compute it. The login
form, which comes before any session, is protected the same way by a random
value in a short-lived cookie of its own (a double submit).
"""
from __future__ import annotations

import hashlib
import hmac
import secrets
from datetime import datetime, timezone

import jwt
from fastapi import Request
from fastapi.responses import Response

from rfarm.config import Config
from rfarm.errors import NotAllowedError, NotAuthenticatedError
from rfarm.service.auth import check_token
from rfarm.state.users import Caller

SESSION_COOKIE = "rfarm_session"
LOGIN_COOKIE = "rfarm_login"
CSRF_FIELD = "csrf"
CSRF_HEADER = "x-csrf-token"
#: a session ends this long after its login (or sooner, when its token expires or is revoked)
SESSION_HOURS = 12
#: methods that change nothing, so need no CSRF token
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
#: how long the login form's double-submit value lives
LOGIN_FORM_S = 3600


def session_token(request: Request) -> str | None:
    """The token the request's session cookie holds, if it has one."""
    return request.cookies.get(SESSION_COOKIE) or None


def csrf_token(session: str) -> str:
    """The CSRF token of the session whose token is ``session``."""
    return hmac.new(session.encode("utf-8"), b"rfarm dashboard csrf", hashlib.sha256).hexdigest()


def check_csrf(session: str, sent: str | None) -> None:
    """Refuse (403) an unsafe request of a session that does not bring the session's CSRF token."""
    if not sent or not hmac.compare_digest(sent.encode("utf-8", "replace"), csrf_token(session).encode()):
        raise NotAllowedError("the request lacks this session's CSRF token; reload the page and try again")


def _claims(token: str) -> dict[str, object]:
    """The claims of a token :func:`check_token` has just verified."""
    return jwt.decode(token, options={"verify_signature": False})


def check_session(config: Config, token: str, *, now: datetime | None = None) -> Caller:
    """The caller a session's token stands for; 401 once the token is refused or the session is too old."""
    who = check_token(config, token)
    issued = _claims(token).get("iat")
    now = now or datetime.now(timezone.utc)
    if not isinstance(issued, int) or now.timestamp() - issued > SESSION_HOURS * 3600:
        raise NotAuthenticatedError(f"the session has expired (sessions last {SESSION_HOURS} h); log in again")
    return who


def token_id(token: str) -> str:
    """The id (``jti``) of a verified token, which logging out revokes."""
    return str(_claims(token)["jti"])


def _secure(request: Request) -> bool:
    return request.url.scheme == "https"


def start_session(request: Request, response: Response, token: str) -> None:
    """Give the browser the session cookie holding ``token``; the login form's cookie is done with."""
    response.set_cookie(SESSION_COOKIE, token, max_age=SESSION_HOURS * 3600, path="/", httponly=True,
                        samesite="lax", secure=_secure(request))
    response.delete_cookie(LOGIN_COOKIE, path="/login")


def end_session(request: Request, response: Response) -> None:
    response.delete_cookie(SESSION_COOKIE, path="/", httponly=True, samesite="lax", secure=_secure(request))


def login_form_token(request: Request) -> str:
    """The login form's CSRF value: the one the browser holds already, else a new one."""
    value = request.cookies.get(LOGIN_COOKIE)
    return value if value and len(value) <= 100 else secrets.token_urlsafe(32)


def keep_login_form_token(request: Request, response: Response, value: str) -> None:
    """Give the browser the login form's CSRF value as a cookie, which only the login form's post gets back."""
    response.set_cookie(LOGIN_COOKIE, value, max_age=LOGIN_FORM_S, path="/login", httponly=True,
                        samesite="strict", secure=_secure(request))


def check_login_form(request: Request, sent: str | None) -> None:
    """Refuse (403) a login post whose CSRF field does not match the login cookie."""
    value = request.cookies.get(LOGIN_COOKIE)
    if not value or not sent or not hmac.compare_digest(value.encode("utf-8", "replace"), sent.encode("utf-8", "replace")):
        raise NotAllowedError("the login form has expired or was not sent from this server; reload it and try again")
