"""Column → field suggestions from header names, value transforms and the mapping manifest."""

from __future__ import annotations

import json
import re
import unicodedata
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal, InvalidOperation
from typing import Literal

from chronos.models.base import Stage
from chronos.services.imports.sniff import ImportFileRejected, SourceProfile, neutralise_formula

Kind = Literal["people", "transactions"]
KINDS: tuple[Kind, ...] = ("people", "transactions")
MANIFEST_VERSION = 1

# Fields each kind can fill, and header names seen in the exports of dotloop (loop export),
# SkySlope (transactions report), Open To Close (property export) and Follow Up Boss (people
# export), from their public help pages, plus the plain names people type.
PEOPLE_FIELDS: dict[str, tuple[str, ...]] = {
    "first_name": ("first name", "firstname", "first", "given name", "contact first name"),
    "last_name": ("last name", "lastname", "last", "surname", "family name", "contact last name"),
    "full_name": ("name", "full name", "contact name", "contact", "display name"),
    "email": ("email", "e-mail", "email address", "email 1", "primary email", "contact email"),
    "phone": (
        "phone",
        "phone number",
        "phone 1",
        "mobile",
        "cell",
        "mobile phone",
        "primary phone",
        "contact phone",
        "telephone",
    ),
    "company": ("company", "organization", "brokerage", "company name", "firm"),
    "street": (
        "address",
        "street",
        "street address",
        "address 1",
        "mailing address",
        "property address",
    ),
    "city": ("city", "town", "address city", "property city"),
    "state": ("state", "province", "address state", "property state"),
    "zip": ("zip", "zip code", "postal code", "postcode", "address zip", "property zip"),
    "notes": ("notes", "note", "background", "description", "comments"),
}
TRANSACTION_FIELDS: dict[str, tuple[str, ...]] = {
    "street": (
        "property address",
        "address",
        "street",
        "street address",
        "property street",
        "loop name",
        "listing address",
        "transaction name",
        "property",
    ),
    "unit": ("unit", "unit number", "apt", "suite"),
    "city": ("city", "property city", "town"),
    "state": ("state", "property state"),
    "zip": ("zip", "zip code", "postal code", "property zip", "property postal code"),
    "mls_number": ("mls", "mls number", "mls #", "mls id", "mls no", "listing id", "mls#"),
    "price": (
        "price",
        "purchase price",
        "sale price",
        "sales price",
        "contract price",
        "list price",
        "listing price",
        "offer price",
    ),
    "stage": (
        "stage",
        "status",
        "loop status",
        "transaction status",
        "deal stage",
        "property status",
    ),
    "side": (
        "side",
        "representation",
        "transaction type",
        "deal type",
        "agent side",
        "represent",
        "client type",
    ),
    "effective_date": (
        "effective date",
        "acceptance date",
        "contract date",
        "offer date",
        "accepted date",
        "contract acceptance date",
        "under contract date",
    ),
    "closing_date": (
        "closing date",
        "close date",
        "expected closing date",
        "settlement date",
        "escrow closing date",
        "coe date",
        "closing",
    ),
    "agent_email": (
        "agent email",
        "listing agent email",
        "buyer agent email",
        "agent e-mail",
        "assigned agent email",
        "owner email",
        "created by email",
    ),
    "client_name": (
        "client",
        "client name",
        "buyer",
        "buyer name",
        "seller",
        "seller name",
        "buyers",
        "sellers",
        "primary client",
    ),
    "client_email": ("client email", "buyer email", "seller email", "primary client email"),
}
FIELDS: dict[Kind, dict[str, tuple[str, ...]]] = {
    "people": PEOPLE_FIELDS,
    "transactions": TRANSACTION_FIELDS,
}
REQUIRED: dict[Kind, tuple[tuple[str, ...], ...]] = {
    # each inner tuple: at least one of these must be mapped
    "people": (("first_name", "last_name", "full_name", "email"),),
    "transactions": (("street",), ("side",)),
}
DATE_FORMATS = ("%Y-%m-%d", "%m/%d/%Y", "%d/%m/%Y", "%m/%d/%y", "%d.%m.%Y", "%b %d, %Y")
DATE_FIELDS = frozenset({"effective_date", "closing_date"})

