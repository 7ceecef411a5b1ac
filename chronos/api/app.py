"""The Starlette app Reflex mounts its own routes into (``rx.App(api_transformer=...)``)."""

from __future__ import annotations

from starlette.applications import Starlette
from starlette.middleware import Middleware

from chronos.api import (
    agreement_routes,
    auth_routes,
    calendar_routes,
    export_routes,
    file_routes,
    form_routes,
    health_routes,
    invitation_routes,
    rest,
    webhook_routes,
)
from chronos.observability.http import ObservabilityMiddleware


def create_api() -> Starlette:
    return Starlette(
        routes=[
            *auth_routes.ROUTES,
            *form_routes.ROUTES,
            *agreement_routes.ROUTES,
            *file_routes.ROUTES,
            *calendar_routes.ROUTES,
            *invitation_routes.ROUTES,
            *export_routes.ROUTES,
            *rest.ROUTES,
            *webhook_routes.ROUTES,
            *health_routes.ROUTES,
        ],
        # Around Reflex's own routes too (it mounts them into this app): request ids, HTTP
        # metrics, a 500 page naming the request id.
        middleware=[Middleware(ObservabilityMiddleware)],
    )
