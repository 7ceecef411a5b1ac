"""Delivering recorded messages: claim one, send it through the backend, record what happened.

The ``email_messages`` row is the source of truth; jobs only say "look at message N now".

- ``queued``  waiting: new, or between attempts (``next_attempt_at`` says when the next is due).
- ``sending`` claimed by one worker (an atomic UPDATE from ``queued``), so two workers never
  send the same message; ``attempts`` counts the claim.
- ``sent``    accepted by the provider (or captured by the outbox); ``provider_id`` says where.
- ``cancelled`` a scheduled message withdrawn before its time (never claimed, never swept).
- ``failed``  for good: the provider refused it (a 4xx other than 408/429), or the attempts ran
  out. ``last_error`` says why; an admin can queue it again from /admin/email.

A transient failure (5xx, 429, a timeout, no connection) puts the row back to ``queued`` with
``next_attempt_at`` = now + :func:`retry_delay_seconds` (30 s doubling up to an hour, ±10 %
jitter so a backlog does not retry in lockstep): attempts 2-10 follow after 30 s, 1, 2, 4, 8,
16, 32 min, 1 h and 1 h, so an outage of about three hours delays mail without losing it.

:func:`sweep` is the safety net the job queue runs every minute: it finds queued rows whose
time has passed without a job picking them up (an enqueue that failed, a queue that lost its
data), scheduled messages whose time has come (``queue_email(send_at=...)`` enqueues no job:
they are picked up here at most a minute late), and rows left ``sending`` by a worker that
died mid-attempt.
"""

from __future__ import annotations

import logging
import random
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from sqlalchemy import and_, or_, update
from sqlalchemy.engine import Engine
from sqlmodel import col, select

from chronos.db import session_scope
from chronos.mail.backends import Backend, DeliveryError, OutgoingEmail, backend_from_settings
from chronos.models import EmailMessage, utcnow
from chronos.settings import get_settings

log = logging.getLogger(__name__)

QUEUED, SENDING, SENT, FAILED = "queued", "sending", "sent", "failed"
STATUSES = (QUEUED, SENDING, SENT, FAILED)
# A scheduled message withdrawn before it went (services/outbound.py). Not in STATUSES yet: the
# admins' email log (services/email_log.py) lists and counts the four above.
CANCELLED = "cancelled"

MAX_ATTEMPTS = 10
FIRST_RETRY_SECONDS = 30
MAX_RETRY_SECONDS = 3600
JITTER = 0.1
# A claim is allowed this early: the worker's clock and the one that set next_attempt_at may
# differ slightly, and a retry job that lands a moment early should still run.
CLOCK_TOLERANCE = timedelta(seconds=5)
# An attempt is bounded by the mail timeout (seconds); a row ``sending`` for this long belongs
# to a worker that died.
STUCK_AFTER = timedelta(minutes=10)
# A queued row this far past its time has no job coming for it.
OVERDUE_AFTER = timedelta(minutes=2)
SWEEP_BATCH = 200


def retry_delay_seconds(attempts: int) -> int:
    """Delay after the ``attempts``-th failed attempt, before jitter."""
    return int(min(FIRST_RETRY_SECONDS * 2 ** max(attempts - 1, 0), MAX_RETRY_SECONDS))


def next_retry_delay(attempts: int, rand: Callable[[], float] = random.random) -> float:
    """:func:`retry_delay_seconds` spread by ±JITTER."""
    return retry_delay_seconds(attempts) * (1 - JITTER + 2 * JITTER * rand())


@dataclass(frozen=True)
class Attempt:
    """What one delivery job did. ``retry_in``: seconds until the next attempt is due."""

    message_id: int
    outcome: str  # sent | retry | failed | skipped (not queued, not due, or not there)
    retry_in: float | None = None
    error: str = ""


def _claim(
    engine: Engine | None, message_id: int, now: datetime
) -> tuple[OutgoingEmail, int] | None:
    """Take the message if it is queued and due: (what to send, attempts including this one)."""
    with session_scope(engine) as db:
        claimed = db.exec(
            update(EmailMessage)
            .where(
                col(EmailMessage.id) == message_id,
                col(EmailMessage.status) == QUEUED,
                or_(
                    col(EmailMessage.next_attempt_at).is_(None),
                    col(EmailMessage.next_attempt_at) <= now + CLOCK_TOLERANCE,
                ),
            )
            .values(status=SENDING, attempts=col(EmailMessage.attempts) + 1, updated_at=now)
        )
        if claimed.rowcount != 1:
            return None
        m = db.exec(select(EmailMessage).where(EmailMessage.id == message_id)).one()
        email = OutgoingEmail(
            message_id=message_id,
            to=m.to_address,
            subject=m.subject,
            text=m.text_body,
            html=m.html_body,
            created_at=m.created_at,
        )
        return email, m.attempts


