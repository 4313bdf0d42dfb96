"""The webhook sender: a background thread of ``rfarm serve`` that POSTs the farm's events.

It reads what the scheduler already wrote (:func:`rfarm.state.webhooks.enqueue_new`)
and sends on its own thread, so a slow or dead receiver never holds up the
scheduler, a worker or a request. Each POST carries the JSON body and

- ``X-Rfarm-Event``: the event's name (``task.done``, ...),
- ``X-Rfarm-Delivery``: the delivery's id (the same on every try),
- ``X-Rfarm-Signature``: ``sha256=`` and the hex HMAC-SHA256 of the raw body, keyed with the webhook's secret.

A 2xx answer delivers it; anything else (another status, a refused
connection, a timeout) is tried again after 1, 2, 4, 8 and 16 seconds, and
after the sixth try it gives up. Every try is kept in the delivery log. Deliveries go out side by
side, so they may arrive in any order; the body's ``event_id`` orders them.
"""
from __future__ import annotations

import hashlib
import hmac
import json
import logging
import threading
import time
import uuid
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import TYPE_CHECKING

import httpx

from rfarm import __version__
from rfarm.config import Config
from rfarm.errors import first_line

if TYPE_CHECKING:
    from rfarm.state.webhooks import Due

log = logging.getLogger(__name__)

#: seconds before each try after the first
DELAYS: tuple[float, ...] = (1, 2, 4, 8, 16)
#: seconds one POST may take, connecting included
TIMEOUT_S = 5.0
#: seconds between looks for new events and due deliveries
POLL_S = 1.0
#: deliveries sent at once (one dead receiver cannot hold up the others)
SENDERS = 4


def sign(secret: str, body: bytes) -> str:
    """The ``X-Rfarm-Signature`` header's value for ``body``."""
    return "sha256=" + hmac.new(secret.encode("utf-8"), body, hashlib.sha256).hexdigest()


class Deliverer:
    """Sends due deliveries; :meth:`run_once` is one round, :meth:`start` runs rounds on a thread."""

    def __init__(self, config: Config, *, delays: Sequence[float] = DELAYS, timeout_s: float = TIMEOUT_S,
                 poll_s: float = POLL_S, http: httpx.Client | None = None) -> None:
        self.config = config
        self.delays = tuple(delays)
        self.poll_s = poll_s
        self.name = f"sender-{uuid.uuid4().hex[:12]}"
        self._http = http or httpx.Client(timeout=timeout_s, follow_redirects=False,
                                          headers={"User-Agent": f"rfarm/{__version__}"})
        self._pool = ThreadPoolExecutor(SENDERS, thread_name_prefix="rfarm-webhook")
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        #: a claim outlives the longest a round of sends can take
        self._lease_s = (timeout_s + 5) * 4

    def run_once(self) -> int:
        """Queue the new events' deliveries and send every due one; how many were sent."""
        from rfarm.state.farm import open_farm
        from rfarm.state.webhooks import claim_due, enqueue_new

        open_farm(self.config)
        enqueue_new()
        due = claim_due(self.name, lease_s=self._lease_s, limit=SENDERS * 5)
        list(self._pool.map(self._send, due))
        return len(due)

    def _send(self, due: Due) -> None:
        from rfarm.state.webhooks import record_attempt

        body = json.dumps({**due.payload, "delivery": due.id}, separators=(",", ":"), sort_keys=True).encode()
        headers = {"Content-Type": "application/json", "X-Rfarm-Event": due.event,
                   "X-Rfarm-Delivery": str(due.id), "X-Rfarm-Signature": sign(due.secret, body)}
        start = time.perf_counter()
        status: int | None = None
        error: str | None = None
        try:
            status = self._http.post(due.url, content=body, headers=headers).status_code
            if not 200 <= status < 300:
                error = f"HTTP {status}"
        except httpx.HTTPError as exc:
            error = f"{type(exc).__name__}: {first_line(exc)}"[:500]
        seconds = time.perf_counter() - start
        done = record_attempt(due.id, self.name, status_code=status, error=error, seconds=seconds,
                              delays=self.delays)
        if error:
            log.warning("webhook delivery %s to %s, try %s: %s%s", due.id, due.url, due.attempts + 1, error,
                        "; giving up" if done else "")

    def _loop(self) -> None:
        while not self._stop.is_set():
            try:
                self.run_once()
            except Exception as exc:  # noqa: BLE001 - a database hiccup must not end the thread
                log.warning("webhook sender: %s", first_line(exc))
            self._stop.wait(self.poll_s)

    def start(self) -> Callable[[], None]:
        """Run rounds on a daemon thread until the returned function is called."""
        self._thread = threading.Thread(target=self._loop, name="rfarm-webhooks", daemon=True)
        self._thread.start()
        return self.stop

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=TIMEOUT_S + 1)
        self._pool.shutdown(wait=False, cancel_futures=True)
        self._http.close()


def start_deliverer(config: Config, **options: object) -> Callable[[], None]:
    """Start sending the farm's webhooks in this process; call the answer to stop."""
    return Deliverer(config, **options).start()  # type: ignore[arg-type]
