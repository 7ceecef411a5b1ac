"""Read a purchase agreement PDF into proposed transaction fields, each with its page and source.

Pure functions (bytes in, proposals out; no database, no storage, no AI service). Two sources:
the fillable-form (AcroForm) values that state association forms carry, and the text layer
(pypdf) for flat PDFs. Every proposal keeps the page number and the exact text it came from, so
the agent can confirm or correct it before the file is created. A PDF with no text on any page
(a scan) is told so: ``NO_TEXT_LAYER``.
"""

from __future__ import annotations

import io
import re
import warnings
from dataclasses import dataclass, field, replace
from datetime import date
from decimal import Decimal, InvalidOperation
from typing import Any

from chronos.deadlines.presets import GENERIC_FINANCED, PRESETS, Preset

NO_TEXT_LAYER = "no text layer: enter the details by hand"
MAX_ADDENDA = 4

# field key -> (label, aliases). Aliases are matched against normalised form-field names and
# against the label at the start of a text line ("Purchase Price: $450,000").
FIELDS: dict[str, tuple[str, tuple[str, ...]]] = {
    "address": ("Property address", ("property address", "address", "premises", "property")),
    "state": ("Property state", ("property state", "state")),
    "price": ("Purchase price", ("purchase price", "sales price", "price")),
    "effective_date": (
        "Effective date",
        ("effective date", "acceptance date", "date of acceptance", "binding agreement date"),
    ),
    "closing_date": ("Closing date", ("closing date", "closing", "settlement date")),
    "inspection_days": (
        "Inspection period (days)",
        ("inspection period", "inspection contingency", "due diligence period"),
    ),
    "option_days": ("Option period (days)", ("option period",)),
    "appraisal_days": ("Appraisal contingency (days)", ("appraisal contingency", "appraisal")),
    "loan_days": (
        "Loan approval (days)",
        ("loan contingency", "financing contingency", "loan approval", "mortgage commitment"),
    ),
    "attorney_review_days": ("Attorney review (days)", ("attorney review",)),
    "buyers": ("Buyers", ("buyers", "buyer", "purchasers", "purchaser")),
    "sellers": ("Sellers", ("sellers", "seller")),
    "listing_agent": ("Listing agent", ("listing agent", "seller's agent", "sellers agent")),
    "buyer_agent": ("Buyer's agent", ("buyer's agent", "buyers agent", "selling agent")),
    "lender": ("Lender", ("lender", "mortgage lender")),
    "title_company": (
        "Title company",
        ("title company", "escrow agent", "title insurance company", "closing agent"),
    ),
    "earnest_money": ("Earnest money", ("earnest money amount", "earnest money", "deposit")),
    "earnest_money_due": (
        "Earnest money due",
        ("earnest money due", "earnest money due date", "deposit due"),
    ),
}
DAYS_FIELDS = {
    "inspection_days",
    "option_days",
    "appraisal_days",
    "loan_days",
    "attorney_review_days",
}
DATE_FIELDS = {"effective_date", "closing_date", "earnest_money_due"}
MONEY_FIELDS = {"price", "earnest_money"}
# extracted period -> the preset rule keys whose offset it fills
PERIOD_RULES: dict[str, tuple[str, ...]] = {
    "inspection_days": ("inspection", "inspection_contingency", "due_diligence"),
    "option_days": ("option_period",),
    "appraisal_days": ("appraisal", "appraisal_contingency"),
    "loan_days": ("loan_approval", "loan_contingency", "financing"),
    "attorney_review_days": ("attorney_review",),
}

