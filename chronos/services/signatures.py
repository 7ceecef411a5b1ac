"""E-signature: staff ask participants to sign one PDF, in order; Chronos stamps the
signatures onto the pages and appends a certificate.

Flow. ``request_signatures`` pins the document's current version (``source_version_id``) and
the SHA-256 of its stored bytes (``source_sha256``), shares the document with each outside
signer's role and notifies the first signer only. ``sign`` accepts the current signer only
(the first unsigned one, by position), with consent; the next signer is then notified, and
after the last one the request completes. A sent request is never edited: ``void`` it (with a
reason) and send a new one. Signers always see and sign the pinned version, even when a newer
version of the document has been uploaded since.

The signed file (a new version of the same document, so the original stays available) is
built in two steps, and the certificate says how to check both:

1. *Stamped*: the source PDF with every signature drawn onto its pages (into signature/initial
   form fields when the PDF has them, which are then flattened; otherwise in a block at the
   bottom of the last page). Its bytes are S.
2. *Final*: S plus an incremental update (standard PDF: bytes appended after S, S itself
   unchanged) that adds the certificate page(s). Its bytes are F; ``F[:len(S)] == S``.

The certificate states the SHA-256 of the source bytes (recomputed from storage when signing
completes and checked against ``source_sha256``), and "SHA-256 of the first N bytes of this
file = H": anyone can take the final file, hash its first N bytes and compare, which proves
the stamped document was not changed after the certificate was written. The SHA-256 of F
itself cannot be inside F; it is stored as ``signed_sha256`` (and is the version's
``sha256``) and shown in the app.
"""

from __future__ import annotations

import hashlib
import io
import logging
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any
from xml.sax.saxutils import escape

from sqlalchemy import update
from sqlmodel import Session, col, select

from chronos import routes
from chronos.mail import queue_email
from chronos.models import (
    Document,
    DocumentVersion,
    Participant,
    ParticipantRole,
    Role,
    Transaction,
    User,
    utcnow,
)
from chronos.models.document import SignatureRequest, SignatureSigner
from chronos.services import access, documents, notifications, timeline
from chronos.services.errors import Conflict, NotFound, PermissionDenied, ValidationFailed
from chronos.services.files import PDF, SIGNATURE_FIELD, inspect_upload
from chronos.services.validation import clean_text
from chronos.storage import get_storage

log = logging.getLogger(__name__)

STAFF = frozenset({Role.ADMIN, Role.AGENT, Role.COORDINATOR})
MAX_SIGNERS = 10
MAX_TYPED = 100
MAX_DRAWN_BYTES = 200 * 1024
MAX_DRAWN_PX = 2000
CONSENT_TEXT = (
    "I agree to sign this document electronically. My electronic signature is legally "
    "binding, just like a handwritten one, and I agree to receive this document and the "
    "signed copy electronically."
)
STATUS_LABELS = {"pending": "Waiting for signatures", "completed": "Completed", "voided": "Voided"}
SIGNER_LABELS = {"waiting": "Waiting", "notified": "Asked to sign", "signed": "Signed"}


# --- reading ------------------------------------------------------------------------------


@dataclass
class SignerRow:
    id: int
    position: int
    name: str
    email: str  # only for staff viewers and the signer themselves
    role_label: str
    status: str
    status_label: str
    signed_at: str  # ISO 8601 UTC, "" until signed
    method: str  # typed | drawn | ""
    is_current: bool
    is_me: bool


@dataclass
class RequestRow:
    id: int
    transaction_id: int
    document_id: int
    document_title: str
    title: str
    message: str
    status: str
    status_label: str
    created_at: str
    created_by: str
    completed_at: str
    voided_at: str
    void_reason: str
    source_version_id: int
    source_sha256: str
    signed_version_id: int
    signed_sha256: str
    my_turn: bool
    waiting_for: str
    signers: list[SignerRow] = field(default_factory=list)


def _iso(value: datetime | None) -> str:
    return value.isoformat(timespec="seconds") if value else ""


def _signers(db: Session, request_ids: list[int]) -> dict[int, list[SignatureSigner]]:
    out: dict[int, list[SignatureSigner]] = {i: [] for i in request_ids}
    if not request_ids:
        return out
    for s in db.exec(
        select(SignatureSigner)
        .where(col(SignatureSigner.request_id).in_(request_ids))
        .order_by(col(SignatureSigner.request_id), col(SignatureSigner.position))
    ):
        out[s.request_id].append(s)
    return out


def _current(signers: list[SignatureSigner]) -> SignatureSigner | None:
    return next((s for s in signers if s.status != "signed"), None)


def _participant_roles(db: Session, signers: list[SignatureSigner]) -> dict[int, str]:
    ids = [s.participant_id for s in signers if s.participant_id]
    if not ids:
        return {}
    return {
        int(pid): role
        for pid, role in db.exec(
            select(Participant.id, Participant.role).where(col(Participant.id).in_(ids))
        ).all()
        if pid is not None
    }


