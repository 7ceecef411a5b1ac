"""Email templates and reusable text blocks, with merge fields filled from a transaction.

Merge fields are written ``{{ field }}`` (spaces inside the braces optional). Fields:

- the transaction: ``address``, ``street``, ``city``, ``state``, ``price``, ``stage``,
  ``closing_date``, ``effective_date``, ``mls``;
- key dates by key: ``key_date.inspection``, ``key_date.closing``... (the file's own keys);
- parties: ``agent.*`` (the file's owner), ``client.*`` (the buyer on a buyer-side file, the
  seller on a seller-side one), ``buyer.*``, ``seller.*``, ``lender.*``, ``attorney.*``,
  ``coordinator.*``, ``inspector.*``, ``title.*``, ``recipient.*`` (whoever the message goes
  to) and ``sender.*`` (who sends it), each with ``name``, ``first_name``, ``email``, ``phone``;
- ``brokerage.name``;
- ``block.<slug>``: a reusable text block by its name's slug ("Wire fraud warning" →
  ``block.wire-fraud-warning``); a block may hold merge fields but not other blocks.

:func:`check` lists the unknown fields (typos, a stray ``{{`` or ``}}``) and the empty ones (no
lender on the file yet, no closing date) so the UI can flag them; :func:`render` refuses to
produce anything while there are any: a placeholder or a blank is never sent.

The body is plain text (paragraphs, line breaks, bare links). :func:`render` makes the HTML:
every piece of text and every merge value is HTML-escaped, links become ``<a>`` tags, and the
result is sanitized with ``nh3`` as a last line of defence. Merge values are substituted in
one pass, so a value holding ``{{ x }}`` is text, never a field.

Who sees what: brokerage-wide rows (``owner_id`` NULL) are visible to the brokerage's staff and
edited by its admins; personal rows only by their owner. Others are ``NotFound``.
"""

from __future__ import annotations

import html
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import date
from typing import Any

import nh3
from sqlalchemy import or_
from sqlmodel import Session, col, select

from chronos.models import (
    KeyDate,
    Organization,
    Participant,
    ParticipantRole,
    Person,
    Role,
    Stage,
    Transaction,
    User,
    utcnow,
)
from chronos.models.message import EmailTemplate
from chronos.services import access, transactions
from chronos.services.errors import NotFound, PermissionDenied, ValidationFailed
from chronos.services.validation import clean_text, format_date, format_phone, format_price

TEMPLATE, BLOCK = "template", "block"
KINDS = (TEMPLATE, BLOCK)
BROKERAGE, PERSONAL = "brokerage", "personal"
MAX_BODY = 20_000

FIELD_RE = re.compile(r"\{\{\s*([^{}]*?)\s*\}\}")
NAME_RE = re.compile(r"^[a-z_][a-z0-9_]*(\.[a-z0-9_-]+)?$")
URL_RE = re.compile(r"https?://[^\s<>\"']+[^\s<>\"'.,;:!?)\]]")

TRANSACTION_FIELDS = (
    "address",
    "street",
    "city",
    "state",
    "price",
    "stage",
    "closing_date",
    "effective_date",
    "mls",
)
PARTIES = (
    "agent",
    "client",
    "buyer",
    "seller",
    "lender",
    "attorney",
    "coordinator",
    "inspector",
    "title",
    "recipient",
    "sender",
)
PARTY_FIELDS = ("name", "first_name", "email", "phone")
STATIC_FIELDS = frozenset(
    [*TRANSACTION_FIELDS, "brokerage.name"] + [f"{p}.{f}" for p in PARTIES for f in PARTY_FIELDS]
)

# Plain-language wording of each stage, for clients (status updates and ``{{ stage }}``).
STAGE_LINES: dict[str, str] = {
    Stage.PRE_LISTING.value: "Getting ready to list: pricing, photos and paperwork are being prepared.",
    Stage.ACTIVE_LISTING.value: "On the market: the home is listed and offers are being reviewed.",
    Stage.UNDER_CONTRACT.value: "Under contract: inspections, appraisal and loan approval are under way.",
    Stage.CLEAR_TO_CLOSE.value: "Clear to close: everything is approved and closing is being scheduled.",
    Stage.CLOSED.value: "Closed: the sale is complete. Congratulations!",
    Stage.CANCELLED.value: "Cancelled: this transaction did not go ahead.",
}

