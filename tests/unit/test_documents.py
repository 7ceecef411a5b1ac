"""The documents service: upload, versions, duplicates, sharing, deletion, signed links and
previews. (The full persona access matrix is tests/unit/test_document_access.py.)"""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlmodel import Session, select

from chronos.models import Document, DocumentVersion, Event, Stage
from chronos.services import documents
from chronos.services.errors import Conflict, NotFound, PermissionDenied, ValidationFailed
from chronos.settings import get_settings
from chronos.storage import get_storage
from tests.factories import World
from tests.support import pdfs


def _stored_files() -> set[Path]:
    root = get_settings().storage_dir
    return {p for p in root.rglob("*") if p.is_file()} if root.exists() else set()


def _upload(db: Session, world: World, name: str = "Offer.pdf", data: bytes | None = None, **kw):
    doc = documents.upload(
        db, world.agent, world.deal.id, name, data or pdfs.make_pdf(["Purchase agreement"]), **kw
    )
    db.commit()
    return doc


def test_upload_stores_bytes_metadata_and_a_timeline_event(db: Session, world: World) -> None:
    data = pdfs.make_pdf(["Purchase agreement", "Addendum"])
    doc = _upload(db, world, "Purchase_Agreement.pdf", data, category="contract")
    version = documents.current_version(db, doc)
    assert doc.title == "Purchase Agreement" and doc.category == "contract"
    assert (version.version, version.page_count, version.size) == (1, 2, len(data))
    assert get_storage().get(version.storage_key) == data
    assert "Purchase_Agreement" not in version.storage_key  # opaque keys
    event = db.exec(select(Event).where(Event.kind == "document_added")).one()
    assert "Purchase Agreement" in event.summary and "2 pages" not in event.summary


def test_a_new_upload_for_the_same_document_is_a_version(db: Session, world: World) -> None:
    doc = _upload(db, world)
    documents.upload(
        db,
        world.agent,
        world.deal.id,
        "Offer v2.pdf",
        pdfs.make_pdf(["Signed offer"]),
        document_id=doc.id,
    )
    db.commit()
    versions = documents.list_versions(db, world.agent, doc.id)
    assert [(v.version, v.is_current) for v in versions] == [(2, True), (1, False)]
    # The older version stays available.
    _, old = documents.get_version(db, world.agent, versions[1].id)
    assert get_storage().get(old.storage_key).startswith(b"%PDF")


def test_duplicates_are_detected_by_content(db: Session, world: World) -> None:
    data = pdfs.make_pdf(["Inspection report"])
    _upload(db, world, "inspection.pdf", data)
    before = _stored_files()
    with pytest.raises(
        Conflict, match="This exact file is already on this transaction: “inspection”, version 1"
    ):
        documents.upload(db, world.agent, world.deal.id, "renamed.pdf", data)
    db.rollback()
    assert _stored_files() == before  # nothing half-saved
    # The same file on another transaction is not a duplicate.
    documents.upload(db, world.agent2, world.other_deal.id, "inspection.pdf", data)
    db.commit()


def test_a_refused_file_saves_nothing(db: Session, world: World) -> None:
    before = _stored_files()
    with pytest.raises(ValidationFailed, match="password-protected"):
        documents.upload(db, world.agent, world.deal.id, "locked.pdf", pdfs.encrypted_pdf())
    db.rollback()
    assert db.exec(select(Document)).all() == []
    assert _stored_files() == before


def test_a_rolled_back_unit_of_work_deletes_the_objects_it_wrote(db: Session, world: World) -> None:
    before = _stored_files()
    documents.upload(db, world.agent, world.deal.id, "a.pdf", pdfs.make_pdf(["A"]))
    assert len(_stored_files()) == len(before) + 1
    db.rollback()
    assert _stored_files() == before
    assert db.exec(select(DocumentVersion)).all() == []


