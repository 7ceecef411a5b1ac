"""The Resend backend against a local stand-in for api.resend.com (never the internet).

Each test runs on SQLite and on PostgreSQL (the ``engine`` fixture), through ``deliver``: the
row ends as the provider's answer says (sent, retried later, failed).
"""

from __future__ import annotations

import socket
import time
from collections.abc import Iterator
from datetime import timedelta

import pytest
from sqlalchemy.engine import Engine

import chronos.jobs
from chronos.mail.backends import DeliveryError, ResendBackend
from chronos.mail.delivery import deliver
from chronos.models import utcnow
from tests.support.mail import (
    FakeResend,
    Reply,
    error_body,
    fake_resend,
    install_test_templates,
    message_row,
    queue_notice,
)

API_KEY = "re_test_key"


@pytest.fixture(autouse=True)
def templates(monkeypatch: pytest.MonkeyPatch) -> None:
    install_test_templates(monkeypatch)
    monkeypatch.setattr(chronos.jobs, "enqueue_delivery", lambda message_id: None)


@pytest.fixture
def resend_api() -> Iterator[FakeResend]:
    with fake_resend() as server:
        yield server


def backend_for(url: str, timeout: float = 2.0) -> ResendBackend:
    return ResendBackend(
        api_key=API_KEY,
        api_url=url,
        sender="Chronos <no-reply@chronos.example>",
        timeout_seconds=timeout,
    )


def test_an_accepted_message_is_sent_with_the_providers_id(
    engine: Engine, resend_api: FakeResend
) -> None:
    resend_api.script("ada@example.com", Reply(200, {"id": "re_abc123"}))
    message_id = queue_notice(engine, "ada@example.com")
    attempt = deliver(message_id, backend=backend_for(resend_api.url), engine=engine)
    assert attempt.outcome == "sent"
    row = message_row(engine, message_id)
    assert (row.status, row.backend, row.provider_id, row.attempts) == (
        "sent",
        "resend",
        "re_abc123",
        1,
    )
    [request] = resend_api.requests
    assert request.path == "/emails"
    assert request.headers["Authorization"] == f"Bearer {API_KEY}"
    assert request.headers["Idempotency-Key"].startswith(f"chronos-{message_id}-")
    assert request.body["from"] == "Chronos <no-reply@chronos.example>"
    assert request.body["to"] == ["ada@example.com"]
    assert request.body["subject"] == "Notice for Ada (test)"
    assert "http://localhost:3000/verify?token=abc" in request.body["text"]
    assert request.body["html"].lstrip().startswith("<!doctype html>")


def test_a_422_fails_the_message_for_good(engine: Engine, resend_api: FakeResend) -> None:
    resend_api.script(
        "bad@example.com",
        Reply(422, error_body(422, "validation_error", "Invalid `to` field.")),
    )
    message_id = queue_notice(engine, "bad@example.com")
    attempt = deliver(message_id, backend=backend_for(resend_api.url), engine=engine)
    assert (attempt.outcome, attempt.retry_in) == ("failed", None)
    row = message_row(engine, message_id)
    assert (row.status, row.attempts) == ("failed", 1)
    assert row.last_error == "Resend 422 validation_error: Invalid `to` field."
    assert len(resend_api.requests) == 1


