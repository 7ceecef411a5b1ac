"""Fillable forms: template upload (fields found, bad files refused), mapping suggestions and
validation, generation (values read back from the PDF, gaps reported, never invented) and
who may do what."""

from __future__ import annotations

import io

import pypdfium2 as pdfium
import pytest
from pypdf import PdfReader
from sqlmodel import Session, select

from chronos.models import Document, DocumentSlot, Event, FormTemplate
from chronos.services import documents, forms
from chronos.services.errors import Conflict, NotFound, PermissionDenied, ValidationFailed
from tests.factories import World, add_person, make_person
from tests.support.pdfs import encrypted_pdf, jpeg, make_form_pdf, make_pdf

FIELDS = [
    "Buyer Name",
    "Seller Name",
    "Property Address",
    "Purchase Price",
    "Closing Date",
    "Inspection Deadline",
    "Title Company",
    "Buyer Signature",
    "Notes",
]


def _form() -> bytes:
    return make_form_pdf(
        FIELDS, checkboxes=["Financed", "Cash Sale"], choices={"Side": ["Buyer", "Seller", "Dual"]}
    )


def _template(db: Session, world: World, data: bytes | None = None) -> FormTemplate:
    tpl = forms.create_form_template(
        db, world.admin, "Purchase agreement", "contract", "purchase.pdf", data or _form()
    )
    db.commit()
    return tpl


def test_create_reads_fields_and_suggests_a_mapping(db: Session, world: World) -> None:
    tpl = _template(db, world)
    kinds = {f["name"]: f["kind"] for f in tpl.fields}
    assert kinds["Buyer Name"] == "text" and kinds["Financed"] == "checkbox"
    assert kinds["Side"] == "choice"
    assert next(f for f in tpl.fields if f["name"] == "Side")["options"] == [
        "Buyer",
        "Seller",
        "Dual",
    ]
    assert tpl.mapping == {
        "Buyer Name": "buyer_names",
        "Seller Name": "seller_names",
        "Property Address": "address_full",
        "Purchase Price": "price",
        "Closing Date": "closing_date",
        "Inspection Deadline": "key_date:inspection",
        "Title Company": "title_company",
        "Financed": "financed",
        "Side": "side",
    }
    assert tpl.page_count == 1 and tpl.org_id == world.harbor.id


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("Buyer Name", "buyer_names"),
        ("buyer_1_name", "buyer_names"),
        ("BuyersAgent", "buyers_agent"),
        ("Listing Agent Name", "listing_agent"),
        ("Property Address", "address_full"),
        ("Property City", "address_city"),
        ("ZIP", "address_zip"),
        ("Purchase Price", "price"),
        ("Closing Date", "closing_date"),
        ("Effective Date", "effective_date"),
        ("Earnest Money Due Date", "key_date:earnest_money"),
        ("Buyer Signature", ""),
        ("Seller Initials", ""),
        ("Miscellaneous", ""),
    ],
)
def test_suggest_key(name: str, expected: str) -> None:
    assert forms.suggest_key(name) == expected


def test_a_pdf_without_fields_is_refused(db: Session, world: World) -> None:
    with pytest.raises(ValidationFailed) as err:
        forms.create_form_template(
            db, world.admin, "Flat", "contract", "flat.pdf", make_pdf(["No fields here"])
        )
    assert err.value.message.startswith("This PDF has no fillable fields: flat.pdf")
    assert db.exec(select(FormTemplate)).first() is None


@pytest.mark.parametrize(
    ("filename", "data", "words"),
    [
        ("locked.pdf", encrypted_pdf(), "password-protected"),
        ("photo.jpg", jpeg(), "is not a PDF"),
        ("empty.pdf", b"", "is empty"),
    ],
)
def test_bad_files_are_refused(
    db: Session, world: World, filename: str, data: bytes, words: str
) -> None:
    with pytest.raises(ValidationFailed) as err:
        forms.create_form_template(db, world.admin, "Form", "contract", filename, data)
    assert words in err.value.message
    assert db.exec(select(FormTemplate)).first() is None


