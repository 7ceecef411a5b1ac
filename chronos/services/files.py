"""What an uploaded file really is: sniffed from its bytes, validated, measured.

Pure functions (no database, no storage). ``inspect_upload`` either returns an ``Inspected``
or raises ``ValidationFailed`` with one specific, user-facing reason under the ``file`` key:
empty, too big, not a PDF or photo, a name that lies about the content, password-protected,
damaged, too many pages, an image too large to decode safely. It also says what active content
(JavaScript, embedded files: ``pdf_safety``) a PDF reaches, without changing it.

``prepare_upload`` is what a file from outside goes through: the inspection, then a PDF with
active content is replaced by a copy without it (inspected again), or refused when no such
copy can be made with certainty. A PDF without any is kept byte for byte.
"""

from __future__ import annotations

import hashlib
import io
import logging
import re
import warnings
from dataclasses import dataclass, field
from pathlib import PurePosixPath, PureWindowsPath
from typing import Any

from chronos.services import pdf_safety
from chronos.services.errors import ValidationFailed

log = logging.getLogger(__name__)

PDF = "application/pdf"
JPEG = "image/jpeg"
PNG = "image/png"
WEBP = "image/webp"
ACCEPTED = {PDF: "PDF", JPEG: "JPEG photo", PNG: "PNG image", WEBP: "WebP image"}
# What the file picker offers (phones add "take a photo" for image types).
ACCEPT_ATTR = ".pdf,application/pdf,image/jpeg,image/png,image/webp"
EXTENSIONS = {
    ".pdf": PDF,
    ".jpg": JPEG,
    ".jpeg": JPEG,
    ".jpe": JPEG,
    ".png": PNG,
    ".webp": WEBP,
}
MAX_PAGES = 500
MAX_TEXT_CHARS = 200_000
MAX_IMAGE_PIXELS = 60_000_000  # a 60 MP photo; above that Pillow's decoder is not trusted
# Form fields whose name says they take a signature or initials.
SIGNATURE_FIELD = re.compile(r"sign|signature|initial|\binit\b", re.IGNORECASE)


@dataclass
class Inspected:
    filename: str
    content_type: str
    size: int
    sha256: str
    page_count: int
    text: str = ""
    # Empty signature/initial form fields (PDF only), by field name.
    empty_signature_fields: list[str] = field(default_factory=list)
    # Active content these bytes reach (PDF only; ``pdf_safety`` labels). Only a PDF with
    # none is ever shown inline by the browser.
    active_content: list[str] = field(default_factory=list)
    # What ``prepare_upload`` took out of the file as uploaded (these bytes are the copy).
    active_content_removed: list[str] = field(default_factory=list)
    # The file as uploaded was digitally signed: the copy keeps the signature's appearance,
    # but the signature no longer verifies.
    signature_invalidated: bool = False

    @property
    def removal_note(self) -> str:
        """Plain words for the user ("" when nothing was removed)."""
        return pdf_safety.note(
            self.active_content_removed, signature_invalidated=self.signature_invalidated
        )


def _fail(message: str) -> ValidationFailed:
    return ValidationFailed({"file": message}, message)


def clean_filename(name: str) -> str:
    """The last path component, without control characters, at most 255 characters."""
    base = PureWindowsPath(PurePosixPath(name or "").name).name
    base = "".join(c for c in base if c.isprintable() and c not in '<>:"/\\|?*').strip(" .")
    if not base:
        return "document"
    if len(base) > 255:
        stem, dot, ext = base.rpartition(".")
        base = (stem[: 250 - len(ext)] + dot + ext) if dot and len(ext) <= 10 else base[:255]
    return base


def human_size(n: int) -> str:
    if n < 1024:
        return f"{n} bytes"
    if n < 1024 * 1024:
        return f"{n / 1024:.0f} KB"
    return f"{n / (1024 * 1024):.1f} MB"


def sniff(data: bytes) -> str | None:
    """The content type the bytes say, for the types we accept and a few we name in errors."""
    head = data[:1024]
    if head.lstrip(b"\x00\t\r\n \x0c")[:5] == b"%PDF-" or b"%PDF-" in head:
        return PDF
    if data[:3] == b"\xff\xd8\xff":
        return JPEG
    if data[:8] == b"\x89PNG\r\n\x1a\n":
        return PNG
    if data[:4] == b"RIFF" and data[8:12] == b"WEBP":
        return WEBP
    if data[4:8] == b"ftyp" and data[8:12] in {b"heic", b"heix", b"mif1", b"msf1", b"hevc"}:
        return "image/heic"
    if data[:4] == b"PK\x03\x04":
        return "application/zip"
    if data[:8] == b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1":
        return "application/x-ole-storage"
    if data[:2] == b"MZ":
        return "application/x-msdownload"
    if data[:6] in (b"GIF87a", b"GIF89a"):
        return "image/gif"
    if data[:4] in (b"II*\x00", b"MM\x00*"):
        return "image/tiff"
    return _sniff_markup(head)


