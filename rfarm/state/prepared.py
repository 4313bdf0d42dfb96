"""Peewee queries rendered to SQL once and run again with new values: the scheduler's hot statements.

Rendering a peewee query to SQL text costs more than SQLite takes to run it
(about a hundred nested calls for an ``UPDATE`` of a few columns), and a
claim plus a finish runs several. A :class:`Prepared` statement is built
with peewee as any other query, with :class:`Slot` where a value changes
from run to run; it is rendered on its first run for each kind of database
and then only has its slots filled.
"""
from __future__ import annotations

from collections.abc import Callable
from typing import Any

from peewee import Node, Query

from rfarm.state.db import is_postgres
from rfarm.state.models import database


class Slot(Node):
    """A parameter filled in on each run; its value goes to the driver as given (no field conversion)."""

    def __init__(self, name: str) -> None:
        super().__init__()
        self.name = name

    def __sql__(self, ctx):  # type: ignore[no-untyped-def]
        ctx._values.append(self)
        return ctx.literal(ctx.state.param or "?")


class Prepared:
    """A query that ``build(postgres)`` makes, rendered once per kind of database.

    The query's other values stay as peewee converted them on the first
    render, so everything but its slots must be the same on every run.
    """

    def __init__(self, build: Callable[[bool], Query]) -> None:
        self._build = build
        self._rendered: dict[bool, tuple[Query, str, list[Any]]] = {}

    def _render(self) -> tuple[Query, str, list[Any]]:
        pg = is_postgres(database.obj)
        if pg not in self._rendered:
            query = self._build(pg)
            sql, params = query.sql()
            self._rendered[pg] = (query, sql, params)
        return self._rendered[pg]

    def _run(self, values: dict[str, Any]) -> tuple[Query, Any]:
        query, sql, params = self._render()
        bound = [values[p.name] if isinstance(p, Slot) else p for p in params]
        return query, database.execute_sql(sql, bound)

    def rows(self, **values: Any) -> list[Any]:
        """Run it; the rows as the query would have answered them (models, tuples)."""
        query, cursor = self._run(values)
        return list(query._get_cursor_wrapper(cursor))

    def count(self, **values: Any) -> int:
        """Run a write without ``RETURNING``; the number of rows it changed."""
        _, cursor = self._run(values)
        return int(database.rows_affected(cursor))
