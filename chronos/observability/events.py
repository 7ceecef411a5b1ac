"""Reflex websocket events: request context, metrics and the error toast with a reference.

:class:`EventObserver` is a Reflex event middleware (``app.add_middleware``). Reflex runs each
event in an asyncio task of its own and calls ``preprocess`` in it, under the state lock, just
before the handler; so the context opened there (a new request id, the transaction of the page
the event came from) is current for every log line of that handler, and ``auth.resolve_session``
adds the user and organization once it has resolved the cookie. Reflex 0.10 never calls
``postprocess``, so the outcome and duration are taken from the task's done callback.

:func:`backend_exception_handler` replaces Reflex's default toast (which shows the exception's
text in development): it logs the error with the event's context (so Sentry gets it with the
request id and the user) and shows a toast with that request id for the user to quote.
"""

from __future__ import annotations

import asyncio
import logging
import re
import time
from collections import OrderedDict
from typing import TYPE_CHECKING, Any

import reflex as rx
from reflex.event import EventSpec
from reflex.middleware import Middleware

from chronos.observability import metrics
from chronos.observability.context import (
    TRANSACTION_KEYS,
    RequestContext,
    new_request_id,
    open_context,
    request_scope,
)

if TYPE_CHECKING:
    from reflex.app import App
    from reflex.state import BaseState, StateUpdate
    from reflex_base.event import Event

log = logging.getLogger("chronos.events")

# The pages whose URL names a transaction: /transactions/12, /portal/12 (routes.py).
_TRANSACTION_PATH = re.compile(r"^/(?:transactions|portal)/(\d+)(?:/|$)")
# Contexts of failed events until the exception handler (a task of its own) picks them up.
_FAILED: OrderedDict[str, RequestContext] = OrderedDict()
_FAILED_MAX = 1000


def handler_label(event_name: str) -> str:
    """``state.chronos___pages___pipeline____pipeline_state.load`` → ``pipeline_state.load``."""
    parts = event_name.split(".")
    handler = parts[-1]
    if len(parts) < 2:
        return handler
    return f"{parts[-2].rsplit('____', 1)[-1]}.{handler}"


def _transaction_of(router_data: Any) -> int | None:
    if not isinstance(router_data, dict):
        return None
    query = router_data.get("query")
    if isinstance(query, dict):
        for key in TRANSACTION_KEYS:
            value = query.get(key)
            if isinstance(value, str) and value.isdigit() and len(value) < 19:
                return int(value)
    match = _TRANSACTION_PATH.match(str(router_data.get("asPath") or ""))
    return int(match.group(1)) if match else None


def event_txid() -> str | None:
    """The txid of the websocket event being processed, or None outside one (a processor's
    root context has an empty txid)."""
    from reflex_base.event.context import EventContext

    try:
        return EventContext.get().txid or None
    except LookupError:
        return None


class EventObserver(Middleware):
    async def preprocess(self, app: App, state: BaseState, event: Event) -> StateUpdate | None:
        ctx = open_context(RequestContext(new_request_id(), kind="event"))
        ctx.transaction_id = _transaction_of(getattr(state, "router_data", None))
        task = asyncio.current_task()
        if task is None:
            return None
        handler = handler_label(event.name)
        txid = event_txid()
        started = time.perf_counter()

        def finished(done: asyncio.Task[Any]) -> None:
            if done.cancelled():
                outcome = "cancelled"
            elif done.exception() is not None:
                outcome = "error"
                if txid is not None:
                    _FAILED[txid] = ctx
                    while len(_FAILED) > _FAILED_MAX:
                        _FAILED.popitem(last=False)
            else:
                outcome = "ok"
            metrics.observe_event(handler, outcome, time.perf_counter() - started)

        task.add_done_callback(finished)
        return None


def backend_exception_handler(exception: Exception) -> EventSpec:
    txid = event_txid()
    ctx = (_FAILED.pop(txid, None) if txid else None) or RequestContext(
        new_request_id(), kind="event"
    )
    with request_scope(ctx):
        log.error(
            "unhandled error in a websocket event: %s",
            type(exception).__name__,
            exc_info=(type(exception), exception, exception.__traceback__),
        )
    return rx.toast.error(
        "Something went wrong on our side.",
        description=f"Please try again. If it keeps happening, quote reference {ctx.request_id}.",
        id="backend_error",
        position="top-center",
        duration=15000,
    )
