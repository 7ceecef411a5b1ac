"""Typed domain errors. State shows ``message``; the API maps each class to a 4xx."""

from __future__ import annotations

from typing import TypeVar

E = TypeVar("E", bound=Exception)


class ChronosError(Exception):
    """Base class: ``message`` is safe to show to the user who caused it."""

    status_code = 400
    # True on a refusal whose unit of work still commits (``db.session_scope``): it carries the
    # security events of what was refused, such as a wrong password (see ``keep_log``).
    commit_unit_of_work = False

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class NotFound(ChronosError):
    """The object does not exist *or the actor may not see it* (we never reveal which)."""

    status_code = 404


class PermissionDenied(ChronosError):
    """The actor may see the object but may not do this to it, or their role may not act at all."""

    status_code = 403


class ValidationFailed(ChronosError):
    """Input was rejected; ``errors`` maps each field to what is wrong with it."""

    status_code = 422

    def __init__(self, errors: dict[str, str], message: str | None = None) -> None:
        self.errors = dict(errors)
        summary = message or "; ".join(f"{msg}" for msg in self.errors.values())
        super().__init__(summary or "The input is not valid.")


class Conflict(ChronosError):
    """The action clashes with the current state (duplicate, stale edit, wrong stage)."""

    status_code = 409


class AuthenticationFailed(ChronosError):
    status_code = 401


def keep_log(exc: E) -> E:
    """Mark a refusal whose unit of work must still be committed: the security log of a wrong
    password or code is written in it, and rolling back would erase the evidence of guessing.
    Only for checks made before the unit of work has changed anything else."""
    exc.commit_unit_of_work = True  # type: ignore[attr-defined]
    return exc


class PasswordRefused(ValidationFailed):
    """A wrong password or code for a signed-in account (``limited``: the lockout is on)."""

    def __init__(self, field: str, message: str, *, limited: bool = False) -> None:
        super().__init__({field: message})
        self.limited = limited
