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


class NotAuthenticatedError(NotAllowedError):
    """No token, or a bad, expired or revoked one: the caller must log in (HTTP 401)."""


class AnalysisError(RfarmError):
    """A scene file that cannot be read or is not a scene."""


class ConfigError(RfarmError):
    """An invalid configuration value or missing credentials."""


class JobFailed(RfarmError):
    """The work itself failed: a task that ended failed or cancelled."""


class ServiceError(RfarmError):
    """A service rfarm needs (database, queue, storage) cannot be reached."""


class RateLimited(ServiceError):
    """A token made more requests in the last minute than the server takes (HTTP 429)."""

    def __init__(self, message: str, retry_after: float = 1.0) -> None:
        super().__init__(message)
        self.retry_after = retry_after


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


def error_named(name: str) -> type[RfarmError]:
    """The error class called ``name`` (a service names the error it answers with); RfarmError if none is."""
    found: list[type[RfarmError]] = [RfarmError]
    while found:
        cls = found.pop()
        if cls.__name__ == name:
            return cls
        found.extend(cls.__subclasses__())
    return RfarmError
