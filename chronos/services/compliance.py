"""Compliance: the documents a file must have before it closes, and the broker's review.

A brokerage keeps templates of required documents per side and property type (admins edit
them; ``seed_default_templates`` gives a starter set). A template is applied to a file as
``DocumentSlot`` rows (automatically when the file is created, from the best-matching active
template; or on demand), one per item and never twice (unique per file and key). Staff file
documents into slots; each slot's state is its current document's review state:

- missing: nothing filed;
- pending: filed, awaiting an admin's review (a new version puts it back here);
- returned: an admin sent it back with a note;
- accepted.

A file cannot close while a required slot is not accepted (``missing_for_closing`` says
exactly which and why; ``transactions.change_stage`` enforces it). Admins work the review
queue across the brokerage; each decision is recorded on the file's timeline and the
uploader is notified (in the app, and by email unless they switched those emails off).
Outside parties never see slots.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from sqlalchemy import and_, func, or_
from sqlmodel import Session, col, select

from chronos import routes
from chronos.mail import queue_email
from chronos.models import (
    ComplianceTemplate,
    Document,
    DocumentSlot,
    DocumentVersion,
    NotificationPreference,
    PropertyType,
    Role,
    Side,
    Stage,
    Transaction,
    User,
    utcnow,
)
from chronos.services import access, notifications, timeline
from chronos.services.documents import CATEGORIES
from chronos.services.errors import Conflict, NotFound, ValidationFailed
from chronos.services.files import PDF
from chronos.services.pagination import Page, clamp_page
from chronos.services.validation import Collector, clean_text, contains_folded, required_text

ADMINS_ONLY = "Only an admin can edit required-document checklists."
REVIEWERS_ONLY = "Only a broker (admin) reviews documents."
MAX_ITEMS = 60
SIDE_LABELS = {"any": "Any side", **{s.value: s.label for s in Side}}
TYPE_LABELS = {"any": "Any property type", **{p.value: p.label for p in PropertyType}}
MISSING, PENDING, RETURNED, ACCEPTED = "missing", "pending", "returned", "accepted"
STATE_LABELS = {
    MISSING: "Missing",
    PENDING: "Awaiting review",
    RETURNED: "Returned",
    ACCEPTED: "Accepted",
}
QUEUE_STATUSES = (PENDING, RETURNED, ACCEPTED)


def _item(
    key: str, name: str, category: str, hint: str, *, required: bool = True
) -> dict[str, Any]:
    return {"key": key, "name": name, "category": category, "required": required, "hint": hint}


# Starter lists. Hints are words found in the documents' own text (packet splitting uses them).
_PURCHASE_AGREEMENT = _item(
    "purchase_agreement",
    "Purchase agreement",
    "contract",
    "purchase agreement, purchase and sale agreement, offer to purchase",
)
_SELLERS_DISCLOSURE = _item(
    "sellers_disclosure",
    "Seller's disclosure",
    "disclosure",
    "seller's disclosure, property condition disclosure, seller disclosure statement",
)
_LEAD_PAINT = _item(
    "lead_based_paint",
    "Lead-based paint disclosure (homes built before 1978)",
    "disclosure",
    "lead-based paint, lead based paint hazards, built before 1978",
    required=False,
)
_ADDENDA = _item(
    "addenda", "Addenda", "addendum", "addendum, amendment, counteroffer", required=False
)
DEFAULT_TEMPLATES: tuple[tuple[str, str, list[dict[str, Any]]], ...] = (
    (
        "Buyer purchase",
        "buyer",
        [
            _PURCHASE_AGREEMENT,
            _LEAD_PAINT,
            _SELLERS_DISCLOSURE,
            _item("inspection_report", "Inspection report", "inspection", "inspection report"),
            _ADDENDA,
            _item(
                "loan_commitment",
                "Loan commitment",
                "loan",
                "loan commitment, commitment letter, conditional approval",
            ),
            _item("appraisal", "Appraisal", "appraisal", "appraisal report, appraised value"),
            _item("closing_disclosure", "Closing disclosure", "closing", "closing disclosure"),
            _item(
                "final_walkthrough",
                "Final walk-through",
                "closing",
                "final walk-through, walkthrough verification",
            ),
        ],
    ),
    (
        "Listing and sale",
        "seller",
        [
            _item(
                "listing_agreement",
                "Listing agreement",
                "contract",
                "exclusive right to sell, listing agreement",
            ),
            _SELLERS_DISCLOSURE,
            _LEAD_PAINT,
            _PURCHASE_AGREEMENT,
            _ADDENDA,
            _item(
                "title_commitment",
                "Title commitment",
                "title",
                "title commitment, commitment for title insurance",
            ),
            _item("closing_disclosure", "Closing disclosure", "closing", "closing disclosure"),
        ],
    ),
    (
        "Dual agency",
        "dual",
        [
            _item(
                "dual_agency_consent",
                "Dual agency consent",
                "disclosure",
                "dual agency, consent to dual agency",
            ),
            _item(
                "listing_agreement",
                "Listing agreement",
                "contract",
                "exclusive right to sell, listing agreement",
            ),
            _PURCHASE_AGREEMENT,
            _SELLERS_DISCLOSURE,
            _LEAD_PAINT,
            _item("inspection_report", "Inspection report", "inspection", "inspection report"),
            _ADDENDA,
            _item("closing_disclosure", "Closing disclosure", "closing", "closing disclosure"),
        ],
    ),
)


# --- templates ------------------------------------------------------------------------------


@dataclass
class TemplateItem:
    key: str
    name: str
    category: str
    required: bool
    hint: str


@dataclass
class TemplateSummary:
    id: int
    name: str
    side_label: str
    type_label: str
    item_count: int
    required_count: int
    is_active: bool


@dataclass
class TemplateDetail:
    id: int
    name: str
    side: str
    property_type: str
    is_active: bool
    items: list[TemplateItem]


def _admin(actor: User | None) -> User:
    return access.require_role(actor, (Role.ADMIN,), ADMINS_ONLY)


def _org_templates(db: Session, org_id: int) -> list[ComplianceTemplate]:
    return list(
        db.exec(
            select(ComplianceTemplate)
            .where(ComplianceTemplate.org_id == org_id)
            .order_by(col(ComplianceTemplate.id))
        ).all()
    )


def seed_default_templates(db: Session, org_id: int) -> list[ComplianceTemplate]:
    """The brokerage's templates, adding the starter set the first time (none yet)."""
    existing = _org_templates(db, org_id)
    if existing:
        return existing
    made = []
    for name, side, items in DEFAULT_TEMPLATES:
        tpl = ComplianceTemplate(
            org_id=org_id, name=name, side=side, items=[dict(i) for i in items]
        )
        db.add(tpl)
        made.append(tpl)
    db.flush()
    return made


