"""OssStorage with the real oss2 client against the local OSS-protocol server."""
from __future__ import annotations

import hashlib
import logging
import os
import socket
from collections.abc import Callable
from pathlib import Path

import oss2
import pytest

from rfarm.errors import ConfigError, IntegrityError, StorageError
from rfarm.storage.oss import OssStorage
from tests.oss_server import OssServer, crc64

PART = 100 * 1024
MakeOss = Callable[..., OssStorage]


def _file(tmp_path: Path, size: int) -> tuple[Path, bytes]:
    data = os.urandom(size)
    path = tmp_path / "src.bin"
    path.write_bytes(data)
    return path, data


def test_server_crc64_is_crc64_xz() -> None:
    assert crc64(b"123456789") == 0x995DC9BBDF1939FA


def test_etags_and_crc_are_those_oss_computes(oss_server: OssServer, make_oss: MakeOss, tmp_path: Path) -> None:
    storage = make_oss()
    storage.put_bytes("small", b"hello")
    big, data = _file(tmp_path, 3 * PART + 5)
    storage.put_file("big", big)
    bucket = oss2.Bucket(
        oss2.ProviderAuthV4(oss2.StaticCredentialsProvider(oss_server.access_key_id, oss_server.access_key_secret)),
        oss_server.endpoint,
        oss_server.bucket,
        region=oss_server.region,
    )
    small = bucket.head_object("farm/small")
    assert small.headers["ETag"] == f'"{hashlib.md5(b"hello").hexdigest().upper()}"'
    assert small.server_crc == crc64(b"hello")
    parts = [data[i : i + PART] for i in range(0, len(data), PART)]
    multipart_etag = hashlib.md5(b"".join(hashlib.md5(p).digest() for p in parts)).hexdigest().upper()
    head = bucket.head_object("farm/big")
    assert head.headers["ETag"] == f'"{multipart_etag}-4"'
    assert head.server_crc == crc64(data)
    assert head.headers["x-oss-request-id"]


def test_content_md5_is_sent_and_checked(oss_server: OssServer, make_oss: MakeOss, tmp_path: Path) -> None:
    src, _ = _file(tmp_path, 1000)
    with pytest.raises(IntegrityError, match="do not match the MD5 sent"):
        make_oss().put_file("k", src, md5=hashlib.md5(b"other").hexdigest())
    assert [(e.op, e.status) for e in oss_server.log] == [("PutObject", 400)]


def test_resumable_upload_resumes_with_only_the_missing_parts(
    oss_server: OssServer, make_oss: MakeOss, tmp_path: Path
) -> None:
    storage = make_oss(upload_threads=1, retries=1)
    src, data = _file(tmp_path, 10 * PART + 7)
    oss_server.add_fault("drop", op="UploadPart", skip=4, times=100)
    with pytest.raises(StorageError, match=r"connection closed by the server \(after 2 attempts\)"):
        storage.put_file("scene.ma", src)
    [(_, parts)] = oss_server.uploads.values()
    assert sorted(parts) == [1, 2, 3, 4]

    oss_server.clear_faults()
    mark = len(oss_server.log)
    storage.put_file("scene.ma", src, md5=hashlib.md5(data).hexdigest())
    resumed = oss_server.log[mark:]
    assert "InitiateMultipartUpload" not in [e.op for e in resumed]
    assert [int(e.query["partNumber"]) for e in resumed if e.op == "UploadPart"] == list(range(5, 12))
    assert storage.get_bytes("scene.ma") == data
    assert oss_server.uploads == {}
    assert [p for p in (tmp_path / "checkpoints").rglob("*") if p.is_file()] == []


def test_wrong_secret_is_refused_without_retrying(oss_server: OssServer, make_oss: MakeOss) -> None:
    storage = make_oss(access_key_secret="not-the-secret")
    with pytest.raises(ConfigError, match="SignatureDoesNotMatch") as caught:
        storage.put_bytes("k", b"x")
    assert "not-the-secret" not in str(caught.value)
    assert [(e.op, e.status) for e in oss_server.log] == [("PutObject", 403)]
    assert oss_server.objects == {}


def test_unknown_access_key_is_refused(make_oss: MakeOss) -> None:
    with pytest.raises(ConfigError, match="InvalidAccessKeyId"):
        make_oss(access_key_id="nobody").exists("k")


def test_crc_mismatch_on_upload_is_detected_and_the_object_removed(oss_server: OssServer, make_oss: MakeOss) -> None:
    oss_server.add_fault("bad-crc", op="PutObject", times=100)
    with pytest.raises(IntegrityError, match="CRC64 mismatch"):
        make_oss(retries=1).put_bytes("k", b"payload")
    assert [e.op for e in oss_server.log] == ["PutObject", "PutObject", "DeleteObject"]
    assert "farm/k" not in oss_server.objects


