"""Compliance: required-document templates, slots on files, the closing guard and the broker's
review queue (with its persona matrix)."""

from __future__ import annotations

from typing import Any

import pytest
from sqlmodel import Session, select

from chronos.models import (
    ComplianceTemplate,
    Document,
    DocumentSlot,
    EmailMessage,
    Notification,
    NotificationPreference,
    Stage,
    Transaction,
    User,
)
from chronos.services import compliance, documents, transactions
from chronos.services.errors import Conflict, NotFound, PermissionDenied, ValidationFailed
from tests.factories import World, event_kinds
from tests.support.pdfs import make_pdf

OUTSIDE_PARTIES = ("client", "attorney", "lender")
NOT_REVIEWERS = ("agent", "coordinator", "agent2", *OUTSIDE_PARTIES, "outsider_agent")


def _buyer_template(db: Session, world: World) -> ComplianceTemplate:
    tpls = compliance.seed_default_templates(db, world.harbor.id or 0)
    return next(t for t in tpls if t.side == "buyer")


def _apply(db: Session, world: World) -> dict[str, DocumentSlot]:
    tpl = _buyer_template(db, world)
    compliance.apply_template(db, world.agent, world.deal.id or 0, tpl.id or 0)
    slots = db.exec(select(DocumentSlot).where(DocumentSlot.transaction_id == world.deal.id)).all()
    return {s.key: s for s in slots}


def _file(
    db: Session, actor: User, txn_id: int, slot: DocumentSlot, text: str, **kw: Any
) -> Document:
    return documents.upload(
        db, actor, txn_id, f"{slot.key}.pdf", make_pdf([text], **kw), slot_id=slot.id
    )


def _valid(**over: Any) -> dict[str, Any]:
    data: dict[str, Any] = {
        "name": "Condo purchase",
        "side": "buyer",
        "property_type": "condo",
        "items": [
            {"name": "Condo questionnaire", "category": "disclosure", "hint": "questionnaire"},
            {"name": "HOA documents", "category": "other", "required": False},
        ],
    }
    data.update(over)
    return data


# --- templates ------------------------------------------------------------------------------


def test_defaults_are_seeded_once_with_the_buyer_starter_list(db: Session, world: World) -> None:
    first = compliance.list_templates(db, world.admin)
    again = compliance.list_templates(db, world.admin)
    assert [t.id for t in first] == [t.id for t in again]
    assert {t.name for t in first} == {"Buyer purchase", "Listing and sale", "Dual agency"}
    detail = compliance.get_template(db, world.admin, _buyer_template(db, world).id or 0)
    names = [i.name for i in detail.items]
    assert names[0] == "Purchase agreement" and "Final walk-through" in names
    paint = next(i for i in detail.items if i.key == "lead_based_paint")
    assert paint.required is False and "lead-based paint" in paint.hint
    assert all(i.hint for i in detail.items)


def test_template_validation_names_each_bad_field(db: Session, world: World) -> None:
    bad = {
        "name": " ",
        "side": "sideways",
        "property_type": "castle",
        "items": [
            {"name": "", "category": "contract"},
            {"name": "Deed", "category": "nonsense"},
            {"name": "deed", "category": "title"},
        ],
    }
    with pytest.raises(ValidationFailed) as exc:
        compliance.create_template(db, world.admin, bad)
    assert set(exc.value.errors) == {
        "name",
        "side",
        "property_type",
        "items.0.name",
        "items.1.category",
        "items.2.name",
    }
    assert exc.value.errors["items.2.name"] == "This document is already on the list."
    with pytest.raises(ValidationFailed) as exc:
        compliance.create_template(db, world.admin, _valid(items=[]))
    assert exc.value.errors == {"items": "Add at least one document."}


def test_template_crud_keeps_item_keys_stable(db: Session, world: World) -> None:
    tpl = compliance.create_template(db, world.admin, _valid())
    detail = compliance.get_template(db, world.admin, tpl.id or 0)
    assert [i.key for i in detail.items] == ["condo_questionnaire", "hoa_documents"]
    items = [
        {"key": "condo_questionnaire", "name": "Condo questionnaire (renamed)"},
        {"name": "Budget"},
    ]
    compliance.update_template(db, world.admin, tpl.id or 0, _valid(items=items))
    detail = compliance.get_template(db, world.admin, tpl.id or 0)
    assert [i.key for i in detail.items] == ["condo_questionnaire", "budget"]
    compliance.delete_template(db, world.admin, tpl.id or 0)
    with pytest.raises(NotFound):
        compliance.get_template(db, world.admin, tpl.id or 0)


