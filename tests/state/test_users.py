"""Users, roles, passwords, and who may manage them through the seam."""
from __future__ import annotations

from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest

from rfarm.api import LocalFarm
from rfarm.errors import NotAllowedError, NotFoundError, UsageError
from rfarm.state import scheduler
from rfarm.state.models import Task, User
from rfarm.state.passwords import hash_password, verify_password
from rfarm.state.tokens import verify_token
from rfarm.state.users import (
    Caller,
    Role,
    add_user,
    check_password,
    get_user,
    list_users,
    local_caller,
    remove_user,
    set_password,
)
from rfarm.submit.request import SubmitRequest

ROOT = Caller("root", Role.ADMIN)
CAROL = Caller("carol")


def test_passwords_verify_and_wrong_ones_fail() -> None:
    stored = hash_password("correct horse")
    scheme, n, r, p, salt, digest = stored.split("$")
    assert (scheme, n, r, p) == ("scrypt", str(2**14), "8", "1")
    assert verify_password("correct horse", stored)
    assert not verify_password("correct horsE", stored)
    assert not verify_password("", stored)
    assert hash_password("correct horse") != stored, "a new salt each time"
    for broken in ("", "scrypt$1$2", "bcrypt$16384$8$1$AAAA$AAAA", stored.replace("$8$", "$x$"), stored[:-4] + "!!!!"):
        assert not verify_password("correct horse", broken)
    with pytest.raises(UsageError, match="password is empty"):
        hash_password("")


def test_names_are_checked(farm: Any) -> None:
    for bad in ("", "a" * 65, "a/b", "a\\b", "tab\there", "new\nline", " lead", "trail "):
        with pytest.raises(UsageError):
            add_user(bad, Role.ARTIST)
    assert add_user("a" * 64, "viewer").role == "viewer"
    assert add_user("Zoë Müller", Role.ARTIST).name == "Zoë Müller"
    with pytest.raises(UsageError, match="no role 'god'; the roles are viewer, artist, manager, admin"):
        add_user("x", "god")


def test_adding_an_existing_user_is_refused_and_a_removed_one_comes_back(farm: Any) -> None:
    get_user("carol")  # made on first use by a submit: an artist
    with pytest.raises(UsageError, match="user 'carol' exists .*rfarm users token carol"):
        add_user("carol", Role.MANAGER)
    tid = scheduler.submit(SubmitRequest(scene="/s.blend", renderer="blender", frames=[1]), user="carol")
    set_password("carol", "pw")
    remove_user("carol")
    assert Task.get_by_id(tid).user.name == "carol", "a removed user's tasks keep their owner"
    assert User.get(User.name == "carol").password_hash is None
    assert [u.name for u in list_users()] == []
    assert [u.name for u in list_users(include_removed=True)] == ["carol"]
    with pytest.raises(NotFoundError):
        remove_user("carol")
    back = add_user("carol", Role.MANAGER)
    assert (back.role, User.select().count()) == ("manager", 1)
    assert Task.get_by_id(tid).user.name == "carol"
    assert list_users()[0].to_dict() == {"name": "carol", "unionid": back.unionid, "role": "manager",
                                         "created_at": back.created_at}


def test_check_password(farm: Any) -> None:
    add_user("carol", Role.ARTIST, password="s3cret")
    add_user("dan", Role.ARTIST)
    assert check_password("carol", "s3cret") == Caller("carol", Role.ARTIST)
    for name, password in (("carol", "wrong"), ("nobody", "s3cret"), ("dan", ""), ("dan", "s3cret")):
        with pytest.raises(NotAllowedError, match="^wrong name or password$"):
            check_password(name, password)
    set_password("carol", "new one")
    assert check_password("carol", "new one").user == "carol"
    remove_user("carol")
    with pytest.raises(NotAllowedError, match="wrong name or password"):
        check_password("carol", "new one")


