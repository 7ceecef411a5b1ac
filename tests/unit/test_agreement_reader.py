"""The agreement reader: generated sample agreements in, proposed fields with page and source
out; scans are told they have no text layer."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest

from chronos.deadlines.presets import GENERIC_FINANCED, PRESETS
from chronos.services import agreement_reader as ar
from tests.support import agreements, pdfs

ALL_FIELDS = [
    "address",
    "price",
    "effective_date",
    "closing_date",
    "buyers",
    "sellers",
    "listing_agent",
    "buyer_agent",
    "lender",
    "title_company",
    "earnest_money",
    "earnest_money_due",
    "state",
]


def test_a_fillable_agreement_proposes_every_field_from_its_form_values() -> None:
    reading = ar.read_agreement(agreements.fillable_agreement())
    assert set(reading.found) == {*ALL_FIELDS, "option_days"}
    got = {key: p.value for key, p in reading.proposals.items()}
    assert got["address"] == "12 Elm Street, Austin, TX 78701"
    assert got["state"] == "TX"
    assert got["price"] == "450000.00"
    assert got["effective_date"] == "2026-03-02"
    assert got["closing_date"] == "2026-04-10"
    assert got["option_days"] == "7"
    assert got["buyers"] == "Ana Lopez; Ben Lopez"
    assert got["earnest_money"] == "5000"
    assert got["earnest_money_due"] == "2026-03-05"
    price = reading.proposals["price"]
    assert (price.origin, price.page, price.source) == ("form", 2, "PurchasePrice: $450,000.00")


def test_a_flat_agreement_proposes_fields_from_its_text_lines_with_their_page() -> None:
    reading = ar.read_agreement(agreements.flat_agreement())
    assert set(reading.found) == {
        *ALL_FIELDS,
        "inspection_days",
        "appraisal_days",
        "loan_days",
    }
    effective = reading.proposals["effective_date"]
    assert (effective.value, effective.page) == ("2026-03-09", 1)
    assert effective.source == "Effective Date: March 9, 2026"
    loan = reading.proposals["loan_days"]
    assert (loan.value, loan.page, loan.origin) == ("21", 2, "text")
    assert reading.proposals["buyer_agent"].value == "Jane Doe"
    assert reading.proposals["earnest_money_due"].value == "2026-03-12"  # not "earnest money"
    assert reading.proposals["state"].value == "CA"


def test_a_scanned_agreement_is_told_it_has_no_text_layer() -> None:
    reading = ar.read_agreement(agreements.scanned_agreement())
    assert reading.proposals == {}
    assert not reading.has_text
    assert reading.notes[0] == "no text layer: enter the details by hand"


def test_an_addendum_amends_the_agreement_and_says_where_the_value_came_from() -> None:
    extension = agreements.addendum("Closing Date: 05/01/2026", "Lender: Other Bank")
    reading = ar.read_agreement(agreements.flat_agreement(), [extension])
    closing = reading.proposals["closing_date"]
    assert (closing.value, closing.document, closing.page) == ("2026-05-01", "addendum 1", 1)
    assert reading.proposals["price"].document == "agreement"


def test_more_than_four_addenda_are_refused() -> None:
    extra = agreements.addendum("Lender: X")
    with pytest.raises(ar.AgreementUnreadable, match="at most 4 addenda"):
        ar.read_agreement(agreements.flat_agreement(), [extra] * 5)


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (pdfs.encrypted_pdf(), "password-protected"),
        (pdfs.truncated_pdf(), "not a readable PDF"),
        (b"not a pdf at all", "not a readable PDF"),
    ],
)
def test_an_unreadable_file_gets_a_clear_error(data: bytes, message: str) -> None:
    with pytest.raises(ar.AgreementUnreadable, match=message):
        ar.read_agreement(data)


def test_an_unusable_form_value_is_noted_not_proposed() -> None:
    reading = ar.read_agreement(
        agreements.fillable_agreement({"PurchasePrice": "TBD", "ClosingDate": "soon"})
    )
    assert "price" not in reading.proposals
    assert "closing_date" not in reading.proposals
    assert any("PurchasePrice" in note for note in reading.notes)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("03/02/2026", date(2026, 3, 2)),
        ("2026-04-10", date(2026, 4, 10)),
        ("March 9, 2026", date(2026, 3, 9)),
        ("02/30/2026", None),
        ("next week", None),
    ],
)
def test_dates_are_read_in_the_usual_forms(text: str, expected: date | None) -> None:
    assert ar.parse_date(text) == expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [("$450,000.00", Decimal("450000.00")), ("5000", Decimal(5000)), ("$0", None), ("x", None)],
)
def test_money_is_read_without_symbols(text: str, expected: Decimal | None) -> None:
    assert ar.parse_money(text) == expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [("7 days", 7), ("10 (calendar) days", 10), ("17", 17), ("0 days", None), ("900 days", None)],
)
def test_periods_are_read_in_days(text: str, expected: int | None) -> None:
    assert ar.parse_days(text) == expected


def test_the_preset_is_chosen_from_the_property_state() -> None:
    assert ar.preset_for_state("tx").key == "tx_trec"
    assert ar.preset_for_state("CA").key == "ca_rpa"
    assert ar.preset_for_state("MA") is GENERIC_FINANCED
    assert ar.preset_for_state(None) is GENERIC_FINANCED


def test_extracted_periods_fill_the_preset_offsets() -> None:
    reading = ar.read_agreement(agreements.flat_agreement())
    values = {key: p.value for key, p in reading.proposals.items()}
    preset = ar.preset_for_state(values["state"])
    offsets = ar.offsets_from_periods(preset, values)
    assert offsets == {"inspection": 17, "appraisal": 14, "loan_approval": 21}
    filled = ar.fill_preset(preset, offsets)
    by_key = {rule.key: rule.offset_days for rule in filled.rules}
    assert by_key["inspection"] == 17
    assert by_key["appraisal"] == 14
    # rules the contract says nothing about keep the preset's number
    original = {rule.key: rule.offset_days for rule in PRESETS["ca_rpa"].rules}
    assert by_key["earnest_money"] == original["earnest_money"]


def test_the_texas_option_period_fills_the_option_rule() -> None:
    preset = ar.preset_for_state("TX")
    assert ar.offsets_from_periods(preset, {"option_days": "7"}) == {"option_period": 7}
