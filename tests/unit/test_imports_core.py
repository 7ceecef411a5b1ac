"""Import core: sniffing real-looking exports, mapping suggestions, transforms and dedupe keys."""

from __future__ import annotations

import io
from datetime import date
from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from chronos.models.base import Stage
from chronos.services.imports.dedupe import (
    match_reason,
    normalise_phone,
    person_key,
    transaction_key,
)
from chronos.services.imports.mapping import (
    Manifest,
    ValueRejected,
    ambiguous_date_columns,
    parse_date,
    parse_price,
    parse_side,
    parse_stage,
    parse_yes_no,
    suggest_mapping,
)
from chronos.services.imports.sniff import (
    ImportFileRejected,
    iter_rows,
    neutralise_formula,
    profile_csv,
)

# Header rows shaped like each vendor's export (from their public help pages).
DOTLOOP = (
    "Loop Name,Loop Status,Property Address,City,State,Zip,MLS Number,Purchase Price,"
    "Contract Agreement Date,Closing Date,Buyer Name,Buyer Email,Agent Email,Transaction Type"
)
FOLLOW_UP_BOSS = "First Name,Last Name,Email 1,Phone 1,Stage,Address,City,State,Zip,Background"
SKYSLOPE = (
    "Property Street;Property City;Property State;Property Zip;MLS #;Status;Sale Price;"
    "Acceptance Date;Escrow Closing Date;Representation;Listing Agent Email"
)
# Not written for: a hand-made spreadsheet with its own words.
HELD_OUT = "Client Type,Street Address,Town,Postcode,Settlement Date,Deal Stage,Sales Price"


def _file(text: str, encoding: str = "utf-8") -> io.BytesIO:
    return io.BytesIO(text.encode(encoding))


def test_a_follow_up_boss_people_export_maps_names_email_and_phone() -> None:
    suggested = suggest_mapping(FOLLOW_UP_BOSS.split(","), "people")
    assert suggested["First Name"] == "first_name"
    assert suggested["Last Name"] == "last_name"
    assert suggested["Email 1"] == "email"
    assert suggested["Phone 1"] == "phone"
    assert suggested["Address"] == "street"
    assert suggested["Background"] == "notes"
    assert "Stage" not in suggested


def test_a_dotloop_export_maps_each_transaction_field_once() -> None:
    suggested = suggest_mapping(DOTLOOP.split(","), "transactions")
    assert suggested["Property Address"] == "street"
    assert suggested["MLS Number"] == "mls_number"
    assert suggested["Loop Status"] == "stage"
    assert suggested["Purchase Price"] == "price"
    assert suggested["Closing Date"] == "closing_date"
    assert suggested["Agent Email"] == "agent_email"
    assert suggested["Buyer Email"] == "client_email"
    assert suggested["Buyer Name"] == "client_name"
    assert len(set(suggested.values())) == len(suggested)


def test_a_skyslope_semicolon_export_is_sniffed_and_mapped() -> None:
    body = (
        SKYSLOPE
        + "\n12 Elm St;Salem;MA;01970;73100001;Pending;$650,000;03/14/2026;04/30/2026;Buyer;a@x.example\n"
    )
    profile = profile_csv(_file(body))
    assert profile.delimiter == ";"
    suggested = suggest_mapping(profile.headers, "transactions")
    assert suggested["MLS #"] == "mls_number"
    assert suggested["Escrow Closing Date"] == "closing_date"
    assert suggested["Acceptance Date"] == "effective_date"
    assert suggested["Representation"] == "side"


def test_the_held_out_format_still_gets_useful_suggestions() -> None:
    suggested = suggest_mapping(HELD_OUT.split(","), "transactions")
    assert suggested["Street Address"] == "street"
    assert suggested["Town"] == "city"
    # "Postcode" is no transaction alias: it is left for the user to map, not guessed.
    assert "Postcode" not in suggested
    assert suggested["Settlement Date"] == "closing_date"
    assert suggested["Deal Stage"] == "stage"
    assert suggested["Sales Price"] == "price"
    assert suggested["Client Type"] == "side"