def _rows(db: Session, actor: User, reqs: list[SignatureRequest]) -> list[RequestRow]:
    ids = [r.id or 0 for r in reqs]
    by_req = _signers(db, ids)
    all_signers = [s for group in by_req.values() for s in group]
    roles = _participant_roles(db, all_signers)
    doc_ids = {r.document_id for r in reqs}
    titles = (
        dict(
            db.exec(select(Document.id, Document.title).where(col(Document.id).in_(doc_ids))).all()
        )
        if doc_ids
        else {}
    )
    creator_ids = {r.created_by_id for r in reqs if r.created_by_id}
    creators = (
        dict(db.exec(select(User.id, User.full_name).where(col(User.id).in_(creator_ids))).all())
        if creator_ids
        else {}
    )
    rows: list[RequestRow] = []
    for r in reqs:
        signers = by_req.get(r.id or 0, [])
        current = _current(signers) if r.status == "pending" else None
        rows.append(
            RequestRow(
                id=r.id or 0,
                transaction_id=r.transaction_id,
                document_id=r.document_id,
                document_title=titles.get(r.document_id, ""),
                title=r.title,
                message=r.message,
                status=r.status,
                status_label=STATUS_LABELS.get(r.status, r.status),
                created_at=_iso(r.created_at),
                created_by=creators.get(r.created_by_id, "") if r.created_by_id else "",
                completed_at=_iso(r.completed_at),
                voided_at=_iso(r.voided_at),
                void_reason=r.void_reason,
                source_version_id=r.source_version_id,
                source_sha256=r.source_sha256,
                signed_version_id=r.signed_version_id or 0,
                signed_sha256=r.signed_sha256,
                my_turn=current is not None and current.user_id == actor.id,
                waiting_for=current.name if current is not None else "",
                signers=[
                    SignerRow(
                        id=s.id or 0,
                        position=s.position,
                        name=s.name,
                        email=s.email if actor.is_staff or s.user_id == actor.id else "",
                        role_label=_role_label(roles.get(s.participant_id or 0, "")),
                        status=s.status,
                        status_label=SIGNER_LABELS.get(s.status, s.status),
                        signed_at=_iso(s.signed_at),
                        method=s.signature_kind,
                        is_current=current is not None and s.id == current.id,
                        is_me=s.user_id == actor.id,
                    )
                    for s in signers
                ],
            )
        )
    return rows


def _role_label(role: str) -> str:
    try:
        return ParticipantRole(role).label
    except ValueError:
        return role.replace("_", " ").capitalize()


def _get_request(db: Session, actor: User | None, request_id: int) -> SignatureRequest:
    """A request the actor may see: staff who see the file, or one of its signers."""
    actor = access.require_active(actor)
    req = db.get(SignatureRequest, int(request_id))
    if req is None or req.org_id != actor.org_id:
        raise NotFound("Signature request not found.")
    try:
        access.get_visible_transaction(db, actor, req.transaction_id)
    except NotFound:
        raise NotFound("Signature request not found.") from None
    if not actor.is_staff:
        mine = db.exec(
            select(SignatureSigner.id).where(
                SignatureSigner.request_id == req.id, SignatureSigner.user_id == actor.id
            )
        ).first()
        if mine is None:
            raise NotFound("Signature request not found.")
    return req


def requests_for_transaction(db: Session, actor: User | None, txn_id: int) -> list[RequestRow]:
    """Staff: every request on the file (newest first); an outside party: those they sign."""
    actor = access.require_active(actor)
    txn = access.get_visible_transaction(db, actor, txn_id)
    stmt = select(SignatureRequest).where(SignatureRequest.transaction_id == txn.id)
    if not actor.is_staff:
        stmt = stmt.where(
            col(SignatureRequest.id).in_(
                select(SignatureSigner.request_id).where(SignatureSigner.user_id == actor.id)
            )
        )
    reqs = list(db.exec(stmt.order_by(col(SignatureRequest.id).desc()).limit(100)))
    return _rows(db, actor, reqs)


def pending_for_user(
    db: Session, actor: User | None, txn_id: int | None = None
) -> list[RequestRow]:
    """What the actor must sign now (their turn), oldest first."""
    actor = access.require_active(actor)
    stmt = (
        select(SignatureRequest)
        .join(SignatureSigner, col(SignatureSigner.request_id) == SignatureRequest.id)
        .where(
            SignatureRequest.org_id == actor.org_id,
            SignatureRequest.status == "pending",
            SignatureSigner.user_id == actor.id,
            SignatureSigner.status == "notified",
            col(SignatureRequest.transaction_id).in_(
                select(Transaction.id).where(access.visible_transactions(actor))
            ),
        )
    )
    if txn_id is not None:
        stmt = stmt.where(SignatureRequest.transaction_id == int(txn_id))
    reqs = list(db.exec(stmt.order_by(col(SignatureRequest.id)).limit(100)))
    return _rows(db, actor, reqs)


