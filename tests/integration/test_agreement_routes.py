"""``POST /files/agreement``: staff only (refused before the body is read), origin-checked,
at most 4 addenda, the upload checks first; the browser comes back to /transactions/new with
a signed token bound to the uploader, or a signed notice saying why not, and nothing is put on
any transaction."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
from sqlmodel import select
from starlette.testclient import TestClient

from chronos import db as chronos_db
from chronos import migrate, settings
from chronos.api import agreement_routes
from chronos.models import Document, Transaction
from chronos.services import agreement_intake, auth, documents
from chronos.services.errors import PermissionDenied
from tests.support import agreements, pdfs

PASSWORD = "correct-horse-battery"
ORIGIN = "http://testserver"


@pytest.fixture
def api(tmp_path: Any, monkeypatch: pytest.MonkeyPatch) -> Iterator[TestClient]:
    monkeypatch.setenv("CHRONOS_VAR_DIR", str(tmp_path))
    monkeypatch.setenv("DATABASE_URL", f"sqlite:///{tmp_path / 'api.db'}")
    monkeypatch.setenv("CHRONOS_SECRET_KEY", "agreement-routes-test-secret")
    settings.get_settings.cache_clear()
    chronos_db.get_engine.cache_clear()
    migrate.upgrade()
    with chronos_db.session_scope() as db:
        org = auth.create_organization(db, name="Harbor", slug="harbor")
        for role in ("agent", "coordinator", "client", "attorney", "lender"):
            user = auth.create_user(
                db,
                org_id=org.id or 0,
                email=f"{role}@h.example",
                full_name=f"{role.title()} H",
                role=role,
                password=PASSWORD,
            )
            user.email_verified_at = user.created_at
    from chronos.api.app import create_api

    yield TestClient(create_api(), base_url=ORIGIN, follow_redirects=False)
    settings.get_settings.cache_clear()
    chronos_db.get_engine.cache_clear()


def _sign_in(client: TestClient, email: str) -> TestClient:
    client.cookies.clear()
    r = client.post(
        "/auth/sign-in", data={"email": email, "password": PASSWORD}, headers={"Origin": ORIGIN}
    )
    assert r.status_code == 303, r.text
    return client


def _post(client: TestClient, agreement: bytes, addenda: int = 0, **kw: Any) -> Any:
    files = [("file", ("contract.pdf", agreement, "application/pdf"))]
    files += [
        (
            "addenda",
            (
                f"addendum{i}.pdf",
                agreements.addendum(f"Closing Date: 04/2{i}/2026"),
                "application/pdf",
            ),
        )
        for i in range(addenda)
    ]
    return client.post(
        "/files/agreement", files=files, headers=kw.get("headers", {"Origin": ORIGIN})
    )


def _query(response: Any) -> dict[str, str]:
    assert response.status_code == 303, response.text
    location = urlsplit(response.headers["location"])
    assert location.path == "/transactions/new"
    return {k: v[0] for k, v in parse_qs(location.query).items()}


def _errors(response: Any) -> list[str]:
    notice = documents.decode_notice(_query(response)["upload"])
    assert notice is not None
    return list(notice["errors"])


def _nothing_on_any_file() -> None:
    with chronos_db.session_scope() as db:
        assert db.exec(select(Transaction)).all() == []
        assert db.exec(select(Document)).all() == []


@pytest.mark.parametrize("email", ["agent@h.example", "coordinator@h.example"])
def test_staff_upload_an_agreement_and_come_back_with_its_token(
    api: TestClient, email: str
) -> None:
    client = _sign_in(api, email)
    query = _query(_post(client, agreements.fillable_agreement(), addenda=2))
    with chronos_db.session_scope() as db:
        user = auth.resolve_session(db, client.cookies.get("chronos_session"))
        staged = agreement_intake.open_staged(db, user, query["agreement"])
        assert [name for _, name in staged.files] == [
            "contract.pdf",
            "addendum0.pdf",
            "addendum1.pdf",
        ]
        assert staged.reading.proposals["price"].value == "450000.00"
        other = auth.resolve_session(
            db,
            _sign_in(
                api, "coordinator@h.example" if email.startswith("agent") else "agent@h.example"
            ).cookies.get("chronos_session"),
        )
        with pytest.raises(PermissionDenied):
            agreement_intake.open_staged(db, other, query["agreement"])
    _nothing_on_any_file()


@pytest.mark.parametrize("who", ["client", "attorney", "lender"])
def test_outside_parties_are_refused_before_anything_is_read(api: TestClient, who: str) -> None:
    client = _sign_in(api, f"{who}@h.example")
    assert _errors(_post(client, agreements.fillable_agreement())) == [
        "Only brokerage staff start a transaction from an agreement."
    ]
    _nothing_on_any_file()


def test_more_than_four_addenda_are_refused(api: TestClient) -> None:
    client = _sign_in(api, "agent@h.example")
    [error] = _errors(_post(client, agreements.fillable_agreement(), addenda=5))
    assert "4 addenda" in error


def test_a_photo_or_garbage_is_refused_in_words(api: TestClient) -> None:
    client = _sign_in(api, "agent@h.example")
    [error] = _errors(_post(client, pdfs.jpeg()))
    assert "its content is a JPEG photo" in error
    [error] = _errors(_post(client, b"%PDF-1.4 this is not really a pdf"))
    assert error
    r = client.post(
        "/files/agreement",
        files={"file": ("", b"", "application/pdf")},
        headers={"Origin": ORIGIN},
    )
    assert _errors(r) == ["Choose the signed purchase agreement (a PDF)."]
    r = client.post("/files/agreement", data={"x": "1"}, headers={"Origin": ORIGIN})
    assert _errors(r) == [agreement_routes.UNREADABLE]


def test_signed_out_and_cross_origin_posts_are_refused(api: TestClient) -> None:
    api.cookies.clear()
    r = _post(api, agreements.fillable_agreement())
    assert r.status_code == 303 and "/sign-in" in r.headers["location"]
    client = _sign_in(api, "agent@h.example")
    r = _post(client, agreements.fillable_agreement(), headers={"Origin": "https://evil.example"})
    assert r.status_code == 403
