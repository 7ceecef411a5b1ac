"""Reflex configuration. Chronos's own settings live in chronos/settings.py.

``db_url`` stays unset on purpose: Chronos runs its own engine and Alembic migrations.
Production: set REFLEX_REDIS_URL for Reflex's state manager and REFLEX_API_URL /
REFLEX_DEPLOY_URL to the public URL (see README).
"""

import reflex as rx

config = rx.Config(
    app_name="chronos",
    telemetry_enabled=False,
    show_built_with_reflex=False,
    plugins=[
        rx.plugins.RadixThemesPlugin(
            theme=rx.theme(accent_color="indigo", gray_color="slate", radius="medium")
        )
    ],
    # A private CRM has nothing to put in a public sitemap.
    disable_plugins=[rx.plugins.SitemapPlugin],
)
