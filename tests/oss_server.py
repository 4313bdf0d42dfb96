"""A small server speaking the OSS REST protocol, for running the real ``oss2`` client in tests.

It implements the calls rfarm makes, path-style (``/<bucket>/<key>``, which is
what ``oss2`` uses for an IP endpoint): PutObject, GetObject (with Range),
HeadObject, DeleteObject, ListObjects (v1 and v2, without delimiter),
InitiateMultipartUpload, UploadPart, ListParts, CompleteMultipartUpload and
AbortMultipartUpload. Like OSS it checks every request's OSS4-HMAC-SHA256
signature and any ``Content-MD5``, and answers with real ETags (quoted
uppercase MD5, or for multipart the MD5 of the parts' binary MD5s plus
``-<parts>``), ``x-oss-hash-crc64ecma`` and ``x-oss-request-id``, and with
OSS's XML errors (in ``x-oss-err`` for HEAD).

Faults can be injected per operation: ``drop`` (close the connection without
answering), ``hang`` (answer nothing until the server stops), ``500``/``503``,
and ``bad-crc`` (answer with a wrong CRC64).
"""
from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import re
import sys
import threading
import time
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime
from email.message import Message
from email.utils import formatdate
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import TracebackType
from urllib.parse import parse_qsl, quote, unquote, urlsplit
from xml.etree import ElementTree
from xml.sax.saxutils import escape

import crcmod

crc64 = crcmod.mkCrcFun(0x142F0E1EBA9EA3693, initCrc=0, rev=True, xorOut=0xFFFFFFFFFFFFFFFF)
"""CRC-64/XZ (ECMA-182 polynomial, reflected), which OSS returns as ``x-oss-hash-crc64ecma``."""

MIN_PART_SIZE = 100 * 1024
MAX_SKEW_S = 15 * 60
_AUTHORIZATION = re.compile(
    r"OSS4-HMAC-SHA256 Credential=([^/,\s]+)/(\d{8})/([^/,\s]+)/([^/,\s]+)/aliyun_v4_request,\s*"
    r"Signature=([0-9a-f]{64})(?:,\s*AdditionalHeaders=([a-z0-9;-]+))?"
)
_UNRESERVED = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_-~."


Query = dict[str, str]
Answer = tuple[int, dict[str, str], bytes]
"""An operation's (status, headers, body)."""


@dataclass
class Blob:
    """A stored object or an uploaded part."""

    data: bytes
    etag: str
    crc: int
    mtime: float = field(default_factory=time.time)
    kind: str = "Normal"


@dataclass(frozen=True)
class Logged:
    """One request as the server saw it; ``status`` 0 means no answer was sent."""

    op: str
    key: str
    query: dict[str, str]
    status: int


@dataclass
class _Fault:
    kind: str
    op: str | None
    skip: int
    times: int


class OssError(Exception):
    def __init__(self, status: int, code: str, message: str, **extra: str) -> None:
        super().__init__(message)
        self.status, self.code, self.message, self.extra = status, code, message, extra


def _v4_quote(text: str, *, keep_slash: bool) -> str:
    return quote(text, safe=_UNRESERVED + ("/" if keep_slash else ""))


def _tags(*children: tuple[str, object]) -> str:
    return "".join(f"<{tag}>{escape(str(value))}</{tag}>" for tag, value in children)


def _element(tag: str, *children: tuple[str, object]) -> str:
    return f"<{tag}>{_tags(*children)}</{tag}>"


def _quoted(etag: str) -> str:
    return f'"{etag}"'


def _xml(root: str, inner: str) -> bytes:
    return f'<?xml version="1.0" encoding="UTF-8"?>\n<{root}>{inner}</{root}>'.encode()


def _xml_answer(root: str, inner: str, headers: dict[str, str] | None = None) -> Answer:
    return 200, {"Content-Type": "application/xml", **(headers or {})}, _xml(root, inner)


def _listed(blob: Blob) -> tuple[tuple[str, object], ...]:
    """The fields a listing shows for an object or a part."""
    return ("LastModified", _iso(blob.mtime)), ("ETag", _quoted(blob.etag)), ("Size", len(blob.data))


def _iso(ts: float) -> str:
    return datetime.fromtimestamp(ts, UTC).strftime("%Y-%m-%dT%H:%M:%S.000Z")


def _blob(data: bytes) -> Blob:
    return Blob(data, hashlib.md5(data).hexdigest().upper(), crc64(data))


