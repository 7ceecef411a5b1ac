"""The e-signature handlers: a non-signer's state never receives the request, wrong personas
cannot sign or send, the signer consents and signs (typed or drawn) from the page state, and
staff send, reorder and void from the panel."""

from __future__ import annotations

import base64
from typing import Any

from sqlalchemy.engine import Engine
from sqlmodel import Session, select

from chronos.models.document import SignatureRequest, SignatureSigner
from chronos.pages.portal_sign import PortalSignState, SignPageState
from chronos.pages.transaction_signatures import SignaturePanelState
from chronos.services import documents, signatures
from tests.factories import World, participant_of
from tests.support.pdfs import make_pdf
from tests.unit.test_signatures import _drawn
from tests.unit.test_state_handlers import call, make_state, redirect_path

TITLE = "Secret counter-offer"


def _seed(db: Session, world: World, *who: str) -> SignatureRequest:
    doc = documents.upload(
        db, world.agent, world.deal.id or 0, "counter.pdf", make_pdf(["Counter offer", "p2"])
    )
    req = signatures.request_signatures(
        db,
        world.agent,
        doc.id or 0,
        [participant_of(db, world.deal, world.user(w)).id or 0 for w in who],
        TITLE,
        "",
    )
    db.commit()
    return req


def _page(engine: Engine, world: World, who: str, req_id: int, txn_id: int = 0) -> Any:
    state = make_state(
        SignPageState,
        engine,
        world.user(who),
        "/portal/[txn_id]/sign/[request_id]",
        {"txn_id": str(txn_id or world.deal.id), "request_id": str(req_id)},
    )
    call(SignPageState.load, state)
    return state


def _panel(engine: Engine, world: World, who: str) -> Any:
    state = make_state(
        SignaturePanelState,
        engine,
        world.user(who),
        "/transactions/[txn_id]",
        {"txn_id": str(world.deal.id)},
    )
    call(SignaturePanelState.load, state)
    return state


def _portal(engine: Engine, world: World, who: str) -> Any:
    state = make_state(
        PortalSignState,
        engine,
        world.user(who),
        "/portal/[txn_id]",
        {"txn_id": str(world.deal.id)},
    )
    call(PortalSignState.load, state)
    return state


def _dump(state: Any) -> str:
    return repr({k: getattr(state, k) for k in state.base_vars})


def _signer(engine: Engine, req_id: int, position: int) -> SignatureSigner:
    with Session(engine) as db:
        return db.exec(
            select(SignatureSigner).where(
                SignatureSigner.request_id == req_id, SignatureSigner.position == position
            )
        ).one()


def test_non_signers_never_receive_the_request(db: Session, engine: Engine, ui: World) -> None:
    req = _seed(db, ui, "client")
    for who in ("lender", "attorney", "client2", "outsider_agent", "agent2"):
        page = _page(engine, ui, who, req.id or 0)
        assert page.not_found and not page.found and page.req is None and page.page_urls == []
        assert TITLE not in _dump(page)
        # forcing a signature changes nothing
        call(SignPageState.set_consent, page, True)
        call(SignPageState.submit_typed, page)
        assert page.req is None and TITLE not in _dump(page)
    assert _signer(engine, req.id or 0, 0).status == "notified"
    for who in ("lender", "attorney", "client2"):
        assert TITLE not in _dump(_portal(engine, ui, who))
    # the right request id under another transaction's URL is not found either
    wrong = _page(engine, ui, "client", req.id or 0, txn_id=ui.other_deal.id or 0)
    assert wrong.not_found and wrong.req is None


def test_outside_parties_get_nothing_from_the_staff_panel(
    db: Session, engine: Engine, ui: World
) -> None:
    _seed(db, ui, "client")
    for who in ("client", "attorney", "lender", "agent2", "outsider_admin"):
        panel = _panel(engine, ui, who)
        assert panel.sig_rows == [] and TITLE not in _dump(panel)
        result = call(SignaturePanelState.open_request, panel)
        assert panel.doc_options == [] and panel.signer_opts == []
        if who in ("client", "attorney", "lender"):
            assert redirect_path(result) == "/portal"


