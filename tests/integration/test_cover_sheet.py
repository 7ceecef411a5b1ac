"""A file's summary PDF, on SQLite and PostgreSQL: read back with pypdf, it holds the property,
parties, dates, open tasks and missing documents for staff; the client version and an outside
party's own copy leave internal matter out; strangers get nothing."""

# The tests take the imported ``files`` fixture by name (F811 is pytest's idiom here).
# ruff: noqa: F811
from __future__ import annotations

import io

import pytest
from pypdf import PdfReader
from sqlmodel import Session

from chronos.services import cover_sheet, key_dates, tasks
from chronos.services.errors import NotFound, PermissionDenied, ValidationFailed
from tests.factories import make_transaction
from tests.integration.test_file_routes import (  # noqa: F401  (files: the fixture)
    Files,
    files,
)


def _text(data: bytes) -> str:
    return " ".join((page.extract_text() or "") for page in PdfReader(io.BytesIO(data)).pages)


def _prepare(files: Files) -> None:
    w = files.world
    with Session(files.engine, expire_on_commit=False) as db:
        tasks.create_task(
            db, w.agent, w.deal.id or 0, {"title": "Chase the survey", "notes": "Secret: low offer"}
        )
        key_dates.apply_preset(db, w.agent, w.deal.id or 0, "generic_financed")
        db.commit()


def test_staff_get_the_whole_summary(files: Files) -> None:
    _prepare(files)
    w = files.world
    with Session(files.engine) as db:
        sheet = cover_sheet.cover_sheet(db, w.agent, w.deal.id or 0)
    text = _text(sheet.data)
    assert sheet.data.startswith(b"%PDF") and sheet.filename.startswith("summary-12-harbor")
    for expected in (
        "Harbor Realty",
        "12 Harbor View Rd",
        "$450,000",
        "Parties",
        "Cora Client",
        "Sally Seller",
        "sally.seller@example.com",
        "Key dates",
        "Open tasks",
        "Chase the survey",
        "Documents still needed for closing",
    ):
        assert expected in text, expected


def test_the_client_version_and_the_clients_own_copy_leave_internal_matter_out(
    files: Files,
) -> None:
    _prepare(files)
    w = files.world
    with Session(files.engine) as db:
        made_by_staff = _text(
            cover_sheet.cover_sheet(db, w.agent, w.deal.id or 0, audience="client").data
        )
        clients_own = _text(cover_sheet.cover_sheet(db, w.client, w.deal.id or 0).data)
    for text in (made_by_staff, clients_own):
        assert "12 Harbor View Rd" in text and "Cora Client" in text
        assert "Chase the survey" not in text and "Secret" not in text
        assert "Documents still needed" not in text
        assert "sally.seller@example.com" not in text  # the other side's contact details
        assert "client version" in text


@pytest.mark.parametrize("who", ["agent2", "client2", "outsider_admin", "outsider_agent"])
def test_strangers_to_the_file_get_nothing(files: Files, who: str) -> None:
    with Session(files.engine) as db, pytest.raises(NotFound):
        cover_sheet.cover_sheet(db, files.world.user(who), files.world.deal.id or 0)


def test_unicode_names_and_long_addresses_print(files: Files) -> None:
    w = files.world
    street = "1234 Avenue des Érables " + "Prolongée " * 12
    with Session(files.engine, expire_on_commit=False) as db:
        txn = make_transaction(
            db,
            w.agent,
            street=street[:200],
            client_name="Zoë Ñúñez-Łukasz",
            client_email="z@x.example",
        )
        db.commit()
        text = _text(cover_sheet.cover_sheet(db, w.agent, txn.id or 0).data)
    assert "Zoë Ñúñez" in text and "Érables" in text
    with Session(files.engine) as db, pytest.raises(ValidationFailed):
        cover_sheet.cover_sheet(db, w.agent, txn.id or 0, audience="everyone")


