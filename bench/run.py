"""Time the service calls behind each Chronos page, on SQLite and PostgreSQL.

    .venv/bin/python -m bench.run [--transactions N] [--repeat R] [--backends sqlite,postgresql]

For each backend: a throw-away database migrated with Alembic, a generated brokerage of N
transactions (bulk path) plus a second small brokerage whose rows must stay invisible, then
every call once as a warm-up and R timed times (``time.perf_counter``, one session per call as
the pages do). Each figure comes with the number of SQL statements the call issued (counted
with SQLAlchemy's ``before_cursor_execute``): a constant count whatever the page size is the
proof of no N+1. Prints a table, writes ``bench/results/latest.json`` and ``bench/RESULTS.md``.

Volume (issue 7, at 10,000 transactions; scaled with N): the generated brokerage is topped up
by ``chronos.demo.add_bulk_volume`` to 200,000 tasks, 300,000 timeline events and 50,000
document records (500 of them on one file), with key dates on every file under contract; the
generator itself gives ~20,000 people. Jobs (reminder scan, daily digests) are timed too: their
first run writes everything due, the later runs show the steady-state cost.

No thresholds: a benchmark prints figures. It does fail loudly if a call returns a row of the
other brokerage (that is a correctness bug, not a slow call).

PostgreSQL: ``CHRONOS_BENCH_PG_DSN`` (default ``postgresql://postgres@127.0.0.1:5432/test``)
must point at a loopback server; a fresh database is created there and dropped afterwards.
When no server answers the backend is skipped with the reason.
"""

from __future__ import annotations

import os
import tempfile

# The reminder scan and digests enqueue email jobs: keep them out of the project's var/.
os.environ.setdefault("CHRONOS_VAR_DIR", tempfile.mkdtemp(prefix="chronos-bench-var-"))

import argparse
import json
import math
import platform
import re
import shutil
import sqlite3
import statistics
import sys
import time
import uuid
from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from datetime import time as dtime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import sqlalchemy
from sqlalchemy import event, func, text
from sqlalchemy.engine import Engine, make_url
from sqlmodel import Session, col, select

from chronos.db import make_engine, session_scope
from chronos.demo import add_bulk_volume, generate_brokerage
from chronos.migrate import upgrade
from chronos.models import Event, Organization, Participant, Person, Role, Transaction, User
from chronos.services import (
    documents,
    key_dates,
    notifications,
    people,
    tasks,
    timeline,
    transactions,
)
from chronos.services.pagination import Page

BENCH_DIR = Path(__file__).resolve().parent
RESULTS_JSON = BENCH_DIR / "results" / "latest.json"
RESULTS_MD = BENCH_DIR / "RESULTS.md"
PG_ADMIN_DSN = os.environ.get("CHRONOS_BENCH_PG_DSN", "postgresql://postgres@127.0.0.1:5432/test")
LOOPBACK = {"127.0.0.1", "localhost", "::1"}
BACKENDS = ("sqlite", "postgresql")
SEED = 4242
TODAY = date(2026, 3, 2)  # fixed, so the generated data is the same on every run
OTHER_TRANSACTIONS = 100
PIPELINE_PAGE = 25  # chronos/pages/pipeline.py PAGE_SIZE
PEOPLE_PAGE = 25  # chronos/pages/people.py PAGE_SIZE
PORTAL_PAGE = 20  # chronos/pages/portal.py PAGE_SIZE / EVENTS_PAGE_SIZE
BOARD_LIMIT = 20  # chronos/pages/pipeline.py BOARD_LIMIT
OPEN_STAGES = ("pre_listing", "active_listing", "under_contract", "clear_to_close")
# Issue 7's volume at 10,000 transactions (scaled linearly for other sizes).
TASKS_PER_10K = 200_000
EVENTS_PER_10K = 300_000
DOCUMENTS_PER_10K = 50_000
BUSY_DOCUMENTS = 500
DOCUMENTS_PAGE = 50  # chronos/pages/transaction_documents.py page size
NOON = datetime(2026, 3, 2, 17, 0, tzinfo=UTC)  # reminder scan: 12:00 in New York
DIGEST_HOUR = 7  # NotificationPreference.digest_hour default, in the brokerage's zone


# ---------------------------------------------------------------- measuring


class StatementCounter:
    """Counts every statement the engine sends (executemany counts once)."""

    def __init__(self, engine: Engine) -> None:
        self.count = 0
        event.listen(engine, "before_cursor_execute", self._on_execute)

    def _on_execute(self, *_args: Any) -> None:
        self.count += 1


@dataclass
class Call:
    name: str
    persona: str
    fn: Callable[[Session], Any]
    page: str  # the page (or API) this call serves
    once: bool = False  # a job's first run: no warm-up, one sample (it writes what is due)


@dataclass
class Figure:
    name: str
    persona: str
    page: str
    p50_ms: float
    p95_ms: float
    max_ms: float
    mean_ms: float
    queries: int
    queries_varied: bool
    rows: int
    total: int | None
    samples: int

    def as_json(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "persona": self.persona,
            "page": self.page,
            "p50_ms": round(self.p50_ms, 3),
            "p95_ms": round(self.p95_ms, 3),
            "max_ms": round(self.max_ms, 3),
            "mean_ms": round(self.mean_ms, 3),
            "queries": self.queries,
            "queries_varied": self.queries_varied,
            "rows": self.rows,
            "total": self.total,
            "samples": self.samples,
        }


