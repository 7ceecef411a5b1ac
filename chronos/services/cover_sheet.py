"""A file's one-page summary (cover sheet) as a PDF: property, parties, key dates, open tasks,
missing documents, the brokerage's name.

Built from the same service reads as the transaction page, with the viewer as the actor, so it
holds exactly what that person may see. Staff may also make the *client* version (what a client
of the file would see: shared dates only, staff contact details only, no internal notes, no
internal documents or compliance state) to share with a client. Fonts: DejaVu Sans when the
system has it, else the Bitstream Vera that ships with reportlab, so accented names print.
"""

from __future__ import annotations

import io
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any
from xml.sax.saxutils import escape
from zoneinfo import ZoneInfo

from reportlab.lib import colors
from reportlab.lib.pagesizes import LETTER
from reportlab.lib.styles import ParagraphStyle
from reportlab.lib.units import inch
from reportlab.pdfbase import pdfmetrics
from reportlab.pdfbase.ttfonts import TTFont
from reportlab.platypus import Paragraph, SimpleDocTemplate, Spacer, Table, TableStyle
from sqlmodel import Session

from chronos.models import STAFF_PARTICIPANT_ROLES, Organization, Role, User
from chronos.services import access, compliance, key_dates, tasks, transactions
from chronos.services.errors import PermissionDenied, ValidationFailed

AUDIENCES = ("staff", "client")
# The sections an admin can include and order; the heading (brokerage, property, price, dates,
# agent) always comes first. Staff-only sections never print on the client version.
SECTIONS: dict[str, str] = {
    "parties": "Parties",
    "key_dates": "Key dates",
    "open_tasks": "Open tasks",
    "missing_documents": "Documents still needed for closing",
}
STAFF_ONLY_SECTIONS = frozenset({"open_tasks", "missing_documents"})
DEFAULT_SECTIONS = ",".join(SECTIONS)
_FONT_CANDIDATES = (
    (
        "/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf",
        "/usr/share/fonts/truetype/dejavu/DejaVuSans-Bold.ttf",
    ),
)


@dataclass
class Sheet:
    filename: str
    data: bytes


@dataclass(frozen=True)
class SectionSetting:
    key: str
    label: str
    included: bool
    staff_only: bool


def section_order(org: Organization | None) -> list[str]:
    """The brokerage's chosen sections in order (unknown keys in the stored value ignored)."""
    return section_keys(org.cover_sheet_sections if org is not None else DEFAULT_SECTIONS)


def section_keys(stored: str) -> list[str]:
    """Known section names of a stored comma-separated value, in order, each once."""
    keys: list[str] = []
    for key in (stored or "").split(","):
        key = key.strip()
        if key in SECTIONS and key not in keys:
            keys.append(key)
    return keys


def _require_admin(db: Session, actor: User) -> Organization:
    actor = access.require_active(actor)
    if actor.role != Role.ADMIN:
        raise PermissionDenied("Only an admin can choose what the summary PDF shows.")
    org = db.get(Organization, actor.org_id)
    if org is None:
        raise PermissionDenied("Only an admin can choose what the summary PDF shows.")
    return org


def section_settings(db: Session, actor: User) -> list[SectionSetting]:
    """Every section, the included ones first in their order, then the left-out ones."""
    org = _require_admin(db, actor)
    chosen = section_order(org)
    rest = [k for k in SECTIONS if k not in chosen]
    return [
        SectionSetting(k, SECTIONS[k], k in chosen, k in STAFF_ONLY_SECTIONS)
        for k in (*chosen, *rest)
    ]


def save_sections(db: Session, actor: User, keys: object) -> list[str]:
    """Store the included sections in this order (admins only)."""
    org = _require_admin(db, actor)
    if not isinstance(keys, list) or not all(isinstance(k, str) for k in keys):
        raise ValidationFailed({"sections": "Send the sections as a list of their names."})
    unknown = [k for k in keys if k not in SECTIONS]
    if unknown:
        raise ValidationFailed({"sections": f"There is no section called {unknown[0][:40]!r}."})
    if len(set(keys)) != len(keys):
        raise ValidationFailed({"sections": "Each section can be included once."})
    org.cover_sheet_sections = ",".join(keys)
    db.add(org)
    db.flush()
    return list(keys)


