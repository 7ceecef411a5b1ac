"""Documents for the demo brokerage: real PDFs (drawn with reportlab) stored through the same
services as uploads, so `make run` shows every document feature working on first start.

On the demo agent's open buyer file with the demo client: the required-documents checklist,
a purchase agreement awaiting review (with an empty initials field the pre-check flags), a
seller's disclosure returned with a note, an accepted lead-paint disclosure, an inspection
report shared with the client, and an inspection repair addendum ready for the agent to send
for signature. Every listing and buying file of the demo agent gets its checklist.
"""

from __future__ import annotations

import io
import logging
from collections.abc import Sequence

from reportlab.lib.pagesizes import letter
from reportlab.pdfgen import canvas
from sqlmodel import Session, col, select

from chronos.models import Organization, Participant, Role, Stage, Transaction, User
from chronos.services import compliance, documents
from chronos.services.errors import ChronosError

log = logging.getLogger(__name__)


def _pdf(
    title: str,
    pages: Sequence[str],
    *,
    fields: Sequence[tuple[str, str]] = (),
) -> bytes:
    """A letter-size PDF: a heading and paragraphs per page; on the last page, labelled form
    fields (name, value) such as signatures and initials."""
    out = io.BytesIO()
    c = canvas.Canvas(out, pagesize=letter)
    c.setTitle(title)
    for n, text in enumerate(pages, start=1):
        c.setFont("Helvetica-Bold", 15)
        c.drawString(72, 720, title)
        c.setFont("Helvetica", 10.5)
        y = 690
        for paragraph in text.split("\n"):
            words, line = paragraph.split(), ""
            for word in words:
                if c.stringWidth(f"{line} {word}", "Helvetica", 10.5) > 460:
                    c.drawString(72, y, line)
                    y, line = y - 15, word
                else:
                    line = f"{line} {word}".strip()
            c.drawString(72, y, line)
            y -= 22
        if n == len(pages):
            y = min(y - 20, 300)
            for name, value in fields:
                c.drawString(72, y + 5, name)
                c.acroForm.textfield(
                    name=name,
                    x=230,
                    y=y,
                    width=220,
                    height=20,
                    value=value,
                    borderStyle="underlined",
                    forceBorder=True,
                )
                y -= 36
        c.setFont("Helvetica", 8)
        c.drawString(72, 40, f"{title} · page {n} of {len(pages)}")
        c.showPage()
    c.save()
    return out.getvalue()


def _user(db: Session, org_id: int, role: Role) -> User | None:
    return db.exec(
        select(User)
        .where(
            User.org_id == org_id, User.role == role.value, col(User.email).startswith(role.value)
        )
        .order_by(col(User.id))
    ).first()


def _store(
    db: Session,
    actor: User,
    txn_id: int,
    filename: str,
    data: bytes,
    *,
    title: str,
    slot_key: str = "",
    category: str = "other",
    share: documents.Share | None = None,
) -> int:
    from chronos.models import DocumentSlot

    slot_id = None
    if slot_key:
        slot_id = db.exec(
            select(DocumentSlot.id).where(
                DocumentSlot.transaction_id == txn_id, DocumentSlot.key == slot_key
            )
        ).first()
    doc = documents.upload(
        db,
        actor,
        txn_id,
        filename,
        data,
        title=title,
        category=category,
        slot_id=slot_id,
        share=share,
    )
    return doc.id or 0