def percentile(sorted_ms: list[float], pct: float) -> float:
    """Nearest-rank percentile (with 10 samples, p95 is the maximum)."""
    rank = max(1, math.ceil(pct / 100 * len(sorted_ms)))
    return sorted_ms[rank - 1]


def result_size(result: Any) -> tuple[int, int | None]:
    """(rows returned, total matching) for the call's result."""
    if isinstance(result, Page):
        return len(result.items), result.total
    if isinstance(result, transactions.TransactionDetail):
        return len(result.participants), None
    if isinstance(result, people.PersonDetail):
        return len(result.transactions), None
    if isinstance(result, tasks.TodayView):
        shown = len(result.overdue) + len(result.due_today) + len(result.next_days)
        return shown, result.overdue_total + result.due_today_total + result.next_days_total
    if isinstance(result, notifications.ScanResult):
        return result.notified, result.emailed
    if isinstance(result, tuple) and len(result) == 2 and isinstance(result[1], int):
        return len(result[0]), result[1]
    if isinstance(result, int):
        return result, None
    if isinstance(result, list):
        return sum(result_size(r)[0] for r in result), None
    return 1, None


def measure(
    engine: Engine, counter: StatementCounter, call: Call, repeat: int
) -> tuple[Figure, Any]:
    warm: Any = None
    if call.once:
        repeat = 1
    else:
        with session_scope(engine) as db:  # warm-up: caches, pool connection, statement cache
            warm = call.fn(db)
    samples: list[float] = []
    counts: list[int] = []
    for _ in range(repeat):
        counter.count = 0
        started = time.perf_counter()
        with session_scope(engine) as db:
            result = call.fn(db)
        samples.append((time.perf_counter() - started) * 1000)
        counts.append(counter.count)
        if warm is None:
            warm = result
    ordered = sorted(samples)
    rows, total = result_size(warm)
    figure = Figure(
        name=call.name,
        persona=call.persona,
        page=call.page,
        p50_ms=statistics.median(ordered),
        p95_ms=percentile(ordered, 95),
        max_ms=ordered[-1],
        mean_ms=statistics.fmean(ordered),
        queries=max(counts),
        queries_varied=len(set(counts)) > 1,
        rows=rows,
        total=total,
        samples=repeat,
    )
    return figure, warm


# ---------------------------------------------------------------- databases


def _loopback_reason(dsn: str) -> str | None:
    host = make_url(dsn).host or ""
    if host not in LOOPBACK:
        return f"CHRONOS_BENCH_PG_DSN points at {host!r}; the benchmark only uses a loopback server"
    return None


def postgres_unavailable() -> str | None:
    reason = _loopback_reason(PG_ADMIN_DSN)
    if reason:
        return reason
    try:
        import psycopg

        with psycopg.connect(PG_ADMIN_DSN, connect_timeout=3):
            return None
    except Exception as exc:  # any failure to connect means: skip, and say why
        return f"no PostgreSQL answers at {PG_ADMIN_DSN}: {str(exc).strip()}"


