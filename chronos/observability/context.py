"""Who and what the current request or websocket event is about, for every log line.

A :class:`RequestContext` is opened by the HTTP middleware for each request and by the Reflex
event middleware for each websocket event. It is one mutable object behind a contextvar, so
what is learnt inside the request (the user, once ``auth.resolve_session`` found them; the
transaction, once a route or page names it) is seen by every later line of the same request,
including lines written from worker threads Starlette runs sync code in (they get a copy of
the context, which points at the same object).

Outside any request (start-up, jobs) there is no context and the fields are absent/None.
"""

from __future__ import annotations

import contextlib
import logging
import re
import uuid
from collections.abc import Iterator, Mapping
from contextvars import ContextVar
from dataclasses import dataclass, field
from typing import Any

# A proxy's id is kept when it is sane (no spaces, no markup, bounded); anything else is
# replaced, so a client cannot put arbitrary text into every log line.
_INCOMING_ID = re.compile(r"^[A-Za-z0-9._-]{8,64}$")
# Path parameters and query keys that name a transaction.
TRANSACTION_KEYS = ("txn_id", "transaction_id")


def new_request_id() -> str:
    """A short random id a person can read out: 16 hex characters."""
    return uuid.uuid4().hex[:16]


def accept_request_id(incoming: str | None) -> str:
    if incoming and _INCOMING_ID.match(incoming):
        return incoming
    return new_request_id()


@dataclass
class RequestContext:
    request_id: str
    kind: str = "http"  # "http" | "event" | "job"
    user_id: int | None = None
    org_id: int | None = None
    transaction_id: int | None = None
    # HTTP: the ASGI scope, whose path parameters (filled in by routing, after the middleware
    # opened the context) name the transaction of /api/v1/transactions/{txn_id}/... routes.
    scope: Mapping[str, Any] | None = field(default=None, repr=False)

    def current_transaction_id(self) -> int | None:
        if self.transaction_id is not None:
            return self.transaction_id
        if self.scope is not None:
            params = self.scope.get("path_params") or {}
            for key in TRANSACTION_KEYS:
                value = _as_int(params.get(key))
                if value is not None:
                    return value
        return None

    def as_dict(self) -> dict[str, Any]:
        return {
            "request_id": self.request_id,
            "user_id": self.user_id,
            "org_id": self.org_id,
            "transaction_id": self.current_transaction_id(),
        }


_CURRENT: ContextVar[RequestContext | None] = ContextVar("chronos_request_context", default=None)


def _as_int(value: Any) -> int | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, str) and value.isdigit() and len(value) < 19:
        return int(value)
    return None


def current() -> RequestContext | None:
    return _CURRENT.get()


def current_request_id() -> str | None:
    ctx = _CURRENT.get()
    return None if ctx is None else ctx.request_id


@contextlib.contextmanager
def request_scope(ctx: RequestContext) -> Iterator[RequestContext]:
    token = _CURRENT.set(ctx)
    try:
        yield ctx
    finally:
        _CURRENT.reset(token)


def open_context(ctx: RequestContext) -> RequestContext:
    """Make ``ctx`` current for the rest of this task (a websocket event's own task)."""
    _CURRENT.set(ctx)
    return ctx


def close_context() -> None:
    """End the context :func:`open_context` opened (a job thread moving on to the next job)."""
    _CURRENT.set(None)


def bind_actor(user: Any) -> None:
    """Record the signed-in user (anything with ``id`` and ``org_id``) on the current request."""
    ctx = _CURRENT.get()
    if ctx is None or user is None:
        return
    ctx.user_id = getattr(user, "id", None)
    ctx.org_id = getattr(user, "org_id", None)


def bind_transaction(transaction_id: Any) -> None:
    ctx = _CURRENT.get()
    value = _as_int(transaction_id)
    if ctx is not None and value is not None:
        ctx.transaction_id = value


FIELDS = ("request_id", "user_id", "org_id", "transaction_id")


class ContextFilter(logging.Filter):
    """Puts the current request's fields on every record (None outside a request)."""

    def filter(self, record: logging.LogRecord) -> bool:
        ctx = _CURRENT.get()
        values = ctx.as_dict() if ctx is not None else dict.fromkeys(FIELDS)
        for key, value in values.items():
            if not hasattr(record, key):
                setattr(record, key, value)
        return True
