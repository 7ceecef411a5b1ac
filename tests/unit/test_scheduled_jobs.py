"""The periodic jobs run the reminder scan, the digests and the automations on the app's DB."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy.engine import Engine
from sqlmodel import Session, select

from chronos import db as chronos_db
from chronos.models import AutomationRun, Notification, Participant, Task
from chronos.services import automations, tasks, transactions
from tests.factories import World
from tests.support.mail import use_jobs


@pytest.fixture
def jobs(engine: Engine, world: World, tmp_path: Path, monkeypatch: pytest.MonkeyPatch):  # type: ignore[no-untyped-def]
    monkeypatch.setattr(chronos_db, "get_engine", lambda: engine)
    return use_jobs(monkeypatch, "", tmp_path, name="scheduled-test")


def test_the_scans_run_on_their_schedules(jobs) -> None:  # type: ignore[no-untyped-def]
    from datetime import datetime

    def minutes(task) -> list[int]:  # type: ignore[no-untyped-def]
        check = task.task_class()
        return [m for m in range(60) if check.validate_datetime(datetime(2026, 1, 1, 9, m))]

    assert minutes(jobs.run_automations) == list(range(60))
    assert minutes(jobs.scan_reminders) == [0, 15, 30, 45]
    assert minutes(jobs.send_digests) == [2]


def test_the_reminder_job_notifies_the_assignee(db: Session, world: World, jobs) -> None:  # type: ignore[no-untyped-def]
    part = db.exec(
        select(Participant).where(
            Participant.transaction_id == world.deal.id, Participant.user_id == world.client.id
        )
    ).one()
    today = tasks.org_today(db, world.harbor.id or 0)
    tasks.create_task(
        db,
        world.agent,
        world.deal.id or 0,
        {"title": "Wire the deposit", "due_date": today.isoformat(), "assignee": f"p:{part.id}"},
    )
    # The file must be open and due "today" in real time: move the closing into the future.
    transactions.update_transaction(
        db, world.agent, world.deal.id or 0, {"closing_date": today.replace(year=today.year + 1)}
    )
    db.commit()
    jobs.scan_reminders.call_local()
    db.expire_all()
    kinds = [
        n.kind for n in db.exec(select(Notification).where(Notification.user_id == world.client.id))
    ]
    assert "task_due_today" in kinds


def test_the_automation_job_runs_what_a_change_fired(db: Session, world: World, jobs) -> None:  # type: ignore[no-untyped-def]
    automations.create_rule(
        db,
        world.admin,
        {
            "name": "Tell the agent",
            "trigger": "task_completed",
            "actions": [{"type": "notify", "to": "owner", "message": "{task_title} is done"}],
        },
    )
    task = tasks.create_task(db, world.coordinator, world.deal.id or 0, {"title": "Order survey"})
    tasks.set_status(db, world.coordinator, task.id or 0, tasks.DONE)
    db.commit()
    jobs.run_automations.call_local()
    db.expire_all()
    run = db.exec(select(AutomationRun)).one()
    assert run.status == "done"
    note = db.exec(select(Notification).where(Notification.user_id == world.agent.id)).one()
    assert note.title == "Order survey is done"
    assert db.get(Task, task.id) is not None
