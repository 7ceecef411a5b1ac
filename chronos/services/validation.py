"""Parsing and normalising user input: emails, phones, money, dates, addresses.

Each ``parse_*`` returns the clean value or raises ``InvalidValue`` with a message meant for
the user. ``InvalidValue`` is a ``ValueError`` (``Collector`` gathers those per field, so a form
shows every problem at once) and a ``ValidationFailed`` (a service that calls a parser on its
own still answers 422 with the message, never a 500).
"""

from __future__ import annotations

import re
import unicodedata
from datetime import date
from decimal import Decimal, InvalidOperation
from typing import Any, TypeVar

import phonenumbers
from email_validator import EmailNotValidError, validate_email
from sqlalchemy import func, literal

from chronos.services.errors import ValidationFailed

T = TypeVar("T")


class InvalidValue(ValidationFailed, ValueError):
    """One value refused by a parser; ``field`` names it when the parser was told."""

    def __init__(self, message: str, field: str = "value") -> None:
        super().__init__({field: message}, message)


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


def parse_id(value: Any, field: str = "id", label: str = "item") -> int:
    """An id from a form or a query string: a whole number in the id range, else refused."""
    if isinstance(value, bool):
        raise ValidationFailed({field: f"Choose a {label}."})
    text = str(value).strip() if isinstance(value, str | int) else ""
    if not text.isascii() or not text.isdigit():
        raise ValidationFailed({field: f"Choose a {label}."})
    number = int(text)
    if not in_id_range(number):
        raise ValidationFailed({field: f"There is no such {label}."})
    return number


def clean_text(value: Any, max_len: int = 200) -> str:
    """One line of text as people mean it: NFC-normalised, whitespace collapsed, invisible and
    bidi-control characters removed; control characters (NUL, ...) are refused, and a value of
    nothing but marks or spaces counts as empty."""
    if isinstance(value, dict | list | tuple | set):
        raise InvalidValue("Must be text.")
    raw = unicodedata.normalize("NFC", str(value if value is not None else ""))
    # Unicode "format" characters (Cf: zero-width, bidi controls such as RTL overrides, BOM)
    # are invisible: a name of them looks empty, and an override reorders what people read.
    visible = "".join(c for c in raw if unicodedata.category(c) != "Cf")
    text = " ".join(visible.split())
    if any(unicodedata.category(c) == "Cc" for c in text):
        raise InvalidValue("Contains a control character; remove it and try again.")
    if not any(unicodedata.category(c)[0] in "LNPS" for c in text):
        text = ""  # only combining marks (or nothing) left
    if len(text) > max_len:
        raise InvalidValue(f"Must be at most {max_len} characters (this is {len(text)}).")
    return text


def clip_text(value: Any, max_len: int = 200) -> str:
    """``clean_text`` for a value nobody typed (a title made from a file name, a template name
    and a street): cut to ``max_len`` with an ellipsis instead of refused."""
    text = clean_text(value, 100_000)
    return text if len(text) <= max_len else text[: max_len - 1].rstrip() + "\u2026"


def required_text(value: Any, max_len: int = 200, label: str = "This field") -> str:
    text = clean_text(value, max_len)
    if not text:
        raise InvalidValue(f"{label} is required.")
    return text


def parse_email(value: Any) -> str | None:
    """Normalised address (lower-cased domain and local part) or None when blank."""
    raw = str(value or "").strip()
    if not raw:
        return None
    try:
        result = validate_email(raw, check_deliverability=False)
    except EmailNotValidError as exc:
        raise InvalidValue(f"Not a valid email address: {exc}") from exc
    return result.normalized.lower()


def parse_phone(value: Any, region: str = "US") -> str | None:
    """E.164 phone number (+15551234567) or None when blank."""
    raw = str(value or "").strip()
    if not raw:
        return None
    try:
        number = phonenumbers.parse(raw, region)
    except phonenumbers.NumberParseException as exc:
        raise InvalidValue("Not a valid phone number.") from exc
    if not phonenumbers.is_valid_number(number):
        raise InvalidValue("Not a valid phone number.")
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


