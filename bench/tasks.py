"""Time the "today" view and the reminder scan at 10,000 transactions and 200,000 tasks.

    .venv/bin/python -m bench.tasks [--transactions N] [--tasks T] [--repeat R]
                                    [--backends sqlite,postgresql]

For each backend: a throw-away database migrated with Alembic, a generated brokerage of N
transactions (its stage checklists give each file its tasks), topped up with generated tasks
to T in all (due dates spread from 60 days ago to 60 days ahead, a quarter done, assigned to
staff and clients), and key dates on every file under contract. Then, timed R times each:

- ``tasks.today_view`` for the busiest agent, a coordinator, the admin (every file), a client;
- ``key_dates.upcoming_deadlines`` for the agent and the admin;
- ``notifications.scan_reminders``: the first scan (writes every reminder due) and the
  steady-state scan (finds nothing new: what every later run costs);
- ``notifications.send_digests`` at the digest hour (one digest per user with work).

Prints the figures and writes ``bench/results/tasks-latest.json`` and ``bench/TASKS.md``.
No thresholds: a benchmark prints figures.
"""

from __future__ import annotations

import os
import tempfile

# Reminder and digest emails enqueue delivery jobs: keep them out of the project's var/.
os.environ.setdefault("CHRONOS_VAR_DIR", tempfile.mkdtemp(prefix="chronos-bench-var-"))

import argparse
import json
import random
import statistics
import sys
import time
from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta
from typing import Any

from sqlalchemy import func, insert, text
from sqlmodel import Session, col, select

from bench.run import (
    BENCH_DIR,
    StatementCounter,
    fresh_database,
    machine_info,
    percentile,
    postgres_unavailable,
    server_version,
)
from chronos.db import make_engine, session_scope
from chronos.demo import generate_brokerage
from chronos.migrate import upgrade
from chronos.models import (
    KeyDate,
    Notification,
    Participant,
    Role,
    Stage,
    Task,
    Transaction,
    User,
)
from chronos.services import key_dates, notifications, tasks

RESULTS_JSON = BENCH_DIR / "results" / "tasks-latest.json"
RESULTS_MD = BENCH_DIR / "TASKS.md"
SEED = 777
TODAY = date(2026, 3, 2)
NOON = datetime(2026, 3, 2, 17, 0, tzinfo=UTC)  # 12:00 in New York: outside quiet hours
BATCH = 5_000


