"""The websocket and the cookie routes attacked over the real protocols, against the production
build: a page on another origin, a forged Origin, a replayed tab token, forged handler calls.

Each test first shows the thing it protects is really there for the rightful user (so it
can fail), then plays the attack and checks that nothing leaks and nothing changes.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import contextlib
import http.server
import threading
import uuid
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
import socketio
from playwright.sync_api import BrowserContext

from tests.browser.conftest import RunningApp, demo_email, scalar, sign_in
from tests.support import reflex_socket as ws

TRANSACTION = ws.state_name("chronos.pages.transaction", "TransactionState")
ACCOUNT = ws.state_name("chronos.pages.account", "AccountState")
PIPELINE = ws.state_name("chronos.pages.pipeline", "PipelineState")
OTHER_AGENT = "agent@summitridge.example"
EVIL = "http://evil.example"


def _run(coro: Any) -> Any:
    """Run a client coroutine in a thread of its own (sync Playwright keeps a loop running
    in the test's thread once a browser test has used it)."""
    with concurrent.futures.ThreadPoolExecutor(max_workers=1) as pool:
        return pool.submit(asyncio.run, coro).result()


def _admins_file(app: RunningApp) -> tuple[int, str]:
    """A demo file of the main brokerage: its id and street (the admin sees every file)."""
    txn_id = scalar(
        app,
        "SELECT t.id FROM transactions t JOIN organizations o ON o.id = t.org_id"
        " WHERE o.slug = 'harbor-main' ORDER BY t.id LIMIT 1",
    )
    street = scalar(app, "SELECT street FROM transactions WHERE id = :t", t=txn_id)
    assert isinstance(txn_id, int) and isinstance(street, str) and street
    return txn_id, street


def _notes(app: RunningApp, txn_id: int, body: str) -> int:
    count = scalar(
        app,
        "SELECT count(*) FROM events WHERE transaction_id = :t AND summary LIKE :b",
        t=txn_id,
        b=f"%{body}%",
    )
    assert isinstance(count, int)
    return count


# ---------------------------------------------------------------- 1. foreign origins


@pytest.mark.parametrize(
    "origin",
    [EVIL, "http://localhost:1", "http://127.0.0.1:1", "null", "https://localhost.evil.example"],
)
def test_a_socket_from_another_origin_is_refused_with_a_valid_cookie(
    app_server: RunningApp, origin: str
) -> None:
    cookie = ws.sign_in(app_server.base_url, demo_email("agent"), app_server.password)
    txn_id, _ = _admins_file(app_server)
    body = f"forged note {uuid.uuid4().hex[:8]}"

    async def attack() -> ws.Tab:
        tab = ws.Tab(app_server.base_url, cookie=cookie, origin=origin)
        with pytest.raises(socketio.exceptions.ConnectionError):
            await tab.connect(f"/transactions/{txn_id}", {"txn_id": str(txn_id)})
        return tab

    tab = _run(attack())
    assert tab.frames == []  # not one byte of state
    assert _notes(app_server, txn_id, body) == 0


def test_the_apps_own_origin_still_connects(app_server: RunningApp) -> None:
    """The control for the test above: same cookie, the app's own Origin, and the state comes."""
    cookie = ws.sign_in(app_server.base_url, demo_email("agent"), app_server.password)

    async def visit() -> Any:
        tab = ws.Tab(app_server.base_url, cookie=cookie)
        await tab.connect("/pipeline")
        total = await tab.until(PIPELINE, "total", lambda n: n > 0)
        await tab.close()
        return total

    assert _run(visit()) > 0


def test_a_note_without_a_session_changes_nothing_and_with_one_it_lands(
    app_server: RunningApp,
) -> None:
    """Past the handshake, the actor is resolved per event: no cookie, no note. The same
    event from the admin's own tab writes it (so the attack above would have shown)."""
    txn_id, _ = _admins_file(app_server)
    body = f"socket note {uuid.uuid4().hex[:8]}"
    admin = ws.sign_in(app_server.base_url, demo_email("admin"), app_server.password)

    async def note(cookie: str | None) -> None:
        tab = ws.Tab(app_server.base_url, cookie=cookie)
        await tab.connect(f"/transactions/{txn_id}", {"txn_id": str(txn_id)})
        await tab.settle(quiet=1.0)
        await tab.send(f"{TRANSACTION}.add_note", {"form": {"note": body}})
        await tab.settle()
        await tab.close()

    _run(note(None))
    assert _notes(app_server, txn_id, body) == 0
    _run(note(admin))
    assert _notes(app_server, txn_id, body) == 1


@pytest.mark.parametrize("path", ["/api/v1/people", "/api/v1/me", "/api/v1/transactions"])
def test_rest_never_reflects_a_foreign_origin_and_refuses_it(
    app_server: RunningApp, path: str
) -> None:
    cookie = ws.sign_in(app_server.base_url, demo_email("agent"), app_server.password)
    with httpx.Client(base_url=app_server.base_url) as http:
        own = http.get(path, headers={"Cookie": cookie, "Origin": app_server.base_url})
        assert own.status_code == 200  # the rightful page reads it
        for origin in (EVIL, "http://localhost:1"):
            answer = http.get(path, headers={"Cookie": cookie, "Origin": origin})
            assert answer.status_code == 403
            # Without Allow-Origin naming the caller, no browser lets the page read it
            # (Starlette adds Allow-Credentials to every answer; alone it grants nothing).
            assert answer.headers.get("access-control-allow-origin") not in (origin, "*")
            preflight = http.options(
                path,
                headers={
                    "Origin": origin,
                    "Access-Control-Request-Method": "POST",
                    "Access-Control-Request-Headers": "content-type",
                },
            )
            assert preflight.headers.get("access-control-allow-origin") not in (origin, "*")
            assert preflight.status_code == 400  # Starlette: "Disallowed CORS origin"


def test_file_links_refuse_a_foreign_origin(app_server: RunningApp) -> None:
    with httpx.Client(base_url=app_server.base_url) as http:
        own = http.get("/files/1?sig=x", headers={"Origin": app_server.base_url})
        answer = http.get("/files/1?sig=x", headers={"Origin": EVIL})
    # The same bad link from the app's own page is refused for its signature; from another
    # origin it is refused before that, for the origin.
    assert own.status_code == 403 and own.text != "Cross-origin request refused."
    assert answer.status_code == 403 and answer.text == "Cross-origin request refused."
    assert answer.headers.get("access-control-allow-origin") != EVIL


class _EvilSite(http.server.BaseHTTPRequestHandler):
    def do_GET(self) -> None:
        page = b"<!doctype html><title>Cute cats</title><p>cats</p>"
        self.send_response(200)
        self.send_header("Content-Type", "text/html")
        self.send_header("Content-Length", str(len(page)))
        self.end_headers()
        self.wfile.write(page)

    def log_message(self, *_args: Any) -> None:
        pass


@contextlib.contextmanager
def _evil_site() -> Iterator[str]:
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _EvilSite)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://localhost:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()


