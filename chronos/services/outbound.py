"""Email sent by a person from a transaction: compose, schedule, cancel, status updates.

Staff who can edit the file write to any of its participants that have an email address
(logins or contacts); an extra address is accepted only if it is the email of a contact on the
file. Subject and body come from a template or free text with ``{{ field }}`` merge fields
(``services/email_templates.py``), filled per recipient and refused while any is unknown or
empty. One ``EmailMessage`` per recipient, through ``mail.queue_email`` (template
``composed``), carrying the sender, the contact (their communication history) and the file;
each send is filed on the timeline (staff-only kinds ``email_sent`` / ``email_scheduled``).

Scheduling: ``send_at`` is a local date-time in the brokerage's zone ("2026-06-12T09:30"), at
least a minute ahead and at most 90 days. The row waits in ``queued`` with ``next_attempt_at``
at that moment; the mail sweeper enqueues it once it is due. Until then it can be cancelled
(status ``cancelled``, atomically, so a message a worker has claimed is not "cancelled").

Sending is rate-limited per sender: 100 recipients an hour (``COMPOSE_SEND``).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import TypeAlias
from zoneinfo import ZoneInfo

from markupsafe import Markup
from sqlalchemy import update
from sqlmodel import Session, col, select

from chronos.mail import queue_email
from chronos.mail.delivery import CANCELLED, QUEUED
from chronos.models import (
    EmailMessage,
    KeyDate,
    Organization,
    Participant,
    ParticipantRole,
    Person,
    Stage,
    Task,
    Transaction,
    User,
    utcnow,
)
from chronos.services import access, email_templates, rate_limit, timeline
from chronos.services.errors import Conflict, NotFound, ValidationFailed
from chronos.services.validation import format_date

COMPOSE_SEND = rate_limit.Policy(
    "compose_send_account",
    "100/hour",
    "You have emailed many people in the last hour. Try again in {minutes} minutes.",
)
MAX_SCHEDULE_DAYS = 90
MIN_SCHEDULE_AHEAD = timedelta(minutes=1)
MAX_RECIPIENTS = 50


@dataclass
class RecipientOption:
    participant_id: int
    name: str
    role: str
    role_label: str
    email: str
    is_client: bool


@dataclass
class ScheduledRow:
    id: int
    recipient: str
    subject: str
    scheduled_for: str  # ISO 8601 UTC
    scheduled_label: str  # in the brokerage's zone
    sent_by: str


@dataclass
class SendResult:
    count: int
    scheduled_for: datetime | None
    message_ids: list[int]


@dataclass
class Draft:
    subject: str
    body: str
    participant_ids: list[int]


def _zone(db: Session, org_id: int) -> ZoneInfo:
    org = db.get(Organization, org_id)
    try:
        return ZoneInfo(org.timezone if org else "America/New_York")
    except (KeyError, ValueError):
        return ZoneInfo("America/New_York")


def _client_role(txn: Transaction) -> str:
    return ParticipantRole.BUYER.value if txn.side == "buyer" else ParticipantRole.SELLER.value


Row: TypeAlias = tuple[Participant, Person | None, User | None, str]


def _recipient_rows(db: Session, txn: Transaction) -> list[Row]:
    rows = db.exec(
        select(Participant, Person, User)
        .outerjoin(Person, col(Person.id) == col(Participant.person_id))
        .outerjoin(User, col(User.id) == col(Participant.user_id))
        .where(Participant.transaction_id == txn.id)
        .order_by(col(Participant.id))
    ).all()
    out: list[Row] = []
    for part, person, user in rows:
        email = (person.email if person else None) or (user.email if user else "") or ""
        if user is not None and not user.is_active:
            continue
        if email:
            out.append((part, person, user, email.strip().lower()))
    return out


def recipients(db: Session, actor: User | None, transaction_id: int) -> list[RecipientOption]:
    """Who the actor may email from this file: participants with an address."""
    txn = access.get_editable_transaction(db, actor, transaction_id)
    client_role = _client_role(txn)
    options = []
    for part, person, user, email in _recipient_rows(db, txn):
        name = person.full_name if person else (user.full_name if user else email)
        options.append(
            RecipientOption(
                participant_id=part.id or 0,
                name=name,
                role=part.role,
                role_label=ParticipantRole(part.role).label,
                email=email,
                is_client=part.role == client_role,
            )
        )
    return options


def parse_send_at(db: Session, org_id: int, raw: str, now: datetime | None = None) -> datetime:
    """A local "YYYY-MM-DDTHH:MM" in the brokerage's zone → aware UTC, within the window."""
    now = now or utcnow()
    text = (raw or "").strip().replace(" ", "T")
    try:
        local = datetime.fromisoformat(text)
    except ValueError:
        raise ValidationFailed({"send_at": "Pick a date and a time."}) from None
    if local.tzinfo is None:
        local = local.replace(tzinfo=_zone(db, org_id))
    at = local.astimezone(ZoneInfo("UTC"))
    if at < now + MIN_SCHEDULE_AHEAD:
        raise ValidationFailed({"send_at": "Pick a time in the future."})
    if at > now + timedelta(days=MAX_SCHEDULE_DAYS):
        raise ValidationFailed({"send_at": f"Schedule at most {MAX_SCHEDULE_DAYS} days ahead."})
    return at


