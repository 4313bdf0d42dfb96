"""The steps of a submit that every front end (the CLI, the DCC add-ons) takes the same way:
read the scene when rfarm can, and send the task through this machine's hash cache."""
from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from rfarm.files.hashing import HashCache
from rfarm.files.progress import ProgressCallback
from rfarm.submit import submission

if TYPE_CHECKING:
    from rfarm.analysis import AnalysisResult
    from rfarm.api import FarmAPI
    from rfarm.config import Config
    from rfarm.state.users import Caller
    from rfarm.submit.request import SubmitRequest


def analyse_if_readable(scene: str) -> AnalysisResult | None:
    """The scene's analysis with this machine's path mapping, or None for a kind rfarm does not read
    (or a path that is not a file: :func:`submission.build_request` names that error)."""
    from rfarm.submit.scene import analyse_for_farm, is_analysable

    path = Path(scene).expanduser()
    if not (is_analysable(scene) and path.is_file()):
        return None
    return analyse_for_farm(str(path.resolve()))


def hash_cache(config: Config) -> HashCache:
    """This machine's hash cache (under ``RFARM_HOME``), shared by every submit and upload."""
    return HashCache(config.home_dir / "hash_cache.db")


def send(
    api: FarmAPI,
    caller: Caller,
    config: Config,
    request: SubmitRequest,
    *,
    files: str,
    analysis: AnalysisResult | None,
    on_progress: ProgressCallback | None = None,
) -> submission.Submitted:
    """Upload what the farm lacks and record the task (:func:`submission.submit`) through the hash cache.

    On the farm's own machine a task with too many frames is refused before anything is uploaded
    (a server checks its own limit when it records the task)."""
    if not config.server_url:
        from rfarm.submit.recording import check_frame_count

        check_frame_count(request, config)
    with hash_cache(config) as cache:
        return submission.submit(api, caller, request, files=files, analysis=analysis, cache=cache,
                                 on_progress=on_progress)