_STATES = {
    "alabama": "AL", "alaska": "AK", "arizona": "AZ", "arkansas": "AR", "california": "CA",
    "colorado": "CO", "connecticut": "CT", "delaware": "DE", "florida": "FL", "georgia": "GA",
    "hawaii": "HI", "idaho": "ID", "illinois": "IL", "indiana": "IN", "iowa": "IA",
    "kansas": "KS", "kentucky": "KY", "louisiana": "LA", "maine": "ME", "maryland": "MD",
    "massachusetts": "MA", "michigan": "MI", "minnesota": "MN", "mississippi": "MS",
    "missouri": "MO", "montana": "MT", "nebraska": "NE", "nevada": "NV",
    "new hampshire": "NH", "new jersey": "NJ", "new mexico": "NM", "new york": "NY",
    "north carolina": "NC", "north dakota": "ND", "ohio": "OH", "oklahoma": "OK",
    "oregon": "OR", "pennsylvania": "PA", "rhode island": "RI", "south carolina": "SC",
    "south dakota": "SD", "tennessee": "TN", "texas": "TX", "utah": "UT", "vermont": "VT",
    "virginia": "VA", "washington": "WA", "west virginia": "WV", "wisconsin": "WI",
    "wyoming": "WY", "district of columbia": "DC",
}  # fmt: skip
_CODES = set(_STATES.values())
_ZIP_STATE = re.compile(r",\s*([A-Z]{2})\s+\d{5}(?:-\d{4})?\s*$")
_LINE = re.compile(r"^\s*([A-Za-z][A-Za-z'\u2019 /&-]{1,60}?)\s*[:\-\u2013]\s+(.+?)\s*$")
_DAYS = re.compile(r"(\d{1,3})\s*(?:\(?\s*(?:calendar|business)?\s*\)?\s*)?days?", re.I)
_MONEY = re.compile(r"\$?\s*([0-9][0-9,]*(?:\.\d{1,2})?)")
_DATE_FORMATS = (
    re.compile(r"(?P<m>\d{1,2})/(?P<d>\d{1,2})/(?P<y>\d{4})"),
    re.compile(r"(?P<y>\d{4})-(?P<m>\d{1,2})-(?P<d>\d{1,2})"),
)
_MONTHS = {
    m: i + 1
    for i, m in enumerate(
        [
            "january",
            "february",
            "march",
            "april",
            "may",
            "june",
            "july",
            "august",
            "september",
            "october",
            "november",
            "december",
        ]
    )
}
_LONG_DATE = re.compile(r"([A-Za-z]+)\.?\s+(\d{1,2}),?\s+(\d{4})")


class AgreementUnreadable(Exception):
    """The file cannot be read as a PDF (the message says why, for the user)."""


@dataclass(frozen=True)
class Proposal:
    """One value Chronos proposes, with where it came from."""

    field: str
    label: str
    value: str  # normalised: ISO date, plain decimal, integer days, names joined by "; "
    page: int  # 1-based, in the document it came from
    source: str  # the form field or text line, as read
    document: str = "agreement"  # "agreement" or "addendum N"
    origin: str = "text"  # "form" (AcroForm value) or "text" (text layer)


@dataclass
class Reading:
    proposals: dict[str, Proposal] = field(default_factory=dict)
    pages: int = 0
    has_text: bool = False
    notes: list[str] = field(default_factory=list)

    @property
    def found(self) -> list[str]:
        return [key for key in FIELDS if key in self.proposals]


def _norm(name: str) -> str:
    name = re.sub(r"([a-z])([A-Z])", r"\1 \2", name)
    name = name.replace("\u2019", "'")
    return re.sub(r"[\s_.\-]+", " ", name).strip().lower()


def _match_label(label: str) -> str | None:
    """The field key whose alias is the label (longest alias wins: "earnest money due" beats
    "earnest money")."""
    text = _norm(label).rstrip(" :")
    best: tuple[int, str] | None = None
    for key, (_label, aliases) in FIELDS.items():
        for alias in aliases:
            same = text == alias or text.replace("'", "") == alias.replace("'", "")
            if same and (best is None or len(alias) > best[0]):
                best = (len(alias), key)
    return best[1] if best else None


def parse_date(text: str) -> date | None:
    for pattern in _DATE_FORMATS:
        m = pattern.search(text)
        if m:
            try:
                return date(int(m["y"]), int(m["m"]), int(m["d"]))
            except ValueError:
                return None
    m = _LONG_DATE.search(text)
    if m and m[1].lower().rstrip(".") in _MONTHS:
        try:
            return date(int(m[3]), _MONTHS[m[1].lower()], int(m[2]))
        except ValueError:
            return None
    return None