def _summary(t: ComplianceTemplate) -> TemplateSummary:
    return TemplateSummary(
        id=t.id or 0,
        name=t.name,
        side_label=SIDE_LABELS.get(t.side, t.side),
        type_label=TYPE_LABELS.get(t.property_type, t.property_type),
        item_count=len(t.items),
        required_count=sum(1 for i in t.items if i.get("required", True)),
        is_active=t.is_active,
    )


def list_templates(db: Session, actor: User | None) -> list[TemplateSummary]:
    actor = _admin(actor)
    return [_summary(t) for t in seed_default_templates(db, actor.org_id)]


def templates_for_apply(db: Session, actor: User | None, txn_id: int) -> list[TemplateSummary]:
    """Active templates staff may apply to this file (the starter set if there are none)."""
    txn = access.get_editable_transaction(db, actor, txn_id)
    return [_summary(t) for t in seed_default_templates(db, txn.org_id) if t.is_active]


def _get(db: Session, actor: User | None, template_id: int) -> ComplianceTemplate:
    actor = _admin(actor)
    tpl = db.get(ComplianceTemplate, int(template_id))
    if tpl is None or tpl.org_id != actor.org_id:
        raise NotFound("Checklist not found.")
    return tpl


def get_template(db: Session, actor: User | None, template_id: int) -> TemplateDetail:
    tpl = _get(db, actor, template_id)
    return TemplateDetail(
        id=tpl.id or 0,
        name=tpl.name,
        side=tpl.side,
        property_type=tpl.property_type,
        is_active=tpl.is_active,
        items=[
            TemplateItem(
                key=str(i.get("key", "")),
                name=str(i.get("name", "")),
                category=str(i.get("category", "other")),
                required=bool(i.get("required", True)),
                hint=str(i.get("hint", "")),
            )
            for i in tpl.items
        ],
    )