def request_detail(db: Session, actor: User | None, request_id: int) -> RequestRow:
    req = _get_request(db, actor, request_id)
    assert actor is not None
    return _rows(db, actor, [req])[0]


@dataclass
class SignerOption:
    participant_id: int
    label: str


def signer_options(db: Session, actor: User | None, txn_id: int) -> list[SignerOption]:
    """Participants of the file with a login (who can sign), for staff building a request."""
    actor = access.require_staff(actor)
    txn = access.get_editable_transaction(db, actor, txn_id)
    rows = db.exec(
        select(Participant, User)
        .join(User, col(User.id) == Participant.user_id)
        .where(Participant.transaction_id == txn.id, col(User.is_active).is_(True))
        .order_by(col(Participant.id))
    ).all()
    return [
        SignerOption(p.id or 0, f"{u.full_name} ({_role_label(p.role)})")
        for p, u in rows
        if p.id is not None
    ]


# --- requesting ---------------------------------------------------------------------------


def _link_for(user: User, req: SignatureRequest) -> str:
    return routes.portal_sign(req.transaction_id, req.id or 0)


def _tell_signer(
    db: Session, actor: User, txn: Transaction, req: SignatureRequest, signer: SignatureSigner
) -> None:
    """Ask ``signer`` to sign now: in-app notification and email."""
    user = db.get(User, signer.user_id) if signer.user_id else None
    signer.status = "notified"
    db.add(signer)
    if user is None or not user.is_active:
        return
    link = _link_for(user, req)
    notifications.notify(
        db,
        user_id=user.id or 0,
        org_id=txn.org_id,
        kind="signature_request",
        title=f"Please sign: {req.title}",
        body=f"{txn.address}: {actor.full_name} asked you to sign “{req.title}”.",
        link=link,
        transaction_id=txn.id,
        dedupe_key=f"sign:{req.id}:{signer.id}",
    )
    queue_email(
        db,
        to=user.email,
        template="signature_request",
        context={
            "sender": actor.full_name if actor.id != user.id else "Chronos",
            "title": req.title,
            "address": txn.address,
            "message": req.message,
            "url": routes.public_url(link),
        },
        org_id=txn.org_id,
        user_id=user.id,
        transaction_id=txn.id,
    )


def request_signatures(
    db: Session,
    actor: User | None,
    document_id: int,
    signer_participant_ids: list[int],
    title: str = "",
    message: str = "",
) -> SignatureRequest:
    actor = access.require_staff(actor)
    doc = documents.get_editable_document(db, actor, document_id)
    txn = access.get_editable_transaction(db, actor, doc.transaction_id)
    version = documents.current_version(db, doc)
    if version.content_type != PDF:
        raise ValidationFailed({"document": "Only a PDF can be sent for signature."})
    errors: dict[str, str] = {}
    try:
        clean_title = clean_text(title, 200) or doc.title
    except ValueError as exc:
        errors["title"] = str(exc)
        clean_title = ""
    clean_message = str(message or "").strip()
    if len(clean_message) > 2000:
        errors["message"] = "Must be at most 2000 characters."
    ids: list[int] = []
    for raw in signer_participant_ids or []:
        try:
            ids.append(int(raw))
        except (TypeError, ValueError):
            errors["signers"] = "Choose signers from the list."
    if not ids:
        errors["signers"] = "Choose at least one signer."
    elif len(ids) > MAX_SIGNERS:
        errors["signers"] = f"At most {MAX_SIGNERS} signers per request."
    elif len(set(ids)) != len(ids):
        errors["signers"] = "Each person signs once; remove the duplicate."
    people: list[tuple[Participant, User]] = []
    if "signers" not in errors:
        found = {
            p.id: (p, u)
            for p, u in db.exec(
                select(Participant, User)
                .join(User, col(User.id) == Participant.user_id)
                .where(col(Participant.id).in_(ids), Participant.transaction_id == txn.id)
            ).all()
        }
        for pid in ids:
            pair = found.get(pid)
            if pair is None:
                errors["signers"] = "Signers must be people on this transaction with a login."
                break
            if not pair[1].is_active or pair[1].org_id != txn.org_id:
                errors["signers"] = f"{pair[1].full_name} cannot sign in; choose someone else."
                break
            people.append(pair)
        if "signers" not in errors and len({u.id for _, u in people}) != len(people):
            errors["signers"] = "Each person signs once; remove the duplicate."
    if errors:
        raise ValidationFailed(errors)
    data = documents.read_bytes(version)
    digest = hashlib.sha256(data).hexdigest()
    if digest != version.sha256:
        raise Conflict("The stored file does not match its checksum; upload it again.")
    req = SignatureRequest(
        org_id=txn.org_id,
        transaction_id=txn.id or 0,
        document_id=doc.id or 0,
        source_version_id=version.id or 0,
        source_sha256=digest,
        title=clean_title,
        message=clean_message,
        status="pending",
        created_by_id=actor.id,
    )
    db.add(req)
    db.flush()
    shared: list[str] = []
    signers: list[SignatureSigner] = []
    for n, (p, u) in enumerate(people):
        flag = documents.SHARE_ROLES.get(u.role_enum)
        if flag and not getattr(doc, flag):
            setattr(doc, flag, True)
            shared.append(u.role_enum.label.lower())
        s = SignatureSigner(
            request_id=req.id or 0,
            participant_id=p.id,
            user_id=u.id,
            position=n,
            name=u.full_name,
            email=u.email,
            status="waiting",
        )
        db.add(s)
        signers.append(s)
    if shared:
        documents.touch(doc)
        db.add(doc)
    db.flush()
    names = ", ".join(u.full_name for _, u in people)
    summary = f"Signatures requested on “{doc.title}” (version {version.version}) from {names}"
    if shared:
        summary += f"; now shared with {' and '.join(shared)}"
    timeline.record(
        db,
        actor=actor,
        txn=txn,
        kind="signature_requested",
        summary=summary,
        data={
            "request_id": req.id,
            "document_id": doc.id,
            "version_id": version.id,
            "source_sha256": digest,
            "signers": [u.id for _, u in people],
            "shared_with": shared,
        },
    )
    _tell_signer(db, actor, txn, req, signers[0])
    db.flush()
    return req


