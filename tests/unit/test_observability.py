"""Request context on log lines, the websocket event middleware and error toast, scrubbing.

HTTP, /metrics, /readyz and Sentry over real HTTP: tests/integration/test_observability.py.
"""

from __future__ import annotations

import asyncio
import io
import json
import logging
from collections.abc import Iterator
from types import SimpleNamespace
from typing import Any

import pytest
from prometheus_client import REGISTRY

from chronos.logging_setup import build_handler
from chronos.observability import context, errors, events


@pytest.fixture
def capture() -> Iterator[tuple[logging.Logger, io.StringIO, logging.Handler]]:
    stream = io.StringIO()
    handler = build_handler("text")
    handler.setStream(stream)  # type: ignore[attr-defined]
    logger = logging.getLogger("chronos.test_observability")
    logger.addHandler(handler)
    logger.setLevel(logging.INFO)
    logger.propagate = False
    yield logger, stream, handler
    logger.removeHandler(handler)


def test_text_lines_name_the_request_only_inside_one(capture: Any) -> None:
    logger, stream, _ = capture
    logger.info("outside")
    ctx = context.RequestContext("abcd1234abcd1234")
    with context.request_scope(ctx):
        context.bind_actor(SimpleNamespace(id=7, org_id=3))
        context.bind_transaction("42")
        logger.info("inside")
    outside, inside = stream.getvalue().splitlines()
    assert outside.endswith("chronos.test_observability: outside")
    assert inside.endswith("inside [request=abcd1234abcd1234 user=7 org=3 txn=42]")


def test_json_lines_always_have_the_context_keys(capture: Any) -> None:
    logger, stream, handler = capture
    handler.setFormatter(build_handler("json").formatter)  # type: ignore[arg-type]
    logger.warning("no request here")
    with context.request_scope(
        context.RequestContext("r-12345678", scope={"path_params": {"txn_id": 9}})
    ):
        try:
            raise ValueError("bad")
        except ValueError:
            logger.exception("failed")
    first, second = (json.loads(line) for line in stream.getvalue().splitlines())
    assert first["message"] == "no request here" and first["level"] == "WARNING"
    assert {first[k] for k in ("request_id", "user_id", "org_id", "transaction_id")} == {None}
    assert second["request_id"] == "r-12345678" and second["transaction_id"] == 9
    assert "ValueError: bad" in second["exc_info"]
    assert second["logger"] == "chronos.test_observability" and second["timestamp"]


def test_binding_outside_a_request_is_a_no_op() -> None:
    context.bind_actor(SimpleNamespace(id=1, org_id=1))
    context.bind_transaction(5)
    assert context.current() is None


def test_a_context_bound_in_a_worker_thread_is_seen_by_the_request() -> None:
    """Starlette runs sync code in threads with a copy of the context: same object."""
    ctx = context.RequestContext("thread-test-1")

    async def main() -> None:
        with context.request_scope(ctx):
            await asyncio.to_thread(context.bind_actor, SimpleNamespace(id=11, org_id=2))

    asyncio.run(main())
    assert (ctx.user_id, ctx.org_id) == (11, 2)


@pytest.mark.parametrize(
    ("name", "label"),
    [
        ("state.chronos___pages___pipeline____pipeline_state.load", "pipeline_state.load"),
        ("state.hydrate", "state.hydrate"),
        ("ping", "ping"),
    ],
)
def test_handler_labels_are_short_and_bounded(name: str, label: str) -> None:
    assert events.handler_label(name) == label


def _sample(name: str, **labels: str) -> float:
    return REGISTRY.get_sample_value(name, labels) or 0.0