@pytest.mark.parametrize("who", ["agent", "coordinator", "client", "lender", "outsider_agent"])
def test_only_admins_edit_templates(db: Session, world: World, who: str) -> None:
    with pytest.raises(PermissionDenied):
        compliance.list_templates(db, world.user(who))
    with pytest.raises(PermissionDenied):
        compliance.create_template(db, world.user(who), _valid())


def test_another_brokerage_cannot_see_or_change_a_template(db: Session, world: World) -> None:
    tpl = _buyer_template(db, world)
    with pytest.raises(NotFound):
        compliance.get_template(db, world.outsider_admin, tpl.id or 0)
    with pytest.raises(NotFound):
        compliance.update_template(db, world.outsider_admin, tpl.id or 0, _valid())
    with pytest.raises(NotFound):
        compliance.apply_template(db, world.outsider_agent, world.outside_deal.id or 0, tpl.id or 0)


# --- slots on a file ------------------------------------------------------------------------


def test_apply_is_idempotent_and_adds_only_what_is_missing(db: Session, world: World) -> None:
    tpl = _buyer_template(db, world)
    assert compliance.apply_template(db, world.agent, world.deal.id or 0, tpl.id or 0) == 9
    assert compliance.apply_template(db, world.agent, world.deal.id or 0, tpl.id or 0) == 0
    items = [*tpl.items, {"name": "Home warranty", "category": "other", "required": False}]
    compliance.update_template(
        db, world.admin, tpl.id or 0, {"name": tpl.name, "side": "buyer", "items": items}
    )
    assert compliance.apply_template(db, world.agent, world.deal.id or 0, tpl.id or 0) == 1
    rows = compliance.checklist(db, world.agent, world.deal.id or 0)
    assert len(rows) == 10 and rows[-1].name == "Home warranty"
    assert event_kinds(db, world.deal.id).count("compliance_applied") == 2


def test_a_new_file_gets_the_best_matching_active_template(db: Session, world: World) -> None:
    compliance.seed_default_templates(db, world.harbor.id or 0)
    condo = compliance.create_template(db, world.admin, _valid())
    buyer_condo = transactions.create_transaction(
        db, world.agent, {"side": "buyer", "street": "5 Condo Ct", "property_type": "condo"}
    )
    buyer_house = transactions.create_transaction(
        db, world.agent, {"side": "buyer", "street": "6 House Ln"}
    )
    listing = transactions.create_transaction(
        db, world.agent, {"side": "seller", "street": "7 Sale St"}
    )
    names = {
        t.street: [r.name for r in compliance.checklist(db, world.agent, t.id or 0)]
        for t in (buyer_condo, buyer_house, listing)
    }
    assert names["5 Condo Ct"] == ["Condo questionnaire", "HOA documents"]
    assert names["6 House Ln"][0] == "Purchase agreement" and len(names["6 House Ln"]) == 9
    assert names["7 Sale St"][0] == "Listing agreement"
    # Switched off: no longer chosen.
    compliance.update_template(db, world.admin, condo.id or 0, _valid(is_active=False))
    again = transactions.create_transaction(
        db, world.agent, {"side": "buyer", "street": "8 Condo Ct", "property_type": "condo"}
    )
    assert compliance.checklist(db, world.agent, again.id or 0)[0].name == "Purchase agreement"


def test_a_brokerage_without_templates_gets_no_slots(db: Session, world: World) -> None:
    assert compliance.checklist(db, world.agent, world.deal.id or 0) == []
    assert compliance.missing_for_closing(db, world.deal.id or 0) == []