def test_a_500_then_a_200_retries_and_then_sends(engine: Engine, resend_api: FakeResend) -> None:
    resend_api.script(
        "ada@example.com",
        Reply(500, error_body(500, "application_error", "Something went wrong.")),
        Reply(200, {"id": "re_second_try"}),
    )
    message_id = queue_notice(engine, "ada@example.com")
    backend = backend_for(resend_api.url)

    first = deliver(message_id, backend=backend, engine=engine)
    assert first.outcome == "retry" and first.retry_in is not None
    row = message_row(engine, message_id)
    assert (row.status, row.attempts) == ("queued", 1)
    assert row.last_error == "Resend 500 application_error: Something went wrong."
    assert row.next_attempt_at is not None

    # Too early: the job that lands before next_attempt_at does nothing.
    assert deliver(message_id, backend=backend, engine=engine).outcome == "skipped"
    later = row.next_attempt_at + timedelta(seconds=1)
    second = deliver(message_id, backend=backend, engine=engine, now=lambda: later)
    assert second.outcome == "sent"
    row = message_row(engine, message_id)
    assert (row.status, row.attempts, row.provider_id, row.last_error) == (
        "sent",
        2,
        "re_second_try",
        "",
    )
    keys = [r.headers["Idempotency-Key"] for r in resend_api.requests]
    assert len(keys) == 2 and keys[0] == keys[1]  # a lost answer cannot send it twice


def test_a_429_is_retried(engine: Engine, resend_api: FakeResend) -> None:
    resend_api.script(
        "ada@example.com",
        Reply(429, error_body(429, "rate_limit_exceeded", "Too many requests.")),
    )
    message_id = queue_notice(engine, "ada@example.com")
    assert deliver(message_id, backend=backend_for(resend_api.url), engine=engine).outcome == (
        "retry"
    )
    assert "429" in message_row(engine, message_id).last_error


def test_an_html_error_page_from_a_proxy_is_retried(engine: Engine) -> None:
    """A 502 from a load balancer has no JSON body: the status alone decides."""
    import http.server
    import threading

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            self.rfile.read(int(self.headers.get("Content-Length") or 0))
            body = b"<html>502 Bad Gateway</html>"
            self.send_response(502)
            self.send_header("Content-Type", "text/html")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, format: str, *args: object) -> None:
            return

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        message_id = queue_notice(engine, "ada@example.com")
        url = f"http://127.0.0.1:{server.server_address[1]}"
        assert deliver(message_id, backend=backend_for(url), engine=engine).outcome == "retry"
        assert "502" in message_row(engine, message_id).last_error
    finally:
        server.shutdown()
        server.server_close()


def test_an_answer_slower_than_the_timeout_is_retried(
    engine: Engine, resend_api: FakeResend
) -> None:
    resend_api.script("ada@example.com", Reply(200, {"id": "re_too_late"}, delay=3.0))
    message_id = queue_notice(engine, "ada@example.com")
    started = time.monotonic()
    attempt = deliver(message_id, backend=backend_for(resend_api.url, timeout=0.5), engine=engine)
    elapsed = time.monotonic() - started
    assert attempt.outcome == "retry"
    assert elapsed < 2.5, f"the 0.5 s timeout was not enforced ({elapsed:.1f}s)"
    row = message_row(engine, message_id)
    assert row.status == "queued"
    assert "did not answer" in row.last_error and "timed out" in row.last_error.lower()


def test_a_refused_connection_is_retried(engine: Engine) -> None:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    # Nothing listens on the port any more.
    message_id = queue_notice(engine, "ada@example.com")
    attempt = deliver(message_id, backend=backend_for(f"http://127.0.0.1:{port}"), engine=engine)
    assert attempt.outcome == "retry"
    row = message_row(engine, message_id)
    assert row.status == "queued" and row.next_attempt_at is not None
    assert row.next_attempt_at > utcnow()
    assert "did not answer" in row.last_error


def test_the_backend_raises_typed_errors_on_its_own(resend_api: FakeResend) -> None:
    from datetime import UTC, datetime

    from chronos.mail.backends import OutgoingEmail

    resend_api.script(
        "x@example.com", Reply(403, error_body(403, "invalid_api_key", "API key is invalid"))
    )
    email = OutgoingEmail(1, "x@example.com", "s", "t", "<p>h</p>", datetime.now(UTC))
    with pytest.raises(DeliveryError) as info:
        backend_for(resend_api.url).send(email)
    assert not info.value.transient
    assert "403" in info.value.message