def test_the_local_caller_has_the_role_of_the_row(farm: Any) -> None:
    config = farm.config
    assert local_caller(config) == Caller(config.user, Role.ARTIST), "a user not yet seen is an artist"
    add_user(config.user, Role.MANAGER)
    assert local_caller(config, all_users=True) == Caller(config.user, Role.MANAGER, all_users=True)
    assert local_caller(replace(config, admins=[config.user])).role is Role.ADMIN
    remove_user(config.user)
    assert local_caller(config).role is Role.VIEWER


def test_the_first_admin_is_added_by_anyone_then_only_admins_add(any_farm: Any) -> None:
    api = LocalFarm(any_farm.config)
    made = api.add_user(CAROL, "root", Role.ADMIN, password="pw")
    assert made.to_dict() == {"name": "root", "role": "admin", "token": made.token}
    assert verify_token(any_farm.config, made.token) == ROOT
    with pytest.raises(NotAllowedError, match="adding users needs the admin role; 'carol' is artist"):
        api.add_user(CAROL, "eve", Role.ADMIN)
    assert api.add_user(ROOT, "carol", Role.ARTIST).role == "artist"
    assert [(u.name, u.role) for u in api.users(ROOT)] == [("carol", "artist"), ("root", "admin")]


def test_users_manage_their_own_tokens_and_password_and_only_admins_anyone_elses(any_farm: Any) -> None:
    api = LocalFarm(any_farm.config)
    api.add_user(ROOT, "root", Role.ADMIN)
    api.add_user(ROOT, "carol", Role.ARTIST)
    api.add_user(ROOT, "dan", Role.ARTIST)
    mine = api.new_token(CAROL, "carol")
    dans = api.new_token(ROOT, "dan")
    with pytest.raises(NotAllowedError, match="making a token of another user needs the admin role"):
        api.new_token(CAROL, "dan")
    assert {t.user for t in api.tokens(CAROL)} == {"carol"}
    assert {t.user for t in api.tokens(ROOT)} == {"root", "carol", "dan"}
    with pytest.raises(NotAllowedError):
        api.tokens(CAROL, "dan")
    with pytest.raises(NotFoundError, match=f"no token '{dans.token_id}' of 'carol'"):
        api.revoke_token(CAROL, dans.token_id)
    assert verify_token(any_farm.config, dans.token).user == "dan"
    api.revoke_token(CAROL, mine.token_id)
    with pytest.raises(NotAllowedError, match="revoked"):
        verify_token(any_farm.config, mine.token)
    api.set_password(CAROL, "carol", "pw")
    with pytest.raises(NotAllowedError, match="needs the admin role"):
        api.set_password(CAROL, "dan", "pw")
    for call in (api.remove_user, lambda c, n: api.set_role(c, n, Role.ADMIN)):
        with pytest.raises(NotAllowedError, match="needs the admin role"):
            call(CAROL, "dan")
    assert api.set_role(ROOT, "dan", Role.VIEWER).role == "viewer"
    assert verify_token(any_farm.config, dans.token).role is Role.VIEWER
    api.remove_user(ROOT, "dan")
    with pytest.raises(NotAllowedError, match="removed"):
        verify_token(any_farm.config, dans.token)
    with pytest.raises(NotFoundError, match="no user 'nobody'"):
        api.new_token(ROOT, "nobody")


def test_a_command_on_a_farm_not_made_yet_leaves_it_unmade(config: Any, home: Path) -> None:
    from rfarm.api import local_caller as command_caller

    assert command_caller(config) == Caller(config.user, Role.ARTIST)
    assert command_caller(replace(config, admins=[config.user])).role is Role.ADMIN
    assert list(home.iterdir()) == [], "no database made just to learn there are no roles"
    LocalFarm(config).add_user(CAROL, config.user, Role.VIEWER)
    assert command_caller(config) == Caller(config.user, Role.VIEWER)
