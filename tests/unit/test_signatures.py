"""E-signature: staff send a PDF to participants in order; only the current signer signs,
with consent; the last signature stamps the pages and appends a certificate whose hashes a
test can recompute; a request can be voided but never edited; wrong personas are refused."""

from __future__ import annotations

import hashlib
import io
import re

import pytest
from PIL import Image, ImageDraw
from pypdf import PdfReader
from sqlmodel import Session, col, select

from chronos.models import Document, DocumentVersion, EmailMessage, Notification
from chronos.models.document import SignatureRequest, SignatureSigner
from chronos.services import documents, signatures
from chronos.services.errors import Conflict, NotFound, PermissionDenied, ValidationFailed
from chronos.storage import get_storage
from tests.factories import World, add_staff, event_kinds, participant_of
from tests.support.pdfs import make_pdf


def _doc(db: Session, world: World, pdf: bytes | None = None) -> Document:
    return documents.upload(
        db,
        world.agent,
        world.deal.id or 0,
        "purchase agreement.pdf",
        pdf or make_pdf(["Purchase agreement page 1", "Page 2: terms"]),
    )


def _pids(db: Session, world: World, *who: str) -> list[int]:
    return [participant_of(db, world.deal, world.user(w)).id or 0 for w in who]


def _send(db: Session, world: World, *who: str, doc: Document | None = None) -> SignatureRequest:
    doc = doc or _doc(db, world)
    return signatures.request_signatures(
        db, world.agent, doc.id or 0, _pids(db, world, *who), "Sign the P&S", "Please sign today"
    )


def _sign(db: Session, world: World, who: str, req: SignatureRequest, **kw: object) -> None:
    args: dict = {
        "consent": True,
        "kind": "typed",
        "typed_name": world.user(who).full_name,
        "client_address": f"203.0.113.{len(who)}",
        "user_agent": f"TestBrowser/{who}",
    } | kw
    signatures.sign(db, world.user(who), req.id or 0, **args)


def _drawn(blank: bool = False, size: tuple[int, int] = (300, 100)) -> bytes:
    im = Image.new("RGBA", size, (0, 0, 0, 0))
    if not blank:
        d = ImageDraw.Draw(im)
        d.line([(10, 70), (80, 20), (150, 80), (280, 30)], fill=(0, 0, 0, 255), width=4)
    out = io.BytesIO()
    im.save(out, format="PNG")
    return out.getvalue()


def _notes(db: Session, user_id: int | None, kind: str) -> list[Notification]:
    return list(
        db.exec(
            select(Notification).where(Notification.user_id == user_id, Notification.kind == kind)
        )
    )


def _emails(db: Session, to: str, template: str) -> list[EmailMessage]:
    rows = db.exec(select(EmailMessage).where(EmailMessage.to_address == to)).all()
    return [r for r in rows if r.template == template]


def test_request_pins_the_version_shares_it_and_asks_only_the_first_signer(
    db: Session, world: World
) -> None:
    doc = _doc(db, world)
    assert not doc.share_client and not doc.share_attorney
    req = _send(db, world, "client", "attorney", doc=doc)
    version = documents.current_version(db, doc)
    assert req.source_version_id == version.id
    assert req.source_sha256 == hashlib.sha256(documents.read_bytes(version)).hexdigest()
    assert doc.share_client and doc.share_attorney and not doc.share_lender
    signers = db.exec(
        select(SignatureSigner)
        .where(SignatureSigner.request_id == req.id)
        .order_by(col(SignatureSigner.position))
    ).all()
    assert [(s.user_id, s.status) for s in signers] == [
        (world.client.id, "notified"),
        (world.attorney.id, "waiting"),
    ]
    assert "signature_requested" in event_kinds(db, world.deal.id)
    (note,) = _notes(db, world.client.id, "signature_request")
    assert note.link == f"/portal/{world.deal.id}/sign/{req.id}"
    assert _notes(db, world.attorney.id, "signature_request") == []
    (mail,) = _emails(db, world.client.email, "signature_request")
    assert f"/portal/{world.deal.id}/sign/{req.id}" in mail.text_body
    assert _emails(db, world.attorney.email, "signature_request") == []
    # the client now sees it; what waits for them
    assert [r.id for r in signatures.pending_for_user(db, world.client)] == [req.id]
    assert signatures.pending_for_user(db, world.attorney) == []


