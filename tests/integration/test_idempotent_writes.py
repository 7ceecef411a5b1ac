"""Idempotent writes over HTTP, on SQLite and PostgreSQL: the REST API's ``Idempotency-Key``
header (same key + same body → the first response; another body → 422) and the upload form's
key (a repeated POST of the same files saves nothing twice)."""

# The tests take the imported ``files`` fixture by name (F811 is pytest's idiom here).
# ruff: noqa: F811
from __future__ import annotations

import json
from typing import Any

import pytest
from sqlmodel import Session, func, select

from chronos.models import Document, DocumentVersion, Person, Transaction
from tests.integration.test_file_routes import (  # noqa: F401  (files: the fixture)
    ORIGIN,
    Files,
    _notice,
    _upload,
    files,
)
from tests.support.pdfs import make_pdf

BODY = {"side": "buyer", "street": "77 Retry Rd", "city": "Boston", "state": "MA"}


def _count(files: Files, model: Any) -> int:
    with Session(files.engine) as db:
        return int(db.exec(select(func.count()).select_from(model)).one())


def _post(files: Files, who: str, path: str, body: Any, key: Any) -> Any:
    headers: dict[str, Any] = {"Origin": ORIGIN, "Content-Type": "application/json"}
    if key is not None:
        headers["Idempotency-Key"] = key
    raw = body if isinstance(body, bytes) else json.dumps(body).encode()
    return files.as_(who).post(path, content=raw, headers=headers)


def test_a_retried_create_returns_the_first_response_and_makes_one(files: Files) -> None:
    before = _count(files, Transaction)
    first = _post(files, "agent", "/api/v1/transactions", BODY, "create-77")
    assert first.status_code == 201, first.text
    again = _post(files, "agent", "/api/v1/transactions", BODY, "create-77")
    assert again.status_code == 201
    assert again.json() == first.json()
    assert again.headers["Idempotent-Replayed"] == "true"
    assert "Idempotent-Replayed" not in first.headers
    assert _count(files, Transaction) == before + 1


def test_the_same_key_with_another_body_is_refused(files: Files) -> None:
    _post(files, "agent", "/api/v1/transactions", BODY, "create-78")
    before = _count(files, Transaction)
    r = _post(files, "agent", "/api/v1/transactions", {**BODY, "street": "78 Other"}, "create-78")
    assert r.status_code == 422
    assert "already used for a different request" in r.json()["fields"]["Idempotency-Key"]
    assert _count(files, Transaction) == before


def test_keys_are_per_user_and_per_route(files: Files) -> None:
    before = _count(files, Transaction)
    a = _post(files, "agent", "/api/v1/transactions", BODY, "k")
    b = _post(files, "coordinator", "/api/v1/transactions", BODY, "k")
    assert a.status_code == b.status_code == 201 and a.json()["id"] != b.json()["id"]
    person = {"first_name": "Kay", "last_name": "Same"}
    p = _post(files, "agent", "/api/v1/people", person, "k")
    assert p.status_code == 201
    assert _count(files, Transaction) == before + 2


def test_without_a_key_each_post_creates(files: Files) -> None:
    before = _count(files, Person)
    person = {"first_name": "No", "last_name": "Key"}
    assert _post(files, "agent", "/api/v1/people", person, None).status_code == 201
    assert _post(files, "agent", "/api/v1/people", person, None).status_code == 201
    assert _count(files, Person) == before + 2


@pytest.mark.parametrize("key", ["has space", "x" * 256, "café".encode("latin-1")])
def test_a_malformed_key_is_refused_and_nothing_saved(files: Files, key: Any) -> None:
    before = _count(files, Transaction)
    r = _post(files, "agent", "/api/v1/transactions", BODY, key)
    assert r.status_code == 422
    assert "printable" in r.json()["fields"]["Idempotency-Key"]
    assert _count(files, Transaction) == before


def test_a_refused_request_does_not_use_up_its_key(files: Files) -> None:
    bad = _post(files, "agent", "/api/v1/transactions", {"side": "buyer"}, "fix-then-retry")
    assert bad.status_code == 422 and "street" in bad.json()["fields"]
    # The corrected request may reuse the key: nothing was recorded for the refused one.
    good = _post(files, "agent", "/api/v1/transactions", BODY, "fix-then-retry")
    assert good.status_code == 201


def test_another_users_key_replays_nothing_of_theirs(files: Files) -> None:
    """A key is only ever answered for the user who sent it: the client cannot read the
    agent's response by guessing the agent's key."""
    _post(files, "agent", "/api/v1/transactions", BODY, "guessable")
    r = _post(files, "client", "/api/v1/transactions", BODY, "guessable")
    assert r.status_code == 403


def test_a_repeated_upload_with_its_form_key_saves_once(files: Files) -> None:
    docs, versions = _count(files, Document), _count(files, DocumentVersion)
    parts = [("Pay stub.pdf", make_pdf(["Pay stub"])), ("W2.pdf", make_pdf(["W2 2025"]))]
    first = _notice(_upload(files, "client", parts, extra={"once_key": "upload-form-1"}))
    assert [s["title"] for s in first["saved"]] == ["Pay stub", "W2"]
    again = _notice(_upload(files, "client", parts, extra={"once_key": "upload-form-1"}))
    assert again["saved"] == first["saved"] and again["errors"] == []
    assert (_count(files, Document), _count(files, DocumentVersion)) == (docs + 2, versions + 2)
    # Without the key the same files are refused as duplicates, as before.
    plain = _notice(_upload(files, "client", parts))
    assert plain["saved"] == [] and len(plain["errors"]) == 2
