"""Packet splitting: one signed PDF holding several documents becomes one document per page
range, each filed on a checklist item.

``plan_boundaries`` is pure (page texts and checklist items in, suggested parts out) and
explains every suggestion. A part starts where

- a page's first lines name a checklist item (its name, or one of its hint phrases) other than
  the one the current part is for;
- "Page 1 of N"-style numbering restarts (a "Page 3 of 5" page always continues its part);
- a form title line appears ("SELLER'S PROPERTY DISCLOSURE STATEMENT").

``split`` writes each range as a new PDF with pypdf, validates it like any upload and stores
it as a new document (the packet stays). It is one unit of work: a failure saves nothing.
"""

from __future__ import annotations

import io
import itertools
import re
import warnings
from dataclasses import dataclass, field
from typing import Any

from sqlmodel import Session, col, select

from chronos.models import Document, DocumentSlot, Role, User
from chronos.services import access, documents, timeline
from chronos.services.errors import ChronosError, Conflict, ValidationFailed
from chronos.services.files import PDF, page_texts, prepare_upload
from chronos.services.validation import clean_text

STAFF = (Role.ADMIN, Role.AGENT, Role.COORDINATOR)
HEAD_LINES = 8
STOPWORDS = frozenset(
    {
        "a",
        "an",
        "and",
        "as",
        "at",
        "by",
        "for",
        "from",
        "in",
        "into",
        "of",
        "on",
        "or",
        "the",
        "to",
        "with",
        "this",
        "that",
        "is",
        "are",
        "be",
        "s",
        "page",
        "pages",
    }
)
FORM_WORDS = frozenset(
    {
        "agreement",
        "addendum",
        "amendment",
        "disclosure",
        "disclosures",
        "contract",
        "report",
        "notice",
        "statement",
        "affidavit",
        "certificate",
        "commitment",
        "estimate",
        "acknowledgment",
        "acknowledgement",
        "authorization",
        "receipt",
        "inventory",
        "checklist",
        "application",
        "declaration",
        "waiver",
        "release",
        "form",
    }
)
PAGE_NUMBER = re.compile(r"\bpage\s+(\d{1,3})\s*(?:of|/)\s*(\d{1,3})\b", re.IGNORECASE)


@dataclass
class SlotHint:
    """A checklist item as the planner sees it."""

    key: str
    name: str
    hint: str = ""
    id: int = 0
    category: str = "other"


@dataclass
class Part:
    start: int  # 1-based, inclusive
    end: int
    slot_key: str | None
    title: str
    reason: str


# --- the pure planner ----------------------------------------------------------------------


def _words(text: str) -> list[str]:
    text = text.lower().replace("\u2019", "'")
    text = re.sub(r"'s\b", "", text)
    return [w for w in re.findall(r"[a-z0-9]+", text) if w not in STOPWORDS]


def _head(text: str) -> list[str]:
    lines = [ln.strip() for ln in (text or "").splitlines() if ln.strip()]
    return lines[:HEAD_LINES]


def _phrases(hint: str) -> list[tuple[str, list[str]]]:
    """A hint's phrases (comma, semicolon or line separated): (as written, its words)."""
    out = []
    for raw in re.split(r"[,;|\n]+", hint or ""):
        words = _words(raw)
        if words:
            out.append((raw.strip(), words))
    return out


def _contains(haystack: list[str], needle: list[str]) -> bool:
    """``needle``'s words appear in this order, next to each other, in ``haystack``."""
    n = len(needle)
    return any(haystack[i : i + n] == needle for i in range(len(haystack) - n + 1))


def score_slot(head_words: list[str], slot: SlotHint) -> tuple[float, str]:
    """How well a page's first lines name ``slot``: (score, what matched). The share of the
    name's words found (all needed for names of one or two words, two thirds for longer
    ones), or 1 when a hint phrase appears as written; a longer match wins ties."""
    present = set(head_words)
    name_words = _words(re.sub(r"\([^)]*\)", " ", slot.name))  # "(homes built before 1978)"
    best, what = 0.0, ""
    if name_words:
        found = sum(1 for w in set(name_words) if w in present)
        share = found / len(set(name_words))
        needed = 1.0 if len(set(name_words)) <= 2 else 2 / 3
        if share >= needed:
            best, what = share + 0.01 * found, slot.name
    for written, phrase in _phrases(slot.hint):
        if _contains(head_words, phrase):
            value = 1.0 + 0.01 * len(phrase)
            if value > best:
                best, what = value, written
    return best, what


