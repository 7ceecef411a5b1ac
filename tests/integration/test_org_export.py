"""The whole-brokerage export, on SQLite and PostgreSQL: every table of the organization and
every document version in one ZIP with a README, nothing of another brokerage, no secrets;
the admin's button (a job that emails a signed link) and the link's rules."""

# The tests take the imported ``files`` fixture by name (F811 is pytest's idiom here).
# ruff: noqa: F811
from __future__ import annotations

import csv
import io
import zipfile
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
from sqlmodel import Session, select
from starlette.testclient import TestClient

from chronos import db as chronos_db
from chronos.models import EmailMessage, SecurityEvent
from chronos.services import documents, messages, org_export, tasks
from chronos.services.errors import Conflict, NotFound, PermissionDenied
from chronos.services.files import inspect_upload
from tests.integration.test_file_routes import (  # noqa: F401  (files: the fixture)
    Files,
    files,
)
from tests.support.pdfs import make_pdf


@pytest.fixture(autouse=True)
def own_exports_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    folder = tmp_path / "exports"
    monkeypatch.setattr(org_export, "exports_dir", lambda: folder)
    return folder


def _csv(zf: zipfile.ZipFile, name: str) -> list[dict[str, str]]:
    return list(csv.DictReader(io.StringIO(zf.read(name).decode("utf-8"))))


def _archive(files: Files, tmp_path: Path, org_id: int) -> zipfile.ZipFile:
    out = tmp_path / "export.zip"
    with Session(files.engine) as db:
        summary = org_export.export_to_path(db, org_id, out)
    assert summary.tables["transactions"] >= 2 and summary.documents >= 1
    return zipfile.ZipFile(out)


def test_the_archive_holds_the_brokerage_and_nothing_else(files: Files, tmp_path: Path) -> None:
    w = files.world
    with Session(files.engine, expire_on_commit=False) as db:
        tasks.create_task(db, w.agent, w.deal.id or 0, {"title": "=cmd|' /C calc'!A0"})
        messages.start_thread(
            db, w.agent, w.deal.id or 0, subject="Inspection", body="Thursday?", internal=True
        )
        db.commit()
    zf = _archive(files, tmp_path, w.harbor.id or 0)
    names = set(zf.namelist())
    for expected in (
        "README.md",
        "organization.csv",
        "transactions.csv",
        "participants.csv",
        "people.csv",
        "key_dates.csv",
        "tasks.csv",
        "events.csv",
        "messages.csv",
        "email_messages.csv",
        "documents.csv",
        "document_versions.csv",
        "document_slots.csv",
        "signature_requests.csv",
        "signature_signers.csv",
        "users.csv",
    ):
        assert expected in names, expected
    assert not names & {"sessions.csv", "account_tokens.csv", "idempotency_keys.csv"}
    txn_ids = {r["id"] for r in _csv(zf, "transactions.csv")}
    assert {str(w.deal.id), str(w.other_deal.id)} <= txn_ids
    assert str(w.outside_deal.id) not in txn_ids
    assert {r["org_id"] for r in _csv(zf, "people.csv")} == {str(w.harbor.id)}
    users = _csv(zf, "users.csv")
    assert "password_hash" not in users[0] and "totp_secret" not in users[0]
    assert "olga.admin@summit.example.com" not in {u["email"] for u in users}
    assert any(r["title"] == "'=cmd|' /C calc'!A0" for r in _csv(zf, "tasks.csv"))
    assert [r["subject"] for r in _csv(zf, "message_threads.csv")] == ["Inspection"]
    # Every document version's bytes, in a folder per transaction.
    versions = _csv(zf, "document_versions.csv")
    stored = [n for n in names if n.startswith("documents/")]
    assert len(stored) == len(versions) >= 1
    first = versions[0]
    with Session(files.engine) as db:
        doc = db.get(documents.Document, int(first["document_id"]))
        assert doc is not None
        match = [n for n in stored if n.startswith(f"documents/{doc.transaction_id}/{doc.id}-v")]
        assert match and zf.read(match[0]).startswith(b"%PDF")
    readme = zf.read("README.md").decode()
    assert "## transactions.csv" in readme and "→ transactions.csv `id`" in readme
    assert "passwords" in readme


