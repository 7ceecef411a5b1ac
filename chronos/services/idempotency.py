"""Idempotent writes: the same key and the same request within the window give the first result.

A create form sends a per-form key with every submit (a double click sends the same key twice);
REST clients send an ``Idempotency-Key`` header. ``once`` claims the key in the caller's unit of
work, runs the write, and stores what a repeat should get back. The claim and the write commit or
roll back together, so a failed write leaves the key free for a retry. Same key with a different
request: refused (422), never silently answered with the first result.
"""

from __future__ import annotations

import hashlib
import json
import re
import secrets
from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta
from typing import Any, TypeVar

from sqlalchemy import delete
from sqlmodel import Session, select

from chronos.db import insert_ignoring_duplicates
from chronos.models import IdempotencyKey, User, utcnow
from chronos.services.errors import Conflict, ValidationFailed

T = TypeVar("T")
WINDOW = timedelta(hours=24)
# The form field a create form carries its key in (components/once.py renders it).
FORM_FIELD = "once_key"
MAX_KEY = 255
# Printable ASCII without spaces, as the IETF Idempotency-Key draft and Stripe accept.
_KEY_RE = re.compile(r"^[\x21-\x7e]{1,255}$")


def new_key() -> str:
    """A fresh per-form key (sent by the browser with each submit of that form)."""
    return secrets.token_urlsafe(18)


def fingerprint(request: Any) -> str:
    """SHA-256 of the request: bytes as they are, anything else as canonical JSON."""
    if isinstance(request, bytes):
        raw = request
    else:
        raw = json.dumps(request, sort_keys=True, default=str, separators=(",", ":")).encode()
    return hashlib.sha256(raw).hexdigest()


def check_key(key: Any, field: str = "idempotency_key") -> str:
    if not isinstance(key, str) or not _KEY_RE.match(key):
        raise ValidationFailed(
            {field: "The idempotency key must be 1-255 printable characters without spaces."}
        )
    return key


@dataclass
class Claim:
    """A key claimed for this unit of work, or the stored result of the first request."""

    row: IdempotencyKey | None
    repeat: bool = False
    stored: Any = None


def claim(db: Session, actor: User, scope: str, key: str | None, request: Any) -> Claim:
    """Claim ``key`` for this request (no key: an empty claim, nothing recorded)."""
    if key is None or key == "":
        return Claim(None)
    key = check_key(key)
    user_id = actor.id
    assert user_id is not None
    digest = fingerprint(request)
    now = utcnow()
    # A key past the window is free again (the periodic sweep removes the rest).
    db.execute(
        delete(IdempotencyKey).where(
            IdempotencyKey.user_id == user_id,  # type: ignore[arg-type]
            IdempotencyKey.scope == scope,  # type: ignore[arg-type]
            IdempotencyKey.key == key,  # type: ignore[arg-type]
            IdempotencyKey.created_at < now - WINDOW,  # type: ignore[arg-type,operator]
        )
    )
    claimed = insert_ignoring_duplicates(
        db,
        IdempotencyKey.__table__,  # type: ignore[attr-defined]
        [
            {
                "user_id": user_id,
                "scope": scope[:120],
                "key": key,
                "fingerprint": digest,
                "result": None,
                "created_at": now,
            }
        ],
        ["user_id", "scope", "key"],
    )
    row = db.exec(
        select(IdempotencyKey).where(
            IdempotencyKey.user_id == user_id,
            IdempotencyKey.scope == scope[:120],
            IdempotencyKey.key == key,
        )
    ).one()
    if claimed:
        return Claim(row)
    if row.fingerprint != digest:
        raise ValidationFailed(
            {
                "idempotency_key": "This idempotency key was already used for a different "
                "request. Send a new key for a new request."
            }
        )
    if row.result is None:
        raise Conflict("The same request is still being saved. Try again in a moment.")
    return Claim(row, repeat=True, stored=row.result)


def remember(db: Session, claim_: Claim, value: Any) -> None:
    """Store what a repeat of the claimed request gets back (JSON)."""
    if claim_.row is None or claim_.repeat:
        return
    claim_.row.result = value
    db.add(claim_.row)
    db.flush()


def release(db: Session, claim_: Claim) -> None:
    """Free a claim whose write failed. The rollback frees it too; this covers a refusal whose
    unit of work still commits (errors.keep_log), which would otherwise leave the key claimed
    with no result, and its retry told "still being saved" for a day."""
    if claim_.row is None or claim_.repeat:
        return
    db.delete(claim_.row)
    db.flush()


def once(
    db: Session,
    actor: User,
    scope: str,
    key: str | None,
    request: Any,
    work: Callable[[], T],
    *,
    dump: Callable[[T], Any] = lambda value: value,
    load: Callable[[Any], T] = lambda stored: stored,
) -> T:
    """Run ``work`` once per (actor, scope, key); a repeat gets ``load(dump(first result))``.

    No key: ``work`` runs as usual. ``dump`` must give JSON (an id, or a response's status and
    body); ``load`` turns it back into what the caller returns.
    """
    got = claim(db, actor, scope, key, request)
    if got.repeat:
        return load(got.stored)
    try:
        result = work()
    except BaseException:
        release(db, got)
        raise
    remember(db, got, dump(result))
    return result


def sweep(db: Session) -> int:
    """Delete keys older than the window; returns how many."""
    gone = db.execute(
        delete(IdempotencyKey).where(
            IdempotencyKey.created_at < utcnow() - WINDOW  # type: ignore[arg-type,operator]
        )
    )
    return int(getattr(gone, "rowcount", 0) or 0)
