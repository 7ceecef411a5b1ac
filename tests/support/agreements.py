"""Sample purchase agreements for the agreement reader: a fillable AcroForm one (filled in
with pypdf, the way a state association form arrives), a flat-text one, an addendum, and a
scanned-like image-only PDF with no text layer."""

from __future__ import annotations

import io

from PIL import Image
from pypdf import PdfReader, PdfWriter
from reportlab.lib.pagesizes import letter
from reportlab.lib.utils import ImageReader
from reportlab.pdfgen import canvas

from tests.support.pdfs import make_form_pdf

# Form-field names as association forms spell them (camel case, underscores).
FORM_VALUES: dict[str, str] = {
    "PropertyAddress": "12 Elm Street, Austin, TX 78701",
    "PurchasePrice": "$450,000.00",
    "EffectiveDate": "03/02/2026",
    "ClosingDate": "04/10/2026",
    "OptionPeriod": "7 days",
    "Buyer": "Ana Lopez and Ben Lopez",
    "Seller": "Carl Smith",
    "ListingAgent": "Dana Reyes",
    "BuyersAgent": "Eli Park",
    "Lender": "First Lone Star Mortgage",
    "TitleCompany": "Capitol Title Co.",
    "EarnestMoney": "$5,000",
    "EarnestMoneyDue": "03/05/2026",
}

FLAT_LINES: tuple[str, ...] = (
    "RESIDENTIAL PURCHASE AGREEMENT",
    "Property Address: 48 Orchard Lane, Sacramento, CA 95814",
    "Purchase Price: $725,500",
    "Buyers: Frank Moore; Grace Moore",
    "Sellers: Helen Wu",
    "Effective Date: March 9, 2026",
)
FLAT_PAGE_2: tuple[str, ...] = (
    "CONTINGENCIES AND DATES",
    "Inspection Contingency: 17 days",
    "Appraisal Contingency: 14 days",
    "Loan Contingency: 21 days",
    "Closing Date: 04/24/2026",
    "Earnest Money: $21,765.00",
    "Earnest Money Due: 03/12/2026",
    "Listing Agent: Ivan Petrov",
    "Buyer's Agent: Jane Doe",
    "Lender: Golden State Bank",
    "Title Company: Sierra Escrow",
)


def fillable_agreement(values: dict[str, str] | None = None) -> bytes:
    """A two-page fillable purchase agreement with its fields filled in."""
    values = FORM_VALUES if values is None else values
    blank = make_form_pdf(list(values), heading="TEXAS RESIDENTIAL CONTRACT", pages=2)
    writer = PdfWriter(clone_from=PdfReader(io.BytesIO(blank)))
    writer.update_page_form_field_values(writer.pages[-1], values, auto_regenerate=False)
    out = io.BytesIO()
    writer.write(out)
    return out.getvalue()


def _text_pdf(*pages: tuple[str, ...]) -> bytes:
    out = io.BytesIO()
    c = canvas.Canvas(out, pagesize=letter)
    for lines in pages:
        c.setFont("Helvetica", 11)
        y = 720
        for line in lines:
            c.drawString(72, y, line)
            y -= 18
        c.showPage()
    c.save()
    return out.getvalue()


def flat_agreement() -> bytes:
    """A two-page flat (no form fields) agreement: the details are only in its text layer."""
    return _text_pdf(FLAT_LINES, FLAT_PAGE_2)


def addendum(*lines: str) -> bytes:
    return _text_pdf(("ADDENDUM TO PURCHASE AGREEMENT", *lines))


def scanned_agreement() -> bytes:
    """A page that is only a picture (a scan): no text layer at all."""
    image = Image.new("RGB", (850, 1100), "white")
    for x in range(100, 750):
        for y in (200, 240, 280):
            image.putpixel((x, y), (20, 20, 20))
    out = io.BytesIO()
    c = canvas.Canvas(out, pagesize=letter)
    c.drawImage(ImageReader(image), 0, 0, width=letter[0], height=letter[1])
    c.showPage()
    c.save()
    return out.getvalue()
