"""Reading the recorded emails: the developer mailbox and the admins' email log.

- The developer mailbox (``/dev/mailbox``) is the embedded setup's inbox: every message,
  whatever its status or brokerage, with no sign-in, and only while ``settings.dev_mailbox``
  is on (it is on by default with the outbox backend, off with Resend).
- The email log (``/admin/email``) shows an admin their own brokerage's messages and lets them
  queue a failed one again; every retry is recorded in the security log.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, TypeVar

from sqlalchemy import case, func
from sqlmodel import Session, col, select

from chronos.mail import deliver_after_commit
from chronos.mail.delivery import FAILED, QUEUED, STATUSES
from chronos.models import EmailMessage, Role, User, utcnow
from chronos.services import access, security_log
from chronos.services.errors import Conflict, NotFound, PermissionDenied, ValidationFailed
from chronos.services.pagination import Page, clamp_page
from chronos.services.validation import escape_like
from chronos.settings import Settings, get_settings

MAILBOX_OFF = "The developer mailbox is switched off (CHRONOS_DEV_MAILBOX=0)."
ADMINS_ONLY = "Only admins can see the email log."
T = TypeVar("T")
STATUS_LABELS = {"queued": "Queued", "sending": "Sending", "sent": "Sent", "failed": "Failed"}

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


def _require_admin(actor: User | None) -> User:
    return access.require_role(actor, (Role.ADMIN,), ADMINS_ONLY)


def email_log(
    db: Session,
    actor: User | None,
    *,
    status: str = "",
    to: str = "",
    page: int = 1,
    page_size: int = 25,
) -> Page[EmailLogRow]:
    """The actor's brokerage's messages: failed first, then newest first."""
    admin = _require_admin(actor)
    conditions: list[Any] = [EmailMessage.org_id == admin.org_id, *_recipient_filter(to)]
    if status:
        if status not in STATUSES:
            raise ValidationFailed({"status": "Unknown status."})
        conditions.append(EmailMessage.status == status)
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