def test_the_client_signs_from_the_page_and_the_next_signer_is_up(
    db: Session, engine: Engine, ui: World
) -> None:
    req = _seed(db, ui, "client", "attorney")
    section = _portal(engine, ui, "client")
    assert [r.id for r in section.sign_rows] == [req.id] and section.sign_rows[0].my_turn
    # the attorney sees it, but not as theirs yet
    att = _page(engine, ui, "attorney", req.id or 0)
    assert att.found and att.req.my_turn is False and att.page_urls == []
    call(SignPageState.submit_typed, att)
    assert "not your turn" in att.errors["signature"]
    page = _page(engine, ui, "client", req.id or 0)
    assert page.found and page.req.my_turn and len(page.page_urls) == 2
    assert f"/files/{req.source_version_id}/page/1" in page.page_urls[0]
    assert page.typed_name == "Cora Client"
    call(SignPageState.submit_typed, page)
    assert "consent" in page.errors and page.done == ""
    call(SignPageState.set_consent, page, True)
    call(SignPageState.set_typed_name, page, "  ")
    call(SignPageState.submit_typed, page)
    assert "signature" in page.errors
    call(SignPageState.set_typed_name, page, "Cora B. Client")
    call(SignPageState.submit_typed, page)
    assert page.errors == {} and page.done == "Signed. Now waiting for Ava Attorney to sign."
    assert page.req.my_turn is False and page.page_urls == []
    signed = _signer(engine, req.id or 0, 0)
    assert signed.status == "signed" and signed.signature_text == "Cora B. Client"
    # a second submit from a stale page is refused
    call(SignPageState.submit_typed, page)
    assert "already signed" in page.errors["signature"]
    # the attorney draws and completes
    att = _page(engine, ui, "attorney", req.id or 0)
    call(SignPageState.set_consent, att, True)
    call(SignPageState.set_mode, att, "drawn")
    call(SignPageState.submit_drawn, att, "data:image/png;base64,")
    assert "signature" in att.errors
    call(SignPageState.submit_drawn, att, "data:image/png;base64,!!notbase64")
    assert "signature" in att.errors
    blank = base64.b64encode(_drawn(blank=True)).decode()
    call(SignPageState.submit_drawn, att, "data:image/png;base64," + blank)
    assert "empty" in att.errors["signature"]
    ink = base64.b64encode(_drawn()).decode()
    call(SignPageState.submit_drawn, att, "data:image/png;base64," + ink)
    assert att.errors == {} and att.done.startswith("Completed.")
    assert att.req.status == "completed" and att.req.signed_sha256
    result = call(SignPageState.download, att)
    assert result is not None
    with Session(engine) as s:
        assert s.get(SignatureRequest, req.id).status == "completed"  # type: ignore[union-attr]


def test_staff_send_reorder_and_void_from_the_panel(db: Session, engine: Engine, ui: World) -> None:
    documents.upload(db, ui.agent, ui.deal.id or 0, "lease.pdf", make_pdf(["Lease"]))
    db.commit()
    panel = _panel(engine, ui, "agent")
    assert panel.sig_rows == []
    call(SignaturePanelState.open_request, panel)
    assert panel.req_open and len(panel.doc_options) == 1 and panel.form_doc
    call(SignaturePanelState.send_request, panel)
    assert "signers" in panel.form_errors
    pid = {o.label.split(" (")[0]: o.participant_id for o in panel.signer_opts}
    call(SignaturePanelState.add_signer, panel, str(pid["Cora Client"]))
    call(SignaturePanelState.add_signer, panel, str(pid["Ava Attorney"]))
    call(SignaturePanelState.add_signer, panel, str(pid["Ava Attorney"]))  # no duplicates
    assert [c.participant_id for c in panel.chosen] == [pid["Cora Client"], pid["Ava Attorney"]]
    call(SignaturePanelState.move_signer, panel, 1, -1)
    assert panel.chosen[0].participant_id == pid["Ava Attorney"]
    call(SignaturePanelState.set_form_title, panel, "Lease signatures")
    call(SignaturePanelState.send_request, panel)
    assert not panel.req_open and panel.form_errors == {}
    (row,) = panel.sig_rows
    assert row.title == "Lease signatures" and [s.name for s in row.signers] == [
        "Ava Attorney",
        "Cora Client",
    ]
    assert row.signers[0].is_current
    call(SignaturePanelState.open_void, panel, row.id)
    call(SignaturePanelState.confirm_void, panel)
    assert panel.void_open and "why" in panel.void_error
    call(SignaturePanelState.set_void_reason, panel, "Wrong unit number")
    call(SignaturePanelState.confirm_void, panel)
    assert not panel.void_open and panel.sig_rows[0].status == "voided"
    # the attorney's page now says so and offers nothing to sign
    att = _page(engine, ui, "attorney", row.id)
    assert att.req.status == "voided" and att.page_urls == []


def test_signed_out_visitors_are_sent_to_sign_in(db: Session, engine: Engine, ui: World) -> None:
    req = _seed(db, ui, "client")
    state = make_state(
        SignPageState,
        engine,
        None,
        "/portal/[txn_id]/sign/[request_id]",
        {"txn_id": str(ui.deal.id), "request_id": str(req.id)},
    )
    result = call(SignPageState.load, state)
    assert redirect_path(result).startswith("/sign-in")
    assert state.req is None and TITLE not in _dump(state)
    call(SignPageState.set_consent, state, True)
    assert redirect_path(call(SignPageState.submit_typed, state)).startswith("/sign-in")
    assert _signer(engine, req.id or 0, 0).status == "notified"


def test_a_staff_signer_is_offered_to_sign_from_the_panel(
    db: Session, engine: Engine, ui: World
) -> None:
    req = _seed(db, ui, "coordinator", "client")
    coord = _panel(engine, ui, "coordinator")
    assert coord.sig_rows[0].my_turn
    assert not _panel(engine, ui, "agent").sig_rows[0].my_turn
    page = _page(engine, ui, "coordinator", req.id or 0)
    assert page.found and page.back_href == f"/transactions/{ui.deal.id}"
    call(SignPageState.set_consent, page, True)
    call(SignPageState.submit_typed, page)
    assert page.done == "Signed. Now waiting for Cora Client to sign."
