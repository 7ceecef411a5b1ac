"""The compose panel and the templates page, driven through their Reflex handlers."""

from __future__ import annotations

from datetime import timedelta
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy.engine import Engine
from sqlmodel import Session, select

import chronos.jobs
from chronos.models import EmailMessage, Event, utcnow
from chronos.models.message import EmailTemplate
from chronos.pages.email_templates import TemplatesState
from chronos.pages.transaction_compose import ComposeState
from tests.factories import World, participant_of
from tests.unit.test_state_handlers import call, make_state, redirect_path


@pytest.fixture(autouse=True)
def no_jobs(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    ids: list[int] = []
    monkeypatch.setattr(chronos.jobs, "enqueue_delivery", ids.append)
    return ids


def _panel(engine: Engine, world: World, persona: str, txn_id: int | None = None):  # type: ignore[no-untyped-def]
    state = make_state(
        ComposeState,
        engine,
        world.user(persona),
        "/transactions/[txn_id]",
        {"txn_id": str(txn_id or world.deal.id)},
    )
    call(ComposeState.load, state)
    return state


def test_agent_picks_a_template_sees_the_flag_fixes_it_and_sends(
    db: Session, engine: Engine, ui: World
) -> None:
    state = _panel(engine, ui, "agent")
    assert state.ready and {r.email for r in state.recipients} >= {"cora.client@example.com"}
    closing = next(t for t in state.templates if t.name == "Closing reminder")
    cora = participant_of(db, ui.deal, ui.client).id
    call(ComposeState.toggle_recipient, state, cora, True)
    call(ComposeState.pick_template, state, str(closing.id))
    assert "{{ closing_date }}" in state.subject and state.unknown == []
    call(ComposeState.set_body, state, state.body + "\nYour lender: {{ title.name }}")
    call(ComposeState.check_text, state)
    assert state.empty == ["title.name"]
    call(ComposeState.send, state)  # refused: nothing recorded
    assert "title.name" in state.error
    assert db.exec(select(EmailMessage)).all() == []
    call(ComposeState.set_body, state, state.body.replace("{{ title.name }}", "{{ lender.name }}"))
    call(ComposeState.check_text, state)
    assert (state.unknown, state.empty) == ([], [])
    call(ComposeState.send, state)
    assert state.notice == "Sent to 1 person." and state.error == ""
    row = db.exec(select(EmailMessage)).one()
    assert row.to_address == "cora.client@example.com" and "Leo Lender" in row.text_body
    assert db.exec(select(Event).where(Event.kind == "email_sent")).one()


def test_schedule_and_cancel_from_the_panel(db: Session, engine: Engine, ui: World) -> None:
    state = _panel(engine, ui, "coordinator")
    call(ComposeState.status_update, state)
    assert state.body.startswith("Hi Cora,") and state.selected
    call(ComposeState.set_mode, state, "later")
    call(ComposeState.send, state)
    assert state.errors == {"send_at": "Pick a date and a time."}
    call(ComposeState.set_send_at, state, "2099-01-01T09:00")
    call(ComposeState.send, state)
    assert "90 days" in state.errors.get("send_at", "")
    at = (utcnow() + timedelta(days=3)).astimezone(ZoneInfo("America/New_York"))
    call(ComposeState.set_send_at, state, at.strftime("%Y-%m-%dT%H:%M"))
    call(ComposeState.send, state)
    assert state.notice == "Scheduled for 1 person." and state.error == ""
    assert len(state.scheduled) == 1
    message_id = state.scheduled[0].id
    # Another persona cannot cancel it through the panel.
    other = _panel(engine, ui, "agent2")
    call(ComposeState.cancel_scheduled, other, message_id)
    db.expire_all()
    assert db.get(EmailMessage, message_id).status == "queued"  # type: ignore[union-attr]
    call(ComposeState.cancel_scheduled, state, message_id)
    assert state.notice == "Scheduled email cancelled." and state.scheduled == []
    db.expire_all()
    assert db.get(EmailMessage, message_id).status == "cancelled"  # type: ignore[union-attr]


@pytest.mark.parametrize("persona", ["client", "attorney", "lender", "agent2", "outsider_admin"])
def test_nobody_else_loads_or_sends(db: Session, engine: Engine, ui: World, persona: str) -> None:
    state = _panel(engine, ui, persona)
    assert not state.ready and state.recipients == [] and state.templates == []
    state.selected = [participant_of(db, ui.deal, ui.client).id or 0]
    state.subject, state.body = "Hi", "Hello"
    result = call(ComposeState.send, state)
    assert db.exec(select(EmailMessage)).all() == []
    if persona in ("client", "attorney", "lender"):
        assert redirect_path(result) != ""
    call(ComposeState.status_update, state)
    assert state.body in ("", "Hello") and "Cora" not in state.body


def test_signed_out_send_redirects_to_sign_in(engine: Engine, ui: World) -> None:
    state = make_state(
        ComposeState, engine, None, "/transactions/[txn_id]", {"txn_id": str(ui.deal.id)}
    )
    assert redirect_path(call(ComposeState.send, state)).startswith("/sign-in")


# ----------------------------------------------------------------------------- templates page


def _templates(engine: Engine, world: World, persona: str):  # type: ignore[no-untyped-def]
    state = make_state(TemplatesState, engine, world.user(persona), "/templates")
    return state, call(TemplatesState.load, state)


def test_an_agent_writes_a_personal_template_with_a_live_preview(
    db: Session, engine: Engine, ui: World
) -> None:
    state, _ = _templates(engine, ui, "agent")
    assert {t.name for t in state.rows} >= {"Closing reminder"}
    assert str(ui.deal.id) in {f.value for f in state.files}
    state.preview_txn = str(ui.deal.id)
    call(TemplatesState.new, state)
    call(TemplatesState.set_name, state, "Hello")
    call(TemplatesState.set_scope, state, "brokerage")  # not an admin: refused on save
    call(TemplatesState.set_subject, state, "About {{ address }}")
    call(TemplatesState.set_body, state, "Hi {{ recipient.first_name }}, {{ title.name }}")
    call(TemplatesState.refresh_preview, state)
    assert state.preview_subject.startswith("About 12 Harbor View Rd")
    assert state.preview_body == "Hi Cora, [missing: title.name]"
    assert state.preview_empty == ["title.name"]
    call(TemplatesState.save, state)
    assert "admin" in state.form_errors.get("name", "")
    call(TemplatesState.set_scope, state, "personal")
    call(TemplatesState.save, state)
    assert state.notice == "Saved." and not state.editing
    mine = db.exec(select(EmailTemplate).where(EmailTemplate.name == "Hello")).one()
    assert mine.owner_id == ui.agent.id
    # Nobody else sees it.
    other, _ = _templates(engine, ui, "coordinator")
    assert "Hello" not in {t.name for t in other.rows}
    call(TemplatesState.open, other, mine.id)
    assert not other.editing and other.form_body == ""


def test_a_brokerage_template_opens_as_a_copy_for_non_admins(
    db: Session, engine: Engine, ui: World
) -> None:
    state, _ = _templates(engine, ui, "agent")
    closing = next(t for t in state.rows if t.name == "Closing reminder")
    assert not closing.can_edit
    call(TemplatesState.open, state, closing.id)
    assert state.edit_id == 0 and state.form_name == "Closing reminder (copy)"
    admin, _ = _templates(engine, ui, "admin")
    call(TemplatesState.open, admin, closing.id)
    assert admin.edit_id == closing.id


@pytest.mark.parametrize("persona", ["client", "attorney", "lender"])
def test_outside_parties_are_sent_away_from_templates(
    engine: Engine, ui: World, persona: str
) -> None:
    state, result = _templates(engine, ui, persona)
    assert redirect_path(result) != "" and state.rows == [] and state.files == []
