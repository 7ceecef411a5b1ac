"""Messaging on a transaction, and a contact's communication history.

A thread is "shared" (the file's staff plus the outside participants chosen as members, one
``ThreadMember`` per participant row) or "internal" (brokerage staff only). Who sees a thread:
- staff who can see the transaction (``access.visible_transactions``): every thread on it;
- an outside party (client, attorney, lender): only shared threads one of their own
  participant rows is a member of. Internal threads never reach them: not in lists, not in
  counts, not in notifications or emails.

Bodies are plain text (the UI shows them as text, never as HTML). Unread = messages by
someone else after the user's ``ThreadRead.last_read_at``. A new message notifies, in the
app, everyone else with a login who takes part in the thread (the file's owner and staff
participants; the outside members), and emails those whose ``message_email`` preference is
on (members without a login get the email, since it is their only channel). Only thread
creation goes on the timeline (staff-only kind ``thread_started``).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import false, func, literal, or_, union_all
from sqlalchemy import select as sa_select
from sqlmodel import Session, col, select

from chronos import routes
from chronos.mail import queue_email
from chronos.models import (
    Document,
    EmailMessage,
    NotificationPreference,
    Participant,
    Person,
    Transaction,
    User,
    utcnow,
)
from chronos.models.message import Message, MessageThread, ThreadMember, ThreadRead
from chronos.services import access, documents, notifications, rate_limit, timeline, webhooks
from chronos.services.errors import NotFound, PermissionDenied, ValidationFailed
from chronos.services.pagination import Page, clamp_page

SHARED = "shared"
INTERNAL = "internal"
MAX_BODY = 5000
MAX_SUBJECT = 200

SEND_MESSAGE = rate_limit.Policy(
    "message_send",
    "60/hour",
    "You have sent many messages in the last hour. Try again in {minutes} minutes.",
)


# ---------------------------------------------------------------------------------------------
# Rows handed to the UI


@dataclass
class ThreadRow:
    id: int
    subject: str
    visibility: str  # "shared" | "internal"
    members: str  # "Cora Client, Ava Attorney" (outside members), "" for internal
    last_message_at: str  # ISO 8601, UTC
    last_snippet: str
    unread: int


@dataclass
class AttachmentRef:
    id: int
    title: str


@dataclass
class MessageRow:
    id: int
    author: str
    mine: bool
    staff: bool
    body: str
    created_at: str  # ISO 8601, UTC
    # Only the attached documents this reader may see (documents keep their own access rules).
    attached: list[AttachmentRef] = field(default_factory=list)


@dataclass
class ThreadView:
    thread: ThreadRow
    messages: Page[MessageRow]


@dataclass
class MemberOption:
    participant_id: int
    label: str  # "Cora Client (buyer)"
    has_login: bool


@dataclass
class HistoryRow:
    kind: str  # "message" | "email"
    id: int
    date: str  # ISO 8601, UTC
    transaction_id: int | None
    address: str
    subject: str
    snippet: str
    status: str


# ---------------------------------------------------------------------------------------------
# Helpers


def _outside_rows(db: Session, txn_id: int) -> list[tuple[Participant, Person | None, User | None]]:
    """The transaction's participant rows that are not staff logins (contacts, outside logins)."""
    rows = db.exec(
        select(Participant, Person, User)
        .join(Person, col(Person.id) == Participant.person_id, isouter=True)
        .join(User, col(User.id) == Participant.user_id, isouter=True)
        .where(Participant.transaction_id == txn_id)
        .order_by(col(Participant.id))
    ).all()
    return [(p, person, user) for p, person, user in rows if user is None or not user.is_staff]


def _participant_name(person: Person | None, user: User | None) -> str:
    if user is not None:
        return user.full_name
    if person is not None:
        return f"{person.first_name} {person.last_name}".strip()
    return "Someone"


def _own_participant_ids(db: Session, actor: User, txn_id: int) -> set[int]:
    rows = db.exec(
        select(Participant.id).where(
            Participant.transaction_id == txn_id, Participant.user_id == actor.id
        )
    ).all()
    return {int(pid) for pid in rows if pid is not None}