def _chosen(
    db: Session,
    txn: Transaction,
    participant_ids: Iterable[int],
    extra_addresses: Iterable[str],
) -> list[Row]:
    rows = _recipient_rows(db, txn)
    by_id: dict[int | None, Row] = {row[0].id: row for row in rows}
    by_email: dict[str, Row] = {}
    for row in rows:
        # Extra addresses: only contacts (a person row) on this file.
        if row[1] is not None:
            by_email.setdefault(row[3], row)
    chosen: dict[int, Row] = {}
    for pid in participant_ids:
        found = by_id.get(int(pid))
        if found is None:
            raise ValidationFailed(
                {"recipients": "Everyone you write to must be on this transaction with an email."}
            )
        chosen.setdefault(int(pid), found)
    for raw in extra_addresses:
        address = raw.strip().lower()
        if not address:
            continue
        match = by_email.get(address)
        if match is None:
            raise ValidationFailed(
                {"extra": f"{address} is not a contact on this transaction. Add them first."}
            )
        chosen.setdefault(match[0].id or 0, match)
    if not chosen:
        raise ValidationFailed({"recipients": "Choose at least one recipient."})
    if len(chosen) > MAX_RECIPIENTS:
        raise ValidationFailed({"recipients": f"At most {MAX_RECIPIENTS} recipients at a time."})
    # De-duplicate by address too (a login and a contact with the same email).
    seen: set[str] = set()
    out = []
    for row in chosen.values():
        if row[3] not in seen:
            seen.add(row[3])
            out.append(row)
    return out


def check_compose(
    db: Session,
    actor: User | None,
    transaction_id: int,
    *,
    participant_ids: Sequence[int],
    subject: str,
    body: str,
) -> email_templates.Flags:
    """Flagged fields for this message over every chosen recipient (empty: none chosen)."""
    txn = access.get_editable_transaction(db, actor, transaction_id)
    assert actor is not None
    blocks = email_templates.blocks_for(db, actor)
    rows = {r[0].id: r for r in _recipient_rows(db, txn)}
    targets: list[Participant | None] = [rows[p][0] for p in participant_ids if p in rows] or [None]
    flags = email_templates.Flags()
    for part in targets:
        values = email_templates.merge_values(db, txn, recipient=part, sender=actor)
        f = email_templates.check(subject + "\n" + body, values, blocks)
        flags.unknown += [n for n in f.unknown if n not in flags.unknown]
        flags.empty += [n for n in f.empty if n not in flags.empty]
    return flags


