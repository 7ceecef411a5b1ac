"""PDF active content (issue 15): scripts, launch actions and embedded files are taken out of the
stored original at upload; the pages, their text and form fields survive; the user is told;
a clean PDF is stored byte for byte; a PDF that cannot be cleaned is refused."""

from __future__ import annotations

import io
from typing import Any

import pytest
from pypdf import PdfReader
from pypdf.generic import ArrayObject, DictionaryObject, IndirectObject
from sqlmodel import Session, select

from chronos.models import Event
from chronos.services import documents, files, pdf_safety
from chronos.services.errors import ValidationFailed
from chronos.storage import get_storage
from tests.factories import World
from tests.support import pdfs

MB = 1024 * 1024
BAD_ACTIONS = {"/JavaScript", "/Launch", "/SubmitForm", "/ImportData", "/GoToR", "/GoToE"}
BAD_KEYS = {"/JS", "/JavaScript", "/EmbeddedFiles", "/EF", "/AF", "/XFA"}
BAD_ANNOTS = {"/FileAttachment", "/Screen", "/RichMedia", "/3D", "/Movie", "/Sound"}


def _everything(data: bytes) -> list[DictionaryObject]:
    """Every dictionary reachable from the catalog (re-parsed with pypdf, walked by hand)."""
    reader = PdfReader(io.BytesIO(data))
    out: list[DictionaryObject] = []
    seen: set[int] = set()
    stack: list[Any] = [reader.trailer["/Root"]]
    while stack:
        obj = stack.pop()
        if isinstance(obj, IndirectObject):
            obj = obj.get_object()
        if id(obj) in seen:
            continue
        seen.add(id(obj))
        if isinstance(obj, DictionaryObject):
            out.append(obj)
            stack.extend(obj.raw_get(k) for k in obj)
        elif isinstance(obj, ArrayObject):
            stack.extend(obj)
    return out


def _assert_no_active_content(data: bytes) -> None:
    for d in _everything(data):
        assert not BAD_KEYS & set(d.keys()), d
        assert d.get("/S") not in BAD_ACTIONS, d
        assert d.get("/Subtype") not in BAD_ANNOTS, d
        assert "javascript:" not in str(d.get("/URI", "")).lower(), d
        assert "/AA" not in d or not dict(d["/AA"]), d
    # Nor in the bytes themselves (no orphan object kept the script or the file).
    for token in (b"/JavaScript", b"/JS ", b"/Launch", b"/EmbeddedFile", b"chronos-test-payload"):
        assert token not in data


def _pages_and_text(data: bytes) -> tuple[int, str]:
    reader = PdfReader(io.BytesIO(data))
    return len(reader.pages), reader.pages[0].extract_text().strip()


@pytest.mark.parametrize("kind", pdfs.HOSTILE_KINDS)
def test_each_kind_of_active_content_is_found_and_removed(kind: str) -> None:
    hostile = pdfs.hostile_pdf(kind)
    reader = PdfReader(io.BytesIO(hostile))
    assert pdf_safety.find_active_content(reader).labels  # the fixture really is hostile

    inspected, stored = files.prepare_upload(f"{kind}.pdf", hostile, max_bytes=25 * MB)

    assert stored != hostile
    _assert_no_active_content(stored)
    assert _pages_and_text(stored) == (2, "Purchase agreement")
    assert inspected.page_count == 2 and "Purchase agreement" in inspected.text
    assert inspected.active_content == [] and inspected.active_content_removed
    assert inspected.size == len(stored)
    assert inspected.removal_note.startswith("active content (")
    assert inspected.removal_note.endswith("was removed; its pages and form fields are unchanged")


def test_the_labels_say_what_was_removed() -> None:
    def removed(kind: str) -> list[str]:
        return files.prepare_upload("x.pdf", pdfs.hostile_pdf(kind), max_bytes=25 * MB)[
            0
        ].active_content_removed

    assert removed("open_action") == ["JavaScript"]
    assert removed("names_js") == ["JavaScript"]
    assert removed("uri_js") == ["JavaScript"]
    assert removed("launch_annot") == ["actions that open programs or send data"]
    assert removed("embedded_file") == ["embedded files"]
    assert pdf_safety.describe(["JavaScript", "embedded files"]) == (
        "active content (JavaScript and embedded files) was removed"
    )


def test_form_fields_and_their_values_survive_the_cleaning() -> None:
    base = pdfs.make_pdf(["Purchase agreement", "Page two"], text_fields=["buyer"])
    hostile = pdfs.hostile_pdf("field_aa", base)
    _, stored = files.prepare_upload("form.pdf", hostile, max_bytes=25 * MB)
    fields = PdfReader(io.BytesIO(stored)).get_fields() or {}
    assert "buyer" in fields
    assert "/AA" not in fields["buyer"] and "/A" not in fields["buyer"]


