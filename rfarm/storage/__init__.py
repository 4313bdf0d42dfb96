"""Where files are kept: a folder (local disk, NAS or UNC share) or an OSS bucket.

:func:`open_storage` turns a storage URL into a :class:`Storage`::

    file:///srv/farm            a local folder (also a bare path: /srv/farm, C:\\farm)
    file:///C:/farm             a Windows drive
    file://nas/share/farm       a UNC share, \\\\nas\\share\\farm
    oss://bucket/prefix?endpoint=oss-cn-hangzhou.aliyuncs.com&region=cn-hangzhou

``oss2`` is imported only for ``oss://`` URLs.
"""
from __future__ import annotations

import re
from pathlib import Path
from urllib.parse import parse_qsl, unquote, urlsplit

from rfarm.errors import ConfigError
from rfarm.storage.base import Storage, check_key
from rfarm.storage.folder import FolderStorage

__all__ = ["FolderStorage", "Storage", "check_key", "open_storage"]

_DRIVE_PATH = re.compile(r"/[A-Za-z]:(/|$)")
_ALIYUN_ENDPOINT = re.compile(r"(?:https?://)?oss-([a-z0-9-]+?)(?:-internal)?\.aliyuncs\.com/?")


def _folder_path(url: str) -> str:
    parts = urlsplit(url)
    if parts.query or parts.fragment:
        raise ConfigError("A file:// storage URL takes no query or fragment.")
    path = unquote(parts.path)
    if parts.netloc and parts.netloc.lower() != "localhost":
        return f"//{parts.netloc}{path}"
    return path[1:] if _DRIVE_PATH.match(path) else path


def _open_oss(
    url: str,
    *,
    access_key_id: str | None,
    access_key_secret: str | None,
    session_token: str | None,
    checkpoint_dir: Path | None,
) -> Storage:
    parts = urlsplit(url)
    if "@" in parts.netloc:
        raise ConfigError(
            "Credentials do not belong in the storage URL; set OSS_ACCESS_KEY_ID and OSS_ACCESS_KEY_SECRET instead."
        )
    options = dict(parse_qsl(parts.query))
    unknown = sorted(set(options) - {"endpoint", "region"})
    if unknown:
        raise ConfigError(f"Unknown option {unknown[0]!r} in the OSS storage URL; expected endpoint and region.")
    endpoint, region = options.get("endpoint"), options.get("region")
    if region is None and endpoint is not None and (match := _ALIYUN_ENDPOINT.fullmatch(endpoint)):
        region = match.group(1)
    if endpoint is None and region is not None:
        endpoint = f"https://oss-{region}.aliyuncs.com"
    if endpoint is None or region is None:
        raise ConfigError("An oss:// storage URL needs ?endpoint=...&region=... (one may be implied by the other).")

    from rfarm.storage.oss import OssStorage

    return OssStorage(
        parts.netloc,
        unquote(parts.path),
        endpoint=endpoint,
        region=region,
        access_key_id=access_key_id or "",
        access_key_secret=access_key_secret or "",
        session_token=session_token or None,
        checkpoint_dir=checkpoint_dir,
    )


def open_storage(
    url: str,
    *,
    access_key_id: str | None = None,
    access_key_secret: str | None = None,
    session_token: str | None = None,
    checkpoint_dir: Path | None = None,
) -> Storage:
    """Open the storage a URL names.

    Args:
        url: A ``file://`` or ``oss://`` URL (see the module docstring), or a plain folder path.
        access_key_id, access_key_secret, session_token: OSS credentials (the
            configuration takes them from ``OSS_ACCESS_KEY_ID``,
            ``OSS_ACCESS_KEY_SECRET`` and ``OSS_SESSION_TOKEN`` when not set).
        checkpoint_dir: Where OSS resumable uploads keep their records.

    Raises:
        ConfigError: an unknown scheme, a malformed URL or missing OSS credentials.
    """
    scheme = url.split("://", 1)[0].lower() if "://" in url else ""
    if scheme == "":
        return FolderStorage(url)
    if scheme == "file":
        return FolderStorage(_folder_path(url))
    if scheme == "oss":
        return _open_oss(
            url,
            access_key_id=access_key_id,
            access_key_secret=access_key_secret,
            session_token=session_token,
            checkpoint_dir=checkpoint_dir,
        )
    raise ConfigError(f"Unknown storage scheme {scheme!r}: use file:// or oss://.")
