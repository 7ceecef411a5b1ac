"""Packet splitting: suggested boundaries from page text, the split itself (one document per
range, filed and shared like the packet, nothing kept on any refusal) and who may do it."""

from __future__ import annotations

import io
from typing import Any

import pytest
from pypdf import PdfReader
from sqlmodel import Session, func, select

from chronos.models import Document, DocumentSlot, DocumentVersion, Event
from chronos.services import documents, packets
from chronos.services.errors import Conflict, NotFound, PermissionDenied, ValidationFailed
from chronos.services.packets import SlotHint, plan_boundaries
from chronos.storage import get_storage
from tests.factories import World
from tests.support.pdfs import make_pdf

SLOTS = [
    SlotHint("purchase_agreement", "Purchase agreement", "purchase and sale"),
    SlotHint("sellers_disclosure", "Seller's disclosure", "property disclosure statement"),
    SlotHint("lead_paint", "Lead-based paint disclosure", "lead-based paint"),
    SlotHint("inspection", "Inspection report", "home inspection"),
]

PACKET = [
    "RESIDENTIAL PURCHASE AND SALE AGREEMENT\nPage 1 of 3\n1. PARTIES. Cora Client (Buyer)",
    "4. FINANCING. Buyer will apply for a loan within 5 days.\nPage 2 of 3",
    "12. SIGNATURES\nBuyer ______ Seller ______\nPage 3 of 3",
    "SELLER'S PROPERTY DISCLOSURE STATEMENT\nProperty: 12 Harbor View Rd\nSection A. Roof",
    "Section B. Plumbing and electrical\nSection C. Water and sewer",
    "Disclosure of Information on Lead-Based Paint and Lead-Based Paint Hazards\nLead Warning",
    "WOOD DESTROYING INSECT ADDENDUM\nThe parties agree as follows",
    "Page 1 of 2\nHome Inspection Report\nSound Homes Inspections",
    "Page 2 of 2\nSummary of findings: the roof has ten years left.",
]


def test_plan_boundaries_on_a_realistic_packet() -> None:
    parts = plan_boundaries(PACKET, SLOTS)
    assert [(p.start, p.end, p.slot_key) for p in parts] == [
        (1, 3, "purchase_agreement"),
        (4, 5, "sellers_disclosure"),
        (6, 6, "lead_paint"),
        (7, 7, None),
        (8, 9, "inspection"),
    ]
    assert parts[0].title == "Purchase agreement"
    assert parts[1].reason == "Matched “property disclosure statement” on page 4"
    assert parts[2].reason == "Matched “Lead-based paint disclosure” on page 6"
    # no checklist item: a title line starts it, and its title comes from that line
    assert parts[3].title == "Wood Destroying Insect Addendum"
    assert parts[3].reason.startswith("Form title “WOOD DESTROYING INSECT ADDENDUM” on page 7")
    assert "no checklist item matched" in parts[3].reason
    assert parts[4].reason.startswith("Matched “Inspection report” on page 8")
    assert "“Page 1 of 2” starts again on page 8" in parts[4].reason


def test_page_numbering_keeps_and_restarts_parts_without_any_checklist() -> None:
    pages = ["Page 1 of 2\nterms", "Page 2 of 2\nmore", "Page 1 of 1\nreceipt"]
    parts = plan_boundaries(pages, [])
    assert [(p.start, p.end) for p in parts] == [(1, 2), (3, 3)]
    assert parts[1].title == "Page 3"
    assert parts[0].title == "Pages 1\u20132"
    # "Page 2 of 2" continues even when its first lines name another checklist item
    pages = ["Purchase agreement\nPage 1 of 2", "Inspection report mentioned\nPage 2 of 2"]
    assert [(p.start, p.end) for p in plan_boundaries(pages, SLOTS)] == [(1, 2)]


def test_plain_pages_stay_one_part_and_partial_names_do_not_match() -> None:
    pages = ["The parties agree", "more text about the disclosure", "closing remarks"]
    parts = plan_boundaries(pages, SLOTS)
    assert [(p.start, p.end, p.slot_key) for p in parts] == [(1, 3, None)]
    assert packets.score_slot(["disclosure"], SLOTS[1])[0] == 0  # "seller's" missing


def test_a_title_on_the_first_page_names_the_first_part() -> None:
    parts = plan_boundaries(["LISTING AGREEMENT\nThe owner grants", "terms"], SLOTS)
    assert [(p.start, p.end, p.title) for p in parts] == [(1, 2, "Listing Agreement")]
    assert parts[0].reason.startswith("Form title “LISTING AGREEMENT” on page 1")