def void(db: Session, actor: User | None, request_id: int, reason: str) -> SignatureRequest:
    actor = access.require_staff(actor)
    req = _get_request(db, actor, request_id)
    txn = access.get_editable_transaction(db, actor, req.transaction_id)
    try:
        why = clean_text(reason, 500)
    except ValueError as exc:
        raise ValidationFailed({"reason": str(exc)}) from None
    if not why:
        raise ValidationFailed({"reason": "Say why it is voided (the signers see it)."})
    if req.status != "pending":
        raise Conflict(f"This request is already {req.status}.")
    result: Any = db.execute(
        update(SignatureRequest)
        .where(col(SignatureRequest.id) == req.id, col(SignatureRequest.status) == "pending")
        .values(status="voided", void_reason=why, voided_at=utcnow())
    )
    if result.rowcount != 1:
        raise Conflict("This request changed meanwhile; reload.")
    db.refresh(req)
    timeline.record(
        db,
        actor=actor,
        txn=txn,
        kind="signature_voided",
        summary=f"Voided the signature request “{req.title}”: {why}",
        data={"request_id": req.id, "document_id": req.document_id},
    )
    for s in _signers(db, [req.id or 0])[req.id or 0]:
        if s.status == "waiting" or not s.user_id or s.user_id == actor.id:
            continue
        notifications.notify(
            db,
            user_id=s.user_id,
            org_id=txn.org_id,
            kind="signature_voided",
            title=f"Signature request voided: {req.title}",
            body=f"{txn.address}: {actor.full_name} voided it: {why}",
            link=routes.portal_transaction(txn.id or 0)
            if not _is_staff_user(db, s.user_id)
            else routes.transaction(txn.id or 0),
            transaction_id=txn.id,
            dedupe_key=f"sign-void:{req.id}:{s.id}",
        )
        user = db.get(User, s.user_id)
        if user is not None and user.is_active:
            link = (
                routes.transaction(txn.id or 0)
                if user.is_staff
                else routes.portal_transaction(txn.id or 0)
            )
            queue_email(
                db,
                to=user.email,
                template="signature_voided",
                context={
                    "sender": actor.full_name,
                    "title": req.title,
                    "address": txn.address,
                    "reason": why,
                    "url": routes.public_url(link),
                },
                org_id=txn.org_id,
                user_id=user.id,
                transaction_id=txn.id,
            )
    db.flush()
    return req


def _is_staff_user(db: Session, user_id: int) -> bool:
    u = db.get(User, user_id)
    return bool(u and u.is_staff)


# --- signing ------------------------------------------------------------------------------


def validate_drawn(png: bytes | None) -> bytes:
    """The drawn signature's PNG bytes, or ``ValidationFailed`` under ``signature``."""
    from PIL import Image

    def fail(msg: str) -> ValidationFailed:
        return ValidationFailed({"signature": msg}, msg)

    if not png:
        raise fail("Draw your signature in the box.")
    if len(png) > MAX_DRAWN_BYTES:
        raise fail("That drawing is too large; clear it and draw again.")
    if png[:8] != b"\x89PNG\r\n\x1a\n":
        raise fail("The drawing did not arrive as an image; clear it and draw again.")
    try:
        with Image.open(io.BytesIO(png)) as im:
            if im.format != "PNG":
                raise fail("The drawing did not arrive as an image; clear it and draw again.")
            w, h = im.size
            if w > MAX_DRAWN_PX or h > MAX_DRAWN_PX or w < 10 or h < 10:
                raise fail("That drawing has an unexpected size; clear it and draw again.")
            rgba = im.convert("RGBA")
    except ValidationFailed:
        raise
    except Exception:
        raise fail("The drawing could not be read; clear it and draw again.") from None
    white = Image.new("RGBA", rgba.size, (255, 255, 255, 255))
    flat = Image.alpha_composite(white, rgba).convert("L")
    dark = sum(flat.histogram()[:160])
    if dark < 20:
        raise fail("The box is empty: draw your signature, or type your name instead.")
    return png