def test_event_middleware_opens_a_context_and_counts_outcomes() -> None:
    state = SimpleNamespace(router_data={"asPath": "/transactions/12", "query": {}})
    seen: dict[str, Any] = {}

    async def handle(name: str, fail: bool) -> None:
        await events.EventObserver().preprocess(
            app=None, state=state, event=SimpleNamespace(name=name)
        )  # type: ignore[arg-type]
        ctx = context.current()
        assert ctx is not None
        seen[name] = ctx
        context.bind_actor(SimpleNamespace(id=5, org_id=1))
        if fail:
            raise RuntimeError("handler bug")

    async def main() -> None:
        ok = asyncio.create_task(handle("state.x____page_state.save", False))
        bad = asyncio.create_task(handle("state.x____page_state.save", True))
        await asyncio.gather(ok, bad, return_exceptions=True)
        await asyncio.sleep(0)  # done callbacks

    before_ok = _sample("chronos_ws_events_total", handler="page_state.save", outcome="ok")
    before_err = _sample("chronos_ws_events_total", handler="page_state.save", outcome="error")
    asyncio.run(main())
    assert (
        _sample("chronos_ws_events_total", handler="page_state.save", outcome="ok") == before_ok + 1
    )
    assert (
        _sample("chronos_ws_events_total", handler="page_state.save", outcome="error")
        == before_err + 1
    )
    ctx = seen["state.x____page_state.save"]
    assert ctx.kind == "event" and ctx.transaction_id == 12 and ctx.user_id == 5
    assert context.current() is None  # nothing leaked out of the event tasks


def test_the_error_toast_quotes_the_failed_events_request_id(
    capture: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    _logger, stream, handler = capture
    logging.getLogger("chronos.events").addHandler(handler)
    ctx = context.RequestContext("evt-req-0001", kind="event", user_id=4, org_id=2)
    events._FAILED["txid-1"] = ctx
    monkeypatch.setattr(events, "event_txid", lambda: "txid-1")
    try:
        spec = events.backend_exception_handler(RuntimeError("kaput"))
    finally:
        logging.getLogger("chronos.events").removeHandler(handler)
    rendered = str(spec)
    assert "evt-req-0001" in rendered and "kaput" not in rendered
    line = stream.getvalue().splitlines()[0]
    assert "unhandled error in a websocket event: RuntimeError" in line
    assert "[request=evt-req-0001 user=4 org=2]" in line
    assert "RuntimeError: kaput" in stream.getvalue()  # the traceback, in the log only
    assert "txid-1" not in events._FAILED


def test_scrubbing_keeps_the_ids_and_drops_secrets() -> None:
    event: dict[str, Any] = {
        "user": {"id": "3", "email": "a@b.example", "ip_address": "10.0.0.1"},
        "request": {
            "method": "POST",
            "url": "https://crm.example.com/files/7?sig=abc&exp=1",
            "headers": {
                "Cookie": "chronos_session=tok",
                "Authorization": "Bearer x",
                "User-Agent": "UA",
            },
            "cookies": {"chronos_session": "tok"},
            "data": {"password": "pw"},
        },
        "extra": {
            "password": "pw",
            "nested": {"api_key": "k", "fine": 1},
            "list": [{"token": "t"}],
        },
        "exception": {"values": [{"stacktrace": {"frames": [{"vars": {"password": "pw"}}]}}]},
        "breadcrumbs": {"values": [{"data": {"url": "https://x/y?token=abc", "session": "s"}}]},
    }
    with context.request_scope(context.RequestContext("req-scrub-1", user_id=3, org_id=1)):
        out = errors.scrub_event(event, {})
    assert out["tags"] == {"request_id": "req-scrub-1", "org_id": "1"}
    assert out["user"] == {"id": "3"}
    assert out["request"] == {
        "method": "POST",
        "url": "https://crm.example.com/files/7",
        "headers": {"User-Agent": "UA"},
    }
    assert out["extra"] == {
        "password": errors.FILTERED,
        "nested": {"api_key": errors.FILTERED, "fine": 1},
        "list": [{"token": errors.FILTERED}],
    }
    assert "vars" not in out["exception"]["values"][0]["stacktrace"]["frames"][0]
    assert out["breadcrumbs"]["values"][0]["data"] == {
        "url": "https://x/y",
        "session": errors.FILTERED,
    }


def test_sentry_stays_off_without_a_dsn() -> None:
    assert errors.init_sentry("") is False