def test_a_page_on_another_port_of_this_host_cannot_act_as_the_signed_in_user(
    context: BrowserContext, app_server: RunningApp
) -> None:
    """The probe's attack in a real browser: same host, another port (same-site, so Chromium
    sends the Lax session cookie), reading contacts with fetch and opening the event socket."""
    page = context.new_page()
    sign_in(page, app_server, "agent")
    host = app_server.base_url.removeprefix("http://")
    with _evil_site() as evil:
        page.goto(evil)
        outcome = page.evaluate(
            """async ([app, host]) => {
                const out = {};
                try {
                    const r = await fetch(app + '/api/v1/people', {credentials: 'include'});
                    out.read = (await r.text()).slice(0, 200);
                } catch (e) { out.read = 'blocked: ' + e.name; }
                out.socket = await new Promise((done) => {
                    const s = new WebSocket('ws://' + host + '/_event/?token=' +
                        crypto.randomUUID() + '&EIO=4&transport=websocket');
                    const t = setTimeout(() => done('timeout'), 8000);
                    s.onmessage = (m) => { clearTimeout(t); done('message: ' + m.data); s.close(); };
                    s.onerror = () => { clearTimeout(t); done('error'); };
                    s.onclose = () => { clearTimeout(t); done('closed'); };
                });
                return out;
            }""",
            [app_server.base_url, host],
        )
    assert outcome["read"].startswith("blocked"), outcome
    assert outcome["socket"] in {"error", "closed"}, outcome
    page.close()


