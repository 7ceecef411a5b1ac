"""Real files for document tests: PDFs drawn with reportlab, photos with Pillow, and the bad
ones (truncated, encrypted, empty, renamed, huge) built from them."""

from __future__ import annotations

import io
from collections.abc import Sequence

from pypdf import PdfReader, PdfWriter
from reportlab.lib.pagesizes import letter
from reportlab.pdfgen import canvas


def make_pdf(
    pages: Sequence[str] | int = 1,
    *,
    title: str = "Test document",
    signature_fields: Sequence[str] = (),
    text_fields: Sequence[str] = (),
    filled: dict[str, str] | None = None,
) -> bytes:
    """A PDF whose page n shows ``pages[n]`` (or "Page n of N"), optionally with fillable
    fields (text fields; names containing "sign"/"initial" are signature fields)."""
    texts = (
        [f"Page {i + 1} of {pages}" for i in range(pages)]
        if isinstance(pages, int)
        else list(pages)
    )
    out = io.BytesIO()
    c = canvas.Canvas(out, pagesize=letter)
    c.setTitle(title)
    filled = filled or {}
    for n, text in enumerate(texts):
        c.setFont("Helvetica", 12)
        y = 720
        for line in text.split("\n"):
            c.drawString(72, y, line)
            y -= 16
        if n == len(texts) - 1:
            y = 400
            for name in [*text_fields, *signature_fields]:
                c.drawString(72, y + 4, name)
                c.acroForm.textfield(
                    name=name,
                    x=220,
                    y=y,
                    width=250,
                    height=20,
                    value=filled.get(name, ""),
                    borderStyle="underlined",
                    forceBorder=True,
                )
                y -= 40
        c.showPage()
    c.save()
    return out.getvalue()


def encrypted_pdf(password: str = "secret") -> bytes:
    writer = PdfWriter(clone_from=PdfReader(io.BytesIO(make_pdf(2))))
    writer.encrypt(user_password=password, owner_password=password + "-owner")
    out = io.BytesIO()
    writer.write(out)
    return out.getvalue()


