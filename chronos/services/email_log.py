"""Reading the recorded emails: the developer mailbox and the admins' email log.

- The developer mailbox (``/dev/mailbox``) is the embedded setup's inbox: every message,
  whatever its status or brokerage, with no sign-in, and only while ``settings.dev_mailbox``
  is on (it is on by default with the outbox backend, off with Resend).
- The email log (``/admin/email``) shows an admin their own brokerage's messages and lets them
  queue a failed one again; every retry is recorded in the security log.
- Delivery status: what the provider reported after accepting a message (Resend's signed
  webhooks, verified in ``api/webhook_routes.py``): delivered, bounced, complained.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, TypeVar

from sqlalchemy import case, func
from sqlmodel import Session, col, select

from chronos import routes
from chronos.db import insert_ignoring_duplicates
from chronos.mail import deliver_after_commit
from chronos.mail.delivery import FAILED, QUEUED, STATUSES
from chronos.models import EmailMessage, Role, Transaction, User, utcnow
from chronos.models.message import WebhookReceipt
from chronos.services import access, notifications, security_log, timeline
from chronos.services.errors import Conflict, NotFound, PermissionDenied, ValidationFailed
from chronos.services.pagination import Page, clamp_page
from chronos.services.validation import escape_like
from chronos.settings import Settings, get_settings

MAILBOX_OFF = (
    "The developer mailbox is switched off: it is served only by `reflex run` in development,"
    " with CHRONOS_DEV_MAILBOX on."
)
ADMINS_ONLY = "Only admins can see the email log."
T = TypeVar("T")
STATUS_LABELS = {
    "queued": "Queued",
    "sending": "Sending",
    "sent": "Sent",
    "failed": "Failed",
    "cancelled": "Cancelled",
}
DELIVERED, BOUNCED, COMPLAINED = "delivered", "bounced", "complained"
DELIVERY_LABELS = {DELIVERED: "Delivered", BOUNCED: "Bounced", COMPLAINED: "Complained"}

# http(s) URLs in plain text; closing punctuation right after a URL ends the sentence.
_URL = re.compile(r"https?://[^\s<>\"']+")
_TRAILING = ".,;:!?)]}'\""


@dataclass
class TextSegment:
    text: str
    is_url: bool = False


def link_segments(text: str) -> list[TextSegment]:
    """``text`` cut into plain runs and URLs, in order (joined back, it is ``text``)."""
    out: list[TextSegment] = []
    pos = 0
    for match in _URL.finditer(text):
        url = match.group(0)
        while url and url[-1] in _TRAILING:
            if url[-1] == ")" and url.count("(") >= url.count(")"):
                break  # the URL's own parenthesis, as in a Wikipedia link
            url = url[:-1]
        if len(url) <= len("https://"):
            continue
        start, end = match.start(), match.start() + len(url)
        if start > pos:
            out.append(TextSegment(text[pos:start]))
        out.append(TextSegment(url, is_url=True))
        pos = end
    if pos < len(text):
        out.append(TextSegment(text[pos:]))
    return out


def _iso(value: datetime | None) -> str:
    return value.isoformat(timespec="seconds") if value else ""


def _recipient_filter(text: str) -> list[Any]:
    words = " ".join(text.split())[:254].lower()
    if not words:
        return []
    return [func.lower(EmailMessage.to_address).like(f"%{escape_like(words)}%", escape="\\")]


def _page_of(
    db: Session,
    conditions: list[Any],
    *order_first: Any,
    page: int,
    page_size: int,
    row: Callable[[EmailMessage], T],
) -> Page[T]:
    """One page of messages matching ``conditions``, newest first after ``order_first``."""
    page, page_size = clamp_page(page, page_size)
    total = db.exec(select(func.count()).select_from(EmailMessage).where(*conditions)).one()
    messages = db.exec(
        select(EmailMessage)
        .where(*conditions)
        .order_by(*order_first, col(EmailMessage.created_at).desc(), col(EmailMessage.id).desc())
        .offset((page - 1) * page_size)
        .limit(page_size)
    ).all()
    return Page(items=[row(m) for m in messages], total=total, page=page, page_size=page_size)


# ---------------------------------------------------------------- the developer mailbox


@dataclass
class MailboxRow:
    id: int
    recipient: str
    subject: str
    template: str
    status: str
    status_label: str
    created_at: str
    delivery_status: str = ""
    delivery_label: str = ""


@dataclass
class MailboxMessage:
    id: int
    recipient: str
    subject: str
    template: str
    status: str
    status_label: str
    created_at: str
    sent_at: str
    text: str
    html: str
    segments: list[TextSegment] = field(default_factory=list)
    delivery_status: str = ""
    delivery_label: str = ""
    delivery_updated_at: str = ""


def require_dev_mailbox(settings: Settings | None = None) -> None:
    if not (settings or get_settings()).dev_mailbox:
        raise PermissionDenied(MAILBOX_OFF)


def mailbox(
    db: Session,
    *,
    to: str = "",
    page: int = 1,
    page_size: int = 25,
    settings: Settings | None = None,
) -> Page[MailboxRow]:
    """Every message, newest first, optionally only those whose recipient contains ``to``."""
    require_dev_mailbox(settings)
    return _page_of(db, _recipient_filter(to), page=page, page_size=page_size, row=_mailbox_row)


def _mailbox_row(m: EmailMessage) -> MailboxRow:
    return MailboxRow(
        id=m.id or 0,
        recipient=m.to_address,
        subject=m.subject,
        template=m.template,
        status=m.status,
        status_label=STATUS_LABELS.get(m.status, m.status),
        created_at=_iso(m.created_at),
        delivery_status=m.delivery_status,
        delivery_label=DELIVERY_LABELS.get(m.delivery_status, m.delivery_status),
    )


def mailbox_message(
    db: Session, message_id: int, *, settings: Settings | None = None
) -> MailboxMessage:
    require_dev_mailbox(settings)
    m = db.get(EmailMessage, message_id)
    if m is None:
        raise NotFound("There is no such message.")
    return MailboxMessage(
        id=m.id or 0,
        recipient=m.to_address,
        subject=m.subject,
        template=m.template,
        status=m.status,
        status_label=STATUS_LABELS.get(m.status, m.status),
        created_at=_iso(m.created_at),
        sent_at=_iso(m.sent_at),
        text=m.text_body,
        html=m.html_body,
        segments=link_segments(m.text_body),
        delivery_status=m.delivery_status,
        delivery_label=DELIVERY_LABELS.get(m.delivery_status, m.delivery_status),
        delivery_updated_at=_iso(m.delivery_updated_at),
    )


# ---------------------------------------------------------------- the admins' email log


@dataclass
class EmailLogRow:
    id: int
    recipient: str
    subject: str
    template: str
    status: str
    status_label: str
    attempts: int
    last_error: str
    created_at: str
    updated_at: str
    sent_at: str
    next_attempt_at: str
    can_retry: bool
    delivery_status: str = ""
    delivery_label: str = ""
    delivery_updated_at: str = ""


def _require_admin(actor: User | None) -> User:
    return access.require_role(actor, (Role.ADMIN,), ADMINS_ONLY)


def email_log(
    db: Session,
    actor: User | None,
    *,
    status: str = "",
    delivery: str = "",
    to: str = "",
    page: int = 1,
    page_size: int = 25,
) -> Page[EmailLogRow]:
    """The actor's brokerage's messages: failed first, then newest first. ``delivery``: only
    those the provider reported delivered, bounced or complained about."""
    admin = _require_admin(actor)
    conditions: list[Any] = [EmailMessage.org_id == admin.org_id, *_recipient_filter(to)]
    if status:
        if status not in STATUSES:
            raise ValidationFailed({"status": "Unknown status."})
        conditions.append(EmailMessage.status == status)
    if delivery:
        if delivery not in DELIVERY_LABELS:
            raise ValidationFailed({"delivery": "Unknown delivery status."})
        conditions.append(EmailMessage.delivery_status == delivery)
    failed_first = case((col(EmailMessage.status) == FAILED, 0), else_=1)
    return _page_of(db, conditions, failed_first, page=page, page_size=page_size, row=_log_row)


def _log_row(m: EmailMessage) -> EmailLogRow:
    return EmailLogRow(
        id=m.id or 0,
        recipient=m.to_address,
        subject=m.subject,
        template=m.template,
        status=m.status,
        status_label=STATUS_LABELS.get(m.status, m.status),
        attempts=m.attempts,
        last_error=m.last_error,
        created_at=_iso(m.created_at),
        updated_at=_iso(m.updated_at),
        sent_at=_iso(m.sent_at),
        next_attempt_at=_iso(m.next_attempt_at) if m.status == QUEUED else "",
        can_retry=m.status == FAILED,
        delivery_status=m.delivery_status,
        delivery_label=DELIVERY_LABELS.get(m.delivery_status, m.delivery_status),
        delivery_updated_at=_iso(m.delivery_updated_at),
    )


def status_counts(db: Session, actor: User | None) -> dict[str, int]:
    """How many of the brokerage's messages are in each status (every status present)."""
    admin = _require_admin(actor)
    counts = dict.fromkeys(STATUSES, 0)
    for status, n in db.exec(
        select(EmailMessage.status, func.count())
        .where(EmailMessage.org_id == admin.org_id)
        .group_by(EmailMessage.status)
    ).all():
        counts[status] = n
    return counts