# --- the service -----------------------------------------------------------------------------


def _slots(db: Session, world: World) -> dict[str, int]:
    out = {}
    for n, s in enumerate(SLOTS):
        row = DocumentSlot(
            org_id=world.deal.org_id,
            transaction_id=world.deal.id or 0,
            key=s.key,
            name=s.name,
            hint=s.hint,
            category="contract" if n == 0 else "disclosure",
            position=n,
        )
        db.add(row)
        db.flush()
        out[s.key] = row.id or 0
    return out


def _packet(db: Session, world: World, pages: list[str] | None = None) -> Document:
    doc = documents.upload(
        db,
        world.agent,
        world.deal.id or 0,
        "signed-packet.pdf",
        make_pdf(pages or PACKET),
        title="Signed packet",
        category="contract",
        share=documents.Share(client=True, attorney=True),
    )
    db.commit()
    return doc


def _count(db: Session, model: Any) -> int:
    return db.exec(select(func.count()).select_from(model)).one()


def test_suggest_split_reads_the_stored_pdf_and_names_slots(db: Session, world: World) -> None:
    slot_ids = _slots(db, world)
    doc = _packet(db, world)
    plan = packets.suggest_split(db, world.coordinator, doc.id or 0)
    assert plan.page_count == 9
    assert [(p.start, p.end, p.slot_id) for p in plan.parts] == [
        (1, 3, slot_ids["purchase_agreement"]),
        (4, 5, slot_ids["sellers_disclosure"]),
        (6, 6, slot_ids["lead_paint"]),
        (7, 7, 0),
        (8, 9, slot_ids["inspection"]),
    ]
    assert [s.name for s in plan.slots] == [s.name for s in SLOTS]
    assert (
        len(plan.page_urls) == 9
        and "/page/1?" in plan.page_urls[0]
        and "w=480" in plan.page_urls[0]
    )


def test_split_creates_one_document_per_range(db: Session, world: World) -> None:
    slot_ids = _slots(db, world)
    doc = _packet(db, world)
    before = _count(db, Document)
    created = packets.split(
        db,
        world.agent,
        doc.id or 0,
        [
            {"start": 1, "end": 3, "slot_id": slot_ids["purchase_agreement"], "title": ""},
            {"start": "4", "end": "5", "slot_id": str(slot_ids["sellers_disclosure"]), "title": ""},
            {"start": 7, "end": 7, "slot_id": None, "title": "WDI addendum"},
        ],
    )
    db.commit()
    assert _count(db, Document) == before + 3
    got = []
    for new in created:
        version = documents.current_version(db, new)
        reader = PdfReader(io.BytesIO(documents.read_bytes(version)))
        got.append((new.title, len(reader.pages), version.page_count, new.slot_id, new.source))
        # shared like the packet
        assert (new.share_client, new.share_attorney, new.share_lender) == (True, True, False)
    assert got == [
        ("Purchase agreement", 3, 3, slot_ids["purchase_agreement"], "split"),
        ("Seller's disclosure", 2, 2, slot_ids["sellers_disclosure"], "split"),
        ("WDI addendum", 1, 1, None, "split"),
    ]
    assert created[0].review_status == "pending" and created[2].review_status == "none"
    assert created[1].category == "disclosure" and created[2].category == "contract"
    text = documents.current_version(db, created[1]).text
    assert "SELLER'S PROPERTY DISCLOSURE" in text and "Section B" in text
    assert db.get(Document, doc.id) is not None  # the packet stays
    event = db.exec(select(Event).where(Event.kind == "packet_split")).one()
    assert "Split “Signed packet” into 3 documents" in event.summary
    assert "(pages 4\u20135) for “Seller's disclosure”" in event.summary