def sign(
    db: Session,
    actor: User | None,
    request_id: int,
    *,
    consent: bool,
    kind: str,
    typed_name: str = "",
    drawn_png: bytes | None = None,
    client_address: str = "",
    user_agent: str = "",
) -> SignatureRequest:
    actor = access.require_active(actor)
    req = _get_request(db, actor, request_id)
    txn = access.get_visible_transaction(db, actor, req.transaction_id)
    if req.status != "pending":
        raise Conflict(
            "This request was voided; nothing to sign."
            if req.status == "voided"
            else "This document has been signed by everyone already."
        )
    signers = _signers(db, [req.id or 0])[req.id or 0]
    mine = next((s for s in signers if s.user_id == actor.id), None)
    if mine is None:  # pragma: no cover - _get_request already refuses non-signers
        raise NotFound("Signature request not found.")
    if mine.status == "signed":
        raise Conflict("You have already signed this document.")
    current = _current(signers)
    if current is None or current.id != mine.id:
        who = current.name if current else "someone else"
        raise PermissionDenied(f"It is not your turn yet: waiting for {who} to sign first.")
    errors: dict[str, str] = {}
    if not consent:
        errors["consent"] = "Tick the box to agree to sign electronically."
    text = ""
    image: bytes | None = None
    if kind == "typed":
        try:
            text = clean_text(typed_name, MAX_TYPED)
        except ValueError:
            errors["signature"] = f"Type your name in at most {MAX_TYPED} characters."
        else:
            if not text:
                errors["signature"] = "Type your full name to sign."
    elif kind == "drawn":
        try:
            image = validate_drawn(drawn_png)
        except ValidationFailed as exc:
            errors.update(exc.errors)
    else:
        errors["signature"] = "Choose to type or draw your signature."
    if errors:
        raise ValidationFailed(errors)
    now = utcnow()
    image_key = documents.store_bytes(db, image, "image/png", prefix="sig") if image else ""
    # The guard against a double submit: only one UPDATE can move this row to "signed".
    result: Any = db.execute(
        update(SignatureSigner)
        .where(col(SignatureSigner.id) == mine.id, col(SignatureSigner.status) != "signed")
        .values(
            status="signed",
            consent_at=now,
            signed_at=now,
            signature_kind=kind,
            signature_text=text or actor.full_name,
            signature_image_key=image_key,
            client_address=str(client_address or "")[:64],
            user_agent=str(user_agent or "")[:300],
        )
    )
    if result.rowcount != 1:
        raise Conflict("You have already signed this document.")
    db.refresh(mine)
    timeline.record(
        db,
        actor=actor,
        txn=txn,
        kind="signature_signed",
        summary=f"{actor.full_name} signed “{req.title}” ({'typed' if kind == 'typed' else 'drawn'})",
        data={
            "request_id": req.id,
            "signer_id": mine.id,
            "consent": CONSENT_TEXT,
            "client_address": mine.client_address,
        },
    )
    signers = _signers(db, [req.id or 0])[req.id or 0]
    nxt = _current(signers)
    if nxt is not None:
        _tell_signer(db, actor, txn, req, nxt)
        db.flush()
        return req
    _complete(db, actor, txn, req, signers)
    return req


# --- the signed PDF -----------------------------------------------------------------------


@dataclass
class _Slot:
    page: int
    rect: tuple[float, float, float, float]
    name: str
    annot_ref: Any
    parent_ref: Any


def _signature_slots(writer: Any) -> list[_Slot]:
    slots: list[_Slot] = []
    for n, page in enumerate(writer.pages):
        if page.rotation % 360:
            continue  # a rotated page's fields would be stamped sideways: use the block
        for ref in page.get("/Annots") or []:
            try:
                annot = ref.get_object()
                if annot.get("/Subtype") != "/Widget":
                    continue
                parent = annot.get("/Parent")
                name = str(annot.get("/T") or (parent.get_object().get("/T") if parent else ""))
                ftype = annot.get("/FT") or (parent.get_object().get("/FT") if parent else None)
                if not (ftype == "/Sig" or SIGNATURE_FIELD.search(name)):
                    continue
                x1, y1, x2, y2 = (float(v) for v in annot["/Rect"])
            except Exception:  # a malformed annotation is left alone
                continue
            slots.append(
                _Slot(
                    n,
                    (min(x1, x2), min(y1, y2), max(x1, x2), max(y1, y2)),
                    name,
                    ref,
                    parent,
                )
            )
    slots.sort(key=lambda s: (s.page, -s.rect[3], s.rect[0]))
    return slots


_ROLE_WORDS = ("buyer", "seller", "attorney", "lender", "agent", "coordinator")