def test_outside_party_upload_is_shared_with_their_role_only(db: Session, world: World) -> None:
    doc = documents.upload(db, world.client, world.deal.id, "id.jpg", pdfs.jpeg())
    db.commit()
    assert (doc.share_client, doc.share_attorney, doc.share_lender) == (True, False, False)
    assert documents.get_document(db, world.client, doc.id).id == doc.id
    with pytest.raises(NotFound):
        documents.get_document(db, world.lender, doc.id)
    with pytest.raises(PermissionDenied):
        documents.upload(
            db, world.client, world.deal.id, "x.jpg", pdfs.jpeg(color="red"), slot_id=1
        )
    with pytest.raises(NotFound):
        documents.upload(db, world.client, world.other_deal.id, "x.jpg", pdfs.jpeg(color="blue"))
    with pytest.raises(PermissionDenied):
        documents.upload(
            db, world.client, world.deal.id, "v2.jpg", pdfs.jpeg(color="green"), document_id=doc.id
        )


def test_outside_parties_cannot_upload_to_a_closed_file(db: Session, world: World) -> None:
    db.get(type(world.deal), world.deal.id).stage = Stage.CANCELLED.value  # type: ignore[union-attr]
    db.commit()
    with pytest.raises(PermissionDenied, match="closed"):
        documents.upload(db, world.client, world.deal.id, "id.jpg", pdfs.jpeg())


def test_sharing_changes_are_recorded(db: Session, world: World) -> None:
    doc = _upload(db, world)
    documents.update_document(
        db,
        world.agent,
        doc.id,
        share=documents.Share(client=True, lender=True),
        title="Signed offer",
    )
    db.commit()
    row = documents.document_row(db, world.agent, doc.id)
    assert row.sharing == "Shared with client and lender" and row.title == "Signed offer"
    event = db.exec(select(Event).where(Event.kind == "document_updated")).one()
    assert "Internal → Shared with client and lender" in event.summary
    with pytest.raises(PermissionDenied):
        documents.update_document(db, world.client, doc.id, title="Mine now")
    with pytest.raises(ValidationFailed):
        documents.update_document(db, world.agent, doc.id, category="nonsense")


def test_delete_removes_rows_and_files_after_commit(db: Session, world: World) -> None:
    doc = _upload(db, world)
    key = documents.current_version(db, doc).storage_key
    documents.delete_document(db, world.agent, doc.id)
    assert get_storage().exists(key)  # not before the commit
    db.commit()
    assert not get_storage().exists(key)
    assert db.exec(select(Document)).all() == []
    with pytest.raises(NotFound):
        documents.delete_document(db, world.agent, doc.id)


def test_delete_removes_the_cached_page_previews_too(db: Session, world: World) -> None:
    doc = _upload(db, world, "two.pdf", pdfs.make_pdf(["page one", "page two"]))
    db.commit()
    version = documents.current_version(db, doc)
    assert version.id is not None
    for page in (1, 2):
        documents.page_preview(db, world.agent, version.id, page, 480)
    previews = [documents.preview_key(version.storage_key, n, 480) for n in (1, 2)]
    assert all(get_storage().exists(k) for k in previews)
    documents.delete_document(db, world.agent, doc.id)
    db.commit()
    assert not any(get_storage().exists(k) for k in [version.storage_key, *previews])


def test_list_searches_titles_names_and_pdf_text(db: Session, world: World) -> None:
    _upload(db, world, "a.pdf", pdfs.make_pdf(["Termite inspection findings"]))
    _upload(db, world, "Appraisal.pdf", pdfs.make_pdf(["Market value"]))
    _upload(db, world, "photo.jpg", pdfs.jpeg())

    def titles(**kw: str) -> list[str]:
        page = documents.list_documents(db, world.agent, world.deal.id, **kw)  # type: ignore[arg-type]
        return [r.title for r in page.items]

    assert titles(q="termite") == ["a"]
    assert titles(q="APPRAISAL") == ["Appraisal"]
    assert set(titles()) == {"a", "Appraisal", "photo"}
    assert documents.list_documents(db, world.agent, world.deal.id).total == 3


