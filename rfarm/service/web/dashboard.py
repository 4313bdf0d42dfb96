"""Mounting the dashboard on the service: its pages, its static files, and how its errors are answered.

A page's error is an HTML page with the error's HTTP status (the same status
the API would answer); a request without a valid session is sent to the login
form, except the page's own JavaScript calls, which live under ``/api``.
"""
from __future__ import annotations

from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any
from urllib.parse import quote

from fastapi import FastAPI, Request
from fastapi.responses import RedirectResponse, Response
from fastapi.routing import APIRoute
from fastapi.staticfiles import StaticFiles
from fastapi.templating import Jinja2Templates

from rfarm.errors import NotAuthenticatedError, RfarmError
from rfarm.service.web import views

HERE = Path(__file__).resolve().parent
STATIC_PATH = "/static"

templates = Jinja2Templates(directory=str(HERE / "templates"))
templates.env.globals["views"] = views  # what the pages work out, for the templates and their macros

#: what every dashboard answer carries: nothing but this server's own scripts, styles and images
SECURITY_HEADERS = {
    "Content-Security-Policy": ("default-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'self'; "
                                "connect-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'"),
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "same-origin",
    "Cache-Control": "no-store",
}


def render(request: Request, name: str, context: dict[str, Any], status_code: int = 200) -> Response:
    """The template ``name`` drawn with ``context`` (and ``request``), with the security headers."""
    response = templates.TemplateResponse(request, name, context, status_code=status_code)
    response.headers.update(SECURITY_HEADERS)
    return response


def login_redirect(request: Request) -> RedirectResponse:
    """To the login form, which comes back here afterwards (GET pages only; after a POST, to the page it came from)."""
    back = request.url.path if request.method == "GET" else request.headers.get("referer", "")
    target = "/login"
    if back.startswith("/") and not back.startswith("//") and back != "/login":
        target += "?next=" + quote(back + (f"?{request.url.query}" if request.method == "GET" and request.url.query else ""),
                                   safe="/")
    return RedirectResponse(target, status_code=303)


class PageRoute(APIRoute):
    """A dashboard route: the library's errors become an HTML page (or, for a lost session, the login form)."""

    def get_route_handler(self) -> Callable[[Request], Awaitable[Response]]:
        handler = super().get_route_handler()

        async def handle(request: Request) -> Response:
            from rfarm.service.problems import status_of

            try:
                return await handler(request)
            except NotAuthenticatedError:
                return login_redirect(request)
            except RfarmError as exc:
                status = status_of(exc)
                return render(request, "error.html", {"status": status, "error": type(exc).__name__,
                                                      "message": str(exc), "who": None}, status_code=status)

        return handle


def install(app: FastAPI) -> None:
    """Add the dashboard's pages and static files to ``app``."""
    from rfarm.service.web import admin, pages, submitting

    app.include_router(pages.router)
    app.include_router(submitting.router)
    app.include_router(submitting.api_router)
    app.include_router(admin.router)
    app.mount(STATIC_PATH, StaticFiles(directory=str(HERE / "static")), name="static")