def _assign(
    slots: list[_Slot], signers: list[SignatureSigner], roles: dict[int, str]
) -> dict[int, list[_Slot]]:
    """Signature fields per signer id: by a role word in the field name when exactly one
    signer has that role, then the remaining fields in order to signers without one."""
    out: dict[int, list[_Slot]] = {s.id or 0: [] for s in signers}
    unmatched: list[_Slot] = []
    for slot in slots:
        lname = slot.name.lower()
        owner: SignatureSigner | None = None
        for word in _ROLE_WORDS:
            if word in lname:
                cands = [s for s in signers if word in roles.get(s.participant_id or 0, "")]
                if len(cands) == 1:
                    owner = cands[0]
                break
        if owner is not None:
            out[owner.id or 0].append(slot)
        else:
            unmatched.append(slot)
    for slot in unmatched:
        free = next((s for s in signers if not out[s.id or 0]), None)
        if free is None:
            break
        out[free.id or 0].append(slot)
    return out


def _draw_signature(
    c: Any,
    signer: SignatureSigner,
    image: bytes | None,
    x: float,
    y: float,
    w: float,
    h: float,
    *,
    caption: bool,
) -> None:
    from reportlab.lib.utils import ImageReader

    top = h * (0.62 if caption else 1.0)
    if image:
        c.drawImage(
            ImageReader(io.BytesIO(image)),
            x,
            y + h - top,
            width=w,
            height=top,
            preserveAspectRatio=True,
            anchor="sw",
            mask="auto",
        )
    else:
        size = max(7.0, min(top * 0.75, 20.0))
        c.setFont("Helvetica-Oblique", size)
        text = signer.signature_text or signer.name
        while size > 6 and c.stringWidth(text, "Helvetica-Oblique", size) > w:
            size -= 0.5
        c.setFont("Helvetica-Oblique", size)
        c.setFillColorRGB(0.08, 0.12, 0.45)
        c.drawString(x + 2, y + h - top + max(2.0, (top - size) / 2), text)
        c.setFillColorRGB(0, 0, 0)
    if caption:
        when = signer.signed_at.strftime("%Y-%m-%d %H:%M UTC") if signer.signed_at else ""
        c.setFont("Helvetica", 6.5)
        c.drawString(x + 2, y + 2, f"{signer.name} · Signed electronically {when}"[:120])


def _shown_to_page(rotation: int, w: float, h: float, ox: float, oy: float) -> Any:
    """The map from coordinates on the page as shown (``/Rotate`` applied, clockwise) to the
    page's own user space (media box ``ox, oy, w, h``)."""
    from pypdf import Transformation

    ctm = {
        0: (1, 0, 0, 1, 0, 0),
        90: (0, 1, -1, 0, w, 0),
        180: (-1, 0, 0, -1, w, h),
        270: (0, -1, 1, 0, 0, h),
    }.get(rotation, (1, 0, 0, 1, 0, 0))
    a, b, c, d, e, f = ctm
    return Transformation((a, b, c, d, e + ox, f + oy))


def _stamp(
    source: bytes, signers: list[SignatureSigner], roles: dict[int, str]
) -> tuple[bytes, list[str]]:
    """The source PDF with every signature drawn on it; and the stamped field names."""
    from pypdf import PdfReader, PdfWriter
    from pypdf.generic import ArrayObject, NameObject
    from reportlab.pdfgen import canvas

    writer = PdfWriter(clone_from=PdfReader(io.BytesIO(source)))
    images = {
        s.id or 0: get_storage().get(s.signature_image_key)
        for s in signers
        if s.signature_kind == "drawn" and s.signature_image_key
    }
    slots = _signature_slots(writer)
    assigned = _assign(slots, signers, roles)
    by_page: dict[int, list[tuple[SignatureSigner, _Slot | None]]] = {}
    for s in signers:
        for slot in assigned[s.id or 0]:
            by_page.setdefault(slot.page, []).append((s, slot))
    leftovers = [s for s in signers if not assigned[s.id or 0]]
    last = len(writer.pages) - 1
    if leftovers:
        by_page.setdefault(last, []).extend((s, None) for s in leftovers)
    used: list[_Slot] = []
    for page_no, items in by_page.items():
        page = writer.pages[page_no]
        box = page.mediabox
        w, h = float(box.width), float(box.height)
        ox, oy = float(box.left), float(box.bottom)
        rotation = page.rotation % 360
        # Draw as the page is shown (a rotated page is shown turned), then map back.
        pw, ph = (h, w) if rotation in (90, 270) else (w, h)
        buf = io.BytesIO()
        c = canvas.Canvas(buf, pagesize=(pw, ph))
        blocks = [s for s, where in items if where is None]
        for s, where in items:
            if where is None:
                continue
            x1, y1, x2, y2 = where.rect
            _draw_signature(
                c,
                s,
                images.get(s.id or 0),
                x1 - ox,
                y1 - oy,
                x2 - x1,
                max(y2 - y1, 12),
                caption=False,
            )
            used.append(where)
        if blocks:
            # Two columns of blocks along the bottom of the last page.
            col_w = (pw - 72 - 18) / 2
            bh = 44.0
            for i, s in enumerate(blocks):
                row, column = divmod(i, 2)
                x = 36 + column * (col_w + 18)
                y = 24 + (len(blocks) - 1) // 2 * (bh + 6) - row * (bh + 6)
                c.setStrokeColorRGB(0.6, 0.6, 0.7)
                c.line(x, y + 12, x + col_w, y + 12)
                _draw_signature(c, s, images.get(s.id or 0), x, y, col_w, bh, caption=True)
        c.showPage()
        c.save()
        overlay = PdfReader(io.BytesIO(buf.getvalue())).pages[0]
        page.merge_transformed_page(overlay, _shown_to_page(rotation, w, h, ox, oy))
    # Flatten the stamped fields: the signature is now page content.
    if used:
        refs = {id(s.annot_ref.get_object()) for s in used}
        parents = {id(s.parent_ref.get_object()) for s in used if s.parent_ref is not None}
        for page in writer.pages:
            annots = page.get("/Annots")
            if not annots:
                continue
            kept = ArrayObject([a for a in annots if id(a.get_object()) not in refs])
            page[NameObject("/Annots")] = kept
        acro = writer._root_object.get("/AcroForm")
        if acro is not None:
            acro = acro.get_object()
            fields = acro.get("/Fields")
            if fields is not None:
                acro[NameObject("/Fields")] = ArrayObject(
                    [
                        f
                        for f in fields
                        if id(f.get_object()) not in refs and id(f.get_object()) not in parents
                    ]
                )
    out = io.BytesIO()
    writer.write(out)
    return out.getvalue(), [s.name for s in used]


