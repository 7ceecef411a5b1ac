"""The job queue: huey from settings, the tasks, and the in-process consumer's life cycle."""

from __future__ import annotations

import asyncio
import signal
import threading
from datetime import timedelta
from pathlib import Path

import pytest
from click.testing import CliRunner
from huey import RedisHuey, SqliteHuey
from sqlalchemy.engine import Engine
from sqlmodel import Session

import chronos.jobs
from chronos import db as chronos_db
from chronos.cli import cli
from chronos.jobs import Jobs, consumer, jobs_in_process
from chronos.jobs.queue import build_huey
from chronos.mail import delivery
from chronos.models import EmailMessage, utcnow
from chronos.settings import get_settings
from tests.support.mail import (
    ScriptedBackend,
    install_test_templates,
    message_row,
    queue_notice,
    transient,
    use_jobs,
    wait_for,
)


@pytest.fixture(autouse=True)
def templates(monkeypatch: pytest.MonkeyPatch) -> None:
    install_test_templates(monkeypatch)


@pytest.fixture
def jobs(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Jobs:
    return use_jobs(monkeypatch, "", tmp_path / "jobs")


@pytest.fixture
def app_db(engine: Engine, monkeypatch: pytest.MonkeyPatch) -> Engine:
    """The app's own session_scope() (used by the tasks) on the test database."""
    monkeypatch.setattr(chronos_db, "get_engine", lambda: engine)
    return engine


def _huey_threads() -> list[threading.Thread]:
    return [t for t in threading.enumerate() if t.name == "huey-consumer"]


# ---------------------------------------------------------------- the huey instance


def test_no_jobs_url_means_sqlite_under_the_var_dir(tmp_path: Path) -> None:
    huey = build_huey("", tmp_path / "var")
    assert isinstance(huey, SqliteHuey)
    assert Path(huey.storage.filename) == tmp_path / "var" / "jobs.db"
    assert huey.results is False


def test_a_redis_url_means_redis(tmp_path: Path) -> None:
    huey = build_huey("redis://127.0.0.1:6379/3", tmp_path)
    assert isinstance(huey, RedisHuey)
    assert huey.storage.pool.connection_kwargs["db"] == 3
    assert not (tmp_path / "jobs.db").exists()


def test_any_other_jobs_url_is_refused_without_echoing_secrets(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="redis://") as info:
        build_huey("amqp://user:secret@broker:5672", tmp_path)
    assert "secret" not in str(info.value)


def test_every_task_is_registered_once_under_a_stable_name(jobs: Jobs) -> None:
    names = set(jobs.huey._registry._registry)
    periodic = [
        "sweep_email",
        "run_automations",
        "scan_reminders",
        "send_digests",
        "sweep_idempotency",
        "sweep_webhooks",
    ]
    once = ["deliver_email", "build_export", "deliver_webhooks", "run_import"]
    assert names == {f"chronos.jobs.tasks.{n}" for n in [*once, *periodic]}
    assert [t.__name__ for t in jobs.huey._registry._periodic_tasks] == periodic


def test_the_sweeper_runs_every_minute(jobs: Jobs) -> None:
    from datetime import datetime

    sweeper = jobs.sweep_email.task_class()
    assert all(sweeper.validate_datetime(datetime(2026, 1, 1, 0, minute)) for minute in range(60))


# ---------------------------------------------------------------- the tasks


def test_a_failed_attempt_schedules_the_next_one_when_it_is_due(
    app_db: Engine, jobs: Jobs, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(
        delivery, "backend_from_settings", lambda settings: ScriptedBackend([transient()])
    )
    message_id = queue_notice(app_db)
    jobs.huey.flush()
    before = utcnow()
    jobs.deliver_email.call_local(message_id)
    # Enqueued with its eta; a worker moves it to the schedule until then.
    [retry] = jobs.huey.pending()
    assert retry.args == (message_id,)
    assert retry.name == "deliver_email"
    with Session(app_db) as db:
        row = db.get(EmailMessage, message_id)
        assert row is not None and row.next_attempt_at is not None
    # huey keeps naive UTC etas.
    eta = retry.eta.replace(tzinfo=row.next_attempt_at.tzinfo)
    assert abs(eta - row.next_attempt_at) < timedelta(seconds=1)
    assert before + timedelta(seconds=26) < eta < utcnow() + timedelta(seconds=34)


def test_a_delivered_message_schedules_nothing(app_db: Engine, jobs: Jobs) -> None:
    message_id = queue_notice(app_db)
    jobs.huey.flush()
    jobs.deliver_email.call_local(message_id)
    assert message_row(app_db, message_id).status == "sent"  # the default outbox backend
    assert jobs.huey.scheduled() == [] and jobs.huey.pending() == []


def test_the_sweeper_task_enqueues_overdue_messages(app_db: Engine, jobs: Jobs) -> None:
    message_id = queue_notice(app_db)
    with Session(app_db) as db:
        row = db.get(EmailMessage, message_id)
        assert row is not None
        row.next_attempt_at = utcnow() - timedelta(minutes=5)
        db.add(row)
        db.commit()
    jobs.huey.flush()  # the enqueue after the commit was "lost"
    jobs.sweep_email.call_local()
    assert [t.args for t in jobs.huey.pending()] == [(message_id,)]


# ---------------------------------------------------------------- the in-process consumer


def test_the_background_consumer_leaves_signal_handlers_alone_and_stops(
    app_db: Engine, jobs: Jobs
) -> None:
    before = {s: signal.getsignal(s) for s in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP)}
    running = consumer.background_consumer(jobs.huey, workers=1)
    try:
        assert {s: signal.getsignal(s) for s in before} == before
        message_id = queue_notice(app_db)
        wait_for(lambda: message_row(app_db, message_id).status == "sent", timeout=15)
    finally:
        running.shutdown()
    assert not _huey_threads()


def test_the_app_lifespan_runs_a_consumer_only_when_asked(
    jobs: Jobs, monkeypatch: pytest.MonkeyPatch
) -> None:
    async def during() -> int:
        async with jobs_in_process():
            return len(_huey_threads())

    monkeypatch.setenv("CHRONOS_JOBS_IN_PROCESS", "0")
    get_settings.cache_clear()
    assert asyncio.run(during()) == 0
    monkeypatch.setenv("CHRONOS_JOBS_IN_PROCESS", "1")
    get_settings.cache_clear()
    assert asyncio.run(during()) == 1
    assert not _huey_threads()  # stopped with the app
    monkeypatch.delenv("CHRONOS_JOBS_IN_PROCESS")
    get_settings.cache_clear()


def test_the_app_registers_the_consumer_as_a_lifespan_task() -> None:
    from chronos.chronos import app

    assert jobs_in_process in app.get_lifespan_tasks()


def test_the_worker_command_is_documented() -> None:
    result = CliRunner().invoke(cli, ["worker", "--help"])
    assert result.exit_code == 0
    assert "SIGTERM" in result.output and "--workers" in result.output
    assert chronos.jobs.run_worker is consumer.run_worker