# ---------------------------------------------------------------- 3. a tab token replayed


def _fill_as(app: RunningApp, cookie: str, token: str, txn_id: int, street: str) -> None:
    """Open the file in a tab with client token ``token`` and leave (the state stays)."""

    async def visit() -> None:
        tab = ws.Tab(app.base_url, cookie=cookie, token=token)
        await tab.connect(f"/transactions/{txn_id}", {"txn_id": str(txn_id)})
        await tab.until(TRANSACTION, "detail", lambda d: d is not None)
        await tab.settle(quiet=1.0)
        assert street in tab.text()  # the admin really had it in this tab's state
        await tab.close()

    _run(visit())


def _replay(
    app: RunningApp, cookie: str | None, token: str, path: str, query: dict[str, str]
) -> ws.Tab:
    async def visit() -> ws.Tab:
        tab = ws.Tab(app.base_url, cookie=cookie, token=token)
        await tab.connect(path, query)
        await tab.settle()
        await tab.close()
        return tab

    result: ws.Tab = _run(visit())
    return result


@pytest.mark.parametrize("who", ["nobody", "another brokerage's agent", "the revoked session"])
def test_reconnecting_with_a_tab_token_never_sends_what_its_last_user_loaded(
    app_server: RunningApp, who: str
) -> None:
    txn_id, street = _admins_file(app_server)
    admin = ws.sign_in(app_server.base_url, demo_email("admin"), app_server.password)
    token = str(uuid.uuid4())
    _fill_as(app_server, admin, token, txn_id, street)
    cookie: str | None = None
    if who == "another brokerage's agent":
        cookie = ws.sign_in(app_server.base_url, OTHER_AGENT, app_server.password)
    elif who == "the revoked session":
        ws.sign_out(app_server.base_url, admin)
        cookie = admin
    # The first frame is the hydrate (the whole state tree), sent before any page loader.
    pages = [
        (f"/transactions/{txn_id}", {"txn_id": str(txn_id)}),
        ("/pipeline", {}),
        ("/sign-in", {}),
    ]
    for path, query in pages:
        tab = _replay(app_server, cookie, token, path, query)
        assert tab.frames, "the server answered nothing at all"
        assert street not in tab.text(), f"{who} received the admin's file on {path}"
        assert "admin@harbormain.example" not in tab.text()


def test_the_same_person_keeps_their_tab(app_server: RunningApp) -> None:
    """The control: reconnecting with one's own session gets one's own state back."""
    txn_id, street = _admins_file(app_server)
    admin = ws.sign_in(app_server.base_url, demo_email("admin"), app_server.password)
    token = str(uuid.uuid4())
    _fill_as(app_server, admin, token, txn_id, street)
    tab = _replay(app_server, admin, token, f"/transactions/{txn_id}", {"txn_id": str(txn_id)})
    assert street in tab.text()


# ---------------------------------------------------------------- 4. password guessing


def test_guessing_the_current_password_over_the_websocket_locks_the_account(
    app_server: RunningApp,
) -> None:
    """A signed-in tab (a stolen session, say) guessing the password to take the account."""
    email = f"guess-{uuid.uuid4().hex[:8]}@harbormain.example"
    password = "orchid-lantern-velvet-42"
    _create_login(app_server, email, password)
    cookie = ws.sign_in(app_server.base_url, email, password)
    new = "velvet-orchid-lantern-43"

    async def guess() -> list[dict[str, str]]:
        tab = ws.Tab(app_server.base_url, cookie=cookie)
        await tab.connect("/account")
        await tab.until(ACCOUNT, "sessions", lambda rows: len(rows) > 0)
        answers = []
        for current in [f"guess-{i:04d}-x" for i in range(5)] + [password]:
            tab.state.get(ACCOUNT, {}).pop(ws.var("pw_errors"), None)
            await tab.send(
                f"{ACCOUNT}.change_password",
                {"form": {"current": current, "new": new, "new2": new}},
            )
            answers.append(await tab.until(ACCOUNT, "pw_errors", lambda e: bool(e)))
        await tab.close()
        return answers

    answers = _run(guess())
    assert [a.get("current") for a in answers[:4]] == ["Your current password is not correct."] * 4
    assert all("Too many failed sign-ins" in a.get("current", "") for a in answers[4:])
    assert (
        scalar(
            app_server,
            "SELECT count(*) FROM security_events e JOIN users u ON u.id = e.user_id"
            " WHERE u.email = :e AND e.kind = 'sign_in_failed'",
            e=email,
        )
        == 5
    )
    # The right password, sent while locked, changed nothing: the old one still signs in
    # once the lock is over; right now the sign-in form is locked as well.
    with httpx.Client(base_url=app_server.base_url) as http:
        locked = http.post(
            "/auth/sign-in",
            data={"email": email, "password": password},
            headers={"Origin": app_server.base_url},
        )
    assert "error=limited" in locked.headers["location"]