def _certificate(
    req: SignatureRequest,
    doc_title: str,
    signers: list[SignatureSigner],
    roles: dict[int, str],
    stamped_len: int,
    stamped_sha: str,
    completed: datetime,
) -> bytes:
    from reportlab.lib.pagesizes import letter
    from reportlab.lib.styles import ParagraphStyle
    from reportlab.platypus import Paragraph, SimpleDocTemplate, Spacer

    base = ParagraphStyle("b", fontName="Helvetica", fontSize=9, leading=12)
    small = ParagraphStyle("s", parent=base, fontSize=8, leading=10.5)
    mono = ParagraphStyle("m", parent=base, fontName="Courier", fontSize=8.5, leading=11)
    head = ParagraphStyle("h", parent=base, fontName="Helvetica-Bold", fontSize=15, leading=19)
    sub = ParagraphStyle("h2", parent=base, fontName="Helvetica-Bold", fontSize=10.5, leading=14)

    def p(text: str, style: Any = base) -> Any:
        return Paragraph(escape(text), style)

    def ts(value: datetime | None) -> str:
        return value.strftime("%Y-%m-%d %H:%M:%S UTC") if value else "-"

    story: list[Any] = [
        p("Certificate of electronic signature", head),
        Spacer(1, 4),
        p(f"Document: {doc_title}"),
        p(f"Request: {req.title} (request #{req.id})"),
        p(f"Sent: {ts(req.created_at)} · Completed: {ts(completed)}"),
        Spacer(1, 8),
        p("Signers", sub),
    ]
    for n, s in enumerate(signers, start=1):
        method = "typed name" if s.signature_kind == "typed" else "drawn signature"
        story += [
            Spacer(1, 4),
            p(
                f"{n}. {s.name} <{s.email}>"
                + (
                    f" · {_role_label(roles[s.participant_id])}"
                    if s.participant_id in roles
                    else ""
                )
            ),
            p(f"Consented to sign electronically: {ts(s.consent_at)}", small),
            p(f"Signed: {ts(s.signed_at)} · Method: {method}", small),
            p(f"Signed as: {s.signature_text}", small)
            if s.signature_kind == "typed"
            else p("Signed as: drawn signature (image)", small),
            p(f"Client address: {s.client_address or 'unknown'}", small),
            p(f"User agent: {s.user_agent or 'unknown'}", small),
        ]
    story += [
        Spacer(1, 8),
        p("Consent each signer agreed to", sub),
        p(CONSENT_TEXT, small),
        Spacer(1, 8),
        p("Integrity", sub),
        p("SHA-256 of the original document sent for signature:", small),
        p(req.source_sha256, mono),
        p(
            f"SHA-256 of the signed document, which is the first {stamped_len} bytes of "
            "this file (this certificate was added after them as an incremental PDF update):",
            small,
        ),
        p(stamped_sha, mono),
        p(
            "To verify: hash the original file you were sent, and the first "
            f"{stamped_len} bytes of this file, with SHA-256 and compare. The SHA-256 of the "
            "complete file is recorded in Chronos.",
            small,
        ),
    ]
    out = io.BytesIO()
    SimpleDocTemplate(
        out,
        pagesize=letter,
        leftMargin=54,
        rightMargin=54,
        topMargin=54,
        bottomMargin=54,
        title="Certificate of electronic signature",
    ).build(story)
    return out.getvalue()


