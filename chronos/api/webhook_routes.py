"""Incoming provider webhooks: Resend's delivery events (delivered, bounced, complained).

Authenticated by their signature only (no cookie, no session, no CSRF check: a session cookie
is never a substitute). Resend signs the Svix way: headers ``svix-id``, ``svix-timestamp`` and
``svix-signature`` = one or more space-separated ``v1,<base64 HMAC-SHA256>`` of
``{id}.{timestamp}.{raw body}`` keyed with the base64-decoded part of ``whsec_<base64>``.

Answers: 404 when ``RESEND_WEBHOOK_SECRET`` is not set; 413 over 256 KiB; 401 for a missing,
malformed or wrong signature or a timestamp more than 5 minutes away; 400 for a body that is
not a JSON event; 200 ``{"ok": true, "duplicate": false}`` when applied. A call whose
``svix-id`` was already received answers 200 ``{"ok": true, "duplicate": true}`` and changes
nothing: Svix retries a delivery with the same id when our answer was lost, and a 4xx would
make it keep retrying (and count the endpoint as failing), while an attacker replaying a
captured call gains nothing either way (and after 5 minutes gets a 401 for its timestamp).

Why not ``resend.Webhooks.verify`` (resend 2.51): it does the same HMAC with a constant-time
compare, but reads the clock itself (no way to test the window without patching time), turns
every refusal, a bad JSON body included, into one ``ValueError`` (we answer 401 and 400
differently) and accepts any version prefix. The 20 lines below are the Svix algorithm; a
unit test checks them against Svix's published test vector and against ``resend``'s verifier.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import json
import logging
import time
from collections.abc import Mapping

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from chronos import routes
from chronos.db import session_scope
from chronos.services import email_log
from chronos.services.errors import ChronosError
from chronos.settings import get_settings

log = logging.getLogger(__name__)

MAX_BODY = 256 * 1024
TOLERANCE_SECONDS = 5 * 60
MAX_ID_LENGTH = 200


class SignatureError(Exception):
    """The call is not provably from the provider (the message says why, for the log)."""


def signing_key(secret: str) -> bytes:
    """The HMAC key of a ``whsec_<base64>`` secret; ValueError if it is not one."""
    try:
        key = base64.b64decode(secret.strip().removeprefix("whsec_"), validate=True)
    except (binascii.Error, ValueError):
        raise ValueError("RESEND_WEBHOOK_SECRET is not whsec_<base64>.") from None
    if not key:
        raise ValueError("RESEND_WEBHOOK_SECRET is empty.")
    return key


def sign(key: bytes, msg_id: str, timestamp: str, body: bytes) -> str:
    """The base64 signature Svix sends (after ``v1,``) for this id, timestamp and body."""
    content = msg_id.encode() + b"." + timestamp.encode() + b"." + body
    return base64.b64encode(hmac.new(key, content, hashlib.sha256).digest()).decode()


def verify(key: bytes, headers: Mapping[str, str], body: bytes, *, now: float) -> str:
    """Return the call's event id (``svix-id``) if one of its signatures is valid and its
    timestamp within ±5 minutes of ``now``; raise SignatureError otherwise."""
    msg_id = headers.get("svix-id", "")
    timestamp = headers.get("svix-timestamp", "")
    signatures = headers.get("svix-signature", "")
    if not msg_id or not timestamp or not signatures:
        raise SignatureError("missing svix-id, svix-timestamp or svix-signature")
    if len(msg_id) > MAX_ID_LENGTH or not msg_id.isascii() or not msg_id.isprintable():
        raise SignatureError("malformed svix-id")
    if not (timestamp.isascii() and timestamp.isdigit() and len(timestamp) <= 12):
        raise SignatureError("malformed svix-timestamp")
    if abs(now - int(timestamp)) > TOLERANCE_SECONDS:
        raise SignatureError("svix-timestamp outside the 5-minute window")
    expected = sign(key, msg_id, timestamp, body).encode()
    for candidate in signatures.split():
        version, _, value = candidate.partition(",")
        if version == "v1" and hmac.compare_digest(value.encode(), expected):
            return msg_id
    raise SignatureError("no valid v1 signature")


def _error(status: int, message: str) -> JSONResponse:
    return JSONResponse({"error": message}, status_code=status)


async def _read_body(request: Request) -> bytes | None:
    """The raw body, or None when it is over MAX_BODY (declared or actual)."""
    declared = request.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > MAX_BODY:
        return None
    body = bytearray()
    async for chunk in request.stream():
        body += chunk
        if len(body) > MAX_BODY:
            return None
    return bytes(body)


async def resend_webhook(request: Request) -> Response:
    secret = get_settings().resend_webhook_secret
    if not secret:
        return _error(404, "Not found.")
    try:
        key = signing_key(secret)
    except ValueError as exc:
        log.error("resend webhook refused: %s", exc)
        return _error(500, "Webhook is misconfigured.")
    body = await _read_body(request)
    if body is None:
        return _error(413, "Request body is too large.")
    try:
        event_id = verify(key, request.headers, body, now=time.time())
    except SignatureError as exc:
        log.warning("resend webhook refused: %s", exc)
        return _error(401, "Invalid signature.")
    try:
        event = json.loads(body)
    except (ValueError, UnicodeDecodeError):
        return _error(400, "Body is not valid JSON.")
    if not isinstance(event, dict) or not isinstance(event.get("type"), str):
        return _error(400, "Body is not a webhook event.")
    try:
        with session_scope() as db:
            outcome = email_log.receive_resend_event(db, event_id, event)
    except ChronosError as exc:
        return _error(exc.status_code, exc.message)
    if outcome.duplicate:
        log.info("resend webhook %s received before: ignored", event_id)
    return JSONResponse({"ok": True, "duplicate": outcome.duplicate})


ROUTES = [Route(routes.RESEND_WEBHOOK, resend_webhook, methods=["POST"])]
