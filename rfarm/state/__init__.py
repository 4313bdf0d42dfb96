"""The farm's state: the database, the queue, and the one writer of task and frame states (``scheduler``)."""
from rfarm.state.drivers import import_peewee_without_drivers

import_peewee_without_drivers()  # before any module here imports peewee, which a SQLite farm needs without drivers