def best_slot(head: list[str], slots: list[SlotHint]) -> tuple[SlotHint | None, str]:
    words = _words(" ".join(head))
    best: tuple[float, SlotHint | None, str] = (0.0, None, "")
    for slot in slots:
        score, what = score_slot(words, slot)
        if score > best[0]:
            best = (score, slot, what)
    return best[1], best[2]


def page_number(text: str) -> tuple[int, int] | None:
    """("Page 3 of 5" → (3, 5)) from the page's first or last lines."""
    lines = [ln.strip() for ln in (text or "").splitlines() if ln.strip()]
    for line in lines[:HEAD_LINES] + lines[-4:]:
        m = PAGE_NUMBER.search(line)
        if m:
            k, n = int(m.group(1)), int(m.group(2))
            if 1 <= k <= n:
                return k, n
    return None


def title_line(head: list[str]) -> str:
    """The first of the first three lines that reads like a form's title: a short line with
    a form word ("agreement", "disclosure", ...) written in capitals or title case."""
    for line in head[:3]:
        words = re.findall("[A-Za-z][A-Za-z'\u2019-]*", line)
        if not 2 <= len(words) <= 12 or PAGE_NUMBER.search(line):
            continue
        if not any(w.lower().strip("'\u2019") in FORM_WORDS for w in words):
            continue
        significant = [w for w in words if w.lower() not in STOPWORDS]
        capitalized = sum(1 for w in significant if w[0].isupper())
        if line.upper() == line or capitalized >= 0.7 * max(len(significant), 1):
            return line.strip()
    return ""


def _nice_title(line: str) -> str:
    if line.upper() == line:
        small = {"of", "and", "the", "for", "to", "a", "an", "on", "in", "or", "by"}
        words = line.lower().split()
        line = " ".join(
            w if (i and w in small) else w[:1].upper() + w[1:] for i, w in enumerate(words)
        )
    return clean_text(line, 200)


def plan_boundaries(page_texts: list[str], slots: list[SlotHint]) -> list[Part]:
    """Suggested parts covering every page once, in order (see the module's docstring)."""
    parts: list[Part] = []
    current_title_line = ""
    for number, text in enumerate(page_texts, start=1):
        head = _head(text)
        numbering = page_number(text)
        slot, matched = best_slot(head, slots)
        heading = title_line(head)
        if not parts:
            start = True
            why = f"form title “{heading}” on page {number}" if heading and slot is None else ""
        elif numbering and numbering[0] > 1:
            start, why = False, ""  # "Page 3 of 5" continues whatever it belongs to
        elif numbering and numbering[0] == 1:
            start, why = True, f"“Page 1 of {numbering[1]}” starts again on page {number}"
        elif slot is not None and slot.key != parts[-1].slot_key:
            start, why = True, ""
        elif heading and slot is None and heading != current_title_line:
            start, why = True, f"form title “{heading}” on page {number}"
        else:
            start, why = False, ""
        if not start:
            parts[-1].end = number
            continue
        current_title_line = heading
        reasons = []
        if slot is not None:
            reasons.append(f"matched “{matched}” on page {number}")
        if why:
            reasons.append(why)
        if slot is None:
            reasons.append("no checklist item matched its first lines")
        title = slot.name if slot is not None else (_nice_title(heading) if heading else "")
        parts.append(
            Part(
                start=number,
                end=number,
                slot_key=slot.key if slot else None,
                title=title,
                reason="; ".join(reasons),
            )
        )
    for part in parts:
        if not part.title:
            part.title = (
                f"Pages {part.start}\u2013{part.end}"
                if part.end > part.start
                else f"Page {part.start}"
            )
        if part.reason:
            part.reason = part.reason[0].upper() + part.reason[1:]
    return parts


# --- the service ----------------------------------------------------------------------------


@dataclass
class SlotOption:
    id: int
    key: str
    name: str


@dataclass
class PlannedPart:
    start: int
    end: int
    slot_id: int  # 0 = none
    title: str
    reason: str


