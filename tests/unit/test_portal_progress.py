"""The portal's progress view: milestones, the next step, and the viewer's own tasks."""

from __future__ import annotations

import pytest
from sqlalchemy.engine import Engine
from sqlmodel import Session, select

from chronos.models import Task, User
from chronos.pages.portal import PortalDealState, milestones, next_step
from chronos.services import tasks
from tests.factories import World, participant_of
from tests.unit.test_state_handlers import call, make_state


def _deal_state(engine: Engine, world: World, user: User):  # type: ignore[no-untyped-def]
    state = make_state(
        PortalDealState, engine, user, "/portal/[txn_id]", {"txn_id": str(world.deal.id)}
    )
    call(PortalDealState.load, state)
    return state


@pytest.fixture
def chores(db: Session, ui: World) -> dict[str, Task]:
    for t in db.exec(select(Task)).all():  # the files' own checklists: start clean
        db.delete(t)
    db.commit()
    out = {}
    for name, user in (("client", ui.client), ("lender", ui.lender)):
        out[name] = tasks.create_task(
            db,
            ui.agent,
            ui.deal.id or 0,
            {
                "title": f"Task for {name}",
                "assignee": f"p:{participant_of(db, ui.deal, user).id}",
                "due_date": "2030-01-15",
            },
        )
    out["agent"] = tasks.create_task(
        db, ui.agent, ui.deal.id or 0, {"title": "Agent only", "assignee": f"u:{ui.agent.id}"}
    )
    db.commit()
    return out


def test_the_client_sees_their_next_step_and_only_their_tasks(
    engine: Engine, ui: World, chores: dict[str, Task]
) -> None:
    state = _deal_state(engine, ui, ui.client)
    assert [t.title for t in state.my_tasks] == ["Task for client"]
    assert state.next_step == "Your next step: Task for client, due Tue 15 Jan 2030."
    assert [(m.label, m.state) for m in state.milestones] == [
        ("Under contract", "current"),
        ("Clear to close", "upcoming"),
        ("Closed", "upcoming"),
    ]


def test_the_client_ticks_off_their_task(
    db: Session, engine: Engine, ui: World, chores: dict[str, Task]
) -> None:
    state = _deal_state(engine, ui, ui.client)
    call(PortalDealState.toggle_task, state, chores["client"].id, "open")
    assert state.task_error == ""
    assert state.my_tasks[0].status == "done"
    assert state.next_step == "Nothing is needed from you right now."
    db.expire_all()
    assert db.get(Task, chores["client"].id).status == "done"  # type: ignore[union-attr]


@pytest.mark.parametrize("target", ["lender", "agent"])
def test_a_client_cannot_tick_anyone_elses_task(
    db: Session, engine: Engine, ui: World, chores: dict[str, Task], target: str
) -> None:
    state = _deal_state(engine, ui, ui.client)
    call(PortalDealState.toggle_task, state, chores[target].id, "open")
    assert "no longer yours" in state.task_error
    assert [t.title for t in state.my_tasks] == ["Task for client"]
    db.expire_all()
    assert db.get(Task, chores[target].id).status == "open"  # type: ignore[union-attr]


def test_a_client_of_another_file_loads_nothing(
    engine: Engine, ui: World, chores: dict[str, Task]
) -> None:
    state = _deal_state(engine, ui, ui.client2)
    assert state.not_found and state.my_tasks == [] and state.next_step == ""
    call(PortalDealState.toggle_task, state, chores["client"].id, "open")
    assert state.my_tasks == []


def test_milestones_follow_the_side_and_the_stage() -> None:
    assert [m.state for m in milestones("active_listing", "seller")] == [
        "done",
        "current",
        "upcoming",
        "upcoming",
        "upcoming",
    ]
    assert {m.state for m in milestones("closed", "buyer")} == {"done"}
    assert milestones("cancelled", "buyer")[-1].state == "cancelled"


def test_the_attorneys_list_is_a_closing_checklist(
    db: Session, engine: Engine, ui: World, chores: dict[str, Task]
) -> None:
    from chronos.pages.portal import PortalState
    from chronos.services import key_dates

    key_dates.apply_preset(db, ui.agent, ui.deal.id or 0, "generic_financed")
    tasks.create_task(
        db,
        ui.agent,
        ui.deal.id or 0,
        {
            "title": "Review the title commitment",
            "assignee": f"p:{participant_of(db, ui.deal, ui.attorney).id}",
        },
    )
    db.commit()
    state = make_state(PortalState, engine, ui.attorney, "/portal")
    call(PortalState.load, state)
    [card] = state.cards
    assert card.open_total == 1 and [t.text for t in card.open_items] == [
        "Review the title commitment"
    ]
    # The deal closed in Feb 2024: no upcoming dates; the lender's and client's items stay theirs.
    assert card.dates == []
    lender = make_state(PortalState, engine, ui.lender, "/portal")
    call(PortalState.load, lender)
    assert [t.text for t in lender.cards[0].open_items] == ["Task for lender"]
    other = make_state(PortalState, engine, ui.client2, "/portal")
    call(PortalState.load, other)
    assert all(c.open_total == 0 for c in other.cards)


def test_a_signature_waiting_for_the_viewer_comes_first() -> None:
    assert next_step([], [], ["Repair addendum"]) == "Your next step: sign “Repair addendum”."
    assert next_step([], [], ["A", "B", "C"]) == "Your next step: sign “A” (and 2 more)."


def test_the_portal_card_and_next_step_lead_with_a_signature_to_give(
    db: Session, engine: Engine, ui: World
) -> None:
    from chronos.pages.portal import PortalState
    from chronos.services import documents, signatures
    from tests.support import pdfs

    doc = documents.upload(
        db, ui.agent, ui.deal.id, "addendum.pdf", pdfs.make_pdf(["Addendum"]), title="Addendum"
    )
    signer = participant_of(db, ui.deal, ui.client).id or 0
    signatures.request_signatures(db, ui.agent, doc.id or 0, [signer], title="Repair addendum")
    db.commit()
    home = make_state(PortalState, engine, ui.client, "/portal")
    call(PortalState.load, home)
    card = next(c for c in home.cards if c.id == ui.deal.id)
    assert card.dates[0].text == "Sign: Repair addendum" and card.dates[0].urgent
    deal = make_state(
        PortalDealState, engine, ui.client, "/portal/[txn_id]", {"txn_id": str(ui.deal.id)}
    )
    call(PortalDealState.load, deal)
    assert deal.next_step == "Your next step: sign “Repair addendum”."
    # The attorney on the same file has nothing to sign.
    other = make_state(PortalState, engine, ui.attorney, "/portal")
    call(PortalState.load, other)
    assert all(not i.text.startswith("Sign:") for c in other.cards for i in c.dates)


def test_a_condition_the_lender_asks_the_client_for_is_their_next_step(
    db: Session, engine: Engine, ui: World
) -> None:
    from chronos.services import lender

    lender.add_condition(db, ui.lender, ui.deal.id, title="Two months of bank statements")
    db.commit()
    deal = make_state(
        PortalDealState, engine, ui.client, "/portal/[txn_id]", {"txn_id": str(ui.deal.id)}
    )
    call(PortalDealState.load, deal)
    assert deal.next_step == "Your next step: send the lender “Two months of bank statements”."
    attorney = make_state(
        PortalDealState, engine, ui.attorney, "/portal/[txn_id]", {"txn_id": str(ui.deal.id)}
    )
    call(PortalDealState.load, attorney)
    assert attorney.found and "bank statements" not in attorney.next_step
