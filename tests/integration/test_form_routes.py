"""The form-template upload route and its preview: admins only, origin-checked, outcomes
carried back in a signed notice, nothing stored on a refusal."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
from sqlmodel import select
from starlette.testclient import TestClient

from chronos import db as chronos_db
from chronos import migrate, settings
from chronos.models import FormTemplate
from chronos.services import auth, documents, forms
from tests.support.pdfs import make_form_pdf, make_pdf

PASSWORD = "correct-horse-battery"
ORIGIN = "http://testserver"


@pytest.fixture
def api(tmp_path: Any, monkeypatch: pytest.MonkeyPatch) -> Iterator[TestClient]:
    monkeypatch.setenv("CHRONOS_VAR_DIR", str(tmp_path))
    monkeypatch.setenv("DATABASE_URL", f"sqlite:///{tmp_path / 'api.db'}")
    monkeypatch.setenv("CHRONOS_SECRET_KEY", "form-routes-test-secret")
    settings.get_settings.cache_clear()
    chronos_db.get_engine.cache_clear()
    migrate.upgrade()
    with chronos_db.session_scope() as db:
        org = auth.create_organization(db, name="Harbor", slug="harbor")
        other = auth.create_organization(db, name="Summit", slug="summit")
        for role in ("admin", "agent", "client"):
            auth.create_user(
                db,
                org_id=org.id or 0,
                email=f"{role}@h.example",
                full_name=f"{role.title()} H",
                role=role,
                password=PASSWORD,
            )
        auth.create_user(
            db,
            org_id=other.id or 0,
            email="admin@s.example",
            full_name="Outsider",
            role="admin",
            password=PASSWORD,
        )
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


def _post(client: TestClient, data: bytes, name: str = "Purchase agreement", **kw: Any) -> Any:
    return client.post(
        "/files/form-template",
        data={"name": name, "category": "contract"},
        files={"file": ("purchase.pdf", data, "application/pdf")},
        headers=kw.get("headers", {"Origin": ORIGIN}),
    )


def _notice(response: Any) -> dict[str, Any]:
    assert response.status_code == 303
    location = urlsplit(response.headers["location"])
    assert location.path == "/admin/forms"
    notice = documents.decode_notice(parse_qs(location.query)["upload"][0])
    assert notice is not None
    return notice


def _templates() -> list[FormTemplate]:
    with chronos_db.session_scope() as db:
        return list(db.exec(select(FormTemplate)).all())


def test_an_admin_uploads_a_fillable_pdf(api: TestClient) -> None:
    client = _sign_in(api, "admin@h.example")
    notice = _notice(_post(client, make_form_pdf(["Buyer Name", "Purchase Price"])))
    assert notice["errors"] == []
    assert notice["saved"][0]["title"] == "Purchase agreement"
    assert notice["saved"][0]["fields"] == 2
    [tpl] = _templates()
    assert tpl.mapping == {"Buyer Name": "buyer_names", "Purchase Price": "price"}
    # its preview: a signed link bound to this admin
    with chronos_db.session_scope() as db:
        admin = auth.resolve_session(db, client.cookies.get("chronos_session"))
        assert admin is not None
        link = forms.preview_link(admin.id or 0, tpl.id or 0)
    r = client.get(link)
    assert r.status_code == 200 and r.headers["content-type"] == "image/png"
    assert r.content[:8] == b"\x89PNG\r\n\x1a\n"
    assert client.get(link.replace("&s=", "&s=x")).status_code == 403
    other = _sign_in(api, "admin@s.example")
    assert other.get(link).status_code == 403  # bound to the first admin's session


def test_a_pdf_without_fields_comes_back_as_an_error(api: TestClient) -> None:
    client = _sign_in(api, "admin@h.example")
    notice = _notice(_post(client, make_pdf(["flat"])))
    assert notice["errors"][0].startswith("This PDF has no fillable fields: purchase.pdf")
    assert _templates() == []


@pytest.mark.parametrize("email", ["agent@h.example", "client@h.example"])
def test_non_admins_are_refused(api: TestClient, email: str) -> None:
    client = _sign_in(api, email)
    notice = _notice(_post(client, make_form_pdf(["Buyer Name"])))
    assert notice["errors"] == [forms.ADMINS_ONLY]
    assert _templates() == []


def test_signed_out_and_cross_origin_posts_are_refused(api: TestClient) -> None:
    api.cookies.clear()
    r = _post(api, make_form_pdf(["Buyer Name"]))
    assert r.status_code == 303 and "/sign-in" in r.headers["location"]
    client = _sign_in(api, "admin@h.example")
    r = _post(client, make_form_pdf(["Buyer Name"]), headers={"Origin": "https://evil.example"})
    assert r.status_code == 403
    assert _templates() == []
