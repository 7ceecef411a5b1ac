"""The form and packet handlers: the admin page is admins' only and never shows another
brokerage's templates; the transaction panel loads nothing for outside parties or staff who
are not on the file, and its actions refuse them; staff fill forms and split packets."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy.engine import Engine
from sqlmodel import Session, select

from chronos import routes
from chronos.models import Document, DocumentSlot, FormTemplate
from chronos.pages.admin_forms import EMPTY, FormAdminState
from chronos.pages.transaction_forms import NO_SLOT, FormsPanelState
from chronos.services import documents, forms
from tests.factories import World
from tests.support.pdfs import make_form_pdf, make_pdf
from tests.unit.test_state_handlers import call, make_state, redirect_path

PACKET = [
    "RESIDENTIAL PURCHASE AND SALE AGREEMENT\nPage 1 of 2",
    "Signatures\nPage 2 of 2",
    "SELLER'S PROPERTY DISCLOSURE STATEMENT\nSection A",
]


def _template(db: Session, world: World, name: str = "Purchase agreement") -> FormTemplate:
    tpl = forms.create_form_template(
        db,
        world.admin,
        name,
        "contract",
        "purchase.pdf",
        make_form_pdf(["Buyer Name", "Closing Date", "Notes"]),
    )
    db.commit()
    return tpl


def _packet(db: Session, world: World) -> Document:
    db.add(
        DocumentSlot(
            org_id=world.harbor.id or 0,
            transaction_id=world.deal.id or 0,
            key="purchase_agreement",
            name="Purchase agreement",
            hint="purchase and sale",
        )
    )
    doc = documents.upload(
        db, world.agent, world.deal.id or 0, "packet.pdf", make_pdf(PACKET), title="Packet"
    )
    db.commit()
    return doc


def _admin_page(engine: Engine, world: World, persona: str, params: dict[str, str] | None = None):  # type: ignore[no-untyped-def]
    state = make_state(FormAdminState, engine, world.user(persona), routes.ADMIN_FORMS, params)
    result = call(FormAdminState.load, state)
    return state, result


def _panel(engine: Engine, world: World, persona: str, txn_id: int | None = None) -> Any:
    state = make_state(
        FormsPanelState,
        engine,
        world.user(persona),
        "/transactions/[txn_id]",
        {"txn_id": str(txn_id or world.deal.id)},
    )
    call(FormsPanelState.load, state)
    return state


def _dump(state: Any) -> str:
    return repr({k: getattr(state, k) for k in state.base_vars})


@pytest.mark.parametrize("persona", ["agent", "coordinator", "client", "attorney", "lender"])
def test_the_admin_page_refuses_everyone_but_admins(
    db: Session, engine: Engine, ui: World, persona: str
) -> None:
    tpl = _template(db, ui)
    state, result = _admin_page(engine, ui, persona)
    assert redirect_path(result) == routes.home_for(ui.user(persona).role)
    assert state.rows == [] and state.mapping == []
    call(FormAdminState.edit, state, tpl.id)
    assert state.mapping == [] and not state.editing and state.key_choices == []
    assert "Purchase agreement" not in _dump(state)


def test_another_brokerages_admin_sees_none_of_ours(db: Session, engine: Engine, ui: World) -> None:
    tpl = _template(db, ui)
    state, result = _admin_page(engine, ui, "outsider_admin")
    assert redirect_path(result) == "" and state.rows == []
    call(FormAdminState.edit, state, tpl.id)
    assert state.error == "Form not found." and state.mapping == []
    assert "Buyer Name" not in _dump(state)


def test_the_admin_maps_fields_after_an_upload(db: Session, engine: Engine, ui: World) -> None:
    tpl = _template(db, ui)
    token = documents.encode_notice(
        {"saved": [{"id": tpl.id, "title": tpl.name, "fields": 3}], "errors": []}
    )
    state, _ = _admin_page(engine, ui, "admin", {"upload": token})
    assert [r.name for r in state.rows] == ["Purchase agreement"]
    assert state.editing and "3 fillable fields" in state.notice
    keys = {r.name: r.data_key for r in state.mapping}
    assert keys == {"Buyer Name": "buyer_names", "Closing Date": "closing_date", "Notes": EMPTY}
    assert state.key_choices[0].key == EMPTY and len(state.key_choices) == len(forms.DATA_KEYS) + 1
    assert f"/files/form-template/{tpl.id}/preview?" in state.preview_url
    notes = [r.name for r in state.mapping].index("Notes")
    call(FormAdminState.set_key, state, notes, "key_date:inspection")
    call(FormAdminState.set_key, state, 0, EMPTY)
    call(FormAdminState.save, state)
    assert not state.editing and state.notice.startswith("Saved “Purchase agreement”")
    db.expire_all()
    saved = db.get(FormTemplate, tpl.id)
    assert saved is not None
    assert saved.mapping == {"Closing Date": "closing_date", "Notes": "key_date:inspection"}
    call(FormAdminState.toggle_active, state, tpl.id, False)
    assert state.rows[0].is_active is False


def test_an_upload_error_is_shown(db: Session, engine: Engine, ui: World) -> None:
    token = documents.encode_notice({"errors": ["This PDF has no fillable fields: x.pdf"]})
    state, _ = _admin_page(engine, ui, "admin", {"upload": token})
    assert state.upload_errors == ["This PDF has no fillable fields: x.pdf"]
    forged, _ = _admin_page(engine, ui, "admin", {"upload": token[:-2] + "xx"})
    assert forged.upload_errors == []


@pytest.mark.parametrize("persona", ["client", "attorney", "lender", "agent2", "outsider_agent"])
def test_the_panel_loads_nothing_for_other_personas(
    db: Session, engine: Engine, ui: World, persona: str
) -> None:
    tpl = _template(db, ui)
    packet = _packet(db, ui)
    state = _panel(engine, ui, persona)
    assert not state.visible and state.templates == [] and state.packet_docs == []
    # forcing the actions
    state.template_choice = str(tpl.id)
    result = call(FormsPanelState.generate, state)
    assert state.result_title == "" and state.result_empty == []
    if ui.user(persona).is_staff:
        assert state.form_error == "Transaction not found."
    else:
        assert redirect_path(result) != ""
    call(FormsPanelState.choose_packet, state, str(packet.id))
    assert state.parts == []
    state.packet_choice = str(packet.id)
    state.parts = []
    call(FormsPanelState.split, state)
    db.expire_all()
    assert db.exec(select(Document).where(Document.source.in_(["form", "split"]))).all() == []  # type: ignore[attr-defined]
    dump = _dump(state)
    assert "Purchase agreement" not in dump and "Packet" not in dump


def test_staff_fill_a_form_and_see_what_was_left_empty(
    db: Session, engine: Engine, ui: World
) -> None:
    tpl = _template(db, ui)
    state = _panel(engine, ui, "coordinator")
    assert state.visible and [t.label for t in state.templates] == ["Purchase agreement"]
    call(FormsPanelState.generate, state)
    assert state.form_error == "Choose a form to fill."
    call(FormsPanelState.set_template_choice, state, str(tpl.id))
    result = call(FormsPanelState.generate, state)
    assert result  # refreshes the timeline and the documents list
    assert state.result_title == "Purchase agreement \u2013 12 Harbor View Rd"
    assert [(e.name, e.reason) for e in state.result_empty] == [
        ("Notes", "not mapped to file data")
    ]
    assert state.result_summary == "1 field left empty:"
    # a second time is the same file: a clear refusal, not a second copy
    call(FormsPanelState.generate, state)
    assert "already on this transaction" in state.form_error and state.result_title == ""


def test_staff_split_a_packet_from_the_suggestion(db: Session, engine: Engine, ui: World) -> None:
    packet = _packet(db, ui)
    state = _panel(engine, ui, "agent")
    assert [d.id for d in state.packet_docs] == [str(packet.id)]
    call(FormsPanelState.choose_packet, state, str(packet.id))
    assert [(p.start, p.end, p.title) for p in state.parts] == [
        ("1", "2", "Purchase agreement"),
        ("3", "3", "Seller's Property Disclosure Statement"),
    ]
    assert state.parts[0].slot != NO_SLOT and state.parts[1].slot == NO_SLOT
    assert "/page/1?" in state.parts[0].thumb and "/page/3?" in state.parts[1].thumb
    # a bad edit gets its error on its row and saves nothing
    call(FormsPanelState.set_part, state, 1, "end", "9")
    call(FormsPanelState.split, state)
    assert state.parts[1].error == "Part 2: the packet has 3 pages; page 9 does not exist."
    assert db.exec(select(Document).where(Document.source == "split")).all() == []
    call(FormsPanelState.set_part, state, 1, "end", "3")
    call(FormsPanelState.set_part, state, 1, "start", "2")
    assert "/page/2?" in state.parts[1].thumb
    call(FormsPanelState.split, state)
    assert state.parts[1].error == "Part 2 (pages 2\u20133) overlaps part 1 (pages 1\u20132)."
    call(FormsPanelState.set_part, state, 1, "start", "3")
    call(FormsPanelState.split, state)
    assert state.split_notice.startswith("Split into 2 documents: “Purchase agreement”")
    assert state.parts == [] and state.split_error == ""
    db.expire_all()
    assert len(db.exec(select(Document).where(Document.source == "split")).all()) == 2
