"""Run the service on Uvicorn until Ctrl+C or SIGTERM, which finish the requests in flight first."""
from __future__ import annotations

import logging
import signal
from pathlib import Path
from types import FrameType

import uvicorn

from rfarm.config import Config
from rfarm.errors import UsageError

log = logging.getLogger(__name__)

#: seconds requests in flight get to finish after Ctrl+C or SIGTERM
GRACE_S = 10


class _Server(uvicorn.Server):
    """Uvicorn's server, ending with exit 0 after a graceful stop.

    Uvicorn raises the caught signal again once it has shut down, so that SIGTERM
    would still kill the process; the requests in flight have finished by then,
    so rfarm ends normally instead (and Ctrl+C is the CLI's usual "interrupted").
    """

    def handle_exit(self, sig: int, frame: FrameType | None) -> None:
        super().handle_exit(sig, frame)
        if sig == signal.SIGTERM:
            self._captured_signals.remove(sig)


def serve(config: Config, *, host: str, port: int, cert: Path | None = None, key: Path | None = None) -> None:
    """Serve the API at ``host:port`` (HTTPS with ``cert`` and ``key``) until interrupted."""
    from rfarm.service.app import create_app

    if (cert is None) != (key is None):
        raise UsageError("--cert and --key go together: give both for HTTPS, or neither")
    for path in (cert, key):
        if path is not None and not path.is_file():
            raise UsageError(f"{path} is not a file")
    if not 0 < port < 65536:
        raise UsageError(f"--port must be 1..65535, got {port}")
    app = create_app(config)
    server = _Server(uvicorn.Config(
        app, host=host, port=port, access_log=False, log_config=None, timeout_graceful_shutdown=GRACE_S,
        ssl_certfile=str(cert) if cert else None, ssl_keyfile=str(key) if key else None,
    ))
    scheme = "https" if cert else "http"
    log.info("rfarm serving %s://%s:%s (API docs at /api/docs)", scheme, host, port)
    server.run()
    if not server.started:
        raise UsageError(f"cannot serve on {host}:{port} (is the port taken?)")