def _slug(text: str) -> str:
    return re.sub(r"[^a-z0-9]+", "_", text.lower()).strip("_")[:50] or "item"


def _clean(data: dict[str, Any]) -> dict[str, Any]:
    """Validate a whole template; errors are keyed ``name``, ``items.3.name``, ..."""
    check = Collector()
    name = check.field("name", required_text, data.get("name"), 200, "Name")
    side = str(data.get("side") or "any")
    if side not in SIDE_LABELS:
        check.add("side", "Choose a side.")
    ptype = str(data.get("property_type") or "any")
    if ptype not in TYPE_LABELS:
        check.add("property_type", "Choose a property type.")
    raw_items = list(data.get("items") or [])
    if not raw_items:
        check.add("items", "Add at least one document.")
    if len(raw_items) > MAX_ITEMS:
        check.add("items", f"A checklist holds at most {MAX_ITEMS} documents.")
    items: list[dict[str, Any]] = []
    seen_keys: set[str] = set()
    seen_names: set[str] = set()
    for n, raw in enumerate(raw_items[:MAX_ITEMS]):
        item = dict(raw) if isinstance(raw, dict) else {}
        item_name = check.field(f"items.{n}.name", required_text, item.get("name"), 200, "Name")
        if item_name and item_name.lower() in seen_names:
            check.add(f"items.{n}.name", "This document is already on the list.")
        if item_name:
            seen_names.add(item_name.lower())
        category = str(item.get("category") or "other")
        if category not in CATEGORIES:
            check.add(f"items.{n}.category", "Choose a category from the list.")
        hint = check.field(f"items.{n}.hint", clean_text, item.get("hint"), 300) or ""
        # Keys identify an item on files it was applied to: keep them stable across edits.
        key = _slug(str(item.get("key") or "") or item_name or "")
        while key in seen_keys:
            key = f"{key[:50]}_{len(seen_keys)}"
        seen_keys.add(key)
        items.append(
            {
                "key": key,
                "name": item_name or "",
                "category": category,
                "required": bool(item.get("required", True)),
                "hint": hint,
            }
        )
    check.raise_if_any()
    return {
        "name": name,
        "side": side,
        "property_type": ptype,
        "is_active": bool(data.get("is_active", True)),
        "items": items,
    }


def create_template(db: Session, actor: User | None, data: dict[str, Any]) -> ComplianceTemplate:
    actor = _admin(actor)
    seed_default_templates(db, actor.org_id)
    tpl = ComplianceTemplate(org_id=actor.org_id, **_clean(data))
    db.add(tpl)
    db.flush()
    return tpl


def update_template(
    db: Session, actor: User | None, template_id: int, data: dict[str, Any]
) -> ComplianceTemplate:
    tpl = _get(db, actor, template_id)
    for name, value in _clean(data).items():
        setattr(tpl, name, value)
    tpl.updated_at = utcnow()
    db.add(tpl)
    db.flush()
    return tpl


def delete_template(db: Session, actor: User | None, template_id: int) -> None:
    """Delete a template; slots it put on files stay (their ``template_id`` is cleared)."""
    tpl = _get(db, actor, template_id)
    db.delete(tpl)
    db.flush()


def empty_item() -> TemplateItem:
    return TemplateItem(key="", name="", category="other", required=True, hint="")


# --- slots on a file ------------------------------------------------------------------------


