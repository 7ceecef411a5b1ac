"""Message attachments link to the file's documents and keep the documents' access rules:
a reader sees only attachments shared with them; nobody attaches what they cannot see or a
document of another file."""

from __future__ import annotations

import pytest
from sqlalchemy.engine import Engine
from sqlmodel import Session

from chronos.pages.portal_messages import PortalMessagesState
from chronos.services import documents, messages
from chronos.services.errors import ValidationFailed
from tests.factories import World, participant_of
from tests.support import pdfs
from tests.unit.test_state_handlers import call, make_state


def _docs(db: Session, world: World) -> tuple[int, int]:
    internal = documents.upload(
        db, world.agent, world.deal.id, "net.pdf", pdfs.make_pdf(["Net"]), title="Net sheet"
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


def _thread_with_client(db: Session, world: World, attach: list[int]) -> int:
    thread = messages.start_thread(
        db,
        world.agent,
        world.deal.id,
        subject="Paperwork",
        body="Here they are",
        member_ids=[participant_of(db, world.deal, world.client).id or 0],
        attachment_ids=attach,
    )
    db.commit()
    return thread.id or 0


def test_each_reader_sees_only_the_attachments_shared_with_them(db: Session, world: World) -> None:
    internal, shared = _docs(db, world)
    thread_id = _thread_with_client(db, world, [internal, shared])
    staff_view = messages.read_thread(db, world.agent, thread_id)
    assert [a.title for a in staff_view.messages.items[0].attached] == ["Net sheet", "Signed offer"]
    client_view = messages.read_thread(db, world.client, thread_id)
    assert [a.title for a in client_view.messages.items[0].attached] == ["Signed offer"]
    # Sharing withdrawn later: the attachment disappears for the client too.
    documents.update_document(db, world.agent, shared, share=documents.Share())
    db.commit()
    assert messages.read_thread(db, world.client, thread_id).messages.items[0].attached == []


def test_nobody_attaches_what_they_cannot_see_or_another_files_document(
    db: Session, world: World
) -> None:
    internal, shared = _docs(db, world)
    thread_id = _thread_with_client(db, world, [])
    with pytest.raises(ValidationFailed, match="not available to you"):
        messages.post_message(db, world.client, thread_id, "see this", [internal])
    other = documents.upload(
        db, world.agent2, world.other_deal.id, "x.pdf", pdfs.make_pdf(["Other"]), title="Other"
    )
    db.commit()
    with pytest.raises(ValidationFailed, match="not available to you"):
        messages.post_message(db, world.agent, thread_id, "wrong file", [other.id or 0])
    with pytest.raises(ValidationFailed, match="at most 10"):
        messages.post_message(db, world.agent, thread_id, "many", list(range(1, 12)))
    # The client may attach what is shared with them.
    messages.post_message(db, world.client, thread_id, "signed copy", [shared])
    db.commit()
    last = messages.read_thread(db, world.agent, thread_id).messages.items[-1]
    assert [a.id for a in last.attached] == [shared]


def test_the_clients_panel_offers_and_opens_only_shared_documents(
    db: Session, engine: Engine, ui: World
) -> None:
    internal, shared = _docs(db, ui)
    thread_id = _thread_with_client(db, ui, [internal, shared])
    state = make_state(
        PortalMessagesState,
        engine,
        ui.client,
        "/portal/[txn_id]",
        {"txn_id": str(ui.deal.id)},
    )
    call(PortalMessagesState.load, state)
    assert [a.title for a in state.attach_choices] == ["Signed offer"]
    call(PortalMessagesState.toggle_attach, state, internal, True)
    assert state.reply_attach == []  # not offered, so not taken
    call(PortalMessagesState.open_thread, state, thread_id)
    assert [[a.title for a in m.attached] for m in state.thread_msgs] == [["Signed offer"]]
    assert "Net sheet" not in repr({k: getattr(state, k) for k in state.base_vars})
    call(PortalMessagesState.open_attachment, state, internal)
    assert state.error == "Document not found."
    state.error = ""
    result = call(PortalMessagesState.open_attachment, state, shared)
    assert result is not None and state.error == ""
    call(PortalMessagesState.toggle_attach, state, shared, True)
    call(PortalMessagesState.set_reply, state, "Signed and back")
    call(PortalMessagesState.send_reply, state)
    assert state.reply_attach == [] and state.thread_msgs[-1].attached[0].id == shared
