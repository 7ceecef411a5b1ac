"""Fillable forms: an admin uploads a fillable PDF once and maps its fields to file data
(address, price, parties, key dates); staff then generate it pre-filled for any transaction.

A field whose data is missing on the file stays empty and is reported with the reason
("Closing date: no closing date on this file"); nothing is ever filled with a placeholder.
The filled PDF is validated like an upload and stored as a new document (source "form").
"""

from __future__ import annotations

import io
import re
import warnings
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any
from zoneinfo import ZoneInfo

from sqlmodel import Session, col, select

from chronos.models import (
    FormTemplate,
    Organization,
    Participant,
    Person,
    Role,
    Side,
    Transaction,
    User,
    utcnow,
)
from chronos.services import access, documents, timeline
from chronos.services.errors import NotFound, PermissionDenied, ValidationFailed
from chronos.services.files import PDF, inspect_upload, prepare_upload
from chronos.services.validation import clean_text, clip_text

STAFF = (Role.ADMIN, Role.AGENT, Role.COORDINATOR)
ADMINS_ONLY = "Only brokerage admins manage form templates."
KEY_DATE_PREFIX = "key_date:"
KEY_DATE_KEY = re.compile(r"^key_date:[a-z0-9_]{1,60}$")
MAX_FIELDS = 300


def _common_key_dates() -> dict[str, str]:
    """Every key date the built-in contract presets define, by key (the common ones)."""
    from chronos.deadlines.presets import PRESETS

    seen: dict[str, str] = {}
    for preset in PRESETS.values():
        for rule in preset.rules:
            seen.setdefault(rule.key, rule.label)
    return {f"{KEY_DATE_PREFIX}{k}": f"Key date: {v}" for k, v in seen.items()}


# What a form field can be filled with, in the order the mapping select offers it.
DATA_KEYS: dict[str, str] = {
    "address_full": "Property address (full)",
    "address_street": "Property street and unit",
    "address_city": "Property city",
    "address_state": "Property state",
    "address_zip": "Property ZIP code",
    "price": "Price ($450,000.00)",
    "price_digits": "Price (digits only: 450000)",
    "side": "Side (Buyer, Seller, Dual)",
    "buyer_side": "Checkbox: we represent the buyer",
    "seller_side": "Checkbox: we represent the seller",
    "buyer_names": "Buyer names",
    "seller_names": "Seller names",
    "listing_agent": "Listing agent",
    "buyers_agent": "Buyer's agent",
    "attorney": "Attorney",
    "lender": "Lender",
    "financed": "Checkbox: financed (a lender is on the file)",
    "title_company": "Title / escrow company",
    "mls_number": "MLS number",
    "effective_date": "Effective (acceptance) date",
    "closing_date": "Closing date",
    **_common_key_dates(),
    "today": "Today's date",
    "brokerage": "Brokerage name",
}
# Keys whose value is yes/no: "" means no (a checkbox left unticked is an answer, not a gap).
BOOLEAN_KEYS = frozenset({"buyer_side", "seller_side", "financed"})
FIELD_KINDS = {"text": "Text", "checkbox": "Checkbox", "choice": "Choice"}


def data_label(key: str) -> str:
    if key in DATA_KEYS:
        return DATA_KEYS[key]
    if key.startswith(KEY_DATE_PREFIX):
        return "Key date: " + key.removeprefix(KEY_DATE_PREFIX).replace("_", " ")
    return key


def data_keys(db: Session, actor: User | None) -> dict[str, str]:
    """What a field can be mapped to in this brokerage: ``DATA_KEYS`` plus the key dates of
    its own deadline templates (by key), in the order the mapping select offers them."""
    from chronos.models import DeadlineTemplate

    actor = access.require_role(actor, STAFF)
    tail = ("today", "brokerage")
    out = {k: v for k, v in DATA_KEYS.items() if k not in tail}
    for tpl in db.exec(
        select(DeadlineTemplate)
        .where(DeadlineTemplate.org_id == actor.org_id)
        .order_by(col(DeadlineTemplate.id))
    ).all():
        for rule in tpl.rules or []:
            key = f"{KEY_DATE_PREFIX}{rule.get('key', '')}"
            if KEY_DATE_KEY.match(key):
                out.setdefault(key, f"Key date: {rule.get('label') or rule.get('key')}")
    return {**out, **{k: DATA_KEYS[k] for k in tail}}