def delivery_counts(db: Session, actor: User | None) -> dict[str, int]:
    """How many of the brokerage's messages the provider reported in each delivery status."""
    admin = _require_admin(actor)
    counts = dict.fromkeys(DELIVERY_LABELS, 0)
    for status, n in db.exec(
        select(EmailMessage.delivery_status, func.count())
        .where(
            EmailMessage.org_id == admin.org_id,
            col(EmailMessage.delivery_status).in_(list(DELIVERY_LABELS)),
        )
        .group_by(EmailMessage.delivery_status)
    ).all():
        counts[status] = n
    return counts


def retry_email(
    db: Session,
    actor: User | None,
    message_id: int,
    *,
    client: security_log.Client | None = None,
) -> EmailMessage:
    """Queue a failed message of the admin's brokerage again, with a fresh set of attempts."""
    admin = _require_admin(actor)
    m = db.exec(
        select(EmailMessage).where(
            EmailMessage.id == message_id, EmailMessage.org_id == admin.org_id
        )
    ).first()
    if m is None:
        raise NotFound("There is no such message.")
    if m.status != FAILED:
        raise Conflict(
            f"This message is {STATUS_LABELS.get(m.status, m.status).lower()}; only failed messages can be retried."
        )
    security_log.record(
        db,
        security_log.Kind.EMAIL_RETRIED,
        org_id=admin.org_id,
        user_id=m.user_id,
        actor_id=admin.id,
        email=m.to_address,
        client=client,
        detail={
            "message_id": m.id,
            "template": m.template,
            "attempts": m.attempts,
            "last_error": m.last_error,
        },
    )
    now = utcnow()
    m.status, m.attempts, m.next_attempt_at, m.updated_at = QUEUED, 0, now, now
    m.last_error = ""
    db.add(m)
    db.flush()
    assert m.id is not None
    deliver_after_commit(db, m.id)
    return m


