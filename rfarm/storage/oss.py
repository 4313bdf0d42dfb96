"""Storage in an Aliyun OSS bucket, through ``oss2`` with signature V4.

Every upload is checked end to end: a simple put sends ``Content-MD5`` (OSS
refuses bytes that do not match) and compares the CRC64 OSS returns; a large
file goes up as a resumable multipart upload, and the CRC64 of the whole
object OSS returns is compared with one computed locally before the upload
(alongside the MD5, when the caller gives one). Downloads compare the CRC64 as
well. Connection errors, truncated bodies, CRC mismatches and 5xx answers are
retried with exponential backoff.
"""
from __future__ import annotations

import base64
import hashlib
import logging
import os
import random
import re
import secrets
import time
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import ThreadPoolExecutor
from functools import partial
from pathlib import Path
from typing import TypeVar

import oss2
import platformdirs
import requests

from rfarm.errors import (
    ConfigError,
    IntegrityError,
    NotFoundError,
    StorageError,
    UsageError,
)
from rfarm.files.hashing import hash_file
from rfarm.storage.base import Storage, check_key

T = TypeVar("T")

_BLOCK_SIZE = 1 << 20
_MIN_PART_SIZE = 100 * 1024
_EXISTS_THREADS = 8
_CREDENTIAL_ERRORS = {"SignatureDoesNotMatch", "InvalidAccessKeyId", "SecurityTokenExpired", "InvalidSecurityToken"}
_SECRETS = re.compile(
    r"(x-oss-security-token['\"]?\s*[:=]\s*['\"]?)[^'\"\s,}]+|(Signature=)[0-9a-f]+|(Credential=)[^/\s,'\"]+", re.I
)


class _RedactCredentials(logging.Filter):
    """Masks security tokens, access key ids and signatures in ``oss2``'s debug logs."""

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        redacted = _SECRETS.sub(lambda m: f"{m.group(1) or m.group(2) or m.group(3)}***", message)
        if redacted != message:
            record.msg, record.args = redacted, None
        return True


def _redact_oss2_logs() -> None:
    for name in ("oss2.api", "oss2.auth", "oss2.http", "oss2.resumable", "oss2.iterators"):
        logger = logging.getLogger(name)
        if not any(isinstance(f, _RedactCredentials) for f in logger.filters):
            logger.addFilter(_RedactCredentials())


def _crc64_and_md5(path: Path) -> tuple[int, str]:
    crc = oss2.utils.Crc64()
    md5 = hashlib.md5(usedforsecurity=False)
    buf = bytearray(_BLOCK_SIZE)
    view = memoryview(buf)
    with open(path, "rb", buffering=0) as f:
        while n := f.readinto(buf):
            crc.update(view[:n])
            md5.update(view[:n])
    return int(crc.crc), md5.hexdigest()


def _content_md5(md5_hex: str) -> str:
    return base64.b64encode(bytes.fromhex(md5_hex)).decode("ascii")


def _reason(exc: BaseException) -> str:
    text = str(exc)
    if isinstance(exc, requests.Timeout) or "timed out" in text:
        return "timed out"
    if "refused" in text:
        return "connection refused"
    if any(word in text for word in ("RemoteDisconnected", "aborted", "reset", "Broken", "IncompleteRead")):
        return "connection closed by the server"
    return type(exc).__name__


