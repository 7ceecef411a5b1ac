"""Integration fixtures: the same ``engine`` contract as tests/conftest.py, but on databases
built by the Alembic migrations, once on SQLite and once on PostgreSQL.

PostgreSQL: one fresh database per test session, migrated to head; every test starts from
empty tables (TRUNCATE ... RESTART IDENTITY) so ids and ordering are as deterministic as on
SQLite.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from sqlalchemy import text
from sqlalchemy.engine import Engine
from sqlmodel import SQLModel

from chronos import migrate
from chronos.db import make_engine
from tests.support.postgres import fresh_database


@pytest.fixture(scope="session")
def migrated_postgres_url() -> Iterator[str]:
    with fresh_database() as url:
        migrate.upgrade(url)
        yield url


def _truncate_all(engine: Engine) -> None:
    tables = ", ".join(f'"{t.name}"' for t in SQLModel.metadata.sorted_tables)
    with engine.begin() as conn:
        conn.execute(text(f"TRUNCATE {tables} RESTART IDENTITY CASCADE"))


@pytest.fixture(
    params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)],
)
def engine(request: pytest.FixtureRequest, tmp_path) -> Iterator[Engine]:
    if request.param == "sqlite":
        url = f"sqlite:///{tmp_path / 'migrated.db'}"
        migrate.upgrade(url)
        eng = make_engine(url)
        yield eng
        eng.dispose()
        return
    url = request.getfixturevalue("migrated_postgres_url")
    eng = make_engine(url)
    _truncate_all(eng)
    yield eng
    eng.dispose()
