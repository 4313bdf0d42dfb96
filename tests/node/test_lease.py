"""The lease keeper on a real farm database, driven by a clock the test moves: no sleeping."""
from __future__ import annotations

from typing import Any

import pytest
from peewee import OperationalError

from rfarm.state import scheduler
from rfarm.node.lease import LeaseKeeper, renew_interval
from rfarm.state.models import Frame
from rfarm.state.scheduler import SubmitRequest


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def claim(farm: Any) -> scheduler.Claim:
    scheduler.submit(SubmitRequest(scene="/a.blend", renderer="blender", frames=[1, 2], chunk_size=2), user="alice")
    claim = scheduler.claim("n1", lease_s=20)
    assert claim is not None and len(claim.frames) == 2
    return claim


def ids(claim: scheduler.Claim) -> set[int]:
    return {f.id for f in claim.frames}


def test_the_lease_is_renewed_every_quarter_lease_with_the_progress(claim: scheduler.Claim) -> None:
    clock, renewals = Clock(), []
    keeper = LeaseKeeper(claim.token, 20, clock=clock, on_renewed=lambda: renewals.append(clock.now))
    assert keeper.renew_s == 5.0
    for step in range(1, 25):  # 12 s in half seconds
        clock.now = 1000.0 + step / 2
        assert keeper.check(ids(claim), progress={1: step * 4.0}) is None
    assert renewals == [1005.0, 1010.0]
    progress = {f.number: f.progress for f in Frame.select().where(Frame.id.in_(list(ids(claim))))}
    assert progress[1] == 80.0, "the progress sent with the last renewal"


def test_a_short_lease_is_still_renewed_at_most_every_second() -> None:
    assert renew_interval(2) == 1.0 and renew_interval(60) == 15.0


def test_a_cancel_is_seen_before_the_next_renewal(claim: scheduler.Claim) -> None:
    clock = Clock()
    keeper = LeaseKeeper(claim.token, 20, clock=clock)
    clock.now += 1
    assert keeper.check(ids(claim)) is None
    scheduler.cancel_task(claim.task_id, actor="alice")
    clock.now += 1
    assert keeper.check(ids(claim)) == "lease lost or task cancelled"


def test_a_frame_recorded_meanwhile_is_not_counted_lost(claim: scheduler.Claim) -> None:
    first, second = claim.frames
    scheduler.finish_frame(first.id, claim.token, outputs=["/out/1.png"])
    clock = Clock()
    keeper = LeaseKeeper(claim.token, 20, clock=clock)
    clock.now += 5
    assert keeper.check({second.id}) is None
    assert keeper.check({first.id, second.id}) == "lease lost or task cancelled"


def test_an_unreachable_database_loses_the_frames_only_when_the_lease_ran_out(claim: scheduler.Claim) -> None:
    """The database outage is a stand-in: functions that raise what peewee raises when the server is gone."""
    clock, down = Clock(), [False]

    def renew(token: str, **kw: Any) -> set[int]:
        if down[0]:
            raise OperationalError("server closed the connection unexpectedly")
        return scheduler.renew(token, **kw)

    def held(token: str) -> set[int]:
        if down[0]:
            raise OperationalError("server closed the connection unexpectedly")
        return scheduler.held_frames(token)

    keeper = LeaseKeeper(claim.token, 20, clock=clock, renew=renew, held=held)
    clock.now += 5
    assert keeper.check(ids(claim)) is None  # renewed at 1005: the lease lasts until 1025
    down[0] = True
    clock.now = 1024.0
    assert keeper.check(ids(claim)) is None, "the lease may still hold"
    down[0] = False
    assert keeper.check(ids(claim)) is None, "back in time: renewed until 1044"
    down[0] = True
    clock.now = 1043.5
    assert keeper.check(ids(claim)) is None
    clock.now = 1044.0
    assert keeper.check(ids(claim)) == "the lease could not be renewed"