def _create_login(app: RunningApp, email: str, password: str) -> None:
    import subprocess
    import sys

    from tests.browser.conftest import ROOT

    subprocess.run(
        [
            sys.executable,
            "-m",
            "chronos.cli",
            "create-user",
            "--email",
            email,
            "--name",
            "Guess Target",
            "--role",
            "agent",
            "--org-slug",
            "harbor-main",
            "--password",
            password,
        ],
        cwd=ROOT,
        env=app.env,
        check=True,
        capture_output=True,
    )


# ---------------------------------------------------------------- 5, 6. forged arguments


def test_handlers_refuse_forged_objects_and_ids_out_of_range(app_server: RunningApp) -> None:
    cookie = ws.sign_in(app_server.base_url, demo_email("agent"), app_server.password)
    huge = 99999999999999999999999

    async def attack() -> ws.Tab:
        tab = ws.Tab(app_server.base_url, cookie=cookie)
        await tab.connect(f"/transactions/{huge}", {"txn_id": str(huge)})
        await tab.settle()
        # The old public badge counter took a User built from the caller's JSON.
        await tab.send(
            f"{ws.SESSION}.refresh_unread", {"user": {"id": 1, "org_id": 1, "role": "admin"}}
        )
        await tab.send(f"{ACCOUNT}.revoke_session", {"session_id": huge})
        await tab.settle()
        await tab.close()
        return tab

    tab = _run(attack())
    assert tab.state[TRANSACTION][ws.var("not_found")] is True  # a clear "no such file"
    # The agent has no review queue; a forged admin could have counted another one's.
    assert tab.state[ws.SESSION].get(ws.var("review_count"), 0) == 0
    assert "OverflowError" not in tab.text() and "Traceback" not in tab.text()


@pytest.mark.parametrize(
    "path",
    [
        "/api/v1/transactions/99999999999999999999999",
        "/api/v1/people/99999999999999999999999",
        "/api/v1/transactions?page=99999999999999999999",
        "/api/v1/people?page_size=-99999999999999999999",
    ],
)
def test_rest_answers_huge_numbers_with_a_clear_4xx(app_server: RunningApp, path: str) -> None:
    cookie = ws.sign_in(app_server.base_url, demo_email("agent"), app_server.password)
    with httpx.Client(base_url=app_server.base_url) as http:
        answer = http.get(path, headers={"Cookie": cookie})
    assert answer.status_code in (404, 422), answer.text
    assert answer.json()["error"]


# ---------------------------------------------------------------- 2. the developer mailbox


def test_the_mailbox_handlers_answer_nothing_in_a_production_build(
    app_server: RunningApp,
) -> None:
    """With no cookie: ask for the agent's password reset, then for the mailbox's rows."""
    with httpx.Client(base_url=app_server.base_url) as http:
        http.post(
            "/auth/forgot-password",
            data={"email": demo_email("agent")},
            headers={"Origin": app_server.base_url},
        )
    mailbox = ws.state_name("chronos.pages.dev_mailbox", "DevMailboxState")

    async def attack() -> ws.Tab:
        tab = ws.Tab(app_server.base_url)
        await tab.connect("/sign-in")
        await tab.settle(quiet=1.0)
        await tab.send(f"{mailbox}.load")
        await tab.until(mailbox, "switched_off", lambda text: bool(text))
        await tab.close()
        return tab

    tab = _run(attack())
    assert "switched off" in tab.state[mailbox][ws.var("switched_off")]
    assert tab.state[mailbox].get(ws.var("rows"), []) == []
    assert "reset-password?token=" not in tab.text()
