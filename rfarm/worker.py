"""The render-node loop: claim frames, hold their lease, render, report.

A :class:`Worker` runs ``slots`` render loops side by side and never hands
out more RAM or GPUs than the node has; each render gets its own GPUs through
``CUDA_VISIBLE_DEVICES``. While a render runs, a guard thread checks every
second that its frames are still held (a cancel takes them away), renews the
lease every ``max(1, lease/4)`` seconds and enforces the timeouts; when the
lease is gone it kills the render's process tree. The render itself runs
under :mod:`rfarm.process`, so it dies with the worker even when the worker
is killed outright.
"""
from __future__ import annotations

import logging
import os
import socket
import threading
import time
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import IO

from peewee import PeeweeException

from rfarm import nodes, scheduler, transfer, workspace
from rfarm.allocation import NodeCaps
from rfarm.config import Config
from rfarm.errors import Cancelled, RfarmError, StateError
from rfarm.farm import open_farm
from rfarm.hardware import Hardware, detect_hardware
from rfarm.models import database
from rfarm.preparation import NodeFiles
from rfarm.process import RenderProcess
from rfarm.queue import Queue
from rfarm.renderers import get_renderer, node_renderers
from rfarm.renderers.base import Renderer, RenderJob
from rfarm.stats import record_transfer
from rfarm.storage.keys import log_key

log = logging.getLogger(__name__)

IDLE_POLL_S = 2.0


@dataclass
class _Run:
    """What one render process has said so far."""

    claim: scheduler.Claim
    job: RenderJob
    attempt: Path
    pending: dict[int, scheduler.ClaimedFrame]
    current: int
    frame_started: float
    outputs: dict[int, list[str]] = field(default_factory=dict)
    errors: list[str] = field(default_factory=list)
    progress: dict[int, float] = field(default_factory=dict)
    last_progress: float = field(default_factory=time.monotonic)
    logs: dict[int, IO[str]] = field(default_factory=dict)
    stop_reason: str | None = None
    lost: bool = False
    ended: threading.Event = field(default_factory=threading.Event)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def stop(self, reason: str) -> bool:
        """Record why the render ends; only the first reason counts."""
        with self._lock:
            if self.stop_reason is not None:
                return False
            self.stop_reason = reason
            return True