def _member_threads(actor: User) -> Any:
    """Ids of the threads one of the actor's participant rows is a member of."""
    return (
        select(ThreadMember.thread_id)
        .join(Participant, col(Participant.id) == ThreadMember.participant_id)
        .where(Participant.user_id == actor.id)
    )


def _thread_filter(actor: User) -> Any:
    """WHERE over ``MessageThread`` (joined to its visible transaction) for this actor."""
    if actor.is_staff:
        return col(MessageThread.org_id) == actor.org_id
    return (col(MessageThread.visibility) == SHARED) & col(MessageThread.id).in_(
        _member_threads(actor)
    )


def _visible_thread(db: Session, actor: User | None, thread_id: int) -> MessageThread:
    actor = access.require_active(actor)
    thread = db.exec(
        select(MessageThread)
        .join(Transaction, col(Transaction.id) == MessageThread.transaction_id)
        .where(
            MessageThread.id == thread_id,
            access.visible_transactions(actor),
            _thread_filter(actor),
        )
    ).first()
    if thread is None:
        raise NotFound("Conversation not found.")
    return thread


def _unread_expr(actor: User) -> Any:
    """Count of unread messages per thread, as a correlated scalar subquery."""
    last_read = (
        select(ThreadRead.last_read_at)
        .where(ThreadRead.thread_id == MessageThread.id, ThreadRead.user_id == actor.id)
        .correlate(MessageThread)
        .scalar_subquery()
    )
    return (
        select(func.count(col(Message.id)))
        .where(
            Message.thread_id == MessageThread.id,
            or_(col(Message.author_id).is_(None), col(Message.author_id) != actor.id),
            or_(last_read.is_(None), col(Message.created_at) > last_read),
        )
        .correlate(MessageThread)
        .scalar_subquery()
    )


def _members_by_thread(db: Session, thread_ids: list[int]) -> dict[int, list[str]]:
    if not thread_ids:
        return {}
    rows = db.exec(
        select(ThreadMember.thread_id, Person, User)
        .join(Participant, col(Participant.id) == ThreadMember.participant_id)
        .join(Person, col(Person.id) == Participant.person_id, isouter=True)
        .join(User, col(User.id) == Participant.user_id, isouter=True)
        .where(col(ThreadMember.thread_id).in_(thread_ids))
        .order_by(col(ThreadMember.id))
    ).all()
    out: dict[int, list[str]] = {}
    for thread_id, person, user in rows:
        out.setdefault(thread_id, []).append(_participant_name(person, user))
    return out


def _snippets(db: Session, thread_ids: list[int]) -> dict[int, str]:
    if not thread_ids:
        return {}
    latest = (
        select(Message.thread_id, func.max(Message.id).label("mid"))
        .where(col(Message.thread_id).in_(thread_ids))
        .group_by(col(Message.thread_id))
        .subquery()
    )
    rows = db.exec(
        select(Message.thread_id, Message.body).join(latest, latest.c.mid == Message.id)
    ).all()
    return {tid: _first_line(body, 120) for tid, body in rows}


def _first_line(text: str, limit: int) -> str:
    line = next((ln.strip() for ln in text.splitlines() if ln.strip()), "")
    return line if len(line) <= limit else line[: limit - 1] + "…"


def _clean_body(body: Any) -> str:
    text = str(body or "").replace("\r\n", "\n").strip()
    if not text:
        raise ValidationFailed({"body": "Write a message."})
    if len(text) > MAX_BODY:
        raise ValidationFailed({"body": f"Keep a message under {MAX_BODY} characters."})
    return text


def _count_send(actor: User) -> None:
    try:
        rate_limit.hit(SEND_MESSAGE, f"user:{actor.id}")
    except rate_limit.RateLimited as exc:
        raise PermissionDenied(str(exc)) from None


