"""Operating Chronos: request context for logs, Prometheus metrics, error reports, health.

- ``context``: the request id, user, organization and transaction of the request or websocket
  event being served (contextvars), and the logging filter that puts them on every line.
- ``logs``: text and JSON formatters (``CHRONOS_LOG_FORMAT``).
- ``metrics``: every Prometheus metric, the scrape (multiprocess-aware), pool and job hooks.
- ``errors``: optional Sentry (``SENTRY_DSN``) with scrubbing.
- ``health``: the liveness and readiness checks behind ``/healthz`` and ``/readyz``.
- ``http``: the ASGI middleware for HTTP requests (request id, metrics, a 500 page with the id).
- ``events``: the Reflex event middleware and backend exception handler (websocket events).

Framework-free except ``events`` (Reflex) and ``http`` (Starlette).
"""
