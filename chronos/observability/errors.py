"""Error reports to Sentry (or any Sentry-compatible service) when ``SENTRY_DSN`` is set.

What is sent: exceptions, and log records at ERROR (the logging integration): the middleware
and the websocket exception handler log every unhandled error, so both reach it. Each event
carries the request id, the user id, organization and transaction as tags, and the user as
``{"id": ...}`` only.

What is never sent: request bodies (``max_request_body_size="never"``, and no web framework
integration is enabled that would collect requests), local variables of stack frames
(``include_local_variables=False``: they can hold passwords and document bytes), cookies, and
any value under a key that looks like a secret (password, token, cookie, session, secret,
authorization, signature, key, otp...) anywhere in the event or its breadcrumbs
(:func:`scrub_event`). No tracing, no profiling: nothing but errors leaves the machine.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Mapping
from typing import Any
from urllib.parse import urlsplit, urlunsplit

from chronos.observability import context

log = logging.getLogger(__name__)

FILTERED = "[Filtered]"
_SECRET_KEY = re.compile(
    r"pass(word|wd)?|secret|token|cookie|session|auth|csrf|xsrf|otp|totp|signature|^sig$|"
    r"api[-_]?key|private|dsn|credential|set-cookie",
    re.IGNORECASE,
)
# Request headers that may be kept (everything else is dropped).
_SAFE_HEADERS = {"user-agent", "content-type", "content-length", "accept", "x-request-id", "host"}


def _scrub(value: Any, depth: int = 0) -> Any:
    if depth > 12:
        return FILTERED
    if isinstance(value, Mapping):
        return {
            k: (FILTERED if isinstance(k, str) and _SECRET_KEY.search(k) else _scrub(v, depth + 1))
            for k, v in value.items()
        }
    if isinstance(value, list | tuple):
        return [_scrub(v, depth + 1) for v in value]
    return value


def _strip_query(url: Any) -> Any:
    if not isinstance(url, str) or "?" not in url:
        return url
    parts = urlsplit(url)
    return urlunsplit((parts.scheme, parts.netloc, parts.path, "", ""))


def _scrub_request(request: dict[str, Any]) -> dict[str, Any]:
    headers = request.get("headers") or {}
    if isinstance(headers, Mapping):
        headers = {k: v for k, v in headers.items() if str(k).lower() in _SAFE_HEADERS}
    else:
        headers = {}
    return {
        "method": request.get("method"),
        "url": _strip_query(request.get("url")),
        "headers": headers,
    }


def scrub_event(event: dict[str, Any], hint: dict[str, Any] | None = None) -> dict[str, Any]:
    """``before_send``: add the request context, drop everything that could be a secret."""
    ctx = context.current()
    tags = dict(event.get("tags") or {})
    if ctx is not None:
        fields = ctx.as_dict()
        for key in ("request_id", "org_id", "transaction_id"):
            if fields[key] is not None:
                tags[key] = str(fields[key])
        if fields["user_id"] is not None:
            event["user"] = {"id": str(fields["user_id"])}
    if tags:
        event["tags"] = tags
    user = event.get("user")
    if isinstance(user, Mapping):
        event["user"] = {"id": user["id"]} if "id" in user else {}
    if isinstance(event.get("request"), Mapping):
        event["request"] = _scrub_request(dict(event["request"]))
    for key in ("extra", "contexts"):
        if key in event:
            event[key] = _scrub(event[key])
    for exc in (event.get("exception") or {}).get("values") or []:
        for frame in (exc.get("stacktrace") or {}).get("frames") or []:
            frame.pop("vars", None)
    crumbs = event.get("breadcrumbs")
    values = crumbs.get("values") if isinstance(crumbs, Mapping) else crumbs
    if isinstance(values, list):
        for crumb in values:
            scrub_breadcrumb(crumb)
    return event


def scrub_breadcrumb(crumb: dict[str, Any], hint: dict[str, Any] | None = None) -> dict[str, Any]:
    data = crumb.get("data")
    if isinstance(data, Mapping):
        cleaned = _scrub(data)
        for key in ("url", "http.query"):
            if key in cleaned:
                cleaned[key] = _strip_query(cleaned[key]) if key == "url" else FILTERED
        crumb["data"] = cleaned
    return crumb


def init_sentry(dsn: str, *, environment: str = "", release: str | None = None) -> bool:
    """Start reporting to ``dsn``; False (and nothing started) when it is empty."""
    if not dsn:
        return False
    import sentry_sdk

    sentry_sdk.init(
        dsn=dsn,
        environment=environment or None,
        release=release,
        send_default_pii=False,
        include_local_variables=False,
        max_request_body_size="never",
        # Only the default integrations (logging, excepthook, threading, dedupe, ...): the
        # auto-enabled framework ones would collect requests and SQL, and the huey one adds a
        # `sentry_headers` argument to every enqueued job, which a `chronos worker` started
        # without Sentry refuses (TypeError): jobs would fail whenever the two differ.
        auto_enabling_integrations=False,
        traces_sample_rate=None,
        before_send=scrub_event,  # type: ignore[arg-type]
        before_breadcrumb=scrub_breadcrumb,  # type: ignore[arg-type]
    )
    log.info("Error reports go to Sentry (host %s).", urlsplit(dsn).hostname)
    return True