def best_template(db: Session, txn: Transaction) -> ComplianceTemplate | None:
    """The active template that fits the file best: its own side beats "any", its own
    property type beats "any"; ties go to the oldest."""
    best: tuple[int, ComplianceTemplate] | None = None
    for tpl in _org_templates(db, txn.org_id):
        if not tpl.is_active or tpl.side not in ("any", txn.side):
            continue
        if tpl.property_type not in ("any", txn.property_type):
            continue
        score = (2 if tpl.side == txn.side else 0) + (1 if tpl.property_type != "any" else 0)
        if best is None or score > best[0]:
            best = (score, tpl)
    return best[1] if best else None


def _add_slots(db: Session, actor: User | None, txn: Transaction, tpl: ComplianceTemplate) -> int:
    assert txn.id is not None
    slots = db.exec(select(DocumentSlot).where(DocumentSlot.transaction_id == txn.id)).all()
    have = {s.key for s in slots}
    position = max((s.position for s in slots), default=-1) + 1
    added = 0
    for item in tpl.items:
        key = str(item.get("key") or "")
        if not key or key in have:
            continue
        have.add(key)
        db.add(
            DocumentSlot(
                org_id=txn.org_id,
                transaction_id=txn.id,
                template_id=tpl.id,
                key=key,
                name=str(item.get("name") or key)[:200],
                category=str(item.get("category") or "other"),
                required=bool(item.get("required", True)),
                hint=str(item.get("hint") or "")[:300],
                position=position,
            )
        )
        position += 1
        added += 1
    if added:
        db.flush()
        timeline.record(
            db,
            actor=actor,
            txn=txn,
            kind="compliance_applied",
            summary=f"Required documents from “{tpl.name}”: {added} added",
            data={"template_id": tpl.id, "added": added},
        )
    return added


def apply_template(db: Session, actor: User | None, txn_id: int, template_id: int) -> int:
    """Put a template's documents on a file; re-applying adds only the missing ones."""
    actor = access.require_role(actor, (Role.ADMIN, Role.AGENT, Role.COORDINATOR))
    txn = access.get_editable_transaction(db, actor, txn_id)
    tpl = db.get(ComplianceTemplate, int(template_id))
    if tpl is None or tpl.org_id != txn.org_id:
        raise NotFound("Checklist not found.")
    return _add_slots(db, actor, txn, tpl)


def apply_on_create(db: Session, actor: User | None, txn: Transaction) -> int:
    """Called when a file is created: the best-matching active template, if the brokerage
    has any (a brokerage without templates gets none until an admin or a file asks)."""
    tpl = best_template(db, txn)
    return _add_slots(db, actor, txn, tpl) if tpl is not None else 0


def add_slot(
    db: Session,
    actor: User | None,
    txn_id: int,
    name: str,
    *,
    category: str = "other",
    required: bool = True,
) -> DocumentSlot:
    """An ad-hoc document this one file needs."""
    actor = access.require_role(actor, (Role.ADMIN, Role.AGENT, Role.COORDINATOR))
    txn = access.get_editable_transaction(db, actor, txn_id)
    check = Collector()
    clean_name = check.field("name", required_text, name, 200, "Name")
    if category not in CATEGORIES:
        check.add("category", "Choose a category from the list.")
    check.raise_if_any()
    slots = db.exec(select(DocumentSlot).where(DocumentSlot.transaction_id == txn.id)).all()
    if any(s.name.lower() == clean_name.lower() for s in slots):
        raise ValidationFailed({"name": "This document is already on the list."})
    keys = {s.key for s in slots}
    key = "x_" + _slug(clean_name)
    n = 2
    while key in keys:
        key = f"x_{_slug(clean_name)[:45]}_{n}"
        n += 1
    slot = DocumentSlot(
        org_id=txn.org_id,
        transaction_id=txn.id or 0,
        key=key,
        name=clean_name,
        category=category,
        required=bool(required),
        position=max((s.position for s in slots), default=-1) + 1,
    )
    db.add(slot)
    db.flush()
    timeline.record(
        db,
        actor=actor,
        txn=txn,
        kind="compliance_slot_added",
        summary=f"Required document added: {clean_name}" + ("" if required else " (optional)"),
        data={"slot_id": slot.id},
    )
    return slot