def test_the_same_pdf_twice_and_bad_names_are_refused(db: Session, world: World) -> None:
    data = _form()
    _template(db, world, data)
    with pytest.raises(ValidationFailed) as err:
        forms.create_form_template(db, world.admin, "Again", "contract", "again.pdf", data)
    assert "already the form “Purchase agreement”" in err.value.message
    with pytest.raises(ValidationFailed) as err:
        forms.create_form_template(db, world.admin, " ", "nonsense", "x.pdf", _form())
    assert set(err.value.errors) == {"name", "category"}


@pytest.mark.parametrize("persona", ["agent", "coordinator", "client", "lender", "attorney"])
def test_only_admins_create_and_map_templates(db: Session, world: World, persona: str) -> None:
    tpl = _template(db, world)
    user = world.user(persona)
    with pytest.raises(PermissionDenied):
        forms.create_form_template(db, user, "Mine", "contract", "m.pdf", make_form_pdf(["A"]))
    with pytest.raises(PermissionDenied):
        forms.update_mapping(db, user, tpl.id or 0, {"Notes": "price"})
    with pytest.raises(PermissionDenied):
        forms.set_active(db, user, tpl.id or 0, False)
    with pytest.raises(PermissionDenied):
        forms.get_template(db, user, tpl.id or 0)


def test_update_mapping_validates_fields_and_keys(db: Session, world: World) -> None:
    tpl = _template(db, world)
    with pytest.raises(ValidationFailed) as err:
        forms.update_mapping(
            db, world.admin, tpl.id or 0, {"Nope": "price", "Notes": "favourite_colour"}
        )
    assert err.value.errors == {
        "mapping.Nope": "The form has no field “Nope”.",
        "mapping.Notes": "“favourite_colour” is not data Chronos can fill in.",
    }
    db.rollback()
    forms.update_mapping(
        db,
        world.admin,
        tpl.id or 0,
        {"Notes": "key_date:hoa_documents", "Buyer Name": "", "Seller Name": "seller_names"},
    )
    db.commit()
    detail = forms.get_template(db, world.admin, tpl.id or 0)
    keys = {f.name: f.data_key for f in detail.fields}
    assert keys["Notes"] == "key_date:hoa_documents"
    assert keys["Buyer Name"] == "" and keys["Purchase Price"] == ""  # replaced wholesale


def test_other_brokerages_templates_are_not_found(db: Session, world: World) -> None:
    tpl = _template(db, world)
    with pytest.raises(NotFound):
        forms.get_template(db, world.outsider_admin, tpl.id or 0)
    with pytest.raises(NotFound):
        forms.update_mapping(db, world.outsider_admin, tpl.id or 0, {})
    with pytest.raises(NotFound):
        forms.generate(db, world.outsider_agent, world.outside_deal.id or 0, tpl.id or 0)
    assert forms.list_templates(db, world.outsider_admin) == []


def _values(data: bytes) -> dict[str, str]:
    fields = PdfReader(io.BytesIO(data)).get_fields() or {}
    return {name: str(f.get("/V") or "") for name, f in fields.items()}


def _stored(db: Session, document_id: int) -> bytes:
    doc = db.get(Document, document_id)
    assert doc is not None
    return documents.read_bytes(documents.current_version(db, doc))


