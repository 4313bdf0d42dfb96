"""Reading the server's Server-Sent Events in a background thread, reconnecting with ``Last-Event-ID``."""
from __future__ import annotations

import json
import queue
import threading
import time
from typing import Any

from rfarm.client.transport import Transport
from rfarm.errors import RfarmError, ServiceError
from rfarm.state.eventlog import EventInfo
from rfarm.wire import from_doc

#: seconds before a dropped stream is opened again
RECONNECT_S = 1.0


class EventReader:
    """One ``GET /api/events`` stream, its events queued for :meth:`wait`."""

    def __init__(self, transport: Transport, params: dict[str, Any]) -> None:
        self._transport = transport
        self._params = params
        self._queue: queue.Queue[EventInfo | RfarmError] = queue.Queue()
        self._started = threading.Event()
        self._closed = threading.Event()
        self.cursor: int | None = None
        self._thread = threading.Thread(target=self._run, name="rfarm-events", daemon=True)
        self._thread.start()

    def close(self) -> None:
        self._closed.set()

    def wait(self, after: int | None, timeout_s: float) -> tuple[int, list[EventInfo]]:
        """Events after ``after`` (None: the stream's start), waiting up to ``timeout_s`` for the first."""
        if not self._started.wait(timeout=max(timeout_s, 30.0)):
            raise ServiceError("the rfarm server's event stream did not start within 30 s")
        found: list[EventInfo] = []
        deadline = time.monotonic() + timeout_s
        while True:
            try:
                item = self._queue.get(timeout=max(0.0, deadline - time.monotonic()) if not found else 0)
            except queue.Empty:
                break
            if isinstance(item, RfarmError):
                raise item
            if after is None or item.id > after:
                found.append(item)
        last = found[-1].id if found else (after if after is not None else (self.cursor or 0))
        return last, found

    def _run(self) -> None:
        while not self._closed.is_set():
            headers = {"Last-Event-ID": str(self.cursor)} if self.cursor is not None else {}
            try:
                with self._transport.stream("GET", "/api/events", params=self._params, headers=headers,
                                            timeout=None) as response:
                    self._read(response.iter_lines())
            except ServiceError:
                pass  # the server went away: try again, from the last event seen
            except RfarmError as exc:  # refused (a revoked token, an unknown task): tell the reader and stop
                self._queue.put(exc)
                self._started.set()
                return
            self._closed.wait(RECONNECT_S)

    def _read(self, lines: Any) -> None:
        event_id: int | None = None
        data: list[str] = []
        for line in lines:
            if self._closed.is_set():
                return
            if line.startswith("id:"):
                value = line[3:].strip()
                event_id = int(value) if value.isdigit() else event_id
            elif line.startswith("data:"):
                data.append(line[5:].strip())
            elif line == "":
                if event_id is not None:
                    self.cursor = event_id
                    self._started.set()
                if data:
                    self._queue.put(from_doc(EventInfo, json.loads("\n".join(data))))
                event_id, data = None, []