def _mark_read(db: Session, thread_id: int, user_id: int, when: datetime) -> None:
    row = db.exec(
        select(ThreadRead).where(ThreadRead.thread_id == thread_id, ThreadRead.user_id == user_id)
    ).first()
    if row is None:
        row = ThreadRead(thread_id=thread_id, user_id=user_id, last_read_at=when)
    elif row.last_read_at < when:
        row.last_read_at = when
    db.add(row)


# ---------------------------------------------------------------------------------------------
# The email preference (a column of NotificationPreference; the notifications service keeps
# the reminder preferences, this one belongs to messaging)


def message_email_enabled(db: Session, actor: User | None) -> bool:
    actor = access.require_active(actor)
    row = db.get(NotificationPreference, actor.id)
    return True if row is None else bool(row.message_email)


def set_message_email(db: Session, actor: User | None, enabled: bool) -> bool:
    actor = access.require_active(actor)
    row = db.get(NotificationPreference, actor.id)
    if row is None:
        # The same defaults the notifications service gives a new row.
        row = notifications._defaults(actor.id or 0)
    row.message_email = bool(enabled)
    row.updated_at = utcnow()
    db.add(row)
    db.flush()
    return row.message_email


# ---------------------------------------------------------------------------------------------
# Threads


def member_options(db: Session, actor: User | None, transaction_id: int) -> list[MemberOption]:
    """The outside participants a staff member may share a new thread with."""
    access.get_editable_transaction(db, actor, transaction_id)
    out = []
    for part, person, user in _outside_rows(db, transaction_id):
        out.append(
            MemberOption(
                participant_id=part.id or 0,
                label=f"{_participant_name(person, user)} ({part.role.replace('_', ' ')})",
                has_login=user is not None,
            )
        )
    return out


def start_thread(
    db: Session,
    actor: User | None,
    transaction_id: int,
    *,
    subject: Any,
    body: Any,
    internal: bool = False,
    member_ids: list[int] | None = None,
    attachment_ids: list[int] | None = None,
) -> MessageThread:
    """Open a conversation with its first message.

    Staff: ``internal`` (brokerage only) or shared with ``member_ids`` (participant rows of
    this transaction that are not staff logins; at least one). An outside party: always
    shared, with the file's staff; their own participant row(s) are the members.
    """
    actor = access.require_active(actor)
    txn = access.get_visible_transaction(db, actor, transaction_id)
    errors: dict[str, str] = {}
    title = " ".join(str(subject or "").split())
    if not title:
        errors["subject"] = "Give the conversation a subject."
    elif len(title) > MAX_SUBJECT:
        errors["subject"] = f"Keep the subject under {MAX_SUBJECT} characters."
    try:
        text = _clean_body(body)
    except ValidationFailed as exc:
        errors.update(exc.errors)
        text = ""
    members: set[int] = set()
    if actor.is_staff:
        if not internal:
            allowed = {p.id for p, _, _ in _outside_rows(db, transaction_id)}
            members = {int(i) for i in member_ids or []}
            if not members:
                errors["members"] = "Choose who to share it with, or make it an internal note."
            elif not members <= allowed:
                errors["members"] = "Choose people who take part in this transaction."
    else:
        internal = False
        members = _own_participant_ids(db, actor, transaction_id)
        if not members:  # visible to a non-staff user only through a participant row
            raise NotFound("Transaction not found.")
    attached: list[int] = []
    try:
        attached = _check_attachments(db, actor, txn, attachment_ids)
    except ValidationFailed as exc:
        errors.update(exc.errors)
    if errors:
        raise ValidationFailed(errors)
    _count_send(actor)
    now = utcnow()
    thread = MessageThread(
        org_id=txn.org_id,
        transaction_id=transaction_id,
        subject=title,
        visibility=INTERNAL if internal else SHARED,
        created_by_id=actor.id,
        created_at=now,
        last_message_at=now,
    )
    db.add(thread)
    db.flush()
    assert thread.id is not None
    for pid in sorted(members):
        db.add(ThreadMember(thread_id=thread.id, participant_id=pid))
    db.flush()
    kind = "an internal note" if internal else "a conversation"
    timeline.record(
        db,
        actor=actor,
        txn=txn,
        kind="thread_started",
        summary=f"{actor.full_name} started {kind}: {title}",
        data={"thread_id": thread.id, "visibility": thread.visibility},
    )
    _add_message(db, actor, txn, thread, text, now, attached)
    return thread


