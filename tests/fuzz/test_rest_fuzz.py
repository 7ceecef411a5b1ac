"""Every HTTP route the app mounts (auth, files, feeds, exports, REST v1, webhooks, health),
enumerated from ``create_api()`` so a new endpoint is fuzzed without being listed here, called
as a signed-in agent with hostile path parameters, query strings, headers and bodies (JSON,
non-JSON, form-encoded, multipart with hostile file names).

Each answer must be below 500 with no traceback in it, nothing may be logged as an error, and
an error answer (4xx) must leave every table as it was.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import quote

import pytest
from hypothesis import given
from hypothesis import strategies as st
from sqlalchemy import func, select
from sqlalchemy.engine import Engine
from sqlmodel import Session, SQLModel
from starlette.routing import Route
from starlette.testclient import TestClient

import chronos.api
from chronos.api.app import create_api
from chronos.settings import get_settings
from tests.factories import World
from tests.fuzz.conftest import ErrorTrap, open_token
from tests.fuzz.strategies import FUZZ, WEIRD_NUMBERS, hostile, text

ORIGIN = "http://testserver"
PARAM = re.compile(r"\{(\w+)(?::(\w+))?\}")
# Rows an error answer may still write, each for a reason.
MAY_CHANGE_ON_ERROR = {
    "user_sessions": "the fixture opens a session per example; sign-in attempts open none",
}
# Field names the routes and the services they call read, so bodies reach past "missing".
_SOURCES = [*Path(chronos.api.__file__).parent.glob("*.py")]
_SOURCES += [
    Path(chronos.api.__file__).parent.parent / "services" / f
    for f in ("transactions.py", "people.py", "documents.py", "validation.py")
]
FIELDS = sorted(
    {
        key
        for src in _SOURCES
        for key in re.findall(r"""(?:\.get\(|\[)\s*["']([a-z_][a-z0-9_]*)["']""", src.read_text())
    }
)


def _routes() -> Iterator[tuple[str, str, Route]]:
    for route in create_api().routes:
        assert isinstance(route, Route), route
        for method in sorted(route.methods or []):
            if method != "HEAD":
                yield route.path, method, route


ALL = sorted(_routes(), key=lambda r: (r[0], r[1]))


def _counts(engine: Engine) -> dict[str, int]:
    with Session(engine) as db:
        return {
            t.name: int(db.execute(select(func.count()).select_from(t)).scalar_one())
            for t in SQLModel.metadata.sorted_tables
        }


def _path(template: str, values: dict[str, Any]) -> str:
    def fill(match: re.Match[str]) -> str:
        return quote(str(values[match.group(1)]), safe="")

    return PARAM.sub(fill, template)


def _path_values(template: str, world: World) -> st.SearchStrategy[dict[str, Any]]:
    ids = [world.deal.id, 1, 0, 2**31, 2**63, 10**30]
    out: dict[str, st.SearchStrategy[Any]] = {}
    for name, kind in PARAM.findall(template):
        out[name] = st.sampled_from(ids) if kind == "int" else text().filter(bool)
    return st.fixed_dictionaries(out)


ascii_text = st.sampled_from(["", "x" * 300, "1", "-1", "NaN", "a b", "chr_" + "z" * 40]) | st.text(
    st.characters(min_codepoint=32, max_codepoint=126), max_size=30
)
field_value = hostile(["2026-03-02", "buyer", "a", 1, "x" * 230, ["a", "b"]])
queries = st.dictionaries(
    st.sampled_from([*FIELDS, "q", "page", "page_size", "after", "limit", "month"]),
    text() | st.sampled_from([str(n) for n in WEIRD_NUMBERS]),
    max_size=4,
)
bodies = st.one_of(
    st.tuples(st.just("json"), st.dictionaries(st.sampled_from(FIELDS), field_value, max_size=6)),
    st.tuples(st.just("json"), hostile()),
    st.tuples(st.just("raw"), st.binary(max_size=64)),
    st.tuples(
        st.just("form"),
        st.dictionaries(st.sampled_from(FIELDS), text(), max_size=6),
    ),
    st.tuples(
        st.just("multipart"),
        st.tuples(
            st.dictionaries(st.sampled_from(FIELDS), text(), max_size=4),
            text().filter(bool),
            st.sampled_from([b"%PDF-1.4\n%%EOF\n", b"<html><script>x</script>", b"", b"\x00" * 10]),
        ),
    ),
)
headers = st.fixed_dictionaries(
    {},
    optional={
        "Idempotency-Key": ascii_text,
        "Authorization": st.sampled_from(
            ["Bearer ", "Bearer chr_x", "Basic a", "Bearer " + "z" * 500]
        ),
    },
)


@pytest.fixture(scope="module")
def http(fuzz_engine: Engine) -> Iterator[TestClient]:
    with TestClient(
        create_api(), base_url=ORIGIN, follow_redirects=False, raise_server_exceptions=False
    ) as client:
        yield client


def _send(
    client: TestClient, method: str, url: str, body: tuple[str, Any], head: dict[str, str]
) -> Any:
    kind, value = body
    if kind == "json":
        raw = json.dumps(value, allow_nan=True).encode()
        return client.request(
            method, url, content=raw, headers={**head, "content-type": "application/json"}
        )
    if kind == "raw":
        return client.request(method, url, content=value, headers=head)
    if kind == "form":
        return client.request(method, url, data=value, headers=head)
    fields, filename, content = value
    return client.request(
        method,
        url,
        data=fields,
        files={"files": (filename, content, "application/pdf")},
        headers=head,
    )


def test_the_walk_covers_every_route_module() -> None:
    paths = {p for p, _, _ in ALL}
    assert {"/api/v1/transactions", "/files/upload", "/auth/sign-in", "/webhooks/resend"} <= paths
    assert len(ALL) > 30


@pytest.mark.parametrize(("template", "method", "route"), ALL, ids=[f"{m} {p}" for p, m, _ in ALL])
def test_a_route_answers_hostile_input_without_a_500_or_a_half_save(
    template: str,
    method: str,
    route: Route,
    http: TestClient,
    fuzz_engine: Engine,
    fuzz_world: World,
    error_log: ErrorTrap,
) -> None:
    cookie_name = get_settings().cookie_name

    @FUZZ
    @given(
        path=_path_values(template, fuzz_world),
        query=queries,
        body=bodies,
        head=headers,
    )
    def run(
        path: dict[str, Any], query: dict[str, str], body: tuple[str, Any], head: dict[str, str]
    ) -> None:
        token = open_token(fuzz_engine, fuzz_world, "agent")
        http.cookies.clear()
        http.cookies.set(cookie_name, token)
        error_log.records.clear()
        before = _counts(fuzz_engine)
        url = _path(template, path)
        answer = (
            _send(http, method, url, body, {"origin": ORIGIN, **head})
            if method != "GET"
            else (http.get(url, params=query, headers={"origin": ORIGIN, **head}))
        )
        # A readiness probe says 503 by design when it is not ready (this database was not
        # built by the migrations); every other 5xx is a crash.
        ready_probe = template == "/readyz" and answer.status_code == 503
        assert answer.status_code < 500 or ready_probe, (
            method,
            url,
            answer.status_code,
            answer.text[:300],
        )
        assert "Traceback" not in answer.text
        if answer.status_code >= 400:
            after = _counts(fuzz_engine)
            changed = {t for t in before if before[t] != after[t]} - set(MAY_CHANGE_ON_ERROR)
            assert not changed, (method, url, answer.status_code, answer.text[:200], changed)
        assert not error_log.records, [
            (r.getMessage(), r.exc_info and repr(r.exc_info[1])) for r in error_log.records
        ]

    run()
