"""Reflex configuration. Chronos's own settings live in chronos/settings.py.

``db_url`` stays unset on purpose: Chronos runs its own engine and Alembic migrations.
Production: set REFLEX_REDIS_URL for Reflex's state manager and REFLEX_API_URL /
REFLEX_DEPLOY_URL to the public URL (see README).
"""

import os

import reflex as rx
from reflex import constants

from chronos.api.security import own_origins
from chronos.build_plugins import IconChunkPlugin
from chronos.dev_reload import exclude_runtime_dirs_from_hot_reload
from chronos.settings import allowed_origins

# Dev mode's hot reload must not watch var/ (SQLite -wal/-shm writes restarted the backend in a
# loop); every `reflex run` reads this file before it computes what to watch.
exclude_runtime_dirs_from_hot_reload()

# Without Redis (one worker process): tab state in memory, expired like Redis's. Reflex's default
# there, "disk", also pickles changed states into .states/ and rescans that whole folder on
# every write pass: about a tenth of the worker's CPU under load, and 100-user p95 631/465 ms
# against 291/386 ms in memory (bench/FINDINGS.md). Chronos reloads a tab's data from the
# database when it reconnects, so a restart loses only unsent form input. With
# REFLEX_REDIS_URL set, Reflex keeps choosing its Redis state manager itself.
_state_manager = (
    {}
    if os.environ.get("REFLEX_REDIS_URL")
    else {"state_manager_mode": constants.StateManagerMode.MEMORY}
)

config = rx.Config(
    app_name="chronos",
    telemetry_enabled=False,
    show_built_with_reflex=False,
    plugins=[
        rx.plugins.RadixThemesPlugin(
            theme=rx.theme(accent_color="indigo", gray_color="slate", radius="medium")
        ),
        IconChunkPlugin(),
    ],
    # A private CRM has nothing to put in a public sitemap.
    disable_plugins=[rx.plugins.SitemapPlugin],
    **_state_manager,
)

# The websocket and CORS trust only the app's own origins (Reflex's default is "*", and its CORS
# middleware then echoes any Origin with credentials: a page on another port of this host, or
# any sibling subdomain in production, could act as the signed-in user). Computed after the
# Config has applied REFLEX_API_URL / REFLEX_DEPLOY_URL and the --frontend-port/--backend-port
# of `reflex run`; the same list the cookie routes' CSRF check uses (chronos/api/security.py).
config.cors_allowed_origins = tuple(
    sorted(own_origins(config.api_url, config.deploy_url, allowed_origins()))
)