@pytest.mark.parametrize(
    ("encoding", "expected"),
    [("utf-8", "utf-8"), ("utf-8-sig", "utf-8-sig"), ("utf-16", "utf-16"), ("cp1252", "cp1252")],
)
def test_the_encoding_is_detected_and_accented_names_survive(encoding: str, expected: str) -> None:
    body = (
        "First Name,Last Name,Email\n"
        + "Émile,Zoë Müller,emile@x.example\nRené,Façade,r@x.example\n" * 3
    )
    stream = _file(body, encoding)
    profile = profile_csv(stream)
    assert profile.encoding == expected
    assert profile.headers == ("First Name", "Last Name", "Email")
    rows = list(iter_rows(stream, profile))
    assert rows[0] == (
        2,
        {"First Name": "Émile", "Last Name": "Zoë Müller", "Email": "emile@x.example"},
    )
    assert len(rows) == 6


def test_tab_delimited_utf16_from_excel_is_read() -> None:
    body = "Name\tEmail\r\nAnn Lee\tann@x.example\r\n"
    stream = _file(body, "utf-16")
    profile = profile_csv(stream)
    assert (profile.encoding, profile.delimiter) == ("utf-16", "\t")
    assert list(iter_rows(stream, profile)) == [(2, {"Name": "Ann Lee", "Email": "ann@x.example"})]


def test_the_user_can_override_what_was_detected() -> None:
    stream = _file("a;b\n1;2\n")
    profile = profile_csv(stream, delimiter=",")
    assert profile.headers == ("a;b",)
    with pytest.raises(ImportFileRejected, match="delimiter must be"):
        profile_csv(stream, delimiter=":")
    with pytest.raises(ImportFileRejected, match="not a known text encoding"):
        profile_csv(stream, encoding="klingon")


def test_the_wrong_encoding_chosen_is_a_specific_message() -> None:
    stream = _file("Name\n" + "Zoë\n" * 10, "cp1252")
    with pytest.raises(ImportFileRejected, match="not valid utf-8"):
        profile_csv(stream, encoding="utf-8")


@pytest.mark.parametrize("body", [b"", b"   \n\n", "\ufeff".encode()])
def test_an_empty_file_is_refused(body: bytes) -> None:
    with pytest.raises(ImportFileRejected, match="empty"):
        profile_csv(io.BytesIO(body))


def test_duplicate_headers_are_named() -> None:
    with pytest.raises(ImportFileRejected, match=r'"email" appears twice \(columns 2 and 3\)'):
        profile_csv(_file("Name,Email,email\n"))


def test_a_missing_header_name_is_named() -> None:
    with pytest.raises(ImportFileRejected, match="Column 2 has no name"):
        profile_csv(_file("Name,,Email\n"))


def test_a_ragged_row_is_refused_with_its_line() -> None:
    stream = _file("Name,Email\nAnn,a@x.example\nBob,b@x.example,extra\n")
    profile = profile_csv(stream)
    with pytest.raises(ImportFileRejected, match="Row 3 has 3 cells but the header has 2"):
        list(iter_rows(stream, profile))


def test_rows_are_streamed_not_read_whole() -> None:
    class CountingStream(io.BytesIO):
        def __init__(self, data: bytes) -> None:
            super().__init__(data)
            self.biggest = 0

        def read(self, size: int | None = -1) -> bytes:
            self.biggest = max(self.biggest, size if size is not None and size >= 0 else 1 << 40)
            return super().read(size)

        def read1(self, size: int = -1) -> bytes:
            self.biggest = max(self.biggest, size if size >= 0 else 1 << 40)
            return super().read1(size)

    body = "Name,Email\n" + "".join(f"P{i},p{i}@x.example\n" for i in range(50_000))
    stream = CountingStream(body.encode())
    profile = profile_csv(stream)
    iterator = iter_rows(stream, profile)
    assert next(iterator)[1]["Name"] == "P0"
    assert stream.tell() < len(body) // 4
    assert sum(1 for _ in iterator) == 49_999
    assert stream.biggest <= 64 * 1024