def remove_slot(db: Session, actor: User | None, txn_id: int, slot_id: int) -> None:
    """Take an item off a file's list; documents filed in it stay, off the checklist."""
    actor = access.require_role(actor, (Role.ADMIN, Role.AGENT, Role.COORDINATOR))
    txn = access.get_editable_transaction(db, actor, txn_id)
    slot = db.get(DocumentSlot, int(slot_id))
    if slot is None or slot.transaction_id != txn.id:
        raise NotFound("That checklist item is not on this transaction.")
    for doc in db.exec(select(Document).where(Document.slot_id == slot.id)).all():
        doc.slot_id = None
        doc.review_status = "none"
        doc.review_note, doc.reviewed_at, doc.reviewed_by_id = "", None, None
        db.add(doc)
    timeline.record(
        db,
        actor=actor,
        txn=txn,
        kind="compliance_slot_removed",
        summary=f"Required document removed: {slot.name}",
        data={"slot_id": slot.id},
    )
    db.delete(slot)
    db.flush()


@dataclass
class SlotRow:
    id: int
    key: str
    name: str
    category_label: str
    required: bool
    hint: str
    state: str  # missing | pending | returned | accepted
    state_label: str
    note: str
    document_id: int
    document_title: str
    version: int
    version_id: int
    is_pdf: bool
    precheck: str  # empty signature/initial fields, comma-separated ("" = none)
    uploaded_by: str
    updated_at: str  # ISO 8601 UTC ("" when missing)


def _current_docs(db: Session, slot_ids: list[int]) -> dict[int, tuple[Document, DocumentVersion]]:
    """Each slot's current document: the one whose current file arrived last."""
    if not slot_ids:
        return {}
    rows = db.exec(
        select(Document, DocumentVersion)
        .join(
            DocumentVersion,
            and_(
                col(DocumentVersion.document_id) == Document.id,
                col(DocumentVersion.version) == Document.current_version,
            ),
        )
        .where(col(Document.slot_id).in_(slot_ids))
        .order_by(col(DocumentVersion.created_at), col(Document.id))
    ).all()
    out: dict[int, tuple[Document, DocumentVersion]] = {}
    for doc, version in rows:
        assert doc.slot_id is not None
        out[doc.slot_id] = (doc, version)  # later rows win
    return out


def _slot_state(doc: Document | None) -> str:
    if doc is None:
        return MISSING
    if doc.review_status in (ACCEPTED, RETURNED):
        return doc.review_status
    return PENDING


def _slots(db: Session, txn_id: int) -> list[DocumentSlot]:
    return list(
        db.exec(
            select(DocumentSlot)
            .where(DocumentSlot.transaction_id == txn_id)
            .order_by(col(DocumentSlot.position), col(DocumentSlot.id))
        ).all()
    )


def _slot_rows(db: Session, txn_id: int) -> list[SlotRow]:
    slots = _slots(db, txn_id)
    docs = _current_docs(db, [s.id or 0 for s in slots])
    uploader_ids = {v.uploaded_by_id for _, v in docs.values() if v.uploaded_by_id}
    names = (
        dict(db.exec(select(User.id, User.full_name).where(col(User.id).in_(uploader_ids))).all())
        if uploader_ids
        else {}
    )
    rows = []
    for s in slots:
        pair = docs.get(s.id or 0)
        doc, version = pair if pair else (None, None)
        state = _slot_state(doc)
        rows.append(
            SlotRow(
                id=s.id or 0,
                key=s.key,
                name=s.name,
                category_label=CATEGORIES.get(s.category, s.category),
                required=s.required,
                hint=s.hint,
                state=state,
                state_label=STATE_LABELS[state],
                note=doc.review_note if doc is not None and state == RETURNED else "",
                document_id=(doc.id or 0) if doc else 0,
                document_title=doc.title if doc else "",
                version=version.version if version else 0,
                version_id=(version.id or 0) if version else 0,
                is_pdf=bool(version and version.content_type == PDF),
                precheck=", ".join(doc.precheck or []) if doc else "",
                uploaded_by=(
                    names.get(version.uploaded_by_id, "Chronos")
                    if version and version.uploaded_by_id
                    else ("Chronos" if version else "")
                ),
                updated_at=version.created_at.isoformat(timespec="seconds") if version else "",
            )
        )
    return rows