def _fonts() -> tuple[str, str]:
    if "ChronosSans" in pdfmetrics.getRegisteredFontNames():
        return "ChronosSans", "ChronosSans-Bold"
    import reportlab

    bundled = Path(reportlab.__file__).parent / "fonts"
    for regular, bold in (
        *_FONT_CANDIDATES,
        (str(bundled / "Vera.ttf"), str(bundled / "VeraBd.ttf")),
    ):
        if Path(regular).exists() and Path(bold).exists():
            pdfmetrics.registerFont(TTFont("ChronosSans", regular))
            pdfmetrics.registerFont(TTFont("ChronosSans-Bold", bold))
            return "ChronosSans", "ChronosSans-Bold"
    return "Helvetica", "Helvetica-Bold"


def cover_sheet(db: Session, actor: User, txn_id: int, *, audience: str = "staff") -> Sheet:
    """The PDF for ``actor``; ``audience="client"`` (staff only) makes the client version."""
    actor = access.require_active(actor)
    if audience not in AUDIENCES:
        raise ValidationFailed({"audience": "Choose the staff or the client version."})
    client_view = audience == "client" or not actor.is_staff
    detail = transactions.get_transaction(db, actor, txn_id)
    org = db.get(Organization, actor.org_id)
    dates = key_dates.list_key_dates(db, actor, txn_id)
    if client_view:
        dates = [d for d in dates if d.shared_with_parties]
    open_tasks = [] if client_view else tasks.list_tasks(db, actor, txn_id, show="open")
    missing = [] if client_view else compliance.missing_for_closing(db, txn_id)
    zone = ZoneInfo(org.timezone) if org else ZoneInfo("UTC")
    made = datetime.now(zone).strftime("%d %b %Y, %H:%M")
    regular, bold = _fonts()
    s = _styles(regular, bold)

    story: list[Any] = [
        Paragraph(escape(org.name if org else "Chronos"), s["brand"]),
        Paragraph(escape(detail.address), s["title"]),
        Paragraph(
            escape(
                f"{detail.side_label} · {detail.stage_label} · {detail.property_type_label}"
                + (f" · MLS {detail.mls_number}" if detail.mls_number else "")
            ),
            s["muted"],
        ),
        Spacer(1, 8),
        _grid(
            [
                ("Price", detail.price or "—"),
                ("Effective date", detail.effective_label or "—"),
                ("Closing date", detail.closing_label or "—"),
                ("Agent", f"{detail.owner_name} · {detail.owner_email}"),
            ],
            s,
        ),
    ]

    ctx = _Context(
        parties=detail.participants,
        dates=dates,
        open_tasks=open_tasks,
        missing=missing,
        client_view=client_view,
        s=s,
    )
    for key in section_order(org):
        if client_view and key in STAFF_ONLY_SECTIONS:
            continue
        story += _BUILDERS[key](ctx)

    story += [
        Spacer(1, 14),
        Paragraph(
            escape(
                f"Made {made} by {actor.full_name}"
                + (
                    " · client version: internal notes and documents left out"
                    if client_view
                    else ""
                )
            ),
            s["muted"],
        ),
    ]
    out = io.BytesIO()
    doc = SimpleDocTemplate(
        out,
        pagesize=LETTER,
        leftMargin=0.75 * inch,
        rightMargin=0.75 * inch,
        topMargin=0.7 * inch,
        bottomMargin=0.7 * inch,
        title=f"Summary: {detail.address}",
        author=org.name if org else "Chronos",
        subject="Transaction summary",
    )
    doc.build(story)
    slug = "".join(ch if ch.isalnum() else "-" for ch in detail.street.lower()).strip("-")[:60]
    suffix = "-client" if client_view and actor.is_staff else ""
    return Sheet(filename=f"summary-{slug or txn_id}{suffix}.pdf", data=out.getvalue())


@dataclass
class _Context:
    parties: list[Any]
    dates: list[Any]
    open_tasks: list[Any]
    missing: list[str]
    client_view: bool
    s: dict[str, ParagraphStyle]


def _parties(c: _Context) -> list[Any]:
    # Names and roles are on every version; in the client version contact details are the
    # brokerage team's only (as the portal shows them).
    return [
        *_section("Parties", c.s),
        _table(
            ["Role", "Name", "Email", "Phone"],
            [
                [
                    p.role_label,
                    p.name,
                    _contact(p.email, p, c.client_view),
                    _contact(p.phone, p, c.client_view),
                ]
                for p in c.parties
            ],
            c.s,
            widths=[1.3, 2.0, 2.3, 1.4],
            empty="Nobody has been added to this file yet.",
        ),
    ]