def test_a_clean_pdf_is_stored_byte_for_byte() -> None:
    clean = pdfs.make_pdf(["Inspection report", "Roof: fair"], text_fields=["notes"])
    inspected, stored = files.prepare_upload("clean.pdf", clean, max_bytes=25 * MB)
    assert stored is clean
    assert inspected.active_content == [] and inspected.active_content_removed == []
    assert inspected.removal_note == ""


def test_cleaning_is_deterministic_so_a_second_upload_is_still_a_duplicate() -> None:
    hostile = pdfs.hostile_pdf("names_js")
    first = pdf_safety.remove_active_content(hostile).data
    assert pdf_safety.remove_active_content(hostile).data == first


def test_a_pdf_that_cannot_be_cleaned_is_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    def fail(data: bytes) -> pdf_safety.Cleaned:
        raise pdf_safety.CannotClean("the copy still has a script")

    monkeypatch.setattr(pdf_safety, "remove_active_content", fail)
    with pytest.raises(ValidationFailed) as err:
        files.prepare_upload("scripted.pdf", pdfs.hostile_pdf("open_action"), max_bytes=25 * MB)
    assert err.value.message.startswith(
        "scripted.pdf contains active content (such as JavaScript or embedded files) that "
        "Chronos could not remove safely, so it was not saved."
    )


def test_inspection_alone_only_reports(monkeypatch: pytest.MonkeyPatch) -> None:
    """Generated PDFs (signing, filled forms) are inspected, never rewritten: a signed copy's
    certificate covers its bytes. What the check finds decides only how it may be opened."""
    hostile = pdfs.hostile_pdf("page_aa")
    assert files.inspect_upload("x.pdf", hostile, max_bytes=25 * MB).active_content == [
        "JavaScript"
    ]
    assert files.inspect_upload("y.pdf", pdfs.make_pdf(1), max_bytes=25 * MB).active_content == []


def test_unreachable_leftovers_are_rewritten_away() -> None:
    """A script nothing references any more (here: in the first revision of a file whose
    incremental update dropped its OpenAction) is invisible to a walk of the catalog, but not
    to a reader that repairs the file or goes back a revision: it goes too."""
    from pypdf import PdfWriter

    hostile = pdfs.hostile_pdf("open_action")
    writer = PdfWriter(PdfReader(io.BytesIO(hostile)), incremental=True)
    del writer._root_object["/OpenAction"]
    out = io.BytesIO()
    writer.write(out)
    data = out.getvalue()
    assert data.startswith(hostile)  # revision 1, script and all, is still in the bytes
    assert not pdf_safety.find_active_content(PdfReader(io.BytesIO(data))).labels
    cleaned = pdf_safety.remove_active_content(data)
    assert cleaned.removed == ["JavaScript"]
    _assert_no_active_content(cleaned.data)
    assert _pages_and_text(cleaned.data) == (2, "Purchase agreement")


# --- through the documents service ---------------------------------------------------------


def test_upload_stores_the_cleaned_copy_and_says_so(db: Session, world: World) -> None:
    hostile = pdfs.hostile_pdf("open_action")
    doc = documents.upload(db, world.agent, world.deal.id, "Disclosure.pdf", hostile)
    db.commit()
    version = documents.current_version(db, doc)
    stored = get_storage().get(version.storage_key)
    _assert_no_active_content(stored)
    assert version.sha256 == files.hashlib.sha256(stored).hexdigest()
    assert (version.size, version.page_count) == (len(stored), 2)
    assert version.active_content_removed == "JavaScript" and version.active_content_checked
    note = "active content (JavaScript) was removed; its pages and form fields are unchanged"
    assert documents.upload_note(db, doc) == note
    event = db.exec(select(Event).where(Event.kind == "document_added")).one()
    assert event.summary.endswith(f"; {note}")
    assert event.data["active_content_removed"] == ["JavaScript"]
    row = documents.document_row(db, world.agent, doc.id)
    assert row.active_content_note == "active content (JavaScript) was removed"
    # The same hostile file again is recognised as the same document.
    with pytest.raises(documents.Conflict):
        documents.upload(db, world.agent, world.deal.id, "again.pdf", hostile)
    db.rollback()


def test_a_new_version_is_cleaned_too(db: Session, world: World) -> None:
    doc = documents.upload(db, world.agent, world.deal.id, "Offer.pdf", pdfs.make_pdf(1))
    documents.upload(
        db,
        world.agent,
        world.deal.id,
        "Offer v2.pdf",
        pdfs.hostile_pdf("embedded_file"),
        document_id=doc.id,
    )
    db.commit()
    version = documents.current_version(db, doc)
    _assert_no_active_content(get_storage().get(version.storage_key))
    event = db.exec(select(Event).where(Event.kind == "document_version")).one()
    assert "active content (embedded files) was removed" in event.summary


