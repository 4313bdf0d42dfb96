""":class:`HttpFarm`: the farm's seam (:class:`rfarm.api.FarmAPI`) over HTTP, for a machine
that holds only a server URL and a token.

The server decides who the caller is from the token; the :class:`Caller` a
method is given only says whether the command asked for every user's tasks.
Answers are read back into the library's own records (:mod:`rfarm.wire`), so
the CLI prints the same documents in both modes.
"""
from __future__ import annotations

import os
import uuid
from collections.abc import Iterator, Sequence
from datetime import timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any

import httpx

from rfarm.api import LogChunk, NewUser, Submitted, TaskChange
from rfarm.client.events import EventReader
from rfarm.client.transport import Transport
from rfarm.errors import IntegrityError, NotFoundError
from rfarm.files.hashing import FileHash, hash_file
from rfarm.state.eventlog import EventInfo
from rfarm.state.hwconfigs import HardwareConfigInfo
from rfarm.state.nodes import NodeInfo
from rfarm.state.stats import FarmStats
from rfarm.state.taskinfo import FrameInfo, FrameLog, TaskInfo, TaskSummary
from rfarm.submit.frames import format_frames
from rfarm.files.transfer import ResultFile
from rfarm.state.tokens import IssuedToken, TokenInfo
from rfarm.state.users import Caller, Role, UserInfo
from rfarm.wire import from_doc, to_doc

if TYPE_CHECKING:
    from datetime import datetime

    from rfarm.files.manifest import Manifest
    from rfarm.state.audit import AuditEntry
    from rfarm.state.removal import Deleted
    from rfarm.state.webhooks import DeliveryInfo, WebhookInfo
    from rfarm.submit.request import SubmitRequest

#: bytes read from a file per piece of a streamed upload
CHUNK = 1 << 20


