"""Tasks and checklists: due dates that follow key dates, states worked out when read, access.

``deal`` (persona world) is a buyer-side file effective Wed 10 Jan 2024, closing Tue 20 Feb
2024, with the generic financed preset applied in the tests that need key dates.
"""

from __future__ import annotations

from datetime import date

import pytest
from sqlmodel import Session, select

from chronos.models import ChecklistTemplate, Participant, Task
from chronos.services import key_dates, tasks, transactions
from chronos.services.errors import Conflict, NotFound, PermissionDenied, ValidationFailed
from tests.factories import World, event_kinds, participant_of

TODAY = date(2024, 1, 20)


@pytest.fixture(autouse=True)
def blank_files(db: Session, world: World) -> None:
    """The persona files got their stage checklists when created; start each test without."""
    for task in db.exec(select(Task)).all():
        db.delete(task)
    db.commit()


def _with_dates(db: Session, world: World) -> None:
    assert world.deal.id is not None
    key_dates.apply_preset(db, world.agent, world.deal.id, "generic_financed")
    db.commit()


def _task(db: Session, world: World, **data: object) -> Task:
    assert world.deal.id is not None
    task = tasks.create_task(db, world.agent, world.deal.id, {"title": "Call the lender", **data})
    db.commit()
    return task


def test_a_fixed_due_date_and_its_state_are_worked_out_when_read(db: Session, world: World):
    _task(db, world, due_date="2024-01-19")
    _task(db, world, title="Today", due_date="2024-01-20")
    _task(db, world, title="Soon", due_date="2024-01-23")
    _task(db, world, title="Later", due_date="2024-02-10")
    _task(db, world, title="Undated")
    rows = tasks.list_tasks(db, world.agent, world.deal.id or 0, today=TODAY)
    assert [(r.title, r.state) for r in rows] == [
        ("Call the lender", "overdue"),
        ("Today", "due_today"),
        ("Soon", "due_soon"),
        ("Later", "upcoming"),
        ("Undated", "no_date"),
    ]
    # The same rows a day later: nothing stored went stale.
    later = tasks.list_tasks(db, world.agent, world.deal.id or 0, today=date(2024, 1, 24))
    assert [r.state for r in later][:3] == ["overdue", "overdue", "overdue"]


def test_the_edit_dialogs_due_rule_goes_through_the_access_policy(db: Session, world: World):
    _with_dates(db, world)
    task = _task(db, world, due_key="inspection", due_offset_days="-2")
    assert tasks.due_rule(db, world.agent, task.id or 0) == ("inspection", -2)
    for outsider in (world.outsider_agent, world.agent2):
        with pytest.raises(NotFound):
            tasks.due_rule(db, outsider, task.id or 0)


def test_a_relative_due_date_moves_with_its_key_date(db: Session, world: World):
    _with_dates(db, world)
    task = _task(db, world, due_key="inspection", due_offset_days="-2")
    assert task.due_date == date(2024, 1, 20)  # inspection ends Mon 22 Jan
    row = tasks.list_tasks(db, world.agent, world.deal.id or 0, today=TODAY)[0]
    assert row.due_rule == "2 days before Inspection period ends"
    # The effective date moves a week: the inspection deadline and the task follow.
    transactions.update_transaction(
        db, world.agent, world.deal.id or 0, {"effective_date": "2024-01-17"}
    )
    db.commit()
    db.refresh(task)
    inspection = db.exec(
        select(key_dates.KeyDate).where(
            key_dates.KeyDate.transaction_id == world.deal.id, key_dates.KeyDate.key == "inspection"
        )
    ).one()
    assert task.due_date is not None and inspection.day is not None
    assert (inspection.day - task.due_date).days == 2
    assert task.due_date == date(2024, 1, 27)  # inspection: 17 Jan + 10 = Sat 27 → Mon 29 Jan
    # An override moves it too, in the same unit of work.
    key_dates.override_key_date(
        db, world.agent, world.deal.id or 0, "inspection", "2024-02-05", "Extension signed"
    )
    db.commit()
    db.refresh(task)
    assert task.due_date == date(2024, 2, 3)


def test_bad_task_input_is_refused_field_by_field(db: Session, world: World):
    _with_dates(db, world)
    with pytest.raises(ValidationFailed) as err:
        tasks.create_task(db, world.agent, world.deal.id or 0, {"title": " ", "due_date": "31/02"})
    assert set(err.value.errors) == {"title", "due_date"}
    with pytest.raises(ValidationFailed) as err:
        tasks.create_task(
            db,
            world.agent,
            world.deal.id or 0,
            {"title": "x", "due_key": "no_such_date", "due_offset_days": "soon"},
        )
    assert set(err.value.errors) == {"due_key", "due_offset_days"}
    with pytest.raises(ValidationFailed) as err:
        tasks.create_task(
            db, world.agent, world.deal.id or 0, {"title": "x", "assignee": "u:99999"}
        )
    assert "assignee" in err.value.errors
    # A participant of another file is not an assignee here.
    other = db.exec(
        select(Participant).where(Participant.transaction_id == world.other_deal.id)
    ).first()
    assert other is not None
    with pytest.raises(ValidationFailed):
        tasks.create_task(
            db, world.agent, world.deal.id or 0, {"title": "x", "assignee": f"p:{other.id}"}
        )