def test_slot_states_follow_the_current_document(db: Session, world: World) -> None:
    slots = _apply(db, world)
    txn_id = world.deal.id or 0
    pa = _file(
        db,
        world.agent,
        txn_id,
        slots["purchase_agreement"],
        "Purchase agreement",
        signature_fields=["Buyer Signature", "Initials p3"],
    )
    insp = _file(db, world.coordinator, txn_id, slots["inspection_report"], "Inspection report")
    compliance.accept(db, world.admin, insp.id or 0, version=1)
    compliance.return_document(db, world.admin, pa.id or 0, "Initials missing on page 3", version=1)
    rows = {r.key: r for r in compliance.checklist(db, world.agent, txn_id)}
    assert rows["appraisal"].state == "missing" and rows["appraisal"].document_id == 0
    assert rows["inspection_report"].state == "accepted"
    assert rows["inspection_report"].uploaded_by == "Cody Coordinator"
    pa_row = rows["purchase_agreement"]
    assert (pa_row.state, pa_row.state_label) == ("returned", "Returned")
    assert pa_row.note == "Initials missing on page 3"
    assert pa_row.precheck == "Buyer Signature, Initials p3"
    assert pa_row.document_title == pa.title and pa_row.version == 1
    # A corrected version goes back to review.
    documents.upload(
        db,
        world.agent,
        txn_id,
        "pa-fixed.pdf",
        make_pdf(["Purchase agreement fixed"]),
        document_id=pa.id,
    )
    row = next(
        r for r in compliance.checklist(db, world.agent, txn_id) if r.key == "purchase_agreement"
    )
    assert (row.state, row.note, row.version, row.precheck) == ("pending", "", 2, "")


@pytest.mark.parametrize("who", OUTSIDE_PARTIES)
def test_outside_parties_never_get_slot_data(db: Session, world: World, who: str) -> None:
    _apply(db, world)
    with pytest.raises(PermissionDenied):
        compliance.checklist(db, world.user(who), world.deal.id or 0)
    with pytest.raises(PermissionDenied):
        compliance.add_slot(db, world.user(who), world.deal.id or 0, "Sneaky")


@pytest.mark.parametrize("who", ["agent2", "client2", "outsider_agent", "outsider_admin"])
def test_people_off_the_file_get_not_found(db: Session, world: World, who: str) -> None:
    _apply(db, world)
    with pytest.raises(NotFound):
        compliance.checklist(db, world.user(who), world.deal.id or 0)


def test_ad_hoc_slots(db: Session, world: World) -> None:
    slots = _apply(db, world)
    txn_id = world.deal.id or 0
    extra = compliance.add_slot(db, world.coordinator, txn_id, "Well water test", category="other")
    assert extra.key == "x_well_water_test" and extra.required
    with pytest.raises(ValidationFailed) as exc:
        compliance.add_slot(db, world.coordinator, txn_id, "well water TEST")
    assert "name" in exc.value.errors
    with pytest.raises(ValidationFailed):
        compliance.add_slot(db, world.coordinator, txn_id, "  ")
    assert "Well water test: missing" in compliance.missing_for_closing(db, txn_id)
    # Removing an item leaves its document on the file, off the checklist.
    doc = _file(db, world.agent, txn_id, slots["appraisal"], "Appraisal report")
    compliance.remove_slot(db, world.agent, txn_id, slots["appraisal"].id or 0)
    db.refresh(doc)
    assert doc.slot_id is None and doc.review_status == "none"
    assert "Appraisal" not in {r.name for r in compliance.checklist(db, world.agent, txn_id)}
    assert {"compliance_slot_added", "compliance_slot_removed"} <= set(event_kinds(db, txn_id))
    with pytest.raises(NotFound):
        compliance.remove_slot(db, world.agent, txn_id, slots["appraisal"].id or 0)


# --- the closing guard ----------------------------------------------------------------------


