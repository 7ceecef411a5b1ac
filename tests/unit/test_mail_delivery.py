"""Delivery attempts: the claim, the outcome on the row, the backoff schedule, the sweeper."""

from __future__ import annotations

import threading
from datetime import datetime, timedelta

import pytest
from sqlalchemy.engine import Engine
from sqlmodel import Session

import chronos.jobs
from chronos.mail import delivery
from chronos.mail.delivery import MAX_ATTEMPTS, deliver, retry_delay_seconds, sweep
from chronos.models import EmailMessage, utcnow
from tests.support.mail import (
    ScriptedBackend,
    install_test_templates,
    message_row,
    permanent,
    queue_notice,
    transient,
)


@pytest.fixture(autouse=True)
def templates(monkeypatch: pytest.MonkeyPatch) -> None:
    install_test_templates(monkeypatch)


@pytest.fixture
def enqueued(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    ids: list[int] = []
    monkeypatch.setattr(chronos.jobs, "enqueue_delivery", ids.append)
    return ids


def _set(engine: Engine, message_id: int, **values: object) -> None:
    with Session(engine) as db:
        row = db.get(EmailMessage, message_id)
        assert row is not None
        for key, value in values.items():
            setattr(row, key, value)
        db.add(row)
        db.commit()


def _clock(start: datetime) -> tuple[list[datetime], object]:
    at = [start]
    return at, lambda: at[0]


# ---------------------------------------------------------------- one attempt


def test_a_successful_attempt_marks_the_message_sent(engine: Engine, enqueued: list[int]) -> None:
    message_id = queue_notice(engine)
    backend = ScriptedBackend(["re_123"], name="resend")
    attempt = deliver(message_id, backend=backend, engine=engine)
    assert (attempt.outcome, attempt.retry_in) == ("sent", None)
    row = message_row(engine, message_id)
    assert (row.status, row.backend, row.provider_id, row.attempts) == (
        "sent",
        "resend",
        "re_123",
        1,
    )
    assert row.sent_at is not None and row.last_error == "" and row.next_attempt_at is None
    assert [e.to for e in backend.sent] == ["ada@example.com"]
    assert backend.sent[0].subject == "Notice for Ada (test)"
    assert "http://localhost:3000/verify?token=abc" in backend.sent[0].text


def test_the_outbox_backend_records_its_own_provider_id(
    engine: Engine, enqueued: list[int]
) -> None:
    from chronos.mail.backends import OutboxBackend

    message_id = queue_notice(engine)
    deliver(message_id, backend=OutboxBackend(), engine=engine)
    row = message_row(engine, message_id)
    assert (row.status, row.backend, row.provider_id) == ("sent", "outbox", f"outbox-{message_id}")


def test_a_transient_failure_queues_the_message_again_with_a_delay(
    engine: Engine, enqueued: list[int]
) -> None:
    message_id = queue_notice(engine)
    start = utcnow()
    attempt = deliver(
        message_id,
        backend=ScriptedBackend([transient("Resend 503 application_error: down")]),
        engine=engine,
        now=lambda: start,
        rand=lambda: 0.5,  # no jitter
    )
    assert (attempt.outcome, attempt.retry_in) == ("retry", 30)
    row = message_row(engine, message_id)
    assert (row.status, row.attempts) == ("queued", 1)
    assert row.last_error == "Resend 503 application_error: down"
    assert row.next_attempt_at == start + timedelta(seconds=30)
    assert row.sent_at is None


def test_a_permanent_failure_fails_the_message_at_once(engine: Engine, enqueued: list[int]) -> None:
    message_id = queue_notice(engine)
    attempt = deliver(
        message_id,
        backend=ScriptedBackend([permanent("Resend 422 validation_error: bad to")]),
        engine=engine,
    )
    assert (attempt.outcome, attempt.retry_in) == ("failed", None)
    row = message_row(engine, message_id)
    assert (row.status, row.attempts, row.last_error) == (
        "failed",
        1,
        "Resend 422 validation_error: bad to",
    )
    assert row.next_attempt_at is None


def test_an_unexpected_backend_error_is_retried_and_recorded(
    engine: Engine, enqueued: list[int]
) -> None:
    def explode(email: object) -> None:
        raise KeyError("surprise")

    message_id = queue_notice(engine)
    attempt = deliver(
        message_id, backend=ScriptedBackend(["unused"], on_send=explode), engine=engine
    )
    assert attempt.outcome == "retry"
    assert "KeyError" in message_row(engine, message_id).last_error


def test_transient_failures_retry_until_the_attempts_run_out(
    engine: Engine, enqueued: list[int]
) -> None:
    message_id = queue_notice(engine)
    at, clock = _clock(utcnow())
    backend = ScriptedBackend([transient("Resend 500 application_error: boom")])
    delays = []
    for _ in range(MAX_ATTEMPTS):
        attempt = deliver(message_id, backend=backend, engine=engine, now=clock, rand=lambda: 0.5)  # type: ignore[arg-type]
        if attempt.retry_in is None:
            break
        delays.append(attempt.retry_in)
        at[0] += timedelta(seconds=attempt.retry_in)
    assert attempt.outcome == "failed"
    assert len(backend.sent) == MAX_ATTEMPTS
    assert delays == [retry_delay_seconds(n) for n in range(1, MAX_ATTEMPTS)]
    row = message_row(engine, message_id)
    assert (row.status, row.attempts) == ("failed", MAX_ATTEMPTS)
    assert row.last_error.startswith(
        f"Gave up after {MAX_ATTEMPTS} attempts. Last error: Resend 500"
    )


# ---------------------------------------------------------------- the claim


def test_a_message_that_is_not_due_yet_is_left_alone(engine: Engine, enqueued: list[int]) -> None:
    message_id = queue_notice(engine)
    _set(engine, message_id, next_attempt_at=utcnow() + timedelta(minutes=5))
    backend = ScriptedBackend(["re_1"])
    assert deliver(message_id, backend=backend, engine=engine).outcome == "skipped"
    assert backend.sent == []
    assert (message_row(engine, message_id).status, message_row(engine, message_id).attempts) == (
        "queued",
        0,
    )


@pytest.mark.parametrize("status", ["sending", "sent", "failed"])
def test_only_queued_messages_are_attempted(
    engine: Engine, enqueued: list[int], status: str
) -> None:
    message_id = queue_notice(engine)
    _set(engine, message_id, status=status)
    backend = ScriptedBackend(["re_1"])
    assert deliver(message_id, backend=backend, engine=engine).outcome == "skipped"
    assert backend.sent == []
    assert message_row(engine, message_id).status == status


def test_a_missing_message_is_skipped(engine: Engine) -> None:
    assert deliver(999, backend=ScriptedBackend(["re_1"]), engine=engine).outcome == "skipped"


def test_a_second_job_for_a_message_being_sent_does_nothing(
    engine: Engine, enqueued: list[int]
) -> None:
    """The duplicate job (sweeper + scheduled retry) arrives while the first is sending."""
    message_id = queue_notice(engine)
    inner: list[str] = []
    backend = ScriptedBackend(["re_1"])
    backend.on_send = lambda email: inner.append(
        deliver(message_id, backend=backend, engine=engine).outcome
    )
    assert deliver(message_id, backend=backend, engine=engine).outcome == "sent"
    assert inner == ["skipped"]
    assert len(backend.sent) == 1


def test_many_workers_at_once_send_a_message_exactly_once(
    engine: Engine, enqueued: list[int]
) -> None:
    message_id = queue_notice(engine)
    backend = ScriptedBackend(["re_1"])
    barrier = threading.Barrier(8)
    outcomes: list[str] = []

    def worker() -> None:
        barrier.wait()
        outcomes.append(deliver(message_id, backend=backend, engine=engine).outcome)

    threads = [threading.Thread(target=worker) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(outcomes) == ["sent"] + ["skipped"] * 7
    assert len(backend.sent) == 1
    assert message_row(engine, message_id).attempts == 1


# ---------------------------------------------------------------- the backoff schedule


def test_the_retry_delay_doubles_from_30_seconds_up_to_an_hour() -> None:
    assert [retry_delay_seconds(n) for n in range(1, MAX_ATTEMPTS)] == [
        30,
        60,
        120,
        240,
        480,
        960,
        1920,
        3600,
        3600,
    ]
    # An outage of about three hours delays mail; only a longer one fails it.
    total = sum(retry_delay_seconds(n) for n in range(1, MAX_ATTEMPTS))
    assert timedelta(hours=3) <= timedelta(seconds=total) < timedelta(hours=3, minutes=10)


@pytest.mark.parametrize("attempts", range(1, MAX_ATTEMPTS))
def test_jitter_spreads_each_delay_by_at_most_ten_percent(attempts: int) -> None:
    base = retry_delay_seconds(attempts)
    low = delivery.next_retry_delay(attempts, rand=lambda: 0.0)
    high = delivery.next_retry_delay(attempts, rand=lambda: 0.999999)
    assert low == pytest.approx(base * 0.9)
    assert high == pytest.approx(base * 1.1, rel=1e-5)


# ---------------------------------------------------------------- the sweeper


def test_the_sweeper_lists_queued_messages_no_job_picked_up(
    engine: Engine, enqueued: list[int]
) -> None:
    now = utcnow()
    overdue = queue_notice(engine, "overdue@example.com")
    _set(engine, overdue, next_attempt_at=now - timedelta(minutes=3))
    fresh = queue_notice(engine, "fresh@example.com")
    _set(engine, fresh, next_attempt_at=now - timedelta(seconds=30))
    waiting = queue_notice(engine, "waiting@example.com")
    _set(engine, waiting, next_attempt_at=now + timedelta(minutes=10))
    done = queue_notice(engine, "done@example.com")
    _set(engine, done, status="sent", next_attempt_at=now - timedelta(hours=1))
    gone = queue_notice(engine, "gone@example.com")
    _set(engine, gone, status="failed", next_attempt_at=now - timedelta(hours=1))

    result = sweep(engine=engine, now=now)
    assert result.due == [overdue]
    assert (result.rescued, result.failed) == (0, 0)


def test_the_sweeper_rescues_a_message_a_dead_worker_left_sending(
    engine: Engine, enqueued: list[int]
) -> None:
    now = utcnow()
    stuck = queue_notice(engine, "stuck@example.com")
    _set(engine, stuck, status="sending", attempts=2, updated_at=now - timedelta(minutes=11))
    busy = queue_notice(engine, "busy@example.com")
    _set(engine, busy, status="sending", attempts=1, updated_at=now - timedelta(minutes=1))

    result = sweep(engine=engine, now=now)
    assert (result.rescued, result.failed, result.due) == (1, 0, [stuck])
    row = message_row(engine, stuck)
    assert (row.status, row.attempts) == ("queued", 2)
    assert "interrupted" in row.last_error
    assert message_row(engine, busy).status == "sending"  # its worker may still be at it
    # And the rescued message goes out on the next attempt.
    assert deliver(stuck, backend=ScriptedBackend(["re_9"]), engine=engine).outcome == "sent"


def test_a_stuck_message_with_no_attempts_left_fails(engine: Engine, enqueued: list[int]) -> None:
    now = utcnow()
    stuck = queue_notice(engine)
    _set(
        engine,
        stuck,
        status="sending",
        attempts=MAX_ATTEMPTS,
        updated_at=now - timedelta(minutes=30),
    )
    result = sweep(engine=engine, now=now)
    assert (result.rescued, result.failed, result.due) == (0, 1, [])
    row = message_row(engine, stuck)
    assert row.status == "failed"
    assert row.last_error.startswith(f"Gave up after {MAX_ATTEMPTS} attempts")


def test_the_sweeper_takes_a_bounded_batch_oldest_first(
    engine: Engine, enqueued: list[int], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(delivery, "SWEEP_BATCH", 2)
    now = utcnow()
    ids = [queue_notice(engine, f"m{n}@example.com") for n in range(3)]
    for n, message_id in enumerate(ids):
        _set(engine, message_id, next_attempt_at=now - timedelta(minutes=10 - n))
    assert sweep(engine=engine, now=now).due == ids[:2]
