"""Upload inspection: every kind of bad file gets its own specific message; good files are
measured (type from the bytes, pages, text, SHA-256, empty signature fields)."""

from __future__ import annotations

import hashlib

import pytest

from chronos.services.errors import ValidationFailed
from chronos.services.files import (
    MAX_PAGES,
    clean_filename,
    human_size,
    inspect_upload,
    sniff,
)
from tests.support import pdfs

MB = 1024 * 1024


def refused(name: str, data: bytes, max_bytes: int = 25 * MB) -> str:
    with pytest.raises(ValidationFailed) as exc:
        inspect_upload(name, data, max_bytes=max_bytes)
    assert set(exc.value.errors) == {"file"}
    return exc.value.message


def test_a_pdf_is_measured() -> None:
    data = pdfs.make_pdf(["Residential purchase agreement", "Signatures"])
    got = inspect_upload("Offer.pdf", data, max_bytes=25 * MB)
    assert got.content_type == "application/pdf"
    assert got.page_count == 2
    assert got.sha256 == hashlib.sha256(data).hexdigest()
    assert "Residential purchase agreement" in got.text
    assert got.filename == "Offer.pdf" and got.size == len(data)


def test_empty_signature_and_initial_fields_are_flagged() -> None:
    data = pdfs.make_pdf(
        2,
        text_fields=["Buyer Name"],
        signature_fields=["Buyer Signature", "Seller Initials"],
        filled={"Buyer Name": "Ann Buyer", "Seller Initials": "SB"},
    )
    got = inspect_upload("contract.pdf", data, max_bytes=25 * MB)
    assert got.empty_signature_fields == ["Buyer Signature"]


def test_photos_are_accepted_by_content() -> None:
    assert inspect_upload("IMG_0001.jpg", pdfs.jpeg(), max_bytes=MB).content_type == "image/jpeg"
    got = inspect_upload("scan.png", pdfs.png(), max_bytes=MB)
    assert (got.content_type, got.page_count) == ("image/png", 1)


def test_a_file_without_extension_gets_the_real_one() -> None:
    assert inspect_upload("scan", pdfs.make_pdf(1), max_bytes=MB).filename == "scan.pdf"
    assert inspect_upload("photo", pdfs.jpeg(), max_bytes=MB).filename == "photo.jpg"


def test_zero_bytes() -> None:
    assert "is empty (0 bytes)" in refused("blank.pdf", b"")


def test_too_big_names_both_sizes() -> None:
    msg = refused("big.pdf", pdfs.make_pdf(1) + b" " * (2 * MB), max_bytes=MB)
    assert msg == "big.pdf is 2.0 MB; the largest file accepted is 1.0 MB."


def test_truncated_pdf() -> None:
    assert "is incomplete: the file ends early" in refused("cut.pdf", pdfs.truncated_pdf())


def test_corrupt_pdf() -> None:
    assert "is damaged and cannot be read as a PDF" in refused("bad.pdf", pdfs.corrupt_pdf())


def test_encrypted_pdf() -> None:
    assert "is password-protected" in refused("locked.pdf", pdfs.encrypted_pdf())


def test_wrong_extension_says_what_the_content_is() -> None:
    msg = refused("contract.pdf", pdfs.jpeg())
    assert msg.startswith("contract.pdf is named like a PDF but its content is a JPEG photo.")


def test_a_program_renamed_to_pdf() -> None:
    msg = refused("invoice.pdf", b"MZ\x90\x00" + b"\x00" * 100)
    assert msg == "invoice.pdf is named like a PDF but its content is a program."


def test_unsupported_types_are_named() -> None:
    assert "a ZIP or Office document" in refused("offer.docx", b"PK\x03\x04" + b"\x00" * 50)
    assert "not a PDF or a photo" in refused("notes.txt", b"hello")
    assert "HEIC photo" in refused("IMG.HEIC", b"\x00\x00\x00\x18ftypheic" + b"\x00" * 50)


@pytest.mark.parametrize(
    ("name", "data", "said"),
    [
        (
            "offer.pdf",
            b"<!DOCTYPE html><html><body><script>alert(1)</script>",
            "offer.pdf is named like a PDF but its content is a web page (HTML), which can "
            "carry scripts.",
        ),
        (
            "logo.svg",
            b'<?xml version="1.0"?>\n<svg xmlns="http://www.w3.org/2000/svg"><script/></svg>',
            "logo.svg is an SVG image, which can carry scripts.",
        ),
        ("page.html", b"\xef\xbb\xbf  <html lang=en>", "page.html is a web page (HTML)"),
        (
            "run.pdf",
            b"#!/bin/sh\nrm -rf ~\n",
            "run.pdf is named like a PDF but its content is a script.",
        ),
    ],
)
def test_markup_and_scripts_are_refused_each_for_its_own_reason(
    name: str, data: bytes, said: str
) -> None:
    """HTML renamed .pdf, an SVG with a script and an HTML page shared one generic reason."""
    assert refused(name, data).startswith(said)


def test_damaged_photo() -> None:
    data = pdfs.jpeg()[:60]
    assert "damaged and cannot be read as an image" in refused("photo.jpg", data)


def test_huge_image_dimensions_are_refused_before_decoding() -> None:
    # A tiny PNG header that claims 20000 x 20000 pixels (a decompression bomb).
    import struct
    import zlib

    def chunk(kind: bytes, body: bytes) -> bytes:
        return (
            struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body))
        )

    header = struct.pack(">IIBBBBB", 20000, 20000, 8, 2, 0, 0, 0)
    data = b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IEND", b"")
    msg = refused("bomb.png", data)
    assert "20000 x 20000 pixels" in msg or "too large an image" in msg


def test_too_many_pages() -> None:
    msg = refused("scan.pdf", pdfs.make_pdf(MAX_PAGES + 1))
    assert msg == f"scan.pdf has {MAX_PAGES + 1:,} pages; the limit is {MAX_PAGES}. Split it first."


def test_sniff_ignores_the_name() -> None:
    assert sniff(pdfs.make_pdf(1)) == "application/pdf"
    assert sniff(pdfs.png()) == "image/png"
    assert sniff(b"RIFF\x00\x00\x00\x00WEBPVP8 ") == "image/webp"
    assert sniff(b"plain text") is None


@pytest.mark.parametrize(
    ("raw", "clean"),
    [
        ("../../etc/passwd", "passwd"),
        ("C:\\Users\\ann\\Offer.pdf", "Offer.pdf"),
        ("a\x00b\nc.pdf", "abc.pdf"),
        ("", "document"),
        ("...", "document"),
        ("x" * 300 + ".pdf", "x" * 247 + ".pdf"),
    ],
)
def test_clean_filename(raw: str, clean: str) -> None:
    assert clean_filename(raw) == clean


def test_human_size() -> None:
    assert [human_size(n) for n in (12, 2048, 3 * MB)] == ["12 bytes", "2 KB", "3.0 MB"]
