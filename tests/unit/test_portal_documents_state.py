"""The portal's documents section and the loan-condition panels, driven through their Reflex
handlers: each persona's state holds only what is shared with them; internal titles never
reach it; the wrong file loads nothing; condition actions follow the service's rules."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy.engine import Engine
from sqlmodel import Session, select

from chronos.models import Document, LenderCondition
from chronos.pages.portal_documents import PortalDocumentsState
from chronos.pages.transaction_lender import LenderPanelState
from chronos.services import documents, lender
from chronos.services.documents import Share
from chronos.services.files import inspect_upload
from tests.factories import World
from tests.support.pdfs import jpeg, make_pdf
from tests.unit.test_state_handlers import call, make_state

MAX = 10 * 1024 * 1024
SHARES = {
    "INTERNAL pricing memo": Share(),
    "Client-only prequal letter": Share(client=True),
    "Attorney-only title commitment": Share(attorney=True),
    "Lender-only appraisal": Share(lender=True),
    "Everyone purchase contract": Share(client=True, attorney=True, lender=True),
}
CATEGORY = {
    "Attorney-only title commitment": "title",
    "Everyone purchase contract": "contract",
}
SEES = {
    "client": {"Client-only prequal letter", "Everyone purchase contract"},
    "attorney": {"Attorney-only title commitment", "Everyone purchase contract"},
    "lender": {"Lender-only appraisal", "Everyone purchase contract"},
}


def _seed(db: Session, world: World) -> dict[str, int]:
    ids: dict[str, int] = {}
    for title, share in SHARES.items():
        data = make_pdf([title])
        doc = documents.add_document(
            db,
            world.agent,
            world.deal,
            inspect_upload(f"{title}.pdf", data, max_bytes=MAX),
            data,
            title=title,
            category=CATEGORY.get(title, "other"),
            share=share,
        )
        ids[title] = doc.id or 0
    data = make_pdf(["OTHER DEAL secret"])
    other = documents.add_document(
        db,
        world.agent2,
        world.other_deal,
        inspect_upload("other.pdf", data, max_bytes=MAX),
        data,
        title="OTHER DEAL secret",
        share=Share(client=True, attorney=True, lender=True),
    )
    ids["other"] = other.id or 0
    db.commit()
    return ids


def _portal(engine: Engine, world: World, who: str, txn_id: int | None = None, **query: str) -> Any:
    state = make_state(
        PortalDocumentsState,
        engine,
        world.user(who),
        "/portal/[txn_id]",
        {"txn_id": str(txn_id or world.deal.id), **query},
    )
    call(PortalDocumentsState.load, state)
    return state


def _panel(engine: Engine, world: World, who: str) -> Any:
    state = make_state(
        LenderPanelState,
        engine,
        world.user(who),
        "/transactions/[txn_id]",
        {"txn_id": str(world.deal.id)},
    )
    call(LenderPanelState.load, state)
    return state


def _dump(state: Any) -> str:
    return repr({k: getattr(state, k) for k in state.base_vars})


def _titles(state: Any) -> set[str]:
    return {d.title for d in [*state.lead_docs, *state.other_docs]}


@pytest.mark.parametrize("who", ["client", "attorney", "lender"])
def test_each_party_holds_only_what_is_shared_with_them(
    db: Session, engine: Engine, ui: World, who: str
) -> None:
    _seed(db, ui)
    state = _portal(engine, ui, who)
    assert state.found and _titles(state) == SEES[who]
    dump = _dump(state)
    for title in set(SHARES) - SEES[who]:
        assert title not in dump
    assert "OTHER DEAL" not in dump


def test_the_attorney_leads_with_contract_and_title(db: Session, engine: Engine, ui: World) -> None:
    _seed(db, ui)
    state = _portal(engine, ui, "attorney")
    assert {d.title for d in state.lead_docs} == SEES["attorney"]
    assert state.other_docs == []
    client = _portal(engine, ui, "client")
    assert client.lead_docs == []


@pytest.mark.parametrize("who", ["client2", "outsider_agent", "agent2"])
def test_the_wrong_file_loads_nothing(db: Session, engine: Engine, ui: World, who: str) -> None:
    ids = _seed(db, ui)
    lender.add_condition(db, ui.lender, ui.deal.id or 0, title="Pay stubs")
    db.commit()
    state = make_state(
        PortalDocumentsState,
        engine,
        ui.user(who),
        "/portal/[txn_id]",
        {"txn_id": str(ui.deal.id)},
    )
    call(PortalDocumentsState.load, state)
    assert not state.found and state.doc_total == 0 and state.conditions == []
    dump = _dump(state)
    assert not any(t in dump for t in SHARES) and "Pay stubs" not in dump
    # forcing a preview of a document on that file
    call(PortalDocumentsState.open_preview, state, ids["Everyone purchase contract"])
    assert state.preview_pages == [] and state.preview_download == ""


def test_a_preview_loads_signed_links_only_when_opened(
    db: Session, engine: Engine, ui: World
) -> None:
    ids = _seed(db, ui)
    state = _portal(engine, ui, "client")
    assert state.preview_pages == [] and state.preview_download == ""
    call(PortalDocumentsState.open_preview, state, ids["Client-only prequal letter"])
    assert state.preview_open and state.preview_is_pdf
    assert len(state.preview_pages) == 1 and "/page/1?" in state.preview_pages[0]
    assert state.preview_download.startswith("/files/")
    call(PortalDocumentsState.set_preview_open, state, False)
    assert state.preview_pages == [] and state.preview_download == ""
    for title in ("INTERNAL pricing memo", "Lender-only appraisal", "other"):
        call(PortalDocumentsState.open_preview, state, ids[title])
        assert state.preview_error == "Document not found."
        assert state.preview_pages == [] and state.preview_title == ""


def test_a_photo_previews_as_itself(db: Session, engine: Engine, ui: World) -> None:
    doc = documents.upload(db, ui.client, ui.deal.id or 0, "kitchen.jpg", jpeg())
    db.commit()
    state = _portal(engine, ui, "client")
    call(PortalDocumentsState.open_preview, state, doc.id)
    assert not state.preview_is_pdf and state.preview_pages == []
    assert "m=i" in state.preview_image


def test_the_upload_outcome_is_shown_from_the_signed_token(
    db: Session, engine: Engine, ui: World
) -> None:
    token = documents.encode_notice(
        {"saved": [{"id": 1, "title": "Pay stub", "v": 1}], "errors": ["x.exe is not allowed"]}
    )
    state = _portal(engine, ui, "client", upload=token)
    assert state.upload_saved == ["“Pay stub”"] and state.upload_errors == ["x.exe is not allowed"]
    forged = token[:-3] + "AAA"
    state = _portal(engine, ui, "client", upload=forged)
    assert state.upload_saved == [] and state.upload_errors == []


def test_the_lender_requests_and_the_client_sends_a_document(
    db: Session, engine: Engine, ui: World
) -> None:
    lend = _portal(engine, ui, "lender")
    assert lend.cond_can_manage and lend.conditions == []
    call(PortalDocumentsState.open_add_condition, lend)
    call(PortalDocumentsState.save_condition, lend)
    assert "title" in lend.cond_errors and lend.cond_dialog
    call(PortalDocumentsState.set_cond_field, lend, "cond_title", "Bank statements")
    call(PortalDocumentsState.set_cond_field, lend, "cond_due", "2030-02-01")
    call(PortalDocumentsState.save_condition, lend)
    assert not lend.cond_dialog and [c.title for c in lend.conditions] == ["Bank statements"]
    cond_id = lend.conditions[0].id

    client = _portal(engine, ui, "client")
    assert not client.cond_can_manage and client.conditions[0].can_attach
    # The client cannot accept or waive, even by calling the handlers.
    call(PortalDocumentsState.open_note, client, cond_id, "waive")
    assert not client.note_dialog
    doc = documents.upload(db, ui.client, ui.deal.id or 0, "statement.pdf", make_pdf(["stmt"]))
    db.commit()
    call(PortalDocumentsState.open_attach, client, cond_id)
    assert client.attach_dialog and [c[1] for c in client.attach_choices] == ["statement"]
    call(PortalDocumentsState.set_attach_choice, client, str(doc.id))
    call(PortalDocumentsState.attach_picked, client)
    assert client.conditions[0].status == "received" and not client.attach_dialog

    lend = _portal(engine, ui, "lender")
    assert lend.conditions[0].document_title == "statement"
    call(PortalDocumentsState.accept_condition, lend, cond_id)
    assert lend.conditions[0].status == "accepted" and lend.cond_counts["accepted"] == 1


def test_an_upload_for_a_condition_is_attached_when_the_page_comes_back(
    db: Session, engine: Engine, ui: World
) -> None:
    cond = lender.add_condition(db, ui.lender, ui.deal.id or 0, title="Insurance binder")
    db.commit()
    client = _portal(engine, ui, "client")
    call(PortalDocumentsState.open_attach, client, cond.id)
    # What /files/upload does, then the redirect back to the page with its outcome.
    doc = documents.upload(db, ui.client, ui.deal.id or 0, "binder.pdf", make_pdf(["binder"]))
    db.commit()
    token = documents.encode_notice({"saved": [{"id": doc.id, "title": doc.title, "v": 1}]})
    state = make_state(
        PortalDocumentsState,
        engine,
        ui.client,
        "/portal/[txn_id]",
        {"txn_id": str(ui.deal.id), "upload": token},
    )
    state._attach_upload = dict(client._attach_upload)
    call(PortalDocumentsState.load, state)
    assert state.cond_notice == "Sent “binder” for “Insurance binder”."
    assert state.conditions[0].status == "received"
    assert state._attach_upload == {}
    db.expire_all()
    assert db.get(Document, doc.id).share_lender  # type: ignore[union-attr]
    # The same token again attaches nothing more.
    call(PortalDocumentsState.load, state)
    assert state.cond_notice == ""


def test_the_attorney_has_no_condition_section(db: Session, engine: Engine, ui: World) -> None:
    lender.add_condition(db, ui.lender, ui.deal.id or 0, title="Pay stubs")
    db.commit()
    state = _portal(engine, ui, "attorney")
    assert state.found and state.conditions == [] and "Pay stubs" not in _dump(state)
    call(PortalDocumentsState.open_add_condition, state)
    call(PortalDocumentsState.set_cond_field, state, "cond_title", "Sneaky")
    call(PortalDocumentsState.save_condition, state)
    assert state.cond_error and "Sneaky" not in [
        c.title for c in db.exec(select(LenderCondition)).all()
    ]


def test_the_staff_panel_manages_conditions(db: Session, engine: Engine, ui: World) -> None:
    panel = _panel(engine, ui, "coordinator")
    assert panel.cond_shown  # the deal has a lender
    call(LenderPanelState.open_add_condition, panel)
    call(LenderPanelState.set_cond_field, panel, "cond_title", "Final walkthrough photos")
    call(LenderPanelState.save_condition, panel)
    cond_id = panel.conditions[0].id
    call(LenderPanelState.open_note, panel, cond_id, "waive")
    call(LenderPanelState.submit_note, panel)
    assert panel.note_error == "Say why the condition is waived." and panel.note_dialog
    call(LenderPanelState.set_note_text, panel, "Not needed for this loan")
    call(LenderPanelState.submit_note, panel)
    assert panel.conditions[0].status == "waived" and not panel.note_dialog


@pytest.mark.parametrize("who", ["client", "lender", "attorney", "agent2", "outsider_admin"])
def test_the_staff_panel_loads_nothing_for_others(
    db: Session, engine: Engine, ui: World, who: str
) -> None:
    lender.add_condition(db, ui.lender, ui.deal.id or 0, title="Pay stubs")
    db.commit()
    panel = _panel(engine, ui, who)
    assert panel.conditions == [] and not panel.cond_shown and "Pay stubs" not in _dump(panel)


def test_the_lenders_portal_card_counts_open_conditions(
    db: Session, engine: Engine, ui: World
) -> None:
    from chronos.pages.portal import PortalState

    lender.add_condition(db, ui.lender, ui.deal.id or 0, title="Pay stubs")
    lender.add_condition(db, ui.agent, ui.deal.id or 0, title="Insurance binder")
    db.commit()
    state = make_state(PortalState, engine, ui.lender, "/portal")
    call(PortalState.load, state)
    assert [d.text for d in state.cards[0].dates][:1] == ["Open loan conditions: 2"]
    for who in ("client", "attorney"):
        other = make_state(PortalState, engine, ui.user(who), "/portal")
        call(PortalState.load, other)
        assert not any("loan conditions" in d.text for c in other.cards for d in c.dates)


def test_a_lender_login_on_the_file_in_another_role_gets_documents_but_no_tracker(
    db: Session, engine: Engine, ui: World
) -> None:
    from chronos.models import Participant
    from tests.factories import participant_of

    _seed(db, ui)
    lender.add_condition(db, ui.agent, ui.deal.id or 0, title="Pay stubs")
    row: Participant = participant_of(db, ui.deal, ui.lender)
    row.role = "other"
    db.add(row)
    db.commit()
    state = _portal(engine, ui, "lender")
    assert state.found and _titles(state) == SEES["lender"]
    assert not state.cond_shown and state.conditions == [] and "Pay stubs" not in _dump(state)