@pytest.mark.parametrize(
    ("cell", "stored"),
    [
        ('=HYPERLINK("http://evil.example","x")', 'HYPERLINK("http://evil.example","x")'),
        ("+cmd|' /C calc'!A0", "cmd|' /C calc'!A0"),
        ("@SUM(A1)", "SUM(A1)"),
        ("-2+3", "2+3"),
        ("+1 617-555-0100", "+1 617-555-0100"),
        ("-12.50", "-12.50"),
        ("Ann", "Ann"),
    ],
)
def test_formula_cells_are_stored_as_plain_text(cell: str, stored: str) -> None:
    assert neutralise_formula(cell) == stored


def test_slashed_dates_that_could_be_either_order_ask_which() -> None:
    assert ambiguous_date_columns(["03/04/2026", "05/06/2026"])
    assert not ambiguous_date_columns(["03/04/2026", "25/06/2026"])
    with pytest.raises(ValueRejected, match="month/day or day/month"):
        parse_date("03/04/2026", None)
    assert parse_date("03/04/2026", "%m/%d/%Y") == date(2026, 3, 4)
    assert parse_date("03/04/2026", "%d/%m/%Y") == date(2026, 4, 3)
    assert parse_date("25/06/2026", None) == date(2026, 6, 25)
    assert parse_date("2026-06-25T00:00:00", None) == date(2026, 6, 25)
    assert parse_date("", None) is None
    with pytest.raises(ValueRejected, match="not a date"):
        parse_date("soon", "%m/%d/%Y")


def test_prices_stages_sides_and_yes_no_are_read() -> None:
    assert parse_price("$650,000") == Decimal("650000.00")
    assert parse_price("") is None
    with pytest.raises(ValueRejected, match="not a price"):
        parse_price("call me")
    with pytest.raises(ValueRejected, match="plausible"):
        parse_price("-5")
    assert parse_stage("Pending", {}) == Stage.UNDER_CONTRACT
    assert parse_stage("Sold", {}) == Stage.CLOSED
    assert parse_stage("Hot!", {"Hot!": "active_listing"}) == Stage.ACTIVE_LISTING
    with pytest.raises(ValueRejected, match='Stage "Hot!" is not known'):
        parse_stage("Hot!", {})
    assert parse_side("Listing", {}, None) == "seller"
    assert parse_side("", {}, "buyer") == "buyer"
    with pytest.raises(ValueRejected, match="not buyer, seller or dual"):
        parse_side("Referral", {}, None)
    assert parse_yes_no("Y") is True
    assert parse_yes_no("n") is False
    with pytest.raises(ValueRejected):
        parse_yes_no("maybe")


def test_a_manifest_round_trips_through_json_and_is_checked() -> None:
    stream = _file(DOTLOOP + "\n")
    profile = profile_csv(stream)
    manifest = Manifest(
        kind="transactions",
        source=profile,
        columns=suggest_mapping(profile.headers, "transactions"),
        date_format="%m/%d/%Y",
        stage_names={"Archived": "closed"},
    )
    manifest.validate(profile.headers)
    again = Manifest.from_json(manifest.to_json())
    assert again == manifest
    with pytest.raises(ImportFileRejected, match="not valid JSON"):
        Manifest.from_json("{")
    with pytest.raises(ImportFileRejected, match='both mapped to "street"'):
        Manifest(
            kind="transactions", source=profile, columns={"City": "street", "Zip": "street"}
        ).validate()
    with pytest.raises(ImportFileRejected, match="not a people field"):
        Manifest(kind="people", source=profile, columns={"City": "price"}).validate()
    with pytest.raises(ImportFileRejected, match="Map a column to street"):
        Manifest(kind="transactions", source=profile, columns={"City": "city"}).validate()
    with pytest.raises(ImportFileRejected, match='no column "Nope"'):
        Manifest(kind="people", source=profile, columns={"Nope": "email"}).validate(profile.headers)