def seed_demo_documents(db: Session, org_slug: str) -> int:
    """Add the demo documents once (a brokerage that already has documents is left alone).
    Returns how many documents were added."""
    from chronos.models import Document

    org = db.exec(select(Organization).where(Organization.slug == org_slug)).first()
    if org is None or org.id is None:
        return 0
    if db.exec(select(Document.id).where(Document.org_id == org.id)).first() is not None:
        return 0
    admin, agent, client = (_user(db, org.id, r) for r in (Role.ADMIN, Role.AGENT, Role.CLIENT))
    if admin is None or agent is None:
        return 0
    compliance.seed_default_templates(db, org.id)
    open_files = db.exec(
        select(Transaction)
        .where(
            Transaction.org_id == org.id,
            Transaction.owner_id == agent.id,
            col(Transaction.stage).in_(
                [Stage.UNDER_CONTRACT.value, Stage.CLEAR_TO_CLOSE.value, Stage.ACTIVE_LISTING.value]
            ),
        )
        .order_by(col(Transaction.id))
    ).all()
    for txn in open_files:
        tpl = compliance.best_template(db, txn)
        if tpl is not None and tpl.id is not None:
            compliance.apply_template(db, agent, txn.id or 0, tpl.id)
    if client is None:
        return 0
    buying = db.exec(
        select(Transaction)
        .join(Participant, col(Participant.transaction_id) == Transaction.id)
        .where(
            Participant.user_id == client.id,
            Transaction.owner_id == agent.id,
            col(Transaction.stage).in_([Stage.UNDER_CONTRACT.value, Stage.CLEAR_TO_CLOSE.value]),
        )
    ).first()
    if buying is None or buying.id is None:
        return 0
    txn_id, address = buying.id, buying.street
    added = 0
    try:
        _store(
            db,
            agent,
            txn_id,
            "Purchase and sale agreement.pdf",
            _pdf(
                "Purchase and Sale Agreement",
                [
                    f"This purchase and sale agreement is made for the property at {address}. "
                    "The buyer agrees to buy and the seller agrees to sell on the terms below.\n"
                    "1. Purchase price and deposit. 2. Financing contingency. 3. Inspection "
                    "contingency. 4. Title. 5. Closing.",
                    "The buyer may inspect the property within the inspection period and may "
                    "end this agreement in writing before it ends. Time is of the essence.",
                    "Signatures. Each party initials every page and signs below.",
                ],
                fields=[
                    ("Buyer Signature", "Cora Client"),
                    ("Seller Signature", "Sam Seller"),
                    ("Buyer Initials", "CC"),
                    ("Seller Initials", ""),
                ],
            ),
            title="Purchase and sale agreement",
            slot_key="purchase_agreement",
            category="contract",
        )
        disclosure = _store(
            db,
            agent,
            txn_id,
            "Seller disclosure.pdf",
            _pdf(
                "Seller's Property Condition Disclosure",
                [
                    "The seller discloses the following known conditions of the property: "
                    "roof replaced 2015; basement water after heavy rain in 2021; no known "
                    "underground tanks.",
                ],
                fields=[("Seller Signature", "")],
            ),
            title="Seller's disclosure",
            slot_key="sellers_disclosure",
            category="disclosure",
        )
        lead = _store(
            db,
            agent,
            txn_id,
            "Lead paint disclosure.pdf",
            _pdf(
                "Lead-Based Paint Disclosure",
                [
                    "Housing built before 1978 may contain lead-based paint. The seller has no "
                    "reports or records of lead-based paint hazards in the housing."
                ],
                fields=[("Buyer Signature", "Cora Client"), ("Seller Signature", "Sam Seller")],
            ),
            title="Lead-based paint disclosure",
            slot_key="lead_based_paint",
            category="disclosure",
        )
        _store(
            db,
            agent,
            txn_id,
            "Home inspection report.pdf",
            _pdf(
                "Home Inspection Report",
                [
                    f"Inspection of {address}. Overall the home is in good condition for its age.",
                    "Roof: asphalt shingles, about 10 years old, no active leaks.\n"
                    "Electrical: 200 A service; two ungrounded outlets in the kitchen.",
                    "Plumbing: water heater near the end of its life (14 years).\n"
                    "Recommendations: replace the water heater; ground the kitchen outlets.",
                ],
            ),
            title="Home inspection report",
            slot_key="inspection_report",
            category="inspection",
            share=documents.Share(client=True),
        )
        _store(
            db,
            agent,
            txn_id,
            "Inspection addendum.pdf",
            _pdf(
                "Inspection Repair Addendum",
                [
                    "The seller will replace the water heater and ground the kitchen outlets "
                    "before closing, by licensed contractors, with receipts to the buyer."
                ],
                fields=[("Buyer Signature", "")],
            ),
            title="Inspection repair addendum",
            category="addendum",
        )
        added = 5
        db.flush()
        compliance.accept(db, admin, lead)
        compliance.return_document(
            db,
            admin,
            disclosure,
            "The seller's signature is missing on page 1. Please have it signed and upload it again.",
        )
    except ChronosError as exc:  # the demo must never stop the app from starting
        log.warning("demo documents were not all added: %s", exc.message)
    return added