def checklist(db: Session, actor: User | None, txn_id: int) -> list[SlotRow]:
    """The file's required documents and the state of each (brokerage staff only)."""
    actor = access.require_active(actor)
    txn = access.get_visible_transaction(db, actor, txn_id)
    access.require_staff(actor)
    return _slot_rows(db, txn.id or 0)


def _reason(row: SlotRow) -> str:
    if row.state == MISSING:
        return f"{row.name}: missing"
    if row.state == RETURNED:
        return f"{row.name}: returned — {row.note}" if row.note else f"{row.name}: returned"
    return f"{row.name}: awaiting review"


def missing_for_closing(db: Session, txn_id: int) -> list[str]:
    """What stands between this file and closing: every required item not accepted, each
    with its reason ("Inspection report: missing", "Loan commitment: awaiting review")."""
    return [_reason(r) for r in _slot_rows(db, txn_id) if r.required and r.state != ACCEPTED]


class MissingDocuments(Conflict):
    """A file cannot close yet; ``missing`` lists why, one line per document."""

    def __init__(self, missing: list[str]) -> None:
        self.missing = list(missing)
        super().__init__(
            "This file cannot close until its required documents are accepted: "
            + "; ".join(self.missing)
            + "."
        )


def check_closing(db: Session, txn_id: int) -> None:
    """Raise ``MissingDocuments`` when a required document is missing or not accepted."""
    missing = missing_for_closing(db, txn_id)
    if missing:
        raise MissingDocuments(missing)


# --- review ---------------------------------------------------------------------------------


@dataclass
class ReviewRow:
    document_id: int
    transaction_id: int
    address: str
    slot_name: str
    title: str
    version: int
    version_id: int
    is_pdf: bool
    page_count: int
    uploaded_by: str
    uploaded_at: str  # ISO 8601 UTC
    precheck: str
    status: str
    status_label: str
    note: str
    reviewed_by: str
    reviewed_at: str


def _reviewer(actor: User | None) -> User:
    return access.require_role(actor, (Role.ADMIN,), REVIEWERS_ONLY)


