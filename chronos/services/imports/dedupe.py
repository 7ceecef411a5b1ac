"""Match keys for dedupe: people by email, then phone (E.164), then name + address (fuzzy)."""

from __future__ import annotations

import unicodedata
from dataclasses import dataclass

import phonenumbers
from rapidfuzz import fuzz

# Below this token-sort score (0-100) of name + address, two people are different people.
FUZZY_THRESHOLD = 90.0


def normalise_email(raw: str) -> str | None:
    value = raw.strip().casefold()
    if not value or "@" not in value or value.startswith("@") or value.endswith("@"):
        return None
    return value


def normalise_phone(raw: str, region: str = "US") -> str | None:
    """E.164 ("+16175550100") or None when the text is no possible phone number."""
    if not raw.strip():
        return None
    try:
        number = phonenumbers.parse(raw, region)
    except phonenumbers.NumberParseException:
        return None
    if not phonenumbers.is_possible_number(number):
        return None
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)


def fold(text: str) -> str:
    ascii_text = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode()
    return " ".join(ascii_text.casefold().replace(".", " ").replace(",", " ").split())


def name_address_score(a_name: str, a_address: str, b_name: str, b_address: str) -> float:
    """0-100: how alike two (name, address) pairs are; word order and accents do not count."""
    if not (a_name.strip() and b_name.strip()):
        return 0.0
    name = fuzz.token_sort_ratio(fold(a_name), fold(b_name))
    if not (a_address.strip() and b_address.strip()):
        return 0.0
    address = fuzz.token_sort_ratio(fold(a_address), fold(b_address))
    return min(name, address)


@dataclass(frozen=True)
class PersonKey:
    email: str | None
    phone: str | None
    name: str
    address: str


def person_key(*, email: str, phone: str, name: str, address: str, region: str = "US") -> PersonKey:
    return PersonKey(normalise_email(email), normalise_phone(phone, region), name, address)


def match_reason(row: PersonKey, existing: PersonKey) -> tuple[str, float] | None:
    """How ``row`` matches an existing person ("email", "phone", "name and address"), or None."""
    if row.email and row.email == existing.email:
        return "email", 100.0
    if row.phone and row.phone == existing.phone:
        return "phone", 100.0
    score = name_address_score(row.name, row.address, existing.name, existing.address)
    if score >= FUZZY_THRESHOLD:
        return "name and address", score
    return None


def transaction_key(
    mls_number: str, street: str, unit: str, zip_code: str, side: str
) -> tuple[str, str]:
    """("mls", number) when there is one, else ("address", street|unit|zip|side) folded."""
    mls = "".join(mls_number.split()).upper()
    if mls:
        return "mls", mls
    return "address", "|".join((fold(street), fold(unit), zip_code.strip()[:5], side))