def test_people_match_by_email_then_phone_then_name_and_address() -> None:
    existing = person_key(
        email="Ann@X.example", phone="(617) 555-0100", name="Ann Lee", address="12 Elm St, Salem"
    )
    by_email = person_key(email="ann@x.example ", phone="", name="Someone", address="")
    by_phone = person_key(email="", phone="+1 617 555 0100", name="A. Lee", address="")
    by_name = person_key(email="", phone="", name="Lee Ann", address="12 Elm St Salem")
    stranger = person_key(email="", phone="", name="Bob Stone", address="9 Oak Ave")
    assert match_reason(by_email, existing) == ("email", 100.0)
    assert match_reason(by_phone, existing) == ("phone", 100.0)
    reason = match_reason(by_name, existing)
    assert reason is not None and reason[0] == "name and address"
    assert match_reason(stranger, existing) is None
    assert normalise_phone("not a phone") is None


def test_transactions_match_by_mls_then_address_and_side() -> None:
    assert transaction_key(" 7310 0001 ", "12 Elm St", "", "01970", "buyer") == ("mls", "73100001")
    assert transaction_key("", "12 Elm St.", "", "01970-1234", "buyer") == transaction_key(
        "", "12 ELM ST", "", "01970", "buyer"
    )
    assert transaction_key("", "12 Elm St", "", "01970", "buyer") != transaction_key(
        "", "12 Elm St", "", "01970", "seller"
    )


@given(st.text(max_size=40))
def test_a_neutralised_cell_never_starts_a_formula_unless_it_is_a_number(cell: str) -> None:
    safe = neutralise_formula(cell)
    if safe and safe[0] in "=@":
        pytest.fail(f"{cell!r} kept its formula prefix")
    if safe and safe[0] in "+-":
        assert any(ch.isdigit() for ch in safe)


def test_an_xlsx_sheet_is_read_as_rows_with_dates_as_iso() -> None:
    from openpyxl import Workbook

    from chronos.services.imports.xlsx import iter_xlsx_rows, profile_xlsx

    workbook = Workbook()
    sheet = workbook.active
    assert sheet is not None
    sheet.append(["Property Address", "MLS #", "Closing Date", "Sale Price"])
    sheet.append(["12 Elm St", 73100001, date(2026, 4, 30), 650000])
    sheet.append([None, None, None, None])
    sheet.append(["9 Oak Ave", None, None, 1.5])
    buffer = io.BytesIO()
    workbook.save(buffer)
    buffer.seek(0)
    profile = profile_xlsx(buffer)
    assert profile.headers == ("Property Address", "MLS #", "Closing Date", "Sale Price")
    rows = list(iter_xlsx_rows(buffer, profile))
    assert rows[0] == (
        2,
        {
            "Property Address": "12 Elm St",
            "MLS #": "73100001",
            "Closing Date": "2026-04-30",
            "Sale Price": "650000",
        },
    )
    assert rows[1][0] == 4
    assert rows[1][1]["Sale Price"] == "1.5"


def test_a_file_named_xlsx_that_is_not_one_is_refused() -> None:
    from chronos.services.imports.xlsx import profile_xlsx

    with pytest.raises(ImportFileRejected, match=r"not a readable \.xlsx"):
        profile_xlsx(io.BytesIO(b"Name,Email\n"))


def test_the_people_preview_creates_updates_and_skips_with_reasons() -> None:
    from chronos.services.imports.plan import plan_people

    text = (
        FOLLOW_UP_BOSS
        + "\nAnn,Lee,ANN@x.example,,,,,,,\n"
        + "Bob,Stone,,617-555-0199,,,,,,\n"
        + "Cy,Ng,not-an-email,,,,,,,\n"
        + ",,,,,,,,,\n"
        + "Ann,Lee,ann@x.example,,,,,,,\n"
        + "Dee,Roe,dee@x.example,,,=HYPERLINK(1),,,,\n"
        + "Lee,Ann,,,,12 Elm St,Salem,,,\n"
    )
    stream = _file(text)
    profile = profile_csv(stream)
    manifest = Manifest(
        kind="people", source=profile, columns=suggest_mapping(profile.headers, "people")
    )
    existing = [
        (7, person_key(email="ann@x.example", phone="", name="Ann Lee", address="12 Elm St Salem")),
        (8, person_key(email="", phone="(617) 555-0199", name="Robert Stone", address="")),
    ]
    plans = list(plan_people(iter_rows(stream, profile), manifest, existing))
    summary = [(p.line, p.action, p.match_id, p.match_on or p.reason) for p in plans]
    assert summary == [
        (2, "update", 7, "email"),
        (3, "update", 8, "phone"),
        (4, "skip", None, '"not-an-email" is not an email address.'),
        (6, "skip", None, "The same person as row 2 of this file."),
        (7, "create", None, ""),
        (8, "update", 7, "name and address (100%)"),
    ]
    assert plans[4].formulas_removed and plans[4].values["street"] == "HYPERLINK(1)"