STAGE_WORDS: dict[str, Stage] = {
    "pre listing": Stage.PRE_LISTING,
    "pre-listing": Stage.PRE_LISTING,
    "coming soon": Stage.PRE_LISTING,
    "prospect": Stage.PRE_LISTING,
    "active": Stage.ACTIVE_LISTING,
    "active listing": Stage.ACTIVE_LISTING,
    "listing": Stage.ACTIVE_LISTING,
    "listed": Stage.ACTIVE_LISTING,
    "pending": Stage.UNDER_CONTRACT,
    "under contract": Stage.UNDER_CONTRACT,
    "contract": Stage.UNDER_CONTRACT,
    "in escrow": Stage.UNDER_CONTRACT,
    "under agreement": Stage.UNDER_CONTRACT,
    "active under contract": Stage.UNDER_CONTRACT,
    "clear to close": Stage.CLEAR_TO_CLOSE,
    "ctc": Stage.CLEAR_TO_CLOSE,
    "closed": Stage.CLOSED,
    "sold": Stage.CLOSED,
    "settled": Stage.CLOSED,
    "cancelled": Stage.CANCELLED,
    "canceled": Stage.CANCELLED,
    "withdrawn": Stage.CANCELLED,
    "expired": Stage.CANCELLED,
    "terminated": Stage.CANCELLED,
    "fell through": Stage.CANCELLED,
}
SIDE_WORDS: dict[str, str] = {
    "buyer": "buyer",
    "buyers": "buyer",
    "buy": "buyer",
    "purchase": "buyer",
    "buyer side": "buyer",
    "buyer's agent": "buyer",
    "selling": "buyer",
    "seller": "seller",
    "sellers": "seller",
    "sell": "seller",
    "listing": "seller",
    "list": "seller",
    "listing side": "seller",
    "seller side": "seller",
    "sale": "seller",
    "dual": "dual",
    "both": "dual",
    "dual agency": "dual",
    "double ended": "dual",
}
YES_WORDS = frozenset({"y", "yes", "true", "1", "x"})
NO_WORDS = frozenset({"n", "no", "false", "0", ""})


def normalise_header(name: str) -> str:
    """Lower case, accents and punctuation folded, so "E-Mail Address" meets "email address"."""
    folded = unicodedata.normalize("NFKD", name).encode("ascii", "ignore").decode().casefold()
    folded = folded.replace("_", " ").replace("e-mail", "email")
    folded = re.sub(r"[^a-z0-9#]+", " ", folded)
    return " ".join(folded.split())


def suggest_mapping(headers: tuple[str, ...] | list[str], kind: Kind) -> dict[str, str]:
    """{header: field} for the headers we recognise; each field is suggested at most once.

    An exact alias wins over a partial one, an alias listed earlier over a later one, and an
    earlier column wins a tie.
    """
    fields = FIELDS[kind]
    scored: list[tuple[int, int, str, str]] = []
    for position, header in enumerate(headers):
        norm = normalise_header(header)
        if not norm:
            continue
        for name, aliases in fields.items():
            ordered = [name.replace("_", " "), *(normalise_header(a) for a in aliases)]
            if norm in ordered:
                # An alias listed earlier is the stronger claim ("Property Address" is the
                # street before "Loop Name" is).
                scored.append((ordered.index(norm), position, header, name))
                continue
            words = set(norm.split())
            best = max(
                (len(set(c.split()) & words) / len(set(c.split()) | words) for c in ordered),
                default=0.0,
            )
            if best >= 0.5:
                scored.append((100 if best > 0.66 else 200, position, header, name))
    scored.sort()
    taken_fields: set[str] = set()
    result: dict[str, str] = {}
    for _rank, _position, header, name in scored:
        if header in result or name in taken_fields:
            continue
        result[header] = name
        taken_fields.add(name)
    return result


