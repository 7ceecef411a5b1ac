"""Documents through the REST API: staff list, read, change and delete; outside parties see
only what is shared with them; another brokerage sees nothing; the download link works for
its user only. And the whole upload → download path with the S3 backend (moto's server over
HTTP): the file route answers with a redirect to a presigned URL that serves the bytes."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from starlette.testclient import TestClient

from chronos import db as chronos_db
from chronos import settings
from chronos.models import Participant, Person
from chronos.services import documents
from tests.integration.test_api import ORIGIN, _signed_in, api  # noqa: F401  (fixture)
from tests.support import pdfs
from tests.support.s3 import local_s3


def _seed(api: dict[str, Any]) -> dict[str, int]:  # noqa: F811  (the fixture's value)
    from sqlmodel import select

    from chronos.models import User

    with chronos_db.session_scope() as db:
        users = {u.email.split("@")[0]: u for u in db.exec(select(User)).all()}
        deal = api["ids"]["deal"]
        # Put the client, attorney and lender on the deal with their logins.
        for role in ("client", "attorney", "lender"):
            user = users[role]
            person = db.exec(select(Person).where(Person.email == user.email)).first()
            if person is None:
                person = Person(
                    org_id=user.org_id,
                    first_name=role,
                    last_name="H",
                    email=user.email,
                    user_id=user.id,
                )
                db.add(person)
                db.flush()
            person.user_id = user.id
            exists = db.exec(
                select(Participant).where(
                    Participant.transaction_id == deal, Participant.user_id == user.id
                )
            ).first()
            if exists is None:
                db.add(
                    Participant(
                        org_id=user.org_id,
                        transaction_id=deal,
                        person_id=person.id,
                        user_id=user.id,
                        role="buyer" if role == "client" else role,
                    )
                )
        db.flush()
        agent = users["agent"]
        internal = documents.upload(
            db, agent, deal, "net.pdf", pdfs.make_pdf(["Net"]), title="Net sheet"
        )
        shared = documents.upload(
            db,
            agent,
            deal,
            "offer.pdf",
            pdfs.make_pdf(["Offer"]),
            title="Signed offer",
            share=documents.Share(client=True),
        )
        return {"internal": internal.id or 0, "shared": shared.id or 0}


def _titles(client: TestClient, deal: int) -> set[str]:
    r = client.get(f"/api/v1/transactions/{deal}/documents")
    assert r.status_code == 200, r.text
    return {d["title"] for d in r.json()["items"]}


def test_documents_by_persona(api: dict[str, Any]) -> None:  # noqa: F811
    ids = _seed(api)
    deal = api["ids"]["deal"]
    for who in ("agent", "admin"):
        assert _titles(_signed_in(api, who), deal) == {"Net sheet", "Signed offer"}
    assert _titles(_signed_in(api, "client"), deal) == {"Signed offer"}
    for who in ("attorney", "lender"):
        assert _titles(_signed_in(api, who), deal) == set()
    for who in ("agent2", "outsider"):
        assert _signed_in(api, who).get(f"/api/v1/transactions/{deal}/documents").status_code == 404
    client = _signed_in(api, "client")
    assert client.get(f"/api/v1/documents/{ids['internal']}").status_code == 404
    got = client.get(f"/api/v1/documents/{ids['shared']}").json()
    assert got["title"] == "Signed offer" and len(got["versions"]) == 1
    # The link works for the client, and only with the client's session.
    assert client.get(got["download_url"]).content.startswith(b"%PDF")
    other = _signed_in(api, "agent")
    assert other.get(got["download_url"]).status_code == 403
    # Outside parties change nothing.
    client = _signed_in(api, "client")
    r = client.patch(
        f"/api/v1/documents/{ids['shared']}", json={"title": "Mine"}, headers={"Origin": ORIGIN}
    )
    assert r.status_code == 403
    assert (
        client.delete(f"/api/v1/documents/{ids['shared']}", headers={"Origin": ORIGIN}).status_code
        == 403
    )


def test_staff_change_sharing_and_delete_through_the_api(api: dict[str, Any]) -> None:  # noqa: F811
    ids = _seed(api)
    agent = _signed_in(api, "agent")
    r = agent.patch(
        f"/api/v1/documents/{ids['internal']}",
        json={"share": {"lender": True}, "title": "Net sheet v2"},
        headers={"Origin": ORIGIN},
    )
    assert r.status_code == 200, r.text
    assert r.json()["sharing"] == "Shared with lender"
    assert _titles(_signed_in(api, "lender"), api["ids"]["deal"]) == {"Net sheet v2"}
    agent = _signed_in(api, "agent")
    bad = agent.patch(
        f"/api/v1/documents/{ids['internal']}",
        json={"share": "everyone"},
        headers={"Origin": ORIGIN},
    )
    assert bad.status_code == 422
    assert agent.delete(f"/api/v1/documents/{ids['internal']}").status_code == 403  # no Origin
    assert (
        agent.delete(f"/api/v1/documents/{ids['internal']}", headers={"Origin": ORIGIN}).status_code
        == 204
    )
    assert agent.get(f"/api/v1/documents/{ids['internal']}").status_code == 404


@pytest.fixture
def s3_api(api: dict[str, Any], monkeypatch: pytest.MonkeyPatch) -> Iterator[dict[str, Any]]:  # noqa: F811
    with local_s3() as s3:
        for key, value in s3.env().items():
            monkeypatch.setenv(key, value)
        settings.get_settings.cache_clear()
        yield {**api, "s3": s3}
    settings.get_settings.cache_clear()


def test_upload_and_download_through_s3(s3_api: dict[str, Any]) -> None:
    deal = s3_api["ids"]["deal"]
    agent = _signed_in(s3_api, "agent")
    data = pdfs.make_pdf(["Appraisal", "Comparable sales"])
    r = agent.post(
        f"/files/upload?next=/transactions/{deal}",
        data={"transaction_id": str(deal), "category": "appraisal"},
        files=[("file", ("Appraisal.pdf", data, "application/pdf"))],
        headers={"Origin": ORIGIN},
    )
    assert r.status_code == 303
    token = httpx.URL(r.headers["location"]).params["upload"]
    notice = documents.decode_notice(token)
    assert (
        notice is not None and notice["errors"] == [] and notice["saved"][0]["title"] == "Appraisal"
    )
    # The bytes are in the bucket, under an opaque key.
    keys = [
        o["Key"]
        for o in s3_api["s3"].client().list_objects_v2(Bucket=s3_api["s3"].bucket)["Contents"]
    ]
    assert len(keys) == 1 and "Appraisal" not in keys[0]
    got = agent.get(f"/api/v1/documents/{notice['saved'][0]['id']}").json()
    r = agent.get(got["download_url"])
    assert r.status_code == 302 and r.headers["location"].startswith(s3_api["s3"].endpoint_url)
    served = httpx.get(r.headers["location"])
    assert served.status_code == 200 and served.content == data
    assert 'filename="Appraisal.pdf"' in served.headers["content-disposition"]
    # The page preview is rendered from the S3 object and cached beside it.
    preview = agent.get(documents.file_link(_user_id(agent), got["version_id"], page=1, width=480))
    assert preview.status_code == 200 and preview.content.startswith(b"\x89PNG")


def _user_id(client: TestClient) -> int:
    me = client.get("/api/v1/me").json()
    return int(me["id"])
