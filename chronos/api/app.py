"""The Starlette app Reflex mounts its own routes into (``rx.App(api_transformer=...)``)."""

from __future__ import annotations

from starlette.applications import Starlette

from chronos.api import (
    auth_routes,
    file_routes,
    form_routes,
    invitation_routes,
    rest,
    webhook_routes,
)


def create_api() -> Starlette:
    return Starlette(
        routes=[
            *auth_routes.ROUTES,
            *form_routes.ROUTES,
            *file_routes.ROUTES,
            *invitation_routes.ROUTES,
            *rest.ROUTES,
            *webhook_routes.ROUTES,
        ]
    )