STARTERS: tuple[tuple[str, str, str], ...] = (
    (
        "Inspection scheduled",
        "Inspection scheduled for {{ address }}",
        "Hi {{ recipient.first_name }},\n\n"
        "The home inspection for {{ address }} is scheduled. The inspection deadline is "
        "{{ key_date.inspection }}.\n\n"
        "You are welcome to attend; plan on two to three hours. I will send you the report as "
        "soon as it arrives and we will go through it together.\n\n"
        "{{ agent.name }}\n{{ agent.email }}",
    ),
    (
        "Under contract: what happens next",
        "{{ address }} is under contract: what happens next",
        "Hi {{ recipient.first_name }},\n\n"
        "Great news: {{ address }} is under contract (effective {{ effective_date }}).\n\n"
        "Next come the inspection, the appraisal and the loan approval. We are aiming to close "
        "on {{ closing_date }}. I will keep you posted at every step, and I will tell you as "
        "soon as anything is needed from you.\n\n"
        "{{ agent.name }}\n{{ agent.email }}",
    ),
    (
        "Closing reminder",
        "Closing on {{ closing_date }}: {{ address }}",
        "Hi {{ recipient.first_name }},\n\n"
        "A reminder that closing for {{ address }} is set for {{ closing_date }}.\n\n"
        "Please bring a government-issued photo ID. Never wire money based on emailed "
        "instructions without calling the title company at a number you know.\n\n"
        "{{ agent.name }}\n{{ agent.email }}",
    ),
)


# ---------------------------------------------------------------------------------- merging


@dataclass
class Flags:
    """Fields a text cannot be sent with: unknown names and names with no value on this file."""

    unknown: list[str] = field(default_factory=list)
    empty: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.unknown and not self.empty

    def message(self) -> str:
        parts = []
        if self.unknown:
            parts.append("Unknown fields: " + ", ".join(self.unknown))
        if self.empty:
            parts.append("No value on this file for: " + ", ".join(self.empty))
        return ". ".join(parts) + "." if parts else ""


@dataclass(frozen=True)
class RenderedText:
    subject: str
    text: str
    html: str


