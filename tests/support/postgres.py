"""Fresh, throw-away PostgreSQL databases on the local server (127.0.0.1:5432, trust auth).

Tests that need PostgreSQL call ``pytest.skip`` with a clear message only when no server
answers; with ``CHRONOS_REQUIRE_POSTGRES=1`` (set by ``make test``/CI) a missing server fails.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from contextlib import contextmanager

import psycopg
import pytest

ADMIN_DSN = os.environ.get("CHRONOS_TEST_PG_DSN", "postgresql://postgres@127.0.0.1:5432/test")


def postgres_available() -> str | None:
    """None when the server answers, else why not."""
    try:
        with psycopg.connect(ADMIN_DSN, connect_timeout=3):
            return None
    except psycopg.Error as exc:
        return f"no PostgreSQL answers at {ADMIN_DSN}: {exc}".strip()


def require_postgres() -> None:
    reason = postgres_available()
    if reason is None:
        return
    if os.environ.get("CHRONOS_REQUIRE_POSTGRES") == "1":
        pytest.fail(f"PostgreSQL is required here (CHRONOS_REQUIRE_POSTGRES=1) but {reason}")
    pytest.skip(reason)


@contextmanager
def fresh_database() -> Iterator[str]:
    """Create an empty database, yield its SQLAlchemy URL, drop it afterwards."""
    require_postgres()
    name = f"chronos_test_{uuid.uuid4().hex[:12]}"
    with psycopg.connect(ADMIN_DSN, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    base = ADMIN_DSN.rsplit("/", 1)[0].replace("postgresql://", "postgresql+psycopg://", 1)
    try:
        yield f"{base}/{name}"
    finally:
        with psycopg.connect(ADMIN_DSN, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
