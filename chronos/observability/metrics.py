"""Prometheus metrics (prometheus-client), one definition each, and the scrape behind /metrics.

One process (the embedded default): the metrics live in the process's default registry.
Several workers (granian workers, ``chronos worker`` processes): set
``PROMETHEUS_MULTIPROC_DIR`` to an empty folder shared by every process of the deployment
(emptied before each start); prometheus-client then keeps each process's values in files
there and the scrape adds them up, so any worker answers for all of them. The variable must be
set before the processes start (prometheus-client reads it when it is first imported).

Labels are bounded sets: HTTP routes are the route *templates* (``/api/v1/transactions/
{txn_id:int}``), websocket handlers the registered handler names, jobs the task names.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Iterator
from typing import Any

from prometheus_client import (
    CONTENT_TYPE_LATEST,
    REGISTRY,
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    generate_latest,
    multiprocess,
)
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.registry import Collector

log = logging.getLogger(__name__)

LATENCY_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0)

HTTP_REQUESTS = Counter(
    "chronos_http_requests",
    "HTTP requests served, by route template, method and status code.",
    ["route", "method", "status"],
)
HTTP_LATENCY = Histogram(
    "chronos_http_request_duration_seconds",
    "Time to serve an HTTP request (until the response started), by route template and method.",
    ["route", "method"],
    buckets=LATENCY_BUCKETS,
)
EVENTS = Counter(
    "chronos_ws_events",
    "Reflex websocket events handled, by handler and outcome (ok, error, cancelled).",
    ["handler", "outcome"],
)
EVENT_LATENCY = Histogram(
    "chronos_ws_event_duration_seconds",
    "Time to handle a websocket event (state lock to last update), by handler.",
    ["handler"],
    buckets=LATENCY_BUCKETS,
)
JOBS = Counter(
    "chronos_jobs",
    "Background job executions, by task and outcome (complete, error, retrying, expired, "
    "revoked, locked, interrupted).",
    ["task", "outcome"],
)
EMAILS = Counter(
    "chronos_emails",
    "Email delivery attempts, by outcome (sent, retry, failed).",
    ["outcome"],
)
SECURITY_EVENTS = Counter(
    "chronos_security_events",
    "Security log entries by kind: sign_in_failed counts failed sign-ins, locked_out "
    "lockouts, rate_limited refused attempts.",
    ["kind"],
)
DB_POOL_CHECKED_OUT = Gauge(
    "chronos_db_pool_checked_out",
    "Database connections handed out by the pools right now (all processes).",
    multiprocess_mode="livesum",
)
DB_POOL_OPEN = Gauge(
    "chronos_db_pool_connections",
    "Database connections the pools hold open (idle or in use), all processes.",
    multiprocess_mode="livesum",
)


def multiprocess_dir() -> str:
    return os.environ.get("PROMETHEUS_MULTIPROC_DIR", "").strip()


# ---------------------------------------------------------------- job queue depth (at scrape)


class QueueDepthCollector(Collector):
    """``chronos_jobs_queue_depth`` (waiting now) and ``chronos_jobs_scheduled`` (delayed or
    retrying later), read from the queue's storage when scraped."""

    def describe(self) -> list[GaugeMetricFamily]:
        # Registration asks for the names; no I/O then.
        return [
            GaugeMetricFamily("chronos_jobs_queue_depth", "Jobs waiting in the queue."),
            GaugeMetricFamily("chronos_jobs_scheduled", "Jobs scheduled for later (retries)."),
        ]

    def collect(self) -> Iterator[GaugeMetricFamily]:
        from chronos.jobs import get_jobs

        try:
            huey = get_jobs().huey
            pending, scheduled = huey.pending_count(), huey.scheduled_count()
        except Exception as exc:  # an unreachable queue: /readyz says so; the scrape goes on
            log.warning("metrics: job queue unreachable: %s", type(exc).__name__)
            return
        yield GaugeMetricFamily("chronos_jobs_queue_depth", "Jobs waiting in the queue.", pending)
        yield GaugeMetricFamily(
            "chronos_jobs_scheduled", "Jobs scheduled for later (retries).", scheduled
        )