@pytest.mark.parametrize("who", ["agent2", "client", "lender", "outsider_agent", "outsider_admin"])
def test_only_staff_on_the_file_may_request(db: Session, world: World, who: str) -> None:
    doc = _doc(db, world)
    with pytest.raises((NotFound, PermissionDenied)):
        signatures.request_signatures(
            db, world.user(who), doc.id or 0, _pids(db, world, "client"), "x", ""
        )


def test_request_validation(db: Session, world: World) -> None:
    doc = _doc(db, world)

    def refused(ids: list[int], **kw: str) -> dict[str, str]:
        with pytest.raises(ValidationFailed) as exc:
            signatures.request_signatures(db, world.agent, doc.id or 0, ids, **kw)
        return exc.value.errors

    assert "signers" in refused([])
    c = _pids(db, world, "client")[0]
    assert "duplicate" in refused([c, c])["signers"]
    assert "signers" in refused(list(range(1, 13)))
    # a contact without a login (the seller) cannot sign; nor a participant of another file
    seller = next(
        p.id
        for p in db.exec(select(signatures.Participant))
        if p.role == "seller" and not p.user_id
    )
    assert "login" in refused([seller or 0])["signers"]
    other = participant_of(db, world.other_deal, world.client2).id or 0
    assert "login" in refused([other])["signers"]
    assert "title" in refused([c], title="x" * 201)
    photo = documents.upload(
        db, world.agent, world.deal.id or 0, "porch.png", _drawn(size=(40, 40))
    )
    with pytest.raises(ValidationFailed) as exc:
        signatures.request_signatures(db, world.agent, photo.id or 0, [c])
    assert "PDF" in exc.value.errors["document"]


def test_staff_on_the_file_can_be_signers(db: Session, world: World) -> None:
    req = _send(db, world, "coordinator", "client")
    assert signatures.pending_for_user(db, world.coordinator)[0].id == req.id
    _sign(db, world, "coordinator", req)
    _sign(db, world, "client", req)
    assert req.status == "completed"


def test_order_is_enforced_and_wrong_personas_cannot_sign(db: Session, world: World) -> None:
    req = _send(db, world, "client", "attorney")
    with pytest.raises(PermissionDenied, match="waiting for Cora Client"):
        _sign(db, world, "attorney", req)
    for who in ("client2", "lender", "agent2", "outsider_agent"):
        with pytest.raises(NotFound):
            _sign(db, world, who, req)
    # the agent sees the request but is not a signer
    with pytest.raises(NotFound):
        _sign(db, world, "agent", req)
    _sign(db, world, "client", req)
    (note,) = _notes(db, world.attorney.id, "signature_request")
    assert note.link.endswith(f"/sign/{req.id}")
    assert len(_emails(db, world.attorney.email, "signature_request")) == 1
    assert req.status == "pending"
    _sign(db, world, "attorney", req)
    assert req.status == "completed"


def test_consent_and_signature_are_validated(db: Session, world: World) -> None:
    req = _send(db, world, "client")
    cases = [
        ({"consent": False}, "consent"),
        ({"typed_name": "   "}, "signature"),
        ({"typed_name": "x" * 101}, "signature"),
        ({"kind": "stamp"}, "signature"),
        ({"kind": "drawn", "drawn_png": None}, "signature"),
        ({"kind": "drawn", "drawn_png": _drawn(blank=True)}, "signature"),
        ({"kind": "drawn", "drawn_png": b"GIF89a" + b"0" * 100}, "signature"),
        ({"kind": "drawn", "drawn_png": _drawn(size=(2100, 100))}, "signature"),
        ({"kind": "drawn", "drawn_png": b"\x89PNG\r\n\x1a\n" + b"0" * 210_000}, "signature"),
    ]
    for kw, key in cases:
        with pytest.raises(ValidationFailed) as exc:
            _sign(db, world, "client", req, **kw)
        assert key in exc.value.errors, kw
    signer = db.exec(select(SignatureSigner).where(SignatureSigner.request_id == req.id)).one()
    assert signer.status == "notified" and signer.signed_at is None


