"""Test helpers for the email layer: a template of our own, scripted backends, a stand-in for
the Resend API (a local HTTP server, never the internet) and a job queue in a temp dir.
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from importlib import import_module
from pathlib import Path
from typing import Any

import pytest
from jinja2 import ChoiceLoader, DictLoader, Environment, PackageLoader, StrictUndefined
from sqlalchemy.engine import Engine
from sqlmodel import Session

from chronos.jobs import tasks
from chronos.jobs.queue import build_huey
from chronos.mail import queue_email
from chronos.mail.backends import DeliveryError, OutgoingEmail
from chronos.models import EmailMessage

# ``chronos.mail.render`` the module (the package exports a function of the same name).
render_module = import_module("chronos.mail.render")

TEST_TEMPLATE = "chronos_test_notice"
TEST_TEMPLATES = {
    f"{TEST_TEMPLATE}.subject.txt": "Notice for {{ name }}\n  (test)",
    f"{TEST_TEMPLATE}.txt": (
        "Hello {{ name }},\n\nOpen {{ url }}.\nOr read the docs (https://docs.example.com/a_(b)).\n"
    ),
    f"{TEST_TEMPLATE}.html": (
        '{% extends "base.html" %}{% block body %}<p>Hello {{ name }},</p>'
        '{% with url=url, label="Open" %}{% include "_button.html" %}{% endwith %}'
        "{% endblock %}"
    ),
}


def install_test_templates(monkeypatch: pytest.MonkeyPatch) -> None:
    """The app's template environment, plus ``chronos_test_notice`` (name, url)."""
    env = Environment(
        loader=ChoiceLoader(
            [DictLoader(TEST_TEMPLATES), PackageLoader("chronos.mail", "templates")]
        ),
        autoescape=render_module._env().autoescape,
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
    )
    monkeypatch.setattr(render_module, "_env", lambda: env)


def notice(name: str = "Ada", url: str = "http://localhost:3000/verify?token=abc") -> dict:
    return {"template": TEST_TEMPLATE, "context": {"name": name, "url": url}}


def queue_notice(engine: Engine, to: str = "ada@example.com", org_id: int | None = None) -> int:
    """``queue_email`` in a unit of work of its own, committed; the message's id."""
    with Session(engine) as db:
        message_id = queue_email(db, to=to, org_id=org_id, **notice()).id
        db.commit()
    assert message_id is not None
    return message_id


def message_row(engine: Engine, message_id: int) -> EmailMessage:
    with Session(engine) as db:
        row = db.get(EmailMessage, message_id)
        assert row is not None
        return row


@dataclass
class ScriptedBackend:
    """Answers each send with the next scripted outcome: a provider id or a DeliveryError."""

    outcomes: list[str | DeliveryError] = field(default_factory=list)
    name: str = "scripted"
    sent: list[OutgoingEmail] = field(default_factory=list)
    on_send: Callable[[OutgoingEmail], None] | None = None

    def send(self, email: OutgoingEmail) -> str:
        self.sent.append(email)
        if self.on_send is not None:
            self.on_send(email)
        outcome = self.outcomes.pop(0) if len(self.outcomes) > 1 else self.outcomes[0]
        if isinstance(outcome, DeliveryError):
            raise outcome
        return outcome


def transient(message: str = "Resend 503 application_error: down") -> DeliveryError:
    return DeliveryError(message, transient=True)


def permanent(message: str = "Resend 422 validation_error: bad address") -> DeliveryError:
    return DeliveryError(message, transient=False)


# ---------------------------------------------------------------- a stand-in for api.resend.com


@dataclass
class Reply:
    status: int = 200
    body: dict[str, Any] | None = None
    delay: float = 0.0


@dataclass
class Received:
    path: str
    headers: dict[str, str]
    body: dict[str, Any]


class FakeResend:
    """Answers POST /emails per recipient from a script; the last reply of a script repeats.

    Unscripted recipients get ``200 {"id": "re_<n>"}``.
    """

    def __init__(self) -> None:
        self.scripts: dict[str, list[Reply]] = {}
        self.requests: list[Received] = []
        self._lock = threading.Lock()
        self._ids = 0
        fake = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                body = json.loads(self.rfile.read(length) or b"{}")
                reply = fake._next(self.path, dict(self.headers.items()), body)
                if reply.delay:
                    time.sleep(reply.delay)
                payload = json.dumps(reply.body).encode()
                try:
                    self.send_response(reply.status)
                    self.send_header("Content-Type", "application/json")
                    self.send_header("Content-Length", str(len(payload)))
                    self.end_headers()
                    self.wfile.write(payload)
                except (BrokenPipeError, ConnectionResetError):
                    pass  # the client gave up waiting (timeout tests)

            def log_message(self, format: str, *args: Any) -> None:
                return

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        self._thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def script(self, to: str, *replies: Reply) -> None:
        self.scripts[to] = list(replies)

    def _next(self, path: str, headers: dict[str, str], body: dict[str, Any]) -> Reply:
        with self._lock:
            self.requests.append(Received(path, headers, body))
            to = (body.get("to") or [""])[0]
            script = self.scripts.get(to)
            reply = (script.pop(0) if len(script) > 1 else script[0]) if script else Reply()
            if reply.body is None:
                self._ids += 1
                reply = Reply(reply.status, {"id": f"re_{self._ids}"}, reply.delay)
            return reply

    def requests_to(self, to: str) -> list[Received]:
        return [r for r in self.requests if (r.body.get("to") or [""])[0] == to]

    def start(self) -> FakeResend:
        self._thread.start()
        return self

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@contextmanager
def fake_resend() -> Iterator[FakeResend]:
    server = FakeResend().start()
    try:
        yield server
    finally:
        server.stop()


def error_body(status: int, name: str, message: str) -> dict[str, Any]:
    return {"statusCode": status, "name": name, "message": message}


# ---------------------------------------------------------------- the job queue


def use_jobs(
    monkeypatch: pytest.MonkeyPatch, jobs_url: str, var_dir: Path, name: str = "chronos"
) -> tasks.Jobs:
    """A huey instance of our own with every task registered, used by the app's code."""
    jobs = tasks.register_tasks(build_huey(jobs_url, var_dir, name=name))
    monkeypatch.setattr(tasks, "get_jobs", lambda: jobs)
    return jobs


def wait_for(predicate: Callable[[], Any], timeout: float = 20.0, step: float = 0.1) -> Any:
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout}s waiting for {predicate}")
        time.sleep(step)