# $450,000 / 450000 / 450,000.50: digits (comma groups of three, or none), at most two decimals.
_PRICE = re.compile(r"^\$?(\d{1,3}(,\d{3})+|\d+)(\.\d+)?$")
PRICE_FORMAT = "Price must be an amount like 450000, $450,000 or 450000.50."


def parse_price_cents(value: Any) -> int | None:
    """'$450,000', '450000.50', 450000 -> cents; None when blank. Refuses what is probably a
    typo rather than guessing: exponents ('1e3'), spaces inside the digits ('4 5 0 000'),
    fractions of a cent ('0.001'), negatives and $0 (blank means "not known yet")."""
    if value is None or (isinstance(value, str) and not value.strip()):
        return None
    if isinstance(value, bool) or not isinstance(value, str | int | float | Decimal):
        raise InvalidValue("Price must be a number.")
    if isinstance(value, str):
        text = value.strip()
        if text.startswith("-"):
            raise InvalidValue("Price cannot be negative.")
        if not _PRICE.match(text):
            raise InvalidValue(PRICE_FORMAT)
        amount = Decimal(text.replace("$", "").replace(",", ""))
    else:
        try:
            amount = Decimal(str(value))
        except InvalidOperation as exc:
            raise InvalidValue(PRICE_FORMAT) from exc
        if not amount.is_finite():
            raise InvalidValue(PRICE_FORMAT)
        if amount < 0:
            raise InvalidValue("Price cannot be negative.")
    if amount != amount.quantize(Decimal("0.01")):
        raise InvalidValue("Price can have at most two decimals (cents).")
    cents = int(amount * 100)
    if cents == 0:
        raise InvalidValue("Price must be more than $0; leave it empty if it is not known yet.")
    if cents > MAX_PRICE_CENTS:
        raise InvalidValue("Price is implausibly large; check the number of zeros.")
    return cents


def format_price(cents: int | None) -> str:
    if cents is None:
        return ""
    dollars, rem = divmod(cents, 100)
    return f"${dollars:,}" + (f".{rem:02d}" if rem else "")


_ISO_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")


def parse_date(value: Any) -> date | None:
    """ISO date (YYYY-MM-DD) within a sane range, or None when blank."""
    if value is None or value == "":
        return None
    if isinstance(value, date):
        parsed = value
    else:
        text = str(value).strip()
        if not _ISO_DATE.match(text):
            raise InvalidValue("Not a valid date; use YYYY-MM-DD.")
        try:
            parsed = date.fromisoformat(text)
        except ValueError:
            raise InvalidValue(f"{text} is not a day of the calendar; check the day.") from None
    if not MIN_DATE <= parsed <= MAX_DATE:
        raise InvalidValue(f"Date must be between {MIN_DATE.year} and {MAX_DATE.year}.")
    return parsed


def format_date(value: date | None) -> str:
    """'Dec 5, 2026': short, unambiguous, and the same for every viewer."""
    return f"{value:%b} {value.day}, {value.year}" if value else ""


def parse_state(value: Any) -> str:
    code = str(value or "").strip().upper()
    if code and code not in US_STATES:
        raise InvalidValue("Use a two-letter US state code, like TX.")
    return code


_ZIP = re.compile(r"^\d{5}(-\d{4})?$")


def parse_postal_code(value: Any) -> str:
    code = str(value or "").strip()
    if code and not _ZIP.match(code):
        raise InvalidValue("Use a 5-digit ZIP code (or ZIP+4).")
    return code


def parse_choice(value: Any, choices: type[T], label: str) -> T:
    try:
        return choices(str(value or "").strip())  # type: ignore[call-arg]
    except ValueError as exc:
        allowed = ", ".join(c.value for c in choices)  # type: ignore[attr-defined]
        raise InvalidValue(f"Unknown {label}; choose one of: {allowed}.") from exc


def contains_folded(column: Any, word: str) -> Any:
    """``column`` contains ``word`` ignoring case, accents, Unicode forms and invisible
    characters: both sides go through the database's ``chronos_fold`` (db.fold_text)."""
    pattern = literal("%") + func.chronos_fold(escape_like(word)) + literal("%")
    return func.chronos_fold(column).like(pattern, escape="\\")


def escape_like(text: str) -> str:
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
