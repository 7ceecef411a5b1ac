"""The Alembic history builds exactly the schema the models declare, and can be undone."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import inspect, text
from sqlalchemy.exc import IntegrityError
from sqlmodel import SQLModel

import chronos.models  # noqa: F401  (registers every table)
from chronos import migrate
from chronos.db import make_engine
from tests.support.postgres import fresh_database

MODEL_TABLES = {
    "compliance_templates",
    "document_slots",
    "documents",
    "document_versions",
    "form_templates",
    "signature_requests",
    "signature_signers",
    "lender_conditions",
    "organizations",
    "users",
    "sessions",
    "people",
    "transactions",
    "participants",
    "events",
    "key_dates",
    "account_tokens",
    "email_messages",
    "invitations",
    "security_events",
    "tasks",
    "checklist_templates",
    "notifications",
    "notification_preferences",
    "automation_rules",
    "automation_runs",
    "deadline_templates",
    "message_threads",
    "thread_members",
    "messages",
    "thread_reads",
    "email_templates",
    "webhook_receipts",
    "idempotency_keys",
    "calendar_feeds",
    "api_tokens",
    "webhook_subscriptions",
    "webhook_events",
    "webhook_deliveries",
    "import_batches",
    "import_rows",
}


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def empty_url(request: pytest.FixtureRequest, tmp_path) -> Iterator[str]:
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'empty.db'}"
        return
    with fresh_database() as url:
        yield url


def _tables(url: str) -> set[str]:
    engine = make_engine(url)
    try:
        return set(inspect(engine).get_table_names())
    finally:
        engine.dispose()


def _current_revision(url: str) -> str | None:
    engine = make_engine(url)
    try:
        with engine.connect() as conn:
            return MigrationContext.configure(conn).get_current_revision()
    finally:
        engine.dispose()


def _pending_diff(url: str) -> list:
    engine = make_engine(url)
    try:
        with engine.connect() as conn:
            ctx = MigrationContext.configure(conn, opts={"compare_type": True})
            return compare_metadata(ctx, SQLModel.metadata)
    finally:
        engine.dispose()


def test_the_history_has_a_single_head() -> None:
    script = ScriptDirectory.from_config(migrate.alembic_config("sqlite://"))
    assert script.get_heads() == ["0020"]


def test_upgrade_downgrade_upgrade_round_trips(empty_url: str) -> None:
    assert _tables(empty_url) == set()

    migrate.upgrade(empty_url)
    assert _tables(empty_url) == MODEL_TABLES | {"alembic_version"}
    assert _current_revision(empty_url) == "0020"

    migrate.downgrade(empty_url)
    assert _tables(empty_url) == {"alembic_version"}
    assert _current_revision(empty_url) is None

    migrate.upgrade(empty_url)
    assert _tables(empty_url) == MODEL_TABLES | {"alembic_version"}
    assert _current_revision(empty_url) == "0020"
    assert _pending_diff(empty_url) == []


def test_the_migrated_schema_keeps_its_constraints(empty_url: str) -> None:
    migrate.upgrade(empty_url)
    engine = make_engine(empty_url)
    try:
        insp = inspect(engine)
        checks = {c["name"] for c in insp.get_check_constraints("transactions")}
        assert "ck_transactions_price" in checks
        assert "ck_participants_who" in {
            c["name"] for c in insp.get_check_constraints("participants")
        }
        fks = {
            (fk["referred_table"], fk["options"].get("ondelete"))
            for fk in insp.get_foreign_keys("participants")
        }
        assert ("transactions", "CASCADE") in fks
        key_date_fks = {
            (fk["referred_table"], fk["options"].get("ondelete"))
            for fk in insp.get_foreign_keys("key_dates")
        }
        assert ("transactions", "CASCADE") in key_date_fks
        assert {"transaction_id", "key"} in [
            set(u["column_names"]) for u in insp.get_unique_constraints("key_dates")
        ]
        with engine.begin() as conn:
            conn.execute(
                text(
                    "INSERT INTO organizations (name, slug, timezone, created_at) "
                    "VALUES ('A', 'a', 'UTC', CURRENT_TIMESTAMP)"
                )
            )
        with pytest.raises(IntegrityError), engine.begin() as conn:
            conn.execute(
                text(
                    "INSERT INTO organizations (name, slug, timezone, created_at) "
                    "VALUES ('B', 'a', 'UTC', CURRENT_TIMESTAMP)"
                )
            )
    finally:
        engine.dispose()


def test_search_folding_is_defined_by_the_migration(empty_url: str) -> None:
    """chronos_fold: a function of PostgreSQL's own after 0011 (SQLite's is per connection)."""
    from sqlalchemy import text

    from chronos.db import make_engine

    migrate.upgrade(empty_url)
    engine = make_engine(empty_url)
    try:
        with engine.connect() as conn:
            folded = conn.execute(
                text("SELECT chronos_fold(:v)"), {"v": "ÉMILE Zoe\u0308 Al\u200bice"}
            ).scalar()
    finally:
        engine.dispose()
    assert folded == "emile zoe alice"
