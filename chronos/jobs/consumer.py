"""Running the jobs: a consumer inside the app process, or ``chronos worker`` processes.

Embedded (the default): the app's lifespan starts huey's consumer on a background thread.
huey's ``Consumer.start()`` installs SIGINT/SIGTERM/SIGHUP handlers, which only the main
thread may do and which belong to the web server anyway; :class:`BackgroundConsumer` leaves
them alone, and the app stops the consumer itself when it shuts down (waiting for an attempt
in flight, up to the mail timeout).

At scale: ``CHRONOS_JOBS_URL=redis://...``, ``CHRONOS_JOBS_IN_PROCESS=0`` in the app, and as
many ``chronos worker`` processes as needed; SIGTERM stops a worker gracefully.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import threading
import time
from collections.abc import AsyncIterator

from huey import Huey
from huey.consumer import Consumer, ConsumerStopped

from chronos.jobs.tasks import get_jobs
from chronos.settings import get_settings

log = logging.getLogger(__name__)

IN_PROCESS_WORKERS = 2
# Idle SQLite workers poll the queue at most this far apart (Redis workers block instead):
# a new email waits at most about a second for a worker.
MAX_POLL_SECONDS = 1.0


def _shutdown_timeout() -> float:
    return get_settings().mail_timeout_seconds + 5


class BackgroundConsumer(Consumer):
    """huey's consumer without signal handlers, supervised from a daemon thread."""

    _supervisor: threading.Thread | None = None

    def _set_signal_handlers(self) -> None:
        """The host process owns its signals; :meth:`shutdown` stops this consumer."""

    def run_in_background(self) -> BackgroundConsumer:
        # Consumer.run() minus the restart-by-exec: start the workers and the scheduler here
        # (so a shutdown right after finds them started), then restart any that die until
        # the stop flag is set.
        self.start()
        self._supervisor = threading.Thread(
            target=self._supervise, name="huey-consumer", daemon=True
        )
        self._supervisor.start()
        return self

    def _supervise(self) -> None:
        health_check_ts = time.monotonic()
        while True:
            try:
                health_check_ts = self.loop(health_check_ts)
            except ConsumerStopped:
                break
        self.huey.notify_interrupted_tasks()

    def shutdown(self) -> None:
        """Stop taking jobs; wait for attempts in flight (up to the shutdown timeout)."""
        self.stop(graceful=True)
        if self._supervisor is not None:
            self._supervisor.join(timeout=5)


def background_consumer(huey: Huey, *, workers: int = IN_PROCESS_WORKERS) -> BackgroundConsumer:
    return BackgroundConsumer(
        huey,
        workers=workers,
        worker_type="thread",
        periodic=True,
        max_delay=MAX_POLL_SECONDS,
        shutdown_timeout=_shutdown_timeout(),
    ).run_in_background()


@contextlib.asynccontextmanager
async def jobs_in_process() -> AsyncIterator[None]:
    """The app's lifespan task: a consumer inside the app process when settings ask for it."""
    settings = get_settings()
    if settings.dev_mailbox:
        log.warning(
            "The developer mailbox is on: /dev/mailbox shows every email without signing in "
            "(CHRONOS_DEV_MAILBOX=0 turns it off)."
        )
    if not settings.jobs_in_process:
        log.info("Background jobs run in `chronos worker` processes (CHRONOS_JOBS_IN_PROCESS=0).")
        yield
        return
    consumer = background_consumer(get_jobs().huey)
    log.info("Background jobs run inside the app process (%s workers).", IN_PROCESS_WORKERS)
    try:
        yield
    finally:
        # Also on every dev-mode code reload: the old worker stops its consumer here and the
        # new worker's lifespan starts a fresh one (tests/devmode checks jobs still run).
        started = time.monotonic()
        await asyncio.to_thread(consumer.shutdown)
        log.info("Background jobs stopped in %.1f s.", time.monotonic() - started)


def run_worker(*, workers: int, periodic: bool = True) -> None:
    """Consume jobs in this process until SIGTERM (graceful) or SIGINT."""
    consumer = get_jobs().huey.create_consumer(
        workers=workers,
        worker_type="thread",
        periodic=periodic,
        max_delay=MAX_POLL_SECONDS,
        graceful_signal="TERM",
        shutdown_timeout=_shutdown_timeout(),
    )
    consumer.run()