def test_generate_fills_values_that_read_back(db: Session, world: World) -> None:
    tpl = _template(db, world)
    title = make_person(db, world.agent, first_name="Tia", last_name="Title", company="Safe Title")
    add_person(db, world.agent, world.deal, title, "title")
    db.commit()
    result = forms.generate(db, world.coordinator, world.deal.id or 0, tpl.id or 0)
    db.commit()
    values = _values(_stored(db, result.document_id))
    assert values["Buyer Name"] == "Cora Client"
    assert values["Seller Name"] == "Sally Seller"
    assert values["Property Address"] == world.deal.address
    assert values["Purchase Price"] == "$450,000.00"
    assert values["Closing Date"] == "02/20/2024"
    assert values["Title Company"] == "Safe Title"
    assert values["Financed"] == "/Yes"  # a lender is on the deal
    assert values["Side"] == "Buyer"
    # unmapped fields stay empty and are reported, never filled with placeholders
    assert (
        values["Notes"] == ""
        and values["Buyer Signature"] == ""
        and values["Cash Sale"]
        in (
            "",
            "/Off",
        )
    )
    reported = {e.name: e.reason for e in result.empty}
    assert reported["Notes"] == "not mapped to file data"
    assert reported["Inspection Deadline"] == "no “Inspection period ends” date on this file"
    assert "Buyer Name" not in reported
    assert result.summary.startswith(f"{len(result.empty)} fields left empty: ")
    doc = db.get(Document, result.document_id)
    assert doc is not None and doc.source == "form" and doc.category == "contract"
    assert doc.title == "Purchase agreement \u2013 12 Harbor View Rd"
    assert (doc.share_client, doc.share_attorney, doc.share_lender) == (False, False, False)
    event = db.exec(select(Event).where(Event.kind == "form_generated")).one()
    assert "Filled “Purchase agreement”" in event.summary and "left empty" in event.summary
    # the result opens: PDFium renders its first page
    pdf = pdfium.PdfDocument(_stored(db, result.document_id))
    try:
        image = pdf[0].render(scale=0.5, may_draw_forms=True).to_pil()
        assert image.size[0] > 100
    finally:
        pdf.close()


def test_empty_data_is_reported_with_the_reason(db: Session, world: World) -> None:
    tpl = _template(db, world)
    # other_deal: no price, no dates, no buyer, no lender
    result = forms.generate(db, world.agent2, world.other_deal.id or 0, tpl.id or 0)
    db.commit()
    reported = {e.name: e.reason for e in result.empty}
    assert reported["Purchase Price"] == "no price on this file"
    assert reported["Closing Date"] == "no closing date on this file"
    assert reported["Buyer Name"] == "no buyer on this file"
    assert reported["Title Company"] == "no title or escrow company on this file"
    values = _values(_stored(db, result.document_id))
    assert values["Purchase Price"] == "" and values["Closing Date"] == ""
    assert values["Seller Name"] == "Dan Client"
    assert values["Financed"] in ("", "/Off")  # no lender: a "no", not a gap
    assert "Financed" not in reported
    assert "Closing Date (no closing date on this file)" in result.summary


def test_generate_twice_is_a_clear_conflict_and_slot_is_checked(db: Session, world: World) -> None:
    tpl = _template(db, world)
    forms.generate(db, world.agent, world.deal.id or 0, tpl.id or 0)
    db.commit()
    with pytest.raises(Conflict) as err:
        forms.generate(db, world.agent, world.deal.id or 0, tpl.id or 0)
    assert "already on this transaction" in err.value.message
    db.rollback()
    slot = DocumentSlot(
        org_id=world.harbor.id or 0,
        transaction_id=world.other_deal.id or 0,
        key="pa",
        name="Purchase agreement",
    )
    db.add(slot)
    db.commit()
    with pytest.raises(ValidationFailed):
        forms.generate(
            db, world.agent, world.deal.id or 0, tpl.id or 0, title="Other", slot_id=slot.id
        )


@pytest.mark.parametrize("persona", ["client", "attorney", "lender", "agent2", "outsider_agent"])
def test_outside_parties_and_other_agents_cannot_generate(
    db: Session, world: World, persona: str
) -> None:
    tpl = _template(db, world)
    with pytest.raises((NotFound, PermissionDenied)):
        forms.generate(db, world.user(persona), world.deal.id or 0, tpl.id or 0)
    with pytest.raises((NotFound, PermissionDenied)):
        forms.transaction_data(db, world.user(persona), world.deal.id or 0)
    db.rollback()
    assert db.exec(select(Document).where(Document.source == "form")).first() is None