# ---------------------------------------------------------------- provider webhooks

RESEND = "resend"
EVENT_STATUSES = {
    "email.delivered": DELIVERED,
    "email.bounced": BOUNCED,
    "email.complained": COMPLAINED,
}
# Accepted and recorded, but they change nothing: "sent" is already our own status once
# Resend accepts a message, and a delay is not an outcome.
NOTE_ONLY_EVENTS = frozenset({"email.sent", "email.delivery_delayed"})
# A status never moves to a lower rank (a bounce or complaint beats "delivered", whatever the
# order the calls arrive in); within a rank, an event older than the current one changes nothing.
_RANK = {"": 0, DELIVERED: 1, BOUNCED: 2, COMPLAINED: 2}
_PROBLEMS = {
    BOUNCED: ("bounced", "Your email to {to} bounced"),
    COMPLAINED: ("was marked as spam by the recipient", "Your email to {to} was marked as spam"),
}


@dataclass
class WebhookOutcome:
    duplicate: bool  # this event id was received before: nothing was done this time
    message_id: int | None = None  # the message whose delivery status changed, if any


def _event_time(value: Any) -> datetime | None:
    if not isinstance(value, str) or not value:
        return None
    try:
        parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None
    if parsed.tzinfo is None:
        return parsed.replace(tzinfo=UTC)
    return parsed.astimezone(UTC)