@dataclass
class SignedFile:
    data: bytes
    stamped_len: int
    stamped_sha256: str
    stamped_fields: list[str]


def build_signed_pdf(
    req: SignatureRequest,
    doc_title: str,
    source: bytes,
    signers: list[SignatureSigner],
    roles: dict[int, str],
    completed: datetime,
) -> SignedFile:
    from pypdf import PdfReader, PdfWriter

    stamped, used = _stamp(source, signers, roles)
    stamped_sha = hashlib.sha256(stamped).hexdigest()
    cert = _certificate(req, doc_title, signers, roles, len(stamped), stamped_sha, completed)
    writer = PdfWriter(io.BytesIO(stamped), incremental=True)
    for page in PdfReader(io.BytesIO(cert)).pages:
        writer.add_page(page)
    out = io.BytesIO()
    writer.write(out)
    final = out.getvalue()
    if not final.startswith(stamped):  # pragma: no cover - pypdf's incremental contract
        raise RuntimeError("incremental update rewrote the signed document")
    return SignedFile(final, len(stamped), stamped_sha, used)


def _complete(
    db: Session,
    actor: User,
    txn: Transaction,
    req: SignatureRequest,
    signers: list[SignatureSigner],
) -> None:
    source_version = db.get(DocumentVersion, req.source_version_id)
    doc = db.get(Document, req.document_id)
    if source_version is None or doc is None:
        raise NotFound("The document was removed.")
    source = documents.read_bytes(source_version)
    if hashlib.sha256(source).hexdigest() != req.source_sha256:
        raise Conflict("The stored original no longer matches its checksum; void and resend.")
    now = utcnow()
    roles = _participant_roles(db, signers)
    signed = build_signed_pdf(req, doc.title, source, signers, roles, now)
    stem = source_version.filename.rsplit(".", 1)[0]
    inspected = inspect_upload(
        f"{stem} (signed).pdf", signed.data, max_bytes=max(len(signed.data), 1)
    )
    version = documents._add_version(db, actor, doc, inspected, signed.data)
    req.signed_version_id = version.id
    req.signed_sha256 = inspected.sha256
    req.completed_at = now
    req.status = "completed"
    db.add(req)
    db.flush()
    timeline.record(
        db,
        actor=actor,
        txn=txn,
        kind="signature_completed",
        summary=(
            f"“{req.title}” signed by everyone; the signed copy is version {version.version} "
            f"of “{doc.title}”"
        ),
        data={
            "request_id": req.id,
            "document_id": doc.id,
            "version_id": version.id,
            "source_sha256": req.source_sha256,
            "stamped_sha256": signed.stamped_sha256,
            "stamped_bytes": signed.stamped_len,
            "signed_sha256": req.signed_sha256,
        },
    )
    users: dict[int, User] = {}
    for uid in {*(s.user_id for s in signers if s.user_id), req.created_by_id}:
        if uid:
            u = db.get(User, uid)
            if u is not None and u.is_active:
                users[uid] = u
    for u in users.values():
        link = (
            routes.transaction(txn.id or 0)
            if u.is_staff
            else routes.portal_transaction(txn.id or 0)
        )
        notifications.notify(
            db,
            user_id=u.id or 0,
            org_id=txn.org_id,
            kind="signature_completed",
            title=f"Signed by everyone: {req.title}",
            body=f"{txn.address}: the signed copy is ready.",
            link=link,
            transaction_id=txn.id,
            dedupe_key=f"sign-done:{req.id}",
        )
        queue_email(
            db,
            to=u.email,
            template="signature_completed",
            context={
                "title": req.title,
                "address": txn.address,
                "signers": ", ".join(s.name for s in signers),
                "url": routes.public_url(link),
            },
            org_id=txn.org_id,
            user_id=u.id,
            transaction_id=txn.id,
        )
    db.flush()


# --- links for the UI ---------------------------------------------------------------------


def signed_link(db: Session, actor: User | None, request_id: int) -> str:
    """A short-lived download link (a path) of the signed copy, for anyone on the request."""
    req = _get_request(db, actor, request_id)
    assert actor is not None and actor.id is not None
    if req.status != "completed" or not req.signed_version_id:
        raise Conflict("The signed copy is ready once everyone has signed.")
    documents.get_version(db, actor, req.signed_version_id)
    return documents.file_link(actor.id, req.signed_version_id, inline=False)


def signing_pages(db: Session, actor: User | None, request_id: int, width: int = 960) -> list[str]:
    """Page image links (paths) of exactly the version being signed. They last half an hour
    (reading a long contract takes a while; each request is still checked for access)."""
    req = _get_request(db, actor, request_id)
    assert actor is not None and actor.id is not None
    _, version = documents.get_version(db, actor, req.source_version_id)
    return [
        documents.file_link(actor.id, version.id or 0, page=n, width=width, seconds=1800)
        for n in range(1, version.page_count + 1)
    ]
