"""A real huey consumer delivers through the Resend backend to a local stand-in for its API.

The queue is stored in SQLite (a temp file, the embedded default) and in Redis (database 15 on
127.0.0.1:6379; skipped when no Redis answers unless CHRONOS_REQUIRE_REDIS=1). The database is
SQLite and PostgreSQL (the ``engine`` fixture). A provider outage (503, then 200) delays the
message and it is sent; a permanent refusal (422) ends as failed; a separate ``chronos
worker`` process does the same job as the consumer inside the app and stops on SIGTERM.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy.engine import Engine

from chronos import db as chronos_db
from chronos import migrate
from chronos.jobs import Jobs, consumer
from chronos.mail import delivery
from chronos.settings import get_settings
from tests.support.mail import (
    FakeResend,
    Reply,
    error_body,
    fake_resend,
    install_test_templates,
    message_row,
    queue_notice,
    use_jobs,
    wait_for,
)
from tests.support.redis import TEST_REDIS_URL, require_redis

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(autouse=True)
def templates(monkeypatch: pytest.MonkeyPatch) -> None:
    install_test_templates(monkeypatch)


@pytest.fixture
def resend_api(monkeypatch: pytest.MonkeyPatch) -> Iterator[FakeResend]:
    """Settings point the Resend backend at the stand-in; retries come after 1 s, not 30."""
    with fake_resend() as server:
        monkeypatch.setenv("CHRONOS_MAIL_BACKEND", "resend")
        monkeypatch.setenv("RESEND_API_KEY", "re_test_key")
        monkeypatch.setenv("RESEND_API_URL", server.url)
        monkeypatch.setenv("CHRONOS_MAIL_TIMEOUT_SECONDS", "2")
        monkeypatch.setattr(delivery, "FIRST_RETRY_SECONDS", 1)
        monkeypatch.setattr(delivery, "JITTER", 0.0)
        get_settings.cache_clear()
        yield server
    get_settings.cache_clear()


@pytest.fixture(params=["sqlite", "redis"])
def jobs(
    request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> Iterator[Jobs]:
    if request.param == "redis":
        require_redis()
        jobs = use_jobs(monkeypatch, TEST_REDIS_URL, tmp_path, name=f"t{uuid.uuid4().hex[:12]}")
    else:
        jobs = use_jobs(monkeypatch, "", tmp_path / "jobs")
    yield jobs
    jobs.huey.flush()


def test_an_outage_delays_mail_and_a_refusal_fails_it(
    engine: Engine,
    jobs: Jobs,
    resend_api: FakeResend,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(chronos_db, "get_engine", lambda: engine)
    resend_api.script(
        "outage@example.com",
        Reply(503, error_body(503, "application_error", "Service unavailable")),
        Reply(200, {"id": "re_after_outage"}),
    )
    resend_api.script(
        "refused@example.com",
        Reply(422, error_body(422, "validation_error", "Invalid `to` field.")),
    )
    running = consumer.background_consumer(jobs.huey, workers=2)
    try:
        delayed = queue_notice(engine, "outage@example.com")
        refused = queue_notice(engine, "refused@example.com")
        wait_for(lambda: message_row(engine, delayed).status == "sent", timeout=30)
        wait_for(lambda: message_row(engine, refused).status == "failed", timeout=30)
    finally:
        running.shutdown()

    sent = message_row(engine, delayed)
    assert (sent.attempts, sent.provider_id, sent.backend, sent.last_error) == (
        2,
        "re_after_outage",
        "resend",
        "",
    )
    failed = message_row(engine, refused)
    assert failed.attempts == 1
    assert failed.last_error == "Resend 422 validation_error: Invalid `to` field."
    assert len(resend_api.requests_to("outage@example.com")) == 2
    assert len(resend_api.requests_to("refused@example.com")) == 1
    assert jobs.huey.pending_count() == 0


def test_a_separate_worker_process_delivers_and_stops_on_sigterm(tmp_path: Path) -> None:
    """`chronos worker` on the embedded SQLite queue, as the scale-out setup runs it."""
    db_url = f"sqlite:///{tmp_path / 'worker.db'}"
    migrate.upgrade(db_url)
    var_dir = tmp_path / "var"
    env = {
        **os.environ,
        "DATABASE_URL": db_url,
        "CHRONOS_VAR_DIR": str(var_dir),
        "CHRONOS_SECRET_KEY": "worker-test-secret",
        "CHRONOS_MAIL_BACKEND": "outbox",
        "CHRONOS_JOBS_URL": "",
    }
    monkey = pytest.MonkeyPatch()
    try:
        engine = chronos_db.make_engine(db_url)
        jobs = use_jobs(monkey, "", var_dir)
        message_id = queue_notice(engine, "ada@example.com")
        assert jobs.huey.pending_count() == 1
        proc = subprocess.Popen(
            [sys.executable, "-m", "chronos.cli", "worker", "--workers", "1"],
            cwd=ROOT,
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )
        try:
            wait_for(lambda: message_row(engine, message_id).status == "sent", timeout=60)
        finally:
            proc.send_signal(signal.SIGTERM)
            output, _ = proc.communicate(timeout=30)
        assert proc.returncode == 0, output
        assert "Consuming jobs from" in output
        row = message_row(engine, message_id)
        assert (row.backend, row.provider_id) == ("outbox", f"outbox-{message_id}")
        engine.dispose()
    finally:
        monkey.undo()
