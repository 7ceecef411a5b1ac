"""The transaction page loads its own data and every panel's in one event; each panel still
checks the actor, so an outside party (redirected to the portal) gets nothing in any panel."""

from __future__ import annotations

import asyncio
from typing import Any

from sqlalchemy.engine import Engine
from sqlmodel import Session

from chronos.pages.transaction import TransactionState
from chronos.pages.transaction_documents import DocumentsPanelState
from chronos.pages.transaction_tasks import TaskPanelState
from chronos.services import documents, tasks
from tests.factories import World
from tests.support import pdfs
from tests.unit.test_state_handlers import make_state, redirect_path


def _open(engine: Engine, world: World, persona: str) -> tuple[Any, Any]:
    state = make_state(
        TransactionState,
        engine,
        world.user(persona),
        "/transactions/[txn_id]",
        {"txn_id": str(world.deal.id)},
    )
    result = asyncio.run(TransactionState.load_page.fn(state))
    return state, result


def _seed(db: Session, world: World) -> None:
    documents.upload(
        db, world.agent, world.deal.id, "n.pdf", pdfs.make_pdf(["Net"]), title="Net sheet"
    )
    tasks.create_task(db, world.agent, world.deal.id, {"title": "Order the survey"})
    db.commit()


def test_one_event_loads_the_page_and_its_panels(db: Session, engine: Engine, ui: World) -> None:
    _seed(db, ui)
    state, result = _open(engine, ui, "agent")
    assert result is None and state.detail is not None
    root = state.parent_state.parent_state
    docs = root.get_substate(DocumentsPanelState.get_full_name().split(".")[1:])
    task_panel = root.get_substate(TaskPanelState.get_full_name().split(".")[1:])
    assert [r.title for r in docs.rows] == ["Net sheet"]
    assert "Order the survey" in [r.title for r in task_panel.rows]


def test_an_outside_party_is_sent_to_the_portal_with_every_panel_empty(
    db: Session, engine: Engine, ui: World
) -> None:
    _seed(db, ui)
    state, result = _open(engine, ui, "client")
    assert redirect_path(result) == f"/portal/{ui.deal.id}"
    root = state.parent_state.parent_state
    docs = root.get_substate(DocumentsPanelState.get_full_name().split(".")[1:])
    task_panel = root.get_substate(TaskPanelState.get_full_name().split(".")[1:])
    assert docs.rows == [] and task_panel.rows == [] and state.detail is None


def test_the_portal_deal_page_loads_its_sections_in_one_event(
    db: Session, engine: Engine, ui: World
) -> None:
    from chronos.pages.portal import PortalDealState
    from chronos.pages.portal_documents import PortalDocumentsState

    documents.upload(
        db,
        ui.agent,
        ui.deal.id,
        "o.pdf",
        pdfs.make_pdf(["Offer"]),
        title="Signed offer",
        share=documents.Share(client=True),
    )
    db.commit()
    state = make_state(
        PortalDealState, engine, ui.client, "/portal/[txn_id]", {"txn_id": str(ui.deal.id)}
    )
    assert asyncio.run(PortalDealState.load_page.fn(state)) is None
    root = state.parent_state.parent_state
    section = root.get_substate(PortalDocumentsState.get_full_name().split(".")[1:])
    assert state.found and section.viewer == "client"
    assert [d.title for d in section.other_docs] == ["Signed offer"]