class HttpFarm:
    """:class:`~rfarm.api.FarmAPI` on an rfarm server."""

    def __init__(self, url: str, token: str, *, ca: str = "", http: httpx.Client | None = None) -> None:
        self.transport = Transport(url, token, ca=ca, http=http)
        self._readers: dict[tuple[bool, str | None], EventReader] = {}

    def close(self) -> None:
        for reader in self._readers.values():
            reader.close()
        self.transport.close()

    def _get(self, path: str, caller: Caller | None = None, **params: Any) -> Any:
        return self.transport.request("GET", path, params=_params(caller, params)).json()

    def _post(self, path: str, caller: Caller | None = None, body: Any = None, **params: Any) -> Any:
        response = self.transport.request("POST", path, params=_params(caller, params), json=body)
        return response.json() if response.content else None

    # -- who --------------------------------------------------------------------

    def whoami(self) -> dict[str, str]:
        return self._get("/api/whoami")

    # -- tasks ------------------------------------------------------------------

    def submit(self, caller: Caller, request: SubmitRequest, manifest: Manifest | None = None) -> Submitted:
        import json

        body = {"request": to_doc(_request_doc(request)),
                "manifest": None if manifest is None else json.loads(manifest.encode())}
        doc = self._post("/api/tasks/", caller, body)
        return Submitted(int(doc["task_id"]), list(doc.get("warnings", [])))

    def task(self, caller: Caller, task_id: int | str, *, with_frames: bool = True) -> TaskInfo:
        return from_doc(TaskInfo, self._get(f"/api/tasks/{_id(task_id)}/status", caller, frames=with_frames))

    def task_summary(self, caller: Caller, task_id: int | str) -> TaskSummary:
        return from_doc(TaskSummary, self._get(f"/api/tasks/{_id(task_id)}/summary", caller))

    def iter_frames(self, caller: Caller, task_id: int | str, *, frames: Sequence[int] | None = None,
                    states: Sequence[str] = (), limit: int | None = None) -> Iterator[FrameInfo]:
        """The frames as the server streams them, one document a line (never the whole list in memory)."""
        import json

        params = _params(caller, {"frames": None if frames is None else format_frames(frames),
                                  "state": list(states), "limit": limit})
        with self.transport.stream("GET", f"/api/tasks/{_id(task_id)}/frames", params=params) as response:
            for line in response.iter_lines():
                if line.strip():
                    yield from_doc(FrameInfo, json.loads(line))

    def tasks(
        self, caller: Caller, *, user: str | None = None, status: Sequence[str] = (), limit: int = 200,
        before: int | None = None,
    ) -> list[TaskInfo]:
        found: list[TaskInfo] = []
        cursor = before
        while len(found) < limit:
            page = self._get("/api/tasks", caller, user=user, status=list(status),
                             limit=min(1000, limit - len(found)), cursor=cursor)
            found.extend(from_doc(TaskInfo, doc) for doc in page["tasks"])
            cursor = page.get("next_cursor")
            if cursor is None:
                break
        return found

    def _control(self, caller: Caller, task_id: int | str, verb: str, **params: Any) -> TaskChange:
        return from_doc(TaskChange, self._post(f"/api/tasks/{_id(task_id)}/{verb}", caller, **params))

    def cancel(self, caller: Caller, task_id: int | str) -> TaskChange:
        return self._control(caller, task_id, "cancel")

    def pause(self, caller: Caller, task_id: int | str) -> TaskChange:
        return self._control(caller, task_id, "pause")

    def resume(self, caller: Caller, task_id: int | str) -> TaskChange:
        return self._control(caller, task_id, "resume")

    def retry(self, caller: Caller, task_id: int | str, *, failed_only: bool = False,
              frames: Sequence[int] | None = None) -> TaskChange:
        return self._control(caller, task_id, "retry", failed_only=failed_only,
                             frames=None if frames is None else format_frames(frames))

    def cleanup(self, caller: Caller, task_id: int | str, *, force: bool = False) -> TaskChange:
        return self._control(caller, task_id, "cleanup", force=force)

    def delete(self, caller: Caller, task_id: int | str, *, force: bool = False) -> Deleted:
        from rfarm.state.removal import Deleted

        doc = self.transport.request("DELETE", f"/api/tasks/{_id(task_id)}", params=_params(caller, {"force": force}))
        return from_doc(Deleted, doc.json())

    def frame_logs(self, caller: Caller, task_id: int | str, frame: int | None = None) -> list[FrameLog]:
        docs = self._get(f"/api/tasks/{_id(task_id)}/logs", caller, frame=frame)
        return [from_doc(FrameLog, d) for d in docs]

    def read_log(self, caller: Caller, task_id: int | str, frame: int, attempt: int, offset: int = 0) -> LogChunk | None:
        doc = self._get(f"/api/tasks/{_id(task_id)}/logs/{frame}/{attempt}", caller, offset=offset)["log"]
        return None if doc is None else from_doc(LogChunk, doc)

    def wait_events(
        self, caller: Caller, *, after: int | None = None, task_id: int | str | None = None, timeout_s: float = 0,
    ) -> tuple[int, list[EventInfo]]:
        """Events from the server's live stream (one kept open per task watched), as LocalFarm's."""
        key = (caller.all_users, None if task_id is None else str(task_id))
        reader = self._readers.get(key)
        if reader is None or after is None:
            if reader is not None:
                reader.close()
            params = _params(caller, {"task": None if task_id is None else str(task_id)})
            reader = self._readers[key] = EventReader(self.transport, params)
        return reader.wait(after, timeout_s)

    # -- files ------------------------------------------------------------------

    def results(self, caller: Caller, task_id: int | str) -> list[ResultFile]:
        return [from_doc(ResultFile, d) for d in self._get(f"/api/tasks/{_id(task_id)}/results", caller)]

    def fetch_result(self, caller: Caller, task_id: int | str, result: ResultFile, dest: Path) -> bool:
        """Stream one result to ``dest`` and check both hashes; a bad copy is fetched once more."""
        dest.parent.mkdir(parents=True, exist_ok=True)
        for attempt in (1, 2):
            tmp = dest.with_name(f".{dest.name}.{uuid.uuid4().hex[:12]}.part")
            try:
                with self.transport.stream("GET", f"/api/tasks/{_id(task_id)}/results/file",
                                           params=_params(caller, {"key": result.key})) as response:
                    with open(tmp, "wb") as out:
                        for piece in response.iter_bytes(CHUNK):
                            out.write(piece)
                if hash_file(tmp).matches(result.file_hash):
                    os.replace(tmp, dest)
                    return attempt == 2
            finally:
                tmp.unlink(missing_ok=True)
        raise IntegrityError(f"result {result.path} arrived damaged twice (its hashes differ); try again later")

    def thumbnail(self, caller: Caller, task_id: int | str, frame: int, *, attempt: int | None = None) -> tuple[bytes, str]:
        response = self.transport.request("GET", f"/api/tasks/{_id(task_id)}/frames/{int(frame)}/thumbnail",
                                          params=_params(caller, {"attempt": attempt}))
        return response.content, response.headers.get("ETag", "").removeprefix("W/").strip('"')

    def check_hashes(self, caller: Caller, hashes: Sequence[FileHash]) -> dict[str, list[FileHash]]:
        body = {"hashes": [_hash_doc(h) for h in hashes]}
        doc = self._post("/api/files/check_hashes", caller, body)
        return {k: [FileHash(str(h["md5"]), str(h["xxh64"]), int(h["size"])) for h in doc[k]]
                for k in ("to_upload", "exists")}

    def upload_file(self, caller: Caller, path: Path, file_hash: FileHash) -> None:
        """Stream one file as the request body; the server checks both hashes before it keeps it."""
        params = {"md5": file_hash.md5, "xxh64": file_hash.xxh64, "size": file_hash.size}
        if not Path(path).is_file():
            raise NotFoundError(f"{path} is gone; nothing was uploaded for it")
        self.transport.request("POST", "/api/files/upload", params=params, body=lambda: _pieces(path),
                               headers={"Content-Type": "application/octet-stream",
                                        "Content-Length": str(file_hash.size)})

    def held_md5s(self, caller: Caller, md5s: Sequence[str]) -> list[str]:
        return list(self._post("/api/files/check_hashes", caller, {"hashes": list(md5s)})["exists"])

    # -- the farm ---------------------------------------------------------------

    def nodes(self, caller: Caller) -> list[NodeInfo]:
        return [from_doc(NodeInfo, d) for d in self._get("/api/nodes", caller)]

    def set_node_enabled(self, caller: Caller, name: str, enabled: bool) -> None:
        self._post(f"/api/nodes/{_name(name)}/{'enable' if enabled else 'disable'}", caller)

    def hardware_configs(self, caller: Caller) -> list[HardwareConfigInfo]:
        return [from_doc(HardwareConfigInfo, d) for d in self._get("/api/hwconfigs", caller)]

    def add_hardware_config(
        self, caller: Caller, name: str, *, ram_gb: float = 0, gpus: int = 0, gpu_memory_gb: float = 0,
        tags: tuple[str, ...] = (),
    ) -> HardwareConfigInfo:
        body = {"ram_gb": ram_gb, "gpus": gpus, "gpu_memory_gb": gpu_memory_gb, "tags": list(tags)}
        doc = self.transport.request("PUT", f"/api/hwconfigs/{_name(name)}", json=body).json()
        return from_doc(HardwareConfigInfo, doc)

    def remove_hardware_config(self, caller: Caller, name: str) -> None:
        self.transport.request("DELETE", f"/api/hwconfigs/{_name(name)}")

    def stats(self, caller: Caller, *, window: timedelta = timedelta(hours=24)) -> FarmStats:
        return from_doc(FarmStats, self._get("/api/stats", caller, hours=window.total_seconds() / 3600))

    # -- users and tokens ---------------------------------------------------------

    def users(self, caller: Caller) -> list[UserInfo]:
        return [from_doc(UserInfo, d) for d in self._get("/api/users", caller)]

    def add_user(self, caller: Caller, name: str, role: Role | str, password: str | None = None) -> NewUser:
        body = {"name": name, "role": str(role), "password": password}
        return from_doc(NewUser, self._post("/api/users", caller, body))

    def set_role(self, caller: Caller, name: str, role: Role | str) -> UserInfo:
        return from_doc(UserInfo, self._post(f"/api/users/{_name(name)}/role", caller, {"role": str(role)}))

    def new_token(self, caller: Caller, name: str) -> IssuedToken:
        return from_doc(IssuedToken, self._post(f"/api/users/{_name(name)}/tokens", caller))

    def tokens(self, caller: Caller, name: str | None = None) -> list[TokenInfo]:
        return [from_doc(TokenInfo, d) for d in self._get("/api/tokens", caller, user=name)]

    def revoke_token(self, caller: Caller, token_id: str) -> None:
        self.transport.request("DELETE", f"/api/tokens/{_name(token_id)}")

    def set_password(self, caller: Caller, name: str, password: str) -> None:
        self.transport.request("PUT", f"/api/users/{_name(name)}/password", json={"password": password})

    def remove_user(self, caller: Caller, name: str) -> None:
        self.transport.request("DELETE", f"/api/users/{_name(name)}")

    def login(self, name: str, password: str) -> IssuedToken:
        return from_doc(IssuedToken, self._post("/api/login", None, {"name": name, "password": password}))

    # -- notifications and the audit trail ----------------------------------------

    def add_webhook(self, caller: Caller, url: str, events: Sequence[str], *, farm_wide: bool = False) -> WebhookInfo:
        from rfarm.state.webhooks import WebhookInfo

        doc = self._post("/api/webhooks", caller, {"url": url, "events": list(events), "farm_wide": farm_wide})
        return from_doc(WebhookInfo, doc)

    def webhooks(self, caller: Caller) -> list[WebhookInfo]:
        from rfarm.state.webhooks import WebhookInfo

        return [from_doc(WebhookInfo, d) for d in self._get("/api/webhooks", caller)]

    def remove_webhook(self, caller: Caller, webhook_id: int) -> None:
        self.transport.request("DELETE", f"/api/webhooks/{int(webhook_id)}")

    def deliveries(self, caller: Caller, webhook_id: int, *, limit: int = 50) -> list[DeliveryInfo]:
        from rfarm.state.webhooks import DeliveryInfo

        docs = self._get(f"/api/webhooks/{int(webhook_id)}/deliveries", caller, limit=limit)
        return [from_doc(DeliveryInfo, d) for d in docs]

    def audit(self, caller: Caller, *, since: datetime | None = None, limit: int = 200) -> list[AuditEntry]:
        from rfarm.state.audit import AuditEntry

        docs = self._get("/api/audit", caller, since=None if since is None else since.isoformat(), limit=limit)
        return [from_doc(AuditEntry, d) for d in docs]