def test_closing_is_refused_with_exactly_what_is_missing(db: Session, world: World) -> None:
    slots = _apply(db, world)
    txn_id = world.deal.id or 0
    pa = _file(db, world.agent, txn_id, slots["purchase_agreement"], "Purchase agreement")
    loan = _file(db, world.agent, txn_id, slots["loan_commitment"], "Loan commitment")
    compliance.return_document(db, world.admin, pa.id or 0, "initials missing on page 3")
    db.commit()
    with pytest.raises(compliance.MissingDocuments) as exc:
        transactions.change_stage(db, world.agent, txn_id, "closed")
    assert isinstance(exc.value, Conflict)
    assert exc.value.missing == [
        "Purchase agreement: returned — initials missing on page 3",
        "Seller's disclosure: missing",
        "Inspection report: missing",
        "Loan commitment: awaiting review",
        "Appraisal: missing",
        "Closing disclosure: missing",
        "Final walk-through: missing",
    ]
    assert "Lead-based" not in exc.value.message and "Addenda" not in exc.value.message
    assert exc.value.message.startswith("This file cannot close until")
    db.rollback()
    assert db.get(Transaction, txn_id).stage == Stage.UNDER_CONTRACT.value  # type: ignore[union-attr]
    assert "stage_changed" not in event_kinds(db, txn_id)
    # Accept everything required: now it closes.
    compliance.accept(db, world.admin, loan.id or 0)
    compliance.accept(db, world.admin, pa.id or 0)
    for key in (
        "sellers_disclosure",
        "inspection_report",
        "appraisal",
        "closing_disclosure",
        "final_walkthrough",
    ):
        doc = _file(db, world.agent, txn_id, slots[key], f"{key} text")
        compliance.accept(db, world.admin, doc.id or 0)
    assert compliance.missing_for_closing(db, txn_id) == []
    assert transactions.change_stage(db, world.agent, txn_id, "closed").stage == "closed"


def test_other_stage_changes_are_not_blocked(db: Session, world: World) -> None:
    _apply(db, world)
    txn = transactions.change_stage(db, world.agent, world.deal.id or 0, "clear_to_close")
    assert txn.stage == "clear_to_close"


# --- review ---------------------------------------------------------------------------------


def test_review_queue_lists_the_brokerage_oldest_first(db: Session, world: World) -> None:
    slots = _apply(db, world)
    txn_id = world.deal.id or 0
    first = _file(
        db,
        world.agent,
        txn_id,
        slots["purchase_agreement"],
        "PA",
        signature_fields=["Buyer Signature"],
    )
    second = _file(db, world.coordinator, txn_id, slots["appraisal"], "Appraisal")
    documents.upload(db, world.agent, txn_id, "loose.pdf", make_pdf(["Loose"]))  # not filed
    page = compliance.review_queue(db, world.admin)
    assert [r.document_id for r in page.items] == [first.id, second.id]
    row = page.items[0]
    assert row.address.startswith("12 Harbor View Rd") and row.slot_name == "Purchase agreement"
    assert (row.uploaded_by, row.precheck, row.status_label) == (
        "Alice Agent",
        "Buyer Signature",
        "Awaiting review",
    )
    assert row.is_pdf and row.page_count == 1 and row.version == 1
    assert [r.document_id for r in compliance.review_queue(db, world.admin, q="apprais").items] == [
        second.id
    ]
    assert compliance.pending_review_count(db, world.admin) == 2
    compliance.return_document(db, world.admin, first.id or 0, "Sign page 1")
    returned = compliance.review_queue(db, world.admin, status="returned").items
    assert [(r.document_id, r.note, r.reviewed_by) for r in returned] == [
        (first.id, "Sign page 1", "Ada Admin")
    ]
    assert compliance.review_queue(db, world.admin, status="accepted").total == 0
    with pytest.raises(ValidationFailed):
        compliance.review_queue(db, world.admin, status="bogus")
    # Another brokerage's admin sees none of it.
    assert compliance.review_queue(db, world.outsider_admin).total == 0
    assert compliance.pending_review_count(db, world.outsider_admin) == 0
    assert compliance.pending_review_count(db, world.agent) == 0


@pytest.mark.parametrize("who", NOT_REVIEWERS)
def test_only_admins_review(db: Session, world: World, who: str) -> None:
    slots = _apply(db, world)
    doc = _file(db, world.agent, world.deal.id or 0, slots["appraisal"], "Appraisal")
    actor = world.user(who)
    with pytest.raises(PermissionDenied):
        compliance.review_queue(db, actor)
    with pytest.raises(PermissionDenied):
        compliance.accept(db, actor, doc.id or 0)
    with pytest.raises(PermissionDenied):
        compliance.return_document(db, actor, doc.id or 0, "no")
    db.refresh(doc)
    assert doc.review_status == "pending"


def test_another_brokerages_admin_cannot_decide(db: Session, world: World) -> None:
    slots = _apply(db, world)
    doc = _file(db, world.agent, world.deal.id or 0, slots["appraisal"], "Appraisal")
    with pytest.raises(NotFound):
        compliance.accept(db, world.outsider_admin, doc.id or 0)
    with pytest.raises(NotFound):
        compliance.return_document(db, world.outsider_admin, doc.id or 0, "no")


