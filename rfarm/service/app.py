"""The FastAPI application: routes, errors as problem documents, the request log, the rate limit."""
from __future__ import annotations

import logging
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI, Request
from fastapi.responses import Response

from rfarm import __version__
from rfarm.api import LocalFarm
from rfarm.config import Config
from rfarm.service import problems
from rfarm.service.auth import RateLimiter
from rfarm.service.routes import events, farm, files, tasks, thumbnails, users, webhooks
from rfarm.service.web import dashboard

log = logging.getLogger("rfarm.service.requests")


def create_app(config: Config, *, api: LocalFarm | None = None) -> FastAPI:
    """The service over the farm ``config`` names (its database is opened now, so a bad one fails at start)."""

    @asynccontextmanager
    async def lifespan(_: FastAPI) -> AsyncIterator[None]:
        """While the server runs, its webhook sender runs on a thread of its own."""
        from rfarm.service.webhooks import start_deliverer

        stop = start_deliverer(config)
        try:
            yield
        finally:
            stop()

    app = FastAPI(
        title="rfarm", version=__version__,
        description="Submit, watch and control render tasks; upload files once by their hash.",
        openapi_url="/api/openapi.json", docs_url="/api/docs", redoc_url=None,
        responses=problems.RESPONSES,
        lifespan=lifespan,
    )
    app.state.farm = api or LocalFarm(config)
    app.state.farm.farm  # noqa: B018 - open the database and schema before the first request
    app.state.limiter = RateLimiter(config.api_rate_limit)
    problems.install(app)

    @app.middleware("http")
    async def _log_request(request: Request, call_next) -> Response:  # type: ignore[no-untyped-def]
        start = time.perf_counter()
        response = await call_next(request)
        user = getattr(request.state, "user", "-")
        log.info("%s %s %s %.1f ms %s", request.method, request.url.path, response.status_code,
                 (time.perf_counter() - start) * 1000, user)
        return response

    @app.get("/api/health", tags=["farm"], summary="Whether the server answers (no token needed)")
    def health() -> dict[str, str]:
        return {"status": "ok", "version": __version__}

    for module in (tasks, files, farm, users, events, webhooks, thumbnails):
        app.include_router(module.router)
    dashboard.install(app)
    return app
