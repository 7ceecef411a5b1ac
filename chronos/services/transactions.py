"""Transactions: create, edit, list, change stage, manage participants."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from sqlalchemy import and_, exists, func, or_
from sqlmodel import Session, col, select

from chronos.deadlines import PRESETS
from chronos.models import (
    EXTERNAL_PARTICIPANT_ROLES,
    LISTING_STAGES,
    STAFF_PARTICIPANT_ROLES,
    Participant,
    ParticipantRole,
    Person,
    PropertyType,
    Role,
    Side,
    Stage,
    Transaction,
    User,
    utcnow,
)
from chronos.services import (
    access,
    auth,
    automations,
    deadline_templates,
    key_dates,
    tasks,
    timeline,
)
from chronos.services.errors import Conflict, NotFound, PermissionDenied, ValidationFailed
from chronos.services.pagination import Page, clamp_page
from chronos.services.validation import (
    Collector,
    clean_text,
    contains_folded,
    format_date,
    format_phone,
    format_price,
    parse_choice,
    parse_date,
    parse_email,
    parse_phone,
    parse_postal_code,
    parse_price_cents,
    parse_state,
    required_text,
)

CLIENT_ROLES = (ParticipantRole.BUYER.value, ParticipantRole.SELLER.value)
SORTS = {
    "closing": col(Transaction.closing_date),
    "updated": col(Transaction.updated_at),
    "created": col(Transaction.created_at),
    "address": col(Transaction.street),
    "price": col(Transaction.price_cents),
}
# Fields whose change moves dates that others rely on: shown to outside parties too.
DATE_FIELDS = ("effective_date", "closing_date")
EDITABLE_FIELDS = (
    "street",
    "unit",
    "city",
    "state",
    "postal_code",
    "property_type",
    "price",
    "effective_date",
    "closing_date",
    "mls_number",
)


# ---------------------------------------------------------------- views (what callers receive)


@dataclass
class TransactionRow:
    id: int
    address: str
    street: str
    city_line: str
    side: str
    side_label: str
    stage: str
    stage_label: str
    price: str
    closing_date: str
    closing_label: str
    owner_name: str
    clients: str


@dataclass
class ParticipantRow:
    id: int
    role: str
    role_label: str
    name: str
    email: str
    phone: str
    person_id: int
    user_id: int
    has_login: bool


@dataclass
class StageOption:
    value: str
    label: str


@dataclass
class TransactionDetail:
    id: int
    address: str
    street: str
    unit: str
    city: str
    state: str
    postal_code: str
    side: str
    side_label: str
    stage: str
    stage_label: str
    property_type: str
    property_type_label: str
    price: str
    price_input: str
    effective_date: str
    closing_date: str
    effective_label: str
    closing_label: str
    mls_number: str
    cancel_reason: str
    owner_id: int
    owner_name: str
    owner_email: str
    can_edit: bool
    stage_options: list[StageOption] = field(default_factory=list)
    participants: list[ParticipantRow] = field(default_factory=list)


# ---------------------------------------------------------------- validation


def _validate_fields(data: dict[str, Any], *, partial: bool) -> dict[str, Any]:
    """Clean the editable fields present in ``data``. With partial=False, street is required."""
    check = Collector()
    out: dict[str, Any] = {}
    parsers: dict[str, tuple[Any, tuple[Any, ...]]] = {
        "street": (required_text, (200, "Street address")),
        "unit": (clean_text, (40,)),
        "city": (clean_text, (100,)),
        "state": (parse_state, ()),
        "postal_code": (parse_postal_code, ()),
        "property_type": (parse_choice, (PropertyType, "property type")),
        "price": (parse_price_cents, ()),
        "effective_date": (parse_date, ()),
        "closing_date": (parse_date, ()),
        "mls_number": (clean_text, (40,)),
    }
    for name, (parse, args) in parsers.items():
        if name in data:
            value = check.field(name, parse, data[name], *args)
            if name not in check.errors:
                out[name] = value.value if isinstance(value, PropertyType) else value
        elif not partial and name == "street":
            check.add("street", "Street address is required.")
    if "price" in out:
        out["price_cents"] = out.pop("price")
    check.raise_if_any()
    return out


def _check_dates(effective: date | None, closing: date | None) -> None:
    if effective and closing and closing < effective:
        raise ValidationFailed(
            {"closing_date": "Closing date cannot be before the effective (acceptance) date."}
        )


def _check_stage_for_side(stage: Stage, side: Side) -> None:
    if stage in LISTING_STAGES and side is Side.BUYER:
        raise ValidationFailed(
            {"stage": f"A buyer-side transaction cannot be in the {stage.label} stage."}
        )


def default_stage(side: Side) -> Stage:
    return Stage.UNDER_CONTRACT if side is Side.BUYER else Stage.PRE_LISTING


# ---------------------------------------------------------------- commands


def create_transaction(db: Session, actor: User, data: dict[str, Any]) -> Transaction:
    """Create a transaction; optionally the first client (name + email/phone) in the same step.

    ``data`` keys: side, stage (optional), owner_id (optional), the editable fields,
    client_name / client_email / client_phone, and deadline_preset (optional: a key of
    ``chronos.deadlines.PRESETS`` whose key dates are computed from the dates given) with
    optional deadline_offsets (rule key -> days: the contract's own periods).
    """
    actor = access.require_staff(actor)
    auth.require_verified(actor)
    check = Collector()
    side = check.field("side", parse_choice, data.get("side"), Side, "side")
    stage_raw = data.get("stage")
    stage = check.field("stage", parse_choice, stage_raw, Stage, "stage") if stage_raw else None
    try:
        fields = _validate_fields(data, partial=False)
    except ValidationFailed as exc:
        check.errors.update(exc.errors)
        fields = {}
    client_name = check.field("client_name", clean_text, data.get("client_name"), 200)
    client_email = check.field("client_email", parse_email, data.get("client_email"))
    client_phone = check.field("client_phone", parse_phone, data.get("client_phone"))
    if (client_email or client_phone) and not client_name:
        check.add("client_name", "Give the client's name too.")
    preset = str(data.get("deadline_preset") or "")
    if (
        preset
        and preset not in PRESETS
        and deadline_templates.find_for_apply(db, actor, preset) is None
    ):
        check.add("deadline_preset", "Choose one of the listed key-date presets.")
    check.raise_if_any()
    assert isinstance(side, Side)
    stage = stage or default_stage(side)
    if not stage.is_open:
        raise ValidationFailed({"stage": "A new transaction must start in an open stage."})
    _check_stage_for_side(stage, side)
    _check_dates(fields.get("effective_date"), fields.get("closing_date"))

    owner = actor
    owner_id = _optional_id(data.get("owner_id"), "owner_id")
    if owner_id not in (None, actor.id):
        if actor.role_enum is Role.AGENT:
            raise PermissionDenied("Agents create transactions for themselves.")
        assert owner_id is not None
        owner = access.get_org_user(db, actor, owner_id)
        if owner.role_enum not in (Role.AGENT, Role.ADMIN) or not owner.is_active:
            raise ValidationFailed({"owner_id": "The owner must be an active agent or admin."})

    now = utcnow()
    txn = Transaction(
        org_id=actor.org_id,
        owner_id=owner.id,  # type: ignore[arg-type]
        side=side.value,
        stage=stage.value,
        created_at=now,
        updated_at=now,
        stage_changed_at=now,
        **fields,
    )
    db.add(txn)
    db.flush()
    timeline.record(
        db,
        actor=actor,
        txn=txn,
        kind="transaction_created",
        summary=f"Transaction opened: {txn.address} ({side.label}, {stage.label})",
        data={"stage": stage.value, "side": side.value},
    )
    if owner.id != actor.id and actor.role_enum is Role.COORDINATOR:
        _add_participant_row(db, actor, txn, ParticipantRole.COORDINATOR, user=actor)
    if client_name:
        first, _, last = client_name.partition(" ")
        person = _find_person_by_email(db, actor.org_id, client_email) if client_email else None
        if person is None:
            person = Person(
                org_id=actor.org_id,
                first_name=first,
                last_name=last,
                email=client_email,
                phone=client_phone,
            )
            db.add(person)
            db.flush()
        role = ParticipantRole.BUYER if side is Side.BUYER else ParticipantRole.SELLER
        _add_participant_row(db, actor, txn, role, person=person)
    if preset:
        assert txn.id is not None
        key_dates.apply_preset(
            db,
            actor,
            txn.id,
            preset,
            error_field="deadline_preset",
            offsets=data.get("deadline_offsets") or None,
        )
    # After the dates and the first client: the checklist's due dates and assignees use them.
    tasks.apply_checklists(db, actor, txn, txn.stage)
    from chronos.services import compliance  # required documents (imports documents)

    compliance.apply_on_create(db, actor, txn)
    db.flush()
    return txn


def update_transaction(
    db: Session, actor: User, transaction_id: int, data: dict[str, Any]
) -> Transaction:
    txn = access.get_editable_transaction(db, actor, transaction_id)
    fields = _validate_fields({k: v for k, v in data.items() if k in EDITABLE_FIELDS}, partial=True)
    _check_dates(
        fields.get("effective_date", txn.effective_date),
        fields.get("closing_date", txn.closing_date),
    )
    changes: dict[str, list[Any]] = {}
    for name, value in fields.items():
        old = getattr(txn, name)
        if old != value:
            changes[name] = [jsonable(old), jsonable(value)]
            setattr(txn, name, value)
    if not changes:
        return txn
    txn.updated_at = utcnow()
    db.add(txn)
    for kind, summary, data in change_events(changes):
        timeline.record(db, actor=actor, txn=txn, kind=kind, summary=summary, data=data)
    if any(k in DATE_FIELDS for k in changes):
        key_dates.recompute(db, actor, txn)
        tasks.sync_due_dates(db, txn)  # also tasks counted from the file's own dates
    db.flush()
    return txn


def allowed_stages(actor: User, txn: Transaction) -> list[Stage]:
    """Stages this actor may move this transaction to (empty for outside parties)."""
    if not access.can_edit(actor):
        return []
    current = Stage(txn.stage)
    if current is Stage.CLOSED and actor.role_enum is not Role.ADMIN:
        return []
    side = Side(txn.side)
    return [
        s for s in Stage if s is not current and not (s in LISTING_STAGES and side is Side.BUYER)
    ]


def change_stage(
    db: Session,
    actor: User,
    transaction_id: int,
    new_stage: str | Stage,
    *,
    reason: str = "",
    expected_stage: str | None = None,
) -> Transaction:
    """Move a transaction to another stage.

    ``expected_stage`` guards against stale pages and double submissions: when the transaction
    is no longer in that stage, nothing changes and ``Conflict`` says what it is now.
    """
    txn = access.get_editable_transaction(db, actor, transaction_id)
    try:
        target = Stage(str(new_stage))
    except ValueError:
        raise ValidationFailed({"stage": "Unknown stage."}) from None
    current = Stage(txn.stage)
    if expected_stage is not None and expected_stage != current.value:
        raise Conflict(f"This transaction is already {current.label}; reload to see the change.")
    if target is current:
        raise Conflict(f"This transaction is already {current.label}.")
    if current is Stage.CLOSED and actor.role_enum is not Role.ADMIN:
        raise PermissionDenied("Only an admin can reopen a closed transaction.")
    _check_stage_for_side(target, Side(txn.side))
    reason = clean_text(reason, 500)
    if target is Stage.CANCELLED and not reason:
        raise ValidationFailed({"reason": "Say why the transaction fell through."})
    if target is Stage.CLOSED:
        if txn.closing_date is None:
            raise ValidationFailed({"stage": "Set the closing date before closing the file."})
        if txn.closing_date > utcnow().date():
            raise ValidationFailed(
                {"stage": "The closing date is in the future; update it before closing the file."}
            )
        from chronos.services import compliance

        compliance.check_closing(db, txn.id or 0)  # MissingDocuments (409) lists what is missing
    txn.stage = target.value
    txn.cancel_reason = reason if target is Stage.CANCELLED else ""
    txn.stage_changed_at = txn.updated_at = utcnow()
    db.add(txn)
    summary = f"Stage changed: {current.label} → {target.label}"
    if reason:
        summary += f" ({reason})"
    timeline.record(
        db,
        actor=actor,
        txn=txn,
        kind="stage_changed",
        summary=summary,
        data={"from": current.value, "to": target.value, "reason": reason},
    )
    tasks.apply_checklists(db, actor, txn, target.value)
    automations.on_stage_changed(db, txn, target.value)
    db.flush()
    return txn


def add_participant(
    db: Session,
    actor: User,
    transaction_id: int,
    *,
    role: str,
    person_id: int | None = None,
    user_id: int | None = None,
) -> Participant:
    txn = access.get_editable_transaction(db, actor, transaction_id)
    try:
        prole = ParticipantRole(role)
    except ValueError:
        raise ValidationFailed({"role": "Unknown participant role."}) from None
    if (person_id is None) == (user_id is None):
        raise ValidationFailed({"person_id": "Choose one contact or one staff member."})
    if user_id is not None:
        user = access.get_org_user(db, actor, user_id)
        if prole not in STAFF_PARTICIPANT_ROLES or not user.is_staff:
            raise ValidationFailed(
                {"role": "Staff members join a transaction as co-agent or coordinator."}
            )
        if not user.is_active:
            raise ValidationFailed({"user": f"{user.full_name} is deactivated."})
        return _add_participant_row(db, actor, txn, prole, user=user)
    assert person_id is not None
    person = access.get_org_person(db, actor, person_id)
    if prole in STAFF_PARTICIPANT_ROLES:
        raise ValidationFailed({"role": "Co-agents and coordinators are staff members."})
    if person.user_id is not None:
        login = db.get(User, person.user_id)
        allowed = EXTERNAL_PARTICIPANT_ROLES.get(login.role_enum) if login else None
        if allowed is not None and prole not in allowed:
            choices = " or ".join(sorted(r.label for r in allowed))
            raise ValidationFailed(
                {"role": f"{person.full_name} signs in as a {login.role}; add them as {choices}."}  # type: ignore[union-attr]
            )
    return _add_participant_row(db, actor, txn, prole, person=person)


def remove_participant(db: Session, actor: User, transaction_id: int, participant_id: int) -> None:
    txn = access.get_editable_transaction(db, actor, transaction_id)
    part = db.get(Participant, participant_id)
    if part is None or part.transaction_id != txn.id:
        raise NotFound("Participant not found.")
    name = _participant_name(db, part)
    db.delete(part)
    timeline.record(
        db,
        actor=actor,
        txn=txn,
        kind="participant_removed",
        summary=f"Removed {name} ({ParticipantRole(part.role).label})",
        data={"role": part.role, "person_id": part.person_id, "user_id": part.user_id},
    )
    txn.updated_at = utcnow()
    db.add(txn)
    db.flush()


def _add_participant_row(
    db: Session,
    actor: User,
    txn: Transaction,
    role: ParticipantRole,
    *,
    person: Person | None = None,
    user: User | None = None,
) -> Participant:
    user_id = user.id if user else (person.user_id if person else None)
    person_id = person.id if person else None
    dup = db.exec(
        select(Participant).where(
            Participant.transaction_id == txn.id,
            Participant.role == role.value,
            (Participant.person_id == person_id)
            if person_id is not None
            else (Participant.user_id == user_id),
        )
    ).first()
    if dup is not None:
        who = person.full_name if person else (user.full_name if user else "")
        raise Conflict(f"{who} is already on this transaction as {role.label}.")
    part = Participant(
        org_id=txn.org_id,
        transaction_id=txn.id,  # type: ignore[arg-type]
        role=role.value,
        person_id=person_id,
        user_id=user_id,
    )
    db.add(part)
    db.flush()
    name = person.full_name if person else (user.full_name if user else "")
    timeline.record(
        db,
        actor=actor,
        txn=txn,
        kind="participant_added",
        summary=f"Added {name} as {role.label}",
        data={"role": role.value, "person_id": person_id, "user_id": user_id},
    )
    return part


def _optional_id(value: Any, name: str) -> int | None:
    if value in (None, ""):
        return None
    try:
        return int(value)
    except (TypeError, ValueError):
        raise ValidationFailed({name: "Not a valid id."}) from None


def _find_person_by_email(db: Session, org_id: int, email: str) -> Person | None:
    return db.exec(select(Person).where(Person.org_id == org_id, Person.email == email)).first()


def _participant_name(db: Session, part: Participant) -> str:
    if part.person_id is not None:
        person = db.get(Person, part.person_id)
        return person.full_name if person else "a contact"
    user = db.get(User, part.user_id) if part.user_id else None
    return user.full_name if user else "a user"


# ---------------------------------------------------------------- queries


def _search_clause(q: str) -> Any:
    """Every word must match the address, MLS number, or a person on the transaction."""
    clauses = []
    for word in q.split()[:6]:

        def like(column: Any, word: str = word) -> Any:
            return contains_folded(column, word)

        person_match = exists(
            select(Participant.id)
            .join(Person, Person.id == Participant.person_id)  # type: ignore[arg-type]
            .where(
                Participant.transaction_id == Transaction.id,
                or_(like(Person.first_name), like(Person.last_name), like(Person.email)),
            )
        )
        clauses.append(
            or_(
                like(Transaction.street),
                like(Transaction.city),
                like(Transaction.postal_code),
                like(Transaction.mls_number),
                person_match,
            )
        )
    return and_(*clauses)


def list_transactions(
    db: Session,
    actor: User,
    *,
    stage: str = "",
    side: str = "",
    q: str = "",
    open_only: bool = False,
    sort: str = "closing",
    descending: bool = False,
    page: int = 1,
    page_size: int = 25,
) -> Page[TransactionRow]:
    actor = access.require_active(actor)
    conditions, ordering = pipeline_filter(
        actor, stage=stage, side=side, q=q, open_only=open_only, sort=sort, descending=descending
    )
    page, page_size = clamp_page(page, page_size)
    total = db.exec(select(func.count()).select_from(Transaction).where(*conditions)).one()
    txns = db.exec(
        select(Transaction)
        .where(*conditions)
        .order_by(*ordering)
        .offset((page - 1) * page_size)
        .limit(page_size)
    ).all()
    return Page(items=rows_for(db, list(txns)), total=total, page=page, page_size=page_size)


def pipeline_filter(
    actor: User,
    *,
    stage: str = "",
    side: str = "",
    q: str = "",
    open_only: bool = False,
    sort: str = "closing",
    descending: bool = False,
) -> tuple[list[Any], list[Any]]:
    """The WHERE conditions and ORDER BY of a pipeline view (the page, the API, its CSV)."""
    conditions: list[Any] = [access.visible_transactions(actor)]
    if stage:
        try:
            conditions.append(Transaction.stage == Stage(stage).value)
        except ValueError:
            raise ValidationFailed({"stage": "Unknown stage."}) from None
    elif open_only:
        conditions.append(
            col(Transaction.stage).not_in([Stage.CLOSED.value, Stage.CANCELLED.value])
        )
    if side:
        try:
            conditions.append(Transaction.side == Side(side).value)
        except ValueError:
            raise ValidationFailed({"side": "Unknown side."}) from None
    q = " ".join(str(q).split())[:100]
    if q:
        conditions.append(_search_clause(q))
    if sort not in SORTS:
        raise ValidationFailed({"sort": f"Sort by one of: {', '.join(SORTS)}."})
    column = SORTS[sort]
    order = column.desc() if descending else column.asc()
    return conditions, [column.is_(None), order, col(Transaction.id).desc()]


def rows_for(db: Session, txns: list[Transaction]) -> list[TransactionRow]:
    """Summary rows with owner and client names, in two queries whatever the page size."""
    if not txns:
        return []
    owner_ids = {t.owner_id for t in txns}
    owners = dict(db.exec(select(User.id, User.full_name).where(col(User.id).in_(owner_ids))).all())
    clients: dict[int, list[str]] = defaultdict(list)
    for tid, first, last in db.exec(
        select(Participant.transaction_id, Person.first_name, Person.last_name)
        .join(Person, Person.id == Participant.person_id)  # type: ignore[arg-type]
        .where(
            col(Participant.transaction_id).in_([t.id for t in txns]),
            col(Participant.role).in_(CLIENT_ROLES),
        )
        .order_by(col(Participant.id))
    ).all():
        clients[tid].append(f"{first} {last}".strip())
    return [
        TransactionRow(
            id=t.id or 0,
            address=t.address,
            street=t.street + (f" {t.unit}" if t.unit else ""),
            city_line=", ".join(p for p in (t.city, f"{t.state} {t.postal_code}".strip()) if p),
            side=t.side,
            side_label=Side(t.side).label,
            stage=t.stage,
            stage_label=Stage(t.stage).label,
            price=format_price(t.price_cents),
            closing_date=t.closing_date.isoformat() if t.closing_date else "",
            closing_label=format_date(t.closing_date),
            owner_name=owners.get(t.owner_id, ""),
            clients=", ".join(clients.get(t.id or 0, [])),
        )
        for t in txns
    ]


def get_transaction(db: Session, actor: User, transaction_id: int) -> TransactionDetail:
    """Everything about one transaction this actor may see.

    Outside parties get the participants' names and roles, but contact details only for the
    brokerage's own people and themselves.
    """
    txn = access.get_visible_transaction(db, actor, transaction_id)
    staff_view = actor.is_staff
    owner = db.get(User, txn.owner_id)
    parts = db.exec(
        select(Participant, Person, User)
        .outerjoin(Person, Person.id == Participant.person_id)  # type: ignore[arg-type]
        .outerjoin(User, User.id == Participant.user_id)  # type: ignore[arg-type]
        .where(Participant.transaction_id == txn.id)
        .order_by(col(Participant.id))
    ).all()
    participants: list[ParticipantRow] = []
    for part, person, user in parts:
        name = person.full_name if person else (user.full_name if user else "")
        email = (person.email if person else None) or (user.email if user else "") or ""
        phone = format_phone(person.phone) if person else ""
        is_staff_member = user is not None and user.is_staff
        if not (staff_view or is_staff_member or part.user_id == actor.id):
            email, phone = "", ""
        participants.append(
            ParticipantRow(
                id=part.id or 0,
                role=part.role,
                role_label=ParticipantRole(part.role).label,
                name=name,
                email=email,
                phone=phone,
                person_id=part.person_id or 0,
                user_id=part.user_id or 0,
                has_login=part.user_id is not None,
            )
        )
    stage = Stage(txn.stage)
    if not staff_view:
        # Outside parties get names and roles, not the brokerage's internal ids.
        for row in participants:
            row.person_id = 0
            row.user_id = 0 if row.user_id != actor.id else row.user_id
    return TransactionDetail(
        id=txn.id or 0,
        address=txn.address,
        street=txn.street,
        unit=txn.unit,
        city=txn.city,
        state=txn.state,
        postal_code=txn.postal_code,
        side=txn.side,
        side_label=Side(txn.side).label,
        stage=stage.value,
        stage_label=stage.label,
        property_type=txn.property_type,
        property_type_label=PropertyType(txn.property_type).label,
        price=format_price(txn.price_cents),
        price_input=f"{txn.price_cents / 100:.2f}".removesuffix(".00")
        if txn.price_cents is not None
        else "",
        effective_date=txn.effective_date.isoformat() if txn.effective_date else "",
        closing_date=txn.closing_date.isoformat() if txn.closing_date else "",
        effective_label=format_date(txn.effective_date),
        closing_label=format_date(txn.closing_date),
        mls_number=txn.mls_number if staff_view else "",
        cancel_reason=txn.cancel_reason if staff_view else "",
        owner_id=txn.owner_id if staff_view else 0,
        owner_name=owner.full_name if owner else "",
        owner_email=owner.email if owner else "",
        can_edit=access.can_edit(actor),
        stage_options=[StageOption(s.value, s.label) for s in allowed_stages(actor, txn)],
        participants=participants,
    )


# ---------------------------------------------------------------- helpers


def _price_input(cents: int | None) -> str:
    return "" if cents is None else f"{cents / 100:.2f}".removesuffix(".00")


def change_events(changes: dict[str, list[Any]]) -> list[tuple[str, str, dict[str, Any]]]:
    """The timeline entries (kind, summary, data) for field changes ``{field: [old, new]}``.

    Date changes get their own entry with old → new, because others rely on those dates.
    """
    dates = {k: v for k, v in changes.items() if k in DATE_FIELDS}
    other = {k: v for k, v in changes.items() if k not in DATE_FIELDS}
    events: list[tuple[str, str, dict[str, Any]]] = []
    if dates:
        summary = "; ".join(f"{_label(k)}: {_fmt(v[0])} → {_fmt(v[1])}" for k, v in dates.items())
        events.append(("dates_changed", summary, dates))
    if other:
        events.append(("details_updated", "Updated " + ", ".join(_label(k) for k in other), other))
    return events


def jsonable(value: Any) -> Any:
    """A field value as stored in an event's data (dates as ISO strings)."""
    return value.isoformat() if isinstance(value, date) else value


def _fmt(value: Any) -> str:
    if value in (None, ""):
        return "none"
    if isinstance(value, str) and len(value) == 10 and value[4] == "-":
        return date.fromisoformat(value).strftime("%a %d %b %Y")
    return str(value)


_LABELS = {
    "effective_date": "Effective date",
    "closing_date": "Closing date",
    "price_cents": "price",
    "postal_code": "ZIP code",
    "mls_number": "MLS number",
    "property_type": "property type",
}


def _label(name: str) -> str:
    return _LABELS.get(name, name.replace("_", " "))
