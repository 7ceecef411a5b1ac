"""Once per occurrence on PostgreSQL too: the same reminder or automation run twice is one row."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from sqlmodel import Session, SQLModel, select

import chronos.models  # noqa: F401
from chronos.db import make_engine
from chronos.models import AutomationRun, Notification
from chronos.services import automations, notifications, transactions
from tests.factories import build_world
from tests.support.postgres import fresh_database

pytestmark = pytest.mark.postgres


@pytest.fixture
def pg() -> Iterator[Session]:
    with fresh_database() as url:
        engine = make_engine(url)
        SQLModel.metadata.create_all(engine)
        with Session(engine, expire_on_commit=False) as db:
            yield db
        engine.dispose()


def test_notify_and_fire_are_idempotent_on_postgresql(pg: Session) -> None:
    world = build_world(pg)
    pg.commit()
    made = [
        notifications.notify(
            pg,
            user_id=world.agent.id or 0,
            org_id=world.harbor.id or 0,
            kind="task_due_today",
            title="x",
            dedupe_key="same",
        )
        for _ in range(2)
    ]
    # The first call reports the row it made (callers act on it: the digest emails only then).
    assert made[0] is not None and made[0].dedupe_key == "same" and made[1] is None
    automations.create_rule(
        pg,
        world.admin,
        {
            "name": "r",
            "trigger": "stage_changed",
            "trigger_config": {"stage": "clear_to_close"},
            "actions": [{"type": "notify", "to": "owner", "message": "m"}],
        },
    )
    transactions.change_stage(pg, world.agent, world.deal.id or 0, "clear_to_close")
    txn = world.deal
    assert automations.on_stage_changed(pg, txn, "clear_to_close") == 0  # the same arrival again
    pg.commit()
    assert len(pg.exec(select(Notification).where(Notification.dedupe_key == "same")).all()) == 1
    assert len(pg.exec(select(AutomationRun)).all()) == 1
