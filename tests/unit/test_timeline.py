"""The timeline: ordering, actor names, pagination and what outside parties may see."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from sqlmodel import Session

from chronos.services import tasks, timeline, transactions
from chronos.services.errors import PermissionDenied, ValidationFailed
from tests.factories import World, event_kinds


def test_events_are_listed_newest_first_with_actor_names(db: Session, world: World) -> None:
    transactions.change_stage(db, world.coordinator, world.deal.id, "clear_to_close")
    page = timeline.list_events(db, world.agent, world.deal.id, page_size=100)
    assert [e.kind for e in page.items] == list(reversed(event_kinds(db, world.deal.id)))
    newest, moved = page.items[0], page.items[1]
    assert (newest.kind, newest.actor_name) == ("checklist_applied", "Cody Coordinator")
    assert newest.summary == "3 tasks added from Clear to close"
    assert (moved.kind, moved.actor_name) == ("stage_changed", "Cody Coordinator")
    assert moved.summary == "Stage changed: Under contract → Clear to close"
    assert page.items[-1].actor_name == "Alice Agent"


def test_events_without_an_actor_are_attributed_to_chronos(db: Session, world: World) -> None:
    timeline.record(db, actor=None, txn=world.deal, kind="dates_changed", summary="x" * 600)
    db.flush()
    newest = timeline.list_events(db, world.client, world.deal.id).items[0]
    assert newest.actor_name == "Chronos"
    assert newest.summary == "x" * 500


def test_event_times_are_iso_8601_in_utc(db: Session, world: World) -> None:
    created = timeline.list_events(db, world.agent, world.deal.id).items[0].created_at
    parsed = datetime.fromisoformat(created)
    assert created.endswith("+00:00")
    assert parsed.utcoffset() == UTC.utcoffset(None)


def test_the_timeline_pages(db: Session, world: World) -> None:
    total = len(event_kinds(db, world.deal.id))
    # created + its checklist + coordinator, client, attorney, lender, seller, inspector
    assert total == 8
    first = timeline.list_events(db, world.agent, world.deal.id, page=1, page_size=5)
    second = timeline.list_events(db, world.agent, world.deal.id, page=2, page_size=5)
    assert (first.total, first.pages, len(first.items), len(second.items)) == (8, 2, 5, 3)
    assert not {e.id for e in first.items} & {e.id for e in second.items}


@pytest.mark.parametrize("persona", ["client", "attorney", "lender"])
def test_outside_parties_see_stage_and_date_changes_but_not_who_was_added(
    db: Session, world: World, persona: str
) -> None:
    transactions.add_participant(
        db, world.agent, world.deal.id, role="title", person_id=world.loose_contact.id
    )
    transactions.change_stage(db, world.agent, world.deal.id, "clear_to_close")
    page = timeline.list_events(db, world.user(persona), world.deal.id)
    assert [e.kind for e in page.items] == ["stage_changed", "transaction_created"]
    assert page.total == 2
    assert all("Neighbor" not in e.summary for e in page.items)


def test_shared_kinds_are_exactly_the_date_and_stage_milestones() -> None:
    assert frozenset({"transaction_created", "stage_changed", "dates_changed"}) == (
        timeline.SHARED_KINDS
    )


def test_manual_entries_and_the_filters(db: Session, world: World) -> None:
    timeline.add_note(
        db, world.coordinator, world.deal.id, "Lender: appraisal ordered", kind="call"
    )
    task = tasks.create_task(db, world.agent, world.deal.id or 0, {"title": "Order survey"})
    tasks.set_status(db, world.agent, task.id or 0, tasks.DONE)
    db.commit()
    notes = timeline.list_events(db, world.agent, world.deal.id, show="notes")
    assert [e.summary for e in notes.items] == ["Call: Lender: appraisal ordered"]
    task_kinds = {
        e.kind
        for e in timeline.list_events(
            db, world.agent, world.deal.id, show="tasks", page_size=100
        ).items
    }
    assert {"task_added", "task_completed", "checklist_applied"} <= task_kinds
    assert all(k.startswith(("task", "checklist")) for k in task_kinds)
    people = timeline.list_events(db, world.agent, world.deal.id, show="people", page_size=100)
    assert {e.kind for e in people.items} == {"participant_added"}
    # Notes are staff-only: a client sees none, and cannot write one.
    assert timeline.list_events(db, world.client, world.deal.id, show="notes").items == []
    with pytest.raises(PermissionDenied):
        timeline.add_note(db, world.client, world.deal.id, "hello")
    with pytest.raises(ValidationFailed):
        timeline.add_note(db, world.agent, world.deal.id, "   ")


def test_the_documents_filter_gathers_document_signature_and_condition_entries(
    db: Session, world: World
) -> None:
    from chronos.services import documents
    from tests.support import pdfs

    documents.upload(db, world.agent, world.deal.id, "a.pdf", pdfs.make_pdf(["A"]), title="Offer")
    timeline.add_note(db, world.agent, world.deal.id, "Called the lender")
    db.commit()
    shown = timeline.list_events(db, world.agent, world.deal.id, show="documents").items
    assert [e.kind for e in shown] == ["document_added"]
    assert "documents" in timeline.FILTER_LABELS