class OssServer:
    """One bucket on ``127.0.0.1`` at a free port; a context manager that starts and stops it."""

    def __init__(
        self,
        *,
        bucket: str = "rfarm-test",
        region: str = "cn-test",
        access_key_id: str = "test-key-id",
        access_key_secret: str = "test-key-secret",
        session_token: str | None = None,
    ) -> None:
        self.bucket, self.region = bucket, region
        self.access_key_id, self.access_key_secret, self.session_token = access_key_id, access_key_secret, session_token
        self.objects: dict[str, Blob] = {}
        self.uploads: dict[str, tuple[str, dict[int, Blob]]] = {}
        self.log: list[Logged] = []
        self._faults: list[_Fault] = []
        self._lock = threading.Lock()
        self._stopping = threading.Event()
        self._httpd = _HTTPServer(self)
        self._thread = threading.Thread(target=self._httpd.serve_forever, args=(0.05,), daemon=True)

    @property
    def endpoint(self) -> str:
        host, port = self._httpd.server_address[:2]
        return f"http://{host!s}:{port}"

    def __enter__(self) -> OssServer:
        self._thread.start()
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self._stopping.set()
        self._httpd.shutdown()
        self._httpd.server_close()

    def add_fault(self, kind: str, *, op: str | None = None, skip: int = 0, times: int = 1) -> None:
        """Misbehave on ``times`` requests of operation ``op`` (any if None), after letting ``skip`` through."""
        with self._lock:
            self._faults.append(_Fault(kind, op, skip, times))

    def clear_faults(self) -> None:
        with self._lock:
            self._faults.clear()

    def corrupt(self, key: str) -> None:
        """Flip the first byte of a stored object, keeping its ETag and CRC64, as bit rot would."""
        with self._lock:
            blob = self.objects[key]
            blob.data = bytes([blob.data[0] ^ 0xFF]) + blob.data[1:]

    def _take_fault(self, op: str) -> str | None:
        with self._lock:
            for fault in self._faults:
                if fault.times == 0 or fault.op not in (None, op):
                    continue
                if fault.skip:
                    fault.skip -= 1
                    continue
                fault.times -= 1
                return fault.kind
        return None

    def check_signature(self, method: str, bucket: str, key: str, raw_query: str, headers: Message) -> None:
        """Recompute the OSS4-HMAC-SHA256 signature from the request and compare."""
        match = _AUTHORIZATION.fullmatch(headers.get("Authorization", "").strip())
        if not match:
            raise OssError(403, "AccessDenied", "Authorization is missing or is not OSS4-HMAC-SHA256.")
        key_id, date, region, product, signature, additional = match.groups()
        if key_id != self.access_key_id:
            raise OssError(
                403, "InvalidAccessKeyId", "The OSS Access Key Id you provided does not exist in our records."
            )
        stamp = headers.get("x-oss-date", "")
        try:
            skew = abs(time.time() - datetime.strptime(stamp, "%Y%m%dT%H%M%SZ").replace(tzinfo=UTC).timestamp())
        except ValueError:
            raise OssError(403, "AccessDenied", "x-oss-date is missing or malformed.") from None
        if skew > MAX_SKEW_S:
            raise OssError(403, "RequestTimeTooSkewed", "The request time is too far from the server's time.")
        if self.session_token is not None and headers.get("x-oss-security-token") != self.session_token:
            raise OssError(403, "InvalidSecurityToken", "The security token you provided is invalid.")
        extra = set(additional.split(";")) if additional else set()
        signed = sorted(
            (name.lower(), value.strip())
            for name, value in headers.items()
            if name.lower().startswith("x-oss-") or name.lower() in {"content-type", "content-md5"} | extra
        )
        params = sorted(
            (_v4_quote(k, keep_slash=False), _v4_quote(v, keep_slash=False))
            for k, v in parse_qsl(raw_query, keep_blank_values=True)
        )
        canonical = "\n".join(
            [
                method,
                _v4_quote(f"/{bucket}/{key}", keep_slash=True),
                "&".join(f"{k}={v}" if v else k for k, v in params),
                "".join(f"{name}:{value}\n" for name, value in signed),
                ";".join(sorted(extra)),
                headers.get("x-oss-content-sha256", "UNSIGNED-PAYLOAD"),
            ]
        )
        scope = f"{date}/{region}/{product}/aliyun_v4_request"
        to_sign = f"OSS4-HMAC-SHA256\n{stamp}\n{scope}\n{hashlib.sha256(canonical.encode()).hexdigest()}"
        signing_key = f"aliyun_v4{self.access_key_secret}".encode()
        for part in (date, region, product, "aliyun_v4_request"):
            signing_key = hmac.new(signing_key, part.encode(), hashlib.sha256).digest()
        expected = hmac.new(signing_key, to_sign.encode(), hashlib.sha256).hexdigest()
        if not hmac.compare_digest(expected, signature) or region != self.region or not stamp.startswith(date):
            raise OssError(
                403,
                "SignatureDoesNotMatch",
                "The request signature we calculated does not match the signature you provided.",
                StringToSign=to_sign,
            )

    # Operations: each returns (status, headers, body) and runs under the lock.

    def _object_headers(self, blob: Blob) -> dict[str, str]:
        return {
            "ETag": _quoted(blob.etag),
            "x-oss-hash-crc64ecma": str(blob.crc),
            "Last-Modified": formatdate(blob.mtime, usegmt=True),
            "Content-Type": "application/octet-stream",
            "Accept-Ranges": "bytes",
            "x-oss-object-type": blob.kind,
        }

    def _get(self, key: str) -> Blob:
        if key not in self.objects:
            raise OssError(404, "NoSuchKey", "The specified key does not exist.", Key=key)
        return self.objects[key]

    def _upload(self, key: str, query: dict[str, str]) -> dict[int, Blob]:
        upload = self.uploads.get(query["uploadId"])
        if upload is None or upload[0] != key:
            raise OssError(404, "NoSuchUpload", "The specified upload does not exist.", UploadId=query["uploadId"])
        return upload[1]

    def op_PutObject(self, key: str, query: Query, body: bytes, range_: str) -> Answer:
        self.objects[key] = blob = _blob(body)
        return 200, {"ETag": _quoted(blob.etag), "x-oss-hash-crc64ecma": str(blob.crc)}, b""

    def op_GetObject(self, key: str, query: Query, body: bytes, range_: str) -> Answer:
        blob = self._get(key)
        size = len(blob.data)
        match = re.fullmatch(r"bytes=(\d*)-(\d*)", range_.strip())
        if match and any(match.groups()):
            first, last = match.groups()
            start, end = (
                (int(first), min(int(last or size - 1), size - 1)) if first else (max(size - int(last), 0), size - 1)
            )
            if start <= end:
                headers = self._object_headers(blob) | {"Content-Range": f"bytes {start}-{end}/{size}"}
                return 206, headers, blob.data[start : end + 1]
        return 200, self._object_headers(blob), blob.data

    def op_HeadObject(self, key: str, query: Query, body: bytes, range_: str) -> Answer:
        blob = self._get(key)
        return 200, self._object_headers(blob) | {"Content-Length": str(len(blob.data))}, b""

    def op_DeleteObject(self, key: str, query: Query, body: bytes, range_: str) -> Answer:
        self.objects.pop(key, None)
        return 204, {}, b""

    def op_ListObjects(self, key: str, query: Query, body: bytes, range_: str) -> Answer:
        if query.get("delimiter"):
            raise OssError(400, "NotImplemented", "This test server does not support delimiter.")
        is_v2 = query.get("list-type") == "2"
        prefix, max_keys = query.get("prefix", ""), int(query.get("max-keys") or 100)
        token = query.get("continuation-token", "")
        after = (
            base64.urlsafe_b64decode(token).decode()
            if is_v2 and token
            else query.get("start-after" if is_v2 else "marker", "")
        )
        keys = sorted((k for k in self.objects if k.startswith(prefix) and k.encode() > after.encode()), key=str.encode)
        page, is_truncated = keys[:max_keys], len(keys) > max_keys
        url = query.get("encoding-type") == "url"
        show = (lambda k: quote(k, safe="")) if url else (lambda k: k)
        fields: list[tuple[str, object]] = [("Name", self.bucket), ("Prefix", show(prefix)), ("MaxKeys", max_keys)]
        if url:
            fields.append(("EncodingType", "url"))
        fields += [("IsTruncated", str(is_truncated).lower())]
        if is_v2:
            fields.append(("KeyCount", len(page)))
            if is_truncated:
                fields.append(("NextContinuationToken", base64.urlsafe_b64encode(page[-1].encode()).decode()))
        elif is_truncated:
            fields.append(("NextMarker", show(page[-1])))
        contents = "".join(
            _element("Contents", ("Key", show(k)), *_listed(b), ("Type", b.kind), ("StorageClass", "Standard"))
            for k, b in [(k, self.objects[k]) for k in page]
        )
        return _xml_answer("ListBucketResult", _tags(*fields) + contents)

    def op_InitiateMultipartUpload(self, key: str, query: Query, body: bytes, range_: str) -> Answer:
        upload_id = uuid.uuid4().hex.upper()
        self.uploads[upload_id] = (key, {})
        fields = ("Bucket", self.bucket), ("Key", key), ("UploadId", upload_id)
        return _xml_answer("InitiateMultipartUploadResult", _tags(*fields))

    def op_UploadPart(self, key: str, query: Query, body: bytes, range_: str) -> Answer:
        parts = self._upload(key, query)
        number = int(query["partNumber"]) if query["partNumber"].isdigit() else 0
        if not 1 <= number <= 10000:
            raise OssError(400, "InvalidArgument", "Part number must be an integer between 1 and 10000.")
        parts[number] = blob = _blob(body)
        return 200, {"ETag": _quoted(blob.etag), "x-oss-hash-crc64ecma": str(blob.crc)}, b""

    def op_ListParts(self, key: str, query: Query, body: bytes, range_: str) -> Answer:
        parts = self._upload(key, query)
        marker, max_parts = int(query.get("part-number-marker") or 0), int(query.get("max-parts") or 1000)
        numbers = sorted(n for n in parts if n > marker)
        page, is_truncated = numbers[:max_parts], len(numbers) > max_parts
        fields = _tags(
            ("Bucket", self.bucket), ("Key", key), ("UploadId", query["uploadId"]), ("PartNumberMarker", marker),
            ("NextPartNumberMarker", page[-1] if page else marker), ("MaxParts", max_parts),
            ("IsTruncated", str(is_truncated).lower()),
        )  # fmt: skip
        listed = (
            _element("Part", ("PartNumber", n), *_listed(parts[n]), ("HashCrc64ecma", parts[n].crc)) for n in page
        )
        return _xml_answer("ListPartsResult", fields + "".join(listed))

    def op_CompleteMultipartUpload(self, key: str, query: Query, body: bytes, range_: str) -> Answer:
        parts = self._upload(key, query)
        try:
            listed = [
                (int(p.findtext("PartNumber", "")), p.findtext("ETag", "").strip('"'))
                for p in ElementTree.fromstring(body).iter("Part")
            ]
        except (ElementTree.ParseError, ValueError):
            raise OssError(400, "MalformedXML", "The XML you provided was not well-formed.") from None
        numbers = [n for n, _ in listed]
        if not listed or numbers != sorted(set(numbers)):
            raise OssError(400, "InvalidPartOrder", "The list of parts was not in ascending order.")
        for index, (number, etag) in enumerate(listed):
            if number not in parts or parts[number].etag != etag.upper():
                raise OssError(
                    400, "InvalidPart", "One or more of the specified parts could not be found.", PartNumber=str(number)
                )
            if index < len(listed) - 1 and len(parts[number].data) < MIN_PART_SIZE:
                raise OssError(400, "EntityTooSmall", "Your proposed upload is smaller than the minimum allowed size.")
        blob = _blob(b"".join(parts[n].data for n in numbers))
        digests = b"".join(bytes.fromhex(parts[n].etag) for n in numbers)
        blob.etag, blob.kind = f"{hashlib.md5(digests).hexdigest().upper()}-{len(numbers)}", "Multipart"
        self.objects[key] = blob
        del self.uploads[query["uploadId"]]
        location = f"{self.endpoint}/{self.bucket}/{key}"
        fields = ("Location", location), ("Bucket", self.bucket), ("Key", key), ("ETag", _quoted(blob.etag))
        headers = {"ETag": _quoted(blob.etag), "x-oss-hash-crc64ecma": str(blob.crc)}
        return _xml_answer("CompleteMultipartUploadResult", _tags(*fields), headers)

    def op_AbortMultipartUpload(self, key: str, query: Query, body: bytes, range_: str) -> Answer:
        self._upload(key, query)
        del self.uploads[query["uploadId"]]
        return 204, {}, b""


