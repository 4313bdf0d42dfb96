"""The exceptions the library raises; the CLI maps each to an exit code."""
from __future__ import annotations


class RfarmError(Exception):
    """Base of every error rfarm reports to a user."""


class UsageError(RfarmError):
    """Bad input: a wrong flag value, a bad frame range, a file that is not there."""


class NotFoundError(UsageError):
    """A task, frame, node or file that does not exist (or is not the user's)."""


class NotAllowedError(RfarmError):
    """The caller may not do this: no token, a bad, expired or revoked one, or a role that does not permit it."""


class AnalysisError(RfarmError):
    """A scene file that cannot be read or is not a scene."""


class ConfigError(RfarmError):
    """An invalid configuration value or missing credentials."""


class JobFailed(RfarmError):
    """The work itself failed: a task that ended failed or cancelled."""


class ServiceError(RfarmError):
    """A service rfarm needs (database, queue, storage) cannot be reached."""


class StorageError(ServiceError):
    """The storage backend failed or cannot be reached."""


class IntegrityError(RfarmError):
    """A hash mismatch that fetching again did not repair."""


class StateError(RfarmError):
    """A compare-and-set on a frame or task lost its race."""


class Cancelled(RfarmError):
    """The user interrupted the operation."""


def first_line(exc: BaseException) -> str:
    """The first line of an exception's message, or its type's name."""
    text = str(exc).strip().splitlines()
    return text[0] if text else type(exc).__name__