def test_a_second_submit_is_refused(db: Session, world: World) -> None:
    req = _send(db, world, "client", "attorney")
    _sign(db, world, "client", req)
    with pytest.raises(Conflict, match="already signed"):
        _sign(db, world, "client", req)


def test_void_needs_staff_a_reason_and_a_pending_request(db: Session, world: World) -> None:
    req = _send(db, world, "client", "attorney")
    for who in ("client", "attorney"):
        with pytest.raises(PermissionDenied):
            signatures.void(db, world.user(who), req.id or 0, "no")
    for who in ("agent2", "outsider_admin"):
        with pytest.raises(NotFound):
            signatures.void(db, world.user(who), req.id or 0, "no")
    with pytest.raises(ValidationFailed):
        signatures.void(db, world.agent, req.id or 0, "  ")
    signatures.void(db, world.agent, req.id or 0, "Wrong price on page 2")
    assert req.status == "voided" and req.void_reason == "Wrong price on page 2"
    assert "signature_voided" in event_kinds(db, world.deal.id)
    # the notified client is told; the attorney was never asked
    assert len(_notes(db, world.client.id, "signature_voided")) == 1
    assert _notes(db, world.attorney.id, "signature_voided") == []
    voided = _emails(db, world.client.email, "signature_voided")
    assert len(voided) == 1 and "Wrong price on page 2" in voided[0].text_body
    assert _emails(db, world.attorney.email, "signature_voided") == []
    with pytest.raises(Conflict):
        signatures.void(db, world.agent, req.id or 0, "again")
    with pytest.raises(Conflict, match="voided"):
        _sign(db, world, "client", req)
    assert signatures.pending_for_user(db, world.client) == []


def test_a_pending_request_blocks_deletion_and_signs_the_pinned_version(
    db: Session, world: World
) -> None:
    doc = _doc(db, world)
    req = _send(db, world, "client", doc=doc)
    with pytest.raises(Conflict):
        documents.delete_document(db, world.agent, doc.id or 0)
    documents.upload(
        db,
        world.agent,
        world.deal.id or 0,
        "pa v2.pdf",
        make_pdf(["A different version"]),
        document_id=doc.id,
    )
    assert doc.current_version == 2
    pages = signatures.signing_pages(db, world.client, req.id or 0)
    assert pages and all(f"/files/{req.source_version_id}/page/" in u for u in pages)
    _sign(db, world, "client", req)
    signed = db.get(DocumentVersion, req.signed_version_id)
    assert signed is not None and signed.version == 3
    text = PdfReader(io.BytesIO(documents.read_bytes(signed))).pages[0].extract_text()
    assert "Purchase agreement page 1" in text  # the pinned v1, not v2


def _certificate_text(data: bytes) -> str:
    reader = PdfReader(io.BytesIO(data))
    return reader.pages[-1].extract_text()


