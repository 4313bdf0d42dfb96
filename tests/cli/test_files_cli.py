"""``rfarm upload``, ``rfarm hash`` and ``rfarm download`` as real processes; OSS secrets in the config."""
from __future__ import annotations

from pathlib import Path

from rfarm_testlib import cli_json, run_cli

from rfarm.files.hashing import hash_file


def make_tree(root: Path) -> list[Path]:
    files = [root / "a.txt", root / "sub" / "b.txt", root / "sub" / "deeper" / "c.txt"]
    for i, path in enumerate(files):
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(f"file {i}\n" * (i + 1))
    return files


def test_upload_dedup_twice(home_env: dict[str, str], tmp_path: Path) -> None:
    make_tree(tmp_path / "proj")
    code, out, err = run_cli("upload", str(tmp_path / "proj"), "--dedup", env=home_env)
    assert code == 0 and out == ""
    assert err.strip().splitlines()[-1] == "uploaded 3 files / 42 bytes, skipped 0 files / 0 bytes"
    doc = cli_json("upload", str(tmp_path / "proj"), "--dedup", env=home_env)
    assert {k: doc[k] for k in ("uploaded", "skipped", "bytes_uploaded", "bytes_skipped")} == {
        "uploaded": 0, "skipped": 3, "bytes_uploaded": 0, "bytes_skipped": 42}
    assert [f["uploaded"] for f in doc["files"]] == [False] * 3
    assert set(doc["files"][0]) == {"path", "hash", "xxhash", "size", "uploaded"}


def test_hash_walks_folders(home: Path, home_env: dict[str, str], tmp_path: Path) -> None:
    files = make_tree(tmp_path / "proj")
    doc = cli_json("hash", str(tmp_path / "proj"), env=home_env)
    expected = [{"path": str(p), "size": p.stat().st_size, "hash": hash_file(p).md5, "xxhash": hash_file(p).xxh64}
                for p in sorted(files)]
    assert sorted(doc, key=lambda d: d["path"]) == expected
    assert (home / "hash_cache.db").is_file()
    assert cli_json("hash", str(files[0]), "--no-cache", env=home_env) == [expected[0]]
    code, out, err = run_cli("hash", str(tmp_path / "nothing"), env=home_env)
    assert (code, out) == (2, "") and "File not found" in err


def test_hash_prints_one_whole_line_a_file_hash_first(home_env: dict[str, str], tmp_path: Path) -> None:
    files = make_tree(tmp_path / ("a folder with a long name, [brackets] and spaces " * 3))
    code, out, err = run_cli("hash", *map(str, files), env={**home_env, "COLUMNS": "60"})
    assert code == 0, err
    header, *rows = out.splitlines()
    assert header.split() == ["md5", "xxhash64", "size", "path"]
    assert rows == [f"{hash_file(p).md5}  {hash_file(p).xxh64:>20}  {p.stat().st_size:>4}  {p}" for p in files]


def test_download_of_an_unknown_task_is_bad_input(home_env: dict[str, str]) -> None:
    code, out, err = run_cli("download", "99", env=home_env)
    assert (code, out, err.strip()) == (2, "", "Error: no task 99 for user 'alice'")


def test_oss_credentials_in_the_config_are_masked(home_env: dict[str, str]) -> None:
    env = {**home_env, "RFARM_OSS_ACCESS_KEY_ID": "LTAIexample", "RFARM_OSS_ACCESS_KEY_SECRET": "very-secret"}
    code, out, err = run_cli("config", "show", "--json", env=env)
    assert code == 0 and "very-secret" not in out + err and "LTAIexample" not in out
    rows = {r["key"]: r["value"] for r in cli_json("config", "show", env=env)["settings"]}
    assert rows["oss_access_key_secret"] == rows["oss_access_key_id"] == "***"
    assert (rows["cache_max_gb"], rows["workspace_keep_hours"], rows["min_free_gb"]) == (50.0, 24.0, 2.0)
