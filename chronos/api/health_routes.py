"""Operator routes: ``/healthz`` (alive), ``/readyz`` (ready to serve), ``/metrics``.

``/healthz`` and ``/readyz`` are unauthenticated and say nothing but check names, outcomes and
latencies. ``/metrics`` (Prometheus) answers only ``Authorization: Bearer
$CHRONOS_METRICS_TOKEN`` (compared in constant time): 404 while no token is configured, so an
unconfigured server does not even reveal the route; 401 with a missing or wrong token.
"""

from __future__ import annotations

import hmac

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from chronos.observability import health, metrics
from chronos.settings import get_settings

HEALTHZ = "/healthz"
READYZ = "/readyz"
METRICS = "/metrics"
_NO_STORE = {"Cache-Control": "no-store"}


async def healthz(request: Request) -> Response:
    return JSONResponse({"status": "ok"}, headers=_NO_STORE)


async def readyz(request: Request) -> Response:
    results = await health.readiness()
    ready = all(r.ok for r in results)
    body = {
        "status": "ready" if ready else "not ready",
        "checks": {r.name: r.as_json() for r in results},
    }
    return JSONResponse(body, status_code=200 if ready else 503, headers=_NO_STORE)


def _bearer(request: Request) -> str:
    scheme, _, token = request.headers.get("authorization", "").partition(" ")
    return token.strip() if scheme.lower() == "bearer" else ""


async def metrics_route(request: Request) -> Response:
    expected = get_settings().metrics_token
    if not expected:
        return JSONResponse({"error": "Not found."}, status_code=404)
    if not hmac.compare_digest(_bearer(request).encode(), expected.encode()):
        return JSONResponse(
            {"error": "A valid bearer token is required."},
            status_code=401,
            headers={"WWW-Authenticate": 'Bearer realm="metrics"'},
        )
    body, content_type = metrics.scrape()
    return Response(body, media_type=content_type, headers=_NO_STORE)


ROUTES = [
    Route(HEALTHZ, healthz, methods=["GET", "HEAD"]),
    Route(READYZ, readyz, methods=["GET", "HEAD"]),
    Route(METRICS, metrics_route, methods=["GET"]),
]
