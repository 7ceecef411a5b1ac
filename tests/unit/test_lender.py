"""The loan-condition tracker: the lender and the file's staff manage it, the client sees it
and answers requested items, everyone else is refused; every step dated, recorded, notified."""

from __future__ import annotations

from datetime import date

import pytest
from sqlmodel import Session, select

from chronos.models import Document, LenderCondition, Notification, Stage
from chronos.services import documents, lender, transactions
from chronos.services.errors import Conflict, NotFound, PermissionDenied, ValidationFailed
from tests.factories import World, event_kinds
from tests.support.pdfs import make_pdf


def _doc(db: Session, world: World, actor_name: str, text: str = "bank statements") -> Document:
    return documents.upload(
        db, world.user(actor_name), world.deal.id or 0, f"{text}.pdf", make_pdf([text])
    )


def _cond(db: Session, world: World, who: str = "lender", **kw: object) -> LenderCondition:
    data: dict = {"title": "Two months of bank statements", "due_date": "2030-01-15"} | kw
    return lender.add_condition(db, world.user(who), world.deal.id or 0, **data)


def _notes_for(db: Session, user_id: int | None) -> list[Notification]:
    return list(db.exec(select(Notification).where(Notification.user_id == user_id)).all())


def test_the_lender_requests_and_the_owner_and_client_are_told(db: Session, world: World) -> None:
    cond = _cond(db, world, notes="Both accounts, all pages")
    assert cond.status == "requested" and cond.requested_at is not None
    assert cond.due_date == date(2030, 1, 15)
    assert "condition_added" in event_kinds(db, world.deal.id)
    for who in ("agent", "client"):
        titles = [n.title for n in _notes_for(db, world.user(who).id)]
        assert "The lender needs: Two months of bank statements" in titles
    for who in ("attorney", "lender", "client2", "agent2"):
        assert not [n for n in _notes_for(db, world.user(who).id) if n.kind.startswith("cond")]


def test_the_full_cycle_with_dates_events_sharing_and_notices(db: Session, world: World) -> None:
    cond = _cond(db, world)
    doc = _doc(db, world, "client")  # a client upload: shared with the client only
    assert doc.share_client and not doc.share_lender
    lender.attach_document(db, world.client, cond.id or 0, doc.id or 0)
    assert cond.status == "received" and cond.received_at is not None
    assert doc.share_lender  # attaching shares it with the lender, said in the event
    assert documents.get_document(db, world.lender, doc.id or 0).id == doc.id
    assert any("received" in n.kind for n in _notes_for(db, world.lender.id))
    # The lender sends it back with a note; the uploader (the client) hears why.
    with pytest.raises(ValidationFailed):
        lender.return_condition(db, world.lender, cond.id or 0, "  ")
    lender.return_condition(db, world.lender, cond.id or 0, "Page 3 is missing")
    assert cond.status == "requested" and cond.document_id is None
    assert cond.status_note == "Page 3 is missing"
    assert any(n.kind == "condition_returned" for n in _notes_for(db, world.client.id))
    # Sent again, accepted.
    doc2 = _doc(db, world, "client", "all pages")
    lender.attach_document(db, world.client, cond.id or 0, doc2.id or 0)
    lender.accept_condition(db, world.lender, cond.id or 0)
    assert cond.status == "accepted" and cond.accepted_at is not None
    assert any(n.kind == "condition_accepted" for n in _notes_for(db, world.client.id))
    kinds = event_kinds(db, world.deal.id)
    for kind in (
        "condition_added",
        "condition_received",
        "condition_returned",
        "condition_accepted",
    ):
        assert kind in kinds
    with pytest.raises(Conflict):
        lender.waive_condition(db, world.lender, cond.id or 0, "no longer needed")
    board = lender.conditions(db, world.lender, world.deal.id or 0)
    assert board.counts["accepted"] == 1 and board.counts["open"] == 0
    row = board.rows[0]
    assert row.requested_on and row.received_on and row.closed_on
    assert row.document_title == "all pages"


def test_staff_manage_and_waive_with_a_note(db: Session, world: World) -> None:
    for who in ("agent", "coordinator", "admin"):
        cond = _cond(db, world, who, title=f"Appraisal by {who}")
        lender.update_condition(db, world.user(who), cond.id or 0, title="Appraisal", notes="x")
        with pytest.raises(ValidationFailed) as err:
            lender.waive_condition(db, world.user(who), cond.id or 0, "")
        assert "note" in err.value.errors
        lender.waive_condition(db, world.user(who), cond.id or 0, "Waived by underwriting")
        assert cond.status == "waived" and cond.accepted_at is not None
    assert "condition_waived" in event_kinds(db, world.deal.id)


def test_bad_input_is_refused_field_by_field(db: Session, world: World) -> None:
    with pytest.raises(ValidationFailed) as err:
        lender.add_condition(
            db, world.lender, world.deal.id or 0, title="", notes="x" * 2001, due_date="soon"
        )
    assert set(err.value.errors) == {"title", "notes", "due_date"}


@pytest.mark.parametrize("who", ["agent2", "client2", "outsider_agent", "outsider_admin"])
def test_people_off_the_file_see_nothing(db: Session, world: World, who: str) -> None:
    cond = _cond(db, world)
    user = world.user(who)
    with pytest.raises(NotFound):
        lender.conditions(db, user, world.deal.id or 0)
    with pytest.raises(NotFound):
        lender.add_condition(db, user, world.deal.id or 0, title="x")
    for fn in (
        lambda: lender.accept_condition(db, user, cond.id or 0),
        lambda: lender.waive_condition(db, user, cond.id or 0, "n"),
        lambda: lender.update_condition(db, user, cond.id or 0, title="y"),
        lambda: lender.delete_condition(db, user, cond.id or 0),
        lambda: lender.attach_document(db, user, cond.id or 0, 1),
    ):
        with pytest.raises(NotFound):
            fn()
    assert all(g.transaction_id != world.deal.id for g in _overview(db, user))


