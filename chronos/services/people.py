"""People: the brokerage's contacts (clients, attorneys, lenders, inspectors...).

Only staff browse and edit contacts. A person page lists the transactions with that person
that the actor may see, and nothing else.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import func, or_
from sqlmodel import Session, col, select

from chronos.models import Participant, ParticipantRole, Person, Transaction, User, utcnow
from chronos.services import access
from chronos.services.errors import Conflict, ValidationFailed
from chronos.services.pagination import Page, clamp_page
from chronos.services.transactions import TransactionRow, rows_for
from chronos.services.validation import (
    Collector,
    clean_text,
    contains_folded,
    escape_like,
    format_phone,
    parse_email,
    parse_phone,
    required_text,
)

PERSON_FIELDS = ("first_name", "last_name", "email", "phone", "company", "notes")


@dataclass
class PersonRow:
    id: int
    name: str
    email: str
    phone: str
    company: str
    has_login: bool


@dataclass
class PersonTransaction:
    role_label: str
    transaction: TransactionRow


@dataclass
class PersonDetail:
    id: int
    first_name: str
    last_name: str
    name: str
    email: str
    phone: str
    phone_input: str
    company: str
    notes: str
    has_login: bool
    transactions: list[PersonTransaction] = field(default_factory=list)


def _validate(data: dict[str, Any], *, partial: bool) -> dict[str, Any]:
    check = Collector()
    out: dict[str, Any] = {}
    parsers: dict[str, tuple[Any, tuple[Any, ...]]] = {
        "first_name": (required_text, (100, "First name")),
        "last_name": (clean_text, (100,)),
        "email": (parse_email, ()),
        "phone": (parse_phone, ()),
        "company": (clean_text, (200,)),
        "notes": (lambda v: str(v or "").strip()[:4000], ()),
    }
    for name, (parse, args) in parsers.items():
        if name in data:
            value = check.field(name, parse, data[name], *args)
            if name not in check.errors:
                out[name] = value
        elif not partial and name == "first_name":
            check.add("first_name", "First name is required.")
    check.raise_if_any()
    return out


def _ensure_unique_email(
    db: Session, org_id: int, email: str | None, exclude_id: int | None
) -> None:
    if not email:
        return
    other = db.exec(
        select(Person).where(
            Person.org_id == org_id, Person.email == email, Person.id != exclude_id
        )
    ).first()
    if other is not None:
        raise Conflict(f"{other.full_name} already has the email {email}.")


def create_person(db: Session, actor: User, data: dict[str, Any]) -> Person:
    actor = access.require_staff(actor)
    fields = _validate(data, partial=False)
    _ensure_unique_email(db, actor.org_id, fields.get("email"), None)
    person = Person(org_id=actor.org_id, **fields)
    db.add(person)
    db.flush()
    return person


def update_person(db: Session, actor: User, person_id: int, data: dict[str, Any]) -> Person:
    person = access.get_org_person(db, actor, person_id)
    fields = _validate({k: v for k, v in data.items() if k in PERSON_FIELDS}, partial=True)
    if person.user_id is not None and "email" in fields and fields["email"] != person.email:
        raise ValidationFailed(
            {"email": "This contact signs in with their email; it cannot be changed here."}
        )
    _ensure_unique_email(db, actor.org_id, fields.get("email"), person.id)
    for name, value in fields.items():
        setattr(person, name, value)
    person.updated_at = utcnow()
    db.add(person)
    db.flush()
    return person


def delete_person(db: Session, actor: User, person_id: int) -> None:
    person = access.get_org_person(db, actor, person_id)
    if person.user_id is not None:
        raise Conflict("This contact has a login; deactivate the user instead.")
    count = db.exec(
        select(func.count()).select_from(Participant).where(Participant.person_id == person.id)
    ).one()
    if count:
        raise Conflict(
            f"{person.full_name} is on {count} transaction(s); remove them from those first."
        )
    db.delete(person)
    db.flush()


def _digits(word: str) -> str:
    """Phone fragments match the stored E.164 digits: '617-253' finds +16172531000."""
    digits = "".join(ch for ch in word if ch.isdigit())
    return digits if len(digits) >= 3 else ""


def people_filter(actor: User, q: str = "") -> list[Any]:
    """The WHERE conditions of the contacts list (the page, the API, its CSV)."""
    conditions: list[Any] = [Person.org_id == actor.org_id]
    conditions.extend(
        or_(
            *(
                contains_folded(c, word)
                for c in (Person.first_name, Person.last_name, Person.email, Person.company)
            ),
            col(Person.phone).like(f"%{escape_like(_digits(word) or word)}%", escape="\\"),
        )
        for word in " ".join(str(q).split())[:100].split()[:6]
    )
    return conditions


def list_people(
    db: Session, actor: User, *, q: str = "", page: int = 1, page_size: int = 25
) -> Page[PersonRow]:
    actor = access.require_staff(actor)
    conditions = people_filter(actor, q)
    page, page_size = clamp_page(page, page_size)
    total = db.exec(select(func.count()).select_from(Person).where(*conditions)).one()
    people = db.exec(
        select(Person)
        .where(*conditions)
        .order_by(func.lower(Person.last_name), func.lower(Person.first_name), col(Person.id))
        .offset((page - 1) * page_size)
        .limit(page_size)
    ).all()
    return Page(
        items=[
            PersonRow(
                id=p.id or 0,
                name=p.full_name,
                email=p.email or "",
                phone=format_phone(p.phone),
                company=p.company,
                has_login=p.user_id is not None,
            )
            for p in people
        ],
        total=total,
        page=page,
        page_size=page_size,
    )


def get_person(db: Session, actor: User, person_id: int) -> PersonDetail:
    person = access.get_org_person(db, actor, person_id)
    links = db.exec(
        select(Participant.role, Transaction)
        .join(Transaction, Transaction.id == Participant.transaction_id)  # type: ignore[arg-type]
        .where(Participant.person_id == person.id, access.visible_transactions(actor))
        .order_by(col(Transaction.updated_at).desc())
        .limit(100)
    ).all()
    rows = rows_for(db, [t for _, t in links])
    return PersonDetail(
        id=person.id or 0,
        first_name=person.first_name,
        last_name=person.last_name,
        name=person.full_name,
        email=person.email or "",
        phone=format_phone(person.phone),
        phone_input=person.phone or "",
        company=person.company,
        notes=person.notes,
        has_login=person.user_id is not None,
        transactions=[
            PersonTransaction(role_label=ParticipantRole(role).label, transaction=row)
            for (role, _), row in zip(links, rows, strict=True)
        ],
    )


def search_contacts(db: Session, actor: User, q: str, limit: int = 8) -> list[PersonRow]:
    """Quick picker for adding a participant."""
    return list_people(db, actor, q=q, page=1, page_size=limit).items