def _populate(engine: Any, n: int, total_tasks: int) -> dict[str, int]:
    rng = random.Random(SEED)
    with session_scope(engine) as db:
        org_id = generate_brokerage(
            db, seed=SEED, transactions=n, today=TODAY, use_services=False, slug="bench-tasks"
        ).org_id
    with session_scope(engine) as db:
        txns = db.exec(
            select(
                Transaction.id,
                Transaction.owner_id,
                Transaction.stage,
                Transaction.effective_date,
                Transaction.closing_date,
            ).where(Transaction.org_id == org_id)
        ).all()
        parts = db.exec(
            select(Participant.transaction_id, Participant.id).where(
                Participant.org_id == org_id, col(Participant.user_id).is_not(None)
            )
        ).all()
        have = db.exec(select(func.count()).select_from(Task).where(Task.org_id == org_id)).one()
    by_txn: dict[int, list[int]] = {}
    for txn_id, part_id in parts:
        by_txn.setdefault(txn_id, []).append(part_id)
    rows: list[dict[str, Any]] = []
    now = datetime.now(UTC)
    for i in range(max(0, total_tasks - int(have))):
        txn_id, owner_id, *_ = txns[rng.randrange(len(txns))]
        due = TODAY + timedelta(days=rng.randint(-60, 60))
        client_parts = by_txn.get(txn_id, [])
        for_client = client_parts and rng.random() < 0.25
        rows.append(
            {
                "org_id": org_id,
                "transaction_id": txn_id,
                "title": f"Generated task {i}",
                "notes": "",
                "status": "done" if rng.random() < 0.25 else "open",
                "assignee_user_id": None if for_client else owner_id,
                "assignee_participant_id": rng.choice(client_parts) if for_client else None,
                "due_date": due,
                "due_key": "",
                "due_offset_days": 0,
                "position": 1000 + i,
                "template_id": None,
                "item_key": None,
                "created_by_id": owner_id,
                "completed_at": None,
                "completed_by_id": None,
                "created_at": now,
                "updated_at": now,
            }
        )
    kd_rows: list[dict[str, Any]] = []
    for txn_id, _owner, stage, effective, closing in txns:
        if stage not in (Stage.UNDER_CONTRACT.value, Stage.CLEAR_TO_CLOSE.value) or not effective:
            continue
        for pos, (key, label, day) in enumerate(
            (
                ("inspection", "Inspection period ends", effective + timedelta(days=10)),
                ("appraisal", "Appraisal contingency ends", effective + timedelta(days=17)),
                ("closing", "Closing", closing),
            )
        ):
            kd_rows.append(
                {
                    "org_id": org_id,
                    "transaction_id": txn_id,
                    "key": key,
                    "label": label,
                    "position": pos,
                    "rule": {"kind": "entered"},
                    "computed_date": day,
                    "override_date": None,
                    "override_reason": "",
                    "due_at": None,
                    "shared_with_parties": True,
                    "created_at": now,
                    "updated_at": now,
                }
            )
    with session_scope(engine) as db:
        for start in range(0, len(rows), BATCH):
            db.execute(insert(Task.__table__), rows[start : start + BATCH])  # type: ignore[attr-defined]
        for start in range(0, len(kd_rows), BATCH):
            db.execute(insert(KeyDate.__table__), kd_rows[start : start + BATCH])  # type: ignore[attr-defined]
    with session_scope(engine) as db:
        if engine.dialect.name == "postgresql":
            db.execute(text("ANALYZE"))
        else:
            db.execute(text("ANALYZE"))
        counts = {
            "transactions": len(txns),
            "tasks": int(db.exec(select(func.count()).select_from(Task)).one()),
            "open_tasks": int(
                db.exec(select(func.count()).select_from(Task).where(Task.status == "open")).one()
            ),
            "key_dates": int(db.exec(select(func.count()).select_from(KeyDate)).one()),
            "users": int(db.exec(select(func.count()).select_from(User)).one()),
            "org_id": org_id,
        }
    return counts


def _personas(engine: Any, org_id: int) -> dict[str, User]:
    with Session(engine, expire_on_commit=False) as db:
        busiest = db.exec(
            select(Task.assignee_user_id, func.count())
            .join(User, col(User.id) == Task.assignee_user_id)
            .where(Task.org_id == org_id, User.role == Role.AGENT.value)
            .group_by(col(Task.assignee_user_id))
            .order_by(func.count().desc())
        ).first()
        agent = db.get(User, busiest[0]) if busiest else None
        admin = db.exec(select(User).where(User.org_id == org_id, User.role == "admin")).first()
        coordinator = db.exec(
            select(User).where(User.org_id == org_id, User.role == "coordinator")
        ).first()
        client = db.exec(
            select(User)
            .join(Participant, col(Participant.user_id) == User.id)
            .join(Task, col(Task.assignee_participant_id) == Participant.id)
            .where(User.org_id == org_id, User.role == "client")
        ).first()
        out = {"agent": agent, "admin": admin, "coordinator": coordinator, "client": client}
        for user in out.values():
            if user is not None:
                db.expunge(user)
    return {k: v for k, v in out.items() if v is not None}


def _time(
    engine: Any,
    counter: StatementCounter,
    fn: Callable[[Session], Any],
    repeat: int,
    *,
    warm: bool = True,
) -> dict[str, Any]:
    if warm:
        with session_scope(engine) as db:
            fn(db)
    samples, queries = [], []
    result: Any = None
    for _ in range(repeat):
        counter.count = 0
        started = time.perf_counter()
        with session_scope(engine) as db:
            result = fn(db)
        samples.append((time.perf_counter() - started) * 1000)
        queries.append(counter.count)
    ordered = sorted(samples)
    return {
        "p50_ms": round(statistics.median(ordered), 2),
        "p95_ms": round(percentile(ordered, 95), 2),
        "max_ms": round(ordered[-1], 2),
        "queries": max(queries),
        "samples": repeat,
        "result": _describe(result),
    }