def receive_resend_event(db: Session, event_id: str, event: dict[str, Any]) -> WebhookOutcome:
    """Record a verified Resend webhook delivery once, by its (Svix) id, and apply it.

    The receipt and the change share the caller's unit of work. The unique (provider,
    event_id) constraint decides between two concurrent deliveries of the same id: exactly
    one inserts the receipt and applies the event; the other finds it there and does nothing.
    """
    if not event_id or len(event_id) > 200:
        raise ValidationFailed({"event_id": "A webhook event id has 1 to 200 characters."})
    row = {
        "provider": RESEND,
        "event_id": event_id,
        "event_type": str(event.get("type", ""))[:60],
        "payload": event,
        "received_at": utcnow(),
    }
    table = WebhookReceipt.__table__  # type: ignore[attr-defined]
    if not insert_ignoring_duplicates(db, table, [row], ["provider", "event_id"]):
        return WebhookOutcome(duplicate=True)
    message = apply_delivery_event(db, event)
    return WebhookOutcome(duplicate=False, message_id=message.id if message else None)


def apply_delivery_event(
    db: Session, event: dict[str, Any], *, now: datetime | None = None
) -> EmailMessage | None:
    """Update the delivery status of the message Resend's event is about; return it if changed.

    The only key is ``data.email_id``, the id Resend gave the message when it accepted it
    (stored as ``provider_id`` on rows the Resend backend sent). Events carry no brokerage:
    they are trusted only because their signature proves they come from Resend, and Resend
    only knows the ids of messages this deployment sent, each of which belongs to exactly one
    row (and so one brokerage). Rows not sent through Resend (the outbox's ``outbox-<id>``)
    and empty ids never match. Unknown ids and other event types change nothing.
    """
    status = EVENT_STATUSES.get(str(event.get("type", "")))
    data = event.get("data")
    if status is None or not isinstance(data, dict):
        return None
    email_id = data.get("email_id")
    if not isinstance(email_id, str) or not email_id or len(email_id) > 200:
        return None
    m = db.exec(
        select(EmailMessage).where(
            EmailMessage.provider_id == email_id, EmailMessage.backend == RESEND
        )
    ).first()
    if m is None:
        return None
    at = _event_time(event.get("created_at")) or now or utcnow()
    current = m.delivery_status if m.delivery_status in _RANK else ""
    if _RANK[status] < _RANK[current]:
        return None
    if (
        _RANK[status] == _RANK[current]
        and m.delivery_updated_at is not None
        and at <= _aware(m.delivery_updated_at)
    ):
        return None
    changed = status != current
    m.delivery_status, m.delivery_updated_at = status, at
    db.add(m)
    db.flush()
    if changed and status in _PROBLEMS and m.transaction_id is not None:
        _report_problem(db, m, status, data)
    return m


def _aware(value: datetime) -> datetime:
    return value if value.tzinfo is not None else value.replace(tzinfo=UTC)


def _bounce_reason(data: dict[str, Any]) -> str:
    bounce = data.get("bounce")
    if isinstance(bounce, dict) and isinstance(bounce.get("message"), str):
        return " ".join(bounce["message"].split())[:300]
    return ""


def _report_problem(db: Session, m: EmailMessage, status: str, data: dict[str, Any]) -> None:
    """A bounce or complaint on a file's email: the file's (staff-only) timeline, and the
    person who sent it, in the app."""
    txn = db.get(Transaction, m.transaction_id)
    if txn is None:
        return
    verb, title = _PROBLEMS[status]
    reason = _bounce_reason(data) if status == BOUNCED else ""
    summary = f'Email "{m.subject}" to {m.to_address} {verb}.'
    if reason:
        summary += f" {reason}"
    kind = f"email_{status}"
    timeline.record(
        db,
        actor=None,
        txn=txn,
        kind=kind,
        summary=summary,
        data={"email_message_id": m.id, "to": m.to_address, "reason": reason},
    )
    sender = db.get(User, m.sent_by_id) if m.sent_by_id else None
    if sender is None or not sender.is_active or sender.org_id != txn.org_id:
        return
    notifications.notify(
        db,
        user_id=sender.id or 0,
        org_id=txn.org_id,
        kind=kind,
        title=title.format(to=m.to_address),
        body=f"{txn.address}: \u201c{m.subject}\u201d{' (' + reason + ')' if reason else ''}.",
        link=routes.transaction(txn.id or 0),
        transaction_id=txn.id,
        dedupe_key=f"{kind}:{m.id}",
    )
