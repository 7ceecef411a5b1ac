"""The email layer: render a template, record the message, hand delivery to the job queue.

Callers use :func:`queue_email` inside their unit of work; the message row commits with the
change that caused it, so mail is never sent for a change that rolled back, and never lost
for one that committed. The delivery job is enqueued only after that commit (a worker must
never look for a row it cannot see yet); should enqueueing fail, or the process die between
the commit and the enqueue, the sweeper finds the queued row a few minutes later. Delivery,
retries and backends live in ``chronos.mail.delivery`` and ``chronos.mail.backends``.
"""

from __future__ import annotations

import logging
from datetime import datetime
from typing import Any

from sqlalchemy import event
from sqlalchemy.orm import Session as OrmSession
from sqlalchemy.orm import SessionTransaction
from sqlmodel import Session

from chronos.mail.render import Rendered, render
from chronos.models import EmailMessage, utcnow

__all__ = ["Rendered", "deliver_after_commit", "queue_email", "render"]

log = logging.getLogger(__name__)

# Message ids waiting for their session's commit, kept in ``Session.info``.
_PENDING = "chronos.mail.pending"


def queue_email(
    db: Session,
    *,
    to: str,
    template: str,
    context: dict[str, Any],
    org_id: int | None,
    user_id: int | None = None,
    transaction_id: int | None = None,
    send_at: datetime | None = None,
    sent_by_id: int | None = None,
    person_id: int | None = None,
) -> EmailMessage:
    """Render ``template`` with ``context``, record it as queued, deliver it after the commit.

    ``send_at`` (timezone-aware, in the future): a scheduled message. It is recorded with
    ``scheduled_for`` and ``next_attempt_at`` = ``send_at`` and no job is enqueued now; the
    sweeper enqueues it once that moment has passed (``delivery.sweep``), and until then it can
    be cancelled (status ``cancelled``). ``sent_by_id``/``person_id``: who sent it from a
    transaction and the contact it went to (their communication history).
    """
    rendered = render(template, context)
    now = utcnow()
    if send_at is not None and send_at.tzinfo is None:
        raise ValueError("send_at must be timezone-aware")
    scheduled = send_at is not None and send_at > now
    message = EmailMessage(
        org_id=org_id,
        user_id=user_id,
        transaction_id=transaction_id,
        to_address=to,
        template=template,
        subject=rendered.subject,
        text_body=rendered.text,
        html_body=rendered.html,
        status="queued",
        created_at=now,
        updated_at=now,
        next_attempt_at=send_at if scheduled else now,
        scheduled_for=send_at if scheduled else None,
        sent_by_id=sent_by_id,
        person_id=person_id,
    )
    db.add(message)
    db.flush()
    assert message.id is not None
    if not scheduled:
        deliver_after_commit(db, message.id)
    return message


def deliver_after_commit(db: Session, message_id: int) -> None:
    """Enqueue the delivery job for ``message_id`` once ``db`` commits (never if it rolls back)."""
    pending: list[int] | None = db.info.get(_PENDING)
    if pending is None:
        pending = db.info[_PENDING] = []
        event.listen(db, "after_commit", _enqueue_pending)
        event.listen(db, "after_soft_rollback", _forget_pending)
    pending.append(message_id)


def _enqueue_pending(session: OrmSession) -> None:
    # SQLAlchemy reports a savepoint's release as a commit too; only the real one counts.
    if session.in_nested_transaction():
        return
    ids: list[int] = session.info.get(_PENDING, [])
    if not ids:
        return
    session.info[_PENDING] = []
    # Imported here: the job tasks import this package's delivery code.
    from chronos.jobs import enqueue_delivery

    for message_id in ids:
        try:
            enqueue_delivery(message_id)
        except Exception:
            # Committed and queued: the sweeper will find the row. The caller's commit stands.
            log.exception("email %s: could not enqueue its delivery job", message_id)


def _forget_pending(session: OrmSession, previous_transaction: SessionTransaction) -> None:
    # A savepoint's rollback keeps the outer transaction's messages; a job for a message the
    # savepoint removed finds no queued row and does nothing.
    if previous_transaction.nested:
        return
    session.info[_PENDING] = []
