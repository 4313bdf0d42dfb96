"""The farm's state: the database, the queue, and the one writer of task and frame states (``scheduler``)."""