def test_completing_stamps_certifies_and_keeps_the_original(db: Session, world: World) -> None:
    doc = _doc(db, world)
    source = documents.read_bytes(documents.current_version(db, doc))
    req = _send(db, world, "client", "attorney", doc=doc)
    _sign(db, world, "client", req)
    _sign(db, world, "attorney", req, kind="drawn", drawn_png=_drawn(), typed_name="")
    assert req.status == "completed" and req.completed_at is not None
    assert "signature_completed" in event_kinds(db, world.deal.id)
    signed = db.get(DocumentVersion, req.signed_version_id)
    assert signed is not None and signed.document_id == doc.id and signed.version == 2
    assert doc.current_version == 2
    data = documents.read_bytes(signed)
    # the final file's hash is what the database and the UI show
    assert hashlib.sha256(data).hexdigest() == req.signed_sha256 == signed.sha256
    row = signatures.request_detail(db, world.agent, req.id or 0)
    assert row.signed_sha256 == req.signed_sha256 and row.source_sha256 == req.source_sha256
    # the original stays available, byte for byte
    original = db.get(DocumentVersion, req.source_version_id)
    assert original is not None and documents.read_bytes(original) == source
    reader = PdfReader(io.BytesIO(data))
    assert len(reader.pages) == 3  # two pages + certificate
    cert = _certificate_text(data)
    flat = " ".join(cert.split())
    signers = db.exec(
        select(SignatureSigner)
        .where(SignatureSigner.request_id == req.id)
        .order_by(col(SignatureSigner.position))
    ).all()
    assert "Certificate of electronic signature" in flat
    for s in signers:
        assert s.name in flat and s.email in flat
        assert s.client_address in flat and s.user_agent in flat
        assert s.signed_at is not None
        assert s.signed_at.strftime("%Y-%m-%d %H:%M:%S UTC") in flat
    assert "typed name" in flat and "drawn signature" in flat
    # before: the SHA-256 of the stored source bytes
    assert hashlib.sha256(source).hexdigest() in flat
    # after: the SHA-256 of the first N bytes of this very file (an incremental update)
    m = re.search(r"first (\d+) bytes", flat)
    assert m is not None
    n = int(m.group(1))
    stamped_sha = hashlib.sha256(data[:n]).hexdigest()
    assert stamped_sha in flat
    stamped = PdfReader(io.BytesIO(data[:n]))
    assert len(stamped.pages) == 2  # the stamped document alone is a complete PDF
    last = stamped.pages[-1].extract_text()
    assert "Cora Client" in last and "Signed electronically" in last
    # the drawn signature is an image on the last page
    assert any(True for _ in stamped.pages[-1].images)
    # a drawn signature is kept in storage
    attorney_row = signers[1]
    assert attorney_row.signature_kind == "drawn"
    assert get_storage().get(attorney_row.signature_image_key)[:8] == b"\x89PNG\r\n\x1a\n"
    # everyone is told, with an email
    for who in ("agent", "client", "attorney"):
        assert len(_notes(db, world.user(who).id, "signature_completed")) == 1
        assert len(_emails(db, world.user(who).email, "signature_completed")) == 1
    # the signed link works for a signer, never for someone off the request
    assert signatures.signed_link(db, world.client, req.id or 0).startswith(
        f"/files/{signed.id}?u={world.client.id}"
    )
    with pytest.raises(NotFound):
        signatures.signed_link(db, world.lender, req.id or 0)


def test_signature_fields_are_filled_by_role_and_flattened(db: Session, world: World) -> None:
    pdf = make_pdf(
        ["Offer", "Signatures"],
        signature_fields=["Seller signature", "Buyer signature", "Buyer initials"],
    )
    doc = _doc(db, world, pdf)
    assert doc.precheck
    # the attorney is not a buyer or seller; the client is the buyer
    req = _send(db, world, "attorney", "client", doc=doc)
    _sign(db, world, "attorney", req)
    _sign(db, world, "client", req, typed_name="Cora B. Client")
    signed = db.get(DocumentVersion, req.signed_version_id)
    assert signed is not None
    data = documents.read_bytes(signed)
    n = int(re.search(r"first (\d+) bytes", " ".join(_certificate_text(data).split())).group(1))  # type: ignore[union-attr]
    stamped = PdfReader(io.BytesIO(data[:n]))
    text = stamped.pages[-1].extract_text()
    # buyer fields → the client (typed name twice); the unmatched "Seller" field → attorney
    assert text.count("Cora B. Client") == 2
    assert "Ava Attorney" in text
    assert "Signed electronically" not in text  # no fallback block: everyone had a field
    assert stamped.get_fields() in (None, {})
    assert documents.document_row(db, world.agent, doc.id or 0).precheck == ""