def test_the_transaction_preview_dedupes_by_mls_then_address_and_side() -> None:
    from chronos.services.imports.plan import plan_transactions

    text = (
        HELD_OUT
        + '\nBuyer,12 Elm St,Salem,01970,04/30/2026,Pending,"$650,000"\n'
        + "Listing,12 Elm St,Salem,01970,04/30/2026,Pending,650000\n"
        + "Buyer,12 Elm St,Salem,01970,,,\n"
        + "Referral,3 Oak Ave,Salem,01970,,,\n"
        + "Buyer,5 Pine Rd,Salem,01970,03/04/2026,,\n"
        + "Buyer,,Salem,01970,,,\n"
    )
    stream = _file(text)
    profile = profile_csv(stream)
    columns = suggest_mapping(profile.headers, "transactions") | {"Postcode": "zip"}
    manifest = Manifest(kind="transactions", source=profile, columns=columns)
    existing = {transaction_key("", "12 Elm St", "", "01970", "seller"): 41}
    plans = list(plan_transactions(iter_rows(stream, profile), manifest, existing))
    summary = [(p.line, p.action, p.match_id, p.match_on or p.reason) for p in plans]
    assert summary == [
        (2, "create", None, ""),
        (3, "update", 41, "address and side"),
        (4, "skip", None, "The same transaction as row 2 of this file."),
        (5, "skip", None, 'Side "Referral" is not buyer, seller or dual: map it in the mapping.'),
        (
            6,
            "skip",
            None,
            '"03/04/2026" could be month/day or day/month: choose the date order in the mapping.',
        ),
        (7, "skip", None, "The row has no property address."),
    ]
    assert plans[0].values["price"] == Decimal("650000.00")
    assert plans[0].values["stage"] == "under_contract"


def test_the_fuzzy_pass_compares_only_within_the_rows_zip_and_name_initial_block() -> None:
    from chronos.services.imports.plan import fuzzy_block, plan_people

    assert fuzzy_block("Jon Smith", "12 Elm St 02139") == fuzzy_block(
        "John Smith", "12 Elm St. 02139"
    )
    assert fuzzy_block("Jon Smith", "12 Elm St 02139") != fuzzy_block(
        "Jon Smith", "12 Elm St 02140"
    )
    text = (
        "First Name,Last Name,Address,Zip\nJon,Smith,12 Elm St,02139\nJon,Smith,12 Elm St,02140\n"
    )
    stream = _file(text)
    profile = profile_csv(stream)
    manifest = Manifest(
        kind="people", source=profile, columns=suggest_mapping(profile.headers, "people")
    )
    existing = [(5, person_key(email="", phone="", name="John Smith", address="12 Elm St. 02139"))]
    plans = list(plan_people(iter_rows(stream, profile), manifest, existing))
    assert [(p.action, p.match_id) for p in plans] == [("update", 5), ("create", None)]


def test_an_earlier_imports_exact_row_key_finds_a_person_without_email_or_phone() -> None:
    from chronos.services.imports.plan import person_row_key, plan_people

    stream = _file("First Name,Last Name\nPia,Park\n")
    profile = profile_csv(stream)
    manifest = Manifest(
        kind="people", source=profile, columns=suggest_mapping(profile.headers, "people")
    )
    known = {person_row_key("Pia Park", ""): 9}
    plans = list(plan_people(iter_rows(stream, profile), manifest, [], known))
    assert [(p.action, p.match_id, p.match_on) for p in plans] == [
        ("update", 9, "an earlier import of this row")
    ]