def parse_money(text: str) -> Decimal | None:
    m = _MONEY.search(text)
    if not m:
        return None
    try:
        amount = Decimal(m[1].replace(",", ""))
    except InvalidOperation:
        return None
    return amount if amount > 0 else None


def parse_days(text: str) -> int | None:
    m = _DAYS.search(text)
    if m:
        days = int(m[1])
    elif text.strip().isdigit():
        days = int(text.strip())
    else:
        return None
    return days if 0 < days <= 365 else None


def parse_state(text: str) -> str | None:
    cleaned = text.strip().rstrip(".")
    if cleaned.upper() in _CODES:
        return cleaned.upper()
    if cleaned.lower() in _STATES:
        return _STATES[cleaned.lower()]
    m = _ZIP_STATE.search(cleaned)
    if m and m[1] in _CODES:
        return m[1]
    return None


def normalise(key: str, raw: str) -> str | None:
    """The value of ``raw`` for field ``key`` in its canonical text form, or None if unusable."""
    raw = raw.strip()
    if not raw:
        return None
    if key in DATE_FIELDS:
        parsed = parse_date(raw)
        return parsed.isoformat() if parsed else None
    if key in MONEY_FIELDS:
        amount = parse_money(raw)
        return str(amount) if amount is not None else None
    if key in DAYS_FIELDS:
        days = parse_days(raw)
        return str(days) if days is not None else None
    if key == "state":
        return parse_state(raw)
    if key in {"buyers", "sellers"}:
        names = [n.strip() for n in re.split(r"\s*(?:;|,| and | & )\s*", raw) if n.strip()]
        return "; ".join(names) or None
    return raw[:200]


def _open(data: bytes) -> Any:
    from pypdf import PdfReader
    from pypdf.errors import PdfReadError

    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            reader = PdfReader(io.BytesIO(data), strict=False)
            if reader.is_encrypted:
                raise AgreementUnreadable("the PDF is password-protected: upload an open copy")
            _ = len(reader.pages)
    except AgreementUnreadable:
        raise
    except (PdfReadError, ValueError, KeyError, TypeError, OSError) as exc:
        raise AgreementUnreadable("the file is not a readable PDF") from exc
    return reader


def _form_values(reader: Any) -> list[tuple[str, str, int]]:
    """(field name, value, 1-based page) for every filled text field, in page order."""
    out: list[tuple[str, str, int]] = []
    for number, page in enumerate(reader.pages, start=1):
        for ref in page.get("/Annots") or []:
            annot = ref.get_object()
            if annot.get("/Subtype") != "/Widget":
                continue
            node = annot
            name = node.get("/T")
            value = node.get("/V")
            while (name is None or value is None) and node.get("/Parent") is not None:
                node = node["/Parent"].get_object()
                name = name if name is not None else node.get("/T")
                value = value if value is not None else node.get("/V")
            if name is None or value is None:
                continue
            text = str(value).strip()
            if text and not text.startswith("/"):
                out.append((str(name), text, number))
    return out


def _page_lines(reader: Any) -> list[tuple[int, str]]:
    lines: list[tuple[int, str]] = []
    for number, page in enumerate(reader.pages, start=1):
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                text = page.extract_text() or ""
        except Exception:
            text = ""
        lines.extend((number, line) for line in text.splitlines() if line.strip())
    return lines


def _propose(reading: Reading, proposal: Proposal) -> None:
    # The first source wins within a document; a later document (an addendum) amends.
    existing = reading.proposals.get(proposal.field)
    if existing is None or existing.document != proposal.document:
        reading.proposals[proposal.field] = proposal


