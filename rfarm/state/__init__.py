"""The farm's state: the database, the queue, and the one writer of task and frame states (``scheduler``)."""
from rfarm.state.drivers import import_peewee

import_peewee()  # before any module here imports peewee: without the drivers a SQLite farm never needs