def test_an_unknown_brokerage_is_refused(files: Files, tmp_path: Path) -> None:
    with Session(files.engine) as db, pytest.raises(NotFound):
        org_export.export_to_path(db, 999_999, tmp_path / "x.zip")
    assert not (tmp_path / "x.zip").exists() and not (tmp_path / "x.zip.part").exists()


@pytest.mark.parametrize("who", ["agent", "coordinator", "client", "attorney", "lender"])
def test_only_admins_may_export(files: Files, who: str) -> None:
    with Session(files.engine) as db, pytest.raises(PermissionDenied):
        org_export.request_export(db, files.world.user(who))


def _build(files: Files, who: str = "admin") -> str:
    with chronos_db.session_scope(files.engine) as db:
        name = org_export.request_export(db, files.world.user(who))
    org_export.build(name, engine=files.engine)
    return name


def test_the_button_builds_emails_a_link_and_the_link_is_the_admins_alone(
    files: Files, monkeypatch: pytest.MonkeyPatch
) -> None:
    import chronos.jobs

    monkeypatch.setattr(chronos.jobs, "enqueue_delivery", lambda _id: None)
    _build(files)
    admin = files.world.admin
    (row,) = org_export.list_exports(admin)
    assert row.state == "ready" and row.link and "rows" in row.detail
    with Session(files.engine) as db:
        mail = db.exec(select(EmailMessage).where(EmailMessage.template == "export_ready")).one()
        assert mail.to_address == admin.email
        kinds = [e.kind for e in db.exec(select(SecurityEvent)).all()]
    assert "data_exported" in kinds
    link = next(part for part in mail.text_body.split() if "/files/exports/" in part)
    path = urlsplit(link).path + "?" + urlsplit(link).query

    http: TestClient = files.as_("admin")
    got = http.get(path)
    assert got.status_code == 200 and got.headers["content-type"] == "application/zip"
    assert "README.md" in zipfile.ZipFile(io.BytesIO(got.content)).namelist()
    # Another admin, another brokerage's admin, a signed-out browser, a changed signature.
    assert files.as_("outsider_admin").get(path).status_code == 403
    assert files.as_(None).get(path).status_code == 303
    query = parse_qs(urlsplit(path).query)
    forged = path.replace(query["s"][0], "A" * len(query["s"][0]))
    assert files.as_("admin").get(forged).status_code == 403
    later = path.replace(f"e={query['e'][0]}", f"e={int(query['e'][0]) + 1}")
    assert files.as_("admin").get(later).status_code == 403
    foreign = files.as_("admin").get(path, headers={"Origin": "https://evil.example"})
    assert foreign.status_code == 403


def test_a_second_export_waits_for_the_first(files: Files) -> None:
    with chronos_db.session_scope(files.engine) as db:
        org_export.request_export(db, files.world.admin)
    with chronos_db.session_scope(files.engine) as db, pytest.raises(Conflict):
        org_export.request_export(db, files.world.admin)


def test_an_admin_who_lost_the_role_gets_no_export(files: Files) -> None:
    from chronos.models import User

    with chronos_db.session_scope(files.engine) as db:
        name = org_export.request_export(db, files.world.admin)
        user = db.get(User, files.world.admin.id)
        assert user is not None
        user.role = "agent"
    org_export.build(name, engine=files.engine)
    assert not (org_export.exports_dir() / f"{name}.zip").exists()
    status: dict[str, Any] = org_export._read_status(name)
    assert status["state"] == "failed" and "no longer an admin" in status["detail"]


def test_documents_added_later_are_in_a_later_export(files: Files, tmp_path: Path) -> None:
    w = files.world
    data = make_pdf(["Late addendum"])
    with Session(files.engine, expire_on_commit=False) as db:
        documents.add_document(
            db, w.agent, w.deal, inspect_upload("addendum.pdf", data, max_bytes=10**7), data
        )
        db.commit()
    zf = _archive(files, tmp_path, w.harbor.id or 0)
    assert any(n.endswith("-addendum.pdf") for n in zf.namelist())
