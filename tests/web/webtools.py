"""Helpers the dashboard's tests share: logging in as a browser does, reading a page's CSRF token."""
from __future__ import annotations

import re
from typing import Any

from fastapi.testclient import TestClient

PASSWORD = "correct horse battery"


def csrf_of(page: str) -> str:
    """The CSRF token a page carries (its hidden field, or its meta tag)."""
    found = re.search(r'name="csrf" value="([^"]+)"', page) or re.search(r'name="csrf-token" content="([^"]+)"', page)
    assert found, "the page carries no CSRF token"
    return found.group(1)


def log_in(client: TestClient, name: str, password: str = PASSWORD) -> Any:
    """Post the login form as a browser does (the form first, for its CSRF value); the answer, not followed."""
    form = client.get("/login")
    assert form.status_code == 200, form.text
    return client.post("/login", data={"username": name, "password": password, "csrf": csrf_of(form.text)},
                       follow_redirects=False)
