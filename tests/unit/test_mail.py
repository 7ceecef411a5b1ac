"""Rendering, recording with queue_email, the after-commit enqueue, and the backends."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest
from jinja2 import UndefinedError
from resend.exceptions import ResendError
from sqlalchemy.engine import Engine
from sqlmodel import Session, func, select

from chronos.jobs import Jobs
from chronos.mail import queue_email, render
from chronos.mail.backends import (
    OutboxBackend,
    OutgoingEmail,
    ResendBackend,
    backend_from_settings,
    classify_resend_error,
    is_transient_status,
)
from chronos.models import EmailMessage
from chronos.settings import load_settings
from tests.support.mail import install_test_templates, notice, use_jobs


@pytest.fixture(autouse=True)
def templates(monkeypatch: pytest.MonkeyPatch) -> None:
    install_test_templates(monkeypatch)


@pytest.fixture
def jobs(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Jobs:
    return use_jobs(monkeypatch, "", tmp_path / "jobs")


def _pending_ids(jobs: Jobs) -> list[int]:
    return [task.args[0] for task in jobs.huey.pending()]


def _count(engine: Engine) -> int:
    with Session(engine) as db:
        return int(db.exec(select(func.count()).select_from(EmailMessage)).one())


# ---------------------------------------------------------------- rendering


def test_a_message_renders_subject_text_and_html_from_its_templates() -> None:
    rendered = render(**notice(name="Ada", url="https://app.example.com/verify?t=1&u=2"))
    assert rendered.subject == "Notice for Ada (test)"  # one line, whitespace collapsed
    assert "Open https://app.example.com/verify?t=1&u=2." in rendered.text
    assert rendered.text.endswith("\n")
    assert 'href="https://app.example.com/verify?t=1&amp;u=2"' in rendered.html
    assert rendered.html.lstrip().startswith("<!doctype html>")


def test_html_is_escaped_and_plain_text_is_not() -> None:
    rendered = render(**notice(name="<b>Ada</b>"))
    assert "&lt;b&gt;Ada&lt;/b&gt;" in rendered.html
    assert "<b>Ada</b>" not in rendered.html
    assert "Hello <b>Ada</b>," in rendered.text


def test_a_missing_variable_is_an_error_not_a_gap() -> None:
    with pytest.raises(UndefinedError):
        render("chronos_test_notice", {"name": "Ada"})


# ---------------------------------------------------------------- queue_email and the commit


def test_queue_email_records_a_queued_message_due_now(engine: Engine, jobs: Jobs) -> None:
    with Session(engine) as db:
        message = queue_email(db, to="ada@example.com", org_id=None, **notice())
        db.commit()
        assert message.id is not None
        stored = db.get(EmailMessage, message.id)
    assert stored is not None
    assert (stored.status, stored.attempts, stored.template) == ("queued", 0, "chronos_test_notice")
    assert stored.subject == "Notice for Ada (test)"
    assert "http://localhost:3000/verify?token=abc" in stored.text_body
    assert stored.next_attempt_at is not None and stored.next_attempt_at <= stored.updated_at


def test_the_delivery_job_is_enqueued_only_after_the_commit(engine: Engine, jobs: Jobs) -> None:
    with Session(engine) as db:
        first = queue_email(db, to="ada@example.com", org_id=None, **notice()).id
        second = queue_email(db, to="bob@example.com", org_id=None, **notice(name="Bob")).id
        db.flush()
        assert _pending_ids(jobs) == []  # a worker must never look for an uncommitted row
        db.commit()
    assert _pending_ids(jobs) == [first, second]


def test_a_rolled_back_change_leaves_no_message_and_no_job(engine: Engine, jobs: Jobs) -> None:
    with Session(engine) as db:
        queue_email(db, to="ada@example.com", org_id=None, **notice())
        db.rollback()
        # The same session goes on to commit something else: still nothing to deliver.
        db.commit()
    assert _count(engine) == 0
    assert _pending_ids(jobs) == []


def test_a_savepoint_is_not_the_commit(engine: Engine, jobs: Jobs) -> None:
    with Session(engine) as db:
        with db.begin_nested():
            queue_email(db, to="ada@example.com", org_id=None, **notice())
        assert _pending_ids(jobs) == []
        db.rollback()
    assert _pending_ids(jobs) == []


def test_an_exception_in_session_scope_rolls_back_the_message(engine: Engine, jobs: Jobs) -> None:
    from chronos.db import session_scope

    with pytest.raises(RuntimeError), session_scope(engine) as db:
        queue_email(db, to="ada@example.com", org_id=None, **notice())
        raise RuntimeError("the change that caused the email failed")
    assert _count(engine) == 0
    assert _pending_ids(jobs) == []


def test_each_commit_enqueues_only_its_own_messages(engine: Engine, jobs: Jobs) -> None:
    with Session(engine) as db:
        first = queue_email(db, to="ada@example.com", org_id=None, **notice()).id
        db.commit()
        second = queue_email(db, to="bob@example.com", org_id=None, **notice()).id
        db.commit()
        db.commit()
    assert _pending_ids(jobs) == [first, second]


def test_a_queue_that_cannot_take_the_job_does_not_undo_the_commit(
    engine: Engine, monkeypatch: pytest.MonkeyPatch
) -> None:
    import chronos.jobs

    def broken(message_id: int) -> None:
        raise ConnectionError("Redis is down")

    monkeypatch.setattr(chronos.jobs, "enqueue_delivery", broken)
    with Session(engine) as db:
        queue_email(db, to="ada@example.com", org_id=None, **notice())
        db.commit()  # does not raise: the sweeper will find the queued row
    with Session(engine) as db:
        assert db.exec(select(EmailMessage.status)).one() == "queued"


# ---------------------------------------------------------------- backends


def _email(message_id: int = 7) -> OutgoingEmail:
    return OutgoingEmail(
        message_id=message_id,
        to="ada@example.com",
        subject="Hi",
        text="Hi\n",
        html="<p>Hi</p>",
        created_at=datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC),
    )


def test_the_outbox_sends_nothing_and_names_the_message() -> None:
    assert OutboxBackend().send(_email(41)) == "outbox-41"


def test_settings_choose_the_backend(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("CHRONOS_MAIL_BACKEND", raising=False)
    assert isinstance(backend_from_settings(load_settings()), OutboxBackend)
    monkeypatch.setenv("CHRONOS_MAIL_BACKEND", "resend")
    monkeypatch.setenv("RESEND_API_KEY", "re_test")
    monkeypatch.setenv("CHRONOS_MAIL_TIMEOUT_SECONDS", "2.5")
    backend = backend_from_settings(load_settings())
    assert isinstance(backend, ResendBackend)
    assert (backend.api_key, backend.timeout_seconds) == ("re_test", 2.5)


def test_the_idempotency_key_is_stable_per_message_and_differs_between_messages() -> None:
    assert _email(7).idempotency_key == _email(7).idempotency_key
    assert _email(7).idempotency_key != _email(8).idempotency_key
    other_db = OutgoingEmail(
        **{**_email(7).__dict__, "created_at": datetime(2027, 1, 1, tzinfo=UTC)}
    )
    assert other_db.idempotency_key != _email(7).idempotency_key


@pytest.mark.parametrize(
    ("code", "transient"),
    [
        (500, True),
        (502, True),
        (503, True),
        (429, True),
        (408, True),
        (400, False),
        (401, False),
        (403, False),
        (404, False),
        (422, False),
    ],
)
def test_server_errors_and_rate_limits_are_transient_other_refusals_are_not(
    code: int, transient: bool
) -> None:
    assert is_transient_status(code) is transient
    error = classify_resend_error(ResendError(code, "some_type", "message", ""))
    assert error.transient is transient
    assert str(code) in error.message


def test_no_answer_at_all_is_transient() -> None:
    exc = ResendError(500, "HttpClientError", "Request failed: Read timed out.", "")
    error = classify_resend_error(exc)
    assert error.transient
    assert "did not answer" in error.message and "timed out" in error.message


def test_a_request_still_in_progress_under_the_same_key_is_transient() -> None:
    exc = ResendError(409, "concurrent_idempotent_requests", "still processing", "")
    assert classify_resend_error(exc).transient
    assert not classify_resend_error(
        ResendError(409, "invalid_idempotent_request", "x", "")
    ).transient


def test_resend_without_an_api_key_fails_permanently_without_calling_out() -> None:
    backend = ResendBackend(
        api_key="", api_url="http://127.0.0.1:9", sender="a@b.c", timeout_seconds=1
    )
    with pytest.raises(Exception) as info:
        backend.send(_email())
    assert getattr(info.value, "transient", None) is False