@dataclass
class Manifest:
    """A saved, reusable mapping: where the file came from, column → field and the transforms."""

    kind: Kind
    source: SourceProfile
    columns: dict[str, str]
    date_format: str | None = None
    stage_names: dict[str, str] = field(default_factory=dict)
    side_names: dict[str, str] = field(default_factory=dict)
    default_side: str | None = None
    default_region: str = "US"

    def to_json(self) -> str:
        return json.dumps(
            {
                "version": MANIFEST_VERSION,
                "kind": self.kind,
                "source": self.source.to_json(),
                "columns": self.columns,
                "transforms": {
                    "date_format": self.date_format,
                    "stage_names": self.stage_names,
                    "side_names": self.side_names,
                    "default_side": self.default_side,
                    "phone_region": self.default_region,
                },
            },
            indent=2,
            sort_keys=True,
        )

    @classmethod
    def from_json(cls, text: str) -> Manifest:
        try:
            data = json.loads(text)
        except json.JSONDecodeError as exc:
            raise ImportFileRejected(
                f"The mapping is not valid JSON: {exc.msg} at line {exc.lineno}."
            ) from exc
        if not isinstance(data, dict) or data.get("version") != MANIFEST_VERSION:
            raise ImportFileRejected(f"The mapping must be a version {MANIFEST_VERSION} manifest.")
        kind = data.get("kind")
        if kind not in KINDS:
            raise ImportFileRejected('The mapping\'s "kind" must be "people" or "transactions".')
        source = data.get("source") or {}
        columns = data.get("columns")
        transforms = data.get("transforms") or {}
        if not isinstance(columns, dict) or not all(
            isinstance(k, str) and isinstance(v, str) for k, v in columns.items()
        ):
            raise ImportFileRejected('The mapping\'s "columns" must map column names to fields.')
        manifest = cls(
            kind=kind,
            source=SourceProfile(
                str(source.get("encoding") or "utf-8"),
                str(source.get("delimiter") or ","),
                tuple(str(h) for h in source.get("headers") or ()),
            ),
            columns=columns,
            date_format=transforms.get("date_format"),
            stage_names=dict(transforms.get("stage_names") or {}),
            side_names=dict(transforms.get("side_names") or {}),
            default_side=transforms.get("default_side"),
            default_region=str(transforms.get("phone_region") or "US"),
        )
        manifest.validate()
        return manifest

    def validate(self, headers: tuple[str, ...] | None = None) -> None:
        """Every mapped field exists, none twice, required ones are there, columns are in the file."""
        known = FIELDS[self.kind]
        used: dict[str, str] = {}
        for column, name in self.columns.items():
            if not name:
                continue
            if name not in known:
                raise ImportFileRejected(
                    f'Column "{column}" is mapped to "{name}", which is not a {self.kind} field.'
                )
            if name in used:
                raise ImportFileRejected(
                    f'Columns "{used[name]}" and "{column}" are both mapped to "{name}".'
                )
            used[name] = column
        for group in REQUIRED[self.kind]:
            if not any(g in used for g in group) and not (group == ("side",) and self.default_side):
                raise ImportFileRejected(f"Map a column to {' or '.join(group)} before importing.")
        if headers is not None:
            missing = [c for c, n in self.columns.items() if n and c not in headers]
            if missing:
                raise ImportFileRejected(
                    f'The file has no column "{missing[0]}" that the mapping uses.'
                )
        if self.date_format is not None and self.date_format not in DATE_FORMATS:
            raise ImportFileRejected(f'"{self.date_format}" is not a date format Chronos reads.')
        for raw, stage in self.stage_names.items():
            if stage not in {s.value for s in Stage}:
                raise ImportFileRejected(
                    f'Stage name "{raw}" is mapped to "{stage}", which is not a stage.'
                )
        for raw, side in {**self.side_names, "": self.default_side or "buyer"}.items():
            if side not in {"buyer", "seller", "dual"}:
                raise ImportFileRejected(
                    f'Side "{raw}" is mapped to "{side}", which is not buyer, seller or dual.'
                )