def _key_dates(c: _Context) -> list[Any]:
    return [
        *_section("Key dates", c.s),
        _table(
            ["Date", "When", "Status"],
            [[d.label, d.date_label or "Not set", _date_status(d)] for d in c.dates],
            c.s,
            widths=[2.2, 2.6, 2.2],
            empty="No dates shared yet." if c.client_view else "No key dates yet.",
        ),
    ]


def _open_tasks(c: _Context) -> list[Any]:
    out = [
        *_section("Open tasks", c.s),
        _table(
            ["Task", "For", "Due"],
            [
                [t.title, t.assignee_label or "—", t.due_label or "No date"]
                for t in c.open_tasks[:60]
            ],
            c.s,
            widths=[3.6, 1.8, 1.6],
            empty="No open tasks.",
        ),
    ]
    if len(c.open_tasks) > 60:
        out.append(Paragraph(f"… and {len(c.open_tasks) - 60} more open tasks.", c.s["muted"]))
    return out


def _missing_documents(c: _Context) -> list[Any]:
    out = _section("Documents still needed for closing", c.s)
    if c.missing:
        return out + [Paragraph("• " + escape(m), c.s["body"]) for m in c.missing]
    return [*out, Paragraph("Every required document is accepted.", c.s["body"])]


_BUILDERS: dict[str, Callable[[_Context], list[Any]]] = {
    "parties": _parties,
    "key_dates": _key_dates,
    "open_tasks": _open_tasks,
    "missing_documents": _missing_documents,
}


def _contact(value: str, row: Any, client_view: bool) -> str:
    if client_view and row.role not in STAFF_PARTICIPANT_ROLES:
        return "—"
    return value or "—"


def _date_status(d: Any) -> str:
    if not d.date:
        return "Needs a date"
    if d.overdue:
        return f"Past ({d.days_label})"
    return d.days_label or ""


def _styles(regular: str, bold: str) -> dict[str, ParagraphStyle]:
    base = ParagraphStyle("body", fontName=regular, fontSize=9.5, leading=12.5)
    return {
        "body": base,
        "cell": ParagraphStyle("cell", parent=base, fontSize=9, leading=11.5),
        "head": ParagraphStyle("head", parent=base, fontName=bold, fontSize=9, leading=11.5),
        "muted": ParagraphStyle(
            "muted", parent=base, fontSize=8.5, textColor=colors.HexColor("#555555")
        ),
        "brand": ParagraphStyle(
            "brand", parent=base, fontName=bold, fontSize=10, textColor=colors.HexColor("#3E63DD")
        ),
        "title": ParagraphStyle(
            "title",
            parent=base,
            fontName=bold,
            fontSize=17,
            leading=21,
            spaceBefore=4,
            spaceAfter=2,
        ),
        "h2": ParagraphStyle(
            "h2", parent=base, fontName=bold, fontSize=12, leading=15, spaceBefore=12, spaceAfter=4
        ),
    }


def _section(title: str, s: dict[str, ParagraphStyle]) -> list[Any]:
    return [Paragraph(escape(title), s["h2"])]


def _grid(pairs: list[tuple[str, str]], s: dict[str, ParagraphStyle]) -> Table:
    data = [[Paragraph(escape(k), s["head"]), Paragraph(escape(v), s["cell"])] for k, v in pairs]
    table = Table(data, colWidths=[1.4 * inch, 5.6 * inch])
    table.setStyle(
        TableStyle([("VALIGN", (0, 0), (-1, -1), "TOP"), ("BOTTOMPADDING", (0, 0), (-1, -1), 3)])
    )
    return table


def _table(
    header: list[str],
    rows: list[list[str]],
    s: dict[str, ParagraphStyle],
    *,
    widths: list[float],
    empty: str,
) -> Any:
    if not rows:
        return Paragraph(escape(empty), s["muted"])
    data = [[Paragraph(escape(h), s["head"]) for h in header]]
    data += [[Paragraph(escape(str(c)), s["cell"]) for c in row] for row in rows]
    table = Table(data, colWidths=[w * inch for w in widths], repeatRows=1)
    table.setStyle(
        TableStyle(
            [
                ("VALIGN", (0, 0), (-1, -1), "TOP"),
                ("LINEBELOW", (0, 0), (-1, 0), 0.6, colors.HexColor("#999999")),
                ("LINEBELOW", (0, 1), (-1, -1), 0.25, colors.HexColor("#DDDDDD")),
                ("TOPPADDING", (0, 0), (-1, -1), 3),
                ("BOTTOMPADDING", (0, 0), (-1, -1), 3),
            ]
        )
    )
    return table
