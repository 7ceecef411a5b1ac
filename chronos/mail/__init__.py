"""The email layer: render a template, record the message, hand delivery to the job queue.

Callers use :func:`queue_email` inside their unit of work; the message row commits with the
change that caused it, so mail is never sent for a change that rolled back, and never lost
for one that committed (delivery, retries and backends live in ``chronos.mail.delivery``).
"""

from __future__ import annotations

from typing import Any

from sqlmodel import Session

from chronos.mail.render import Rendered, render
from chronos.models import EmailMessage, utcnow

__all__ = ["Rendered", "queue_email", "render"]


def queue_email(
    db: Session,
    *,
    to: str,
    template: str,
    context: dict[str, Any],
    org_id: int | None,
    user_id: int | None = None,
    transaction_id: int | None = None,
) -> EmailMessage:
    """Render ``template`` with ``context`` and record it as queued for delivery."""
    rendered = render(template, context)
    now = utcnow()
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
        next_attempt_at=now,
    )
    db.add(message)
    db.flush()
    return message