def read_into(reading: Reading, data: bytes, *, document: str = "agreement") -> Reading:
    reader = _open(data)
    reading.pages += len(reader.pages)
    found: dict[str, Proposal] = {}
    for name, value, page in _form_values(reader):
        key = _match_label(name)
        if key is None or key in found:
            continue
        normalised = normalise(key, value)
        if normalised is None:
            reading.notes.append(f"{document}, page {page}: could not read {name!r} = {value!r}")
            continue
        found[key] = Proposal(
            key, FIELDS[key][0], normalised, page, f"{name}: {value}", document, "form"
        )
    lines = _page_lines(reader)
    if lines:
        reading.has_text = True
    for page, line in lines:
        m = _LINE.match(line)
        if not m:
            continue
        key = _match_label(m[1])
        if key is None or key in found:
            continue
        normalised = normalise(key, m[2])
        if normalised is None:
            continue
        found[key] = Proposal(key, FIELDS[key][0], normalised, page, line.strip(), document)
    if "state" not in found and "address" in found:
        state = parse_state(found["address"].value)
        if state:
            source = found["address"]
            found["state"] = replace(source, field="state", label=FIELDS["state"][0], value=state)
    for proposal in found.values():
        _propose(reading, proposal)
    return reading


def read_agreement(agreement: bytes, addenda: list[bytes] | tuple[bytes, ...] = ()) -> Reading:
    """Proposals from the signed agreement and up to four addenda (an addendum's value amends
    the agreement's). Raises ``AgreementUnreadable`` for a file that is not a readable PDF."""
    if len(addenda) > MAX_ADDENDA:
        raise AgreementUnreadable(f"at most {MAX_ADDENDA} addenda can be read with an agreement")
    reading = read_into(Reading(), agreement)
    for n, addendum in enumerate(addenda, start=1):
        read_into(reading, addendum, document=f"addendum {n}")
    if not reading.has_text and not reading.proposals:
        reading.notes.insert(0, NO_TEXT_LAYER)
    return reading


def preset_for_state(state: str | None) -> Preset:
    """The key-date preset of the property's state; the generic one where there is none."""
    code = (state or "").strip().upper()
    for preset in PRESETS.values():
        if preset.state == code:
            return preset
    return GENERIC_FINANCED


def offsets_from_periods(preset: Preset, values: dict[str, str]) -> dict[str, int]:
    """Rule key -> offset in days, for each rule of ``preset`` an extracted period fills."""
    keys = set(preset.keys())
    offsets: dict[str, int] = {}
    for period, rule_keys in PERIOD_RULES.items():
        days = parse_days(values.get(period, "") or "")
        if days is None:
            continue
        for rule_key in rule_keys:
            if rule_key in keys:
                offsets[rule_key] = days
    return offsets


def fill_preset(preset: Preset, offsets: dict[str, int]) -> Preset:
    """``preset`` with the contract's own offsets in place of the typical ones."""
    rules = tuple(
        replace(rule, offset_days=offsets[rule.key]) if rule.key in offsets else rule
        for rule in preset.rules
    )
    return replace(preset, rules=rules)


def propose_from_uploads(
    db: Any,
    actor: Any,
    agreement: tuple[str, bytes],
    addenda: list[tuple[str, bytes]] | tuple[tuple[str, bytes], ...] = (),
    *,
    max_bytes: int | None = None,
) -> Reading:
    """The gated entry point for "Start from the purchase agreement": only staff who may create
    a transaction may have an agreement read; each file goes through the upload checks (size cap,
    type sniffing, active content removed) before it is parsed. Nothing is stored here: the
    agent confirms the proposals first, and the agreement is stored with the new file."""
    from chronos.services import access, auth, files
    from chronos.services.errors import ValidationFailed
    from chronos.settings import get_settings

    actor = access.require_staff(actor)
    auth.require_verified(actor)
    if len(addenda) > MAX_ADDENDA:
        raise ValidationFailed({"addenda": f"Attach at most {MAX_ADDENDA} addenda."})
    cap = max_bytes or get_settings().max_upload_bytes
    cleaned: list[bytes] = []
    for filename, data in (agreement, *addenda):
        inspected, stored = files.prepare_upload(filename, data, max_bytes=cap)
        if inspected.content_type != files.PDF:
            raise ValidationFailed(
                {"agreement": f"{inspected.filename} is not a PDF: upload the agreement as a PDF."}
            )
        cleaned.append(stored)
    try:
        return read_agreement(cleaned[0], cleaned[1:])
    except AgreementUnreadable as exc:
        raise ValidationFailed({"agreement": str(exc)}) from exc