@pytest.mark.parametrize(
    ("parts", "key", "message"),
    [
        ([], "parts", "Add at least one part to split out."),
        (
            [{"start": "x", "end": 2}],
            "parts.0",
            "Part 1: enter a first and a last page as numbers.",
        ),
        ([{"start": 0, "end": 2}], "parts.0", "Part 1: pages are counted from 1."),
        (
            [{"start": 1, "end": 2}, {"start": 5, "end": 4}],
            "parts.1",
            "Part 2: the last page (4) is before the first (5).",
        ),
        (
            [{"start": 8, "end": 12}],
            "parts.0",
            "Part 1: the packet has 9 pages; page 12 does not exist.",
        ),
        (
            [{"start": 1, "end": 3}, {"start": 3, "end": 5}],
            "parts.1",
            "Part 2 (pages 3\u20135) overlaps part 1 (pages 1\u20133).",
        ),
        (
            [{"start": 1, "end": 1, "slot_id": 999999}],
            "parts.0",
            "Part 1: that checklist item is not on this transaction.",
        ),
    ],
)
def test_bad_ranges_each_get_a_specific_error_and_save_nothing(
    db: Session, world: World, parts: list[dict[str, Any]], key: str, message: str
) -> None:
    doc = _packet(db, world)
    docs, versions, events = _count(db, Document), _count(db, DocumentVersion), _count(db, Event)
    with pytest.raises(ValidationFailed) as err:
        packets.split(db, world.agent, doc.id or 0, parts)
    db.rollback()
    assert err.value.errors[key] == message
    assert (_count(db, Document), _count(db, DocumentVersion), _count(db, Event)) == (
        docs,
        versions,
        events,
    )


def test_a_failure_in_a_later_part_keeps_nothing_and_deletes_written_files(
    db: Session, world: World
) -> None:
    doc = _packet(db, world)
    packets.split(db, world.agent, doc.id or 0, [{"start": 1, "end": 3}])
    db.commit()
    docs = _count(db, Document)
    keys_before = set(db.exec(select(DocumentVersion.storage_key)).all())
    written: list[str] = []
    storage = get_storage()
    original_put = storage.put

    def spy(key: str, data: bytes, content_type: str) -> None:
        written.append(key)
        original_put(key, data, content_type)

    storage.put = spy  # type: ignore[method-assign]
    try:
        with pytest.raises(Conflict) as err:
            packets.split(
                db, world.agent, doc.id or 0, [{"start": 4, "end": 5}, {"start": 1, "end": 3}]
            )
        db.rollback()
    finally:
        storage.put = original_put  # type: ignore[method-assign]
    assert err.value.message.startswith("Part 2 (pages 1\u20133): This exact file is already")
    assert _count(db, Document) == docs
    assert set(db.exec(select(DocumentVersion.storage_key)).all()) == keys_before
    assert len(written) == 1
    with pytest.raises(Exception):  # noqa: B017 - the object is gone, whatever the backend says
        storage.get(written[0])


def test_photos_and_single_pages_cannot_be_split(db: Session, world: World) -> None:
    one = documents.upload(db, world.agent, world.deal.id or 0, "one.pdf", make_pdf(["Only"]))
    with pytest.raises(ValidationFailed) as err:
        packets.suggest_split(db, world.agent, one.id or 0)
    assert "has one page" in err.value.message
    with pytest.raises(ValidationFailed):
        packets.split(db, world.agent, one.id or 0, [{"start": 1, "end": 1}])


@pytest.mark.parametrize(
    "persona", ["client", "attorney", "lender", "agent2", "outsider_agent", "outsider_admin"]
)
def test_other_personas_cannot_plan_or_split(db: Session, world: World, persona: str) -> None:
    doc = _packet(db, world)  # shared with the client and the attorney: they can see it
    user = world.user(persona)
    with pytest.raises((NotFound, PermissionDenied)):
        packets.suggest_split(db, user, doc.id or 0)
    with pytest.raises((NotFound, PermissionDenied)):
        packets.split(db, user, doc.id or 0, [{"start": 1, "end": 3}])
    with pytest.raises((NotFound, PermissionDenied)):
        packets.splittable_documents(db, user, world.deal.id or 0)
    db.rollback()
    assert db.exec(select(Document).where(Document.source == "split")).first() is None
    assert db.exec(select(Event).where(Event.kind == "packet_split")).first() is None


def test_splittable_documents_lists_multi_page_pdfs(db: Session, world: World) -> None:
    doc = _packet(db, world)
    documents.upload(db, world.agent, world.deal.id or 0, "one.pdf", make_pdf(["Only"]))
    rows = packets.splittable_documents(db, world.coordinator, world.deal.id or 0)
    assert [r.id for r in rows] == [doc.id]


def test_a_parenthetical_in_a_slot_name_is_not_needed_to_match() -> None:
    slot = SlotHint("lead", "Lead-based paint disclosure (homes built before 1978)")
    parts = plan_boundaries(["Intro", "Lead-Based Paint Disclosure\nfor housing"], [slot])
    assert [(p.start, p.slot_key) for p in parts] == [(1, None), (2, "lead")]