def _params(caller: Caller | None, params: dict[str, Any]) -> dict[str, Any]:
    out = {k: v for k, v in params.items() if v is not None and v != []}
    if caller is not None and caller.all_users:
        out["all"] = True
    return {k: (str(v).lower() if isinstance(v, bool) else v) for k, v in out.items()}


def _id(task_id: int | str) -> str:
    """A task id as one path segment (anything else is the server's "unknown task")."""
    from urllib.parse import quote

    return quote(str(task_id).strip(), safe="") or "-"


def _name(name: str) -> str:
    from urllib.parse import quote

    return quote(name, safe="") or "-"


def _hash_doc(h: FileHash) -> dict[str, Any]:
    return {"md5": h.md5, "xxh64": h.xxh64, "size": h.size}


def _request_doc(request: SubmitRequest) -> dict[str, Any]:
    """The request's fields; any sequence (``frames=range(1, 101)`` too) as a JSON list."""
    import dataclasses

    def plain(value: Any) -> Any:
        return list(value) if isinstance(value, Sequence) and not isinstance(value, str) else value

    return {f.name: plain(getattr(request, f.name)) for f in dataclasses.fields(request)}


def _pieces(path: Path) -> Iterator[bytes]:
    """The file's bytes, a piece at a time (never the whole file in memory)."""
    with open(path, "rb") as fh:
        while piece := fh.read(CHUNK):
            yield piece
