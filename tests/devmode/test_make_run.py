"""The README's first command, as a newcomer runs it: `make run` (dev mode, hot reload).

The browser tier runs a production build, which hides what only dev mode does: the hot reload
watching the project (a job queue under var/ restarted the backend every ~13 s, issue 14) and
Reflex rewriting ``reflex.lock/package.json``. So this tier clones the repository's HEAD into a
temporary folder (commit first: uncommitted changes are not in the clone), runs ``make run``
there on free ports with the embedded defaults (var/ inside the clone, SQLite, the in-process
job queue), signs in with Chromium as the demo agent and stays on the pipeline for 60 s. Then:
the rows are shown, the backend never restarted, a genuine code reload still leaves a working
job consumer, and ``git status`` of the clone is clean.

``make run`` uses the suite's own venv (``VENV=... SETUP=skip``) so the clone never reinstalls
into it. One dev start, about 3 minutes.
"""

from __future__ import annotations

import contextlib
import os
import re
import signal
import sqlite3
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest
from playwright.sync_api import Page, expect, sync_playwright

from tests.browser.conftest import CHROMIUM, CHROMIUM_ARGS, DESKTOP, _free_port

pytestmark = pytest.mark.devmode

ROOT = Path(__file__).resolve().parents[2]
ARTIFACTS = ROOT / "test-artifacts"
STARTUP_TIMEOUT_S = 480
STAY_ON_PIPELINE_S = 60
DEMO_PASSWORD = "devmode-demo-pass-2026"
AGENT = "agent@harbormain.example"
METRICS_TOKEN = "devmode-metrics-token-2026"
# Logged once by every backend worker's lifespan (chronos/jobs/consumer.py): one per (re)start.
CONSUMER_STARTED = "Background jobs run inside the app process"
# Reflex compiles the app in every backend worker it starts.
COMPILING = re.compile(r"^Compiling:", re.MULTILINE)
# The test's own environment points Chronos at a throw-away var dir and a fixed secret
# (tests/conftest.py); a newcomer has none of that.
CHRONOS_ENV = re.compile(r"^(CHRONOS_|DATABASE_URL$|REFLEX_|RESEND_|AWS_|GRANIAN_)")


@dataclass
class DevApp:
    checkout: Path
    log_path: Path
    frontend_url: str
    backend_url: str

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")

    def consumer_starts(self) -> int:
        return self.log().count(CONSUMER_STARTED)

    def compiles(self) -> int:
        return len(COMPILING.findall(self.log()))


def _clone_head(dest: Path) -> Path:
    subprocess.run(
        ["git", "clone", "--quiet", "--no-hardlinks", str(ROOT), str(dest)],
        check=True,
        capture_output=True,
    )
    status = _git_status(dest)
    assert status == "", f"a fresh clone is already dirty:\n{status}"
    return dest


def _git_status(checkout: Path) -> str:
    return subprocess.run(
        ["git", "status", "--porcelain", "--untracked-files=all"],
        cwd=checkout,
        check=True,
        capture_output=True,
        text=True,
    ).stdout.strip()


def _wait_until(predicate, timeout: float, what: str, app: DevApp, proc: subprocess.Popen) -> None:  # type: ignore[type-arg,no-untyped-def]
    deadline = time.monotonic() + timeout
    while not predicate():
        if proc.poll() is not None:
            pytest.fail(f"`make run` exited with {proc.returncode}:\n{app.log()[-4000:]}")
        if time.monotonic() > deadline:
            pytest.fail(f"{what} not within {timeout:.0f} s; log tail:\n{app.log()[-4000:]}")
        time.sleep(1)


def _answers(url: str) -> bool:
    try:
        return httpx.get(url, timeout=5).status_code == 200
    except httpx.HTTPError:
        return False