def test_stale_review_is_refused(db: Session, world: World) -> None:
    slots = _apply(db, world)
    txn_id = world.deal.id or 0
    doc = _file(db, world.agent, txn_id, slots["appraisal"], "Appraisal v1")
    documents.upload(
        db, world.agent, txn_id, "v2.pdf", make_pdf(["Appraisal v2"]), document_id=doc.id
    )
    with pytest.raises(Conflict, match="newer version"):
        compliance.accept(db, world.admin, doc.id or 0, version=1)
    with pytest.raises(Conflict, match="newer version"):
        compliance.return_document(db, world.admin, doc.id or 0, "fix", version=1)
    db.refresh(doc)
    assert doc.review_status == "pending"
    compliance.accept(db, world.admin, doc.id or 0, version=2)
    with pytest.raises(Conflict, match="already accepted"):
        compliance.accept(db, world.admin, doc.id or 0, version=2)


def test_return_needs_a_note_and_unfiled_documents_are_not_reviewed(
    db: Session, world: World
) -> None:
    slots = _apply(db, world)
    txn_id = world.deal.id or 0
    doc = _file(db, world.agent, txn_id, slots["appraisal"], "Appraisal")
    with pytest.raises(ValidationFailed) as exc:
        compliance.return_document(db, world.admin, doc.id or 0, "   \n ")
    assert exc.value.errors == {"note": "Say what needs fixing."}
    loose = documents.upload(db, world.agent, txn_id, "loose.pdf", make_pdf(["Loose"]))
    with pytest.raises(Conflict):
        compliance.accept(db, world.admin, loose.id or 0)


def _notes(db: Session, user: User) -> list[Notification]:
    return list(db.exec(select(Notification).where(Notification.user_id == user.id)).all())


def _mails(db: Session, user: User) -> list[EmailMessage]:
    return list(
        db.exec(
            select(EmailMessage).where(
                EmailMessage.to_address == user.email, EmailMessage.template == "document_reviewed"
            )
        ).all()
    )


def test_decisions_are_recorded_and_the_uploader_is_notified(db: Session, world: World) -> None:
    slots = _apply(db, world)
    txn_id = world.deal.id or 0
    doc = _file(db, world.coordinator, txn_id, slots["inspection_report"], "Inspection")
    compliance.return_document(db, world.admin, doc.id or 0, "Pages 4-6 are missing", version=1)
    kinds = event_kinds(db, txn_id)
    assert "document_returned" in kinds
    notes = _notes(db, world.coordinator)
    assert len(notes) == 1
    n = notes[0]
    assert n.kind == "document_returned" and n.link == f"/transactions/{txn_id}"
    assert "Inspection report returned" in n.title and "Pages 4-6 are missing" in n.body
    assert not _notes(db, world.agent)  # the owner did not upload it
    mails = _mails(db, world.coordinator)
    assert len(mails) == 1 and "Returned: Inspection report" in mails[0].subject
    # The same decision on the same version is not notified twice.
    compliance.accept(db, world.admin, doc.id or 0)
    compliance.return_document(db, world.admin, doc.id or 0, "Pages 4-6 are missing")
    assert [x.kind for x in _notes(db, world.coordinator)] == [
        "document_returned",
        "document_accepted",
    ]
    assert len(_mails(db, world.coordinator)) == 2
    assert event_kinds(db, txn_id).count("document_returned") == 2


def test_no_email_when_the_uploader_switched_those_off(db: Session, world: World) -> None:
    db.add(NotificationPreference(user_id=world.agent.id or 0, assignments=False))
    db.flush()
    slots = _apply(db, world)
    doc = _file(db, world.agent, world.deal.id or 0, slots["appraisal"], "Appraisal")
    compliance.accept(db, world.admin, doc.id or 0)
    assert len(_notes(db, world.agent)) == 1
    assert _mails(db, world.agent) == []


def test_an_admin_reviewing_their_own_upload_is_not_notified(db: Session, world: World) -> None:
    slots = _apply(db, world)
    doc = _file(db, world.admin, world.deal.id or 0, slots["appraisal"], "Appraisal")
    compliance.accept(db, world.admin, doc.id or 0)
    assert _notes(db, world.admin) == []
    assert "document_accepted" in event_kinds(db, world.deal.id)