_QUEUE_COLLECTOR = QueueDepthCollector()
if not multiprocess_dir():
    REGISTRY.register(_QUEUE_COLLECTOR)


def scrape() -> tuple[bytes, str]:
    """The exposition text of every metric (all processes in multiprocess mode)."""
    if multiprocess_dir():
        registry = CollectorRegistry()
        multiprocess.MultiProcessCollector(registry)
        registry.register(_QUEUE_COLLECTOR)
        return generate_latest(registry), CONTENT_TYPE_LATEST
    return generate_latest(REGISTRY), CONTENT_TYPE_LATEST


def process_exited(pid: int | None = None) -> None:
    """Multiprocess bookkeeping when a worker stops: drop its live gauges."""
    if multiprocess_dir():
        multiprocess.mark_process_dead(pid or os.getpid())


# ---------------------------------------------------------------- hooks


def observe_http(route: str, method: str, status: int, seconds: float) -> None:
    HTTP_REQUESTS.labels(route, method, str(status)).inc()
    HTTP_LATENCY.labels(route, method).observe(seconds)


def observe_event(handler: str, outcome: str, seconds: float) -> None:
    EVENTS.labels(handler, outcome).inc()
    EVENT_LATENCY.labels(handler).observe(seconds)


def count_email(outcome: str) -> None:
    if outcome in {"sent", "retry", "failed"}:
        EMAILS.labels(outcome).inc()


def count_security_event(kind: str) -> None:
    SECURITY_EVENTS.labels(kind).inc()


_pools_instrumented = False


def instrument_db_pools() -> None:
    """Count connections of every SQLAlchemy pool in this process (class-level pool events)."""
    global _pools_instrumented
    if _pools_instrumented:
        return
    from sqlalchemy import event
    from sqlalchemy.pool import Pool

    def on_connect(_dbapi: Any, _record: Any) -> None:
        DB_POOL_OPEN.inc()

    def on_close(_dbapi: Any, _record: Any) -> None:
        DB_POOL_OPEN.dec()

    def on_close_detached(_dbapi: Any) -> None:
        DB_POOL_OPEN.dec()

    def on_checkout(_dbapi: Any, _record: Any, _proxy: Any) -> None:
        DB_POOL_CHECKED_OUT.inc()

    def on_checkin(_dbapi: Any, _record: Any) -> None:
        DB_POOL_CHECKED_OUT.dec()

    event.listen(Pool, "connect", on_connect)
    event.listen(Pool, "close", on_close)
    event.listen(Pool, "close_detached", on_close_detached)
    event.listen(Pool, "checkout", on_checkout)
    event.listen(Pool, "checkin", on_checkin)
    _pools_instrumented = True


def instrument_huey(huey: Any) -> None:
    """Count every job outcome huey signals (in whichever process consumes the queue), and give
    each execution a request id (``job-<task id>``) for its log lines, huey's own traceback
    of a failed task included."""
    from huey import signals

    from chronos.observability import context

    outcomes = {
        signals.SIGNAL_COMPLETE: "complete",
        signals.SIGNAL_ERROR: "error",
        signals.SIGNAL_RETRYING: "retrying",
        signals.SIGNAL_EXPIRED: "expired",
        signals.SIGNAL_REVOKED: "revoked",
        signals.SIGNAL_LOCKED: "locked",
        signals.SIGNAL_INTERRUPTED: "interrupted",
    }

    @huey.signal(signals.SIGNAL_EXECUTING)
    def _started(signal: str, task: Any, *_args: Any, **_kwargs: Any) -> None:
        task_id = (
            str(getattr(task, "id", "") or "").replace("-", "")[:12] or context.new_request_id()
        )
        context.open_context(context.RequestContext(f"job-{task_id}", kind="job"))

    @huey.signal(*outcomes)
    def _count(signal: str, task: Any, *_args: Any, **_kwargs: Any) -> None:
        JOBS.labels(getattr(task, "name", "unknown"), outcomes.get(signal, signal)).inc()
        context.close_context()