def test_reads_follow_the_request(db: Session, world: World) -> None:
    req = _send(db, world, "client", "attorney")
    other = signatures.request_signatures(
        db,
        world.agent,
        _doc(db, world, make_pdf(["Lender letter"])).id or 0,
        _pids(db, world, "lender"),
        "Lender letter",
        "",
    )
    staff = signatures.requests_for_transaction(db, world.coordinator, world.deal.id or 0)
    assert {r.id for r in staff} == {req.id, other.id}
    mine = signatures.requests_for_transaction(db, world.client, world.deal.id or 0)
    assert [r.id for r in mine] == [req.id]
    assert mine[0].my_turn and mine[0].waiting_for == "Cora Client"
    # an outside signer sees co-signers' names but not their emails
    assert [s.email for s in mine[0].signers] == [world.client.email, ""]
    assert signatures.requests_for_transaction(db, world.lender, world.deal.id or 0)[0].id == (
        other.id
    )
    for who in ("client2", "agent2", "outsider_agent"):
        with pytest.raises(NotFound):
            signatures.requests_for_transaction(db, world.user(who), world.deal.id or 0)
        with pytest.raises(NotFound):
            signatures.request_detail(db, world.user(who), req.id or 0)
    with pytest.raises(NotFound):
        signatures.request_detail(db, world.lender, req.id or 0)
    with pytest.raises(NotFound):
        signatures.signing_pages(db, world.lender, req.id or 0)
    detail = signatures.request_detail(db, world.attorney, req.id or 0)
    assert not detail.my_turn and [s.status for s in detail.signers] == ["notified", "waiting"]


def test_signer_options_are_logins_on_the_file(db: Session, world: World) -> None:
    opts = signatures.signer_options(db, world.agent, world.deal.id or 0)
    labels = " ".join(o.label for o in opts)
    assert "Cora Client" in labels and "Ava Attorney" in labels and "Cody Coordinator" in labels
    assert "Sally" not in labels and "Ivan" not in labels
    with pytest.raises(PermissionDenied):
        signatures.signer_options(db, world.client, world.deal.id or 0)
    with pytest.raises(NotFound):
        signatures.signer_options(db, world.agent2, world.deal.id or 0)
    add_staff(db, world.agent, world.deal, world.agent2, "co_agent")
    assert signatures.signer_options(db, world.agent2, world.deal.id or 0)


@pytest.mark.parametrize("rotation", [0, 90, 180, 270])
def test_the_signature_block_is_upright_on_a_rotated_last_page(rotation: int) -> None:
    """PDFium shows the page turned by /Rotate; the block must sit at the bottom of what it
    shows (the signature ink is dark blue)."""
    from datetime import UTC, datetime

    import pypdfium2 as pdfium
    from pypdf import PdfWriter

    now = datetime.now(UTC)
    writer = PdfWriter(clone_from=PdfReader(io.BytesIO(make_pdf(["Landscape scan"]))))
    writer.pages[0].rotate(rotation)
    buf = io.BytesIO()
    writer.write(buf)
    req = SignatureRequest(
        id=1,
        org_id=1,
        transaction_id=1,
        document_id=1,
        source_version_id=1,
        source_sha256="0" * 64,
        title="T",
        created_at=now,
    )
    signer = SignatureSigner(
        id=1,
        request_id=1,
        name="Cora Client",
        status="signed",
        consent_at=now,
        signed_at=now,
        signature_kind="typed",
        signature_text="Cora Client",
    )
    out = signatures.build_signed_pdf(req, "D", buf.getvalue(), [signer], {}, now)
    pdf = pdfium.PdfDocument(out.data)
    try:
        image = pdf[0].render(scale=1).to_pil().convert("RGB")
    finally:
        pdf.close()
    w, h = image.size

    def ink(box: tuple[int, int, int, int]) -> int:
        region = image.crop(box)
        return sum(1 for r, g, b in region.getdata() if b > 80 and r < 60 and g < 70)

    assert ink((0, int(h * 0.85), w, h)) > 50
    assert ink((0, 0, w, int(h * 0.85))) == 0