@dataclass
class SplitPlan:
    document_id: int
    version_id: int
    title: str
    page_count: int
    parts: list[PlannedPart] = field(default_factory=list)
    slots: list[SlotOption] = field(default_factory=list)
    # A signed 480 px PNG of every page (index n-1 = page n) for the part thumbnails.
    page_urls: list[str] = field(default_factory=list)


def _slots(db: Session, txn_id: int) -> list[DocumentSlot]:
    return list(
        db.exec(
            select(DocumentSlot)
            .where(DocumentSlot.transaction_id == txn_id)
            .order_by(col(DocumentSlot.position), col(DocumentSlot.id))
        ).all()
    )


def _editable_packet(db: Session, actor: User | None, document_id: int) -> Document:
    access.require_role(actor, STAFF)
    return documents.get_editable_document(db, actor, document_id)


def _pdf_reader(data: bytes) -> Any:
    from pypdf import PdfReader

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return PdfReader(io.BytesIO(data), strict=False)


def _packet_version(db: Session, doc: Document) -> Any:
    version = documents.current_version(db, doc)
    if version.content_type != PDF:
        raise ValidationFailed({"document": f"“{doc.title}” is a photo; only PDFs can be split."})
    if version.page_count < 2:
        raise ValidationFailed(
            {"document": f"“{doc.title}” has one page; there is nothing to split."}
        )
    return version


def splittable_documents(
    db: Session, actor: User | None, transaction_id: int
) -> list[documents.DocumentRow]:
    """The file's PDFs with two pages or more (staff on the file)."""
    access.require_role(actor, STAFF)
    access.get_editable_transaction(db, actor, transaction_id)
    return [
        row
        for row in documents.documents_for_picker(db, actor, transaction_id)
        if row.is_pdf and row.page_count >= 2
    ]


def suggest_split(db: Session, actor: User | None, document_id: int) -> SplitPlan:
    doc = _editable_packet(db, actor, document_id)
    assert actor is not None and actor.id is not None
    version = _packet_version(db, doc)
    reader = _pdf_reader(documents.read_bytes(version))
    texts = page_texts(reader)
    slot_rows = _slots(db, doc.transaction_id)
    hints = [
        SlotHint(key=s.key, name=s.name, hint=s.hint, id=s.id or 0, category=s.category)
        for s in slot_rows
    ]
    by_key = {h.key: h for h in hints}
    parts = plan_boundaries(texts, hints)
    assert version.id is not None
    return SplitPlan(
        document_id=doc.id or 0,
        version_id=version.id,
        title=doc.title,
        page_count=len(texts),
        parts=[
            PlannedPart(
                start=p.start,
                end=p.end,
                slot_id=by_key[p.slot_key].id if p.slot_key in by_key else 0,
                title=p.title,
                reason=p.reason,
            )
            for p in parts
        ],
        slots=[SlotOption(h.id, h.key, h.name) for h in hints],
        page_urls=[
            documents.file_link(actor.id, version.id, page=n, width=480)
            for n in range(1, len(texts) + 1)
        ],
    )


def _as_int(value: Any) -> int | None:
    try:
        return int(str(value).strip())
    except (TypeError, ValueError):
        return None


def _pages(start: int, end: int) -> str:
    return f"pages {start}\u2013{end}" if end > start else f"page {start}"


def validate_parts(
    parts: list[dict[str, Any]], page_count: int, slot_ids: set[int]
) -> list[tuple[int, int, int | None, str]]:
    """(start, end, slot id, title) per part, or ``ValidationFailed`` with one message per
    wrong part under ``parts.<n>`` (n from 0) and ``parts`` for the whole list."""
    if not parts:
        raise ValidationFailed({"parts": "Add at least one part to split out."})
    errors: dict[str, str] = {}
    cleaned: list[tuple[int, int, int | None, str]] = []
    for n, raw in enumerate(parts):
        label = f"Part {n + 1}"
        start, end = _as_int(raw.get("start")), _as_int(raw.get("end"))
        slot_id = _as_int(raw.get("slot_id")) or None
        title = clean_text(str(raw.get("title") or ""), 200)
        if start is None or end is None:
            errors[f"parts.{n}"] = f"{label}: enter a first and a last page as numbers."
        elif start < 1:
            errors[f"parts.{n}"] = f"{label}: pages are counted from 1."
        elif end < start:
            errors[f"parts.{n}"] = f"{label}: the last page ({end}) is before the first ({start})."
        elif end > page_count:
            errors[f"parts.{n}"] = (
                f"{label}: the packet has {page_count} pages; page {end} does not exist."
            )
        elif slot_id is not None and slot_id not in slot_ids:
            errors[f"parts.{n}"] = f"{label}: that checklist item is not on this transaction."
        if f"parts.{n}" not in errors:
            assert start is not None and end is not None
            cleaned.append((start, end, slot_id, title))
        else:
            cleaned.append((0, 0, None, ""))
    ordered = sorted(
        ((s, e, n) for n, (s, e, _, _) in enumerate(cleaned) if s), key=lambda t: (t[0], t[1])
    )
    for (s1, e1, n1), (s2, e2, n2) in itertools.pairwise(ordered):
        if s2 <= e1:
            errors.setdefault(
                f"parts.{n2}",
                f"Part {n2 + 1} ({_pages(s2, e2)}) overlaps part {n1 + 1} ({_pages(s1, e1)}).",
            )
    if errors:
        raise ValidationFailed(errors, " ".join(errors[k] for k in sorted(errors, key=_order)))
    return cleaned


