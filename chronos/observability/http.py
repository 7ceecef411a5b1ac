"""ASGI middleware around every HTTP request of the backend (Chronos's routes and Reflex's).

For each request: a request id (the proxy's ``X-Request-ID`` when sane, else a new one) made
current for every log line (``context``) and returned in the ``X-Request-ID`` response
header; the request counted and timed by route template (``metrics``); one access log line
for Chronos's own routes (route template, never the raw path: signed links carry their
signature in the query). An exception no route handled is logged with the request's context
(and so reported to Sentry when configured) and answered with a 500 that names the request id
a person can quote, in JSON under ``/api/`` (or when JSON is asked for), else a small page.
"""

from __future__ import annotations

import html
import logging
import time
from typing import Any

from starlette.datastructures import Headers, MutableHeaders
from starlette.responses import HTMLResponse, JSONResponse, Response
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from chronos.observability import metrics
from chronos.observability.context import RequestContext, accept_request_id, request_scope

log = logging.getLogger("chronos.http")
access_log = logging.getLogger("chronos.access")

REQUEST_ID_HEADER = "X-Request-ID"
UNMATCHED = "unmatched"


def route_label(scope: Scope) -> str:
    """The matched route's template (``/api/v1/transactions/{txn_id:int}``), bounded."""
    route = scope.get("route")
    path = getattr(route, "path", None)
    if path is None:
        return UNMATCHED
    return path or "/*"  # Reflex is mounted at "" (its frontend files in production)


def _logs_access(scope: Scope) -> bool:
    """Chronos's own routes, less the probes (polled every few seconds)."""
    module = getattr(scope.get("endpoint"), "__module__", "")
    return module.startswith("chronos.") and module != "chronos.api.health_routes"


def error_response(scope: Scope, request_id: str) -> Response:
    headers = Headers(scope=scope)
    path: str = scope.get("path", "")
    message = "Something went wrong on our side. It has been logged."
    if path.startswith("/api/") or "application/json" in headers.get("accept", ""):
        return JSONResponse(
            {"error": f"{message} Reference: {request_id}", "request_id": request_id},
            status_code=500,
        )
    ref = html.escape(request_id)
    page = (
        "<!doctype html><html lang=en><meta charset=utf-8>"
        "<meta name=viewport content='width=device-width, initial-scale=1'>"
        "<title>Something went wrong · Chronos</title>"
        "<body style='font-family:system-ui,sans-serif;max-width:36rem;margin:4rem auto;"
        "padding:0 1rem;line-height:1.5'>"
        "<h1>Something went wrong</h1>"
        f"<p>{html.escape(message)} Please try again in a moment.</p>"
        f"<p>If it keeps happening, tell us this reference: <code>{ref}</code></p>"
        "<p><a href='/'>Back to Chronos</a></p></body></html>"
    )
    return HTMLResponse(page, status_code=500)


class ObservabilityMiddleware:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        headers = Headers(scope=scope)
        ctx = RequestContext(accept_request_id(headers.get(REQUEST_ID_HEADER)), scope=scope)
        started = time.perf_counter()
        state: dict[str, Any] = {"status": 500, "latency": None}

        async def send_with_id(message: Message) -> None:
            if message["type"] == "http.response.start":
                state["status"] = message["status"]
                state["latency"] = time.perf_counter() - started
                MutableHeaders(scope=message)[REQUEST_ID_HEADER] = ctx.request_id
            await send(message)

        method = scope.get("method", "GET")
        with request_scope(ctx):
            try:
                await self.app(scope, receive, send_with_id)
            except Exception:
                log.exception("unhandled error serving %s %s", method, route_label(scope))
                if state["latency"] is not None:
                    raise  # the response had started: nothing better can be sent now
                await error_response(scope, ctx.request_id)(scope, receive, send_with_id)
            finally:
                seconds = state["latency"] or (time.perf_counter() - started)
                route = route_label(scope)
                metrics.observe_http(route, method, state["status"], seconds)
                if _logs_access(scope):
                    access_log.info(
                        "%s %s %s %.0f ms", method, route, state["status"], seconds * 1000
                    )
