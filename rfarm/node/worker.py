"""The render-node loop: claim frames, hold their lease, render, report.

A :class:`Worker` runs ``slots`` render loops side by side and never hands
out more RAM or GPUs than the node has; each render gets its own GPUs through
``CUDA_VISIBLE_DEVICES``. From the first fetched file to the end of a render,
a watcher thread asks a :class:`~rfarm.node.lease.LeaseKeeper` every second whether
the frames are still held (a cancel takes them away) and, once the render
runs, enforces the stop flag and the timeouts that a
:class:`~rfarm.node.frame_tracker.FrameTracker` reads from the renderer's log;
when the lease is gone it kills the render's process tree. The render itself
runs under :mod:`rfarm.node.process`, so it dies with the worker even when the
worker is killed outright.

A slot never dies quietly: an unexpected error is logged as one line with its
cause and the slot backs off (2 s, doubling up to a minute) and carries on; a
``burst`` worker stops instead and says so (:attr:`Worker.failed`), so its
exit code is not 0. The frames the slot held are given back: released when the
node is at fault (its configuration, its disk, the database, the storage:
:data:`NODE_FAULTS`; a full storage must not blocklist every node for a task),
failed with the cause otherwise, so a frame that breaks rfarm uses up its
attempts instead of going round the farm for ever.
"""
from __future__ import annotations

import logging
import os
import socket
import threading
import time
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import IO

import psutil
from peewee import PeeweeException

from rfarm.state import nodes, scheduler
from rfarm.files import thumbnails, transfer, workspace
from rfarm.state.allocation import NodeCaps
from rfarm.config import Config
from rfarm.errors import Cancelled, ConfigError, RfarmError, StateError, StorageError, first_line
from rfarm.state.farm import open_farm
from rfarm.node.frame_tracker import FrameTracker
from rfarm.node.hardware import Hardware, detect_hardware
from rfarm.node.lease import LeaseKeeper
from rfarm.state.models import Node, database
from rfarm.node.preparation import NodeFiles
from rfarm.node.process import RenderProcess, node_renders
from rfarm.state.queue import Queue
from rfarm.renderers import get_renderer, node_renderers
from rfarm.renderers.base import Renderer, RenderJob
from rfarm.state.stats import record_transfer
from rfarm.storage.base import Storage
from rfarm.storage.keys import log_key

log = logging.getLogger(__name__)

IDLE_POLL_S = 2.0
MAX_BACKOFF_S = 60.0
#: errors that say the node cannot work (not that a frame cannot be rendered): its frames are released
NODE_FAULTS: tuple[type[BaseException], ...] = (ConfigError, OSError, PeeweeException, StorageError)


def describe_error(exc: BaseException) -> str:
    """One line for an unexpected error: its type, message and, for a bug, where it was raised."""
    text = f"{type(exc).__name__}: {first_line(exc)}"
    if isinstance(exc, (RfarmError, OSError, PeeweeException)) or exc.__traceback__ is None:
        return text
    tb = exc.__traceback__
    while tb.tb_next is not None:
        tb = tb.tb_next
    return f"{text} (at {Path(tb.tb_frame.f_code.co_filename).name}:{tb.tb_lineno})"


def backoff_s(failures: int) -> float:
    """The wait after ``failures`` unexpected errors in a row: 2 s, doubling, at most a minute."""
    return min(MAX_BACKOFF_S, IDLE_POLL_S * 2 ** min(failures - 1, 16))