def _finish(engine: Engine | None, message_id: int, now: datetime, **values: object) -> None:
    """Record an attempt's outcome on a row this worker holds (status ``sending``)."""
    with session_scope(engine) as db:
        db.exec(
            update(EmailMessage)
            .where(col(EmailMessage.id) == message_id, col(EmailMessage.status) == SENDING)
            .values(updated_at=now, **values)
        )


def deliver(
    message_id: int,
    *,
    backend: Backend | None = None,
    engine: Engine | None = None,
    now: Callable[[], datetime] = utcnow,
    rand: Callable[[], float] = random.random,
) -> Attempt:
    """Make one attempt at message ``message_id`` if it is queued and due; record the outcome.

    ``engine`` None: the app's database (``session_scope``'s default).
    """
    backend = backend or backend_from_settings(get_settings())
    claimed = _claim(engine, message_id, now())
    if claimed is None:
        return Attempt(message_id, "skipped")
    email, attempts = claimed
    try:
        provider_id = backend.send(email)
    except DeliveryError as exc:
        error = exc
    except Exception as exc:  # a bug or an unforeseen library error: retried, and visible
        log.exception("email %s: unexpected error from the %s backend", message_id, backend.name)
        error = DeliveryError(f"Unexpected error: {exc!r}", transient=True)
    else:
        at = now()
        _finish(
            engine,
            message_id,
            at,
            status=SENT,
            backend=backend.name,
            provider_id=provider_id[:200],
            sent_at=at,
            next_attempt_at=None,
            last_error="",
        )
        log.info("email %s sent via %s (%s)", message_id, backend.name, provider_id)
        return Attempt(message_id, SENT)

    if error.transient and attempts < MAX_ATTEMPTS:
        delay = next_retry_delay(attempts, rand)
        at = now()
        _finish(
            engine,
            message_id,
            at,
            status=QUEUED,
            backend=backend.name,
            last_error=error.message,
            next_attempt_at=at + timedelta(seconds=delay),
        )
        log.warning(
            "email %s: attempt %s failed, retrying in %.0fs: %s",
            message_id,
            attempts,
            delay,
            error.message,
        )
        return Attempt(message_id, "retry", retry_in=delay, error=error.message)

    reason = error.message
    if error.transient:
        reason = f"Gave up after {attempts} attempts. Last error: {reason}"[:1000]
    _finish(
        engine,
        message_id,
        now(),
        status=FAILED,
        backend=backend.name,
        last_error=reason,
        next_attempt_at=None,
    )
    log.error("email %s failed: %s", message_id, reason)
    return Attempt(message_id, FAILED, error=reason)


@dataclass
class Sweep:
    due: list[int] = field(default_factory=list)  # queued and overdue: enqueue these
    rescued: int = 0  # left ``sending`` by a dead worker, queued again
    failed: int = 0  # left ``sending`` with no attempts left


def sweep(*, engine: Engine | None = None, now: datetime | None = None) -> Sweep:
    """Rescue abandoned attempts; list queued messages no job has picked up in time."""
    now = now or utcnow()
    result = Sweep()
    stuck = (
        col(EmailMessage.status) == SENDING,
        col(EmailMessage.updated_at) < now - STUCK_AFTER,
    )
    with session_scope(engine) as db:
        result.failed = db.exec(
            update(EmailMessage)
            .where(*stuck, col(EmailMessage.attempts) >= MAX_ATTEMPTS)
            .values(
                status=FAILED,
                updated_at=now,
                next_attempt_at=None,
                last_error=f"Gave up after {MAX_ATTEMPTS} attempts; the last one was interrupted.",
            )
        ).rowcount
        result.rescued = db.exec(
            update(EmailMessage)
            .where(*stuck)
            .values(
                status=QUEUED,
                updated_at=now,
                # Due at once: it counts as overdue for the list below.
                next_attempt_at=now - OVERDUE_AFTER,
                last_error="An attempt was interrupted (the worker stopped); trying again.",
            )
        ).rowcount
    with session_scope(engine) as db:
        due = db.exec(
            select(EmailMessage.id)
            .where(
                col(EmailMessage.status) == QUEUED,
                or_(
                    col(EmailMessage.next_attempt_at).is_(None),
                    col(EmailMessage.next_attempt_at) <= now - OVERDUE_AFTER,
                    # A scheduled message, first attempt, whose time has come: no job exists.
                    and_(
                        col(EmailMessage.scheduled_for).is_not(None),
                        col(EmailMessage.attempts) == 0,
                        col(EmailMessage.next_attempt_at) <= now,
                    ),
                ),
            )
            .order_by(col(EmailMessage.next_attempt_at), col(EmailMessage.id))
            .limit(SWEEP_BATCH)
        ).all()
        result.due = [message_id for message_id in due if message_id is not None]
    if result.rescued or result.failed:
        log.warning(
            "email sweep: %s interrupted attempts queued again, %s given up",
            result.rescued,
            result.failed,
        )
    return result