def test_inactive_templates_are_hidden_from_staff(db: Session, world: World) -> None:
    tpl = _template(db, world)
    assert [r.name for r in forms.list_templates(db, world.agent)] == ["Purchase agreement"]
    forms.set_active(db, world.admin, tpl.id or 0, False)
    db.commit()
    assert forms.list_templates(db, world.agent) == []
    assert [r.is_active for r in forms.list_templates(db, world.admin)] == [False]
    with pytest.raises(NotFound):
        forms.generate(db, world.agent, world.deal.id or 0, tpl.id or 0)


def test_transaction_data_covers_every_key(db: Session, world: World) -> None:
    data = forms.transaction_data(db, world.agent, world.deal.id or 0)
    assert set(forms.DATA_KEYS) <= set(data)
    assert data["price_digits"] == "450000" and data["address_zip"] == "04101"
    assert data["buyers_agent"] == "Alice Agent"  # buyer side: the owner
    assert data["brokerage"] == "Harbor Realty" and data["side"] == "Buyer"
    assert data["effective_date"] == "01/10/2024"


def test_key_dates_of_the_file_fill_and_custom_keys_are_offered(db: Session, world: World) -> None:
    from chronos.services import deadline_templates, key_dates

    key_dates.apply_preset(db, world.agent, world.deal.id or 0, "generic_financed")
    tpl = _template(db, world)
    result = forms.generate(db, world.agent, world.deal.id or 0, tpl.id or 0)
    db.commit()
    values = _values(_stored(db, result.document_id))
    # effective Jan 10, 2024 + 10 calendar days = Jan 20 (a Saturday) → next business day
    assert values["Inspection Deadline"] == "01/22/2024"
    assert "Inspection Deadline" not in {e.name for e in result.empty}
    # a brokerage's own deadline template adds its key dates to what a field can be mapped to
    copy = deadline_templates.copy_preset(db, world.admin, "nj_attorney_review")
    db.commit()
    offered = forms.data_keys(db, world.admin)
    assert "key_date:attorney_review" in offered
    assert list(offered)[-2:] == ["today", "brokerage"]
    assert copy.org_id == world.harbor.id
    assert all(not k.startswith("key_date:") or k in offered for k in forms.DATA_KEYS)
    with pytest.raises(PermissionDenied):
        forms.data_keys(db, world.client)


def test_a_fully_filled_form_says_so(db: Session, world: World) -> None:
    tpl = forms.create_form_template(
        db, world.admin, "Buyer sheet", "other", "b.pdf", make_form_pdf(["Buyer Name", "ZIP"])
    )
    db.commit()
    result = forms.generate(db, world.agent, world.deal.id or 0, tpl.id or 0)
    assert result.empty == [] and result.summary == "All 2 fields filled."
    assert _values(_stored(db, result.document_id)) == {"Buyer Name": "Cora Client", "ZIP": "04101"}


def test_a_long_template_name_and_street_make_a_clipped_title(db: Session, world: World) -> None:
    """144 + 3 + 61 characters went past the title's 200 and crashed with a bare ValueError."""
    tpl = _template(db, world)
    tpl.name = "Purchase and Sale Agreement with Addenda " * 4
    tpl.name = tpl.name[:144]
    world.deal.street = ("1234 Long Harbor View Extension Road " * 2)[:61]
    db.add(tpl)
    db.add(world.deal)
    db.commit()
    result = forms.generate(db, world.coordinator, world.deal.id or 0, tpl.id or 0)
    doc = db.get(Document, result.document_id)
    assert doc is not None and len(doc.title) == 200 and doc.title.endswith("\u2026")