def review_queue(
    db: Session,
    actor: User | None,
    *,
    status: str = PENDING,
    q: str = "",
    page: int = 1,
    page_size: int = 25,
) -> Page[ReviewRow]:
    """Checklist documents across the brokerage in one review state (admins only). Pending
    ones oldest first (the longest waiting on top); decided ones most recent first."""
    actor = _reviewer(actor)
    if status not in QUEUE_STATUSES:
        raise ValidationFailed({"status": "Choose pending, returned or accepted."})
    conditions: list[Any] = [
        Document.org_id == actor.org_id,
        col(Document.slot_id).is_not(None),
        Document.review_status == status,
    ]
    needle = clean_text(q, 100)
    if needle:
        conditions.append(
            or_(
                contains_folded(Document.title, needle),
                contains_folded(DocumentSlot.name, needle),
                contains_folded(Transaction.street, needle),
                contains_folded(Transaction.city, needle),
            )
        )

    def joined(stmt: Any) -> Any:
        return (
            stmt.join(DocumentSlot, col(DocumentSlot.id) == Document.slot_id)
            .join(Transaction, col(Transaction.id) == Document.transaction_id)
            .join(
                DocumentVersion,
                and_(
                    col(DocumentVersion.document_id) == Document.id,
                    col(DocumentVersion.version) == Document.current_version,
                ),
            )
            .where(*conditions)
        )

    total = db.exec(joined(select(func.count()).select_from(Document))).one()
    page, page_size = clamp_page(page, page_size)
    order: list[Any] = (
        [col(DocumentVersion.created_at), col(Document.id)]
        if status == PENDING
        else [col(Document.reviewed_at).desc(), col(Document.id).desc()]
    )
    rows = db.exec(
        joined(select(Document, DocumentSlot.name, Transaction, DocumentVersion))
        .order_by(*order)
        .offset((page - 1) * page_size)
        .limit(page_size)
    ).all()
    user_ids = {v.uploaded_by_id for *_, v in rows if v.uploaded_by_id} | {
        d.reviewed_by_id for d, *_ in rows if d.reviewed_by_id
    }
    names = (
        dict(db.exec(select(User.id, User.full_name).where(col(User.id).in_(user_ids))).all())
        if user_ids
        else {}
    )
    items = [
        ReviewRow(
            document_id=d.id or 0,
            transaction_id=t.id or 0,
            address=t.address,
            slot_name=slot_name,
            title=d.title,
            version=v.version,
            version_id=v.id or 0,
            is_pdf=v.content_type == PDF,
            page_count=v.page_count,
            uploaded_by=names.get(v.uploaded_by_id, "Chronos") if v.uploaded_by_id else "Chronos",
            uploaded_at=v.created_at.isoformat(timespec="seconds"),
            precheck=", ".join(d.precheck or []),
            status=d.review_status,
            status_label=STATE_LABELS.get(d.review_status, d.review_status),
            note=d.review_note if d.review_status == RETURNED else "",
            reviewed_by=names.get(d.reviewed_by_id, "") if d.reviewed_by_id else "",
            reviewed_at=d.reviewed_at.isoformat(timespec="seconds") if d.reviewed_at else "",
        )
        for d, slot_name, t, v in rows
    ]
    return Page(items=items, total=total, page=page, page_size=page_size)


def pending_review_count(db: Session, actor: User | None) -> int:
    """How many checklist documents wait for review in the actor's brokerage (admins; 0 for
    everyone else)."""
    if actor is None or not actor.is_active or actor.role_enum is not Role.ADMIN:
        return 0
    return int(
        db.exec(
            select(func.count())
            .select_from(Document)
            .where(
                Document.org_id == actor.org_id,
                col(Document.slot_id).is_not(None),
                Document.review_status == PENDING,
            )
        ).one()
    )


def _reviewable(
    db: Session, actor: User | None, document_id: int, version: int | None
) -> tuple[User, Document, Transaction, DocumentSlot]:
    actor = _reviewer(actor)
    doc = db.get(Document, int(document_id))
    if doc is None or doc.org_id != actor.org_id:
        raise NotFound("Document not found.")
    txn = access.get_visible_transaction(db, actor, doc.transaction_id)
    slot = db.get(DocumentSlot, doc.slot_id) if doc.slot_id else None
    if slot is None:
        raise Conflict("This document is not on the file's required-documents list.")
    if version is not None and int(version) != doc.current_version:
        raise Conflict(
            f"A newer version (v{doc.current_version}) of “{doc.title}” arrived after you "
            "opened it; look at it before deciding."
        )
    return actor, doc, txn, slot


def _decide(
    db: Session,
    actor: User | None,
    document_id: int,
    decision: str,
    note: str,
    version: int | None,
) -> Document:
    actor, doc, txn, slot = _reviewable(db, actor, document_id, version)
    if doc.review_status == decision:
        verb = "accepted" if decision == ACCEPTED else "returned"
        raise Conflict(f"“{doc.title}” was already {verb}.")
    doc.review_status = decision
    doc.review_note = note if decision == RETURNED else ""
    doc.reviewed_by_id, doc.reviewed_at = actor.id, utcnow()
    db.add(doc)
    if decision == ACCEPTED:
        summary = f"Accepted “{doc.title}” (v{doc.current_version}) for “{slot.name}”"
    else:
        summary = f"Returned “{doc.title}” (v{doc.current_version}) for “{slot.name}”: {note}"
    timeline.record(
        db,
        actor=actor,
        txn=txn,
        kind="document_accepted" if decision == ACCEPTED else "document_returned",
        summary=summary,
        data={"document_id": doc.id, "version": doc.current_version, "slot_id": slot.id},
    )
    _notify_uploader(db, actor, doc, txn, slot, decision, note)
    db.flush()
    return doc


