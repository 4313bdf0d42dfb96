"""One open farm: the database and the queue a configuration names, opened once per process."""
from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property

from peewee import Database

from rfarm.config import Config
from rfarm.state.db import create_database, open_database, sqlite_path
from rfarm.errors import ConfigError
from rfarm.state.queue import Queue
from rfarm.storage.base import Storage


@dataclass
class Farm:
    config: Config
    db: Database

    @cached_property
    def queue(self) -> Queue:
        """The wake-up queue; a shared one (Redis, PostgreSQL) must have a signing secret."""
        if not self.config.queue.startswith("sqlite:") and not self.config.queue_secret:
            raise ConfigError(
                "queue_secret must be set when the queue is shared (Redis or PostgreSQL): "
                "without it anyone who can write to the queue could run code on the render nodes"
            )
        return Queue(self.config.queue, secret=self.config.queue_secret)

    @cached_property
    def storage(self) -> Storage:
        from rfarm.storage import open_storage

        return open_storage(
            self.config.storage,
            access_key_id=self.config.oss_access_key_id or None,
            access_key_secret=self.config.oss_access_key_secret or None,
            session_token=self.config.oss_session_token or None,
            checkpoint_dir=self.config.home_dir / "oss-checkpoints",
        )


_current: Farm | None = None


def open_farm(config: Config) -> Farm:
    """The database (created or upgraded on first use) and queue for ``config``.

    The models are bound to one database per process: opening another
    configuration's farm rebinds them.
    """
    global _current
    same = _current is not None and (_current.config.database, _current.config.queue) == (config.database, config.queue)
    if not same:
        _current = Farm(config, open_database(config.database, create=_at_home(config)))
    assert _current is not None
    return _current


def _at_home(config: Config) -> bool:
    """Whether the database is the default one under RFARM_HOME, the only one made on first use."""
    return not config.database_url or (
        config.database.startswith("sqlite:///") and sqlite_path(config.database) == config.home_dir / "rfarm.db")


def init_farm(config: Config) -> list[str]:
    """Make the farm's database where ``config`` names it (``rfarm init``); what was made, in words
    (none when it was all there)."""
    global _current
    made = create_database(config.database)
    _current = None
    return made
