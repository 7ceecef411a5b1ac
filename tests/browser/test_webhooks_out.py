"""Outgoing webhooks in Chromium against a receiver on loopback: an agent adds a webhook on
/account/webhooks, a change on a file arrives at the receiver signed, the log shows it, and the
test event works from the page."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest
from playwright.sync_api import Page, expect

from tests.browser.conftest import PHONE, RunningApp, demo_email, scalar, screenshot, sign_in

pytestmark = pytest.mark.browser


def _receiver() -> tuple[ThreadingHTTPServer, list[dict[str, Any]]]:
    calls: list[dict[str, Any]] = []

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers["content-length"]))
            calls.append({"headers": {k.lower(): v for k, v in self.headers.items()}, "body": body})
            self.send_response(204)
            self.end_headers()

        def log_message(self, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server, calls


def _wait(predicate: Any, timeout: float = 30) -> None:
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        if predicate():
            return
        time.sleep(0.2)
    raise AssertionError("timed out")


def test_an_agent_adds_a_webhook_and_receives_a_signed_event(
    page: Page, app_server: RunningApp
) -> None:
    server, calls = _receiver()
    url = f"http://127.0.0.1:{server.server_port}/in"
    try:
        page.set_viewport_size(PHONE)
        sign_in(page, app_server, "agent")
        page.goto(f"{app_server.base_url}/account/webhooks")
        expect(page.get_by_role("heading", name="Webhooks", level=1)).to_be_visible()
        expect(page.get_by_text("No webhooks yet")).to_be_visible()
        page.get_by_label("URL that receives the events").fill(url)
        page.get_by_label("Task created").check()
        page.get_by_role("button", name="Add webhook").click()
        secret_box = page.locator("#webhook-secret")
        expect(secret_box).to_contain_text("whsec_")
        secret = secret_box.inner_text().strip()
        screenshot(page, "webhooks-phone")
        assert page.evaluate("document.querySelector('main').scrollWidth") <= PHONE["width"]

        page.get_by_role("button", name="Send test event").click()
        _wait(lambda: len(calls) >= 1)
        test_event = json.loads(calls[0]["body"])
        assert test_event["type"] == "webhook.test"

        txn_id = scalar(
            app_server,
            "SELECT t.id FROM transactions t JOIN users u ON u.id = t.owner_id "
            "WHERE u.email = :agent AND t.stage = 'under_contract' ORDER BY t.id LIMIT 1",
            agent=demo_email("agent"),
        )
        page.goto(f"{app_server.base_url}/transactions/{txn_id}")
        page.locator("#tasks").get_by_role("button", name="Add", exact=True).click()
        dialog = page.get_by_role("dialog")
        dialog.get_by_label("Task").fill("Order the survey (webhook)")
        dialog.get_by_role("button", name="Save task").click()
        expect(dialog).to_be_hidden()
        _wait(lambda: len(calls) >= 2)
        call = calls[1]
        payload = json.loads(call["body"])
        assert payload["type"] == "task.created" and payload["data"]["transaction"]["id"] == txn_id
        key = base64.b64decode(secret.removeprefix("whsec_"))
        signed = f"{call['headers']['webhook-id']}.{call['headers']['webhook-timestamp']}.".encode()
        expected = base64.b64encode(hmac.new(key, signed + call["body"], hashlib.sha256).digest())
        assert call["headers"]["webhook-signature"] == "v1," + expected.decode()

        # The receiver has the request; the app records the answer just after it.
        _wait(
            lambda: (
                scalar(
                    app_server,
                    "SELECT count(*) FROM webhook_deliveries WHERE status = 'delivered'",
                )
                >= 2
            )
        )
        page.goto(f"{app_server.base_url}/account/webhooks")
        page.get_by_role("button", name="Deliveries").click()
        # The log (after the form, whose checkbox also names the type) lists the delivery.
        expect(page.locator("code", has_text="task.created")).to_have_count(2)
        expect(page.get_by_text("delivered").first).to_be_visible()
        page.get_by_role("button", name=f"Remove the webhook to {url}").click()
        expect(page.get_by_text("No webhooks yet")).to_be_visible()
    finally:
        server.shutdown()
