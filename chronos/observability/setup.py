"""Once per process: logging, error reports and database pool metrics; the app's lifespan."""

from __future__ import annotations

import contextlib
import logging
from collections.abc import AsyncIterator
from importlib.metadata import PackageNotFoundError, version

from chronos.logging_setup import configure_logging
from chronos.observability import errors, metrics
from chronos.settings import get_settings

log = logging.getLogger(__name__)


def _release() -> str | None:
    try:
        return f"chronos@{version('chronos')}"
    except PackageNotFoundError:
        return None


def configure_process() -> None:
    """Called by the app (chronos/chronos.py) and by ``chronos worker``."""
    configure_logging()
    settings = get_settings()
    errors.init_sentry(
        settings.sentry_dsn, environment=settings.sentry_environment, release=_release()
    )
    metrics.instrument_db_pools()


@contextlib.asynccontextmanager
async def observability_lifespan() -> AsyncIterator[None]:
    """A worker's lifespan: in multiprocess metrics mode, retire its live gauges at exit."""
    if metrics.multiprocess_dir():
        log.info("Metrics: multiprocess mode in %s.", metrics.multiprocess_dir())
    try:
        yield
    finally:
        metrics.process_exited()
