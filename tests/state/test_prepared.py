"""Prepared statements, and what a claim and a finish cost in statements, on SQLite and on PostgreSQL."""
from __future__ import annotations

import logging
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import pytest
from rfarm_testlib import TEST_USER

from rfarm.state import scheduler
from rfarm.state.db import db_now, is_postgres
from rfarm.state.models import Frame, Task, database
from rfarm.state.prepared import Prepared, Slot
from rfarm.state.scheduler import SubmitRequest


class _Statements(logging.Handler):
    """The SQL texts peewee sends, as its logger reports them (one record per statement)."""

    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.sql: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.sql.append(str(record.msg))  # peewee logs (sql, params)


@contextmanager
def statements() -> Iterator[list[str]]:
    handler = _Statements()
    logger = logging.getLogger("peewee")
    level = logger.level
    logger.addHandler(handler)
    logger.setLevel(logging.DEBUG)
    try:
        yield handler.sql
    finally:
        logger.removeHandler(handler)
        logger.setLevel(level)


def test_a_prepared_query_is_rendered_once_and_answers_as_peewee_would(any_farm: Any) -> None:
    task_id = scheduler.submit(SubmitRequest(scene="/s.blend", renderer="blender", frames=range(1, 6)), user=TEST_USER)
    builds: list[bool] = []

    def build(pg: bool):  # type: ignore[no-untyped-def]
        builds.append(pg)
        return Frame.select(Frame.number).where((Frame.task == Slot("task")) & (Frame.number >= Slot("low"))).tuples()

    query = Prepared(build)
    assert query.rows(task=task_id, low=4) == [(4,), (5,)]
    assert query.rows(task=task_id, low=2) == list(
        Frame.select(Frame.number).where((Frame.task == task_id) & (Frame.number >= 2)).tuples())
    assert query.rows(task=task_id + 1, low=0) == []
    assert builds == [is_postgres(database.obj)]


def test_a_prepared_write_counts_the_rows_it_changed(any_farm: Any) -> None:
    task_id = scheduler.submit(SubmitRequest(scene="/s.blend", renderer="blender", frames=range(1, 6)), user=TEST_USER)
    rename = Prepared(lambda pg: Task.update(name=Slot("name")).where(Task.id == Slot("task")))
    assert rename.count(name="shot 10", task=task_id) == 1
    assert rename.count(name="nothing", task=task_id + 1) == 0
    assert Task.get_by_id(task_id).name == "shot 10"


def test_a_missing_slot_value_is_refused(any_farm: Any) -> None:
    query = Prepared(lambda pg: Task.select(Task.id).where(Task.id == Slot("task")))
    with pytest.raises(KeyError):
        query.rows()


def test_a_claim_and_a_finish_run_three_statements_whatever_the_size_of_the_task(any_farm: Any) -> None:
    """The claim: claimable tasks, the chunk taken with UPDATE ... RETURNING (on PostgreSQL locked
    in the same statement), its event. The finish: the frame's move, its event, the task's outlook;
    no statement counts the task's frames."""
    scheduler.submit(SubmitRequest(scene="/s.blend", renderer="blender", frames=range(1, 2001)), user=TEST_USER)
    now = db_now()
    scheduler.finish_frame((c := scheduler.claim("n1", lease_s=30, now=now)).frames[0].id, c.token, outputs=[], now=now)
    for _ in range(3):
        with statements() as claim_sql:
            claimed = scheduler.claim("n1", lease_s=30, now=now)
        assert claimed is not None
        with statements() as finish_sql:
            scheduler.finish_frame(claimed.frames[0].id, claimed.token, outputs=["/out/f.png"], now=now)
        assert len(claim_sql) == 3, claim_sql
        assert len(finish_sql) == 3, finish_sql
        assert not any("COUNT(" in sql.upper() for sql in claim_sql + finish_sql)
    frame = Frame.get_by_id(claimed.frames[0].id)
    assert (frame.status, frame.outputs, frame.progress, frame.lease_until) == ("done", ["/out/f.png"], 100.0, None)
