"""``rfarm serve`` on the farm's side, and ``rfarm login`` on an artist's machine."""
from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated, Optional

import typer

from rfarm.cli.options import JsonOption
from rfarm.cli.output import info, print_json
from rfarm.errors import UsageError


def register(app: typer.Typer) -> None:
    app.command("serve")(serve)
    app.command("login")(login)


def serve(
    host: Annotated[str, typer.Option(help="Address to listen on (0.0.0.0: every interface).")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="TCP port.")] = 8765,
    cert: Annotated[Optional[Path], typer.Option(help="TLS certificate (PEM) for HTTPS.")] = None,
    key: Annotated[Optional[Path], typer.Option(help="TLS private key (PEM) for HTTPS.")] = None,
) -> int:
    """Serve the REST API (docs at /api/docs) over this farm until Ctrl+C or SIGTERM.

    Example: rfarm serve --host 0.0.0.0 --port 8765 --cert farm.pem --key farm.key
    """
    import logging

    from rfarm.config import load_config
    from rfarm.service.serve import serve as run

    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(logging.Formatter("%(asctime)s %(message)s"))
    for name in ("rfarm.service", "uvicorn.error"):
        logger = logging.getLogger(name)
        logger.setLevel(logging.INFO)
        logger.addHandler(handler)
        logger.propagate = False
    run(load_config(), host=host, port=port, cert=cert, key=key)
    return 0


def login(
    url: Annotated[str, typer.Argument(help="The server, e.g. https://farm.studio.lan:8765.")],
    token_stdin: Annotated[bool, typer.Option("--token-stdin", help="Read the token from stdin.")] = False,
    json: JsonOption = False,
) -> int:
    """Check a token against a server and keep both in the config file (readable by you alone).

    Example: rfarm users token alice | rfarm login https://farm:8765 --token-stdin
    """
    import getpass
    import os

    from rfarm.client.http import HttpFarm
    from rfarm.config import load_config, set_key

    from urllib.parse import urlsplit

    if urlsplit(url).scheme not in ("http", "https") or not urlsplit(url).netloc:
        raise UsageError(f"the server must be http://HOST:PORT or https://HOST:PORT, got {url!r}")
    if token_stdin or not sys.stdin.isatty():
        token = sys.stdin.readline().strip()
    else:
        token = getpass.getpass("token: ").strip()
    if not token:
        raise UsageError("no token given: paste the one `rfarm users token NAME` printed")
    config = load_config()
    remote = HttpFarm(url, token, ca=config.server_ca)
    try:
        me = remote.whoami()
    finally:
        remote.close()
    config.path.parent.mkdir(parents=True, exist_ok=True)
    config.path.touch(mode=0o600, exist_ok=True)
    if os.name != "nt":  # on Windows the user's profile folder is the owner's already
        os.chmod(config.path, 0o600)
    set_key(config.path, "server_url", url)
    set_key(config.path, "token", token)
    if json:
        print_json({"server_url": url, "user": me["user"], "role": me["role"], "config": str(config.path)})
    else:
        info(f"logged in to {url} as {me['user']} ({me['role']}); the token is kept in {config.path}")
    return 0