def test_completing_is_recorded_and_a_stale_second_click_is_refused(db: Session, world: World):
    task = _task(db, world)
    tasks.set_status(db, world.agent, task.id or 0, tasks.DONE, expected=tasks.OPEN)
    db.commit()
    assert task.completed_at is not None and task.completed_by_id == world.agent.id
    assert "task_completed" in event_kinds(db, world.deal.id)
    with pytest.raises(Conflict):
        tasks.set_status(db, world.agent, task.id or 0, tasks.OPEN, expected=tasks.OPEN)
    tasks.set_status(db, world.agent, task.id or 0, tasks.OPEN, expected=tasks.DONE)
    assert task.completed_at is None


def test_bulk_complete_and_reassign(db: Session, world: World):
    a, b = _task(db, world), _task(db, world, title="Second")
    ids = [a.id or 0, b.id or 0]
    lender = participant_of(db, world.deal, world.lender)
    assert (
        tasks.bulk_reassign(db, world.coordinator, world.deal.id or 0, ids, f"p:{lender.id}") == 2
    )
    assert tasks.bulk_set_status(db, world.coordinator, world.deal.id or 0, ids, tasks.DONE) == 2
    db.commit()
    assert {t.status for t in (a, b)} == {tasks.DONE}
    assert {t.assignee_participant_id for t in (a, b)} == {lender.id}
    # A task of another file smuggled into the selection fails the whole batch.
    stray = tasks.create_task(db, world.agent2, world.other_deal.id or 0, {"title": "Other"})
    with pytest.raises(NotFound):
        tasks.bulk_set_status(
            db, world.agent, world.deal.id or 0, [a.id or 0, stray.id or 0], tasks.OPEN
        )


@pytest.mark.parametrize("persona", ["agent2", "outsider_agent", "outsider_admin"])
def test_staff_who_cannot_see_the_file_see_no_task(db: Session, world: World, persona: str):
    task = _task(db, world)
    actor = world.user(persona)
    with pytest.raises(NotFound):
        tasks.list_tasks(db, actor, world.deal.id or 0)
    with pytest.raises(NotFound):
        tasks.set_status(db, actor, task.id or 0, tasks.DONE)
    with pytest.raises(NotFound):
        tasks.create_task(db, actor, world.deal.id or 0, {"title": "x"})


@pytest.mark.parametrize("persona", ["client", "attorney", "lender"])
def test_outside_parties_see_and_complete_only_their_own_tasks(
    db: Session, world: World, persona: str
):
    user = world.user(persona)
    mine = _task(db, world, title="Yours", assignee=f"p:{participant_of(db, world.deal, user).id}")
    theirs = _task(db, world, title="Agent's", assignee=f"u:{world.agent.id}")
    rows = tasks.list_tasks(db, user, world.deal.id or 0, show="all")
    assert [r.title for r in rows] == ["Yours"]
    assert rows[0].can_complete and not rows[0].can_edit
    tasks.set_status(db, user, mine.id or 0, tasks.DONE)
    with pytest.raises(NotFound):
        tasks.set_status(db, user, theirs.id or 0, tasks.DONE)
    with pytest.raises(PermissionDenied):
        tasks.set_status(db, user, mine.id or 0, tasks.NOT_APPLICABLE)
    with pytest.raises(PermissionDenied):
        tasks.update_task(db, user, mine.id or 0, {"title": "Renamed"})
    with pytest.raises(PermissionDenied):
        tasks.create_task(db, user, world.deal.id or 0, {"title": "x"})
    with pytest.raises(PermissionDenied):
        tasks.bulk_set_status(db, user, world.deal.id or 0, [mine.id or 0], tasks.DONE)
    with pytest.raises(PermissionDenied):
        tasks.assignee_options(db, user, world.deal.id or 0)


def test_assignee_options_are_the_people_on_the_file(db: Session, world: World):
    labels = [o.label for o in tasks.assignee_options(db, world.agent, world.deal.id or 0)]
    assert labels[0] == "Alice Agent (agent)"
    assert "Cody Coordinator (Coordinator)" in labels
    assert "Cora Client (Buyer)" in labels
    assert "Ivan Inspector (Inspector)" in labels
    assert not any("Bob Agent" in label for label in labels)


