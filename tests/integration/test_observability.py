"""Health, readiness, metrics, request ids, structured logs and error reports, over real HTTP
(Starlette's TestClient on the app's own API, which wraps Reflex's routes in production)."""

from __future__ import annotations

import gzip
import http.server
import io
import json
import logging
import os
import re
import subprocess
import sys
import textwrap
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from starlette.testclient import TestClient

from chronos import db as chronos_db
from chronos import migrate, settings
from chronos.jobs import tasks as job_tasks
from chronos.logging_setup import build_handler
from chronos.models import User
from chronos.services import api_tokens, auth, transactions

PASSWORD = "correct-horse-battery"
ORIGIN = "http://testserver"
TOKEN = "metrics-token-for-tests-0123456789"


def _reset_caches() -> None:
    settings.get_settings.cache_clear()
    chronos_db.get_engine.cache_clear()
    job_tasks.get_jobs.cache_clear()


@pytest.fixture
def env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    monkeypatch.setenv("CHRONOS_VAR_DIR", str(tmp_path))
    monkeypatch.setenv("DATABASE_URL", f"sqlite:///{tmp_path / 'obs.db'}")
    monkeypatch.setenv("CHRONOS_SECRET_KEY", "observability-test-secret")
    monkeypatch.setenv("CHRONOS_STORAGE_DIR", str(tmp_path / "documents"))
    monkeypatch.delenv("CHRONOS_JOBS_URL", raising=False)
    monkeypatch.delenv("CHRONOS_METRICS_TOKEN", raising=False)
    _reset_caches()
    yield tmp_path
    _reset_caches()


def _client() -> TestClient:
    from chronos.api.app import create_api

    return TestClient(create_api(), base_url=ORIGIN, follow_redirects=False)


@pytest.fixture
def world(env: Path) -> dict[str, Any]:
    migrate.upgrade()
    with chronos_db.session_scope() as db:
        org = auth.create_organization(db, name="Harbor", slug="harbor")
        agent = auth.create_user(
            db,
            org_id=org.id,  # type: ignore[arg-type]
            email="agent@h.example",
            full_name="Agent H",
            role="agent",  # type: ignore[arg-type]
            password=PASSWORD,
        )
        deal = transactions.create_transaction(db, agent, {"side": "buyer", "street": "1 Deal St"})
        return {"agent_id": agent.id, "org_id": org.id, "deal_id": deal.id}


def _sign_in(client: TestClient, password: str = PASSWORD) -> int:
    r = client.post(
        "/auth/sign-in",
        data={"email": "agent@h.example", "password": password},
        headers={"Origin": ORIGIN},
    )
    return r.status_code


@pytest.fixture
def log_lines() -> Iterator[io.StringIO]:
    """Every ``chronos`` log line, as the app's JSON handler writes them."""
    stream = io.StringIO()
    handler = build_handler("json")
    handler.setStream(stream)  # type: ignore[attr-defined]
    logger = logging.getLogger("chronos")
    old_level = logger.level
    logger.addHandler(handler)
    logger.setLevel(logging.INFO)
    yield stream
    logger.removeHandler(handler)
    logger.setLevel(old_level)


def _json_lines(stream: io.StringIO) -> list[dict[str, Any]]:
    return [json.loads(line) for line in stream.getvalue().splitlines() if line.strip()]


# ---------------------------------------------------------------- /healthz, /readyz