def post_message(
    db: Session,
    actor: User | None,
    thread_id: int,
    body: Any,
    attachment_ids: list[int] | None = None,
) -> Message:
    actor = access.require_active(actor)
    thread = _visible_thread(db, actor, thread_id)
    text = _clean_body(body)
    txn = db.get(Transaction, thread.transaction_id)
    assert txn is not None
    attached = _check_attachments(db, actor, txn, attachment_ids)
    _count_send(actor)
    return _add_message(db, actor, txn, thread, text, utcnow(), attached)


MAX_ATTACHMENTS = 10


def _check_attachments(
    db: Session, actor: User, txn: Transaction, attachment_ids: list[int] | None
) -> list[int]:
    """The ids, each a document of this transaction the sender may see."""
    ids = list(dict.fromkeys(int(i) for i in attachment_ids or []))
    if len(ids) > MAX_ATTACHMENTS:
        raise ValidationFailed({"attachments": f"Attach at most {MAX_ATTACHMENTS} documents."})
    for doc_id in ids:
        try:
            doc = documents.get_document(db, actor, doc_id)
        except NotFound:
            raise ValidationFailed(
                {"attachments": "One of the attached documents is not available to you."}
            ) from None
        if doc.transaction_id != txn.id:
            raise ValidationFailed({"attachments": "Attach documents of this transaction only."})
    return ids


def _sees_thread(db: Session, user: User, thread_id: int) -> bool:
    try:
        _visible_thread(db, user, thread_id)
    except (NotFound, PermissionDenied):
        return False
    return True


def _add_message(
    db: Session,
    actor: User,
    txn: Transaction,
    thread: MessageThread,
    text: str,
    now: datetime,
    attachment_ids: list[int] | None = None,
) -> Message:
    """Store a message; ``attachment_ids`` were already checked (``_check_attachments``)."""
    assert thread.id is not None
    message = Message(
        org_id=thread.org_id,
        thread_id=thread.id,
        author_id=actor.id,
        body=text,
        created_at=now,
        attachments=list(attachment_ids or []),  # checked by the caller
    )
    db.add(message)
    thread.last_message_at = now
    db.add(thread)
    _mark_read(db, thread.id, actor.id or 0, now)
    db.flush()
    _notify(db, actor, txn, thread, message)
    webhooks.emit(
        db,
        txn,
        "message.posted",
        {"thread_id": thread.id, "message_id": message.id, "author_id": actor.id},
        also_visible=lambda owner: _sees_thread(db, owner, thread.id or 0),
    )
    return message


def _recipients(
    db: Session, txn: Transaction, thread: MessageThread
) -> tuple[list[User], list[tuple[Person, Participant]]]:
    """(logins who take part in the thread, member contacts without a login)."""
    staff_ids: set[int] = {txn.owner_id}
    staff_ids.update(
        int(uid)
        for uid in db.exec(
            select(Participant.user_id).where(
                Participant.transaction_id == txn.id, col(Participant.user_id).is_not(None)
            )
        ).all()
        if uid is not None
    )
    users: dict[int, User] = {}
    for user in db.exec(select(User).where(col(User.id).in_(staff_ids))).all():
        if user.is_staff and user.is_active and user.org_id == txn.org_id:
            users[user.id or 0] = user
    contacts: list[tuple[Person, Participant]] = []
    if thread.visibility == SHARED:
        rows = db.exec(
            select(Participant, Person, User)
            .join(ThreadMember, col(ThreadMember.participant_id) == Participant.id)
            .join(Person, col(Person.id) == Participant.person_id, isouter=True)
            .join(User, col(User.id) == Participant.user_id, isouter=True)
            .where(ThreadMember.thread_id == thread.id)
        ).all()
        for part, person, user in rows:
            if user is not None:
                if user.is_active and not user.is_staff:
                    users[user.id or 0] = user
            elif person is not None and person.email:
                contacts.append((person, part))
    return list(users.values()), contacts


