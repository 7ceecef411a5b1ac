"""Time the service calls behind each Chronos page, on SQLite and PostgreSQL.

    .venv/bin/python -m bench.run [--transactions N] [--repeat R] [--backends sqlite,postgresql]

For each backend: a throw-away database migrated with Alembic, a generated brokerage of N
transactions (bulk path) plus a second small brokerage whose rows must stay invisible, then
every call once as a warm-up and R timed times (``time.perf_counter``, one session per call as
the pages do). Each figure comes with the number of SQL statements the call issued (counted
with SQLAlchemy's ``before_cursor_execute``): a constant count whatever the page size is the
proof of no N+1. Prints a table, writes ``bench/results/latest.json`` and ``bench/RESULTS.md``.

No thresholds: a benchmark prints figures. It does fail loudly if a call returns a row of the
other brokerage (that is a correctness bug, not a slow call).

PostgreSQL: ``CHRONOS_BENCH_PG_DSN`` (default ``postgresql://postgres@127.0.0.1:5432/test``)
must point at a loopback server; a fresh database is created there and dropped afterwards.
When no server answers the backend is skipped with the reason.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import platform
import re
import shutil
import sqlite3
import statistics
import sys
import tempfile
import time
import uuid
from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import sqlalchemy
from sqlalchemy import event, func, text
from sqlalchemy.engine import Engine, make_url
from sqlmodel import Session, col, select

from chronos.db import make_engine, session_scope
from chronos.demo import generate_brokerage
from chronos.migrate import upgrade
from chronos.models import Event, Participant, Person, Role, Transaction, User
from chronos.services import people, timeline, transactions
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
    if isinstance(result, list):
        return sum(result_size(r)[0] for r in result), None
    return 1, None


def measure(
    engine: Engine, counter: StatementCounter, call: Call, repeat: int
) -> tuple[Figure, Any]:
    with session_scope(engine) as db:  # warm-up: caches, pool connection, statement cache
        warm = call.fn(db)
    samples: list[float] = []
    counts: list[int] = []
    for _ in range(repeat):
        counter.count = 0
        started = time.perf_counter()
        with session_scope(engine) as db:
            call.fn(db)
        samples.append((time.perf_counter() - started) * 1000)
        counts.append(counter.count)
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
        other = generate_brokerage(
            db,
            seed=SEED + 1,
            transactions=OTHER_TRANSACTIONS,
            name="Bench Other Homes",
            slug="bench-other",
            today=TODAY,
            use_services=False,
        )
    if engine.dialect.name == "postgresql":
        # What autovacuum would have done on a live server by now.
        with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
            conn.execute(text("ANALYZE"))
    sizes = {
        "org_id": main.org_id,
        "other_org_id": other.org_id,
        "transactions": main.transactions,
        "people": main.people,
        "users": main.users,
        "participants": main.participants,
        "events": main.events,
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
        elif isinstance(item, transactions.TransactionDetail):
            if item.id not in fx.txn_ids:
                leaks.append(f"transaction {item.id}")
            leaks += [
                f"person {p.person_id}"
                for p in item.participants
                if p.person_id and p.person_id not in fx.person_ids
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
                f"{sizes['events']:,} events in {gen_s:.1f}s (+ {OTHER_TRANSACTIONS} in the "
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
        f"SQLAlchemy {m['sqlalchemy']}, SQLite {m['sqlite']}; load average "
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
            f"{s['people']:,} people, {s['participants']:,} participants, {s['events']:,} events; "
            f"generated in {data['generate_seconds']}s."
        )
        out.append("")
        out.append(md_table(*table_rows(backend, data, prev)))
    RESULTS_MD.write_text("\n".join(out) + "\n", encoding="utf-8")


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
    parser.add_argument("--transactions", "-n", type=int, default=2000, help="main brokerage size")
    parser.add_argument("--repeat", "-r", type=int, default=30, help="timed runs per call")
    parser.add_argument(
        "--backends", default=",".join(BACKENDS), help="comma-separated: sqlite,postgresql"
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