def test_healthz_answers_without_touching_anything(
    env: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("DATABASE_URL", "postgresql://nobody@127.0.0.1:1/none")
    monkeypatch.setenv("CHRONOS_JOBS_URL", "redis://127.0.0.1:1/0")
    _reset_caches()
    r = _client().get("/healthz")
    assert r.status_code == 200
    assert r.json() == {"status": "ok"}
    assert r.headers["cache-control"] == "no-store"
    assert re.fullmatch(r"[0-9a-f]{16}", r.headers["x-request-id"])


def test_readyz_names_every_check_with_its_latency_when_ready(world: dict[str, Any]) -> None:
    r = _client().get("/readyz")
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["status"] == "ready"
    assert set(body["checks"]) == {"database", "migrations", "jobs", "storage"}
    for check in body["checks"].values():
        assert check["ok"] is True
        assert isinstance(check["latency_ms"], float | int) and check["latency_ms"] >= 0
    # The storage probe is cleaned up.
    assert not list(settings.get_settings().storage_dir.rglob("probe-*"))


def test_readyz_is_503_when_the_database_is_unreachable(
    env: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("DATABASE_URL", "postgresql://nobody:pw@127.0.0.1:1/chronos")
    _reset_caches()
    r = _client().get("/readyz")
    assert r.status_code == 503
    checks = r.json()["checks"]
    assert checks["database"]["ok"] is False and checks["migrations"]["ok"] is False
    assert checks["jobs"]["ok"] is True and checks["storage"]["ok"] is True
    assert checks["database"]["error"] == "failed (OperationalError)"
    assert "127.0.0.1" not in r.text and "nobody" not in r.text  # nothing about the setup


def test_readyz_is_503_when_the_database_is_not_migrated(env: Path) -> None:
    r = _client().get("/readyz")  # an empty SQLite file: reachable, no schema
    assert r.status_code == 503
    checks = r.json()["checks"]
    assert checks["database"]["ok"] is True
    assert checks["migrations"] == {
        "ok": False,
        "latency_ms": checks["migrations"]["latency_ms"],
        "error": "not migrated: no alembic_version table (run `chronos migrate`)",
    }


def test_readyz_is_503_when_the_schema_is_behind_the_code(env: Path) -> None:
    migrate.upgrade()
    migrate.downgrade(revision="-1")
    r = _client().get("/readyz")
    assert r.status_code == 503
    error = r.json()["checks"]["migrations"]["error"]
    assert error.startswith("not at the code's migration head: at ")
    assert "run `chronos migrate`" in error


def test_readyz_is_503_when_storage_is_not_writable(
    world: dict[str, Any], env: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # A regular file where the folder should be: no write gets through, even as root.
    blocker = env / "not-a-folder"
    blocker.write_text("")
    monkeypatch.setenv("CHRONOS_STORAGE_DIR", str(blocker / "documents"))
    _reset_caches()
    r = _client().get("/readyz")
    assert r.status_code == 503
    checks = r.json()["checks"]
    assert checks["storage"]["ok"] is False
    assert checks["storage"]["error"].startswith("failed (")
    assert checks["database"]["ok"] and checks["migrations"]["ok"] and checks["jobs"]["ok"]


def test_readyz_is_503_when_the_job_queue_is_unreachable(
    world: dict[str, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("CHRONOS_JOBS_URL", "redis://127.0.0.1:1/0")
    _reset_caches()
    r = _client().get("/readyz")
    assert r.status_code == 503
    assert r.json()["checks"]["jobs"]["ok"] is False
    assert r.json()["checks"]["storage"]["ok"] is True


# ---------------------------------------------------------------- request ids and logs


def test_a_sane_incoming_request_id_is_kept_and_anything_else_replaced(env: Path) -> None:
    client = _client()
    assert client.get("/healthz", headers={"X-Request-ID": "lb-1234abcd"}).headers[
        "x-request-id"
    ] == ("lb-1234abcd")
    replaced = client.get("/healthz", headers={"X-Request-ID": "<script>x</script>"})
    assert re.fullmatch(r"[0-9a-f]{16}", replaced.headers["x-request-id"])


def test_json_log_lines_of_a_request_carry_its_request_user_org_and_transaction(
    world: dict[str, Any], log_lines: io.StringIO
) -> None:
    client = _client()
    assert _sign_in(client) == 303
    r = client.get(
        f"/api/v1/transactions/{world['deal_id']}", headers={"X-Request-ID": "req-abc12345"}
    )
    assert r.status_code == 200
    lines = [line for line in _json_lines(log_lines) if line["request_id"] == "req-abc12345"]
    access = [line for line in lines if line["logger"] == "chronos.access"]
    assert len(access) == 1, lines
    assert (
        access[0]["message"]
        == "GET /api/v1/transactions/{txn_id:int} 200 " + access[0]["message"].rsplit(" 200 ", 1)[1]
    )
    assert access[0]["user_id"] == world["agent_id"]
    assert access[0]["org_id"] == world["org_id"]
    assert access[0]["transaction_id"] == world["deal_id"]
    assert access[0]["level"] == "INFO" and "timestamp" in access[0]
    # The sign-in's own line carries the user it signed in, with its own request id.
    sign_in = [line for line in _json_lines(log_lines) if "signed in" in line["message"]]
    assert sign_in and sign_in[0]["request_id"] not in (None, "req-abc12345")
    assert sign_in[0]["user_id"] == world["agent_id"]


def test_an_unhandled_error_is_a_500_naming_the_request_id_and_logged_with_it(
    world: dict[str, Any], monkeypatch: pytest.MonkeyPatch, log_lines: io.StringIO
) -> None:
    def boom(*args: Any, **kwargs: Any) -> Any:
        raise RuntimeError("simulated bug")

    monkeypatch.setattr(transactions, "get_transaction", boom)
    from chronos.api.app import create_api

    client = TestClient(
        create_api(),
        base_url=ORIGIN,
        follow_redirects=False,
        raise_server_exceptions=False,
    )
    assert _sign_in(client) == 303
    r = client.get(f"/api/v1/transactions/{world['deal_id']}")
    assert r.status_code == 500
    request_id = r.headers["x-request-id"]
    assert r.json() == {
        "error": f"Something went wrong on our side. It has been logged. Reference: {request_id}",
        "request_id": request_id,
    }
    errors = [line for line in _json_lines(log_lines) if line["level"] == "ERROR"]
    assert errors and errors[0]["request_id"] == request_id
    assert errors[0]["user_id"] == world["agent_id"]
    assert "RuntimeError: simulated bug" in errors[0]["exc_info"]
    # A browser (HTML) gets a page with the same reference.
    page = client.get(f"/api/v1/transactions/{world['deal_id']}", headers={"Accept": "text/html"})
    assert page.status_code == 500 and page.headers["x-request-id"] in page.text


# ---------------------------------------------------------------- /metrics


def test_metrics_is_404_without_a_configured_token(env: Path) -> None:
    assert _client().get("/metrics").status_code == 404


def test_metrics_needs_the_bearer_token(env: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CHRONOS_METRICS_TOKEN", TOKEN)
    _reset_caches()
    client = _client()
    assert client.get("/metrics").status_code == 401
    wrong = client.get("/metrics", headers={"Authorization": "Bearer not-the-token"})
    assert wrong.status_code == 401 and wrong.headers["www-authenticate"].startswith("Bearer")
    assert client.get("/metrics", headers={"Authorization": f"Basic {TOKEN}"}).status_code == 401


def _metric(text: str, name: str, **labels: str) -> float:
    total = 0.0
    found = False
    for line in text.splitlines():
        if not line.startswith(name + "{") and not line.startswith(name + " "):
            continue
        if all(f'{k}="{v}"' in line for k, v in labels.items()):
            total += float(line.rsplit(" ", 1)[1])
            found = True
    assert found, f"{name}{labels} not in the scrape"
    return total


def test_metrics_count_requests_sign_in_failures_lockouts_jobs_and_the_pool(
    world: dict[str, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("CHRONOS_METRICS_TOKEN", TOKEN)
    _reset_caches()
    client = _client()
    auth_header = {"Authorization": f"Bearer {TOKEN}"}
    before = client.get("/metrics", headers=auth_header).text
    failures_before = (
        _metric(before, "chronos_security_events_total", kind="sign_in_failed")
        if 'kind="sign_in_failed"' in before
        else 0.0
    )
    lockouts_before = (
        _metric(before, "chronos_security_events_total", kind="locked_out")
        if 'kind="locked_out"' in before
        else 0.0
    )
    for _ in range(6):  # 5 failures lock the account (services/accounts.py)
        assert _sign_in(client, password="wrong-password-here") == 303
    client.get("/healthz")
    job_tasks.get_jobs().deliver_email.schedule(args=(999999,), delay=3600)

    r = client.get("/metrics", headers=auth_header)
    assert r.status_code == 200
    assert r.headers["content-type"].startswith("text/plain")
    text = r.text
    assert _metric(text, "chronos_http_requests_total", route="/healthz", status="200") >= 1
    assert _metric(text, "chronos_http_request_duration_seconds_count", route="/healthz") >= 1
    assert (
        _metric(text, "chronos_security_events_total", kind="sign_in_failed") - failures_before == 5
    )
    assert _metric(text, "chronos_security_events_total", kind="locked_out") - lockouts_before == 1
    # Enqueued with an eta: it waits in the queue until a worker moves it to the schedule.
    assert _metric(text, "chronos_jobs_queue_depth") == 1
    assert _metric(text, "chronos_jobs_scheduled") == 0
    assert "chronos_db_pool_checked_out" in text and "chronos_db_pool_connections" in text


def test_database_pool_usage_follows_checkouts(env: Path) -> None:
    from prometheus_client import REGISTRY

    from chronos.db import make_engine
    from chronos.observability import metrics

    metrics.instrument_db_pools()

    def value(name: str) -> float:
        return REGISTRY.get_sample_value(name) or 0.0

    engine = make_engine(f"sqlite:///{env / 'pool.db'}")
    in_use, open_ = value("chronos_db_pool_checked_out"), value("chronos_db_pool_connections")
    first, second = engine.connect(), engine.connect()
    assert value("chronos_db_pool_checked_out") == in_use + 2
    assert value("chronos_db_pool_connections") == open_ + 2
    first.close()
    second.close()
    assert value("chronos_db_pool_checked_out") == in_use
    assert value("chronos_db_pool_connections") == open_ + 2  # kept open by the pool
    engine.dispose()
    assert value("chronos_db_pool_connections") == open_


def test_email_outcomes_and_job_outcomes_are_counted(
    world: dict[str, Any], log_lines: io.StringIO
) -> None:
    from prometheus_client import REGISTRY

    from chronos.mail import queue_email

    def value(name: str, **labels: str) -> float:
        return REGISTRY.get_sample_value(name, labels) or 0.0

    sent_before = value("chronos_emails_total", outcome="sent")
    done_before = value("chronos_jobs_total", task="deliver_email", outcome="complete")
    with chronos_db.session_scope() as db:
        queue_email(
            db,
            to="someone@h.example",
            template="verify_email",
            context={"name": "S", "url": "http://x/", "hours": 48},
            org_id=world["org_id"],
        )
    huey = job_tasks.get_jobs().huey
    huey.immediate = False
    task = huey.dequeue()
    assert task is not None
    huey.execute(task)
    assert value("chronos_emails_total", outcome="sent") == sent_before + 1
    assert value("chronos_jobs_total", task="deliver_email", outcome="complete") == done_before + 1
    # The job's log lines carry its own request id, and it ends with the job.
    sent = [line for line in _json_lines(log_lines) if "sent via outbox" in line["message"]]
    assert sent and sent[0]["request_id"] == f"job-{task.id.replace('-', '')[:12]}"
    from chronos.observability import context

    assert context.current() is None


def test_multiprocess_mode_adds_up_every_process(tmp_path: Path) -> None:
    """Two worker processes count requests; a third one's scrape reports their sum."""
    mp_dir = tmp_path / "prom"
    mp_dir.mkdir()
    child_env = {**os.environ, "PROMETHEUS_MULTIPROC_DIR": str(mp_dir)}
    worker = textwrap.dedent(
        """
        from chronos.observability import metrics
        for _ in range({n}):
            metrics.observe_http("/api/v1/me", "GET", 200, 0.01)
        """
    )
    for n in (3, 4):
        subprocess.run(
            [sys.executable, "-c", worker.format(n=n)], env=child_env, check=True, timeout=60
        )
    scrape = subprocess.run(
        [
            sys.executable,
            "-c",
            "import sys; from chronos.observability import metrics; "
            "sys.stdout.write(metrics.scrape()[0].decode())",
        ],
        env=child_env,
        check=True,
        capture_output=True,
        text=True,
        timeout=60,
    ).stdout
    assert _metric(scrape, "chronos_http_requests_total", route="/api/v1/me", status="200") == 7


# ---------------------------------------------------------------- Sentry, against a stand-in


class _Envelopes(http.server.BaseHTTPRequestHandler):
    received: list[bytes] = []

    def do_POST(self) -> None:
        body = self.rfile.read(int(self.headers.get("content-length", "0")))
        if self.headers.get("content-encoding") == "gzip":
            body = gzip.decompress(body)
        type(self).received.append(body)
        self.send_response(200)
        self.send_header("content-type", "application/json")
        self.end_headers()
        self.wfile.write(b"{}")

    def log_message(self, *args: Any) -> None:
        pass


@pytest.fixture
def sentry_stand_in() -> Iterator[tuple[str, list[bytes]]]:
    import sentry_sdk

    _Envelopes.received = []
    server = http.server.HTTPServer(("127.0.0.1", 0), _Envelopes)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    dsn = f"http://publickey@127.0.0.1:{server.server_port}/42"
    yield dsn, _Envelopes.received
    sentry_sdk.get_client().close(timeout=2)
    # No DSN: reporting off for the rest of the session. Never a bare init(): its
    # auto-enabled integrations patch huey for good (tasks then carry `sentry_headers`,
    # which a consumer without them refuses).
    sentry_sdk.init(dsn=None, default_integrations=False, auto_enabling_integrations=False)
    server.shutdown()


def _events(received: list[bytes]) -> list[dict[str, Any]]:
    events = []
    for envelope in received:
        lines = envelope.split(b"\n")
        for header, payload in zip(lines[1::2], lines[2::2], strict=False):
            if json.loads(header).get("type") == "event":
                events.append(json.loads(payload))
    return events


def test_sentry_gets_the_error_with_request_and_user_ids_and_no_secrets(
    world: dict[str, Any],
    monkeypatch: pytest.MonkeyPatch,
    sentry_stand_in: tuple[str, list[bytes]],
) -> None:
    import sentry_sdk

    from chronos.api.app import create_api
    from chronos.observability.errors import init_sentry

    dsn, received = sentry_stand_in
    assert init_sentry(dsn, environment="test")

    def boom(db: Any, actor: Any, txn_id: int, body: dict[str, Any]) -> Any:
        password = body["password"]  # a local holding a secret: must never be sent
        raise RuntimeError(f"simulated bug near {len(password)} characters")

    monkeypatch.setattr(transactions, "update_transaction", boom)
    client = TestClient(
        create_api(), base_url=ORIGIN, follow_redirects=False, raise_server_exceptions=False
    )
    assert _sign_in(client) == 303
    cookie = client.cookies.get("chronos_session")
    assert cookie
    with chronos_db.session_scope() as db:
        agent = db.get(User, world["agent_id"])
        token = api_tokens.create(db, agent, name="script", scopes="read,write").secret
    # A personal API token on the request (a cookie too: the token request ignores it).
    r = client.patch(
        f"/api/v1/transactions/{world['deal_id']}",
        json={"notes": "x", "password": "body-secret-value-123"},
        headers={"Origin": ORIGIN, "Authorization": f"Bearer {token}"},
    )
    assert r.status_code == 500
    sentry_sdk.flush(timeout=5)
    events = [e for e in _events(received) if e.get("level") == "error"]
    assert events, received
    event = events[-1]
    assert event["tags"]["request_id"] == r.headers["x-request-id"]
    assert event["tags"]["transaction_id"] == str(world["deal_id"])
    assert event["user"] == {"id": str(world["agent_id"])}
    assert event["environment"] == "test"
    raw = b"".join(received)
    # Jobs enqueued while reporting is on stay plain, so any consumer can run them.
    job_tasks.get_jobs().deliver_email.schedule(args=(1,), delay=60)
    task = job_tasks.get_jobs().huey.dequeue()
    assert task is not None and task.kwargs in (None, {})
    for secret in (
        cookie,
        "hunter2-is-the-password",
        "body-secret-value-123",
        token,
    ):
        assert secret.encode() not in raw, secret