def _notify(
    db: Session, actor: User, txn: Transaction, thread: MessageThread, message: Message
) -> None:
    users, contacts = _recipients(db, txn, thread)
    snippet = _first_line(message.body, 200)
    for user in users:
        if user.id == actor.id:
            continue
        if not user.is_staff and thread.visibility != SHARED:  # belt and braces
            continue
        link = (
            routes.transaction(txn.id or 0)
            if user.is_staff
            else routes.portal_transaction(txn.id or 0)
        )
        notifications.notify(
            db,
            user_id=user.id or 0,
            org_id=txn.org_id,
            kind="message",
            title=f"{actor.full_name}: {thread.subject}",
            body=f"{txn.address}: {snippet}",
            link=link,
            transaction_id=txn.id,
            dedupe_key=f"message:{message.id}:{user.id}",
        )
        prefs = db.get(NotificationPreference, user.id)
        if prefs is not None and not prefs.message_email:
            continue
        _email(db, actor, txn, thread, message, user.email, routes.public_url(link), user.id)
    if thread.visibility == SHARED:
        for person, _part in contacts:
            _email(db, actor, txn, thread, message, person.email or "", "", None, person.id)


def _email(
    db: Session,
    actor: User,
    txn: Transaction,
    thread: MessageThread,
    message: Message,
    to: str,
    url: str,
    user_id: int | None,
    person_id: int | None = None,
) -> None:
    if not to:
        return
    sent = queue_email(
        db,
        to=to,
        template="new_message",
        context={
            "sender": actor.full_name,
            "subject": thread.subject,
            "address": txn.address,
            "message": message.body,
            "url": url,
        },
        org_id=txn.org_id,
        user_id=user_id,
        transaction_id=txn.id,
    )
    if person_id is not None:
        sent.person_id = person_id
        db.add(sent)


def list_threads(
    db: Session, actor: User | None, transaction_id: int, *, page: int = 1, page_size: int = 25
) -> Page[ThreadRow]:
    actor = access.require_active(actor)
    access.get_visible_transaction(db, actor, transaction_id)
    where = [MessageThread.transaction_id == transaction_id, _thread_filter(actor)]
    total = db.exec(select(func.count()).select_from(MessageThread).where(*where)).one()
    page, page_size = clamp_page(page, page_size)
    rows = db.exec(
        select(MessageThread, _unread_expr(actor))
        .where(*where)
        .order_by(col(MessageThread.last_message_at).desc(), col(MessageThread.id).desc())
        .offset((page - 1) * page_size)
        .limit(page_size)
    ).all()
    return Page(items=_thread_rows(db, rows), total=int(total), page=page, page_size=page_size)


def _thread_rows(db: Session, rows: Any) -> list[ThreadRow]:
    ids = [t.id or 0 for t, _ in rows]
    members = _members_by_thread(db, ids)
    snippets = _snippets(db, ids)
    return [
        ThreadRow(
            id=t.id or 0,
            subject=t.subject,
            visibility=t.visibility,
            members=", ".join(members.get(t.id or 0, [])) if t.visibility == SHARED else "",
            last_message_at=t.last_message_at.isoformat(),
            last_snippet=snippets.get(t.id or 0, ""),
            unread=int(unread or 0),
        )
        for t, unread in rows
    ]