@contextmanager
def fresh_database(backend: str) -> Iterator[str]:
    """An empty database of this backend; its URL; removed afterwards."""
    if backend == "sqlite":
        folder = Path(tempfile.mkdtemp(prefix="chronos-bench-"))
        try:
            yield f"sqlite:///{folder / 'bench.db'}"
        finally:
            shutil.rmtree(folder, ignore_errors=True)
        return
    import psycopg

    name = f"chronos_bench_{uuid.uuid4().hex[:12]}"
    with psycopg.connect(PG_ADMIN_DSN, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    base = PG_ADMIN_DSN.rsplit("/", 1)[0].replace("postgresql://", "postgresql+psycopg://", 1)
    try:
        yield f"{base}/{name}"
    finally:
        with psycopg.connect(PG_ADMIN_DSN, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def server_version(engine: Engine) -> str:
    with engine.connect() as conn:
        if engine.dialect.name == "sqlite":
            return str(conn.execute(text("select sqlite_version()")).scalar())
        return str(conn.execute(text("show server_version")).scalar())


# ---------------------------------------------------------------- the data and the personas


@dataclass
class Fixture:
    org_id: int
    other_org_id: int
    sizes: dict[str, int]
    admin: User
    agent: User
    client: User
    busy_txn: int  # the main org's file with the most timeline events
    agent_txn: int  # the agent's busiest own file
    client_txn: int  # a file the client is on
    street_word: str
    last_name: str
    agent_last_name: str
    people_query: str
    busy_person: int  # the contact on the most files
    other_only_word: str  # a street word found only in the other brokerage
    coordinator: User | None = None
    docs_txn: int = 0  # the file with BUSY_DOCUMENTS documents
    timezone: str = "America/New_York"  # the main brokerage's (its digest hour is local)
    txn_ids: set[int] = field(default_factory=set)
    person_ids: set[int] = field(default_factory=set)


def populate(engine: Engine, n: int) -> tuple[dict[str, int], float]:
    started = time.perf_counter()
    with session_scope(engine) as db:
        main = generate_brokerage(
            db,
            seed=SEED,
            transactions=n,
            name="Bench Main Realty",
            slug="bench-main",
            today=TODAY,
            use_services=False,
            demo_roles=tuple(Role),  # gives the main brokerage a client (portal) login
        )
        volume = add_bulk_volume(
            db,
            main.org_id,
            seed=SEED,
            today=TODAY,
            tasks_total=TASKS_PER_10K * n // 10_000,
            events_total=EVENTS_PER_10K * n // 10_000,
            documents=max(BUSY_DOCUMENTS, DOCUMENTS_PER_10K * n // 10_000),
            busy_documents=BUSY_DOCUMENTS,
            key_dates=True,
        )
        other = generate_brokerage(
            db,
            seed=SEED + 1,
            transactions=OTHER_TRANSACTIONS,
            name="Bench Other Homes",
            slug="bench-other",
            today=TODAY,
            use_services=False,
        )
        add_bulk_volume(
            db,
            other.org_id,
            seed=SEED + 1,
            today=TODAY,
            tasks_total=2_000,
            events_total=3_000,
            documents=BUSY_DOCUMENTS,
            busy_documents=BUSY_DOCUMENTS // 2,
            key_dates=True,
        )
    # What autovacuum (PostgreSQL) or a periodic ANALYZE (SQLite) would have done by now.
    with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        conn.execute(text("ANALYZE"))
    sizes = {
        "org_id": main.org_id,
        "other_org_id": other.org_id,
        "transactions": main.transactions,
        "people": main.people,
        "users": main.users,
        "participants": main.participants,
        "events": volume.events_total,
        "tasks": volume.tasks_total,
        "documents": volume.documents,
        "document_versions": volume.versions,
        "key_dates": volume.key_dates,
        "busy_documents_txn": volume.busy_transaction_id or 0,
        "other_transactions": other.transactions,
        "other_people": other.people,
        "other_events": other.events,
    }
    return sizes, time.perf_counter() - started


def _words(street: str) -> list[str]:
    return [w for w in street.split() if w.isalpha() and len(w) >= 4]


def pick_fixture(engine: Engine, sizes: dict[str, int]) -> Fixture:
    org, other = sizes["org_id"], sizes["other_org_id"]
    with session_scope(engine) as db:
        admin = db.exec(
            select(User).where(User.org_id == org, User.role == Role.ADMIN.value).order_by(User.id)
        ).first()
        agent_id, _ = db.exec(
            select(Transaction.owner_id, func.count())
            .join(User, User.id == Transaction.owner_id)  # type: ignore[arg-type]
            .where(Transaction.org_id == org, User.role == Role.AGENT.value)
            .group_by(Transaction.owner_id)
            .order_by(func.count().desc(), Transaction.owner_id)
        ).first()  # type: ignore[misc]
        agent = db.get(User, agent_id)
        client = db.exec(
            select(User).where(User.org_id == org, User.role == Role.CLIENT.value).order_by(User.id)
        ).first()
        org_row = db.get(Organization, org)
        org_timezone = (org_row.timezone if org_row else "") or "America/New_York"
        coordinator = db.exec(
            select(User)
            .where(User.org_id == org, User.role == Role.COORDINATOR.value)
            .order_by(User.id)
        ).first()
        assert admin and agent and client, "the generated brokerage lacks a persona"

        def busiest(*where: Any) -> int:
            return db.exec(
                select(Event.transaction_id)
                .join(Transaction, Transaction.id == Event.transaction_id)  # type: ignore[arg-type]
                .where(*where)
                .group_by(Event.transaction_id)
                .order_by(func.count().desc(), Event.transaction_id)
            ).first()  # type: ignore[return-value]

        busy_txn = busiest(Transaction.org_id == org)
        agent_txn = busiest(Transaction.org_id == org, Transaction.owner_id == agent.id)
        client_txn = db.exec(
            select(Participant.transaction_id)
            .where(Participant.user_id == client.id)
            .order_by(Participant.transaction_id)
        ).first()
        main_streets = db.exec(select(Transaction.street).where(Transaction.org_id == org)).all()
        words = Counter(w for s in main_streets for w in _words(s))
        # A street name matching a few dozen files: a realistic search, not the 'Street' suffix.
        street_word = min(
            words.items(), key=lambda kv: (abs(kv[1] - max(5, len(main_streets) // 100)), kv[0])
        )[0]
        # Everything a search in the main brokerage could match, to find a word it cannot.
        main_text = "\n".join(
            [*main_streets, *db.exec(select(Transaction.city).where(Transaction.org_id == org))]
            + [
                f"{first} {last} {email or ''}"
                for first, last, email in db.exec(
                    select(Person.first_name, Person.last_name, Person.email).where(
                        Person.org_id == org
                    )
                )
            ]
        ).lower()
        other_streets = db.exec(select(Transaction.street).where(Transaction.org_id == other)).all()
        other_only = sorted(
            {w for s in other_streets for w in _words(s) if w.lower() not in main_text}
        )

        def open_client_name(*where: Any) -> str | None:
            """The last name of a client on an open file: a search that finds something."""
            return db.exec(
                select(Person.last_name)
                .join(Participant, Participant.person_id == Person.id)  # type: ignore[arg-type]
                .join(Transaction, Transaction.id == Participant.transaction_id)  # type: ignore[arg-type]
                .where(
                    Transaction.org_id == org,
                    col(Transaction.stage).in_(OPEN_STAGES),
                    col(Participant.role).in_(["buyer", "seller"]),
                    *where,
                )
                .order_by(Transaction.id, Participant.id)
            ).first()

        last_name = open_client_name()
        agent_last_name = open_client_name(Transaction.owner_id == agent.id)
        busy_person = db.exec(
            select(Participant.person_id)
            .where(Participant.org_id == org, col(Participant.person_id).is_not(None))
            .group_by(Participant.person_id)
            .order_by(func.count().desc(), Participant.person_id)
        ).first()
        txn_ids = set(db.exec(select(Transaction.id).where(Transaction.org_id == org)).all())
        person_ids = set(db.exec(select(Person.id).where(Person.org_id == org)).all())
    assert busy_txn and agent_txn and client_txn and busy_person
    assert last_name and agent_last_name
    return Fixture(
        org_id=org,
        other_org_id=other,
        sizes=sizes,
        admin=admin,
        agent=agent,
        client=client,
        busy_txn=busy_txn,
        agent_txn=agent_txn,
        client_txn=client_txn,
        street_word=street_word,
        last_name=last_name,
        agent_last_name=agent_last_name,
        people_query=last_name[:4].lower(),
        busy_person=busy_person,
        coordinator=coordinator,
        docs_txn=sizes.get("busy_documents_txn", 0),
        timezone=org_timezone,
        other_only_word=other_only[0] if other_only else "",
        txn_ids={i for i in txn_ids if i is not None},
        person_ids={i for i in person_ids if i is not None},
    )


def calls_for(fx: Fixture) -> list[Call]:
    admin, agent, client = fx.admin, fx.agent, fx.client
    lt = transactions.list_transactions
    pipe = {"open_only": True, "sort": "closing", "page_size": PIPELINE_PAGE}

    def board(actor: User) -> Callable[[Session], Any]:
        def run(db: Session) -> list[Any]:
            return [
                lt(db, actor, stage=s, sort="closing", page_size=BOARD_LIMIT) for s in OPEN_STAGES
            ]

        return run

    calls = [
        Call("pipeline default", "admin", lambda db: lt(db, admin, **pipe), "/pipeline"),
        Call(
            "pipeline stage=under_contract",
            "admin",
            lambda db: lt(db, admin, stage="under_contract", sort="closing"),
            "/pipeline",
        ),
        Call(
            "pipeline side=buyer",
            "admin",
            lambda db: lt(db, admin, side="buyer", **pipe),
            "/pipeline",
        ),
        Call(
            f"pipeline q={fx.street_word!r} (street)",
            "admin",
            lambda db: lt(db, admin, q=fx.street_word, **pipe),
            "/pipeline",
        ),
        Call(
            f"pipeline q={fx.last_name!r} (person)",
            "admin",
            lambda db: lt(db, admin, q=fx.last_name, **pipe),
            "/pipeline",
        ),
        Call(
            "pipeline sort=price desc",
            "admin",
            lambda db: lt(db, admin, open_only=True, sort="price", descending=True),
            "/pipeline",
        ),
        Call("pipeline page 5", "admin", lambda db: lt(db, admin, page=5, **pipe), "/pipeline"),
        Call("pipeline board (4 columns)", "admin", board(admin), "/pipeline?view=board"),
        Call(
            "get_transaction (busy file)",
            "admin",
            lambda db: transactions.get_transaction(db, admin, fx.busy_txn),
            "/transactions/[id]",
        ),
        Call(
            "list_events page 1 (busy file)",
            "admin",
            lambda db: timeline.list_events(db, admin, fx.busy_txn, page=1, page_size=PORTAL_PAGE),
            "/transactions/[id]",
        ),
        Call(
            "people list",
            "admin",
            lambda db: people.list_people(db, admin, page_size=PEOPLE_PAGE),
            "/people",
        ),
        Call(
            f"people q={fx.people_query!r}",
            "admin",
            lambda db: people.list_people(db, admin, q=fx.people_query, page_size=PEOPLE_PAGE),
            "/people",
        ),
        Call(
            "get_person (busiest contact)",
            "admin",
            lambda db: people.get_person(db, admin, fx.busy_person),
            "/people/[id]",
        ),
        Call("pipeline default", "agent", lambda db: lt(db, agent, **pipe), "/pipeline"),
        Call(
            f"pipeline q={fx.agent_last_name!r} (person)",
            "agent",
            lambda db: lt(db, agent, q=fx.agent_last_name, **pipe),
            "/pipeline",
        ),
        Call("pipeline board (4 columns)", "agent", board(agent), "/pipeline?view=board"),
        Call(
            "get_transaction (own file)",
            "agent",
            lambda db: transactions.get_transaction(db, agent, fx.agent_txn),
            "/transactions/[id]",
        ),
        Call(
            "get_person (busiest contact)",
            "agent",
            lambda db: people.get_person(db, agent, fx.busy_person),
            "/people/[id]",
        ),
        Call(
            "client's list",
            "client",
            lambda db: lt(db, client, sort="closing", page_size=PORTAL_PAGE),
            "/portal",
        ),
        Call(
            "get_transaction (own file)",
            "client",
            lambda db: transactions.get_transaction(db, client, fx.client_txn),
            "/portal/[id]",
        ),
        Call(
            "list_events page 1 (own file)",
            "client",
            lambda db: timeline.list_events(
                db, client, fx.client_txn, page=1, page_size=PORTAL_PAGE
            ),
            "/portal/[id]",
        ),
    ]
    ld = documents.list_documents
    calls += [
        Call(
            f"documents list ({BUSY_DOCUMENTS}-document file)",
            "admin",
            lambda db: ld(db, admin, fx.docs_txn, page_size=DOCUMENTS_PAGE),
            "/transactions/[id]/documents",
        ),
        Call(
            "documents q='radon' (PDF text)",
            "admin",
            lambda db: ld(db, admin, fx.docs_txn, q="radon", page_size=DOCUMENTS_PAGE),
            "/transactions/[id]/documents",
        ),
        Call(
            "documents category=inspection",
            "admin",
            lambda db: ld(db, admin, fx.docs_txn, category="inspection", page_size=DOCUMENTS_PAGE),
            "/transactions/[id]/documents",
        ),
        Call(
            "documents list (own file)",
            "client",
            lambda db: ld(db, client, fx.client_txn, page_size=DOCUMENTS_PAGE),
            "/portal/[id]",
        ),
    ]
    today_personas = [("admin", admin), ("agent", agent), ("client", client)]
    if fx.coordinator is not None:
        today_personas.insert(2, ("coordinator", fx.coordinator))
    for persona, user in today_personas:
        calls.append(
            Call(
                "today view",
                persona,
                lambda db, u=user: tasks.today_view(db, u, today=TODAY),
                "/today",
            )
        )
    grid_start = date(2026, 2, 23)  # the March 2026 grid: Monday before the 1st, 6 weeks
    grid_end = date(2026, 4, 5)
    for persona, user in (("admin", admin), ("agent", agent), ("client", client)):
        calls.append(
            Call(
                "calendar month (Mar 2026)",
                persona,
                lambda db, u=user: key_dates.deadlines_between(
                    db, u, grid_start, grid_end, today=TODAY, limit=1000
                ),
                "/calendar",
            )
        )
    digest_at = datetime.combine(TODAY, dtime(DIGEST_HOUR), tzinfo=ZoneInfo(fx.timezone))
    calls += [
        Call(
            "reminder scan (first run)",
            "job",
            lambda db: notifications.scan_reminders(db, NOON),
            "job: reminders",
            once=True,
        ),
        Call(
            "reminder scan (steady state)",
            "job",
            lambda db: notifications.scan_reminders(db, NOON),
            "job: reminders",
        ),
        Call(
            "daily digests (build + queue, all users)",
            "job",
            lambda db: notifications.send_digests(db, digest_at),
            "job: digests",
            once=True,
        ),
    ]
    return calls


def check_isolation(fx: Fixture, call: Call, result: Any) -> None:
    """Every row a call returns belongs to the main brokerage; raise otherwise."""
    leaks: list[str] = []
    items = result if isinstance(result, list) else [result]
    for item in items:
        if isinstance(item, Page):
            for row in item.items:
                if isinstance(row, people.PersonRow) and row.id not in fx.person_ids:
                    leaks.append(f"person {row.id}")
                if isinstance(row, transactions.TransactionRow) and row.id not in fx.txn_ids:
                    leaks.append(f"transaction {row.id}")
                if isinstance(row, documents.DocumentRow) and row.transaction_id not in fx.txn_ids:
                    leaks.append(f"document {row.id}")
        elif isinstance(item, transactions.TransactionDetail):
            if item.id not in fx.txn_ids:
                leaks.append(f"transaction {item.id}")
            leaks += [
                f"person {p.person_id}"
                for p in item.participants
                if p.person_id and p.person_id not in fx.person_ids
            ]
        elif isinstance(item, tasks.TodayView):
            leaks += [
                f"task on transaction {r.transaction_id}"
                for r in (*item.overdue, *item.due_today, *item.next_days)
                if r.transaction_id not in fx.txn_ids
            ]
        elif isinstance(item, tuple) and item and isinstance(item[0], list):
            leaks += [
                f"key date on transaction {r.transaction_id}"
                for r in item[0]
                if getattr(r, "transaction_id", None) not in fx.txn_ids
            ]
        elif isinstance(item, people.PersonDetail):
            leaks += [
                f"transaction {t.transaction.id}"
                for t in item.transactions
                if t.transaction.id not in fx.txn_ids
            ]
    if leaks:
        raise SystemExit(
            f"ISOLATION BUG: {call.name} ({call.persona}) returned the other brokerage's "
            f"{', '.join(leaks[:5])}"
        )


def run_backend(backend: str, n: int, repeat: int) -> dict[str, Any]:
    with fresh_database(backend) as url:
        started = time.perf_counter()
        upgrade(url)
        migrate_s = time.perf_counter() - started
        engine = make_engine(url)
        try:
            version = server_version(engine)
            print(f"[{backend} {version}] migrated in {migrate_s:.1f}s; generating {n:,} ...")
            sizes, gen_s = populate(engine, n)
            print(
                f"[{backend}] generated {sizes['transactions']:,} transactions, "
                f"{sizes['people']:,} people, {sizes['participants']:,} participants, "
                f"{sizes['events']:,} events, {sizes['tasks']:,} tasks, "
                f"{sizes['documents']:,} documents in {gen_s:.1f}s (+ {OTHER_TRANSACTIONS} in the "
                "other brokerage)"
            )
            fx = pick_fixture(engine, sizes)
            if fx.other_only_word:
                with session_scope(engine) as db:
                    leak = transactions.list_transactions(db, fx.admin, q=fx.other_only_word)
                if leak.total:
                    raise SystemExit(
                        f"ISOLATION BUG: searching {fx.other_only_word!r} (a street only the "
                        f"other brokerage has) found {leak.total} transaction(s)"
                    )
                print(f"[{backend}] isolation probe: searching {fx.other_only_word!r} finds 0")
            counter = StatementCounter(engine)
            figures: list[Figure] = []
            for call in calls_for(fx):
                figure, warm = measure(engine, counter, call, repeat)
                check_isolation(fx, call, warm)
                figures.append(figure)
                print(
                    f"  {call.persona:<6} {call.name:<40} p50 {figure.p50_ms:8.2f}  "
                    f"p95 {figure.p95_ms:8.2f} ms  {figure.queries:>2} SQL"
                )
            return {
                "version": version,
                "sizes": sizes,
                "migrate_seconds": round(migrate_s, 2),
                "generate_seconds": round(gen_s, 2),
                "personas": {
                    "admin": fx.admin.email,
                    "agent": fx.agent.email,
                    "client": fx.client.email,
                },
                "inputs": {
                    "busy_txn": fx.busy_txn,
                    "agent_txn": fx.agent_txn,
                    "client_txn": fx.client_txn,
                    "street_word": fx.street_word,
                    "last_name": fx.last_name,
                    "agent_last_name": fx.agent_last_name,
                    "people_query": fx.people_query,
                    "busy_person": fx.busy_person,
                    "other_only_word": fx.other_only_word,
                },
                "calls": [f.as_json() for f in figures],
            }
        finally:
            engine.dispose()


# ---------------------------------------------------------------- reporting


_QUERY = re.compile(r"q='[^']*'")


def _key(backend: str, call: dict[str, Any]) -> str:
    # The searched words depend on the data size: compare "q='Maple' (street)" as "q=? (street)".
    name = _QUERY.sub("q=?", call["name"])
    return f"{backend}|{call['persona']}|{name}"


def previous_p95(previous: dict[str, Any] | None) -> dict[str, float]:
    if not previous:
        return {}
    out: dict[str, float] = {}
    for backend, data in previous.get("backends", {}).items():
        for call in data.get("calls", []):
            out[_key(backend, call)] = call["p95_ms"]
    return out


def _prev_label(previous: dict[str, Any] | None) -> str:
    if not previous:
        return ""
    cfg = previous.get("config", {})
    return f"{previous.get('date', '?')}, {cfg.get('transactions', '?'):,} transactions, repeat {cfg.get('repeat', '?')}"


def table_rows(
    backend: str, data: dict[str, Any], prev: dict[str, float]
) -> tuple[list[str], list[list[str]]]:
    headers = ["persona", "call", "rows/total", "SQL", "p50 ms", "p95 ms", "max ms"]
    if prev:
        headers.append("prev p95")
    rows = []
    for c in data["calls"]:
        size = f"{c['rows']}/{c['total']:,}" if c["total"] is not None else str(c["rows"])
        row = [
            c["persona"],
            c["name"],
            size,
            f"{c['queries']}{'*' if c['queries_varied'] else ''}",
            f"{c['p50_ms']:.2f}",
            f"{c['p95_ms']:.2f}",
            f"{c['max_ms']:.2f}",
        ]
        if prev:
            old = prev.get(_key(backend, c))
            row.append(f"{old:.2f}" if old is not None else "-")
        rows.append(row)
    return headers, rows


def text_table(headers: list[str], rows: list[list[str]]) -> str:
    numeric = {i for i, h in enumerate(headers) if h not in ("persona", "call")}
    widths = [max(len(h), *(len(r[i]) for r in rows)) for i, h in enumerate(headers)]

    def fmt(cells: list[str]) -> str:
        return "  ".join(
            c.rjust(w) if i in numeric else c.ljust(w)
            for i, (c, w) in enumerate(zip(cells, widths, strict=True))
        ).rstrip()

    return "\n".join([fmt(headers), "  ".join("-" * w for w in widths), *map(fmt, rows)])


def md_table(headers: list[str], rows: list[list[str]]) -> str:
    align = ["---" if h in ("persona", "call") else "---:" for h in headers]
    lines = ["| " + " | ".join(headers) + " |", "| " + " | ".join(align) + " |"]
    lines += ["| " + " | ".join(c.replace("|", "\\|") for c in r) + " |" for r in rows]
    return "\n".join(lines)


def write_markdown(report: dict[str, Any], previous: dict[str, Any] | None) -> None:
    prev = previous_p95(previous)
    m, cfg = report["machine"], report["config"]
    out = [
        "# Chronos benchmark results",
        "",
        "Generated by `make bench` (`python -m bench.run`); the figures are also in "
        "`bench/results/latest.json`.",
        "",
        f"- Date: {report['date']}",
        f"- Machine: {m['cpu_count']} CPUs, {m['platform']}, Python {m['python']}, "
        f"SQLAlchemy {m['sqlalchemy']}, SQLite {m['sqlite']}, PostgreSQL "
        f"{m.get('postgresql') or '-'}, Reflex {_reflex_version()}; load average "
        f"{m['load_average_start']} at the start, {m['load_average_1m']} at the end",
        f"- Main brokerage: {cfg['transactions']:,} transactions (bulk generator, seed {cfg['seed']}); "
        f"second brokerage: {cfg['other_transactions']} transactions, never visible",
        f"- Each call: 1 warm-up, then {cfg['repeat']} timed runs, one session each "
        "(nearest-rank percentiles; times include the session and its commit)",
        "- SQL: statements per call (`*`: varied between runs; the maximum is shown)",
    ]
    if previous:
        out.append(f"- prev p95: from the previous run ({_prev_label(previous)})")
    for backend, data in report["backends"].items():
        out += ["", f"## {backend}", ""]
        if "skipped" in data:
            out.append(f"Skipped: {data['skipped']}")
            continue
        s = data["sizes"]
        out.append(
            f"{backend} {data['version']}: {s['transactions']:,} transactions, "
            f"{s['people']:,} people, {s['participants']:,} participants, {s['events']:,} events, "
            f"{s.get('tasks', 0):,} tasks, {s.get('documents', 0):,} documents "
            f"({s.get('document_versions', 0):,} versions), {s.get('key_dates', 0):,} key dates; "
            f"generated in {data['generate_seconds']}s."
        )
        out.append("")
        out.append(md_table(*table_rows(backend, data, prev)))
    up = report.get("upload")
    if up:
        old = (previous or {}).get("upload") or {}

        def prev_p95(key: str) -> str:
            return str(old[key]["p95_ms"]) if key in old else "-"

        out += [
            "",
            "## Upload of a 50-page PDF (SQLite, local storage)",
            "",
            f"`services.documents.upload` of a {up['pages']}-page contract "
            f"({up['pdf_bytes']:,} bytes, {up['extracted_text_chars']:,} characters of extracted "
            f"text kept) as the file's agent: validation, duplicate check, text extraction, "
            f"storage, Event; then `page_preview` of page 1 at {up['preview_width']} px. "
            f"{up['runs']} runs after a warm-up, distinct bytes each run.",
            "",
            "| call | SQL | p50 ms | p95 ms | max ms | prev p95 |",
            "| --- | ---: | ---: | ---: | ---: | ---: |",
            f"| upload (50 pages) | {up['upload']['queries']} | {up['upload']['p50_ms']} | "
            f"{up['upload']['p95_ms']} | {up['upload']['max_ms']} | {prev_p95('upload')} |",
            f"| page 1 preview, first render | - | {up['preview_first_render']['p50_ms']} | "
            f"{up['preview_first_render']['p95_ms']} | {up['preview_first_render']['max_ms']} | "
            f"{prev_p95('preview_first_render')} |",
            f"| page 1 preview, cached | - | {up['preview_cached']['p50_ms']} | "
            f"{up['preview_cached']['p95_ms']} | {up['preview_cached']['max_ms']} | "
            f"{prev_p95('preview_cached')} |",
        ]
    out += load_section() + pageweight_section()
    out += [
        "",
        "Targets missed and their measured causes: `bench/FINDINGS.md`. Production settings "
        'for one worker and for scale-out: the README, "Production / scale-out".',
    ]
    RESULTS_MD.write_text("\n".join(out) + "\n", encoding="utf-8")


def _reflex_version() -> str:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("reflex")
    except PackageNotFoundError:
        return "?"


def _read_json(path: Path) -> dict[str, Any] | None:
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None


def _strip_previous(previous: dict[str, Any] | None) -> dict[str, Any] | None:
    if not previous:
        return None
    return {k: v for k, v in previous.items() if k != "previous_run"}


def load_section() -> list[str]:
    """The headline of bench/LOAD.md (python -m bench.load), when it has run."""
    data = _read_json(BENCH_DIR / "results" / "load-latest.json")
    out = ["", "## Concurrent users (websocket), one worker vs scale-out", ""]
    if not data:
        return [*out, "Not run yet: `make bench-load` (`python -m bench.load`)."]
    out += [
        f"From `bench/LOAD.md` ({data['date']}, load average {data['machine']['load_average_start']}"
        f" at the start): simulated browsers speaking Reflex's socket.io protocol against "
        "`reflex run --env prod`, think time "
        f"{data['config']['think_seconds'][0]}-{data['config']['think_seconds'][1]} s, "
        f"{data['config']['step_seconds']:.0f} s per step; round trip = emit to the delta that "
        "completes the event.",
        "",
        "| setup | users | round trips | p50 ms | p95 ms | p99 ms | errors | server RSS MB |",
        "| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: |",
    ]
    for setup in data["setups"].values():
        if "skipped" in setup:
            out.append(f"| {setup['setup']} | skipped: {setup['skipped']} | | | | | | |")
            continue
        for step in setup["steps"]:
            a = step["all"]
            out.append(
                f"| {setup['setup']} ({setup['database']}) | {step['users']} | "
                f"{step['round_trips']} | {a['p50_ms']} | {a['p95_ms']} | {a['p99_ms']} | "
                f"{step['errors']} | {step['server_rss_mb_max']} |"
            )
    return out


def pageweight_section() -> list[str]:
    """The headline of bench/PAGEWEIGHT.md (python -m bench.pageweight), when it has run."""
    data = _read_json(BENCH_DIR / "results" / "pageweight-latest.json")
    out = ["", "## Page weight and time to usable (throttled 3G) vs a blank Reflex app", ""]
    if not data:
        return [*out, "Not run yet: `make bench-pageweight` (`python -m bench.pageweight`)."]
    out += [
        f"From `bench/PAGEWEIGHT.md` ({data['date']}): production builds, empty cache, KB as "
        "transferred (gzip); usable = state hydrated and main element visible.",
        "",
        "| app | page | network | JS KB | CSS KB | all KB | usable s |",
        "| --- | --- | --- | ---: | ---: | ---: | ---: |",
    ]
    out += [
        f"| {p['app']} | {p['page']} | {p['profile']} | {p['js_bytes'] / 1024:.1f} | "
        f"{p['css_bytes'] / 1024:.1f} | {p['total_bytes'] / 1024:.1f} | "
        f"{p['usable_ms'] / 1000:.2f} |"
        for p in data.get("pages", [])
    ]
    return out


def machine_info(backends: dict[str, Any]) -> dict[str, Any]:
    return {
        "cpu_count": os.cpu_count(),
        "platform": platform.platform(terse=True),
        "machine": platform.machine(),
        "load_average_1m": round(os.getloadavg()[0], 2),  # other work on the machine skews p95
        "python": platform.python_version(),
        "sqlalchemy": sqlalchemy.__version__,
        "sqlite": sqlite3.sqlite_version,
        "postgresql": backends.get("postgresql", {}).get("version"),
    }


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m bench.run", description=__doc__.split("\n")[0])
    parser.add_argument(
        "--transactions", "-n", type=int, default=10_000, help="main brokerage size"
    )
    parser.add_argument("--repeat", "-r", type=int, default=10, help="timed runs per call")
    parser.add_argument(
        "--backends", default=",".join(BACKENDS), help="comma-separated: sqlite,postgresql"
    )
    parser.add_argument(
        "--upload-runs", type=int, default=10, help="50-page PDF uploads to time (0: skip)"
    )
    parser.add_argument(
        "--report-only",
        action="store_true",
        help="rewrite bench/RESULTS.md from the JSON results (after bench.load/pageweight)",
    )
    args = parser.parse_args(argv)
    args.backends = [b.strip() for b in args.backends.split(",") if b.strip()]
    unknown = set(args.backends) - set(BACKENDS)
    if unknown:
        parser.error(f"unknown backend(s): {', '.join(sorted(unknown))}")
    if not 1 <= args.transactions <= 100_000:
        parser.error("--transactions must be between 1 and 100000")
    if args.repeat < 1:
        parser.error("--repeat must be at least 1")
    return args


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    if args.report_only:
        report = _read_json(RESULTS_JSON)
        if report is None:
            print(f"{RESULTS_JSON} is missing: python -m bench.run writes it (and the report)")
            return 0
        write_markdown(report, report.get("previous_run"))
        print(f"Rewrote {RESULTS_MD}")
        return 0
    load_start = round(os.getloadavg()[0], 2)
    previous = None
    if RESULTS_JSON.exists():
        try:
            previous = json.loads(RESULTS_JSON.read_text(encoding="utf-8"))
        except ValueError:
            previous = None
    results: dict[str, Any] = {}
    for backend in args.backends:
        if backend == "postgresql":
            reason = postgres_unavailable()
            if reason:
                print(f"[postgresql] skipped: {reason}")
                results[backend] = {"skipped": reason}
                continue
        results[backend] = run_backend(backend, args.transactions, args.repeat)
    upload: dict[str, Any] | None = None
    if args.upload_runs:
        from bench import upload as upload_bench

        print(f"\n[upload] {args.upload_runs} uploads of a 50-page PDF + first page preview ...")
        upload = upload_bench.run(args.upload_runs, 50)
        print(
            f"[upload] upload p50 {upload['upload']['p50_ms']} p95 {upload['upload']['p95_ms']} ms, "
            f"first preview p50 {upload['preview_first_render']['p50_ms']} ms"
        )
    report = {
        "schema": 1,
        "date": datetime.now(UTC).isoformat(timespec="seconds"),
        "machine": {**machine_info(results), "load_average_start": load_start},
        "config": {
            "transactions": args.transactions,
            "repeat": args.repeat,
            "seed": SEED,
            "other_transactions": OTHER_TRANSACTIONS,
            "today": TODAY.isoformat(),
        },
        "backends": results,
        "upload": upload,
        # The figures the "prev" columns compare with, so --report-only can rewrite the page.
        "previous_run": _strip_previous(previous),
    }
    prev = previous_p95(previous)
    for backend, data in results.items():
        print()
        if "skipped" in data:
            print(f"== {backend}: skipped ({data['skipped']})")
            continue
        print(
            f"== {backend} {data['version']}, {args.transactions:,} transactions, {args.repeat} runs"
        )
        print(text_table(*table_rows(backend, data, prev)))
    if previous:
        print(f"\nprev p95: {_prev_label(previous)}")
    RESULTS_JSON.parent.mkdir(parents=True, exist_ok=True)
    RESULTS_JSON.write_text(json.dumps(report, indent=1) + "\n", encoding="utf-8")
    write_markdown(report, previous)
    print(f"\nWrote {RESULTS_JSON} and {RESULTS_MD}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