def test_crc_mismatch_on_multipart_upload_is_detected(oss_server: OssServer, make_oss: MakeOss, tmp_path: Path) -> None:
    src, _ = _file(tmp_path, 4 * PART)
    oss_server.add_fault("bad-crc", op="CompleteMultipartUpload", times=100)
    with pytest.raises(IntegrityError, match="CRC64 mismatch"):
        make_oss(retries=0).put_file("k", src)
    assert "farm/k" not in oss_server.objects


def test_corrupted_object_is_caught_at_download(oss_server: OssServer, make_oss: MakeOss, tmp_path: Path) -> None:
    storage = make_oss(retries=2)
    storage.put_bytes("k", b"the real bytes")
    oss_server.corrupt("farm/k")
    dest = tmp_path / "dest.bin"
    with pytest.raises(IntegrityError, match="CRC64 mismatch while trying to download 'k'"):
        storage.get_file("k", dest)
    assert not dest.exists() and list(tmp_path.glob("dest.bin*")) == []
    assert [e.op for e in oss_server.log].count("GetObject") == 3
    with pytest.raises(IntegrityError):
        storage.get_bytes("k")


def test_5xx_answers_are_retried(oss_server: OssServer, make_oss: MakeOss) -> None:
    storage = make_oss(retries=3)
    oss_server.add_fault("503", op="PutObject", times=2)
    oss_server.add_fault("500", op="GetObject")
    storage.put_bytes("k", b"x")
    assert storage.get_bytes("k") == b"x"
    assert [(e.op, e.status) for e in oss_server.log] == [
        ("PutObject", 503),
        ("PutObject", 503),
        ("PutObject", 200),
        ("GetObject", 500),
        ("GetObject", 200),
    ]


def test_persistent_5xx_gives_a_one_line_storage_error(oss_server: OssServer, make_oss: MakeOss) -> None:
    oss_server.add_fault("500", times=100)
    with pytest.raises(StorageError) as caught:
        make_oss(retries=2).get_bytes("k")
    message = str(caught.value)
    assert message.startswith("OSS could not download 'k': HTTP 500 InternalError (request ")
    assert "\n" not in message
    assert len(oss_server.log) == 3


def test_a_dropped_connection_is_retried(oss_server: OssServer, make_oss: MakeOss) -> None:
    storage = make_oss()
    storage.put_bytes("k", b"x")
    oss_server.add_fault("drop", op="GetObject")
    assert storage.get_bytes("k") == b"x"


def test_refused_connection_gives_a_clear_storage_error(make_oss: MakeOss) -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    storage = make_oss(endpoint=f"http://127.0.0.1:{port}", retries=1)
    with pytest.raises(StorageError) as caught:
        storage.put_bytes("k", b"x")
    assert str(caught.value) == (
        f"Cannot reach OSS at http://127.0.0.1:{port} to upload 'k': connection refused (after 2 attempts)."
    )


def test_dead_connections_give_a_clear_storage_error(oss_server: OssServer, make_oss: MakeOss) -> None:
    oss_server.add_fault("drop", times=100)
    with pytest.raises(StorageError, match=r"^Cannot reach OSS at .* to check 'k': connection closed by the server"):
        make_oss(retries=1).exists("k")


def test_a_hung_server_times_out(oss_server: OssServer, make_oss: MakeOss) -> None:
    oss_server.add_fault("hang", times=100)
    with pytest.raises(StorageError, match=r"to download 'k': timed out \(after 2 attempts\)"):
        make_oss(retries=1, timeout_s=0.3).get_bytes("k")


def test_credentials_stay_out_of_repr_messages_and_logs(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    secrets = {"key_id": "LTAI-visible-id", "secret": "very-secret-key", "token": "sts-session-token"}
    with OssServer(
        access_key_id=secrets["key_id"], access_key_secret=secrets["secret"], session_token=secrets["token"]
    ) as server:
        storage = OssStorage(
            server.bucket,
            "farm",
            endpoint=server.endpoint,
            region=server.region,
            access_key_id=secrets["key_id"],
            access_key_secret=secrets["secret"],
            session_token=secrets["token"],
            checkpoint_dir=tmp_path / "ck",
            multipart_threshold_bytes=3 * PART,
            part_size_bytes=PART,
            retry_backoff_s=0,
        )
        src, _ = _file(tmp_path, 4 * PART)
        with caplog.at_level(logging.DEBUG, logger="oss2"):
            storage.put_file("big", src)
            storage.put_bytes("small", b"x")
            storage.get_bytes("small")
            server.add_fault("500", times=100)
            with pytest.raises(StorageError) as caught:
                storage.exists("small")
    assert "Signature=" in caplog.text and "x-oss-security-token" in caplog.text
    for value in secrets.values():
        assert value not in caplog.text
        assert value not in repr(storage)
        assert value not in str(caught.value)
