"""The staff documents panel's handlers: staff of the file load its documents; everyone else
loads nothing (an outside party, another agent, another brokerage), and actions on a
document they may not change are refused without leaking it into state."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy.engine import Engine
from sqlmodel import Session, select

from chronos.models import Document
from chronos.pages.transaction_documents import DocumentsPanelState
from chronos.services import documents
from tests.factories import World
from tests.support import pdfs
from tests.unit.test_state_handlers import call, make_state

SECRET_TITLE = "Seller net sheet (internal)"


def _panel(
    engine: Engine, world: World, persona: str, txn_id: int | None = None, **query: str
) -> Any:
    state = make_state(
        DocumentsPanelState,
        engine,
        world.user(persona),
        "/transactions/[txn_id]",
        {"txn_id": str(txn_id or world.deal.id)},
    )
    call(DocumentsPanelState.load, state)
    return state


def _seed(db: Session, world: World) -> tuple[int, int]:
    internal = documents.upload(
        db, world.agent, world.deal.id, "net.pdf", pdfs.make_pdf(["Net sheet"]), title=SECRET_TITLE
    )
    shared = documents.upload(
        db,
        world.agent,
        world.deal.id,
        "offer.pdf",
        pdfs.make_pdf(["Offer"]),
        title="Signed offer",
        share=documents.Share(client=True),
    )
    db.commit()
    return internal.id or 0, shared.id or 0


def _dump(state: Any) -> str:
    return repr({k: getattr(state, k) for k in state.base_vars})


def test_staff_on_the_file_load_its_documents(db: Session, engine: Engine, ui: World) -> None:
    _seed(db, ui)
    for persona in ("agent", "coordinator", "admin"):
        state = _panel(engine, ui, persona)
        assert {r.title for r in state.rows} == {SECRET_TITLE, "Signed offer"}, persona
        assert state.upload_action.endswith(f"/files/upload?next=/transactions/{ui.deal.id}")


@pytest.mark.parametrize("persona", ["client", "attorney", "lender", "agent2", "outsider_admin"])
def test_nobody_else_loads_anything(db: Session, engine: Engine, ui: World, persona: str) -> None:
    internal, shared = _seed(db, ui)
    state = _panel(engine, ui, persona)
    assert state.rows == [] and state.total == 0
    for handler, args in (
        (DocumentsPanelState.open_preview, (internal, 0)),
        (DocumentsPanelState.download, (internal, 0)),
        (DocumentsPanelState.open_preview, (shared, 0)),
    ):
        call(handler, state, *args)
        assert state.preview_pages == [] and not state.preview_open
    assert SECRET_TITLE not in _dump(state)


def test_preview_holds_signed_page_links_for_this_user(
    db: Session, engine: Engine, ui: World
) -> None:
    internal, _ = _seed(db, ui)
    state = _panel(engine, ui, "agent")
    call(DocumentsPanelState.open_preview, state, internal, 0)
    assert state.preview_open and state.preview_title == SECRET_TITLE
    assert len(state.preview_pages) == 1
    assert "/files/" in state.preview_pages[0] and f"u={ui.agent.id}" in state.preview_pages[0]


def test_edit_sharing_and_delete(db: Session, engine: Engine, ui: World) -> None:
    internal, _ = _seed(db, ui)
    state = _panel(engine, ui, "agent")
    call(DocumentsPanelState.open_edit, state, internal)
    call(DocumentsPanelState.set_edit, state, "edit_title", "")
    call(DocumentsPanelState.save_edit, state)
    assert state.edit_errors == {"title": "Give the document a name."} and state.edit_open
    call(DocumentsPanelState.set_edit, state, "edit_title", "Net sheet")
    call(DocumentsPanelState.set_edit, state, "edit_lender", True)
    call(DocumentsPanelState.save_edit, state)
    assert not state.edit_open
    row = next(r for r in state.rows if r.id == internal)
    assert (row.title, row.sharing) == ("Net sheet", "Shared with lender")
    call(DocumentsPanelState.ask_delete, state, internal)
    call(DocumentsPanelState.confirm_delete, state)
    assert [r.title for r in state.rows] == ["Signed offer"]
    assert db.exec(select(Document).where(Document.id == internal)).first() is None


def test_search_and_category_filter(db: Session, engine: Engine, ui: World) -> None:
    _seed(db, ui)
    state = _panel(engine, ui, "agent")
    call(DocumentsPanelState.search, state, {"q": "net sheet"})
    assert [r.title for r in state.rows] == [SECRET_TITLE]
    call(DocumentsPanelState.search, state, {"q": ""})
    call(DocumentsPanelState.set_category, state, "inspection")
    assert state.rows == []
    call(DocumentsPanelState.set_category, state, "bogus")
    assert state.category == "all" and len(state.rows) == 2


def test_the_upload_outcome_comes_from_a_signed_token_only(
    db: Session, engine: Engine, ui: World
) -> None:
    good = documents.encode_notice(
        {"saved": [{"id": 1, "title": "Offer"}], "errors": ["bad.pdf is empty"]}
    )
    state = make_state(
        DocumentsPanelState,
        engine,
        ui.agent,
        f"/transactions/{ui.deal.id}?upload={good}",
        {"txn_id": str(ui.deal.id)},
    )
    call(DocumentsPanelState.load, state)
    assert (state.saved, state.upload_errors) == (["“Offer”"], ["bad.pdf is empty"])
    forged = good.split(".")[0] + ".AAAA"
    state = make_state(
        DocumentsPanelState,
        engine,
        ui.agent,
        f"/transactions/{ui.deal.id}?upload={forged}",
        {"txn_id": str(ui.deal.id)},
    )
    call(DocumentsPanelState.load, state)
    assert (state.saved, state.upload_errors) == ([], [])
