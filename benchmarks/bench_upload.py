"""Dedup upload: a 1,000-file project uploaded twice; the second time sends nothing.

Run: ``python benchmarks/bench_upload.py [--files 1000] [--mib 400] [--oss] [--dir DIR]``

The project is written once (file sizes spread from a few KB to a few MB),
then ``upload_with_dedup`` runs twice against a fresh farm home, the way
``rfarm upload --dedup`` does (hash cache under the home, assets in its
SQLite database). The first run hashes and sends every file; the second finds
every hash in the cache and every object in the store, and sends zero bytes.
``--oss`` also runs it against the local OSS-protocol server from ``tests/``
(real ``oss2`` client, signed requests over HTTP on 127.0.0.1).
"""
from __future__ import annotations

import argparse
import os
import random
import shutil
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from rfarm.config import load_config  # noqa: E402
from rfarm.state.farm import open_farm  # noqa: E402
from rfarm.files.hashing import HashCache  # noqa: E402
from rfarm.storage.base import Storage  # noqa: E402
from rfarm.files.transfer import UploadSummary, upload_with_dedup  # noqa: E402

MIB = 1 << 20


def write_project(root: Path, files: int, total_mib: int) -> int:
    """``files`` files whose sizes follow a long tail and add up to about ``total_mib``."""
    rng = random.Random(7)
    weights = [rng.paretovariate(1.2) for _ in range(files)]
    scale = total_mib * MIB / sum(weights)
    block = os.urandom(8 * MIB)
    written = 0
    for i, weight in enumerate(weights):
        size = max(1024, min(int(weight * scale), len(block) - 64))
        path = root / f"assets{i % 25:02d}" / f"tex_{i:04d}.exr"
        path.parent.mkdir(parents=True, exist_ok=True)
        start = rng.randrange(0, len(block) - size)
        path.write_bytes(i.to_bytes(8, "little") + block[start : start + size - 8])
        written += size
    return written


def timed_upload(project: Path, storage: Storage, home: Path) -> tuple[float, UploadSummary]:
    started = time.perf_counter()
    with HashCache(home / "hash_cache.db") as cache:
        summary = upload_with_dedup([project], storage, user="bench", cache=cache)
    return time.perf_counter() - started, summary


def run(label: str, project: Path, storage_url: str, home: Path) -> None:
    os.environ["RFARM_HOME"] = str(home)
    os.environ["RFARM_STORAGE_URL"] = storage_url
    farm = open_farm(load_config())
    first_s, first = timed_upload(project, farm.storage, home)
    second_s, second = timed_upload(project, farm.storage, home)
    assert first.uploaded == len(first.files) and second.bytes_uploaded == 0, (first, second)
    print(f"{label}: first upload  {first_s:7.2f} s  sent {first.uploaded} files / {first.bytes_uploaded / MIB:.1f} MiB")
    print(f"{label}: second upload {second_s:7.2f} s  sent {second.uploaded} files / {second.bytes_uploaded} bytes, "
          f"skipped {second.skipped} files / {second.bytes_skipped / MIB:.1f} MiB")
    print(f"{label}: second / first = {second_s / first_s:.3f} ({first_s / second_s:.0f}x faster)")
    farm.db.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--files", type=int, default=1000)
    parser.add_argument("--mib", type=int, default=400, help="total size of the project")
    parser.add_argument("--oss", action="store_true", help="also upload to the local OSS-protocol test server")
    parser.add_argument("--dir", type=Path, help="work folder (default: a temporary one)")
    args = parser.parse_args()
    for name in [n for n in os.environ if n.startswith("RFARM_")]:
        del os.environ[name]
    work = Path(tempfile.mkdtemp(prefix="rfarm-bench-upload-", dir=args.dir))
    try:
        size = write_project(work / "project", args.files, args.mib)
        print(f"project: {args.files} files, {size / MIB:.1f} MiB in {work / 'project'}")
        run("folder", work / "project", (work / "store").as_uri(), work / "home-folder")
        if args.oss:
            from tests.oss_server import OssServer

            with OssServer() as server:
                os.environ["OSS_ACCESS_KEY_ID"] = server.access_key_id
                os.environ["OSS_ACCESS_KEY_SECRET"] = server.access_key_secret
                url = f"oss://{server.bucket}/farm?endpoint={server.endpoint}&region={server.region}"
                import rfarm.state.farm

                rfarm.state.farm._current = None
                run("oss", work / "project", url, work / "home-oss")
                puts = sum(1 for r in server.log if r.op in ("PutObject", "UploadPart"))
                print(f"oss: {puts} PUT requests in all (first upload only)")
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