def read_thread(
    db: Session, actor: User | None, thread_id: int, *, page: int = 1, page_size: int = 30
) -> ThreadView:
    """One page of a thread, oldest first within the page; page 1 holds the newest messages.
    Reading page 1 marks the thread read for the actor."""
    actor = access.require_active(actor)
    thread = _visible_thread(db, actor, thread_id)
    page, page_size = clamp_page(page, page_size)
    total = db.exec(
        select(func.count()).select_from(Message).where(Message.thread_id == thread_id)
    ).one()
    rows = db.exec(
        select(Message, User)
        .join(User, col(User.id) == Message.author_id, isouter=True)
        .where(Message.thread_id == thread_id)
        .order_by(col(Message.created_at).desc(), col(Message.id).desc())
        .offset((page - 1) * page_size)
        .limit(page_size)
    ).all()
    titles = _visible_attachments(db, actor, [i for m, _ in rows for i in m.attachments or []])
    items = [
        MessageRow(
            id=m.id or 0,
            author=u.full_name if u is not None else "Former user",
            mine=m.author_id == actor.id,
            staff=bool(u is not None and u.is_staff),
            body=m.body,
            created_at=m.created_at.isoformat(),
            attached=[AttachmentRef(i, titles[i]) for i in m.attachments or [] if i in titles],
        )
        for m, u in reversed(rows)
    ]
    if page == 1:
        _mark_read(db, thread_id, actor.id or 0, max(utcnow(), thread.last_message_at))
        db.flush()
    members = _members_by_thread(db, [thread_id])
    row = ThreadRow(
        id=thread_id,
        subject=thread.subject,
        visibility=thread.visibility,
        members=", ".join(members.get(thread_id, [])) if thread.visibility == SHARED else "",
        last_message_at=thread.last_message_at.isoformat(),
        last_snippet="",
        unread=0,
    )
    return ThreadView(
        thread=row,
        messages=Page(items=items, total=int(total), page=page, page_size=page_size),
    )


def _visible_attachments(db: Session, actor: User, ids: list[int]) -> dict[int, str]:
    """{document id: title} of the attached documents this reader may see (one query)."""
    if not ids:
        return {}
    rows = db.exec(
        select(Document.id, Document.title).where(
            col(Document.id).in_(set(ids)), documents.visible_documents(actor)
        )
    ).all()
    return {int(i or 0): t for i, t in rows}


def unread_by_thread(db: Session, actor: User | None, transaction_id: int) -> dict[int, int]:
    """{thread id: unread count} for the threads of a transaction the actor sees (only > 0)."""
    actor = access.require_active(actor)
    access.get_visible_transaction(db, actor, transaction_id)
    rows = db.exec(
        select(MessageThread.id, _unread_expr(actor)).where(
            MessageThread.transaction_id == transaction_id, _thread_filter(actor)
        )
    ).all()
    return {int(tid or 0): int(n) for tid, n in rows if n}


def unread_for_transaction(db: Session, actor: User | None, transaction_id: int) -> int:
    return sum(unread_by_thread(db, actor, transaction_id).values())


def unread_total(db: Session, actor: User | None) -> int:
    """Unread messages across every thread the actor sees (for a navbar badge)."""
    actor = access.require_active(actor)
    threads = (
        select(MessageThread.id)
        .join(Transaction, col(Transaction.id) == MessageThread.transaction_id)
        .where(access.visible_transactions(actor), _thread_filter(actor))
    )
    last_read = (
        select(ThreadRead.last_read_at)
        .where(ThreadRead.thread_id == Message.thread_id, ThreadRead.user_id == actor.id)
        .correlate(Message)
        .scalar_subquery()
    )
    total = db.exec(
        select(func.count(col(Message.id))).where(
            col(Message.thread_id).in_(threads),
            or_(col(Message.author_id).is_(None), col(Message.author_id) != actor.id),
            or_(last_read.is_(None), col(Message.created_at) > last_read),
        )
    ).one()
    return int(total or 0)


# ---------------------------------------------------------------------------------------------
# A contact's communication history


HISTORY_KINDS = ("all", "messages", "emails")


