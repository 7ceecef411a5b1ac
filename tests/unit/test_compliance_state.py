"""Handlers of the required-documents card, the review queue and the admin editor: the right
personas work them; everyone else loads nothing, changes nothing and never holds slot data."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy.engine import Engine
from sqlmodel import Session, func, select

from chronos.models import ComplianceTemplate, Document, DocumentSlot
from chronos.pages.admin_compliance import ComplianceAdminState
from chronos.pages.review import ReviewState
from chronos.pages.transaction_compliance import CompliancePanelState
from chronos.services import compliance, documents
from tests.factories import World
from tests.support.pdfs import make_pdf
from tests.unit.test_state_handlers import call, make_state, redirect_path

NOTE = "Initials missing on page 3"


def _seed(db: Session, world: World) -> dict[str, Any]:
    tpls = compliance.seed_default_templates(db, world.harbor.id or 0)
    buyer = next(t for t in tpls if t.side == "buyer")
    compliance.apply_template(db, world.agent, world.deal.id or 0, buyer.id or 0)
    slot = db.exec(
        select(DocumentSlot).where(
            DocumentSlot.transaction_id == world.deal.id, DocumentSlot.key == "inspection_report"
        )
    ).one()
    doc = documents.upload(
        db,
        world.agent,
        world.deal.id or 0,
        "inspection.pdf",
        make_pdf(["Inspection report"], signature_fields=["Buyer Signature"]),
        slot_id=slot.id,
    )
    db.commit()
    return {"template": buyer.id, "slot": slot.id, "doc": doc.id}


def _panel(engine: Engine, world: World, who: str) -> Any:
    state = make_state(
        CompliancePanelState,
        engine,
        world.user(who),
        "/transactions/[txn_id]",
        {"txn_id": str(world.deal.id)},
    )
    call(CompliancePanelState.load, state)
    return state


def _review(engine: Engine, world: World, who: str) -> tuple[Any, Any]:
    state = make_state(ReviewState, engine, world.user(who), "/review")
    return state, call(ReviewState.load, state)


def _dump(state: Any) -> str:
    return repr({k: getattr(state, k) for k in state.base_vars})


def _count(db: Session, model: Any) -> int:
    db.expire_all()
    return int(db.exec(select(func.count()).select_from(model)).one())


# --- the transaction page's card ------------------------------------------------------------


def test_staff_see_the_list_with_states_and_what_blocks_closing(
    db: Session, engine: Engine, ui: World
) -> None:
    _seed(db, ui)
    state = _panel(engine, ui, "coordinator")
    assert state.loaded and len(state.rows) == 9
    row = next(r for r in state.rows if r.key == "inspection_report")
    assert (row.state, row.precheck) == ("pending", "Buyer Signature")
    assert "Inspection report: awaiting review" in state.missing
    assert (state.accepted, state.required, state.is_closed) == (0, 7, False)
    assert state.upload_action.endswith(f"/files/upload?next=/transactions/{ui.deal.id}")


def test_staff_add_and_remove_items_and_apply_checklists(
    db: Session, engine: Engine, ui: World
) -> None:
    ids = _seed(db, ui)
    state = _panel(engine, ui, "agent")
    call(CompliancePanelState.open_add, state)
    call(CompliancePanelState.add_slot, state, {})
    assert state.add_errors == {"name": "Name is required."} and state.add_open
    call(CompliancePanelState.set_add_name, state, "Septic inspection")
    call(CompliancePanelState.set_add_category, state, "inspection")
    call(CompliancePanelState.add_slot, state, {})
    assert not state.add_open and state.rows[-1].name == "Septic inspection"
    call(CompliancePanelState.remove_slot, state, state.rows[-1].id)
    assert "Septic inspection" not in [r.name for r in state.rows]
    state.picked_template = str(ids["template"])
    call(CompliancePanelState.apply_template, state)
    assert state.notice == "Checklist applied: 0 documents added." and state.error == ""


def test_the_card_reports_a_slot_upload_coming_back(db: Session, engine: Engine, ui: World) -> None:
    ids = _seed(db, ui)
    token = documents.encode_notice(
        {
            "saved": [{"id": ids["doc"], "title": "inspection", "v": 1}],
            "errors": ["x.exe: no"],
            "origin": "compliance",
        }
    )
    state = make_state(
        CompliancePanelState,
        engine,
        ui.agent,
        "/transactions/[txn_id]",
        {"txn_id": str(ui.deal.id), "upload": token},
    )
    call(CompliancePanelState.load, state)
    assert "filed as Inspection report" in state.notice
    assert state.error == "x.exe: no"


@pytest.mark.parametrize("who", ["client", "attorney", "lender"])
def test_outside_parties_get_no_slot_data_and_change_nothing(
    db: Session, engine: Engine, ui: World, who: str
) -> None:
    ids = _seed(db, ui)
    state = _panel(engine, ui, who)
    assert not state.loaded and state.rows == [] and state.missing == []
    assert "Inspection report" not in _dump(state)
    slots = _count(db, DocumentSlot)
    state.txn_id = ui.deal.id
    assert redirect_path(call(CompliancePanelState.remove_slot, state, ids["slot"])) == "/portal"
    state.add_name = "Sneaky"
    assert redirect_path(call(CompliancePanelState.add_slot, state, {})) == "/portal"
    state.picked_template = str(ids["template"])
    assert redirect_path(call(CompliancePanelState.apply_template, state)) == "/portal"
    call(CompliancePanelState.open_preview, state, ids["doc"], 1)
    assert state.preview_pages == [] and not state.preview_open
    assert _count(db, DocumentSlot) == slots


@pytest.mark.parametrize("who", ["agent2", "outsider_agent", "outsider_admin"])
def test_staff_off_the_file_load_nothing(db: Session, engine: Engine, ui: World, who: str) -> None:
    ids = _seed(db, ui)
    state = _panel(engine, ui, who)
    assert not state.loaded and state.rows == []
    slots = _count(db, DocumentSlot)
    state.txn_id = ui.deal.id
    call(CompliancePanelState.remove_slot, state, ids["slot"])
    assert state.error and state.rows == []
    call(CompliancePanelState.open_preview, state, ids["doc"], 1)
    assert state.preview_pages == [] and not state.preview_open
    assert _count(db, DocumentSlot) == slots


# --- the review queue -----------------------------------------------------------------------


def test_the_admin_works_the_queue(db: Session, engine: Engine, ui: World) -> None:
    ids = _seed(db, ui)
    state, _ = _review(engine, ui, "admin")
    assert [r.document_id for r in state.rows] == [ids["doc"]]
    assert state.pending_total == 1 and state.rows[0].precheck == "Buyer Signature"
    call(ReviewState.open_preview, state, ids["doc"], state.rows[0].version_id, 1)
    assert state.preview_open and len(state.preview_pages) == 1
    assert "/files/" in state.preview_pages[0] and "/page/1" in state.preview_pages[0]
    call(ReviewState.open_return, state, ids["doc"], 1)
    call(ReviewState.send_return, state, {})
    assert state.return_error == "Say what needs fixing." and state.return_open
    call(ReviewState.set_return_note, state, NOTE)
    call(ReviewState.send_return, state, {})
    assert not state.return_open and state.rows == [] and state.pending_total == 0
    db.expire_all()
    doc = db.get(Document, ids["doc"])
    assert doc is not None and (doc.review_status, doc.review_note) == ("returned", NOTE)
    call(ReviewState.set_status, state, "returned")
    assert [r.note for r in state.rows] == [NOTE]
    call(ReviewState.accept, state, ids["doc"], 1)
    assert state.rows == [] and state.notice.startswith("Accepted")


def test_a_stale_decision_is_refused_with_a_message(db: Session, engine: Engine, ui: World) -> None:
    ids = _seed(db, ui)
    state, _ = _review(engine, ui, "admin")
    documents.upload(
        db, ui.agent, ui.deal.id or 0, "v2.pdf", make_pdf(["Inspection v2"]), document_id=ids["doc"]
    )
    db.commit()
    call(ReviewState.accept, state, ids["doc"], 1)
    assert "newer version" in state.error
    assert state.rows[0].version == 2  # reloaded: the admin sees what arrived
    db.expire_all()
    assert db.get(Document, ids["doc"]).review_status == "pending"  # type: ignore[union-attr]


@pytest.mark.parametrize(
    ("who", "home"),
    [
        ("agent", "/pipeline"),
        ("coordinator", "/pipeline"),
        ("client", "/portal"),
        ("attorney", "/portal"),
        ("lender", "/portal"),
    ],
)
def test_only_admins_load_or_decide(
    db: Session, engine: Engine, ui: World, who: str, home: str
) -> None:
    ids = _seed(db, ui)
    state, loaded = _review(engine, ui, who)
    assert redirect_path(loaded) == home
    assert state.rows == [] and state.pending_total == 0
    assert redirect_path(call(ReviewState.accept, state, ids["doc"], 1)) == home
    state.return_id, state.return_version, state.return_note = ids["doc"], 1, "no"
    assert redirect_path(call(ReviewState.send_return, state, {})) == home
    call(ReviewState.open_preview, state, ids["doc"], 1, 1)
    assert state.preview_pages == []
    db.expire_all()
    assert db.get(Document, ids["doc"]).review_status == "pending"  # type: ignore[union-attr]


def test_another_brokerages_admin_sees_and_decides_nothing(
    db: Session, engine: Engine, ui: World
) -> None:
    ids = _seed(db, ui)
    state, _ = _review(engine, ui, "outsider_admin")
    assert state.rows == [] and state.pending_total == 0
    call(ReviewState.accept, state, ids["doc"], 1)
    assert state.error == "Document not found."
    db.expire_all()
    assert db.get(Document, ids["doc"]).review_status == "pending"  # type: ignore[union-attr]


# --- the admin editor -----------------------------------------------------------------------


def test_the_admin_edits_checklists_with_errors_per_row(
    db: Session, engine: Engine, ui: World
) -> None:
    state = make_state(ComplianceAdminState, engine, ui.admin, "/admin/compliance")
    call(ComplianceAdminState.load, state)
    assert {t.name for t in state.templates} == {
        "Buyer purchase",
        "Listing and sale",
        "Dual agency",
    }
    call(ComplianceAdminState.new_template, state)
    call(ComplianceAdminState.set_name, state, "Land purchase")
    call(ComplianceAdminState.add_doc, state)
    call(ComplianceAdminState.set_doc, state, 0, "name", "Survey")
    call(ComplianceAdminState.set_doc, state, 1, "name", "survey")
    call(ComplianceAdminState.save, state)
    assert state.editing and state.docs[1].error == "This document is already on the list."
    call(ComplianceAdminState.set_doc, state, 1, "name", "Perc test")
    call(ComplianceAdminState.set_doc, state, 1, "required", False)
    call(ComplianceAdminState.save, state)
    assert not state.editing and state.notice.startswith("Saved “Land purchase”")
    call(ComplianceAdminState.load, state)
    land = next(t for t in state.templates if t.name == "Land purchase")
    assert (land.item_count, land.required_count) == (2, 1)


@pytest.mark.parametrize("who", ["agent", "coordinator", "client", "outsider_agent"])
def test_the_editor_is_for_admins_only(db: Session, engine: Engine, ui: World, who: str) -> None:
    _seed(db, ui)
    state = make_state(ComplianceAdminState, engine, ui.user(who), "/admin/compliance")
    assert redirect_path(call(ComplianceAdminState.load, state))
    assert state.templates == []
    before = _count(db, ComplianceTemplate)
    state.name, state.docs = "x", []
    assert redirect_path(call(ComplianceAdminState.save, state))
    assert _count(db, ComplianceTemplate) == before


def test_a_brokerage_without_checklists_can_set_up_the_starter_ones(
    db: Session, engine: Engine, ui: World
) -> None:
    state = _panel(engine, ui, "agent")
    assert state.loaded and state.rows == [] and state.templates == [] and state.can_seed
    call(CompliancePanelState.use_starter_lists, state)
    assert not state.can_seed and len(state.templates) == 3
    assert state.picked_template == str(state.templates[0].id)
    call(CompliancePanelState.apply_template, state)
    assert state.notice == "Checklist applied: 9 documents added." and len(state.rows) == 9
