"""Browser tier: the real app (production build, one port) driven by Debian's Chromium.

One server per test session on a fresh SQLite database seeded with the demo brokerage.
Screenshots land in test-artifacts/screenshots/ for people to look at.
"""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from playwright.sync_api import Browser, BrowserContext, Page, sync_playwright

ROOT = Path(__file__).resolve().parents[2]
CHROMIUM = os.environ.get("CHRONOS_CHROMIUM", "/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
ARTIFACTS = ROOT / "test-artifacts"
STARTUP_TIMEOUT_S = 600
PHONE = {"width": 390, "height": 844}
DESKTOP = {"width": 1366, "height": 900}


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class RunningApp:
    def __init__(self, base_url: str, env: dict[str, str], var_dir: Path) -> None:
        self.base_url = base_url
        self.env = env
        self.var_dir = var_dir
        self.database_url = env["DATABASE_URL"]
        self.password = env["CHRONOS_DEMO_PASSWORD"]


@pytest.fixture(scope="package")
def app_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningApp]:
    if not Path(CHROMIUM).exists():
        pytest.fail(
            f"Chromium not found at {CHROMIUM}: run `make setup-test` (apt-get install chromium)."
        )
    var_dir = tmp_path_factory.mktemp("app-var")
    port = _free_port()
    base_url = f"http://localhost:{port}"
    env = {
        **os.environ,
        "CHRONOS_VAR_DIR": str(var_dir),
        "DATABASE_URL": f"sqlite:///{var_dir / 'browser.db'}",
        "CHRONOS_SECRET_KEY": "browser-tests-secret-key-not-for-production",
        "CHRONOS_DEMO_PASSWORD": "browser-demo-pass-2026",
        "REFLEX_USE_SYSTEM_BUN": "1",
        "REFLEX_TELEMETRY_ENABLED": "false",
        # Links in emails point at this server; mail is captured in the outbox.
        "CHRONOS_PUBLIC_URL": base_url,
        "CHRONOS_MAIL_BACKEND": "outbox",
        # Webhook tests run their receiver on loopback, which is otherwise refused (SSRF).
        "CHRONOS_WEBHOOK_ALLOWED_HOSTS": "127.0.0.1",
    }
    subprocess.run(
        [sys.executable, "-m", "chronos.cli", "seed-demo", "--if-empty"],
        cwd=ROOT,
        env=env,
        check=True,
        capture_output=True,
    )
    log_path = ARTIFACTS / "browser-app.log"
    log_path.parent.mkdir(parents=True, exist_ok=True)
    log = log_path.open("w")
    reflex = Path(sys.executable).with_name("reflex")
    proc = subprocess.Popen(
        [
            str(reflex),
            "run",
            "--env",
            "prod",
            "--single-port",
            "--frontend-port",
            str(port),
            "--loglevel",
            "warning",
        ],
        cwd=ROOT,
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    # Poll on IPv4: the server binds 0.0.0.0 and httpx does not fall back from ::1.
    probe_url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + STARTUP_TIMEOUT_S
    try:
        while True:
            if proc.poll() is not None:
                pytest.fail(
                    f"the app exited with {proc.returncode}; see {log_path}:\n{log_path.read_text()[-3000:]}"
                )
            try:
                if (
                    httpx.get(f"{probe_url}/ping", timeout=2).status_code == 200
                    and httpx.get(
                        f"{probe_url}/sign-in", timeout=5, follow_redirects=True
                    ).status_code
                    == 200
                ):
                    break
            except httpx.HTTPError:
                pass
            if time.monotonic() > deadline:
                pytest.fail(f"the app did not start within {STARTUP_TIMEOUT_S}s; see {log_path}")
            time.sleep(1)
        yield RunningApp(base_url, env, var_dir)
    finally:
        try:
            os.killpg(proc.pid, signal.SIGTERM)
            proc.wait(timeout=20)
        except ProcessLookupError:
            pass  # it had already exited (e.g. it failed to start)
        except subprocess.TimeoutExpired:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(proc.pid, signal.SIGKILL)
        log.close()


@pytest.fixture(scope="package")
def browser() -> Iterator[Browser]:
    with sync_playwright() as pw:
        b = pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield b
        b.close()


@pytest.fixture
def context(browser: Browser) -> Iterator[BrowserContext]:
    ctx = browser.new_context(viewport=DESKTOP)
    ctx.set_default_timeout(20_000)
    yield ctx
    ctx.close()


@pytest.fixture
def page(context: BrowserContext) -> Page:
    return context.new_page()


def demo_email(role: str) -> str:
    return f"{role}@harbormain.example"


def sign_in(page: Page, app: RunningApp, role: str, *, password: str | None = None) -> None:
    # The page fills the email from the query once it has loaded: typing into it before then
    # can be overwritten, so wait for the page to settle first.
    page.goto(f"{app.base_url}/sign-in")
    page.wait_for_load_state("networkidle")
    page.locator("#email").fill(demo_email(role))
    page.locator("#password").fill(password or app.password)
    page.get_by_role("button", name="Sign in").click()
    # Wait for the POST's answer (a redirect off the sign-in page, or back with an error):
    # navigating on before it lands would cancel the sign-in.
    page.wait_for_url(lambda url: "/sign-in" not in url or "error=" in url)
    page.wait_for_load_state("networkidle")


def screenshot(page: Page, name: str) -> Path:
    out = ARTIFACTS / "screenshots" / f"{name}.png"
    out.parent.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(out), full_page=True)
    return out


def scalar(app: RunningApp, sql: str, **params: object) -> object:
    """One value from the running app's database (test setup and checks only)."""
    from sqlalchemy import text

    from chronos.db import make_engine

    engine = make_engine(app.database_url)
    try:
        with engine.connect() as conn:
            return conn.execute(text(sql), params).scalar()
    finally:
        engine.dispose()


def newest_email(app: RunningApp, to: str, subject_like: str = "%") -> str:
    """The plain-text body of the newest email to ``to`` whose subject matches (SQL LIKE).

    A production build serves no developer mailbox (issue 13: anyone reaching it could read
    every reset link), so the browser tier reads what the outbox recorded from the database.
    """
    deadline = time.monotonic() + 20
    while True:
        body = scalar(
            app,
            "SELECT text_body FROM email_messages WHERE to_address = :to AND subject LIKE :s"
            " ORDER BY id DESC LIMIT 1",
            to=to,
            s=subject_like,
        )
        if isinstance(body, str):
            return body
        if time.monotonic() > deadline:
            raise AssertionError(f"no email to {to} with a subject like {subject_like!r}")
        time.sleep(0.5)


def link_in(body: str, app: RunningApp, part: str) -> str:
    """The first link in an email body that points at this app and contains ``part``."""
    import re

    for url in re.findall(r"https?://[^\s<>\"')]+", body):
        if url.startswith(app.base_url) and part in url:
            return url
    raise AssertionError(f"no link containing {part!r} in:\n{body}")