class OssStorage(Storage):
    """Objects in the OSS bucket ``bucket``, under ``prefix``.

    Args:
        bucket: Bucket name.
        prefix: Folder inside the bucket that every key is relative to ("" for the root).
        endpoint: Such as ``https://oss-cn-hangzhou.aliyuncs.com`` (``https://`` is added if missing).
        region: The bucket's region for signature V4, such as ``cn-hangzhou``.
        access_key_id, access_key_secret, session_token: Credentials; never
            shown in messages, ``repr`` or logs.
        checkpoint_dir: Where resumable uploads record their finished parts.
        multipart_threshold_bytes: Files at least this large go up in parts.
        part_size_bytes: Size of each part (at least 100 KiB).
        upload_threads: Parts uploaded at once.
        retries: Attempts after the first on a transient failure.
        retry_backoff_s: First wait between attempts; doubled each time.
        timeout_s: Connect and read timeout of each request.
    """

    def __init__(
        self,
        bucket: str,
        prefix: str = "",
        *,
        endpoint: str,
        region: str,
        access_key_id: str,
        access_key_secret: str,
        session_token: str | None = None,
        checkpoint_dir: Path | None = None,
        multipart_threshold_bytes: int = 64 << 20,
        part_size_bytes: int = 16 << 20,
        upload_threads: int = 4,
        retries: int = 3,
        retry_backoff_s: float = 0.5,
        timeout_s: float = 60.0,
    ) -> None:
        if not access_key_id or not access_key_secret:
            raise ConfigError("OSS credentials are missing: set OSS_ACCESS_KEY_ID and OSS_ACCESS_KEY_SECRET.")
        if not oss2.is_valid_bucket_name(bucket):
            raise ConfigError(f"Invalid OSS bucket name {bucket!r}.")
        if part_size_bytes < _MIN_PART_SIZE or multipart_threshold_bytes < part_size_bytes:
            raise ConfigError("OSS part size must be at least 100 KiB and no larger than the multipart threshold.")
        if upload_threads < 1 or retries < 0:
            raise ConfigError("OSS upload_threads must be at least 1 and retries at least 0.")
        prefix = prefix.strip("/")
        if prefix:
            check_key(prefix)
        self.bucket = bucket
        self.prefix = f"{prefix}/" if prefix else ""
        self.endpoint = endpoint if "://" in endpoint else f"https://{endpoint}"
        self.region = region
        self.checkpoint_dir = checkpoint_dir or platformdirs.user_cache_path("rfarm") / "oss-upload"
        self._threshold = multipart_threshold_bytes
        self._part_size = part_size_bytes
        self._threads = upload_threads
        self._retries = retries
        self._backoff_s = retry_backoff_s
        _redact_oss2_logs()
        credentials = oss2.StaticCredentialsProvider(access_key_id, access_key_secret, session_token or "")
        self._bucket = oss2.Bucket(
            oss2.ProviderAuthV4(credentials),
            self.endpoint,
            bucket,
            region=region,
            enable_crc=True,
            connect_timeout=timeout_s,
        )

    def __repr__(self) -> str:
        return (
            f"OssStorage(bucket={self.bucket!r}, prefix={self.prefix!r}, "
            f"endpoint={self.endpoint!r}, region={self.region!r})"
        )

    @property
    def url(self) -> str:
        """Where this storage is, as an ``oss://`` URL without credentials."""
        return f"oss://{self.bucket}/{self.prefix}"

    def _full(self, key: str) -> str:
        return self.prefix + check_key(key)

    def _error(self, action: str, key: str, exc: Exception, attempts: int) -> Exception:
        if isinstance(exc, requests.RequestException) or getattr(exc, "status", None) == -2:
            cause = getattr(exc, "exception", exc)
            return StorageError(
                f"Cannot reach OSS at {self.endpoint} to {action} {key!r}: {_reason(cause)} "
                f"(after {attempts} attempt{'s' if attempts > 1 else ''})."
            )
        assert isinstance(exc, oss2.exceptions.OssError)
        request = f" (request {exc.request_id})" if exc.request_id else ""
        if isinstance(exc, oss2.exceptions.NoSuchBucket):
            return ConfigError(f"OSS bucket {self.bucket!r} does not exist at {self.endpoint}.")
        if isinstance(exc, oss2.exceptions.NotFound):
            return NotFoundError(f"No object {key!r} in {self.url}.")
        if exc.code in _CREDENTIAL_ERRORS:
            return ConfigError(
                f"OSS refused the credentials for bucket {self.bucket!r} ({exc.code}){request}; "
                "check OSS_ACCESS_KEY_ID, OSS_ACCESS_KEY_SECRET and OSS_SESSION_TOKEN."
            )
        if isinstance(exc, oss2.exceptions.InvalidDigest):
            return IntegrityError(f"OSS refused {key!r}: its bytes do not match the MD5 sent{request}.")
        if isinstance(exc, oss2.exceptions.InconsistentError):
            return IntegrityError(f"CRC64 mismatch while trying to {action} {key!r}{request}: data damaged in transit.")
        if exc.status > 0:
            return StorageError(f"OSS could not {action} {key!r}: HTTP {exc.status} {exc.code}{request}.")
        return StorageError(f"OSS could not {action} {key!r}: {type(exc).__name__}.")

    def _call(self, action: str, key: str, fn: Callable[[], T]) -> T:
        """Run ``fn``, retrying transient failures, and turn ``oss2`` errors into rfarm's."""
        attempt = 0
        while True:
            try:
                return fn()
            except (oss2.exceptions.OssError, requests.RequestException) as exc:
                status = getattr(exc, "status", -2)
                is_transient = status in (-2, -3) or status >= 500
                if not is_transient or attempt >= self._retries:
                    raise self._error(action, key, exc, attempt + 1) from exc
                delay = self._backoff_s * 2**attempt
                time.sleep(delay + random.uniform(0, delay))
                attempt += 1

    def exists(self, key: str) -> bool:
        full = self._full(key)
        return self._call("check", key, lambda: bool(self._bucket.object_exists(full)))

    def exists_many(self, keys: Iterable[str]) -> dict[str, bool]:
        keys = [*keys]
        with ThreadPoolExecutor(max_workers=_EXISTS_THREADS, thread_name_prefix="rfarm-oss-head") as pool:
            return dict(zip(keys, pool.map(self.exists, keys), strict=True))

    def put_file(self, key: str, path: Path, *, md5: str | None = None) -> None:
        full = self._full(key)
        path = Path(path)
        if md5 is not None and not re.fullmatch(r"[0-9a-f]{32}", md5):
            raise UsageError(f"Invalid MD5 {md5!r}: expected 32 lowercase hex digits.")
        try:
            size = path.stat().st_size
            if size >= self._threshold:
                self._put_multipart(key, full, path, md5)
                return
            content_md5 = _content_md5(md5 or hash_file(path).md5)
        except FileNotFoundError as exc:
            raise NotFoundError(f"File not found: {path}") from exc
        except OSError as exc:
            raise UsageError(f"Cannot read {path}: {exc.strerror or exc}") from exc

        def put() -> object:
            with open(path, "rb") as f:
                return self._bucket.put_object(full, f, headers={"Content-MD5": content_md5})

        self._put_checked(key, full, put)

    def _put_checked(self, key: str, full: str, put: Callable[[], T]) -> T:
        """Run ``put``; if OSS stored bytes whose CRC64 differs from those sent, remove them."""
        try:
            return self._call("upload", key, put)
        except IntegrityError as exc:
            if isinstance(exc.__cause__, oss2.exceptions.InconsistentError):
                self._call("delete", key, lambda: self._bucket.delete_object(full))
            raise

    def _put_multipart(self, key: str, full: str, path: Path, md5: str | None) -> None:
        local_crc, local_md5 = _crc64_and_md5(path)
        if md5 is not None and local_md5 != md5:
            raise IntegrityError(f"{path} has MD5 {local_md5}, expected {md5}; it changed since it was hashed.")
        store = oss2.ResumableStore(root=str(self.checkpoint_dir))

        def upload() -> int | None:
            result = oss2.resumable_upload(
                self._bucket,
                full,
                str(path),
                store=store,
                multipart_threshold=self._threshold,
                part_size=self._part_size,
                num_threads=self._threads,
            )
            return result.crc  # type: ignore[no-any-return]

        crc = self._put_checked(key, full, upload)
        if crc != local_crc:
            self._call("delete", key, lambda: self._bucket.delete_object(full))
            raise IntegrityError(
                f"OSS stored {key!r} with CRC64 {crc}, but {path} has {local_crc}; the object was removed."
            )

    def _download(self, key: str, write: Callable[[bytes], object]) -> None:
        """Stream the object to ``write``, then check its length and CRC64."""
        result = self._bucket.get_object(self._full(key))
        received = 0
        while chunk := result.read(_BLOCK_SIZE):
            write(chunk)
            received += len(chunk)
        if result.content_length is not None and received != result.content_length:
            raise oss2.exceptions.InconsistentError("IncompleteRead from source", result.request_id)
        oss2.utils.check_crc("get", result.client_crc, result.server_crc, result.request_id)

    def get_file(self, key: str, dest: Path) -> None:
        dest = Path(dest)
        temp = dest.with_name(f"{dest.name}.tmp-{secrets.token_hex(8)}")

        def fetch() -> None:
            with open(temp, "wb") as f:
                self._download(key, f.write)
                f.flush()
                os.fsync(f.fileno())

        try:
            dest.parent.mkdir(parents=True, exist_ok=True)
            self._call("download", key, fetch)
            os.replace(temp, dest)
        except OSError as exc:
            raise StorageError(f"Cannot write {dest} while downloading {key!r}: {exc.strerror or exc}") from exc
        finally:
            temp.unlink(missing_ok=True)

    def put_bytes(self, key: str, data: bytes) -> None:
        full = self._full(key)
        content_md5 = base64.b64encode(hashlib.md5(data, usedforsecurity=False).digest()).decode("ascii")
        self._put_checked(key, full, lambda: self._bucket.put_object(full, data, headers={"Content-MD5": content_md5}))

    def get_bytes(self, key: str) -> bytes:
        def fetch() -> bytes:
            chunks: list[bytes] = []
            self._download(key, chunks.append)
            return b"".join(chunks)

        return self._call("download", key, fetch)

    def list(self, prefix: str = "") -> Iterator[str]:
        token = ""
        while True:
            list_page = partial(
                self._bucket.list_objects_v2, self.prefix + prefix, continuation_token=token, max_keys=1000
            )
            page = self._call("list", prefix, list_page)
            for info in page.object_list:
                yield info.key[len(self.prefix) :]
            if not page.is_truncated:
                return
            token = page.next_continuation_token

    def delete(self, key: str) -> None:
        full = self._full(key)
        self._call("delete", key, lambda: self._bucket.delete_object(full))

    def size(self, key: str) -> int:
        full = self._full(key)
        return int(self._call("stat", key, lambda: self._bucket.get_object_meta(full)).content_length)