def _fmt_date(value: date | None) -> str:
    return value.strftime("%m/%d/%Y") if value else ""


def _names(rows: Sequence[tuple[Participant, Person | None, User | None]], *roles: str) -> str:
    out: list[str] = []
    for part, person, user in rows:
        if part.role in roles:
            name = person.full_name if person else (user.full_name if user else "")
            if name and name not in out:
                out.append(name)
    return ", ".join(out)


def _companies(rows: Sequence[tuple[Participant, Person | None, User | None]], role: str) -> str:
    out: list[str] = []
    for part, person, user in rows:
        if part.role == role:
            name = (person.company if person and person.company else "") or (
                person.full_name if person else (user.full_name if user else "")
            )
            if name and name not in out:
                out.append(name)
    return ", ".join(out)


def _file_data(db: Session, actor: User, txn: Transaction) -> tuple[dict[str, str], dict[str, str]]:
    """(value of every data key, label of each key date the file has)."""
    from chronos.services import key_dates

    rows = [
        (p, person, user)
        for p, person, user in db.exec(
            select(Participant, Person, User)
            .outerjoin(Person, col(Person.id) == Participant.person_id)
            .outerjoin(User, col(User.id) == Participant.user_id)
            .where(Participant.transaction_id == txn.id)
            .order_by(col(Participant.id))
        ).all()
    ]
    owner = db.get(User, txn.owner_id)
    owner_name = owner.full_name if owner else ""
    side = Side(txn.side)
    listing = _names(rows, "listing_agent")
    buyers = _names(rows, "buyers_agent")
    cooperating = _names(rows, "cooperating_agent")
    if side in (Side.SELLER, Side.DUAL):
        listing = listing or owner_name
        if side is Side.SELLER:
            buyers = buyers or cooperating
    if side in (Side.BUYER, Side.DUAL):
        buyers = buyers or owner_name
        if side is Side.BUYER:
            listing = listing or cooperating
    org = db.get(Organization, txn.org_id)
    zone = ZoneInfo(org.timezone if org else "America/New_York")
    street = txn.street + (f" {txn.unit}" if txn.unit else "")
    cents = txn.price_cents
    values: dict[str, str] = {
        "address_full": txn.address,
        "address_street": street,
        "address_city": txn.city,
        "address_state": txn.state,
        "address_zip": txn.postal_code,
        "price": "" if cents is None else f"${cents // 100:,}.{cents % 100:02d}",
        "price_digits": ""
        if cents is None
        else (str(cents // 100) if cents % 100 == 0 else f"{cents // 100}.{cents % 100:02d}"),
        "side": side.label,
        "buyer_side": "yes" if side in (Side.BUYER, Side.DUAL) else "",
        "seller_side": "yes" if side in (Side.SELLER, Side.DUAL) else "",
        "buyer_names": _names(rows, "buyer"),
        "seller_names": _names(rows, "seller"),
        "listing_agent": listing,
        "buyers_agent": buyers,
        "attorney": _names(rows, "attorney"),
        "lender": _companies(rows, "lender"),
        "financed": "yes" if any(p.role == "lender" for p, _, _ in rows) else "",
        "title_company": _companies(rows, "title"),
        "mls_number": txn.mls_number,
        "effective_date": _fmt_date(txn.effective_date),
        "closing_date": _fmt_date(txn.closing_date),
        "today": _fmt_date(datetime.now(zone).date()),
        "brokerage": org.name if org else "",
    }
    for key in DATA_KEYS:
        if key.startswith(KEY_DATE_PREFIX):
            values[key] = ""
    labels: dict[str, str] = {}
    for row in key_dates.list_key_dates(db, actor, txn.id or 0):
        values[f"{KEY_DATE_PREFIX}{row.key}"] = (
            _fmt_date(date.fromisoformat(row.date)) if row.date else ""
        )
        labels[f"{KEY_DATE_PREFIX}{row.key}"] = row.label
    return values, labels


def transaction_data(db: Session, actor: User | None, txn_id: int) -> dict[str, str]:
    """Every data key's value on this file ("" when the file has none). Staff on the file."""
    access.require_role(actor, STAFF)
    txn = access.get_editable_transaction(db, actor, txn_id)
    assert actor is not None
    return _file_data(db, actor, txn)[0]


def missing_reason(key: str, labels: dict[str, str] | None = None) -> str:
    """Why a key has no value on a file, in the words of the report."""
    specific = {
        "address_full": "no address on this file",
        "address_street": "no street on this file",
        "address_city": "no city on this file",
        "address_state": "no state on this file",
        "address_zip": "no ZIP code on this file",
        "price": "no price on this file",
        "price_digits": "no price on this file",
        "buyer_names": "no buyer on this file",
        "seller_names": "no seller on this file",
        "listing_agent": "no listing agent on this file",
        "buyers_agent": "no buyer's agent on this file",
        "attorney": "no attorney on this file",
        "lender": "no lender on this file",
        "title_company": "no title or escrow company on this file",
        "mls_number": "no MLS number on this file",
        "effective_date": "no effective date on this file",
        "closing_date": "no closing date on this file",
        "brokerage": "the brokerage has no name",
    }
    if key in specific:
        return specific[key]
    if key.startswith(KEY_DATE_PREFIX):
        if labels and key in labels:
            return f"“{labels[key]}” has no date on this file yet"
        label = data_label(key).removeprefix("Key date: ")
        return f"no “{label}” date on this file"
    return "no value on this file"


# --- reading a fillable PDF ----------------------------------------------------------------


def _reader(data: bytes) -> Any:
    from pypdf import PdfReader

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return PdfReader(io.BytesIO(data), strict=False)


def _text(value: Any) -> str:
    return str(value).lstrip("/") if value is not None else ""


def read_fields(data: bytes) -> list[dict[str, Any]]:
    """The form's fillable fields in document order: {name, kind, options}. Signature fields
    and push buttons are left out (nothing from a file goes there)."""
    try:
        raw = _reader(data).get_fields() or {}
    except Exception:
        return []
    fields: list[dict[str, Any]] = []
    for name, f in raw.items():
        ftype = f.get("/FT")
        flags = int(f.get("/Ff", 0) or 0)
        states = [_text(s) for s in (f.get("/_States_") or []) if _text(s) and _text(s) != "Off"]
        radio = False
        if ftype == "/Tx":
            kind, options = "text", []
        elif ftype == "/Btn":
            if flags & (1 << 16):  # push button
                continue
            radio = bool(flags & (1 << 15))  # a radio group: pick one of its states
            kind = "choice" if radio else "checkbox"
            options = states
        elif ftype == "/Ch":
            kind = "choice"
            options = []
            for opt in f.get("/Opt") or []:
                value = opt[0] if isinstance(opt, list | tuple) and opt else opt
                options.append(_text(value))
            options = options or states
        else:
            continue
        entry: dict[str, Any] = {"name": str(name), "kind": kind, "options": options[:100]}
        if radio:
            entry["radio"] = True
        fields.append(entry)
        if len(fields) >= MAX_FIELDS:
            break
    return fields


# Field-name words → data key; the first rule whose words all appear wins.
_SUGGEST: list[tuple[tuple[str, ...], str]] = [
    (("buyer", "agent"), "buyers_agent"),
    (("buyers", "agent"), "buyers_agent"),
    (("selling", "agent"), "buyers_agent"),
    (("listing", "agent"), "listing_agent"),
    (("seller", "agent"), "listing_agent"),
    (("title", "company"), "title_company"),
    (("escrow",), "title_company"),
    (("closing", "date"), "closing_date"),
    (("settlement", "date"), "closing_date"),
    (("closing",), "closing_date"),
    (("effective",), "effective_date"),
    (("acceptance", "date"), "effective_date"),
    (("contract", "date"), "effective_date"),
    (("earnest", "date"), "key_date:earnest_money"),
    (("earnest", "due"), "key_date:earnest_money"),
    (("earnest", "deadline"), "key_date:earnest_money"),
    (("inspection", "date"), "key_date:inspection"),
    (("inspection", "deadline"), "key_date:inspection"),
    (("inspection", "period"), "key_date:inspection"),
    (("appraisal", "date"), "key_date:appraisal"),
    (("appraisal", "deadline"), "key_date:appraisal"),
    (("financing", "date"), "key_date:loan_approval"),
    (("financing", "deadline"), "key_date:loan_approval"),
    (("loan", "approval"), "key_date:loan_approval"),
    (("walkthrough",), "key_date:final_walkthrough"),
    (("option", "period"), "key_date:option_period"),
    (("attorney", "review"), "key_date:attorney_review"),
    (("buyer",), "buyer_names"),
    (("purchaser",), "buyer_names"),
    (("seller",), "seller_names"),
    (("zip",), "address_zip"),
    (("postal",), "address_zip"),
    (("city",), "address_city"),
    (("state",), "address_state"),
    (("street",), "address_street"),
    (("address",), "address_full"),
    (("property",), "address_full"),
    (("premises",), "address_full"),
    (("price",), "price"),
    (("mls",), "mls_number"),
    (("attorney",), "attorney"),
    (("lender",), "lender"),
    (("financed",), "financed"),
    (("brokerage",), "brokerage"),
    (("broker",), "brokerage"),
    (("side",), "side"),
    (("today",), "today"),
    (("date", "prepared"), "today"),
]


def _name_words(name: str) -> set[str]:
    spaced = re.sub(r"([a-z])([A-Z])", r"\1 \2", name)
    words = set(re.findall(r"[a-z0-9]+", spaced.lower()))
    # "buyers" / "sellers" / "addresses" read as their singular.
    return words | {w[:-1] for w in words if w.endswith("s") and len(w) > 3}


def suggest_key(field_name: str) -> str:
    """The data key a field's name suggests ("" for none): "Buyer Name" → buyer names."""
    words = _name_words(field_name)
    if words & {"sign", "signature", "signed", "initial", "initials"}:
        return ""
    for needed, key in _SUGGEST:
        if all(w in words for w in needed):
            return key
    return ""


def suggest_mapping(fields: list[dict[str, Any]]) -> dict[str, str]:
    out: dict[str, str] = {}
    for f in fields:
        key = suggest_key(f["name"])
        if f["kind"] == "checkbox" and key and key not in BOOLEAN_KEYS:
            continue  # a checkbox is ticked by a yes/no, not by a name
        if key:
            out[f["name"]] = key
    return out


# --- admin: templates -------------------------------------------------------------------------


@dataclass
class TemplateRow:
    id: int
    name: str
    category: str
    category_label: str
    filename: str
    page_count: int
    field_count: int
    mapped_count: int
    is_active: bool


@dataclass
class FieldRow:
    name: str
    kind: str
    kind_label: str
    options_label: str
    data_key: str  # "" = left empty


@dataclass
class TemplateDetail:
    id: int
    name: str
    category: str
    filename: str
    page_count: int
    is_active: bool
    fields: list[FieldRow] = field(default_factory=list)


def _admin(actor: User | None) -> User:
    return access.require_role(actor, (Role.ADMIN,), ADMINS_ONLY)


def _template(db: Session, actor: User, template_id: int, *, active: bool = False) -> FormTemplate:
    tpl = db.exec(
        select(FormTemplate).where(
            FormTemplate.id == int(template_id), FormTemplate.org_id == actor.org_id
        )
    ).first()
    if tpl is None or (active and not tpl.is_active):
        raise NotFound("Form not found.")
    return tpl


def _row(t: FormTemplate) -> TemplateRow:
    names = {f["name"] for f in t.fields}
    return TemplateRow(
        id=t.id or 0,
        name=t.name,
        category=t.category,
        category_label=documents.CATEGORIES.get(t.category, t.category),
        filename=t.filename,
        page_count=t.page_count,
        field_count=len(t.fields),
        mapped_count=sum(1 for k, v in (t.mapping or {}).items() if v and k in names),
        is_active=t.is_active,
    )


def _clean_name_category(name: str, category: str) -> tuple[str, str]:
    errors: dict[str, str] = {}
    clean = clean_text(name, 200)
    if not clean:
        errors["name"] = "Give the form a name."
    if category not in documents.CATEGORIES:
        errors["category"] = "Choose a category from the list."
    if errors:
        raise ValidationFailed(errors)
    return clean, category


def create_form_template(
    db: Session,
    actor: User | None,
    name: str,
    category: str,
    filename: str,
    data: bytes,
    *,
    max_bytes: int | None = None,
) -> FormTemplate:
    from chronos.settings import get_settings

    actor = _admin(actor)
    clean_name, category = _clean_name_category(name, category)
    # A template from outside loses its active content here, so no filled form inherits it.
    inspected, data = prepare_upload(
        filename, data, max_bytes=max_bytes or get_settings().max_upload_bytes
    )
    if inspected.content_type != PDF:
        message = f"{inspected.filename} is not a PDF. A form template must be a fillable PDF."
        raise ValidationFailed({"file": message}, message)
    fields = read_fields(data)
    if not fields:
        message = (
            f"This PDF has no fillable fields: {inspected.filename} has no text boxes, "
            "checkboxes or choice lists. Make it fillable in a PDF editor (for example "
            "“Prepare form”) and upload it again."
        )
        raise ValidationFailed({"file": message}, message)
    same = db.exec(
        select(FormTemplate).where(
            FormTemplate.org_id == actor.org_id, FormTemplate.sha256 == inspected.sha256
        )
    ).first()
    if same is not None:
        message = f"This exact PDF is already the form “{same.name}”."
        raise ValidationFailed({"file": message}, message)
    key = documents.store_bytes(db, data, PDF, prefix="f")
    tpl = FormTemplate(
        org_id=actor.org_id,
        name=clean_name,
        category=category,
        storage_key=key,
        filename=inspected.filename,
        sha256=inspected.sha256,
        page_count=inspected.page_count,
        fields=fields,
        mapping=suggest_mapping(fields),
        created_by_id=actor.id,
    )
    db.add(tpl)
    db.flush()
    return tpl


def list_templates(
    db: Session, actor: User | None, *, active_only: bool = False
) -> list[TemplateRow]:
    """Admins see every template of their brokerage; other staff the active ones."""
    actor = access.require_role(actor, STAFF)
    if actor.role_enum is not Role.ADMIN:
        active_only = True
    query = select(FormTemplate).where(FormTemplate.org_id == actor.org_id)
    if active_only:
        query = query.where(col(FormTemplate.is_active).is_(True))
    rows = db.exec(query.order_by(col(FormTemplate.name), col(FormTemplate.id)).limit(200)).all()
    return [_row(t) for t in rows]


def get_template(db: Session, actor: User | None, template_id: int) -> TemplateDetail:
    actor = _admin(actor)
    t = _template(db, actor, template_id)
    mapping = t.mapping or {}
    return TemplateDetail(
        id=t.id or 0,
        name=t.name,
        category=t.category,
        filename=t.filename,
        page_count=t.page_count,
        is_active=t.is_active,
        fields=[
            FieldRow(
                name=f["name"],
                kind=f["kind"],
                kind_label=FIELD_KINDS.get(f["kind"], f["kind"]),
                options_label=", ".join(f.get("options") or []),
                data_key=mapping.get(f["name"], ""),
            )
            for f in t.fields
        ],
    )


def _valid_key(key: str) -> bool:
    return key in DATA_KEYS or bool(KEY_DATE_KEY.match(key))


def update_template(
    db: Session,
    actor: User | None,
    template_id: int,
    *,
    mapping: dict[str, str] | None = None,
    name: str | None = None,
    category: str | None = None,
) -> FormTemplate:
    """Change the mapping (field name → data key; "" leaves the field empty), name or
    category. Unknown fields or data keys are refused and nothing changes."""
    actor = _admin(actor)
    t = _template(db, actor, template_id)
    if name is not None or category is not None:
        t.name, t.category = _clean_name_category(
            t.name if name is None else name, t.category if category is None else category
        )
    if mapping is not None:
        names = {f["name"] for f in t.fields}
        errors: dict[str, str] = {}
        clean: dict[str, str] = {}
        for field_name, key in mapping.items():
            if field_name not in names:
                errors[f"mapping.{field_name}"] = f"The form has no field “{field_name}”."
            elif key and not _valid_key(key):
                errors[f"mapping.{field_name}"] = f"“{key}” is not data Chronos can fill in."
            elif key:
                clean[field_name] = key
        if errors:
            raise ValidationFailed(errors)
        t.mapping = clean
    t.updated_at = utcnow()
    db.add(t)
    db.flush()
    return t


def update_mapping(
    db: Session, actor: User | None, template_id: int, mapping: dict[str, str]
) -> FormTemplate:
    return update_template(db, actor, template_id, mapping=mapping)


def set_active(db: Session, actor: User | None, template_id: int, active: bool) -> FormTemplate:
    """Deactivate (hidden from staff, kept with the documents made from it) or reactivate."""
    actor = _admin(actor)
    t = _template(db, actor, template_id)
    t.is_active = bool(active)
    t.updated_at = utcnow()
    db.add(t)
    db.flush()
    return t


def template_preview(db: Session, actor: User | None, template_id: int, width: int = 960) -> bytes:
    """PNG of the template's first page (admins)."""
    from chronos.storage import get_storage

    actor = _admin(actor)
    t = _template(db, actor, template_id)
    width = min(documents.PREVIEW_WIDTHS, key=lambda w: abs(w - int(width or 960)))
    storage = get_storage()
    key = f"{t.storage_key}.p1w{width}.png"
    try:
        return storage.get(key)
    except Exception:
        pass
    png = documents.render_page_png(storage.get(t.storage_key), 1, width)
    storage.put(key, png, "image/png")
    return png


# --- generating ------------------------------------------------------------------------------


@dataclass
class EmptyField:
    name: str
    reason: str


@dataclass
class GenerateResult:
    document_id: int
    title: str
    filled: int
    total: int
    empty: list[EmptyField] = field(default_factory=list)

    @property
    def summary(self) -> str:
        if not self.empty:
            return (
                "Its one field was filled."
                if self.total == 1
                else f"All {self.total} fields filled."
            )
        n = len(self.empty)
        listed = ", ".join(f"{e.name} ({e.reason})" for e in self.empty[:20])
        more = f", and {n - 20} more" if n > 20 else ""
        return f"{n} field{'s' if n != 1 else ''} left empty: {listed}{more}"


def _checkbox_on(options: list[str]) -> str:
    return "/" + (options[0] if options else "Yes")


def generate(
    db: Session,
    actor: User | None,
    txn_id: int,
    template_id: int,
    *,
    title: str = "",
    slot_id: int | None = None,
) -> GenerateResult:
    """Fill an active template with this file's data and save it as a new document."""
    from pypdf import PdfWriter

    from chronos.settings import get_settings
    from chronos.storage import get_storage

    access.require_role(actor, STAFF)
    assert actor is not None
    txn = access.get_editable_transaction(db, actor, txn_id)
    tpl = _template(db, actor, template_id, active=True)
    slot = documents._slot(db, txn, slot_id)
    data, labels = _file_data(db, actor, txn)
    mapping = tpl.mapping or {}
    values: dict[str, str] = {}
    empty: list[EmptyField] = []
    for f in tpl.fields:
        name, kind = f["name"], f["kind"]
        key = mapping.get(name, "")
        if not key:
            empty.append(EmptyField(name, "not mapped to file data"))
            continue
        value = data.get(key, "")
        if kind == "checkbox":
            if value or key in BOOLEAN_KEYS:
                values[name] = _checkbox_on(f.get("options") or []) if value else "/Off"
            else:
                empty.append(EmptyField(name, missing_reason(key, labels)))
            continue
        if not value:
            empty.append(EmptyField(name, missing_reason(key, labels)))
            continue
        if kind == "choice":
            options = f.get("options") or []
            match = next((o for o in options if o.lower() == value.lower()), None)
            if match is None:
                empty.append(EmptyField(name, f"“{value}” is not one of its choices"))
                continue
            values[name] = ("/" + match) if f.get("radio") else match
            continue
        values[name] = value
    source = get_storage().get(tpl.storage_key)
    reader = _reader(source)
    writer = PdfWriter(clone_from=reader)
    for page in writer.pages:
        writer.update_page_form_field_values(page, values, auto_regenerate=False)
    writer.set_need_appearances_writer(True)
    out = io.BytesIO()
    writer.write(out)
    filled_pdf = out.getvalue()
    doc_title = clean_text(title, 200) or clip_text(f"{tpl.name} \u2013 {txn.street}", 200)
    stem = re.sub(r"[^A-Za-z0-9]+", "-", doc_title).strip("-")[:80] or "form"
    inspected = inspect_upload(
        f"{stem}.pdf", filled_pdf, max_bytes=max(get_settings().max_upload_bytes, 2 * len(source))
    )
    doc = documents.add_document(
        db,
        actor,
        txn,
        inspected,
        filled_pdf,
        title=doc_title,
        category="other" if slot else tpl.category,
        slot=slot,
        source="form",
        allow_duplicate=False,
    )
    result = GenerateResult(
        document_id=doc.id or 0,
        title=doc.title,
        filled=len(values),
        total=len(tpl.fields),
        empty=empty,
    )
    timeline.record(
        db,
        actor=actor,
        txn=txn,
        kind="form_generated",
        summary=f"Filled “{tpl.name}” as “{doc.title}”: {result.summary}",
        data={"document_id": doc.id, "template_id": tpl.id, "empty": [e.name for e in empty]},
    )
    db.flush()
    return result


# --- signed preview links ------------------------------------------------------------------


def _preview_sig(payload: str) -> str:
    import base64
    import hashlib
    import hmac

    from chronos.settings import get_settings

    key = hashlib.sha256(b"chronos-form-previews:" + get_settings().secret_key.encode()).digest()
    mac = hmac.new(key, payload.encode(), hashlib.sha256).digest()
    return base64.urlsafe_b64encode(mac[:20]).decode().rstrip("=")


def preview_link(
    user_id: int, template_id: int, *, seconds: int | None = None, now: float | None = None
) -> str:
    """A path that shows the template's first page to this user until it expires."""
    import time

    from chronos.settings import get_settings

    expires = int((now or time.time()) + (seconds or get_settings().signed_link_seconds))
    sig = _preview_sig(f"{user_id}.{template_id}.{expires}")
    return f"/files/form-template/{template_id}/preview?u={user_id}&e={expires}&s={sig}"


def verify_preview_link(
    template_id: int, params: dict[str, str], *, now: float | None = None
) -> int:
    """The user a preview link was made for, or ``PermissionDenied``."""
    import hmac
    import time

    try:
        user_id, expires = int(params.get("u", "")), int(params.get("e", ""))
    except ValueError:
        raise PermissionDenied("This link is not valid.") from None
    sig = params.get("s", "")
    if not sig or not hmac.compare_digest(_preview_sig(f"{user_id}.{template_id}.{expires}"), sig):
        raise PermissionDenied("This link is not valid.")
    if expires < (now or time.time()):
        raise PermissionDenied("This link has expired. Reload the page.")
    return user_id