def _order(key: str) -> tuple[int, str]:
    _, _, n = key.partition(".")
    return (int(n) if n.isdigit() else -1, key)


def _filename(title: str) -> str:
    stem = re.sub(r"[^A-Za-z0-9]+", "-", title).strip("-")[:80] or "part"
    return f"{stem}.pdf"


def split(
    db: Session, actor: User | None, document_id: int, parts: list[dict[str, Any]]
) -> list[Document]:
    """New documents, one per part (``{start, end, slot_id, title}``), shared like the packet.
    Any refusal raises before anything is kept (the caller's unit of work rolls back)."""
    from pypdf import PdfWriter

    from chronos.settings import get_settings

    doc = _editable_packet(db, actor, document_id)
    assert actor is not None
    txn = access.get_editable_transaction(db, actor, doc.transaction_id)
    version = _packet_version(db, doc)
    slots = {s.id: s for s in _slots(db, doc.transaction_id) if s.id is not None}
    cleaned = validate_parts(parts, version.page_count, set(slots))
    data = documents.read_bytes(version)
    reader = _pdf_reader(data)
    if len(reader.pages) != version.page_count:  # pragma: no cover - stored count is the truth
        raise ValidationFailed({"document": "The packet's pages could not be read."})
    limit = max(get_settings().max_upload_bytes, 2 * len(data))
    share = documents.Share(doc.share_client, doc.share_attorney, doc.share_lender)
    created: list[Document] = []
    summary: list[str] = []
    for n, (start, end, slot_id, title) in enumerate(cleaned):
        slot = slots.get(slot_id) if slot_id else None
        title = title or (slot.name if slot else f"{doc.title} ({_pages(start, end)})")
        writer = PdfWriter()
        for index in range(start - 1, end):
            writer.add_page(reader.pages[index])
        writer.add_metadata({"/Title": title})
        out = io.BytesIO()
        writer.write(out)
        piece = out.getvalue()
        try:
            # A part of a file stored before uploads were cleaned may carry its pages' scripts.
            inspected, piece = prepare_upload(_filename(title), piece, max_bytes=limit)
            new_doc = documents.add_document(
                db,
                actor,
                txn,
                inspected,
                piece,
                title=title,
                category="other" if slot else doc.category,
                slot=slot,
                share=share,
                source="split",
                allow_duplicate=False,
            )
        except Conflict as exc:
            raise Conflict(f"Part {n + 1} ({_pages(start, end)}): {exc.message}") from exc
        except ValidationFailed as exc:
            raise ValidationFailed(
                {f"parts.{n}": f"Part {n + 1}: {exc.message}"}, f"Part {n + 1}: {exc.message}"
            ) from exc
        except ChronosError:
            raise
        created.append(new_doc)
        where = f" for “{slot.name}”" if slot else ""
        summary.append(f"“{new_doc.title}” ({_pages(start, end)}){where}")
    timeline.record(
        db,
        actor=actor,
        txn=txn,
        kind="packet_split",
        summary=f"Split “{doc.title}” into {len(created)} document"
        f"{'s' if len(created) != 1 else ''}: " + "; ".join(summary),
        data={"document_id": doc.id, "created": [d.id for d in created]},
    )
    db.flush()
    return created