def send(
    db: Session,
    actor: User | None,
    transaction_id: int,
    *,
    participant_ids: Sequence[int],
    subject: str,
    body: str,
    extra_addresses: Sequence[str] = (),
    send_at: str = "",
    now: datetime | None = None,
) -> SendResult:
    """Email each chosen recipient now, or at ``send_at`` (local time in the brokerage's zone)."""
    txn = access.get_editable_transaction(db, actor, transaction_id)
    assert actor is not None and txn.id is not None
    when = parse_send_at(db, txn.org_id, send_at, now) if send_at.strip() else None
    chosen = _chosen(db, txn, participant_ids, extra_addresses)
    blocks = email_templates.blocks_for(db, actor)
    # Render every message before sending any (one flagged field refuses the whole send).
    rendered = []
    for part, person, user, email in chosen:
        values = email_templates.merge_values(db, txn, recipient=part, sender=actor)
        try:
            out = email_templates.render(subject, body, values, blocks)
        except ValidationFailed as exc:
            name = person.full_name if person else (user.full_name if user else email)
            raise ValidationFailed(
                exc.errors, f"For {name}: {'; '.join(exc.errors.values())}"
            ) from None
        rendered.append((part, person, user, email, out))
    for _ in rendered:
        rate_limit.hit(COMPOSE_SEND, f"user:{actor.id}")
    ids = []
    names = []
    for _part, person, user, email, out in rendered:
        person_id = person.id if person else _person_id_of_user(db, user)
        message = queue_email(
            db,
            to=email,
            template="composed",
            context={
                "subject": out.subject,
                "text": out.text,
                "body_html": Markup(out.html),  # sanitized by nh3 in render()
                "sender_name": actor.full_name,
                "address": txn.address,
            },
            org_id=txn.org_id,
            user_id=user.id if user else None,
            transaction_id=txn.id,
            send_at=when,
            sent_by_id=actor.id,
            person_id=person_id,
        )
        assert message.id is not None
        ids.append(message.id)
        names.append(person.full_name if person else (user.full_name if user else email))
    subject_line = rendered[0][4].subject
    who = ", ".join(names)
    if when is None:
        kind, summary = "email_sent", f"Email “{subject_line}” sent to {who}"
    else:
        local = when.astimezone(_zone(db, txn.org_id))
        kind = "email_scheduled"
        summary = f"Email “{subject_line}” scheduled for {_when_label(local)} to {who}"
    timeline.record(
        db,
        actor=actor,
        txn=txn,
        kind=kind,
        summary=summary,
        data={
            "subject": subject_line,
            "recipients": names,
            "message_ids": ids,
            "scheduled_for": when.isoformat() if when else None,
        },
    )
    db.flush()
    return SendResult(count=len(ids), scheduled_for=when, message_ids=ids)


def _person_id_of_user(db: Session, user: User | None) -> int | None:
    if user is None:
        return None
    return db.exec(select(Person.id).where(Person.user_id == user.id)).first()


def _when_label(local: datetime) -> str:
    return local.strftime("%a %d %b %Y, %-I:%M %p").replace("AM", "am").replace("PM", "pm")


def list_scheduled(db: Session, actor: User | None, transaction_id: int) -> list[ScheduledRow]:
    """Scheduled messages of this file still waiting to go."""
    txn = access.get_editable_transaction(db, actor, transaction_id)
    zone = _zone(db, txn.org_id)
    rows = db.exec(
        select(EmailMessage, User)
        .outerjoin(User, col(User.id) == col(EmailMessage.sent_by_id))
        .where(
            EmailMessage.transaction_id == txn.id,
            EmailMessage.status == QUEUED,
            col(EmailMessage.scheduled_for).is_not(None),
            EmailMessage.attempts == 0,
        )
        .order_by(col(EmailMessage.scheduled_for), col(EmailMessage.id))
        .limit(100)
    ).all()
    out = []
    for m, sender in rows:
        assert m.scheduled_for is not None
        at = m.scheduled_for
        if at.tzinfo is None:
            at = at.replace(tzinfo=ZoneInfo("UTC"))
        out.append(
            ScheduledRow(
                id=m.id or 0,
                recipient=m.to_address,
                subject=m.subject,
                scheduled_for=at.isoformat(),
                scheduled_label=_when_label(at.astimezone(zone)),
                sent_by=sender.full_name if sender else "",
            )
        )
    return out


def cancel_scheduled(db: Session, actor: User | None, message_id: int) -> None:
    """Withdraw a scheduled message that has not gone yet (Conflict if it has, or is going)."""
    staff = access.require_staff(actor)
    m = db.get(EmailMessage, message_id)
    if m is None or m.transaction_id is None or m.org_id != staff.org_id:
        raise NotFound("Message not found.")
    try:
        txn = access.get_editable_transaction(db, staff, m.transaction_id)
    except NotFound:
        raise NotFound("Message not found.") from None
    if m.scheduled_for is None:
        raise Conflict("Only a scheduled message can be cancelled.")
    done = db.exec(
        update(EmailMessage)
        .where(
            col(EmailMessage.id) == message_id,
            col(EmailMessage.status) == QUEUED,
            col(EmailMessage.attempts) == 0,
        )
        .values(status=CANCELLED, next_attempt_at=None, updated_at=utcnow())
    ).rowcount
    if done != 1:
        raise Conflict("This message has already been sent or is being sent.")
    db.refresh(m)
    timeline.record(
        db,
        actor=staff,
        txn=txn,
        kind="email_cancelled",
        summary=f"Scheduled email “{m.subject}” to {m.to_address} cancelled",
        data={"message_id": message_id},
    )
    db.flush()