# Markup and scripts: named in their own words, since each is refused for its own reason
# (HTML and SVG can run script in a browser that opens them; a script runs on a desktop).
_SVG = re.compile(rb"<svg[\s>]")
_HTML = re.compile(rb"<!doctype html|<html[\s>]|<head[\s>]|<body[\s>]|<script[\s>]|<iframe[\s>]")


def _sniff_markup(head: bytes) -> str | None:
    text = head.lstrip(b"\xef\xbb\xbf\x00\t\r\n \x0c").lower()
    if text.startswith(b"#!"):
        return "text/x-script"
    if _SVG.search(text):
        return "image/svg+xml"
    if _HTML.search(text):
        return "text/html"
    return None


_DESCRIBE = {
    "image/heic": "an HEIC photo",
    "application/zip": "a ZIP or Office document",
    "application/x-ole-storage": "an old Office document",
    "application/x-msdownload": "a program",
    "image/gif": "a GIF image",
    "image/tiff": "a TIFF image",
    "image/svg+xml": "an SVG image, which can carry scripts",
    "text/html": "a web page (HTML), which can carry scripts",
    "text/x-script": "a script",
    PDF: "a PDF",
    JPEG: "a JPEG photo",
    PNG: "a PNG image",
    WEBP: "a WebP image",
}


def inspect_upload(filename: str, data: bytes, *, max_bytes: int) -> Inspected:
    name = clean_filename(filename)
    size = len(data)
    if size == 0:
        raise _fail(f"{name} is empty (0 bytes). Choose the file again; it may not have saved.")
    if size > max_bytes:
        raise _fail(
            f"{name} is {human_size(size)}; the largest file accepted is {human_size(max_bytes)}."
        )
    kind = sniff(data)
    ext = PurePosixPath(name.lower()).suffix
    claimed = EXTENSIONS.get(ext)
    if kind == "image/heic":
        raise _fail(
            f"{name} is an HEIC photo, which browsers cannot show. On an iPhone choose "
            "Settings → Camera → Formats → Most Compatible, or upload a PDF or JPEG."
        )
    if kind not in ACCEPTED:
        what = _DESCRIBE.get(kind or "", "not a PDF or a photo")
        if claimed:
            raise _fail(f"{name} is named like {_DESCRIBE[claimed]} but its content is {what}.")
        raise _fail(f"{name} is {what}. Upload a PDF or a photo (JPEG, PNG or WebP).")
    if claimed and claimed != kind:
        raise _fail(
            f"{name} is named like {_DESCRIBE[claimed]} but its content is {_DESCRIBE[kind]}. "
            "Rename it with the right extension, or export it again."
        )
    if not claimed:
        # No or unknown extension: keep the name, add the real one so downloads open right.
        name = f"{name}{'.pdf' if kind == PDF else '.' + kind.split('/')[1].replace('jpeg', 'jpg')}"
    digest = hashlib.sha256(data).hexdigest()
    if kind == PDF:
        return _inspect_pdf(name, data, digest)
    return _inspect_image(name, data, digest, kind)


def _inspect_pdf(name: str, data: bytes, digest: str) -> Inspected:
    from pypdf import PdfReader
    from pypdf.errors import PdfReadError, PyPdfError

    # A complete PDF ends with %%EOF (a few bytes of trailing junk are common and tolerated).
    if b"%%EOF" not in data[-4096:]:
        raise _fail(
            f"{name} is incomplete: the file ends early (it may have been cut off while downloading). Save it again and re-upload."
        )
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            reader = PdfReader(io.BytesIO(data), strict=False)
            if reader.is_encrypted:
                raise _fail(
                    f"{name} is password-protected. Open it, print or save it as a PDF without "
                    "a password, and upload that."
                )
            pages = len(reader.pages)
            if pages == 0:
                raise _fail(f"{name} has no pages.")
            if pages > MAX_PAGES:
                raise _fail(
                    f"{name} has {pages:,} pages; the limit is {MAX_PAGES}. Split it first."
                )
            text = extract_text(reader)
            empty = empty_signature_fields(reader)
            active = pdf_safety.find_active_content(reader).ordered()
    except ValidationFailed:
        raise
    except (
        PdfReadError,
        PyPdfError,
        ValueError,
        KeyError,
        TypeError,
        AttributeError,
        IndexError,
        RecursionError,
        OSError,
        AssertionError,
    ) as exc:
        log.info("unreadable pdf %s: %s", name, exc)
        raise _fail(
            f"{name} is damaged and cannot be read as a PDF. Save or export it again."
        ) from exc
    return Inspected(name, PDF, len(data), digest, pages, text, empty, active)


