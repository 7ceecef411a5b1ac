"""Parsing and normalising user input: emails, phones, money, dates, addresses.

Each ``parse_*`` returns the clean value or raises ``ValueError`` with a message meant for the
user; ``Collector`` gathers those per field so a form shows every problem at once.
"""

from __future__ import annotations

import re
from datetime import date
from decimal import Decimal, InvalidOperation
from typing import Any, TypeVar

import phonenumbers
from email_validator import EmailNotValidError, validate_email

from chronos.services.errors import ValidationFailed

T = TypeVar("T")

US_STATES = frozenset(
    [
        "AL",
        "AK",
        "AZ",
        "AR",
        "CA",
        "CO",
        "CT",
        "DE",
        "DC",
        "FL",
        "GA",
        "HI",
        "ID",
        "IL",
        "IN",
        "IA",
        "KS",
        "KY",
        "LA",
        "ME",
        "MD",
        "MA",
        "MI",
        "MN",
        "MS",
        "MO",
        "MT",
        "NE",
        "NV",
        "NH",
        "NJ",
        "NM",
        "NY",
        "NC",
        "ND",
        "OH",
        "OK",
        "OR",
        "PA",
        "RI",
        "SC",
        "SD",
        "TN",
        "TX",
        "UT",
        "VT",
        "VA",
        "WA",
        "WV",
        "WI",
        "WY",
        "PR",
        "VI",
        "GU",
    ]
)
# Row ids are 32-bit on PostgreSQL (SERIAL) and 64-bit on SQLite: a number outside the smaller
# range names no row, and SQLite cannot even bind one past 64 bits (OverflowError).
MAX_ID = 2**31 - 1


def in_id_range(value: int) -> bool:
    return 0 < value <= MAX_ID


MIN_DATE = date(1990, 1, 1)
MAX_DATE = date(2100, 12, 31)
MAX_PRICE_CENTS = 10_000_000_000 * 100  # ten billion dollars: anything above is a typo


class Collector:
    """Collects per-field errors; ``raise_if_any`` raises one ValidationFailed with all of them."""

    def __init__(self) -> None:
        self.errors: dict[str, str] = {}

    def field(self, name: str, parse: Any, value: Any, *args: Any) -> Any:
        try:
            return parse(value, *args)
        except ValueError as exc:
            self.errors[name] = str(exc)
            return None

    def add(self, name: str, message: str) -> None:
        self.errors.setdefault(name, message)

    def raise_if_any(self) -> None:
        if self.errors:
            raise ValidationFailed(self.errors)


def clean_text(value: Any, max_len: int = 200) -> str:
    text = " ".join(str(value or "").split())
    if len(text) > max_len:
        raise ValueError(f"Must be at most {max_len} characters.")
    return text


def required_text(value: Any, max_len: int = 200, label: str = "This field") -> str:
    text = clean_text(value, max_len)
    if not text:
        raise ValueError(f"{label} is required.")
    return text


def parse_email(value: Any) -> str | None:
    """Normalised address (lower-cased domain and local part) or None when blank."""
    raw = str(value or "").strip()
    if not raw:
        return None
    try:
        result = validate_email(raw, check_deliverability=False)
    except EmailNotValidError as exc:
        raise ValueError(f"Not a valid email address: {exc}") from exc
    return result.normalized.lower()


def parse_phone(value: Any, region: str = "US") -> str | None:
    """E.164 phone number (+15551234567) or None when blank."""
    raw = str(value or "").strip()
    if not raw:
        return None
    try:
        number = phonenumbers.parse(raw, region)
    except phonenumbers.NumberParseException as exc:
        raise ValueError("Not a valid phone number.") from exc
    if not phonenumbers.is_valid_number(number):
        raise ValueError("Not a valid phone number.")
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)


def format_phone(e164: str | None) -> str:
    if not e164:
        return ""
    try:
        number = phonenumbers.parse(e164, None)
    except phonenumbers.NumberParseException:
        return e164
    fmt = (
        phonenumbers.PhoneNumberFormat.NATIONAL
        if number.country_code == 1
        else phonenumbers.PhoneNumberFormat.INTERNATIONAL
    )
    return phonenumbers.format_number(number, fmt)


def parse_price_cents(value: Any) -> int | None:
    """'$450,000', '450000.50', 450000 -> cents; None when blank; refuses negatives."""
    if value is None or (isinstance(value, str) and not value.strip()):
        return None
    if isinstance(value, bool):
        raise ValueError("Price must be a number.")
    text = str(value).strip().replace(",", "").replace("$", "").replace(" ", "")
    try:
        amount = Decimal(text)
    except InvalidOperation as exc:
        raise ValueError("Price must be a number, like 450000 or $450,000.") from exc
    if not amount.is_finite():
        raise ValueError("Price must be a number, like 450000 or $450,000.")
    if amount < 0:
        raise ValueError("Price cannot be negative.")
    cents = int((amount * 100).to_integral_value())
    if cents > MAX_PRICE_CENTS:
        raise ValueError("Price is implausibly large; check the number of zeros.")
    return cents


def format_price(cents: int | None) -> str:
    if cents is None:
        return ""
    dollars, rem = divmod(cents, 100)
    return f"${dollars:,}" + (f".{rem:02d}" if rem else "")


def parse_date(value: Any) -> date | None:
    """ISO date (YYYY-MM-DD) within a sane range, or None when blank."""
    if value is None or value == "":
        return None
    if isinstance(value, date):
        parsed = value
    else:
        try:
            parsed = date.fromisoformat(str(value).strip())
        except ValueError as exc:
            raise ValueError("Not a valid date; use YYYY-MM-DD.") from exc
    if not MIN_DATE <= parsed <= MAX_DATE:
        raise ValueError(f"Date must be between {MIN_DATE.year} and {MAX_DATE.year}.")
    return parsed


def format_date(value: date | None) -> str:
    """'Dec 5, 2026': short, unambiguous, and the same for every viewer."""
    return f"{value:%b} {value.day}, {value.year}" if value else ""


def parse_state(value: Any) -> str:
    code = str(value or "").strip().upper()
    if code and code not in US_STATES:
        raise ValueError("Use a two-letter US state code, like TX.")
    return code


_ZIP = re.compile(r"^\d{5}(-\d{4})?$")


def parse_postal_code(value: Any) -> str:
    code = str(value or "").strip()
    if code and not _ZIP.match(code):
        raise ValueError("Use a 5-digit ZIP code (or ZIP+4).")
    return code


def parse_choice(value: Any, choices: type[T], label: str) -> T:
    try:
        return choices(str(value or "").strip())  # type: ignore[call-arg]
    except ValueError as exc:
        allowed = ", ".join(c.value for c in choices)  # type: ignore[attr-defined]
        raise ValueError(f"Unknown {label}; choose one of: {allowed}.") from exc


def escape_like(text: str) -> str:
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
