"""Route paths in one place, and where each role lands after signing in."""

from __future__ import annotations

from chronos.models import Role

SIGN_IN = "/sign-in"
PIPELINE = "/pipeline"
NEW_TRANSACTION = "/transactions/new"
PEOPLE = "/people"
PORTAL = "/portal"
SIGN_IN_API = "/auth/sign-in"
SIGN_OUT_API = "/auth/sign-out"


def transaction(txn_id: int | str) -> str:
    return f"/transactions/{txn_id}"


def portal_transaction(txn_id: int | str) -> str:
    return f"/portal/{txn_id}"


def person(person_id: int | str) -> str:
    return f"/people/{person_id}"


def home_for(role: str | Role) -> str:
    return PIPELINE if Role(role).is_staff else PORTAL


def safe_next(path: str | None) -> str | None:
    """A same-site relative path to return to after sign-in, or None (no open redirects)."""
    if not path or not path.startswith("/") or path.startswith("//") or "\\" in path:
        return None
    if path.startswith(SIGN_IN) or any(c in path for c in "\r\n"):
        return None
    return path[:500]