def history_for_person(
    db: Session,
    actor: User | None,
    person_id: int,
    *,
    kind: str = "all",
    page: int = 1,
    page_size: int = 20,
) -> Page[HistoryRow]:
    """Every message and email with a contact, newest first, on transactions the actor sees.

    Messages: written by the contact's login, or in threads one of their participant rows is a
    member of. Emails (own brokerage): ``person_id`` = them or sent to their address; those
    tied to a transaction only if the actor sees it, those without one only if addressed to
    the contact on purpose (``person_id``), so account mail (resets...) stays out.
    """
    actor = access.require_active(actor)
    person = access.get_org_person(db, actor, person_id)
    if kind not in HISTORY_KINDS:
        kind = "all"
    page, page_size = clamp_page(page, page_size)
    visible_txns = select(Transaction.id).where(access.visible_transactions(actor))
    parts: list[Any] = []
    if kind in ("all", "messages"):
        member_of = (
            select(ThreadMember.thread_id)
            .join(Participant, col(Participant.id) == ThreadMember.participant_id)
            .where(
                or_(
                    col(Participant.person_id) == person.id,
                    (col(Participant.user_id) == person.user_id) if person.user_id else false(),
                )
            )
        )
        who: list[Any] = [col(Message.thread_id).in_(member_of)]
        if person.user_id:
            who.append(col(Message.author_id) == person.user_id)
        parts.append(
            sa_select(
                literal("message").label("kind"),
                col(Message.id).label("rid"),
                col(Message.created_at).label("at"),
            )
            .join(MessageThread, col(MessageThread.id) == Message.thread_id)
            .where(
                col(MessageThread.org_id) == actor.org_id,
                col(MessageThread.transaction_id).in_(visible_txns),
                or_(*who),
            )
        )
    if kind in ("all", "emails"):
        addressed: list[Any] = [col(EmailMessage.person_id) == person.id]
        if person.email:
            addressed.append(func.lower(EmailMessage.to_address) == person.email.lower())
        parts.append(
            sa_select(
                literal("email").label("kind"),
                col(EmailMessage.id).label("rid"),
                col(EmailMessage.created_at).label("at"),
            ).where(
                col(EmailMessage.org_id) == actor.org_id,
                or_(*addressed),
                or_(
                    col(EmailMessage.transaction_id).in_(visible_txns),
                    col(EmailMessage.transaction_id).is_(None)
                    & (col(EmailMessage.person_id) == person.id),
                ),
            )
        )
    query: Any = union_all(*parts) if len(parts) > 1 else parts[0]
    combined = query.subquery()
    total = db.execute(sa_select(func.count()).select_from(combined)).scalar_one()
    keys = db.execute(
        sa_select(combined.c.kind, combined.c.rid)
        .order_by(combined.c.at.desc(), combined.c.rid.desc())
        .offset((page - 1) * page_size)
        .limit(page_size)
    ).all()
    msg_ids = [rid for k, rid in keys if k == "message"]
    mail_ids = [rid for k, rid in keys if k == "email"]
    found: dict[tuple[str, int], HistoryRow] = {}
    if msg_ids:
        for m, t, txn in db.exec(
            select(Message, MessageThread, Transaction)
            .join(MessageThread, col(MessageThread.id) == Message.thread_id)
            .join(Transaction, col(Transaction.id) == MessageThread.transaction_id)
            .where(col(Message.id).in_(msg_ids))
        ).all():
            found[("message", m.id or 0)] = HistoryRow(
                kind="message",
                id=m.id or 0,
                date=m.created_at.isoformat(),
                transaction_id=txn.id,
                address=txn.address,
                subject=t.subject,
                snippet=_first_line(m.body, 140),
                status="internal note" if t.visibility == INTERNAL else "shared",
            )
    if mail_ids:
        for e, txn in db.exec(
            select(EmailMessage, Transaction)
            .join(Transaction, col(Transaction.id) == EmailMessage.transaction_id, isouter=True)
            .where(col(EmailMessage.id).in_(mail_ids))
        ).all():
            found[("email", e.id or 0)] = HistoryRow(
                kind="email",
                id=e.id or 0,
                date=e.created_at.isoformat(),
                transaction_id=txn.id if txn is not None else None,
                address=txn.address if txn is not None else "",
                subject=e.subject,
                snippet=f"To {e.to_address}",
                status=e.delivery_status or e.status,
            )
    items = [found[(k, rid)] for k, rid in keys if (k, rid) in found]
    return Page(items=items, total=int(total), page=page, page_size=page_size)
