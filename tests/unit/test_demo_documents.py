"""The demo brokerage's documents: seeded through the real services once, showing each
feature (checklist states, the review queue, a returned document, a signature to give) with
the access rules intact."""

from __future__ import annotations

from sqlmodel import Session, select

from chronos import demo
from chronos.demo_documents import seed_demo_documents
from chronos.models import Document, User
from chronos.services import compliance, documents, signatures


def _login(db: Session, role: str) -> User:
    email = next(d.email for d in demo.demo_logins() if d.role == role)
    return db.exec(select(User).where(User.email == email)).one()


def test_demo_documents_show_every_state_and_respect_access(db: Session) -> None:
    demo.seed_demo(db)
    db.commit()
    assert seed_demo_documents(db, demo.DEMO_ORG_SLUG) == 5
    db.commit()
    assert seed_demo_documents(db, demo.DEMO_ORG_SLUG) == 0  # once
    admin, client, lender = (_login(db, r) for r in ("admin", "client", "lender"))
    queue = compliance.review_queue(db, admin).items
    pending = next(r for r in queue if r.title == "Purchase and sale agreement")
    assert pending.precheck == "Seller Initials"  # the pre-check flags the empty field
    statuses = {d.title: d.review_status for d in db.exec(select(Document)).all()}
    assert statuses["Seller's disclosure"] == "returned"
    assert statuses["Lead-based paint disclosure"] == "accepted"
    txn_id = db.exec(select(Document.transaction_id)).first()
    assert txn_id is not None
    seen = {r.title for r in documents.list_documents(db, client, txn_id).items}
    assert "Home inspection report" in seen and "Purchase and sale agreement" not in seen
    assert signatures.pending_for_user(db, client) == []  # the agent sends it from the app
    for row in documents.list_documents(db, lender, txn_id).items:
        assert row.share_lender
