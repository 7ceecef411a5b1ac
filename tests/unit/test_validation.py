"""Input parsing: examples plus property tests."""

from __future__ import annotations

import unicodedata
from datetime import date, timedelta
from decimal import Decimal

import pytest
from hypothesis import assume, given
from hypothesis import strategies as st

from chronos.models import Side
from chronos.services import validation as v
from chronos.services.errors import ValidationFailed

# ---------------------------------------------------------------- examples


@pytest.mark.parametrize(
    ("raw", "cents"),
    [
        ("$450,000", 45_000_000),
        ("450000.50", 45_000_050),
        (" 450,000 ", 45_000_000),
        ("1234", 123_400),
        (450000, 45_000_000),
        (Decimal("0.02"), 2),
        (450000.5, 45_000_050),
        ("", None),
        ("   ", None),
        (None, None),
    ],
)
def test_parse_price_cents_examples(raw, cents) -> None:
    assert v.parse_price_cents(raw) == cents


@pytest.mark.parametrize(
    ("raw", "message"),
    [
        ("-1", "Price cannot be negative."),
        ("-$5", "Price cannot be negative."),
        ("abc", "Price must be an amount like"),
        ("NaN", "Price must be an amount like"),
        ("Infinity", "Price must be an amount like"),
        (float("nan"), "Price must be an amount like"),
        (True, "Price must be a number."),
        ("10000000001", "Price is implausibly large"),
        # Probably typos, not amounts: refused instead of guessed (issue 15).
        ("0.001", "at most two decimals"),
        (Decimal("0.015"), "at most two decimals"),
        ("1e3", "Price must be an amount like"),
        ("4 5 0 000", "Price must be an amount like"),
        ("45,00,000", "Price must be an amount like"),
        ("0", "more than \\$0"),
        ("$0.00", "more than \\$0"),
        (["450000"], "Price must be a number."),
    ],
)
def test_parse_price_cents_rejects(raw, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        v.parse_price_cents(raw)


def test_the_largest_plausible_price_is_accepted() -> None:
    assert v.parse_price_cents("10000000000") == v.MAX_PRICE_CENTS


@pytest.mark.parametrize(
    ("cents", "text"),
    [(None, ""), (0, "$0"), (5, "$0.05"), (45_000_000, "$450,000"), (123_456_789, "$1,234,567.89")],
)
def test_format_price_examples(cents, text: str) -> None:
    assert v.format_price(cents) == text


@pytest.mark.parametrize(
    ("raw", "e164"),
    [
        ("(617) 253-1000", "+16172531000"),
        ("617.253.1000", "+16172531000"),
        ("+1 617 253 1000", "+16172531000"),
        ("+44 20 7946 0958", "+442079460958"),
        ("", None),
        (None, None),
    ],
)
def test_parse_phone_normalises_to_e164(raw, e164) -> None:
    assert v.parse_phone(raw) == e164


@pytest.mark.parametrize("raw", ["12345", "555-123-4567", "call me", "+999 1234"])
def test_parse_phone_rejects_invalid_numbers(raw: str) -> None:
    with pytest.raises(ValueError, match=r"Not a valid phone number\."):
        v.parse_phone(raw)


def test_format_phone_is_national_for_us_and_international_otherwise() -> None:
    assert v.format_phone("+16172531000") == "(617) 253-1000"
    assert v.format_phone("+442079460958") == "+44 20 7946 0958"
    assert v.format_phone(None) == ""
    assert v.format_phone("garbage") == "garbage"


@pytest.mark.parametrize(
    ("raw", "clean"),
    [
        ("Cora@Example.COM", "cora@example.com"),
        ("  cora.client@example.com ", "cora.client@example.com"),
        ("", None),
        (None, None),
    ],
)
def test_parse_email_normalises_to_lower_case(raw, clean) -> None:
    assert v.parse_email(raw) == clean


@pytest.mark.parametrize("raw", ["cora", "cora@", "@example.com", "a b@example.com", "a@b@c.com"])
def test_parse_email_rejects_malformed_addresses(raw: str) -> None:
    with pytest.raises(ValueError, match="Not a valid email address"):
        v.parse_email(raw)


@pytest.mark.parametrize(
    ("raw", "message"),
    [
        # The format was right: say that the day does not exist (issue 15).
        ("2024-02-30", "2024-02-30 is not a day of the calendar"),
        ("2023-02-29", "2023-02-29 is not a day of the calendar"),
        ("2024-13-01", "2024-13-01 is not a day of the calendar"),
        ("2024-2-3", "Not a valid date; use YYYY-MM-DD."),
        ("next tuesday", "Not a valid date; use YYYY-MM-DD."),
        ("1989-12-31", "Date must be between 1990 and 2100."),
        ("2101-01-01", "Date must be between 1990 and 2100."),
        (date(1900, 1, 1), "Date must be between 1990 and 2100."),
    ],
)
def test_parse_date_rejects_impossible_and_out_of_range_dates(raw, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        v.parse_date(raw)


def test_parse_date_accepts_leap_days_dates_and_blanks() -> None:
    assert v.parse_date("2024-02-29") == date(2024, 2, 29)
    assert v.parse_date(" 2026-11-21 ") == date(2026, 11, 21)
    assert v.parse_date(date(2026, 1, 1)) == date(2026, 1, 1)
    assert v.parse_date("") is None
    assert v.parse_date(None) is None


@pytest.mark.parametrize(("raw", "code"), [("tx", "TX"), (" me ", "ME"), ("", ""), ("DC", "DC")])
def test_parse_state_upper_cases_known_codes(raw: str, code: str) -> None:
    assert v.parse_state(raw) == code


@pytest.mark.parametrize("raw", ["Texas", "XX", "T", "ON"])
def test_parse_state_rejects_unknown_codes(raw: str) -> None:
    with pytest.raises(ValueError, match="two-letter US state code"):
        v.parse_state(raw)


@pytest.mark.parametrize("raw", ["04101", "04101-1234", " 90210 ", ""])
def test_parse_postal_code_accepts_zip_and_zip4(raw: str) -> None:
    assert v.parse_postal_code(raw) == raw.strip()


@pytest.mark.parametrize("raw", ["4101", "041011", "04101-12", "ABCDE", "04101 1234"])
def test_parse_postal_code_rejects_other_shapes(raw: str) -> None:
    with pytest.raises(ValueError, match="5-digit ZIP code"):
        v.parse_postal_code(raw)


def test_text_helpers_collapse_whitespace_and_enforce_length() -> None:
    assert v.clean_text("  a \n\t b  ") == "a b"
    assert v.clean_text(None) == ""
    with pytest.raises(ValueError, match="at most 3 characters"):
        v.clean_text("abcd", 3)
    with pytest.raises(ValueError, match=r"Street is required\."):
        v.required_text("   ", 10, "Street")


def test_parse_choice_lists_the_allowed_values() -> None:
    assert v.parse_choice(" seller ", Side, "side") is Side.SELLER
    with pytest.raises(ValueError, match=r"Unknown side; choose one of: buyer, seller, dual\."):
        v.parse_choice("Seller", Side, "side")


def test_escape_like_escapes_wildcards_and_the_escape_character() -> None:
    assert v.escape_like(r"50%_off\now") == r"50\%\_off\\now"


def test_collector_gathers_every_field_error_into_one_exception() -> None:
    check = v.Collector()
    assert check.field("price", v.parse_price_cents, "-1") is None
    assert check.field("state", v.parse_state, "me") == "ME"
    check.add("zip", "first")
    check.add("zip", "second")  # the first message for a field wins
    with pytest.raises(ValidationFailed) as exc:
        check.raise_if_any()
    assert exc.value.errors == {"price": "Price cannot be negative.", "zip": "first"}
    assert exc.value.message == "Price cannot be negative.; first"
    v.Collector().raise_if_any()  # nothing collected: nothing raised


# ---------------------------------------------------------------- properties


@given(st.integers(min_value=1, max_value=v.MAX_PRICE_CENTS))
def test_format_price_round_trips_through_parse_price_cents(cents: int) -> None:
    assert v.parse_price_cents(v.format_price(cents)) == cents


@given(st.integers(min_value=1, max_value=v.MAX_PRICE_CENTS))
def test_plain_cent_amounts_parse_exactly(cents: int) -> None:
    dollars, rem = divmod(cents, 100)
    assert v.parse_price_cents(f"{dollars}.{rem:02d}") == cents


@given(st.integers(min_value=1, max_value=10**15))
def test_negative_prices_are_always_rejected(cents: int) -> None:
    with pytest.raises(ValueError, match="negative"):
        v.parse_price_cents(f"-{cents / 100}")


@given(st.from_regex(r"\A\(?[2-9][0-8]\d\)?[ .-]?[2-9]\d{2}[ .-]?\d{4}\Z"))
def test_parse_phone_output_reparses_to_itself(raw: str) -> None:
    try:
        e164 = v.parse_phone(raw)
    except ValueError:
        assume(False)
        raise
    assert e164 is not None and e164.startswith("+1") and len(e164) == 12
    assert v.parse_phone(e164) == e164
    assert v.parse_phone(v.format_phone(e164)) == e164


@given(st.dates(min_value=v.MIN_DATE, max_value=v.MAX_DATE))
def test_parse_date_accepts_every_iso_date_in_range(day: date) -> None:
    assert v.parse_date(day.isoformat()) == day
    assert v.parse_date(day) == day


@given(
    st.one_of(
        st.dates(max_value=v.MIN_DATE - timedelta(days=1)),
        st.dates(min_value=v.MAX_DATE + timedelta(days=1)),
    )
)
def test_parse_date_rejects_every_date_out_of_range(day: date) -> None:
    with pytest.raises(ValueError, match="Date must be between 1990 and 2100"):
        v.parse_date(day.isoformat() if day.year >= 1000 else day)


@given(st.emails())
def test_parsed_emails_are_lower_case_and_stable(raw: str) -> None:
    try:
        clean = v.parse_email(raw)
    except ValueError:
        assume(False)
        raise
    assert clean == clean.lower()
    assert v.parse_email(clean) == clean
    assert v.parse_email(raw.upper()) == clean


@given(st.text(max_size=40))
def test_escaped_like_text_has_no_bare_wildcards(text: str) -> None:
    escaped = v.escape_like(text)
    i = 0
    while i < len(escaped):
        if escaped[i] == "\\":
            assert escaped[i + 1] in "\\%_"
            i += 2
            continue
        assert escaped[i] not in "%_"
        i += 1


# ---------------------------------------------------------------- text (issue 15)


@pytest.mark.parametrize(
    ("raw", "clean"),
    [
        ("Al\u200bice", "Alice"),  # zero-width space
        ("\u202eecilA", "ecilA"),  # right-to-left override removed, not reordered
        ("E\u0301mile Zoe\u0308", "\u00c9mile Zo\u00eb"),  # NFD -> NFC
        ("  12   Main\tSt ", "12 Main St"),
        ("\ufeffBOM", "BOM"),
    ],
)
def test_clean_text_normalises_what_people_cannot_see(raw: str, clean: str) -> None:
    assert v.clean_text(raw) == clean


@pytest.mark.parametrize(
    "raw", ["\u200b", "\u200b\u200c\u200d", "\u202e\u202c", "\u0301\u0308", " \u2060 "]
)
def test_a_name_of_invisible_characters_is_empty(raw: str) -> None:
    assert v.clean_text(raw) == ""
    with pytest.raises(v.InvalidValue, match=r"First name is required\."):
        v.required_text(raw, 100, "First name")


@pytest.mark.parametrize("raw", ["a\x00b", "bell\x07", "esc\x1b[31m"])
def test_control_characters_are_refused(raw: str) -> None:
    with pytest.raises(v.InvalidValue, match="control character"):
        v.clean_text(raw)


@pytest.mark.parametrize("raw", [["a", "b"], {"street": "x"}, ("a",)])
def test_a_list_or_object_is_not_text(raw: object) -> None:
    with pytest.raises(v.InvalidValue, match=r"Must be text\."):
        v.clean_text(raw)


def test_a_parser_called_outside_a_form_is_a_422_not_a_500() -> None:
    """A service calling clean_text on its own used to raise a bare ValueError (a 500)."""
    with pytest.raises(ValidationFailed) as exc:
        v.clean_text("x" * 230, 200)
    assert exc.value.status_code == 422
    assert exc.value.message == "Must be at most 200 characters (this is 230)."


@given(st.text())
def test_clean_text_never_raises_anything_but_invalid_value(raw: str) -> None:
    try:
        out = v.clean_text(raw, 10_000)
    except v.InvalidValue:
        return
    assert out == unicodedata.normalize("NFC", out)
    assert not any(unicodedata.category(c) in ("Cc", "Cf") for c in out)
