"""Two submits of the same key at the same moment (two workers, two tabs) create one record, on
SQLite and PostgreSQL: the second waits for the first's claim and gets its result."""

from __future__ import annotations

import threading
import time
from typing import Any

from sqlalchemy.engine import Engine
from sqlmodel import Session, func, select

from chronos.db import session_scope
from chronos.models import Transaction
from chronos.services import idempotency, transactions
from tests.factories import World, build_world

DATA = {"side": "buyer", "street": "5 Race Condition Ct"}


def test_concurrent_repeats_of_one_key_create_one_transaction(engine: Engine) -> None:
    with Session(engine, expire_on_commit=False) as db:
        world: World = build_world(db)
        db.commit()
        before = int(db.exec(select(func.count()).select_from(Transaction)).one())
    results: list[Any] = []
    start = threading.Barrier(2)

    def submit() -> None:
        start.wait()
        try:
            with session_scope(engine) as db:
                agent = db.merge(world.agent)

                def create() -> int:
                    txn = transactions.create_transaction(db, agent, dict(DATA))
                    time.sleep(0.3)  # the other submit arrives while this one is saving
                    return txn.id or 0

                results.append(
                    idempotency.once(db, agent, "transaction.create", "race-1", DATA, create)
                )
        except Exception as exc:  # recorded: the assertion below names it
            results.append(exc)

    threads = [threading.Thread(target=submit) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    with Session(engine) as db:
        after = int(db.exec(select(func.count()).select_from(Transaction)).one())
    assert after == before + 1
    ids = [r for r in results if isinstance(r, int)]
    assert ids and len(set(ids)) == 1, results