# ----------------------------------------------------------------------------- status update


def _safe(text: str) -> str:
    """Generated text must not look like merge fields (it is sent through the merge)."""
    return text.replace("{{", "{ {").replace("}}", "} }")


def status_update(
    db: Session,
    actor: User | None,
    transaction_id: int,
    participant_id: int | None = None,
    *,
    today: date | None = None,
) -> Draft:
    """A plain-language summary of where the deal stands, for the client, editable before sending.

    ``participant_id`` None: the file's client(s). The summary: the stage in words, what is
    done (key dates already past), what comes next (the next key dates) and what is needed from
    the recipient (open tasks assigned to their participant row).
    """
    txn = access.get_editable_transaction(db, actor, transaction_id)
    assert actor is not None
    options = _recipient_rows(db, txn)
    if participant_id:
        targets = [r for r in options if r[0].id == participant_id]
        if not targets:
            raise ValidationFailed(
                {"recipients": "That person is not on this transaction with an email."}
            )
    else:
        targets = [r for r in options if r[0].role == _client_role(txn)]
        if not targets:
            raise ValidationFailed({"recipients": "This file has no client with an email yet."})
    today = today or datetime.now(_zone(db, txn.org_id)).date()
    first_names = [
        (p.first_name if p else (u.full_name.split(" ")[0] if u else "")) for _, p, u, _ in targets
    ]
    greeting = " and ".join(n for n in first_names if n) or "there"

    kds = db.exec(
        select(KeyDate)
        .where(KeyDate.transaction_id == txn.id)
        .order_by(col(KeyDate.position), col(KeyDate.id))
    ).all()
    dated = sorted(((kd.day, kd.label) for kd in kds if kd.day is not None), key=lambda x: x[0])
    done = [(d, label) for d, label in dated if d < today]
    coming = [(d, label) for d, label in dated if d >= today][:5]
    if txn.effective_date and txn.effective_date < today:
        done.insert(0, (txn.effective_date, "Contract effective"))
    part_ids = [r[0].id for r in targets]
    tasks = db.exec(
        select(Task)
        .where(
            Task.transaction_id == txn.id,
            Task.status == "open",
            col(Task.assignee_participant_id).in_(part_ids),
        )
        .order_by(col(Task.due_date).is_(None), col(Task.due_date), col(Task.id))
        .limit(20)
    ).all()

    lines = [f"Hi {greeting},", "", f"Here is where {txn.address} stands."]
    lines += ["", STAGE_WORDS.get(txn.stage, Stage(txn.stage).label)]
    if done:
        lines += ["", "Done so far:"]
        lines += [f"- {label} ({format_date(d)})" for d, label in done[-6:]]
    if coming and Stage(txn.stage).is_open:
        lines += ["", "Coming up:"]
        lines += [f"- {label}: {format_date(d)}" for d, label in coming]
    if txn.closing_date and Stage(txn.stage).is_open and txn.closing_date >= today:
        lines += ["", f"We are aiming to close on {format_date(txn.closing_date)}."]
    if tasks:
        lines += ["", "What we need from you:"]
        for t in tasks:
            due = f" (by {format_date(t.due_date)})" if t.due_date else ""
            lines.append(f"- {t.title}{due}")
    elif Stage(txn.stage).is_open:
        lines += ["", "Nothing is needed from you right now."]
    lines += ["", "Reply to this email with any questions.", "", actor.full_name]
    subject = f"Update on {txn.address}: {Stage(txn.stage).label.lower()}"
    return Draft(
        subject=_safe(subject),
        body=_safe("\n".join(lines)),
        participant_ids=[r[0].id or 0 for r in targets],
    )


STAGE_WORDS = email_templates.STAGE_LINES
