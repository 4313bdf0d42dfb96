"""HTTP to an rfarm server: the token on every request, TLS verified, errors as the library's own.

A problem document's ``error`` names the library's exception class and its
``detail`` is the message, so a caller catches the same errors in both modes.
A 429 is waited out (``Retry-After``) and sent again; a server that cannot be
reached is a :class:`~rfarm.errors.ServiceError` (exit 3).
"""
from __future__ import annotations

import json
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

import httpx

from rfarm.errors import RfarmError, ServiceError, UsageError, error_named

#: how many times a request that hit the rate limit is sent again
RATE_RETRIES = 5
#: the longest wait for one 429 before sending again
MAX_WAIT_S = 60.0
TIMEOUT = httpx.Timeout(30.0, connect=10.0)


class Transport:
    """One connection pool to ``url``, authenticated with ``token``."""

    def __init__(
        self, url: str, token: str, *, ca: str = "", timeout: httpx.Timeout = TIMEOUT,
        http: httpx.Client | None = None,
    ) -> None:
        """``http`` replaces the pool made here (a test's client for an app in its own process)."""
        self.url = url.rstrip("/")
        verify: Any = True
        if ca:
            import ssl

            try:
                verify = ssl.create_default_context(cafile=ca)
            except (OSError, ssl.SSLError) as exc:
                from rfarm.errors import ConfigError

                raise ConfigError(f"server_ca {ca!r} is not a readable CA file: {exc}") from None
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        if http is not None:
            http.headers.update(headers)
            self._http = http
        else:
            self._http = httpx.Client(base_url=self.url, headers=headers, verify=verify, timeout=timeout)

    def close(self) -> None:
        self._http.close()

    def __enter__(self) -> Transport:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def request(
        self, method: str, path: str, *, body: Callable[[], Any] | None = None, **kwargs: Any,
    ) -> httpx.Response:
        """Send one request; the answer when it succeeded, else the library's error.

        Args:
            body: Makes the request's content afresh for each try (a file streamed
                again when the rate limit made the first try wait).
        """
        if "json" in kwargs:  # strict JSON: a NaN or infinity is the caller's mistake, not the server's
            try:
                kwargs["content"] = json.dumps(kwargs.pop("json"), allow_nan=False).encode()
            except ValueError:
                raise UsageError("a number in the request is not finite (NaN or infinity)") from None
            kwargs["headers"] = {**kwargs.get("headers", {}), "Content-Type": "application/json"}
        for attempt in range(RATE_RETRIES + 1):
            try:
                if body is not None:
                    kwargs["content"] = body()
                response = self._http.request(method, path, **kwargs)
            except httpx.TransportError as exc:
                raise unreachable(self.url, exc) from None
            if response.status_code == 429 and attempt < RATE_RETRIES:
                time.sleep(retry_after(response))
                continue
            check(response)
            return response
        raise AssertionError("unreachable")  # pragma: no cover - the loop returns or raises

    @contextmanager
    def stream(self, method: str, path: str, **kwargs: Any) -> Iterator[httpx.Response]:
        """A streamed answer (a download); errors as in :meth:`request`."""
        for attempt in range(RATE_RETRIES + 1):
            try:
                with self._http.stream(method, path, **kwargs) as response:
                    if response.status_code == 429 and attempt < RATE_RETRIES:
                        wait = retry_after(response)
                    else:
                        if response.is_error:
                            response.read()
                            check(response)
                        yield response
                        return
            except httpx.TransportError as exc:
                raise unreachable(self.url, exc) from None
            time.sleep(wait)


def retry_after(response: httpx.Response) -> float:
    try:
        return min(MAX_WAIT_S, max(0.0, float(response.headers.get("Retry-After", "1"))))
    except ValueError:
        return 1.0


def unreachable(url: str, exc: Exception) -> ServiceError:
    reason = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
    return ServiceError(f"cannot reach the rfarm server at {url}: {reason}")


def check(response: httpx.Response) -> None:
    """Raise the library's error for an error answer."""
    if not response.is_error:
        return
    error, detail = "", ""
    try:
        doc = response.json()
        error, detail = str(doc.get("error", "")), str(doc.get("detail", ""))
    except ValueError:
        pass
    cls: type[RfarmError] = error_named(error) if error else RfarmError
    if not error:
        cls = ServiceError if response.status_code >= 500 else RfarmError
    raise cls(detail or f"the server answered {response.status_code} {response.reason_phrase}")