def prepare_upload(filename: str, data: bytes, *, max_bytes: int) -> tuple[Inspected, bytes]:
    """Inspect a file from outside and return it with the bytes to store: the upload itself,
    or for a PDF with active content a copy without it. A PDF whose active content cannot be
    removed with certainty is refused (never stored with it)."""
    inspected = inspect_upload(filename, data, max_bytes=max_bytes)
    if inspected.content_type != PDF:
        return inspected, data
    name = inspected.filename
    try:
        cleaned = pdf_safety.remove_active_content(data)
    except Exception as exc:  # CannotClean, or pypdf failing on the rewrite
        log.warning("could not remove active content from %s: %s", name, exc)
        raise _fail(
            f"{name} contains active content (such as JavaScript or embedded files) that "
            "Chronos could not remove safely, so it was not saved. Print it to a new PDF "
            "(Print → Save as PDF) and upload that."
        ) from exc
    if not cleaned.removed:
        return inspected, data
    again = inspect_upload(name, cleaned.data, max_bytes=max(max_bytes, len(cleaned.data)))
    if again.active_content or again.page_count != inspected.page_count:  # pragma: no cover
        raise _fail(f"{name} could not be cleaned of its active content, so it was not saved.")
    again.active_content_removed = cleaned.removed
    again.signature_invalidated = cleaned.digitally_signed
    log.info("removed active content from %s: %s", name, ", ".join(cleaned.removed))
    return again, cleaned.data


def extract_text(reader: Any) -> str:
    parts: list[str] = []
    total = 0
    for page in reader.pages:
        try:
            chunk = page.extract_text() or ""
        except Exception:  # one bad page must not lose the others' text
            chunk = ""
        parts.append(chunk)
        total += len(chunk)
        if total >= MAX_TEXT_CHARS:
            break
    return "\f".join(parts)[:MAX_TEXT_CHARS].replace("\x00", "")


def page_texts(reader: Any) -> list[str]:
    out: list[str] = []
    for page in reader.pages:
        try:
            out.append((page.extract_text() or "").replace("\x00", ""))
        except Exception:
            out.append("")
    return out


def empty_signature_fields(reader: Any) -> list[str]:
    """Names of form fields meant for a signature or initials that hold nothing."""
    try:
        fields = reader.get_fields() or {}
    except Exception:  # a broken AcroForm is not a reason to refuse the file
        return []
    empty: list[str] = []
    for name, f in fields.items():
        ftype = f.get("/FT")
        value = f.get("/V")
        is_sig = ftype == "/Sig" or (ftype in ("/Tx", None) and SIGNATURE_FIELD.search(name))
        if not is_sig:
            continue
        if value is None or (isinstance(value, str) and not value.strip()):
            empty.append(str(name))
    return sorted(empty)[:50]


def _inspect_image(name: str, data: bytes, digest: str, kind: str) -> Inspected:
    from PIL import Image

    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            with Image.open(io.BytesIO(data)) as im:
                width, height = im.size
                if width * height > MAX_IMAGE_PIXELS:
                    raise _fail(
                        f"{name} is {width} x {height} pixels; the largest photo accepted is "
                        f"{MAX_IMAGE_PIXELS // 1_000_000} megapixels."
                    )
                im.verify()
    except ValidationFailed:
        raise
    except (Image.DecompressionBombError, Image.DecompressionBombWarning) as exc:
        raise _fail(f"{name} is too large an image to open safely.") from exc
    except Exception as exc:  # Pillow raises many types for broken images
        raise _fail(
            f"{name} is damaged and cannot be read as an image. Take or export it again."
        ) from exc
    return Inspected(name, kind, len(data), digest, 1)