def _overview(db: Session, user: object) -> list[lender.FileConditions]:
    try:
        return lender.lender_overview(db, user)  # type: ignore[arg-type]
    except PermissionDenied:
        return []


def test_the_attorney_does_not_see_loan_conditions(db: Session, world: World) -> None:
    cond = _cond(db, world)
    with pytest.raises(PermissionDenied):
        lender.conditions(db, world.attorney, world.deal.id or 0)
    with pytest.raises(PermissionDenied):
        lender.add_condition(db, world.attorney, world.deal.id or 0, title="x")
    with pytest.raises(PermissionDenied):
        lender.attach_document(db, world.attorney, cond.id or 0, 1)
    with pytest.raises(PermissionDenied):
        lender.lender_overview(db, world.attorney)
    assert lender.open_counts_by_file(db, world.attorney, [world.deal.id or 0]) == {}


def test_the_client_reads_and_answers_but_does_not_manage(db: Session, world: World) -> None:
    cond = _cond(db, world)
    board = lender.conditions(db, world.client, world.deal.id or 0)
    assert not board.can_manage and board.can_attach
    assert [r.title for r in board.rows] == ["Two months of bank statements"]
    assert board.rows[0].can_attach
    with pytest.raises(PermissionDenied):
        lender.add_condition(db, world.client, world.deal.id or 0, title="x")
    for fn in (
        lambda: lender.waive_condition(db, world.client, cond.id or 0, "n"),
        lambda: lender.update_condition(db, world.client, cond.id or 0, title="y"),
        lambda: lender.delete_condition(db, world.client, cond.id or 0),
    ):
        with pytest.raises(PermissionDenied):
            fn()
    # An internal document of the file is not theirs to pick.
    internal = _doc(db, world, "agent", "internal memo")
    with pytest.raises(NotFound):
        lender.attach_document(db, world.client, cond.id or 0, internal.id or 0)
    doc = _doc(db, world, "client")
    lender.attach_document(db, world.client, cond.id or 0, doc.id or 0)
    with pytest.raises(PermissionDenied):
        lender.accept_condition(db, world.client, cond.id or 0)
    # Once received, only the lender/staff replace the document.
    doc2 = _doc(db, world, "client", "another")
    with pytest.raises(Conflict):
        lender.attach_document(db, world.client, cond.id or 0, doc2.id or 0)


def test_the_client_never_sees_the_title_of_a_document_not_shared_with_them(
    db: Session, world: World
) -> None:
    cond = _cond(db, world)
    doc = _doc(db, world, "lender", "underwriting worksheet")  # lender-only upload
    lender.attach_document(db, world.lender, cond.id or 0, doc.id or 0)
    row = lender.conditions(db, world.client, world.deal.id or 0).rows[0]
    assert row.status == "received" and row.document_id == 0 and row.document_title == ""
    assert lender.conditions(db, world.lender, world.deal.id or 0).rows[0].document_id == doc.id


def test_a_document_from_another_file_cannot_answer_a_condition(db: Session, world: World) -> None:
    cond = _cond(db, world)
    other = documents.upload(
        db, world.agent2, world.other_deal.id or 0, "other.pdf", make_pdf(["other deal"])
    )
    with pytest.raises(NotFound):  # the lender cannot see it at all
        lender.attach_document(db, world.lender, cond.id or 0, other.id or 0)
    with pytest.raises(NotFound):  # admin sees it, but it is another file's
        lender.attach_document(db, world.admin, cond.id or 0, other.id or 0)


def test_closed_files_refuse_outside_changes(db: Session, world: World) -> None:
    cond = _cond(db, world)
    doc = _doc(db, world, "client")
    transactions.change_stage(
        db, world.agent, world.deal.id or 0, Stage.CANCELLED.value, reason="Financing fell through"
    )
    with pytest.raises(PermissionDenied):
        lender.add_condition(db, world.lender, world.deal.id or 0, title="x")
    with pytest.raises(PermissionDenied):
        lender.attach_document(db, world.client, cond.id or 0, doc.id or 0)
    with pytest.raises(PermissionDenied):
        lender.waive_condition(db, world.lender, cond.id or 0, "n")
    # Staff still tidy up.
    lender.waive_condition(db, world.agent, cond.id or 0, "Deal cancelled")


def test_the_lenders_overview_lists_open_conditions_oldest_file_first(
    db: Session, world: World
) -> None:
    first = _cond(db, world, title="Pay stubs")
    _cond(db, world, title="Insurance binder")
    done = _cond(db, world, title="Appraisal")
    lender.waive_condition(db, world.lender, done.id or 0, "not needed")
    groups = lender.lender_overview(db, world.lender)
    assert [g.transaction_id for g in groups] == [world.deal.id]
    assert groups[0].open_count == 2
    assert [r.title for r in groups[0].rows] == ["Pay stubs", "Insurance binder"]
    assert groups[0].rows[0].id == first.id
    assert lender.open_counts_by_file(db, world.lender, [world.deal.id or 0]) == {world.deal.id: 2}
    assert lender.open_counts_by_file(db, world.client, [world.deal.id or 0]) == {}


def test_delete_records_an_event(db: Session, world: World) -> None:
    cond = _cond(db, world)
    lender.delete_condition(db, world.agent, cond.id or 0)
    assert db.get(LenderCondition, cond.id) is None
    assert "condition_deleted" in event_kinds(db, world.deal.id)