@dataclass
class _Run:
    """One claim on this node: its job, what its log said, its open logs and why it stopped."""

    claim: scheduler.Claim
    job: RenderJob
    attempt: Path
    tracker: FrameTracker
    logs: dict[int, IO[str]] = field(default_factory=dict)
    proc: RenderProcess | None = None
    stop_reason: str | None = None
    lost: bool = False
    ended: threading.Event = field(default_factory=threading.Event)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def frame(self, number: int) -> scheduler.ClaimedFrame:
        return next(f for f in self.claim.frames if f.number == number)

    def unfinished_ids(self) -> set[int]:
        """The ids of the frames still to be recorded."""
        return {self.frame(n).id for n in self.tracker.unfinished}

    def attach(self, proc: RenderProcess) -> None:
        """The render process started; it is killed at once when the run was stopped meanwhile."""
        with self._lock:
            self.proc = proc
            stopped = self.stop_reason is not None
        if stopped:
            proc.kill_tree()

    def stop(self, reason: str, *, lost: bool = False) -> bool:
        """Record why the run ends and kill its render; only the first reason counts.

        ``lost``: the frames are no longer this node's (cancelled, or the lease ran out).
        """
        with self._lock:
            if self.stop_reason is not None:
                return False
            self.stop_reason, self.lost, proc = reason, lost, self.proc
        if proc is not None and reason != "finished":
            proc.kill_tree()
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
        renderers: Mapping[str, str] | None = None,
    ) -> None:
        """``hardware`` and ``renderers`` (name → version) describe the node; detected when not given."""
        self.config = config
        self.name = name or socket.gethostname()
        self.burst = burst
        self.slots = max(1, slots)
        self.tags = tuple(tags)
        self.queue = queue or open_farm(config).queue
        self.hardware = hardware or detect_hardware(config.workspace)
        self.paths = config.path_map
        self.lease_s = int(config.lease_seconds)
        self.stopping = threading.Event()
        self._renderer_versions = dict(renderers) if renderers is not None else None
        self._renderers: dict[str, Renderer] = {}
        self._lock = threading.Lock()
        self._free_ram = self.hardware.ram_gb
        self._free_gpus = [g.index for g in self.hardware.gpus]
        self._states: dict[int, str] = {}
        self._last_reap = 0.0
        self._is_enabled = True
        self.files = NodeFiles(config)
        self.rendered = 0
        #: why a burst slot stopped early (an unexpected error), None if none did
        self.failed: str | None = None

    # -- loop ---------------------------------------------------------------

    def register(self) -> None:
        """Record this node, its hardware and its renderers in the farm; :meth:`run` starts with this."""
        renderers = self._renderer_versions
        if renderers is None:
            renderers = node_renderers(self.config)
        if not renderers:
            log.warning("node %s offers no renderer: it claims nothing until one is installed or configured",
                        self.name)
        previous = Node.get_or_none(Node.name == self.name)
        node = nodes.register_node(self.name, self.hardware, tags=list(self.tags), renderers=renderers)
        self._is_enabled = node.is_enabled
        if previous is not None and self._previous_run_died(previous.hostname, previous.pid):
            if moved := scheduler.requeue_expired(worker=self.name):
                log.warning("node %s: its previous run (PID %s) died; its %s frames are back in the queue",
                            self.name, previous.pid, moved)
        self._caps = NodeCaps(self.hardware.ram_gb, len(self.hardware.gpus), self.hardware.gpu_memory_gb,
                              frozenset(self.tags), renderers)

    def _previous_run_died(self, hostname: str, pid: int) -> bool:
        """Whether the last run of this node was on this machine, has ended and left no render alive.

        Then no lease of its frames is held by anyone, and they can go back to
        the queue at once rather than when their lease runs out. A PID that
        runs again (reused) counts as alive: the lease decides then.
        """
        if hostname != self.hardware.hostname or pid in (0, os.getpid()):
            return False
        return not psutil.pid_exists(pid) and not node_renders(self.name)

    def run(self) -> int:
        """Render until stopped; returns the number of render processes run."""
        self.register()
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
        errors = 0
        while not self.stopping.is_set():
            try:
                if not self._step(index):
                    return
                errors = 0
            except PeeweeException as exc:  # the database went away: wait and reconnect
                log.warning("database error: %s; retrying in %.0f s", exc, IDLE_POLL_S)
                if not database.is_closed():
                    database.close()
                self.stopping.wait(IDLE_POLL_S)
            except Exception as exc:  # noqa: BLE001 - a slot must never die quietly
                cause = describe_error(exc)
                if self.burst:
                    log.error("node %s, slot %s: %s; stopping", self.name, index, cause)
                    self.failed = cause
                    return
                errors += 1
                log.error("node %s, slot %s: %s; retrying in %.0f s", self.name, index, cause, backoff_s(errors))
                self.stopping.wait(backoff_s(errors))

    def _step(self, index: int) -> bool:
        """Claim and render once, or wait for work; False when a burst slot is done."""
        if time.monotonic() - self._last_reap >= IDLE_POLL_S or self.burst:
            scheduler.requeue_expired()
            self._last_reap = time.monotonic()
        self.files.sweep_if_due()
        claim, gpus = self.claim()
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
        except Exception as exc:
            self._give_back(claim, exc)
            raise
        finally:
            self.release(claim, gpus)
            self._state(index, None)
        return True

    def _give_back(self, claim: scheduler.Claim, exc: Exception) -> None:
        """After an unexpected error: release the frames ``claim`` still holds (the node's fault) or fail them."""
        try:
            held = scheduler.held_frames(claim.token)
            if not held:
                return
            if isinstance(exc, NODE_FAULTS):
                scheduler.release_frames(claim.token)
                return
            for frame in claim.frames:
                if frame.id in held:
                    scheduler.fail_frame(frame.id, claim.token, error=f"rfarm failed: {describe_error(exc)}")
        except (PeeweeException, StateError) as again:  # the lease runs out and the frames come back then
            log.warning("task %s: could not give back frames %s: %s", claim.task_id, _frames(claim), again)

    @property
    def free_ram_gb(self) -> float:
        """The RAM no render of this node holds now."""
        with self._lock:
            return self._free_ram

    def claim(self) -> tuple[scheduler.Claim | None, list[int]]:
        """Claim what fits in the RAM and GPUs not in use by this node's other slots; the claim and its GPUs.

        Call :meth:`register` first; hand the RAM and GPUs back with :meth:`release`.
        """
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

    def release(self, claim: scheduler.Claim, gpus: list[int]) -> None:
        """The render of ``claim`` on ``gpus`` ended: its RAM and GPUs are free again."""
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
        """Render the claimed frames (on ``gpus`` when given) and record each outcome.

        A watcher thread holds the lease from the first fetched file to the end
        of the render, and stops the render when the frames are lost, the
        worker stops or a frame runs past its timeouts (which count from here,
        the fetching of the task's files included).
        """
        renderer = self._renderer(claim.renderer)  # a node claims only the renderers it has
        attempt = workspace.attempt_dir(self.config, claim.user, claim.task_id, claim.frames[0].number, claim.token)
        job = self._job(claim, attempt)
        tracker = FrameTracker(job.frames, reports_frames=renderer.reports_frames, now=time.monotonic())
        run = _Run(claim, job, attempt, tracker)
        keeper = LeaseKeeper(claim.token, self.lease_s, on_renewed=self._renewed)
        watcher = threading.Thread(target=self._watch, args=(run, keeper), daemon=True)
        watcher.start()
        proc: RenderProcess | None = None
        try:
            proc = self._start(run, renderer, gpus)
            if proc is not None:
                for line in proc.lines():
                    fed = tracker.feed(renderer.parse_line(line), time.monotonic(), line)
                    self._log(run, fed.frame, line + "\n")
                    if fed.finished is not None and run.stop_reason is None:
                        self._finish(run, renderer, fed.finished)
                proc.wait()
        except Exception as exc:
            # node faults: the frames are released by the slot; else _settle fails them with the cause
            run.stop(f"rfarm failed: {describe_error(exc)}", lost=isinstance(exc, NODE_FAULTS))
            raise
        finally:
            if proc is not None and proc.poll() is None:
                proc.kill_tree()
            run.stop("finished")
            run.ended.set()
            watcher.join()
            try:
                if proc is not None:
                    self._settle(run, renderer, proc.poll())
            finally:
                self._close_logs(run)
        if proc is not None:
            self.rendered += 1
            log.info("task %s frames %s: exit %s", claim.task_id, _frames(claim), proc.poll())

    def _start(self, run: _Run, renderer: Renderer, gpus: list[int] | None) -> RenderProcess | None:
        """Fetch the files, check the scene and start its render; None when the frames are recorded already."""
        claim = run.claim
        try:
            if claim.options.get("files"):
                run.job = self._prepare(run)
            scene = Path(run.job.scene)
            if not scene.is_file():
                raise RfarmError(f"scene file {scene} is not readable on node {self.name}")
            renderer.check_scene(scene)
            argv = renderer.build_command(run.job)
        except Cancelled:
            if not run.lost:
                scheduler.release_frames(claim.token)
            return None
        except ConfigError:
            raise  # the node's set-up, not the frame: the slot releases the frames and backs off
        except RfarmError as exc:
            for number in run.tracker.unfinished:
                self._fail(run, number, str(exc))
            return None
        self._log(run, run.tracker.current, f"$ {' '.join(argv)}\n")
        env = dict(os.environ)
        if gpus:
            env["CUDA_VISIBLE_DEVICES"] = ",".join(str(g) for g in gpus)
        try:
            proc = RenderProcess(argv, cwd=run.attempt, env=env, node=self.name)
        except (FileNotFoundError, PermissionError) as exc:  # Windows starts the program itself (no lifeline)
            for number in run.tracker.unfinished:
                self._fail(run, number, f"cannot start {argv[0]}: {exc.strerror or exc}")
            return None
        run.attach(proc)
        return proc

    def _job(self, claim: scheduler.Claim, attempt: Path) -> RenderJob:
        """The render job of ``claim``, with the scene as this node sees it."""
        opts = claim.options
        return RenderJob(
            scene=self.paths.for_os(claim.scene, self.hardware.os),
            frames=tuple(f.number for f in claim.frames),
            output_dir=str(attempt),
            camera=claim.camera,
            layers=claim.layers,
            width=opts.get("width"),
            height=opts.get("height"),
            project_dir=opts.get("project_dir"),
            options={k: str(v) for k, v in opts.items() if isinstance(v, str)},
        )

    def _settle(self, run: _Run, renderer: Renderer, code: int | None) -> None:
        """Record the frames the render did not finish one by one."""
        if run.lost:
            return  # cancelled or reaped: the frames are no longer ours
        if self.stopping.is_set() and run.stop_reason == "stopping":
            scheduler.release_frames(run.claim.token)
            return
        if run.stop_reason not in (None, "finished"):
            reason: str | None = run.stop_reason
        else:
            reason = renderer.check_exit(code if code is not None else -1, run.tracker.errors)
        for number in run.tracker.unfinished:
            if reason:
                self._fail(run, number, reason)
            else:
                self._finish(run, renderer, number)

    def _finish(self, run: _Run, renderer: Renderer, number: int) -> None:
        run.tracker.close(number)
        files = renderer.frame_outputs(run.job, number, run.tracker.outputs.get(number, []))
        missing = [str(p) for p in files if not p.is_file() or p.stat().st_size == 0]
        if not files or missing:
            what = f"output {missing[0]} is missing or empty" if missing else "the render wrote no image"
            self._fail(run, number, f"frame {number}: {what}")
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
            self._thumbnail(run, number, storage, [Path(k) for k in kept])
            scheduler.finish_frame(run.frame(number).id, run.claim.token, outputs=kept,
                                   log_path=self._log_name(run, number))
        except StateError:
            log.warning("frame %s of task %s was taken away before it finished", number, run.claim.task_id)
        except StorageError as exc:  # storage full or gone: not the frame's fault, nor the node's
            raise StorageError(f"cannot store the results of frame {number}: {exc}") from exc
        except OSError as exc:  # this node's disk: the slot releases the frames and pauses
            raise OSError(exc.errno, f"cannot keep the output of frame {number}: {exc.strerror or exc}") from exc
        except RfarmError as exc:
            self._fail(run, number, f"cannot store the results of frame {number}: {exc}")

    def _thumbnail(self, run: _Run, number: int, storage: Storage, files: list[Path]) -> None:
        """Store the thumbnail of the frame's first image before the frame is recorded done (so a
        dashboard that hears of the frame finds it). Whatever goes wrong here is logged: a
        thumbnail never fails its frame."""
        try:
            made = thumbnails.store_thumbnail(storage, run.claim.task_id, number, run.frame(number).attempt, files)
        except Exception as exc:  # noqa: BLE001 - any failure here, even an unforeseen one, must spare the frame
            log.warning("no thumbnail of frame %s of task %s: %s", number, run.claim.task_id, exc)
            self._log(run, number, f"rfarm: no thumbnail: {exc}\n")
            return
        if made.error:
            self._log(run, number, f"rfarm: no thumbnail: {made.error}\n")

    def _fail(self, run: _Run, number: int, error: str) -> None:
        run.tracker.close(number)
        self._log(run, number, f"rfarm: frame {number} failed: {error}\n")
        try:
            scheduler.fail_frame(run.frame(number).id, run.claim.token, error=error,
                                 log_path=self._log_name(run, number))
        except StateError:
            pass

    def _close_logs(self, run: _Run) -> None:
        """Close the frames' logs and copy them to storage, so `rfarm logs` works from any machine."""
        storage = open_farm(self.config).storage
        for number, fh in run.logs.items():
            fh.close()
            try:
                storage.put_file(log_key(run.claim.task_id, number, run.frame(number).attempt), Path(fh.name))
            except (RfarmError, OSError) as exc:
                log.warning("could not store the log of frame %s: %s", number, exc)

    def _watch(self, run: _Run, keeper: LeaseKeeper) -> None:
        """Hold the lease until the run ends; stop the render when it must end early (also when this fails)."""
        try:
            self._watch_lease(run, keeper)
        except Exception as exc:  # noqa: BLE001 - without the watcher nobody holds the lease: end the render
            cause = describe_error(exc)
            log.error("node %s: watching task %s failed: %s", self.name, run.claim.task_id, cause)
            run.stop(f"rfarm failed: {cause}")  # its unfinished frames fail with the cause

    def _watch_lease(self, run: _Run, keeper: LeaseKeeper) -> None:
        claim = run.claim
        while not run.ended.wait(0.25 if self.stopping.is_set() else 1.0):
            lost = keeper.check(run.unfinished_ids(), progress=dict(run.tracker.progress))
            if lost:
                reason: str | None = lost
            elif run.proc is None:
                continue  # fetching files: a stop cancels the fetch itself
            elif self.stopping.is_set():
                reason = "stopping"
            else:
                reason = run.tracker.overdue(time.monotonic(), timeout_s=claim.timeout_s,
                                             no_progress_s=claim.no_progress_timeout_s)
            if reason and run.stop(reason, lost=lost is not None):
                log.info("stopping render of task %s: %s", claim.task_id, reason)
                return

    def _renewed(self) -> None:
        """After each lease renewal: requeue other nodes' expired frames, say this node is alive."""
        scheduler.requeue_expired()
        self._is_enabled = nodes.heartbeat(self.name)

    # -- files ---------------------------------------------------------------

    def _prepare(self, run: _Run) -> RenderJob:
        """Fetch the task's files into its workspace (the watcher holds the lease); the job to render."""
        claim = run.claim
        started = time.monotonic()
        prepared = self.files.prepare(
            task_id=claim.task_id,
            user=claim.user,
            storage=open_farm(self.config).storage,
            map_path=lambda path: self.paths.for_os(path, self.hardware.os),
            on_progress=lambda _: not (run.lost or self.stopping.is_set()),
        )
        record_transfer("download", node=self.name, task_id=claim.task_id, size=prepared.bytes_downloaded,
                        seconds=time.monotonic() - started)
        if run.lost:
            raise Cancelled(f"task {claim.task_id}: the frames were taken away while their files were fetched")
        if prepared.files:
            self._log(run, run.tracker.current, f"rfarm: prepared {prepared.files} files in {prepared.project} "
                      f"({prepared.downloaded} downloaded, {prepared.bytes_downloaded} bytes, "
                      f"{prepared.refetched} fetched again after a hash mismatch)\n")
        options = dict(run.job.options)
        if prepared.remap_file is not None:
            options["remap_file"] = str(prepared.remap_file)
        if prepared.relative_base is not None:
            options["relative_base"] = prepared.relative_base
        return replace(run.job, scene=str(prepared.scene), options=options)

    # -- helpers ------------------------------------------------------------

    def _renderer(self, name: str) -> Renderer:
        if name not in self._renderers:
            self._renderers[name] = get_renderer(name, self.config)
        return self._renderers[name]

    def _log_name(self, run: _Run, number: int) -> str:
        return str(workspace.frame_log_path(self.config, run.claim.task_id, number, run.frame(number).attempt))

    def _log(self, run: _Run, number: int, text: str) -> None:
        fh = run.logs.get(number)
        if fh is None:
            path = Path(self._log_name(run, number))
            path.parent.mkdir(parents=True, exist_ok=True)
            fh = run.logs[number] = open(path, "a", encoding="utf-8", buffering=1)
            scheduler.set_log_path(run.frame(number).id, run.claim.token, str(path))
        fh.write(text)


def _frames(claim: scheduler.Claim) -> str:
    from rfarm.submit.frames import format_frames

    return format_frames([f.number for f in claim.frames])