def _operation(method: str, key: str, query: dict[str, str]) -> str:
    if not key:
        return "ListObjects" if method == "GET" else f"Unsupported{method}Bucket"
    if method == "POST":
        return "InitiateMultipartUpload" if "uploads" in query else "CompleteMultipartUpload"
    if "uploadId" in query:
        return {"PUT": "UploadPart", "GET": "ListParts", "DELETE": "AbortMultipartUpload"}.get(method, "Unsupported")
    return {"PUT": "PutObject", "GET": "GetObject", "HEAD": "HeadObject", "DELETE": "DeleteObject"}.get(
        method, "Unsupported"
    )


class _HTTPServer(ThreadingHTTPServer):
    daemon_threads = True
    block_on_close = False

    def __init__(self, oss: OssServer) -> None:
        super().__init__(("127.0.0.1", 0), _Handler)
        self.oss = oss

    def handle_error(self, request: object, client_address: object) -> None:
        """A client closing its connection is not an error; anything else is raised in the test's log."""
        if not isinstance(sys.exc_info()[1], ConnectionError):
            super().handle_error(request, client_address)  # type: ignore[arg-type]


class _Handler(BaseHTTPRequestHandler):
    server: _HTTPServer

    protocol_version = "HTTP/1.1"
    server_version = "AliyunOSS"

    def log_message(self, format: str, *args: object) -> None:
        """Keep test output quiet."""

    def _read_body(self) -> bytes:
        if self.headers.get("Transfer-Encoding", "").lower() == "chunked":
            chunks = []
            while size := int(self.rfile.readline().split(b";")[0].strip() or b"0", 16):
                chunks.append(self.rfile.read(size))
                self.rfile.readline()
            while self.rfile.readline().strip():
                pass
            return b"".join(chunks)
        return self.rfile.read(int(self.headers.get("Content-Length") or 0))

    def _handle(self) -> None:
        oss = self.server.oss
        split = urlsplit(self.path)
        bucket, _, key = unquote(split.path).lstrip("/").partition("/")
        query = dict(parse_qsl(split.query, keep_blank_values=True))
        op = _operation(self.command, key, query)
        body = self._read_body()
        fault = oss._take_fault(op)
        request_id = uuid.uuid4().hex[:24].upper()
        if fault in ("drop", "hang"):
            if fault == "hang":
                oss._stopping.wait(30)
            self.close_connection = True
            with oss._lock:
                oss.log.append(Logged(op, key, query, 0))
            return
        try:
            if fault in ("500", "503"):
                raise OssError(
                    int(fault), "InternalError" if fault == "500" else "ServiceUnavailable", "Please try again."
                )
            oss.check_signature(self.command, bucket, key, split.query, self.headers)
            if bucket != oss.bucket:
                raise OssError(404, "NoSuchBucket", "The specified bucket does not exist.", BucketName=bucket)
            sent_md5 = self.headers.get("Content-MD5")
            if sent_md5 is not None:
                try:
                    is_valid = base64.b64decode(sent_md5, validate=True) == hashlib.md5(body).digest()
                except binascii.Error:
                    is_valid = False
                if not is_valid:
                    raise OssError(400, "InvalidDigest", "The Content-MD5 you specified is not valid.")
            handler = getattr(oss, f"op_{op}", None)
            if handler is None:
                raise OssError(
                    400, "NotImplemented", f"{self.command} {self.path} is not implemented by this test server."
                )
            with oss._lock:
                status, headers, payload = handler(key, query, body, self.headers.get("Range", ""))
        except OssError as exc:
            fields = ("Code", exc.code), ("Message", exc.message), ("RequestId", request_id), ("HostId", "127.0.0.1")
            status, headers, payload = exc.status, {"Content-Type": "application/xml"}, b""
            payload = _xml("Error", _tags(*fields, *exc.extra.items()))
            if self.command == "HEAD":
                headers["x-oss-err"] = base64.b64encode(payload).decode()
        if fault == "bad-crc" and "x-oss-hash-crc64ecma" in headers:
            headers["x-oss-hash-crc64ecma"] = str(int(headers["x-oss-hash-crc64ecma"]) ^ 1)
        with oss._lock:
            oss.log.append(Logged(op, key, query, status))
        self.send_response(status)
        headers.setdefault("Content-Length", str(len(payload)))
        for name, value in (headers | {"x-oss-request-id": request_id, "Date": formatdate(usegmt=True)}).items():
            self.send_header(name, value)
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(payload)

    do_GET = do_PUT = do_POST = do_DELETE = do_HEAD = _handle