class Worker:
    """Claims and renders frames until stopped (or, with ``burst``, until nothing is left)."""

    def __init__(
        self,
        config: Config,
        *,
        name: str | None = None,
        burst: bool = False,
        slots: int = 1,
        tags: tuple[str, ...] = (),
        queue: Queue | None = None,
        hardware: Hardware | None = None,
    ) -> None:
        self.config = config
        self.name = name or socket.gethostname()
        self.burst = burst
        self.slots = max(1, slots)
        self.tags = tuple(tags)
        self.queue = queue or open_farm(config).queue
        self.hardware = hardware or detect_hardware(config.workspace)
        self.paths = config.path_map
        self.lease_s = int(config.lease_seconds)
        self.renew_s = max(1.0, self.lease_s / 4)
        self.stopping = threading.Event()
        self._renderers: dict[str, Renderer] = {}
        self._lock = threading.Lock()
        self._free_ram = self.hardware.ram_gb
        self._free_gpus = [g.index for g in self.hardware.gpus]
        self._states: dict[int, str] = {}
        self._last_reap = 0.0
        self._is_enabled = True
        self.files = NodeFiles(config)
        self.rendered = 0

    # -- loop ---------------------------------------------------------------

    def run(self) -> int:
        """Render until stopped; returns the number of render processes run."""
        renderers = node_renderers(self.config)
        node = nodes.register_node(self.name, self.hardware, tags=list(self.tags), renderers=renderers)
        self._is_enabled = node.is_enabled
        self._caps = NodeCaps(self.hardware.ram_gb, len(self.hardware.gpus), self.hardware.gpu_memory_gb,
                              frozenset(self.tags), renderers)
        threads = [threading.Thread(target=self._slot, args=(i,), name=f"slot-{i}", daemon=True)
                   for i in range(self.slots)]
        for thread in threads:
            thread.start()
        try:
            while any(t.is_alive() for t in threads):
                for thread in threads:
                    thread.join(0.2)
        finally:
            self.stopping.set()
            for thread in threads:
                thread.join()
            try:
                nodes.heartbeat(self.name, "offline")
            except PeeweeException:
                pass
        return self.rendered

    def stop(self) -> None:
        """Stop soon: running renders are killed and their frames go back to the queue."""
        self.stopping.set()

    def _slot(self, index: int) -> None:
        while not self.stopping.is_set():
            try:
                if not self._step(index):
                    return
            except PeeweeException as exc:  # the database went away: wait and reconnect
                log.warning("database error: %s; retrying in %.0f s", exc, IDLE_POLL_S)
                if not database.is_closed():
                    database.close()
                self.stopping.wait(IDLE_POLL_S)

    def _step(self, index: int) -> bool:
        """Claim and render once, or wait for work; False when a burst slot is done."""
        if time.monotonic() - self._last_reap >= IDLE_POLL_S or self.burst:
            scheduler.requeue_expired()
            self._last_reap = time.monotonic()
        self.files.sweep_if_due()
        claim, gpus = self._claim()
        if claim is None:
            if self.burst:
                if not self._states:  # no other slot can still release frames (test frames)
                    return False
                self.stopping.wait(0.5)
                return True
            self._is_enabled = nodes.heartbeat(self.name, self._state(index, None))
            self.queue.wait(IDLE_POLL_S)
            return True
        try:
            self._state(index, f"task {claim.task_id} frames {_frames(claim)}")
            self.render(claim, gpus=gpus)
        finally:
            self._release(claim, gpus)
            self._state(index, None)
        return True

    def _claim(self) -> tuple[scheduler.Claim | None, list[int]]:
        """Claim what fits in the RAM and GPUs not in use by this node's other slots."""
        if not self._is_enabled or not self.files.can_claim(self.name):
            return None, []
        with self._lock:
            caps = NodeCaps(self._free_ram, len(self._free_gpus), self._caps.gpu_memory_gb,
                            self._caps.tags, self._caps.renderers)
            claim = scheduler.claim(self.name, lease_s=self.lease_s, caps=caps)
            if claim is None:
                return None, []
            gpus = self._free_gpus[: claim.gpus]
            self._free_gpus = self._free_gpus[claim.gpus :]
            self._free_ram -= claim.ram_gb
        return claim, gpus

    def _release(self, claim: scheduler.Claim, gpus: list[int]) -> None:
        with self._lock:
            self._free_ram += claim.ram_gb
            self._free_gpus = sorted(self._free_gpus + gpus)

    def _state(self, index: int, state: str | None) -> str:
        """Record what slot ``index`` does; the node's state line."""
        with self._lock:
            if state is None:
                self._states.pop(index, None)
            else:
                self._states[index] = state
            line = "rendering " + "; ".join(self._states.values()) if self._states else "idle"
        if state is not None:
            nodes.heartbeat(self.name, line)
        return line

    # -- one render ---------------------------------------------------------

    def render(self, claim: scheduler.Claim, *, gpus: list[int] | None = None) -> None:
        """Render the claimed frames (on ``gpus`` when given) and record each outcome."""
        frames = claim.frames
        scene = self.paths.for_os(claim.scene, self.hardware.os)
        attempt = workspace.attempt_dir(self.config, claim.user, claim.task_id, frames[0].number, claim.token)
        opts = claim.options
        job = RenderJob(
            scene=scene,
            frames=tuple(f.number for f in frames),
            output_dir=str(attempt),
            camera=claim.camera,
            layers=claim.layers,
            width=opts.get("width"),
            height=opts.get("height"),
            project_dir=opts.get("project_dir"),
            options={k: str(v) for k, v in opts.items() if isinstance(v, str)},
        )
        run = _Run(claim, job, attempt, {f.number: f for f in frames}, frames[0].number, time.monotonic())
        try:
            if opts.get("files"):
                run.job = job = self._prepare(run)
                scene = job.scene
            renderer = self._renderer(claim.renderer)
            check = getattr(renderer, "check_scene", None)
            if not Path(scene).is_file():
                raise RfarmError(f"scene file {scene} is not readable on node {self.name}")
            if check is not None:
                check(Path(scene))
            argv = renderer.build_command(job)
        except Cancelled:
            if not run.lost:
                scheduler.release_frames(claim.token)
            self._close_logs(run)
            return
        except RfarmError as exc:
            self._fail_all(run, str(exc))
            return
        self._log(run, run.current, f"$ {' '.join(argv)}\n")
        env = dict(os.environ)
        if gpus:
            env["CUDA_VISIBLE_DEVICES"] = ",".join(str(g) for g in gpus)
        proc = RenderProcess(argv, cwd=attempt, env=env)
        guard = threading.Thread(target=self._guard, args=(run, proc), daemon=True)
        guard.start()
        try:
            for line in proc.lines():
                event = renderer.parse_line(line)
                if event is not None and event.frame in run.pending and event.frame != run.current:
                    run.current, run.frame_started = event.frame, time.monotonic()
                    run.last_progress = run.frame_started
                self._log(run, run.current, line + "\n")
                if event is None:
                    continue
                if event.percent is not None:
                    number = event.frame if event.frame is not None else run.current
                    if run.progress.get(number) != event.percent:
                        run.progress[number] = event.percent
                        run.last_progress = time.monotonic()
                if event.output:
                    number = event.frame if event.frame is not None else run.current
                    run.outputs.setdefault(number, []).append(event.output)
                    if not renderer.reports_frames and number == run.current:
                        later = [n for n in run.job.frames if n > number and n in run.pending]
                        if later:
                            run.current, run.frame_started = later[0], time.monotonic()
                            run.last_progress = run.frame_started
                if event.error:
                    run.errors.append(event.error)
                if event.frame_done and event.frame in run.pending and run.stop_reason is None:
                    self._finish(run, renderer, event.frame)
            code = proc.wait()
        finally:
            if proc.poll() is None:
                proc.kill_tree()
            run.stop("finished")
            run.ended.set()
            guard.join()
            self._settle(run, renderer, proc.poll())
            self._close_logs(run)
        self.rendered += 1
        log.info("task %s frames %s: exit %s", claim.task_id, _frames(claim), code)

    def _settle(self, run: _Run, renderer: Renderer, code: int | None) -> None:
        """Record the frames the render did not finish one by one."""
        token = run.claim.token
        if run.lost:
            return  # cancelled or reaped: the frames are no longer ours
        if self.stopping.is_set() and run.stop_reason == "stopping":
            scheduler.release_frames(token)
            return
        if run.stop_reason not in (None, "finished"):
            reason: str | None = run.stop_reason
        else:
            reason = renderer.check_exit(code if code is not None else -1, run.errors)
        for number in list(run.pending):
            if reason:
                self._fail(run, number, reason)
            else:
                self._finish(run, renderer, number)

    def _finish(self, run: _Run, renderer: Renderer, number: int) -> None:
        frame = run.pending.pop(number)
        files = renderer.frame_outputs(run.job, number, run.outputs.get(number, []))
        missing = [str(p) for p in files if not p.is_file() or p.stat().st_size == 0]
        if not files or missing:
            what = f"output {missing[0]} is missing or empty" if missing else "the render wrote no image"
            self._fail(run, number, f"frame {number}: {what}", frame=frame)
            return
        output_dir = self.paths.for_os(run.claim.output_dir, self.hardware.os) if run.claim.output_dir else None
        dest = workspace.results_dir(self.config, run.claim.user, run.claim.task_id, output_dir)
        try:
            kept = workspace.keep_outputs(files, run.attempt, dest)
            storage = open_farm(self.config).storage
            started = time.monotonic()
            stored = transfer.store_results(storage, run.claim.task_id, number, [Path(k) for k in kept], base=dest)
            record_transfer("upload", node=self.name, task_id=run.claim.task_id,
                            size=sum(r.size for r in stored), seconds=time.monotonic() - started)
            scheduler.finish_frame(frame.id, run.claim.token, outputs=kept, log_path=self._log_name(run, number))
        except StateError:
            log.warning("frame %s of task %s was taken away before it finished", number, run.claim.task_id)
        except RfarmError as exc:
            self._fail(run, number, f"cannot store the results of frame {number}: {exc}", frame=frame)
        except OSError as exc:
            self._fail(run, number, f"cannot keep the output of frame {number}: {exc}", frame=frame)

    def _fail(self, run: _Run, number: int, error: str, *, frame: scheduler.ClaimedFrame | None = None) -> None:
        frame = frame or run.pending.pop(number)
        self._log(run, number, f"rfarm: frame {number} failed: {error}\n")
        try:
            scheduler.fail_frame(frame.id, run.claim.token, error=error, log_path=self._log_name(run, number))
        except StateError:
            pass

    def _fail_all(self, run: _Run, error: str) -> None:
        for number in list(run.pending):
            self._fail(run, number, error)
        self._close_logs(run)

    def _close_logs(self, run: _Run) -> None:
        """Close the frames' logs and copy them to storage, so `rfarm logs` works from any machine."""
        storage = open_farm(self.config).storage
        for number, fh in run.logs.items():
            fh.close()
            attempt = next(f.attempt for f in run.claim.frames if f.number == number)
            try:
                storage.put_file(log_key(run.claim.task_id, number, attempt), Path(fh.name))
            except (RfarmError, OSError) as exc:
                log.warning("could not store the log of frame %s: %s", number, exc)

    def _guard(self, run: _Run, proc: RenderProcess) -> None:
        """Watch the lease, the timeout and the stop flag while ``proc`` runs."""
        token = run.claim.token
        timeout_s = run.claim.timeout_s
        stall_s = run.claim.no_progress_timeout_s
        next_renew = time.monotonic() + self.renew_s
        lease_ends = time.monotonic() + self.lease_s
        while not run.ended.wait(0.25 if self.stopping.is_set() else 1.0):
            reason = None
            held: set[int] | None = None
            try:
                if time.monotonic() >= next_renew:
                    held = scheduler.renew(token, lease_s=self.lease_s, progress=dict(run.progress))
                    lease_ends = time.monotonic() + self.lease_s
                    next_renew = time.monotonic() + self.renew_s
                    scheduler.requeue_expired()
                    self._is_enabled = nodes.heartbeat(self.name)
                else:
                    held = scheduler.held_frames(token)
            except Exception as exc:  # the database is unreachable: retry until the lease runs out
                log.warning("lease check failed: %s", exc)
            lost = held is not None and bool({f.id for f in list(run.pending.values())} - held)
            if lost:
                reason = "lease lost or task cancelled"
            elif held is None and time.monotonic() >= lease_ends:
                lost, reason = True, "the lease could not be renewed"
            elif self.stopping.is_set():
                reason = "stopping"
            elif timeout_s and time.monotonic() - run.frame_started > timeout_s:
                reason = f"frame {run.current} rendered longer than the {timeout_s / 60:g} min timeout"
            elif stall_s and time.monotonic() - run.last_progress > stall_s:
                reason = f"frame {run.current} made no progress for {stall_s / 60:g} min"
            if reason and run.stop(reason):
                run.lost = lost
                log.info("stopping render of task %s: %s", run.claim.task_id, reason)
                proc.kill_tree()
                return

    # -- files ---------------------------------------------------------------

    def _prepare(self, run: _Run) -> RenderJob:
        """Fetch the task's files into its workspace (holding the lease meanwhile); the job to render."""
        claim = run.claim
        fetched = threading.Event()
        keeper = threading.Thread(target=self._keep_lease, args=(run, fetched), daemon=True)
        keeper.start()
        started = time.monotonic()
        try:
            prepared = self.files.prepare(
                task_id=claim.task_id,
                user=claim.user,
                storage=open_farm(self.config).storage,
                map_path=lambda path: self.paths.for_os(path, self.hardware.os),
                on_progress=lambda _: not (run.lost or self.stopping.is_set()),
            )
        finally:
            fetched.set()
            keeper.join()
        record_transfer("download", node=self.name, task_id=claim.task_id, size=prepared.bytes_downloaded,
                        seconds=time.monotonic() - started)
        if run.lost:
            raise Cancelled(f"task {claim.task_id}: the frames were taken away while their files were fetched")
        if prepared.files:
            self._log(run, run.current, f"rfarm: prepared {prepared.files} files in {prepared.project} "
                      f"({prepared.downloaded} downloaded, {prepared.bytes_downloaded} bytes, "
                      f"{prepared.refetched} fetched again after a hash mismatch)\n")
        options = dict(run.job.options)
        if prepared.remap_file is not None:
            options["remap_file"] = str(prepared.remap_file)
        if prepared.relative_base is not None:
            options["relative_base"] = prepared.relative_base
        return replace(run.job, scene=str(prepared.scene), options=options)

    def _keep_lease(self, run: _Run, done: threading.Event) -> None:
        """Renew the lease until ``done``; mark the run lost when its frames are taken away."""
        ids = {f.id for f in run.claim.frames}
        while not done.wait(self.renew_s):
            try:
                held = scheduler.renew(run.claim.token, lease_s=self.lease_s)
            except Exception as exc:  # the database is unreachable: try again, the lease may hold
                log.warning("lease renewal failed: %s", exc)
                continue
            if ids - held:
                run.lost = True
                return

    # -- helpers ------------------------------------------------------------

    def _renderer(self, name: str) -> Renderer:
        if name not in self._renderers:
            self._renderers[name] = get_renderer(name, self.config)
        return self._renderers[name]

    def _log_name(self, run: _Run, number: int) -> str:
        attempt = next((f.attempt for f in run.claim.frames if f.number == number), 1)
        return str(workspace.frame_log_path(self.config, run.claim.task_id, number, attempt))

    def _log(self, run: _Run, number: int, text: str) -> None:
        fh = run.logs.get(number)
        if fh is None:
            path = Path(self._log_name(run, number))
            path.parent.mkdir(parents=True, exist_ok=True)
            fh = run.logs[number] = open(path, "a", encoding="utf-8", buffering=1)
            frame = next(f for f in run.claim.frames if f.number == number)
            scheduler.set_log_path(frame.id, run.claim.token, str(path))
        fh.write(text)


def _frames(claim: scheduler.Claim) -> str:
    from rfarm.frames import format_frames

    return format_frames([f.number for f in claim.frames])