@pytest.fixture(scope="module")
def dev_app(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[DevApp, subprocess.Popen]]:  # type: ignore[type-arg]
    if not Path(CHROMIUM).exists():
        pytest.fail(
            f"Chromium not found at {CHROMIUM}: run `make setup-test` (apt-get install chromium)."
        )
    checkout = _clone_head(tmp_path_factory.mktemp("devmode") / "chronos")
    frontend_port, backend_port = _free_port(), _free_port()
    frontend_url = f"http://localhost:{frontend_port}"
    backend_url = f"http://localhost:{backend_port}"
    env = {k: v for k, v in os.environ.items() if not CHRONOS_ENV.match(k)}
    env.update(
        {
            "CHRONOS_DEMO_PASSWORD": DEMO_PASSWORD,
            # Free ports instead of 3000/8000 (Reflex's own settings, REFLEX_<field>).
            "REFLEX_FRONTEND_PORT": str(frontend_port),
            "REFLEX_BACKEND_PORT": str(backend_port),
            "REFLEX_API_URL": backend_url,
            "REFLEX_DEPLOY_URL": frontend_url,
            # /metrics is served only with a token: the test scrapes the real app's.
            "CHRONOS_METRICS_TOKEN": METRICS_TOKEN,
        }
    )
    env.pop("PROMETHEUS_MULTIPROC_DIR", None)
    env.pop("SENTRY_DSN", None)
    log_path = ARTIFACTS / "devmode-make-run.log"
    log_path.parent.mkdir(parents=True, exist_ok=True)
    venv = Path(sys.prefix)
    with log_path.open("w") as log:
        proc = subprocess.Popen(
            ["make", "run", f"VENV={venv}", "SETUP=skip"],
            cwd=checkout,
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    app = DevApp(checkout, log_path, frontend_url, backend_url)
    try:
        probe_backend = f"http://127.0.0.1:{backend_port}/ping"
        probe_frontend = f"http://127.0.0.1:{frontend_port}/sign-in"
        _wait_until(
            lambda: _answers(probe_backend) and _answers(probe_frontend),
            STARTUP_TIMEOUT_S,
            "`make run` serving the backend and the sign-in page",
            app,
            proc,
        )
        yield app, proc
    finally:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGTERM)
        try:
            proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(proc.pid, signal.SIGKILL)
            proc.wait(timeout=10)


