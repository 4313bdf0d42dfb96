"""``rfarm upload``, ``rfarm hash`` and ``rfarm download``: files to and from storage."""
from __future__ import annotations

import sys
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Optional

import typer

from rfarm.cli.options import AllOption, JsonOption, TaskArg, connect
from rfarm.cli.output import err_console, info, plural, print_json

if TYPE_CHECKING:
    from rfarm.files.hashing import FileHash
    from rfarm.files.progress import Progress as TransferProgress

PathsArg = Annotated[list[Path], typer.Argument(help="Files or folders (folders are walked).", show_default=False)]
STAGES = {"hash": "hashing", "upload": "uploading", "download": "downloading"}


def register(app: typer.Typer) -> None:
    app.command("upload")(upload)
    app.command("hash")(hash_)
    app.command("download")(download)


@contextmanager
def transfer_bar(*, quiet: bool) -> Iterator[Callable[[TransferProgress], None]]:
    """A rich progress bar on stderr, one line per stage, with bytes and rate; yields the callback.

    Files that needed no work (hash cache hits) are counted as skipped, not as
    bytes moved, so the rate is that of the bytes actually read or sent.
    """
    from rich.progress import (
        BarColumn,
        DownloadColumn,
        Progress,
        TaskID,
        TextColumn,
        TimeRemainingColumn,
        TransferSpeedColumn,
    )

    bars: dict[str, TaskID] = {}
    with Progress(
        TextColumn("{task.description:<12}"), BarColumn(), DownloadColumn(), TransferSpeedColumn(),
        TextColumn("{task.fields[files]} files"), TimeRemainingColumn(),
        console=err_console(), disable=quiet, transient=False,
    ) as bar:

        def show(progress: TransferProgress) -> None:
            if progress.stage not in bars:
                bars[progress.stage] = bar.add_task(STAGES.get(progress.stage, progress.stage), total=None, files="")
            skipped = f" ({progress.skipped} skipped)" if progress.skipped else ""
            bar.update(bars[progress.stage], completed=progress.bytes_done - progress.bytes_skipped,
                       total=progress.bytes_total - progress.bytes_skipped,
                       files=f"{progress.done}/{progress.total}{skipped}")

        yield show


def size_text(size: int) -> str:
    from rich.filesize import decimal

    return decimal(size)


def upload_line(summary) -> str:  # type: ignore[no-untyped-def]
    """``uploaded N files / X, skipped M files / Y``."""
    return (f"uploaded {plural(summary.uploaded, 'file')} / {size_text(summary.bytes_uploaded)}, "
            f"skipped {plural(summary.skipped, 'file')} / {size_text(summary.bytes_skipped)}")


def upload(
    paths: PathsArg,
    dedup: Annotated[bool, typer.Option("--dedup/--no-dedup", help="Skip files the store already holds (default).")] = True,
    json: JsonOption = False,
) -> int:
    """Hash files and upload the ones storage does not hold yet.

    Example: rfarm upload shots/ textures/ --dedup
    """
    from rfarm.files.hashing import HashCache
    from rfarm.files.upload import upload_files

    api, caller, config = connect()
    with HashCache(config.home_dir / "hash_cache.db") as cache, transfer_bar(quiet=json) as bar:
        summary = upload_files(api, caller, paths, cache=cache, on_progress=None if json else bar, force=not dedup)
    if json:
        print_json(summary)
    else:
        info(upload_line(summary))
    return 0


def hash_(
    paths: PathsArg,
    no_cache: Annotated[bool, typer.Option("--no-cache", help="Read every file, ignoring the hash cache.")] = False,
    json: JsonOption = False,
) -> int:
    """Print the MD5 and xxHash64 of files (folders are walked).

    Example: rfarm hash scene.ma textures/ --json
    """
    from contextlib import nullcontext

    from rfarm.config import load_config
    from rfarm.files.hashing import HashCache, hash_files, walk_files

    config = load_config()
    files = walk_files(paths)
    with (nullcontext() if no_cache else HashCache(config.home_dir / "hash_cache.db")) as cache, \
            transfer_bar(quiet=json) as bar:
        hashes = hash_files(files, cache=cache, on_progress=None if json else bar)
    if json:
        print_json([{"path": str(p), **h.to_dict()} for p, h in hashes.items()])
        return 0
    sys.stdout.write(hash_lines(hashes))
    return 0


def hash_lines(hashes: Mapping[Path, FileHash]) -> str:
    """One line a file, ``md5  xxhash64  size  path`` in aligned columns under a header, as ``md5sum`` puts
    the hash first; plain text, as a table of thousands of rows takes rich longer to lay out than to hash."""
    size_width = max([len("size"), *(len(str(h.size)) for h in hashes.values())])
    lines = [f"{'md5':<32}  {'xxhash64':>20}  {'size':>{size_width}}  path"]
    lines += [f"{h.md5}  {h.xxh64:>20}  {h.size:>{size_width}}  {p}" for p, h in hashes.items()]
    return "\n".join(lines) + "\n"


def download(
    task: TaskArg,
    dest: Annotated[Optional[Path], typer.Option("--dest", help="Folder to write into (default: ./task-ID).")] = None,
    all_users: AllOption = False,
    json: JsonOption = False,
) -> int:
    """Download a task's results from storage and verify each file's hash.

    Example: rfarm download 12 --dest renders/
    """
    from rfarm.files.download import download_results
    from rfarm.submit.frames import format_frames

    api, caller, _ = connect(all_users=all_users)
    one = api.task(caller, task, with_frames=False)
    target = dest or Path(f"task-{one.task_id}")
    with transfer_bar(quiet=json) as bar:
        summary = download_results(api, caller, one.task_id, target, on_progress=None if json else bar)
    if json:
        print_json(summary)
    else:
        from rich.markup import escape

        for bad in summary.bad:
            info(f"[red]{bad.problem}:[/red] {escape(bad.message)}")
        info(f"downloaded {plural(summary.files, 'file')} / {size_text(summary.bytes)} to {summary.dest}"
             + (f" ({summary.refetched} fetched again after a hash mismatch)" if summary.refetched else ""))
    if not summary.bad:
        return 0
    frames = summary.bad_frames
    again = f"rfarm retry {summary.task_id} --frames {format_frames(frames) if frames else 'N'}"
    info(f"{plural(len(summary.bad), 'result')} could not be downloaded; render {'it' if len(summary.bad) == 1 else 'them'} "
         f"again with: {again}")
    return 1