def _notify_uploader(
    db: Session,
    actor: User,
    doc: Document,
    txn: Transaction,
    slot: DocumentSlot,
    decision: str,
    note: str,
) -> None:
    uploader_id = db.exec(
        select(DocumentVersion.uploaded_by_id).where(
            DocumentVersion.document_id == doc.id,
            DocumentVersion.version == doc.current_version,
        )
    ).first()
    user = db.get(User, uploader_id) if uploader_id else db.get(User, txn.owner_id)
    if user is None or user.id == actor.id or not user.is_active or user.org_id != txn.org_id:
        return
    link = routes.transaction(txn.id or 0)
    word = "accepted" if decision == ACCEPTED else "returned"
    made = notifications.notify(
        db,
        user_id=user.id or 0,
        org_id=txn.org_id,
        kind=f"document_{word}",
        title=f"{slot.name} {word}: {txn.address}",
        body=(f"“{doc.title}” was returned: {note}" if decision == RETURNED else doc.title),
        link=link,
        transaction_id=txn.id,
        dedupe_key=f"doc_review:{doc.id}:{doc.current_version}:{decision}",
    )
    if made is None:
        return
    # Email unless they switched off emails about work handed to them.
    prefs = db.get(NotificationPreference, user.id)
    if prefs is not None and not prefs.assignments:
        return
    queue_email(
        db,
        to=user.email,
        template="document_reviewed",
        context={
            "reviewer": actor.full_name,
            "decision": word,
            "slot": slot.name,
            "title": doc.title,
            "version": doc.current_version,
            "address": txn.address,
            "note": note if decision == RETURNED else "",
            "url": routes.public_url(link),
        },
        org_id=txn.org_id,
        user_id=user.id,
        transaction_id=txn.id,
    )


def accept(
    db: Session, actor: User | None, document_id: int, *, version: int | None = None
) -> Document:
    """Accept a checklist document. ``version``: the one the reviewer looked at (a newer one
    arriving meanwhile makes this a ``Conflict``)."""
    return _decide(db, actor, document_id, ACCEPTED, "", version)


def return_document(
    db: Session, actor: User | None, document_id: int, note: str, *, version: int | None = None
) -> Document:
    """Send a checklist document back to its uploader with a note saying what to fix."""
    _reviewer(actor)
    text = "\n".join(line.rstrip() for line in str(note or "").strip().splitlines())
    if not text:
        raise ValidationFailed({"note": "Say what needs fixing."})
    if len(text) > 2000:
        raise ValidationFailed({"note": "Keep the note under 2,000 characters."})
    return _decide(db, actor, document_id, RETURNED, text, version)


@dataclass
class ChecklistView:
    """Everything the transaction page's "Required documents" card shows."""

    rows: list[SlotRow]
    missing: list[str]  # what stands between the file and closing
    accepted: int  # required items accepted
    required: int  # required items
    is_closed: bool
    templates: list[TemplateSummary]  # what may be applied (active ones)
    can_seed: bool  # the brokerage has no checklists at all: the starter set can be added


def checklist_view(db: Session, actor: User | None, txn_id: int) -> ChecklistView:
    actor = access.require_active(actor)
    txn = access.get_visible_transaction(db, actor, txn_id)
    access.require_staff(actor)
    rows = _slot_rows(db, txn.id or 0)
    required = [r for r in rows if r.required]
    all_templates = _org_templates(db, txn.org_id)
    templates = [_summary(t) for t in all_templates if t.is_active]
    return ChecklistView(
        rows=rows,
        missing=[_reason(r) for r in required if r.state != ACCEPTED],
        accepted=sum(1 for r in required if r.state == ACCEPTED),
        required=len(required),
        is_closed=not Stage(txn.stage).is_open,
        templates=templates,
        can_seed=not all_templates,
    )
