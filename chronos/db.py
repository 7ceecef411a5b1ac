"""Engine and session factory: SQLite by default, PostgreSQL by DATABASE_URL."""

from __future__ import annotations

import sqlite3
import unicodedata
from collections.abc import Iterator
from contextlib import contextmanager
from functools import lru_cache
from pathlib import Path
from typing import Any

from sqlalchemy import event
from sqlalchemy.engine import Engine
from sqlmodel import Session, create_engine

from chronos.settings import get_settings


def _bind_int(value: int) -> int | str:
    # pysqlite raises OverflowError binding an int past 64 bits (an id or page number typed by
    # anyone into a URL or a websocket event). Bound as text it matches no integer column, so
    # the lookup answers "not found" like any other missing row.
    return value if -(2**63) <= value < 2**63 else str(value)


sqlite3.register_adapter(int, _bind_int)


def fold_text(value: str | None) -> str | None:
    """What search compares: without accents, case, compatibility forms or invisible characters
    ('Émile', 'EMILE' and a decomposed 'E\u0301mile' are one name; 'Al\u200bice' is 'Alice').
    SQLite gets it as the SQL function chronos_fold; PostgreSQL has its own (migration 0011,
    unaccent), and both sides of a comparison are folded by the same database."""
    if value is None:
        return None
    decomposed = unicodedata.normalize("NFKD", str(value))
    kept = "".join(
        c for c in decomposed if not unicodedata.combining(c) and unicodedata.category(c) != "Cf"
    )
    return kept.casefold()


def make_engine(url: str) -> Engine:
    """Create an engine with the pragmas and pool settings Chronos relies on."""
    if url.startswith("sqlite"):
        path = url.split("///", 1)[-1]
        if path and path != ":memory:":
            Path(path).parent.mkdir(parents=True, exist_ok=True)
        engine = create_engine(url, connect_args={"check_same_thread": False, "timeout": 30})

        @event.listens_for(engine, "connect")
        def _sqlite_pragmas(dbapi_conn: Any, _record: Any) -> None:
            dbapi_conn.create_function("chronos_fold", 1, fold_text, deterministic=True)
            cur = dbapi_conn.cursor()
            cur.execute("PRAGMA foreign_keys=ON")
            cur.execute("PRAGMA journal_mode=WAL")
            cur.execute("PRAGMA synchronous=NORMAL")
            cur.close()

        return engine
    # JIT off: the planner over-estimates the search clauses and spends 200-400 ms compiling
    # queries that run in tens of ms (bench/RESULTS.md).
    return create_engine(
        url,
        pool_pre_ping=True,
        pool_size=10,
        max_overflow=20,
        connect_args={"options": "-c jit=off"},
    )


@lru_cache(maxsize=1)
def get_engine() -> Engine:
    return make_engine(get_settings().database_url)


@contextmanager
def session_scope(engine: Engine | None = None) -> Iterator[Session]:
    """One unit of work: commit on success, roll back on any exception, except a refusal marked
    ``commit_unit_of_work`` (``errors.keep_log``: a wrong password's security event)."""
    session = Session(engine or get_engine(), expire_on_commit=False)
    try:
        yield session
        session.commit()
    except BaseException as exc:
        if getattr(exc, "commit_unit_of_work", False):
            session.commit()
        else:
            session.rollback()
        raise
    finally:
        session.close()


def insert_ignoring_duplicates(
    session: Session, table: Any, rows: list[dict[str, Any]], unique: list[str]
) -> int:
    """INSERT … ON CONFLICT (unique) DO NOTHING on SQLite and PostgreSQL; returns the rows
    inserted. No savepoint: pysqlite's SAVEPOINT handling cannot be trusted inside the
    embedded default's transactions, and a conflict here is an expected outcome."""
    if not rows:
        return 0
    if session.get_bind().dialect.name == "postgresql":
        from sqlalchemy.dialects.postgresql import insert as dialect_insert
    else:
        from sqlalchemy.dialects.sqlite import insert as dialect_insert  # type: ignore[assignment]
    inserted = 0
    for start in range(0, len(rows), 500):
        # RETURNING counts what went in on both databases (psycopg's executemany rowcount
        # does not: with it a fresh row looked like a duplicate on PostgreSQL).
        stmt = (
            dialect_insert(table)
            .values(rows[start : start + 500])
            .on_conflict_do_nothing(index_elements=unique)
            .returning(table.c.id)
        )
        inserted += len(session.execute(stmt).all())
    return inserted