def slugify(name: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", name.lower()).strip("-")[:60]


def field_names(text: str) -> list[str]:
    """The merge fields ``text`` uses, in order, each once (as written, trimmed)."""
    seen: dict[str, None] = {}
    for m in FIELD_RE.finditer(text):
        seen.setdefault(m.group(1), None)
    return list(seen)


def _stray_braces(text: str) -> bool:
    rest = FIELD_RE.sub("", text)
    return "{{" in rest or "}}" in rest


def is_known_name(name: str, blocks: Iterable[str] = ()) -> bool:
    """Whether ``name`` is a field Chronos knows (whatever the file); ``blocks``: block slugs."""
    if not NAME_RE.match(name):
        return False
    if name in STATIC_FIELDS:
        return True
    prefix, _, rest = name.partition(".")
    if prefix == "key_date":
        return bool(rest)
    if prefix == "block":
        return rest in set(blocks)
    return False


def expand_blocks(text: str, blocks: Mapping[str, str]) -> str:
    """Insert text blocks (one level: a ``{{ block.x }}`` inside a block stays as written)."""

    def sub(m: re.Match[str]) -> str:
        name = m.group(1)
        if name.startswith("block.") and name[6:] in blocks:
            return blocks[name[6:]]
        return m.group(0)

    return FIELD_RE.sub(sub, text)


def check(text: str, values: Mapping[str, str], blocks: Mapping[str, str] | None = None) -> Flags:
    """Unknown and empty fields of ``text`` once its blocks are inserted.

    ``values``: the merge context (:func:`merge_values`); a known name absent from it, or
    blank, is empty.
    """
    blocks = blocks or {}
    flags = Flags()
    for name in field_names(text):
        if name.startswith("block.") and name[6:] not in blocks:
            flags.unknown.append(name)
    expanded = expand_blocks(text, blocks)
    for name in field_names(expanded):
        if name.startswith("block.") and name[6:] in blocks:
            flags.unknown.append(name)  # a block inside a block
        elif not is_known_name(name):
            if name not in flags.unknown:
                flags.unknown.append(name)
        elif not (values.get(name) or "").strip():
            flags.empty.append(name)
    if _stray_braces(expanded):
        flags.unknown.append("{{ or }} without a field")
    return flags


def _merge(text: str, values: Mapping[str, str], escape: bool) -> str:
    """Replace every field in one pass; the text between fields is escaped too if ``escape``."""
    out: list[str] = []
    pos = 0
    for m in FIELD_RE.finditer(text):
        chunk = text[pos : m.start()]
        value = values.get(m.group(1), "")
        out.append(_linkify(chunk) if escape else chunk)
        out.append(html.escape(value, quote=True) if escape else value)
        pos = m.end()
    tail = text[pos:]
    out.append(_linkify(tail) if escape else tail)
    return "".join(out)


def _linkify(chunk: str) -> str:
    """Escape the sender's own text, turning bare http(s) links into anchors."""
    out: list[str] = []
    pos = 0
    for m in URL_RE.finditer(chunk):
        out.append(html.escape(chunk[pos : m.start()], quote=True))
        url = html.escape(m.group(0), quote=True)
        out.append(f'<a href="{url}">{url}</a>')
        pos = m.end()
    out.append(html.escape(chunk[pos:], quote=True))
    return "".join(out)


ALLOWED_TAGS = {"p", "br", "a", "strong", "em"}


def _to_html(body: str, values: Mapping[str, str]) -> str:
    paragraphs = [p.strip("\n") for p in re.split(r"\n\s*\n", body.replace("\r\n", "\n"))]
    parts = []
    for para in paragraphs:
        if not para.strip():
            continue
        merged = _merge(para, values, escape=True).replace("\n", "<br>\n")
        parts.append(f'<p style="margin:0 0 14px;">{merged}</p>')
    return nh3.clean(
        "\n".join(parts),
        tags=ALLOWED_TAGS,
        attributes={"a": {"href"}, "p": {"style"}},
        url_schemes={"http", "https", "mailto"},
        link_rel="noopener noreferrer",
    )


def render(
    subject: str,
    body: str,
    values: Mapping[str, str],
    blocks: Mapping[str, str] | None = None,
) -> RenderedText:
    """The message to send. Refuses (``ValidationFailed``) while any field is flagged."""
    blocks = blocks or {}
    errors: dict[str, str] = {}
    if not subject.strip():
        errors["subject"] = "Write a subject."
    if not body.strip():
        errors["body"] = "Write a message."
    for name, text in (("subject", subject), ("body", body)):
        flags = check(text, values, blocks)
        if not flags.ok:
            errors[name] = flags.message()
    if errors:
        raise ValidationFailed(errors)
    subject_out = " ".join(_merge(expand_blocks(subject, blocks), values, escape=False).split())
    body_full = expand_blocks(body, blocks).strip()
    return RenderedText(
        subject=subject_out[:300],
        text=_merge(body_full, values, escape=False).strip() + "\n",
        html=_to_html(body_full, values),
    )


def preview_text(text: str, values: Mapping[str, str], blocks: Mapping[str, str]) -> str:
    """``text`` merged for display: flagged fields shown as ``[missing: name]``."""
    expanded = expand_blocks(text, blocks)

    def sub(m: re.Match[str]) -> str:
        name = m.group(1)
        value = values.get(name, "") if is_known_name(name) else ""
        return value if value.strip() else f"[missing: {name}]"

    return FIELD_RE.sub(sub, expanded)


# ------------------------------------------------------------------------------ merge values


def _day(value: date | None) -> str:
    return format_date(value) if value else ""


def _party(prefix: str, name: str, first: str, email: str, phone: str) -> dict[str, str]:
    return {
        f"{prefix}.name": name,
        f"{prefix}.first_name": first,
        f"{prefix}.email": email,
        f"{prefix}.phone": phone,
    }


def _person_party(prefix: str, person: Person | None, user: User | None) -> dict[str, str]:
    if person is not None:
        return _party(
            prefix,
            person.full_name,
            person.first_name,
            person.email or (user.email if user else ""),
            format_phone(person.phone),
        )
    if user is not None:
        first = user.full_name.split(" ")[0] if user.full_name else ""
        return _party(prefix, user.full_name, first, user.email, "")
    return {}


def merge_values(
    db: Session,
    txn: Transaction,
    *,
    recipient: Participant | None = None,
    sender: User | None = None,
) -> dict[str, str]:
    """Every merge value this file has (already access-checked by the caller)."""
    values: dict[str, str] = {
        "address": txn.address,
        "street": txn.street,
        "city": txn.city,
        "state": txn.state,
        "price": format_price(txn.price_cents) if txn.price_cents is not None else "",
        "stage": Stage(txn.stage).label,
        "closing_date": _day(txn.closing_date),
        "effective_date": _day(txn.effective_date),
        "mls": txn.mls_number or "",
    }
    org = db.get(Organization, txn.org_id)
    values["brokerage.name"] = org.name if org else ""
    for kd in db.exec(select(KeyDate).where(KeyDate.transaction_id == txn.id)).all():
        values[f"key_date.{kd.key}"] = _day(kd.day)

    owner = db.get(User, txn.owner_id)
    values |= _person_party("agent", _person_of_user(db, owner), owner)
    if sender is not None:
        values |= _person_party("sender", _person_of_user(db, sender), sender)

    rows = db.exec(
        select(Participant, Person, User)
        .outerjoin(Person, col(Person.id) == col(Participant.person_id))
        .outerjoin(User, col(User.id) == col(Participant.user_id))
        .where(Participant.transaction_id == txn.id)
        .order_by(col(Participant.id))
    ).all()
    client_role = ParticipantRole.BUYER.value if txn.side == "buyer" else "seller"
    for part, row_person, user in rows:
        person = row_person or _person_of_user(db, user)
        if part.role in PARTIES and f"{part.role}.name" not in values:
            values |= _person_party(part.role, person, user)
        if part.role == client_role and "client.name" not in values:
            values |= _person_party("client", person, user)
        if recipient is not None and part.id == recipient.id:
            values |= _person_party("recipient", person, user)
    return values


def _person_of_user(db: Session, user: User | None) -> Person | None:
    if user is None:
        return None
    return db.exec(select(Person).where(Person.user_id == user.id)).first()


# ------------------------------------------------------------------------- templates (CRUD)


@dataclass
class TemplateRow:
    id: int
    kind: str
    scope: str  # brokerage | personal
    scope_label: str
    name: str
    slug: str
    subject: str
    body: str
    can_edit: bool


def _row(t: EmailTemplate, actor: User) -> TemplateRow:
    brokerage = t.owner_id is None
    return TemplateRow(
        id=t.id or 0,
        kind=t.kind,
        scope=BROKERAGE if brokerage else PERSONAL,
        scope_label="Brokerage" if brokerage else "Mine",
        name=t.name,
        slug=slugify(t.name),
        subject=t.subject,
        body=t.body,
        can_edit=(actor.role_enum is Role.ADMIN) if brokerage else t.owner_id == actor.id,
    )


def _visible(actor: User) -> Any:
    return (col(EmailTemplate.org_id) == actor.org_id) & or_(
        col(EmailTemplate.owner_id).is_(None), col(EmailTemplate.owner_id) == actor.id
    )


def ensure_starters(db: Session, org_id: int) -> int:
    """Copy the starter templates into a brokerage that has no brokerage-wide template yet."""
    existing = db.exec(
        select(EmailTemplate.id).where(
            EmailTemplate.org_id == org_id,
            col(EmailTemplate.owner_id).is_(None),
            EmailTemplate.kind == TEMPLATE,
        )
    ).first()
    if existing is not None:
        return 0
    for name, subject, body in STARTERS:
        db.add(EmailTemplate(org_id=org_id, kind=TEMPLATE, name=name, subject=subject, body=body))
    db.flush()
    return len(STARTERS)


def list_templates(db: Session, actor: User | None, kind: str = TEMPLATE) -> list[TemplateRow]:
    """The templates (or blocks) the actor may use: the brokerage's and their own."""
    staff = access.require_staff(actor)
    if kind not in KINDS:
        raise ValidationFailed({"kind": "Unknown kind."})
    if kind == TEMPLATE:
        ensure_starters(db, staff.org_id)
    rows = db.exec(
        select(EmailTemplate)
        .where(_visible(staff), EmailTemplate.kind == kind)
        .order_by(col(EmailTemplate.owner_id).is_(None).desc(), col(EmailTemplate.name))
        .limit(500)
    ).all()
    return [_row(t, staff) for t in rows]


def blocks_for(db: Session, actor: User) -> dict[str, str]:
    """Block slug → text for the actor (their personal block wins over a brokerage one)."""
    rows = db.exec(
        select(EmailTemplate)
        .where(_visible(actor), EmailTemplate.kind == BLOCK)
        .order_by(col(EmailTemplate.owner_id).is_(None).desc(), col(EmailTemplate.id))
        .limit(500)
    ).all()
    return {slugify(t.name): t.body for t in rows}


def _get(db: Session, actor: User, template_id: int) -> EmailTemplate:
    t = db.exec(
        select(EmailTemplate).where(EmailTemplate.id == template_id, _visible(actor))
    ).first()
    if t is None:
        raise NotFound("Template not found.")
    return t


def get_template(db: Session, actor: User | None, template_id: int) -> TemplateRow:
    staff = access.require_staff(actor)
    return _row(_get(db, staff, template_id), staff)


def _require_edit(actor: User, t: EmailTemplate) -> None:
    if t.owner_id is None and actor.role_enum is not Role.ADMIN:
        raise PermissionDenied("Only an admin can change the brokerage's templates.")
    if t.owner_id is not None and t.owner_id != actor.id:
        raise NotFound("Template not found.")


def _clean(db: Session, actor: User, data: Mapping[str, Any], kind: str) -> dict[str, str]:
    errors: dict[str, str] = {}
    name = clean_text(data.get("name"), 200)
    subject = clean_text(data.get("subject"), 300)
    body = str(data.get("body") or "").replace("\r\n", "\n").strip()
    if not name or not slugify(name):
        errors["name"] = "Give it a name (letters or digits)."
    if kind == TEMPLATE and not subject:
        errors["subject"] = "Write a subject."
    if not body:
        errors["body"] = "Write the text."
    elif len(body) > MAX_BODY:
        errors["body"] = f"Keep it under {MAX_BODY:,} characters."
    slugs = set(blocks_for(db, actor))
    if kind == BLOCK:
        slugs.add(slugify(name))
    for key, text in (("subject", subject), ("body", body)):
        bad = [n for n in field_names(text) if not is_known_name(n, slugs)]
        if kind == BLOCK:
            bad += [n for n in field_names(text) if n.startswith("block.")]
        if _stray_braces(text):
            bad.append("{{ or }} without a field")
        if bad and key not in errors:
            errors[key] = "Unknown fields: " + ", ".join(dict.fromkeys(bad)) + "."
    if errors:
        raise ValidationFailed(errors)
    return {"name": name, "subject": subject if kind == TEMPLATE else "", "body": body}


def create_template(db: Session, actor: User | None, data: Mapping[str, Any]) -> EmailTemplate:
    """``data``: kind (template|block), scope (brokerage|personal), name, subject, body."""
    staff = access.require_staff(actor)
    kind = str(data.get("kind") or TEMPLATE)
    scope = str(data.get("scope") or PERSONAL)
    if kind not in KINDS:
        raise ValidationFailed({"kind": "Choose a template or a text block."})
    if scope not in (BROKERAGE, PERSONAL):
        raise ValidationFailed({"scope": "Choose brokerage-wide or personal."})
    if scope == BROKERAGE and staff.role_enum is not Role.ADMIN:
        raise PermissionDenied("Only an admin can add brokerage-wide templates.")
    if kind == TEMPLATE:
        ensure_starters(db, staff.org_id)
    clean = _clean(db, staff, data, kind)
    if kind == BLOCK:
        _check_block_name(db, staff, clean["name"], None)
    t = EmailTemplate(
        org_id=staff.org_id,
        owner_id=None if scope == BROKERAGE else staff.id,
        kind=kind,
        name=clean["name"],
        subject=clean["subject"],
        body=clean["body"],
    )
    db.add(t)
    db.flush()
    return t


def _check_block_name(db: Session, actor: User, name: str, own_id: int | None) -> None:
    slug = slugify(name)
    for t in db.exec(
        select(EmailTemplate).where(_visible(actor), EmailTemplate.kind == BLOCK)
    ).all():
        if t.id != own_id and slugify(t.name) == slug:
            raise ValidationFailed({"name": f"A text block called block.{slug} already exists."})


def update_template(
    db: Session, actor: User | None, template_id: int, data: Mapping[str, Any]
) -> EmailTemplate:
    staff = access.require_staff(actor)
    t = _get(db, staff, template_id)
    _require_edit(staff, t)
    clean = _clean(db, staff, data, t.kind)
    if t.kind == BLOCK:
        _check_block_name(db, staff, clean["name"], t.id)
    t.name, t.subject, t.body = clean["name"], clean["subject"], clean["body"]
    t.updated_at = utcnow()
    db.add(t)
    db.flush()
    return t


def delete_template(db: Session, actor: User | None, template_id: int) -> None:
    staff = access.require_staff(actor)
    t = _get(db, staff, template_id)
    _require_edit(staff, t)
    db.delete(t)
    db.flush()


# ---------------------------------------------------------------------------------- preview


@dataclass
class Preview:
    subject: str
    body: str
    unknown: list[str]
    empty: list[str]


def preview(
    db: Session,
    actor: User | None,
    transaction_id: int,
    subject: str,
    body: str,
    *,
    recipient_participant_id: int | None = None,
) -> Preview:
    """``subject``/``body`` filled with a real file's data the actor can see.

    The recipient defaults to the file's client (so ``recipient.*`` shows something real).
    """
    staff = access.require_staff(actor)
    txn = access.get_visible_transaction(db, staff, transaction_id)
    recipient = _recipient(db, txn, recipient_participant_id)
    values = merge_values(db, txn, recipient=recipient, sender=staff)
    blocks = blocks_for(db, staff)
    flags = check(subject + "\n" + body, values, blocks)
    return Preview(
        subject=" ".join(preview_text(subject, values, blocks).split()),
        body=preview_text(body, values, blocks),
        unknown=flags.unknown,
        empty=flags.empty,
    )


def _recipient(db: Session, txn: Transaction, participant_id: int | None) -> Participant | None:
    if participant_id:
        part = db.get(Participant, participant_id)
        if part is None or part.transaction_id != txn.id:
            raise NotFound("That person is not on this transaction.")
        return part
    client_role = "buyer" if txn.side == "buyer" else "seller"
    return db.exec(
        select(Participant)
        .where(Participant.transaction_id == txn.id, Participant.role == client_role)
        .order_by(col(Participant.id))
    ).first()


def field_help() -> list[str]:
    """The merge fields to offer in the UI, in a sensible order."""
    return [
        *TRANSACTION_FIELDS,
        "key_date.<key>",
        *[f"{p}.{f}" for p in PARTIES for f in PARTY_FIELDS],
        "brokerage.name",
        "block.<slug>",
    ]


@dataclass
class FileOption:
    value: str  # the transaction id
    label: str


def preview_files(db: Session, actor: User | None) -> list[FileOption]:
    """Files the actor can preview with: their open files first (at most 50)."""
    staff = access.require_staff(actor)
    rows = transactions.list_transactions(db, staff, open_only=True, page_size=50).items
    if not rows:
        rows = transactions.list_transactions(db, staff, page_size=50).items
    return [FileOption(value=str(r.id), label=r.address) for r in rows]
