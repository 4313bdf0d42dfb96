"""Signed tokens: what verifies, and every way one is refused (at once, with one line saying what to do)."""
from __future__ import annotations

import base64
import json
from dataclasses import replace
from datetime import timedelta
from typing import Any

import jwt
import pytest

from rfarm.errors import NotAllowedError, NotFoundError
from rfarm.state.models import SchemaInfo, Token, utcnow
from rfarm.state.tokens import issue_token, list_tokens, revoke_token, token_secret, verify_token
from rfarm.state.users import Role, add_user, remove_user, set_role


@pytest.fixture
def cfg(any_farm: Any) -> Any:
    add_user("carol", Role.ARTIST)
    return any_farm.config


def test_a_token_verifies_as_its_user_with_the_role_of_their_row_now(cfg: Any) -> None:
    issued = issue_token(cfg, "carol")
    caller = verify_token(cfg, issued.token)
    assert (caller.user, caller.role) == ("carol", Role.ARTIST)
    set_role("carol", Role.MANAGER)
    assert verify_token(cfg, issued.token).role is Role.MANAGER, "a role change holds at once"
    claims = jwt.decode(issued.token, options={"verify_signature": False})
    assert claims["sub"] == "carol" and claims["jti"] == issued.token_id and claims["iss"] == "rfarm"
    assert claims["exp"] - claims["iat"] == cfg.token_days * 86400
    assert set(issued.to_dict()) == {"token_id", "token", "user", "expires_at"}


def test_only_the_digest_is_kept(cfg: Any) -> None:
    issued = issue_token(cfg, "carol")
    (row,) = Token.select()
    assert row.id == issued.token_id and len(row.digest) == 64
    assert issued.token not in {str(v) for v in row.__data__.values()}


def test_a_revoked_token_is_refused_at_once(cfg: Any) -> None:
    issued, other = issue_token(cfg, "carol"), issue_token(cfg, "carol")
    revoke_token(issued.token_id)
    with pytest.raises(NotAllowedError, match="^the token was revoked; ask an admin for a new one") as err:
        verify_token(cfg, issued.token)
    assert issued.token not in str(err.value)
    assert verify_token(cfg, other.token).user == "carol", "revoking one token leaves the others"
    assert [(t.id, t.revoked) for t in list_tokens("carol")] == [(issued.token_id, True), (other.token_id, False)]
    with pytest.raises(NotFoundError, match="no token 'nope'"):
        revoke_token("nope")


def test_an_expired_token_is_refused(cfg: Any) -> None:
    issued = issue_token(cfg, "carol", now=utcnow() - timedelta(days=cfg.token_days, seconds=1))
    with pytest.raises(NotAllowedError, match=r"^the token has expired; .*rfarm users token carol"):
        verify_token(cfg, issued.token)
    short = replace(cfg, token_days=1)
    fresh = issue_token(short, "carol")
    assert verify_token(short, fresh.token, now=utcnow() + timedelta(hours=23)).user == "carol"
    with pytest.raises(NotAllowedError, match="has expired"):
        verify_token(short, fresh.token, now=utcnow() + timedelta(days=1, seconds=1))


def test_a_token_signed_with_another_secret_is_refused(cfg: Any) -> None:
    mine = issue_token(cfg, "carol")
    theirs = replace(cfg, token_secret="x" * 48)
    with pytest.raises(NotAllowedError, match="^not a valid rfarm token"):
        verify_token(theirs, mine.token)
    # a token forged with another key for a real id is refused too
    claims = jwt.decode(mine.token, options={"verify_signature": False})
    forged = jwt.encode(claims, "y" * 48, algorithm="HS256")
    with pytest.raises(NotAllowedError, match="^not a valid rfarm token"):
        verify_token(cfg, forged)


def test_a_tampered_token_is_refused(cfg: Any) -> None:
    add_user("root", Role.ADMIN)
    issued = issue_token(cfg, "carol")
    header, payload, signature = issued.token.split(".")
    claims = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
    claims["sub"] = "root"
    altered = base64.urlsafe_b64encode(json.dumps(claims).encode()).rstrip(b"=").decode()
    for bad in (f"{header}.{altered}.{signature}", issued.token[:-2], "", "not.a.token", "Bearer x"):
        with pytest.raises(NotAllowedError, match="^not a valid rfarm token"):
            verify_token(cfg, bad)
    none_alg = jwt.encode(claims, None, algorithm="none")
    with pytest.raises(NotAllowedError, match="^not a valid rfarm token"):
        verify_token(cfg, none_alg)


def test_a_validly_signed_token_the_server_never_issued_is_refused(cfg: Any) -> None:
    issued = issue_token(cfg, "carol")
    claims = jwt.decode(issued.token, options={"verify_signature": False})
    for change in ({"jti": "0" * 32}, {"exp": claims["exp"] + 1}):
        made = jwt.encode({**claims, **change}, token_secret(cfg), algorithm="HS256")
        with pytest.raises(NotAllowedError, match="^the token is not known to this server"):
            verify_token(cfg, made)


def test_a_removed_users_token_is_refused(cfg: Any) -> None:
    issued = issue_token(cfg, "carol")
    remove_user("carol")
    assert Token.select().count() == 0
    with pytest.raises(NotAllowedError, match="^user 'carol' was removed"):
        verify_token(cfg, issued.token)
    with pytest.raises(NotFoundError, match="no user 'carol'"):
        issue_token(cfg, "carol")


def test_the_secret_is_made_once_and_kept_or_taken_from_the_config(cfg: Any) -> None:
    assert cfg.token_secret == ""
    first = token_secret(cfg)
    assert len(first) >= 40 and token_secret(cfg) == first
    assert SchemaInfo.get(SchemaInfo.key == "token_secret").value == first
    configured = replace(cfg, token_secret="z" * 40)
    assert token_secret(configured) == "z" * 40
    issued = issue_token(configured, "carol")
    assert verify_token(configured, issued.token).user == "carol"
    with pytest.raises(NotAllowedError):
        verify_token(cfg, issued.token)
