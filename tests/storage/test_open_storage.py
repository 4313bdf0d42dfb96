"""open_storage: folder and OSS URLs, credentials from the environment."""
from __future__ import annotations

import subprocess
import sys
from pathlib import Path, PureWindowsPath

import pytest

from rfarm.errors import ConfigError
from rfarm.storage import FolderStorage, open_storage
from rfarm.storage.oss import OssStorage
from tests.oss_server import OssServer


@pytest.mark.parametrize(
    ("url", "root"),
    [
        ("file:///srv/farm", "/srv/farm"),
        ("file://localhost/srv/farm", "/srv/farm"),
        ("file:///srv/my%20farm", "/srv/my farm"),
        ("file:///C:/farm", "C:/farm"),
        ("file://nas/share/farm", "//nas/share/farm"),
        ("/srv/farm", "/srv/farm"),
    ],
)
def test_folder_urls(url: str, root: str) -> None:
    storage = open_storage(url)
    assert isinstance(storage, FolderStorage)
    assert storage.root == Path(root)


def test_unc_url_is_a_unc_path_on_windows() -> None:
    storage = open_storage("file://nas/share/farm")
    assert isinstance(storage, FolderStorage)
    assert PureWindowsPath(str(storage.root)).anchor == "\\\\nas\\share\\"


@pytest.mark.parametrize(
    ("url", "message"),
    [
        ("s3://bucket/x", "Unknown storage scheme 's3'"),
        ("file:///srv/farm?x=1", "takes no query"),
        ("oss://bucket/x", r"needs \?endpoint="),
        ("oss://bucket/x?endpoint=e&region=r&threads=4", "Unknown option 'threads'"),
    ],
)
def test_bad_urls(url: str, message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        open_storage(url, access_key_id="id", access_key_secret="secret")


def test_credentials_in_the_url_are_refused_without_echoing_them() -> None:
    with pytest.raises(ConfigError) as caught:
        open_storage("oss://AKID:hunter2@bucket/x?region=cn-hangzhou")
    assert "hunter2" not in str(caught.value) and "AKID" not in str(caught.value)


def test_missing_credentials() -> None:
    with pytest.raises(ConfigError, match="OSS_ACCESS_KEY_ID"):
        open_storage("oss://bucket/x?region=cn-hangzhou")


def test_region_and_endpoint_imply_each_other() -> None:
    by_endpoint = open_storage(
        "oss://bucket/x?endpoint=oss-cn-shanghai-internal.aliyuncs.com", access_key_id="i", access_key_secret="s"
    )
    assert isinstance(by_endpoint, OssStorage)
    assert (by_endpoint.region, by_endpoint.endpoint) == (
        "cn-shanghai",
        "https://oss-cn-shanghai-internal.aliyuncs.com",
    )
    by_region = open_storage("oss://bucket/x/y/?region=cn-beijing", access_key_id="i", access_key_secret="s")
    assert isinstance(by_region, OssStorage)
    assert (by_region.endpoint, by_region.prefix) == ("https://oss-cn-beijing.aliyuncs.com", "x/y/")


def test_oss_url_with_credentials_from_the_environment(home: Path, monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    from rfarm.config import load_config
    from rfarm.state.farm import Farm

    with OssServer(session_token="token") as server:
        monkeypatch.setenv("OSS_ACCESS_KEY_ID", server.access_key_id)
        monkeypatch.setenv("OSS_ACCESS_KEY_SECRET", server.access_key_secret)
        monkeypatch.setenv("OSS_SESSION_TOKEN", "token")
        monkeypatch.setenv("RFARM_STORAGE_URL", f"oss://{server.bucket}/farm?endpoint={server.endpoint}&region={server.region}")
        config = load_config()
        assert config.sources["oss_access_key_id"] == "env OSS_ACCESS_KEY_ID"
        storage = Farm(config, db=None).storage  # type: ignore[arg-type]
        storage.put_bytes("k", b"v")
        assert storage.get_bytes("k") == b"v"
        assert list(server.objects) == ["farm/k"]


def test_folder_storage_does_not_import_oss2() -> None:
    code = "import sys, rfarm.storage; rfarm.storage.open_storage('file:///tmp'); print('oss2' in sys.modules)"
    assert subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout == "False\n"
