"""The farm's half of a submit: record a task with its manifest and wake the nodes.

A submit crosses a network in two phases (:mod:`rfarm.submit.submission` is the
first, on the submitting machine). This second phase is atomic: the task
row, its frames, its file records and its manifest in storage exist all
together or not at all. The manifest is written while the task's
transaction is still open, so no node can see the task before its manifest;
if the write fails the transaction rolls back, and if the commit fails the
manifest is deleted again.
"""
from __future__ import annotations

import logging
from dataclasses import replace
from datetime import datetime

from rfarm.config import Config
from rfarm.state import scheduler
from rfarm.state.allocation import Needs, check_capacity
from rfarm.state.db import db_now
from rfarm.errors import RfarmError, UsageError
from rfarm.state.farm import Farm
from rfarm.state.hwconfigs import with_hardware_config
from rfarm.files.manifest import Manifest
from rfarm.state.models import Asset, TaskAsset, database
from rfarm.submit.request import SubmitRequest
from rfarm.state.states import Priority
from rfarm.storage.base import Storage
from rfarm.storage.keys import manifest_key
from rfarm.state.users import get_user

log = logging.getLogger(__name__)

#: how many nodes a submit, resume or retry wakes at most (each wakes the next when it finishes)
WAKE_LIMIT = 16


def record_task(
    farm: Farm, request: SubmitRequest, manifest: Manifest | None, *, user: str, storage: Storage
) -> tuple[int, list[str]]:
    """Record ``request`` for ``user``; returns the task id and the farm's warnings.

    Raises:
        UsageError: the request has more frames than ``max_frames_per_task``, needs hardware no node has, names an unknown
            hardware config, or its manifest names files ``user`` never uploaded.
        StorageError: the manifest could not be stored (nothing is recorded).
    """
    check_frame_count(request, farm.config)
    queue = farm.queue  # refuses a misconfigured queue before anything is recorded
    now = db_now()
    request = with_hardware_config(request)
    warnings = []
    warning = check_capacity(Needs(request.ram_gb, request.gpus, request.gpu_memory_gb,
                                   frozenset(request.tags), request.renderer, request.renderer_version), now)
    if warning:
        warnings.append(warning)
    limits = scheduler.Limits(farm.config.max_attempts, farm.config.max_lost_leases)
    if manifest is None:
        task_id = scheduler.submit(request, user=user, limits=limits, now=now)
    else:
        task_id = _record_with_manifest(storage, request, manifest, user=user, limits=limits, now=now)
    priority = 0 if request.test_frames else Priority(request.priority).order
    queue.notify(task_id, priority=priority, count=min(request.chunk_count, WAKE_LIMIT))
    return task_id, warnings


def check_frame_count(request: SubmitRequest, config: Config) -> None:
    """UsageError when the task has more frames than the farm's ``max_frames_per_task``."""
    limit = config.max_frames_per_task
    if len(request.frames) > limit:
        raise UsageError(f"the task has {len(request.frames):,} frames, more than max_frames_per_task ({limit:,}): "
                         "split it into several tasks, or raise the limit with rfarm config set max_frames_per_task N")


def _record_with_manifest(
    storage: Storage, request: SubmitRequest, manifest: Manifest, *, user: str, limits: scheduler.Limits, now: datetime
) -> int:
    owner = get_user(user)
    request = replace(request, options={**request.options, "files": manifest.mode})
    stored = None
    try:
        with database.atomic():
            task_id = scheduler.submit(request, user=user, limits=limits, now=now)
            doc = manifest.for_task(task_id, owner.unionid)
            _record_task_assets(task_id, owner.id, doc)
            storage.put_bytes(manifest_key(task_id), doc.encode())
            stored = manifest_key(task_id)
    except BaseException:
        if stored is not None:
            _forget_manifest(storage, stored)
        raise
    return task_id


def _record_task_assets(task_id: int, owner_id: int, doc: Manifest) -> None:
    """One TaskAsset row per manifest file; every file must be one the user has uploaded."""
    assets = {
        (a.hash, a.xxhash): a.id
        for a in Asset.select(Asset.id, Asset.hash, Asset.xxhash).where(
            (Asset.user == owner_id) & Asset.hash.in_(sorted({e.hash for e in doc.files}))
        )
    }
    rows = []
    for entry in doc.files:
        asset = assets.get((entry.hash, entry.xxhash))
        if asset is None:
            raise UsageError(f"{entry.path} was not uploaded (no stored file has its hash); upload it and submit again")
        rows.append({"task": task_id, "asset": asset, "path": entry.path, "is_scene": entry.is_scene})
    for start in range(0, len(rows), 100):
        TaskAsset.insert_many(rows[start : start + 100]).execute()


def _forget_manifest(storage: Storage, key: str) -> None:
    """Best effort: a manifest whose task was not recorded must not stay behind."""
    try:
        storage.delete(key)
    except RfarmError as exc:
        log.warning("could not remove the manifest %s of a task that was not recorded: %s", key, exc)