def _describe(result: Any) -> str:
    if isinstance(result, tasks.TodayView):
        return (
            f"{result.overdue_total} overdue, {result.due_today_total} today, "
            f"{result.next_days_total} next 7 days"
        )
    if isinstance(result, tuple) and len(result) == 2:
        return f"{result[1]} key dates"
    if isinstance(result, notifications.ScanResult):
        return f"{result.notified} notified, {result.emailed} emails"
    return str(result)


def run_backend(backend: str, n: int, total_tasks: int, repeat: int) -> dict[str, Any]:
    with fresh_database(backend) as url:
        upgrade(url)
        engine = make_engine(url)
        started = time.perf_counter()
        sizes = _populate(engine, n, total_tasks)
        load_s = time.perf_counter() - started
        who = _personas(engine, sizes["org_id"])
        counter = StatementCounter(engine)
        figures: dict[str, Any] = {}
        for name, user in who.items():
            figures[f"today_view ({name})"] = _time(
                engine, counter, lambda db, u=user: tasks.today_view(db, u, today=TODAY), repeat
            )
        for name in ("agent", "admin"):
            if name in who:
                figures[f"upcoming_deadlines ({name})"] = _time(
                    engine,
                    counter,
                    lambda db, u=who[name]: key_dates.upcoming_deadlines(db, u, today=TODAY),
                    repeat,
                )
        figures["scan_reminders (first run)"] = _time(
            engine, counter, lambda db: notifications.scan_reminders(db, NOON), 1, warm=False
        )
        figures["scan_reminders (steady state)"] = _time(
            engine, counter, lambda db: notifications.scan_reminders(db, NOON), repeat
        )
        digest_at = datetime(2026, 3, 2, 12, 0, tzinfo=UTC)  # 07:00 in New York
        figures["send_digests (all users, first run)"] = _time(
            engine, counter, lambda db: notifications.send_digests(db, digest_at), 1, warm=False
        )
        with Session(engine) as db:
            sizes["notifications"] = int(
                db.exec(select(func.count()).select_from(Notification)).one()
            )
        version = server_version(engine)
        engine.dispose()
    return {
        "backend": backend,
        "server": version,
        "sizes": sizes,
        "load_s": round(load_s, 1),
        "figures": figures,
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--transactions", type=int, default=10_000)
    parser.add_argument("--tasks", type=int, default=200_000)
    parser.add_argument("--repeat", type=int, default=10)
    parser.add_argument("--backends", default="sqlite,postgresql")
    args = parser.parse_args(argv)
    report: dict[str, Any] = {"backends": {}, "skipped": {}}
    for backend in args.backends.split(","):
        if backend == "postgresql" and (reason := postgres_unavailable()):
            report["skipped"][backend] = reason
            print(f"{backend}: skipped ({reason})")
            continue
        print(f"{backend}: building {args.transactions} files and {args.tasks} tasks…", flush=True)
        result = run_backend(backend, args.transactions, args.tasks, args.repeat)
        report["backends"][backend] = result
        print(f"{backend} {result['server']}: {result['sizes']} (loaded in {result['load_s']} s)")
        for name, fig in result["figures"].items():
            print(
                f"  {name:<40} p50 {fig['p50_ms']:>9.2f} ms  p95 {fig['p95_ms']:>9.2f} ms  "
                f"{fig['queries']:>4} queries  {fig['result']}"
            )
    report["machine"] = machine_info(report["backends"])
    RESULTS_JSON.parent.mkdir(parents=True, exist_ok=True)
    RESULTS_JSON.write_text(json.dumps(report, indent=2, default=str))
    lines = [
        "# Today view and reminder scan at scale",
        "",
        f"`python -m bench.tasks --transactions {args.transactions} --tasks {args.tasks} "
        f"--repeat {args.repeat}`; figures in ms (p95 of {args.repeat} runs is their maximum).",
        "",
    ]
    for backend, result in report["backends"].items():
        lines += [
            f"## {backend} {result['server']}",
            "",
            f"Data: {result['sizes']}.",
            "",
            "| call | p50 ms | p95 ms | queries | result |",
            "| --- | ---: | ---: | ---: | --- |",
        ]
        lines += [
            f"| {name} | {f['p50_ms']} | {f['p95_ms']} | {f['queries']} | {f['result']} |"
            for name, f in result["figures"].items()
        ]
        lines.append("")
    for backend, reason in report["skipped"].items():
        lines.append(f"{backend} skipped: {reason}")
    RESULTS_MD.write_text("\n".join(lines) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