def test_checklists_apply_once_per_file_and_assign_by_role(db: Session, world: World):
    _with_dates(db, world)
    made = tasks.apply_checklists(db, world.agent, world.deal, "under_contract")
    again = tasks.apply_checklists(db, world.agent, world.deal, "under_contract")
    db.commit()
    assert made > 5 and again == 0
    rows = {r.title: r for r in tasks.list_tasks(db, world.agent, world.deal.id or 0, today=TODAY)}
    earnest = rows["Deliver the earnest money deposit"]
    assert earnest.assignee_label == "Cora Client (Buyer)"
    assert earnest.due_date == "2024-01-16" and earnest.state == "overdue"
    assert rows["Order the appraisal"].assignee_label == "Leo Lender (Lender)"
    assert rows["Schedule the home inspection"].assignee_label == "Alice Agent"
    # Seller-side templates do not land on a buyer file.
    assert "Collect the seller's disclosures" not in rows
    assert "checklist_applied" in event_kinds(db, world.deal.id)
    # Each brokerage gets its own editable copy of the built-in templates.
    harbor = db.exec(
        select(ChecklistTemplate).where(ChecklistTemplate.org_id == world.harbor.id)
    ).all()
    summit = db.exec(
        select(ChecklistTemplate).where(ChecklistTemplate.org_id == world.summit.id)
    ).all()
    assert len(harbor) == len(summit) == len(tasks.DEFAULT_CHECKLISTS)
    assert not {t.id for t in harbor} & {t.id for t in summit}


def test_today_view_spans_the_actors_files_only(db: Session, world: World):
    _task(db, world, title="Overdue", due_date="2024-01-18")
    _task(db, world, title="Now", due_date="2024-01-20")
    _task(db, world, title="Next week", due_date="2024-01-26")
    _task(db, world, title="Too far", due_date="2024-02-26")
    done = _task(db, world, title="Done already", due_date="2024-01-19")
    tasks.set_status(db, world.agent, done.id or 0, tasks.DONE)
    tasks.create_task(
        db, world.agent2, world.other_deal.id or 0, {"title": "Bob's", "due_date": "2024-01-20"}
    )
    db.commit()
    view = tasks.today_view(db, world.agent, today=TODAY)
    assert [r.title for r in view.overdue] == ["Overdue"]
    assert [r.title for r in view.due_today] == ["Now"]
    assert [r.title for r in view.next_days] == ["Next week"]
    assert view.overdue[0].address.startswith("12 Harbor View Rd")
    assert tasks.today_view(db, world.admin, today=TODAY).due_today_total == 2
    assert [r.title for r in tasks.today_view(db, world.agent2, today=TODAY).due_today] == ["Bob's"]
    assert tasks.today_view(db, world.outsider_admin, today=TODAY).due_today_total == 0
    # A client's today holds only what is theirs to do.
    assert tasks.today_view(db, world.client, today=TODAY).due_today_total == 0


def test_tasks_can_count_from_the_files_own_dates_without_a_preset(db: Session, world: World):
    task = _task(db, world, due_key="closing", due_offset_days="-3")
    assert task.due_date == date(2024, 2, 17)  # closing Tue 20 Feb 2024
    transactions.update_transaction(
        db, world.agent, world.deal.id or 0, {"closing_date": "2024-02-27"}
    )
    db.commit()
    db.refresh(task)
    assert task.due_date == date(2024, 2, 24)
    row = tasks.list_tasks(db, world.agent, world.deal.id or 0, today=TODAY)[0]
    assert row.due_rule == "3 days before Closing"


def test_a_new_file_gets_its_stage_checklist_and_later_stages_add_theirs(db: Session, world: World):
    txn = transactions.create_transaction(
        db,
        world.agent,
        {"side": "seller", "stage": "active_listing", "street": "5 Dune Rd", "city": "Wells"},
    )
    db.commit()
    titles = {r.title for r in tasks.list_tasks(db, world.agent, txn.id or 0)}
    assert "Enter the listing in the MLS" in titles
    assert "Send the executed contract to title" not in titles
    transactions.change_stage(db, world.agent, txn.id or 0, "under_contract")
    db.commit()
    titles = {r.title for r in tasks.list_tasks(db, world.agent, txn.id or 0)}
    assert "Send the executed contract to title" in titles
    # Back and forth does not duplicate anything.
    transactions.change_stage(db, world.agent, txn.id or 0, "active_listing")
    transactions.change_stage(db, world.agent, txn.id or 0, "under_contract")
    db.commit()
    all_titles = [r.title for r in tasks.list_tasks(db, world.agent, txn.id or 0, show="all")]
    assert len(all_titles) == len(set(all_titles))