def test_the_route(files: Files) -> None:
    txn_id = files.world.deal.id
    r = files.as_("agent").get(f"/api/v1/transactions/{txn_id}/summary.pdf")
    assert r.status_code == 200 and r.headers["content-type"] == "application/pdf"
    assert r.headers["content-disposition"].startswith("inline; filename=")
    r = files.as_("agent").get(f"/api/v1/transactions/{txn_id}/summary.pdf?audience=client")
    assert r.status_code == 200 and "Chase" not in _text(r.content)
    assert files.as_("client2").get(f"/api/v1/transactions/{txn_id}/summary.pdf").status_code == 404
    assert files.as_(None).get(f"/api/v1/transactions/{txn_id}/summary.pdf").status_code == 401
    too_big = files.as_("agent").get("/api/v1/transactions/99999999999999999999/summary.pdf")
    assert too_big.status_code == 404
    foreign = files.as_("agent").get(
        f"/api/v1/transactions/{txn_id}/summary.pdf", headers={"Origin": "https://evil.example"}
    )
    assert foreign.status_code == 403


def test_an_admin_chooses_and_orders_the_sections(files: Files) -> None:
    _prepare(files)
    w = files.world
    with Session(files.engine) as db:
        defaults = cover_sheet.section_settings(db, w.admin)
        assert [s.key for s in defaults] == list(cover_sheet.SECTIONS)
        assert all(s.included for s in defaults)
        cover_sheet.save_sections(db, w.admin, ["key_dates", "missing_documents", "parties"])
        db.commit()
    with Session(files.engine) as db:
        settings = cover_sheet.section_settings(db, w.admin)
        assert [(s.key, s.included) for s in settings] == [
            ("key_dates", True),
            ("missing_documents", True),
            ("parties", True),
            ("open_tasks", False),
        ]
        text = _text(cover_sheet.cover_sheet(db, w.agent, w.deal.id or 0).data)
        client = _text(cover_sheet.cover_sheet(db, w.client, w.deal.id or 0).data)
    assert text.index("Key dates") < text.index("Documents still needed") < text.index("Parties")
    assert "Open tasks" not in text and "Chase the survey" not in text
    # A staff-only section chosen by the admin still never reaches the client version.
    assert client.index("Key dates") < client.index("Parties")
    assert "Documents still needed" not in client
    # The heading always prints, even with no section chosen.
    with Session(files.engine) as db:
        cover_sheet.save_sections(db, w.admin, [])
        db.commit()
        bare = _text(cover_sheet.cover_sheet(db, w.agent, w.deal.id or 0).data)
    assert "12 Harbor View Rd" in bare and "$450,000" in bare and "Parties" not in bare


@pytest.mark.parametrize(
    "keys, message",
    [
        (["parties", "parties"], "once"),
        (["parties", "secret_notes"], "no section called"),
        ("parties,key_dates", "list"),
        ([1, 2], "list"),
        (None, "list"),
    ],
)
def test_bad_section_choices_are_refused_and_change_nothing(
    files: Files, keys: object, message: str
) -> None:
    w = files.world
    with Session(files.engine) as db:
        with pytest.raises(ValidationFailed) as caught:
            cover_sheet.save_sections(db, w.admin, keys)
        assert message in str(caught.value.errors["sections"])
        db.rollback()
        assert all(s.included for s in cover_sheet.section_settings(db, w.admin))


@pytest.mark.parametrize("who", ["agent", "coordinator", "client", "attorney", "lender"])
def test_only_an_admin_chooses_the_sections(files: Files, who: str) -> None:
    w = files.world
    with Session(files.engine) as db:
        with pytest.raises(PermissionDenied):
            cover_sheet.section_settings(db, w.user(who))
        with pytest.raises(PermissionDenied):
            cover_sheet.save_sections(db, w.user(who), ["parties"])


def test_another_brokerages_admin_changes_only_their_own(files: Files) -> None:
    w = files.world
    with Session(files.engine) as db:
        cover_sheet.save_sections(db, w.outsider_admin, ["parties"])
        db.commit()
    with Session(files.engine) as db:
        assert all(s.included for s in cover_sheet.section_settings(db, w.admin))
