"""peewee without its database drivers, which a farm on SQLite never needs.

peewee imports every driver it knows (psycopg2, psycopg 3, ...) as it is imported
itself, about 80 ms of every command that runs on SQLite. ``rfarm.state`` calls
:func:`import_peewee_without_drivers`, which makes the first import of peewee run
with those drivers hidden from the importing thread (imported before
``rfarm.state``, peewee holds the drivers, and all works just the same), and
then gives ``peewee.PostgresqlDatabase`` (through its adapter hook,
``psycopg2_adapter``) :class:`rfarm.state.postgres.LazyPsycopg2`, which imports
psycopg2 when a database is made: PostgreSQL works in a process that opened
SQLite first.
"""
from __future__ import annotations

import importlib.abc
import importlib.machinery
import sys
import threading
from collections.abc import Sequence
from types import ModuleType

DRIVERS = frozenset({"psycopg", "psycopg2", "psycopg2cffi", "pymysql", "MySQLdb"})
"""Top-level modules peewee tries to import for databases; rfarm opens PostgreSQL through psycopg2 only."""


class _HiddenDrivers(importlib.abc.MetaPathFinder):
    """Answers "not installed" for :data:`DRIVERS`, to one thread, while it is on ``sys.meta_path``."""

    def __init__(self) -> None:
        self.thread = threading.get_ident()

    def find_spec(self, name: str, path: Sequence[str] | None = None,
                  target: ModuleType | None = None) -> importlib.machinery.ModuleSpec | None:
        if threading.get_ident() == self.thread and name.partition(".")[0] in DRIVERS:
            raise ModuleNotFoundError(f"{name} loads when a PostgreSQL database is opened", name=name)
        return None


class _PeeweeWithoutDrivers(importlib.abc.MetaPathFinder):
    """Finds peewee, the first time it is imported, with a loader that runs it with the drivers hidden."""

    def find_spec(self, name: str, path: Sequence[str] | None = None,
                  target: ModuleType | None = None) -> importlib.machinery.ModuleSpec | None:
        if name != "peewee":
            return None
        sys.meta_path.remove(self)
        spec = importlib.machinery.PathFinder.find_spec(name, path)
        if spec is not None and spec.loader is not None:
            spec.loader = _WithoutDrivers(spec.loader)
        return spec


class _WithoutDrivers(importlib.abc.Loader):
    """A module's loader, executing it while :data:`DRIVERS` cannot be imported by this thread."""

    def __init__(self, loader: importlib.abc.Loader) -> None:
        self.loader = loader

    def create_module(self, spec: importlib.machinery.ModuleSpec) -> ModuleType | None:
        return self.loader.create_module(spec)

    def exec_module(self, module: ModuleType) -> None:
        hidden = _HiddenDrivers()
        sys.meta_path.insert(0, hidden)
        try:
            self.loader.exec_module(module)
        finally:
            sys.meta_path.remove(hidden)
        from rfarm.state.postgres import LazyPsycopg2  # peewee is in sys.modules by now

        # every PostgreSQL database, whoever makes it, brings psycopg2 in itself
        module.PostgresqlDatabase.psycopg2_adapter = module.PostgresqlDatabase.psycopg3_adapter = LazyPsycopg2


def import_peewee_without_drivers() -> None:
    """Make the first ``import peewee`` in this process skip the drivers (nothing is imported now)."""
    if "peewee" not in sys.modules and not any(isinstance(f, _PeeweeWithoutDrivers) for f in sys.meta_path):
        sys.meta_path.insert(0, _PeeweeWithoutDrivers())