def test_a_clean_upload_is_stored_as_it_came(db: Session, world: World) -> None:
    clean = pdfs.make_pdf(["Inspection report"])
    doc = documents.upload(db, world.agent, world.deal.id, "clean.pdf", clean)
    db.commit()
    version = documents.current_version(db, doc)
    assert get_storage().get(version.storage_key) == clean
    assert version.active_content_removed == "" and version.active_content_checked
    assert documents.upload_note(db, doc) == ""
    assert documents.document_row(db, world.agent, doc.id).active_content_note == ""


def test_only_checked_pdfs_open_inline(db: Session, world: World) -> None:
    doc = documents.upload(db, world.agent, world.deal.id, "clean.pdf", pdfs.make_pdf(1))
    db.commit()
    version = documents.current_version(db, doc)
    assert documents.may_open_inline(version, True)
    assert not documents.may_open_inline(version, False)
    version.active_content_checked = False  # a version stored before the check existed
    assert not documents.may_open_inline(version, True)
    version.content_type = files.JPEG  # photos are served inline under the sandboxing CSP
    assert documents.may_open_inline(version, True)
    db.rollback()


def test_saved_lines_name_each_file_and_what_was_removed() -> None:
    notice = {
        "saved": [
            {"id": 1, "title": "Offer"},
            {"id": 2, "title": "Disclosure", "note": "active content (JavaScript) was removed"},
            "junk",
        ]
    }
    assert documents.saved_lines(notice) == [
        "“Offer”",
        "“Disclosure”: active content (JavaScript) was removed.",
    ]
    assert documents.upload_notes(notice) == [
        "“Disclosure”: active content (JavaScript) was removed."
    ]
    assert documents.saved_lines(None) == []


def test_ordinary_links_and_bookmarks_survive_the_cleaning() -> None:
    from reportlab.pdfgen import canvas

    out = io.BytesIO()
    c = canvas.Canvas(out)
    c.drawString(72, 720, "Purchase agreement")
    c.linkURL("https://example.com/terms", (72, 700, 200, 730))
    c.bookmarkPage("p1")
    c.addOutlineEntry("First page", "p1")
    c.showPage()
    c.drawString(72, 720, "Page two")
    c.linkAbsolute("back", "p1", (72, 700, 200, 730))
    c.showPage()
    c.save()
    _, stored = files.prepare_upload(
        "links.pdf", pdfs.hostile_pdf("open_action", out.getvalue()), max_bytes=25 * MB
    )
    _assert_no_active_content(stored)
    reader = PdfReader(io.BytesIO(stored))
    uris = [
        str(a.get_object()["/A"]["/URI"])
        for p in reader.pages
        for a in p.get("/Annots", [])
        if "/A" in a.get_object()
    ]
    assert uris == ["https://example.com/terms"]
    assert len(reader.pages[1]["/Annots"]) == 1  # the link back to page one
    assert [o["/Title"] for o in reader.outline] == ["First page"]


def test_a_digitally_signed_pdf_keeps_its_look_and_the_note_says_the_signature_is_void() -> None:
    from pypdf import PdfWriter
    from pypdf.generic import (
        ArrayObject,
        ByteStringObject,
        DictionaryObject,
        NameObject,
        NumberObject,
        TextStringObject,
    )

    writer = PdfWriter(clone_from=PdfReader(io.BytesIO(pdfs.hostile_pdf("open_action"))))
    sig = DictionaryObject(
        {
            NameObject("/Type"): NameObject("/Sig"),
            NameObject("/ByteRange"): ArrayObject([NumberObject(n) for n in (0, 10, 20, 30)]),
            NameObject("/Contents"): ByteStringObject(b"\x00" * 8),
        }
    )
    field = DictionaryObject(
        {
            NameObject("/FT"): NameObject("/Sig"),
            NameObject("/T"): TextStringObject("buyer_signature"),
            NameObject("/V"): writer._add_object(sig),
        }
    )
    writer._root_object[NameObject("/AcroForm")] = DictionaryObject(
        {NameObject("/Fields"): ArrayObject([writer._add_object(field)])}
    )
    out = io.BytesIO()
    writer.write(out)
    inspected, stored = files.prepare_upload("signed.pdf", out.getvalue(), max_bytes=25 * MB)
    _assert_no_active_content(stored)
    assert inspected.signature_invalidated
    assert inspected.removal_note.endswith(
        "(its digital signature no longer verifies: keep the original if you need it)"
    )
    assert "buyer_signature" in (PdfReader(io.BytesIO(stored)).get_fields() or {})