def test_signed_links_are_bound_to_user_version_and_time() -> None:
    link = documents.file_link(7, 42, inline=True, now=1000.0, seconds=300)
    path, query = link.split("?")
    assert path == "/files/42"
    params = dict(p.split("=", 1) for p in query.split("&"))
    claims = documents.verify_link(42, params, now=1100.0)
    assert (claims.user_id, claims.version_id, claims.inline) == (7, 42, True)
    with pytest.raises(PermissionDenied, match="expired"):
        documents.verify_link(42, params, now=1301.0)
    with pytest.raises(PermissionDenied, match="not valid"):
        documents.verify_link(43, params, now=1100.0)  # another file
    with pytest.raises(PermissionDenied, match="not valid"):
        documents.verify_link(42, {**params, "u": "8"}, now=1100.0)  # another user
    with pytest.raises(PermissionDenied, match="not valid"):
        documents.verify_link(42, {**params, "m": "a"}, now=1100.0)  # inline → attachment
    with pytest.raises(PermissionDenied, match="not valid"):
        documents.verify_link(42, {**params, "e": "99999999"}, now=1100.0)  # extended
    with pytest.raises(PermissionDenied):
        documents.verify_link(42, {}, now=1100.0)


def test_preview_links_and_page_images(db: Session, world: World) -> None:
    doc = _upload(db, world, "two.pdf", pdfs.make_pdf(["One", "Two"]))
    info = documents.preview_info(db, world.agent, doc.id, width=480)
    assert info.is_pdf and len(info.page_urls) == 2 and info.image_url == ""
    assert info.download_url.startswith(f"/files/{info.version_id}?")
    png = documents.page_preview(db, world.agent, info.version_id, 2, 480)
    assert png.startswith(b"\x89PNG")
    # Cached beside the file: the second call reads the stored PNG.
    key = f"{documents.current_version(db, doc).storage_key}.p2w480.png"
    assert get_storage().get(key) == png
    with pytest.raises(NotFound):
        documents.page_preview(db, world.agent, info.version_id, 3, 480)
    photo = _upload(db, world, "p.jpg", pdfs.jpeg())
    pinfo = documents.preview_info(db, world.agent, photo.id)
    assert not pinfo.is_pdf and pinfo.page_urls == [] and pinfo.image_url


def test_upload_notices_are_signed() -> None:
    token = documents.encode_notice({"saved": [{"id": 1, "title": "Offer"}], "errors": []})
    assert documents.decode_notice(token) == {"saved": [{"id": 1, "title": "Offer"}], "errors": []}
    body, sig = token.split(".")
    assert documents.decode_notice(body + "x." + sig) is None
    assert documents.decode_notice("garbage") is None


def test_a_closed_file_keeps_its_shared_documents_readable(db: Session, world: World) -> None:
    doc = _upload(db, world)
    documents.update_document(db, world.agent, doc.id, share=documents.Share(client=True))
    db.get(type(world.deal), world.deal.id).stage = Stage.CANCELLED.value  # type: ignore[union-attr]
    db.commit()
    assert documents.list_documents(db, world.client, world.deal.id).total == 1


def test_a_long_file_name_becomes_a_clipped_title_and_a_long_typed_title_a_clear_error(
    db: Session, world: World
) -> None:
    """A 230-character file name was a 500 (a bare ValueError) and broke the batch."""
    name = ("Purchase_and_Sale_Agreement_" * 9)[:226] + ".pdf"
    doc = _upload(db, world, name, pdfs.make_pdf(["long name"]))
    assert len(doc.title) == 200 and doc.title.endswith("\u2026")
    with pytest.raises(ValidationFailed) as exc:
        documents.upload(
            db, world.agent, world.deal.id, "ok.pdf", pdfs.make_pdf(["typed"]), title="t" * 230
        )
    assert "at most 200 characters" in exc.value.message
    # An invisible typed title is no title: the name of the file is used instead.
    doc = documents.upload(
        db,
        world.agent,
        world.deal.id,
        "Inspection.pdf",
        pdfs.make_pdf(["rtl"]),
        title="\u202e\u200b",
    )
    assert doc.title == "Inspection"
    with pytest.raises(ValidationFailed) as search:
        documents.list_documents(db, world.agent, world.deal.id, q="q" * 150)
    assert "at most 100 characters" in search.value.message
