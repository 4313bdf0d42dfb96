"""Holding the lease on claimed frames while their files are fetched and while they render.

The node that claimed frames owns them only while their lease lasts. A
:class:`LeaseKeeper` is asked about once a second whether the frames are still
the node's: every ``max(1, lease/4)`` seconds it renews the lease, in between
it asks which frames are still held (a cancel takes them away at once). When
the database cannot be reached it keeps trying until the lease has run out.
"""
from __future__ import annotations

import logging
import time
from collections.abc import Callable, Collection

from rfarm.state import scheduler

log = logging.getLogger(__name__)

Renew = Callable[..., set[int]]
Held = Callable[[str], set[int]]


class LeaseKeeper:
    """The lease of one claim (``token``), renewed for ``lease_s`` seconds at a time.

    Args:
        token: the claim's token.
        lease_s: how long each renewal holds the frames.
        clock: monotonic seconds; tests pass their own.
        renew: renews the lease and returns the ids of the frames still held
            (:func:`rfarm.state.scheduler.renew`).
        held: the ids of the frames still held (:func:`rfarm.state.scheduler.held_frames`).
        on_renewed: called after each renewal (the worker requeues expired
            leases and sends its heartbeat then); its failures are logged.
    """

    def __init__(
        self,
        token: str,
        lease_s: int,
        *,
        clock: Callable[[], float] = time.monotonic,
        renew: Renew = scheduler.renew,
        held: Held = scheduler.held_frames,
        on_renewed: Callable[[], object] | None = None,
    ) -> None:
        self.token = token
        self.lease_s = lease_s
        self.renew_s = renew_interval(lease_s)
        self._clock = clock
        self._renew = renew
        self._held = held
        self._on_renewed = on_renewed
        now = clock()
        self._next_renew = now + self.renew_s
        self._lease_ends = now + lease_s

    def check(self, frame_ids: Collection[int], *, progress: dict[int, float] | None = None) -> str | None:
        """Renew the lease when due, else look at it; why ``frame_ids`` are no longer ours, or None.

        ``progress`` (frame number → percent) is recorded with each renewal.
        """
        held: set[int] | None = None
        try:
            if self._clock() >= self._next_renew:
                held = self._renew(self.token, lease_s=self.lease_s, progress=progress)
                now = self._clock()
                self._lease_ends = now + self.lease_s
                self._next_renew = now + self.renew_s
                if self._on_renewed is not None:
                    self._on_renewed()
            else:
                held = self._held(self.token)
        except Exception as exc:  # the database is unreachable: retry until the lease runs out
            log.warning("lease check failed: %s", exc)
        if held is not None:
            return "lease lost or task cancelled" if set(frame_ids) - held else None
        if self._clock() >= self._lease_ends:
            return "the lease could not be renewed"
        return None


def renew_interval(lease_s: float) -> float:
    """How often a lease of ``lease_s`` seconds is renewed: a quarter of it, at least every second."""
    return max(1.0, lease_s / 4)