def truncated_pdf() -> bytes:
    data = make_pdf(3)
    return data[: len(data) // 2]


def corrupt_pdf() -> bytes:
    """Starts like a PDF and ends like one, with garbage in between."""
    return b"%PDF-1.7\n" + bytes(range(256)) * 20 + b"\n%%EOF\n"


def jpeg(width: int = 64, height: int = 48, color: str = "navy") -> bytes:
    from PIL import Image

    out = io.BytesIO()
    Image.new("RGB", (width, height), color).save(out, format="JPEG")
    return out.getvalue()


def png(width: int = 64, height: int = 48) -> bytes:
    from PIL import Image

    out = io.BytesIO()
    Image.new("RGB", (width, height), "white").save(out, format="PNG")
    return out.getvalue()


def make_form_pdf(
    text_fields: Sequence[str] = (),
    *,
    checkboxes: Sequence[str] = (),
    choices: dict[str, Sequence[str]] | None = None,
    heading: str = "PURCHASE AGREEMENT",
    pages: int = 1,
) -> bytes:
    """A fillable form: ``heading`` on page 1, then its text fields, checkboxes and choice
    lists (drop-downs) on the last page, each labelled with its name."""
    out = io.BytesIO()
    c = canvas.Canvas(out, pagesize=letter)
    c.setTitle(heading)
    for n in range(pages):
        c.setFont("Helvetica", 14)
        c.drawString(72, 740, heading if n == 0 else f"{heading} (continued)")
        c.setFont("Helvetica", 10)
        if n == pages - 1:
            y = 690
            for name in text_fields:
                c.drawString(72, y + 6, name)
                c.acroForm.textfield(
                    name=name, x=240, y=y, width=280, height=18, borderStyle="underlined"
                )
                y -= 32
            for name in checkboxes:
                c.drawString(72, y + 6, name)
                c.acroForm.checkbox(name=name, x=240, y=y, size=16, buttonStyle="check")
                y -= 32
            for name, options in (choices or {}).items():
                c.drawString(72, y + 6, name)
                c.acroForm.choice(
                    name=name,
                    x=240,
                    y=y,
                    width=160,
                    height=18,
                    options=list(options),
                    value=options[0],
                )
                y -= 32
        c.showPage()
    c.save()
    return out.getvalue()


# --- hostile PDFs: active content a reader may run or open by itself ---------------------

SCRIPT = "app.alert('chronos-test-script')"


def _writer(base: bytes | None = None) -> PdfWriter:
    return PdfWriter(
        clone_from=PdfReader(io.BytesIO(base or make_pdf(["Purchase agreement", "Page two"])))
    )


def _js(writer: PdfWriter, script: str = SCRIPT):  # type: ignore[no-untyped-def]
    from pypdf.generic import DictionaryObject, NameObject, TextStringObject

    return writer._add_object(
        DictionaryObject(
            {
                NameObject("/Type"): NameObject("/Action"),
                NameObject("/S"): NameObject("/JavaScript"),
                NameObject("/JS"): TextStringObject(script),
            }
        )
    )


def _bytes(writer: PdfWriter) -> bytes:
    out = io.BytesIO()
    writer.write(out)
    return out.getvalue()


def hostile_pdf(kind: str, base: bytes | None = None) -> bytes:
    """A two-page PDF ("Purchase agreement", "Page two") carrying one kind of active content:
    open_action, names_js, launch_annot, embedded_file, field_aa, uri_js, page_aa."""
    from pypdf.generic import (
        ArrayObject,
        DictionaryObject,
        FloatObject,
        NameObject,
        TextStringObject,
    )

    w = _writer(base)
    root = w._root_object
    page = w.pages[0]
    rect = ArrayObject([FloatObject(v) for v in (72, 72, 200, 100)])

    def annot(extra: dict) -> None:  # type: ignore[type-arg]
        obj = DictionaryObject(
            {NameObject("/Type"): NameObject("/Annot"), NameObject("/Rect"): rect, **extra}
        )
        ref = w._add_object(obj)
        if "/Annots" not in page:
            page[NameObject("/Annots")] = ArrayObject()
        page["/Annots"].append(ref)

    if kind == "open_action":
        root[NameObject("/OpenAction")] = _js(w)
    elif kind == "names_js":
        tree = DictionaryObject(
            {NameObject("/Names"): ArrayObject([TextStringObject("init"), _js(w)])}
        )
        names = DictionaryObject({NameObject("/JavaScript"): w._add_object(tree)})
        root[NameObject("/Names")] = w._add_object(names)
    elif kind == "launch_annot":
        launch = DictionaryObject(
            {
                NameObject("/S"): NameObject("/Launch"),
                NameObject("/F"): TextStringObject("cmd.exe"),
            }
        )
        annot(
            {NameObject("/Subtype"): NameObject("/Link"), NameObject("/A"): w._add_object(launch)}
        )
    elif kind == "uri_js":
        uri = DictionaryObject(
            {
                NameObject("/S"): NameObject("/URI"),
                NameObject("/URI"): TextStringObject(" JavaScript:" + SCRIPT),
            }
        )
        annot({NameObject("/Subtype"): NameObject("/Link"), NameObject("/A"): uri})
    elif kind == "embedded_file":
        w.add_attachment("payload.exe", b"MZ chronos-test-payload")
        # and the same as an annotation on the page
        stream = w._root_object["/Names"]["/EmbeddedFiles"]["/Names"][1].get_object()
        annot(
            {
                NameObject("/Subtype"): NameObject("/FileAttachment"),
                NameObject("/FS"): w._add_object(stream) if False else stream.indirect_reference,
            }
        )
    elif kind == "page_aa":
        page[NameObject("/AA")] = DictionaryObject({NameObject("/O"): _js(w)})
    elif kind == "field_aa":
        w = _writer(base or make_pdf(["Purchase agreement", "Page two"], text_fields=["buyer"]))
        root = w._root_object
        field = root["/AcroForm"]["/Fields"][0].get_object()
        field[NameObject("/AA")] = DictionaryObject(
            {NameObject("/K"): _js(w), NameObject("/F"): _js(w, "event.value='x'")}
        )
        field[NameObject("/A")] = _js(w)
    else:  # pragma: no cover
        raise ValueError(kind)
    return _bytes(w)


HOSTILE_KINDS = (
    "open_action",
    "names_js",
    "launch_annot",
    "embedded_file",
    "field_aa",
    "uri_js",
    "page_aa",
)
