"""Automations: rules validated in the builder, fired once per occurrence, run with retries,
failures visible, and only admins edit them."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy.engine import Engine
from sqlmodel import Session, select

from chronos.models import AutomationRun, EmailMessage, Event, Notification, Task, utcnow
from chronos.services import automations, key_dates, tasks, transactions
from chronos.services import checklist_templates as templates
from chronos.services.errors import NotFound, PermissionDenied, ValidationFailed
from tests.factories import World, event_kinds

NOON = datetime(2024, 1, 20, 17, 0, tzinfo=UTC)  # 12:00 in New York, Sat 20 Jan 2024


def _rule(db: Session, world: World, **overrides: Any) -> Any:
    data: dict[str, Any] = {
        "name": "Clear to close: tell the client",
        "trigger": "stage_changed",
        "trigger_config": {"stage": "clear_to_close"},
        "conditions": {"side": "any", "property_type": "any"},
        "actions": [
            {
                "type": "email",
                "to": "clients",
                "subject": "{address} is clear to close",
                "message": "Hi {recipient_name}, closing is set for {closing_date}.",
            },
            {"type": "notify", "to": "staff", "message": "{address}: client emailed"},
        ],
    }
    data.update(overrides)
    rule = automations.create_rule(db, world.admin, data)
    db.commit()
    return rule


def _runs(db: Session) -> list[AutomationRun]:
    db.expire_all()
    return list(db.exec(select(AutomationRun).order_by(AutomationRun.id)).all())  # type: ignore[arg-type]


def test_a_stage_change_runs_the_rule_once(db: Session, engine: Engine, world: World) -> None:
    _rule(db, world)
    transactions.change_stage(db, world.agent, world.deal.id or 0, "clear_to_close")
    db.commit()
    [run] = _runs(db)
    assert run.status == "pending"
    first = automations.run_pending(engine)
    second = automations.run_pending(engine)
    assert (first.done, second.done) == (1, 0)
    [run] = _runs(db)
    assert (run.status, run.result) == ("done", "1 emailed; 2 notified")
    [email] = db.exec(
        select(EmailMessage).where(EmailMessage.template == "automation_message")
    ).all()
    assert email.to_address == world.client.email
    assert email.subject == "12 Harbor View Rd, Portland, ME 04101 is clear to close"
    assert "Hi Cora, closing is set for Tue 20 Feb 2024." in email.text_body
    notified = {
        n.user_id for n in db.exec(select(Notification).where(Notification.kind == "automation"))
    }
    assert notified == {world.agent.id, world.coordinator.id}
    assert "automation_ran" in event_kinds(db, world.deal.id)


def test_each_arrival_at_the_stage_is_its_own_occurrence(db: Session, world: World) -> None:
    _rule(db, world)
    for stage in ("clear_to_close", "under_contract", "clear_to_close"):
        transactions.change_stage(db, world.agent, world.deal.id or 0, stage)
        db.commit()
    assert len(_runs(db)) == 2


def test_conditions_narrow_the_files(db: Session, world: World) -> None:
    _rule(db, world, conditions={"side": "seller", "property_type": "any"})
    transactions.change_stage(db, world.agent, world.deal.id or 0, "clear_to_close")
    db.commit()
    assert _runs(db) == []


def test_date_triggers_fire_once_per_date(db: Session, engine: Engine, world: World) -> None:
    key_dates.apply_preset(db, world.agent, world.deal.id or 0, "generic_financed")
    checklist = templates.create_template(
        db,
        world.admin,
        {
            "name": "Inspection follow-up",
            "stage": "under_contract",
            "is_active": False,
            "items": [{"title": "Send the repair request", "assignee": "owner"}],
        },
    )
    db.commit()
    _rule(
        db,
        world,
        name="Two days before inspection ends",
        trigger="key_date_approaching",
        trigger_config={"key": "inspection", "days": "2"},
        actions=[{"type": "create_tasks", "template_id": checklist.id}],
    )
    # Inspection ends Mon 22 Jan: two days after NOON's date.
    assert automations.scan_dates(db, NOON) == 1
    assert automations.scan_dates(db, NOON + timedelta(hours=3)) == 0
    db.commit()
    automations.run_pending(engine)
    titles = [t.title for t in db.exec(select(Task).where(Task.transaction_id == world.deal.id))]
    assert titles.count("Send the repair request") == 1
    # A moved date is a new occurrence.
    key_dates.override_key_date(
        db, world.agent, world.deal.id or 0, "inspection", "2024-01-25", "extended"
    )
    db.commit()
    assert automations.scan_dates(db, NOON + timedelta(days=3)) == 1


def test_task_completion_trigger_with_a_title_filter(db: Session, world: World) -> None:
    _rule(
        db,
        world,
        trigger="task_completed",
        trigger_config={"title_contains": "appraisal"},
        actions=[{"type": "notify", "to": "owner", "message": "{task_title} done on {address}"}],
    )
    a = tasks.create_task(
        db, world.coordinator, world.deal.id or 0, {"title": "Order the appraisal"}
    )
    b = tasks.create_task(db, world.coordinator, world.deal.id or 0, {"title": "Book movers"})
    tasks.set_status(db, world.coordinator, a.id or 0, tasks.DONE)
    tasks.set_status(db, world.coordinator, b.id or 0, tasks.DONE)
    db.commit()
    assert [r.occurrence for r in _runs(db)] == [f"task:{a.id}"]


def test_a_failing_action_is_retried_then_fails_visibly(
    db: Session, engine: Engine, world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    _rule(db, world)
    transactions.change_stage(db, world.agent, world.deal.id or 0, "clear_to_close")
    db.commit()
    calls = {"n": 0}

    def broken(*args: Any, **kwargs: Any) -> None:
        calls["n"] += 1
        raise ConnectionError("mail store unavailable")

    monkeypatch.setattr(automations.mail, "queue_email", broken)
    now = utcnow()
    for _ in range(automations.MAX_ATTEMPTS):
        automations.run_pending(engine, now)
        now += timedelta(hours=3)  # past every backoff step
    [run] = _runs(db)
    assert (run.status, run.attempts, calls["n"]) == ("failed", automations.MAX_ATTEMPTS, 5)
    assert "ConnectionError: mail store unavailable" in run.last_error
    failed = db.exec(select(Event).where(Event.kind == "automation_failed")).one()
    assert "mail store unavailable" in failed.summary
    # Nothing half-done: the notify action after the failing email left no notification.
    assert db.exec(select(Notification).where(Notification.kind == "automation")).all() == []
    # An admin can send it round again; now it works.
    monkeypatch.undo()
    automations.retry_run(db, world.admin, run.id or 0)
    db.commit()
    assert automations.run_pending(engine, now).done == 1


def test_a_problem_that_retrying_cannot_fix_fails_at_once(
    db: Session, engine: Engine, world: World
) -> None:
    _rule(db, world, actions=[{"type": "notify", "to": "lender", "message": "x"}])
    transactions.change_stage(db, world.agent2, world.other_deal.id or 0, "under_contract")
    transactions.change_stage(db, world.agent2, world.other_deal.id or 0, "clear_to_close")
    db.commit()
    assert automations.run_pending(engine).failed == 1
    [run] = _runs(db)
    assert (run.status, run.attempts) == ("failed", 1)
    assert run.last_error == "Nobody on the file is lender."


def test_the_builder_refuses_bad_rules_with_specific_messages(db: Session, world: World) -> None:
    with pytest.raises(ValidationFailed) as err:
        automations.create_rule(
            db,
            world.admin,
            {
                "name": "",
                "trigger": "key_date_approaching",
                "trigger_config": {"key": "moon_landing", "days": "-1"},
                "actions": [
                    {"type": "email", "to": "everyone", "subject": "", "message": "Hi {nickname}"},
                    {"type": "create_tasks", "template_id": 999999},
                    {"type": "launch"},
                ],
            },
        )
    assert set(err.value.errors) == {
        "name",
        "trigger_config.key",
        "trigger_config.days",
        "actions.0.to",
        "actions.0.subject",
        "actions.0.message",
        "actions.1.template_id",
        "actions.2.type",
    }
    assert "Unknown merge field {nickname}" in err.value.errors["actions.0.message"]


@pytest.mark.parametrize("persona", ["agent", "coordinator", "client", "lender"])
def test_only_admins_edit_or_read_automations(db: Session, world: World, persona: str) -> None:
    rule = _rule(db, world)
    actor = world.user(persona)
    for attempt in (
        lambda: automations.list_rules(db, actor),
        lambda: automations.get_rule(db, actor, rule.id),
        lambda: automations.update_rule(db, actor, rule.id, {}),
        lambda: automations.delete_rule(db, actor, rule.id),
        lambda: automations.list_runs(db, actor),
    ):
        with pytest.raises(PermissionDenied):
            attempt()


def test_another_brokerage_neither_sees_nor_fires_them(db: Session, world: World) -> None:
    rule = _rule(db, world)
    with pytest.raises(NotFound):
        automations.get_rule(db, world.outsider_admin, rule.id)
    assert automations.list_rules(db, world.outsider_admin) == []
    transactions.change_stage(
        db, world.outsider_agent, world.outside_deal.id or 0, "clear_to_close"
    )
    db.commit()
    assert _runs(db) == []