def _sign_in(page: Page, app: DevApp) -> None:
    # Dev mode compiles each page on first request: generous timeouts for the first loads.
    page.goto(f"{app.frontend_url}/sign-in", timeout=120_000)
    page.wait_for_load_state("networkidle", timeout=120_000)
    page.locator("#email").fill(AGENT)
    page.locator("#password").fill(DEMO_PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_url(re.compile(r"/pipeline/?$"), timeout=60_000)


def _latest_email_id(checkout: Path) -> int:
    with contextlib.closing(sqlite3.connect(checkout / "var" / "chronos.db")) as db:
        return int(db.execute("SELECT coalesce(max(id), 0) FROM email_messages").fetchone()[0])


def _email_status(checkout: Path, after_id: int) -> str | None:
    with contextlib.closing(sqlite3.connect(checkout / "var" / "chronos.db")) as db:
        row = db.execute(
            "SELECT status FROM email_messages WHERE id > ? AND to_address = ? "
            "AND template = 'password_reset' ORDER BY id DESC LIMIT 1",
            (after_id, AGENT),
        ).fetchone()
    return None if row is None else str(row[0])


@pytest.mark.timeout(STARTUP_TIMEOUT_S + 420)
def test_make_run_serves_a_stable_app_and_leaves_the_tree_clean(
    dev_app: tuple[DevApp, subprocess.Popen],  # type: ignore[type-arg]
) -> None:
    app, proc = dev_app
    log = app.log()
    # make run prints the demo logins on first start (README).
    assert re.search(rf"{re.escape(AGENT)}\s+{DEMO_PASSWORD}", log), log[-3000:]
    assert f"Sign in at {app.frontend_url}/sign-in" in log
    _wait_until(lambda: app.consumer_starts() >= 1, 60, "the in-process job consumer", app, proc)
    starts, compiles = app.consumer_starts(), app.compiles()
    assert starts == 1, log[-4000:]

    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            context = browser.new_context(viewport=DESKTOP)
            context.set_default_timeout(30_000)
            page = context.new_page()
            _sign_in(page, app)
            expect(page.get_by_role("heading", name="Pipeline")).to_be_visible()
            rows = page.locator("table tbody tr")
            expect(rows.first).to_be_visible(timeout=60_000)
            first_count = rows.count()
            assert first_count > 0

            # Stay on the pipeline: the rows stay shown, the socket stays up, nothing restarts.
            deadline = time.monotonic() + STAY_ON_PIPELINE_S
            while time.monotonic() < deadline:
                expect(rows.first).to_be_visible()
                expect(page.get_by_text("Loading your pipeline…")).to_have_count(0)
                time.sleep(5)
            page.reload()
            expect(rows.first).to_be_visible(timeout=60_000)
            assert rows.count() == first_count
            ARTIFACTS.joinpath("screenshots").mkdir(parents=True, exist_ok=True)
            page.screenshot(path=str(ARTIFACTS / "screenshots" / "devmode-pipeline.png"))

            # The operator routes of the real app (mounted through Reflex's api_transformer),
            # and the websocket events the pipeline sent, counted by the event middleware.
            backend = app.backend_url.replace("localhost", "127.0.0.1")
            ready = httpx.get(f"{backend}/readyz", timeout=10)
            assert ready.status_code == 200, ready.text
            assert ready.headers["x-request-id"]
            scrape = httpx.get(
                f"{backend}/metrics",
                headers={"Authorization": f"Bearer {METRICS_TOKEN}"},
                timeout=10,
            )
            assert scrape.status_code == 200
            assert re.search(
                r'^chronos_ws_events_total\{handler="[a-z_]+\.[a-z_]+",outcome="ok"\} [1-9]',
                scrape.text,
                re.MULTILINE,
            ), scrape.text[-3000:]
            assert re.search(
                r"user 2 signed in from 127\.0\.0\.1 \[request=\w+ user=2 org=1\]", app.log()
            )

            log = app.log()
            assert app.consumer_starts() == starts, (
                f"the backend restarted while nothing changed:\n{log[-4000:]}"
            )
            assert app.compiles() == compiles, f"Reflex recompiled:\n{log[-4000:]}"
            assert "refused to gracefully stop" not in log

            # A genuine code change (mtime only, so the tree stays clean) reloads the backend
            # once, and the new worker's job consumer delivers mail: request a password reset
            # and watch the outbox mark it sent.
            os.utime(app.checkout / "chronos" / "routes.py")
            _wait_until(
                lambda: app.consumer_starts() == starts + 1,
                120,
                "the backend reloading after a code change",
                app,
                proc,
            )
            _wait_until(
                lambda: _answers(f"{app.backend_url.replace('localhost', '127.0.0.1')}/ping"),
                60,
                "the reloaded backend answering",
                app,
                proc,
            )
            assert "Background jobs stopped in" in app.log(), "the old consumer was not stopped"
            before = _latest_email_id(app.checkout)
            page = browser.new_context(viewport=DESKTOP).new_page()  # signed out
            page.goto(f"{app.frontend_url}/forgot-password", timeout=120_000)
            page.wait_for_load_state("networkidle", timeout=120_000)
            page.locator("#email").fill(AGENT)
            page.get_by_role("button", name="Email me a reset link").click()
            expect(page.get_by_text("If an account uses that address")).to_be_visible()
            _wait_until(
                lambda: _email_status(app.checkout, before) == "sent",
                60,
                "the reset email delivered by the reloaded job consumer",
                app,
                proc,
            )
        finally:
            browser.close()

    # Stop it as a person would (Ctrl-C / SIGTERM), then the tree must be as cloned.
    os.killpg(proc.pid, signal.SIGTERM)
    proc.wait(timeout=30)
    status = _git_status(app.checkout)
    assert status == "", f"`make run` left the checkout dirty:\n{status}"
    assert app.consumer_starts() == starts + 1, app.log()[-4000:]