class ValueRejected(ValueError):
    """One cell cannot be read as its field; the message becomes the row's reason."""


def ambiguous_date_columns(values: list[str]) -> bool:
    """True when slashed dates could be month/day or day/month (every part ≤ 12): ask the user."""
    seen_any = False
    for raw in values:
        m = re.fullmatch(r"\s*(\d{1,2})/(\d{1,2})/(\d{2,4})\s*", raw)
        if not m:
            continue
        seen_any = True
        if int(m.group(1)) > 12 or int(m.group(2)) > 12:
            return False
    return seen_any


def parse_date(raw: str, date_format: str | None) -> date | None:
    value = raw.strip()
    if not value:
        return None
    if re.fullmatch(r"\d{4}-\d{2}-\d{2}([ T].*)?", value):
        return date.fromisoformat(value[:10])
    if date_format is None:
        m = re.fullmatch(r"(\d{1,2})/(\d{1,2})/\d{2,4}", value)
        if m and int(m.group(1)) <= 12 and int(m.group(2)) <= 12 and m.group(1) != m.group(2):
            raise ValueRejected(
                f'"{value}" could be month/day or day/month: choose the date order in the mapping.'
            )
        formats: tuple[str, ...] = ("%m/%d/%Y", "%d/%m/%Y", "%m/%d/%y", "%b %d, %Y", "%d.%m.%Y")
    else:
        formats = (date_format,)
    for fmt in formats:
        try:
            return datetime.strptime(value, fmt).date()
        except ValueError:
            continue
    raise ValueRejected(f'"{value}" is not a date in the chosen format.')


def parse_price(raw: str) -> Decimal | None:
    value = raw.strip().replace("$", "").replace(",", "").replace(" ", "")
    if not value:
        return None
    try:
        price = Decimal(value)
    except InvalidOperation as exc:
        raise ValueRejected(f'"{raw.strip()}" is not a price.') from exc
    if price < 0 or price > Decimal("1000000000") or not price.is_finite():
        raise ValueRejected(f'"{raw.strip()}" is not a plausible price.')
    return price.quantize(Decimal("0.01"))


def parse_yes_no(raw: str) -> bool:
    value = raw.strip().casefold()
    if value in YES_WORDS:
        return True
    if value in NO_WORDS:
        return False
    raise ValueRejected(f'"{raw.strip()}" is not yes or no.')


def parse_stage(raw: str, overrides: dict[str, str]) -> Stage:
    value = raw.strip()
    if value in overrides:
        return Stage(overrides[value])
    key = normalise_header(value)
    if key in STAGE_WORDS:
        return STAGE_WORDS[key]
    if key.replace(" ", "_") in {s.value for s in Stage}:
        return Stage(key.replace(" ", "_"))
    raise ValueRejected(f'Stage "{value}" is not known: map it to a stage in the mapping.')


def parse_side(raw: str, overrides: dict[str, str], default: str | None) -> str:
    value = raw.strip()
    if not value and default:
        return default
    if value in overrides:
        return overrides[value]
    key = normalise_header(value).replace("#", "")
    if key in SIDE_WORDS:
        return SIDE_WORDS[key]
    raise ValueRejected(f'Side "{value}" is not buyer, seller or dual: map it in the mapping.')


def clean_cell(raw: str) -> tuple[str, bool]:
    """(value safe to store, whether a formula prefix was removed)."""
    safe = neutralise_formula(raw)
    return safe, safe != raw.strip()
