"""Documents on a transaction: upload (validated, de-duplicated, versioned), who may see them,
short-lived signed links for downloads and page previews.

Access (the one rule, ``visible_documents``): staff see every document of the files they may
see; a client, attorney or lender sees a document only on a transaction they take part in and
only when its ``share_<their role>`` flag is on. Only staff change documents; an outside party
may upload new documents to their own transactions (shared with their role, so they keep
seeing what they sent).

Bytes go to ``chronos.storage`` first and the metadata rows after; when the unit of work rolls
back, the objects it wrote are deleted again, so nothing is half-saved.

A PDF from outside is stored without its active content (``files.prepare_upload``): when
there was some, the version says what was removed (``active_content_removed``), the timeline
event and the upload's outcome say it in words. A version whose bytes were checked and hold
none is ``active_content_checked``; only those PDFs are ever opened inline.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import io
import logging
import time
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import and_, event, false, func, or_, true
from sqlmodel import Session, col, select

from chronos.models import (
    Document,
    DocumentSlot,
    DocumentVersion,
    Role,
    Stage,
    Transaction,
    User,
    utcnow,
)
from chronos.services import access, timeline
from chronos.services.errors import Conflict, NotFound, PermissionDenied, ValidationFailed
from chronos.services.files import PDF, Inspected, human_size, prepare_upload
from chronos.services.pagination import Page, clamp_page
from chronos.services.pdf_safety import SEPARATOR, describe, note
from chronos.services.validation import clean_text, clip_text, contains_folded, escape_like
from chronos.storage import get_storage, new_key

log = logging.getLogger(__name__)

CATEGORIES: dict[str, str] = {
    "contract": "Contract",
    "addendum": "Addendum",
    "disclosure": "Disclosure",
    "inspection": "Inspection",
    "appraisal": "Appraisal",
    "title": "Title",
    "loan": "Loan",
    "closing": "Closing",
    "photo": "Photo",
    "other": "Other",
}
# What the attorney's view leads with: contract and title work.
ATTORNEY_CATEGORIES = frozenset({"contract", "addendum", "title", "closing"})
SHARE_ROLES: dict[Role, str] = {
    Role.CLIENT: "share_client",
    Role.ATTORNEY: "share_attorney",
    Role.LENDER: "share_lender",
}
REVIEW_LABELS = {
    "none": "",
    "pending": "Awaiting review",
    "accepted": "Accepted",
    "returned": "Returned",
}
PREVIEW_WIDTHS = (480, 960, 1400)


# --- access -----------------------------------------------------------------------------


def visible_documents(actor: User) -> Any:
    """WHERE clause over ``Document`` (joined to ``Transaction``) for what ``actor`` may see."""
    if not actor.is_active or actor.id is None:
        return false()
    clause = and_(
        col(Document.org_id) == actor.org_id,
        col(Document.transaction_id).in_(
            select(Transaction.id).where(access.visible_transactions(actor))
        ),
    )
    if actor.is_staff:
        return clause
    flag = SHARE_ROLES.get(actor.role_enum)
    if flag is None:
        return false()
    return and_(clause, getattr(Document, flag) == true())


def get_document(db: Session, actor: User | None, document_id: int) -> Document:
    actor = access.require_active(actor)
    doc = db.exec(
        select(Document).where(Document.id == int(document_id), visible_documents(actor))
    ).first()
    if doc is None:
        raise NotFound("Document not found.")
    return doc


def get_editable_document(db: Session, actor: User | None, document_id: int) -> Document:
    doc = get_document(db, actor, document_id)
    access.get_editable_transaction(db, actor, doc.transaction_id)
    return doc


def get_version(
    db: Session, actor: User | None, version_id: int
) -> tuple[Document, DocumentVersion]:
    """A stored file the actor may open (any version of a document they may see)."""
    actor = access.require_active(actor)
    row = db.exec(
        select(Document, DocumentVersion)
        .join(DocumentVersion, col(DocumentVersion.document_id) == Document.id)
        .where(DocumentVersion.id == int(version_id), visible_documents(actor))
    ).first()
    if row is None:
        raise NotFound("Document not found.")
    return row[0], row[1]


def may_open_inline(version: DocumentVersion, asked: bool) -> bool:
    """Whether a download asked to open inline may: a PDF only when its bytes were checked
    free of active content (``active_content_checked``); versions stored before that check
    existed, or with content the check found, are always attachments."""
    if not asked:
        return False
    return version.content_type != PDF or bool(version.active_content_checked)


def current_version(db: Session, doc: Document) -> DocumentVersion:
    v = db.exec(
        select(DocumentVersion).where(
            DocumentVersion.document_id == doc.id, DocumentVersion.version == doc.current_version
        )
    ).first()
    if v is None:  # pragma: no cover - a document always has its current version
        raise NotFound("Document file not found.")
    return v


def sharing_label(doc: Any) -> str:
    roles = [
        label
        for flag, label in (
            ("share_client", "client"),
            ("share_attorney", "attorney"),
            ("share_lender", "lender"),
        )
        if getattr(doc, flag)
    ]
    if not roles:
        return "Internal"
    if len(roles) == 3:
        return "All participants"
    return "Shared with " + " and ".join(roles)


# --- storage bookkeeping ------------------------------------------------------------------


def _forget_written(session: Any) -> None:
    session.info.pop("chronos_written_keys", None)


def _delete_written(session: Any, previous: Any) -> None:
    if previous.parent is not None:
        return  # a savepoint: the outer unit of work still holds these objects
    for key in session.info.pop("chronos_written_keys", []):
        try:
            get_storage().delete(key)
        except Exception:  # best effort; an orphan object is harmless
            log.warning("could not delete orphan object %s", key)


def _track_written(db: Session, key: str) -> None:
    """Delete ``key`` again if the unit of work that wrote it rolls back."""
    db.info.setdefault("chronos_written_keys", []).append(key)
    if not db.info.get("chronos_written_hooked"):
        db.info["chronos_written_hooked"] = True
        event.listen(db, "after_soft_rollback", _delete_written)
        event.listen(db, "after_commit", _forget_written)


def store_bytes(db: Session, data: bytes, content_type: str, *, prefix: str = "d") -> str:
    storage = get_storage()
    key = new_key(prefix)
    storage.put(key, data, content_type)
    _track_written(db, key)
    return key


def read_bytes(version: DocumentVersion) -> bytes:
    return get_storage().get(version.storage_key)


# --- upload -------------------------------------------------------------------------------


def find_duplicate(
    db: Session, txn_id: int, sha256: str
) -> tuple[Document, DocumentVersion] | None:
    row = db.exec(
        select(Document, DocumentVersion)
        .join(DocumentVersion, col(DocumentVersion.document_id) == Document.id)
        .where(Document.transaction_id == txn_id, DocumentVersion.sha256 == sha256)
        .order_by(col(DocumentVersion.id))
    ).first()
    return (row[0], row[1]) if row else None


def _duplicate_message(doc: Document, version: DocumentVersion) -> str:
    when = version.created_at.strftime("%b %-d, %Y")
    return (
        f"This exact file is already on this transaction: “{doc.title}”, version "
        f"{version.version}, uploaded {when}."
    )


def _title_from(filename: str) -> str:
    stem = filename.rsplit(".", 1)[0] if "." in filename else filename
    return clip_text(stem.replace("_", " ").strip(), 200) or "Document"


def _slot(db: Session, txn: Transaction, slot_id: int | None) -> DocumentSlot | None:
    if not slot_id:
        return None
    slot = db.get(DocumentSlot, int(slot_id))
    if slot is None or slot.transaction_id != txn.id:
        raise ValidationFailed({"slot": "That checklist item is not on this transaction."})
    return slot


def _add_version(
    db: Session,
    actor: User,
    doc: Document,
    inspected: Inspected,
    data: bytes,
) -> DocumentVersion:
    assert doc.id is not None
    key = store_bytes(db, data, inspected.content_type)
    latest = db.exec(
        select(func.max(DocumentVersion.version)).where(DocumentVersion.document_id == doc.id)
    ).one()
    version = DocumentVersion(
        org_id=doc.org_id,
        document_id=doc.id,
        version=int(latest or 0) + 1,
        storage_key=key,
        filename=inspected.filename,
        content_type=inspected.content_type,
        size=inspected.size,
        sha256=inspected.sha256,
        page_count=inspected.page_count,
        text=inspected.text,
        uploaded_by_id=actor.id,
        active_content_removed=SEPARATOR.join(inspected.active_content_removed)[:300],
        active_content_checked=not inspected.active_content,
    )
    db.add(version)
    doc.current_version = version.version
    doc.precheck = list(inspected.empty_signature_fields)
    doc.updated_at = utcnow()
    if doc.slot_id is not None:
        # A new file for a checklist item needs (another) review.
        doc.review_status = "pending"
        doc.reviewed_at, doc.reviewed_by_id = None, None
    db.add(doc)
    db.flush()
    return version


@dataclass
class Share:
    client: bool = False
    attorney: bool = False
    lender: bool = False


def add_document(
    db: Session,
    actor: User,
    txn: Transaction,
    inspected: Inspected,
    data: bytes,
    *,
    title: str = "",
    category: str = "other",
    slot: DocumentSlot | None = None,
    share: Share | None = None,
    source: str = "upload",
    allow_duplicate: bool = False,
) -> Document:
    """A new document holding ``data`` (already inspected). Shared by upload, packet split,
    form filling and signing; the caller has checked the actor may add it."""
    assert txn.id is not None
    if not allow_duplicate:
        dup = find_duplicate(db, txn.id, inspected.sha256)
        if dup is not None:
            raise Conflict(_duplicate_message(*dup))
    share = share or Share()
    if category not in CATEGORIES:
        raise ValidationFailed({"category": "Choose a category from the list."})
    doc = Document(
        org_id=txn.org_id,
        transaction_id=txn.id,
        slot_id=slot.id if slot else None,
        title=clean_text(title, 200) or _title_from(inspected.filename),
        category=slot.category if slot and category == "other" else category,
        share_client=share.client,
        share_attorney=share.attorney,
        share_lender=share.lender,
        source=source,
        current_version=0,
        review_status="pending" if slot else "none",
        created_by_id=actor.id,
    )
    db.add(doc)
    db.flush()
    _add_version(db, actor, doc, inspected, data)
    where = f" for “{slot.name}”" if slot else ""
    timeline.record(
        db,
        actor=actor,
        txn=txn,
        kind="document_added",
        summary=f"Added “{doc.title}”{where} ({inspected.filename}, {human_size(inspected.size)})"
        + _removal_suffix(inspected),
        data={"document_id": doc.id, "source": source, **_removal_data(inspected)},
    )
    return doc


def _labels(version: DocumentVersion) -> list[str]:
    return [p for p in (version.active_content_removed or "").split(SEPARATOR) if p]


def upload_note(db: Session, doc: Document) -> str:
    """What the user is told about the file just uploaded as ``doc``'s current version
    ("" when it was stored as it came)."""
    return note(_labels(current_version(db, doc)))


def _removal_suffix(inspected: Inspected) -> str:
    return f"; {inspected.removal_note}" if inspected.removal_note else ""


def _removal_data(inspected: Inspected) -> dict[str, Any]:
    if not inspected.active_content_removed:
        return {}
    return {"active_content_removed": list(inspected.active_content_removed)}


def upload(
    db: Session,
    actor: User | None,
    transaction_id: int,
    filename: str,
    data: bytes,
    *,
    title: str = "",
    category: str = "other",
    slot_id: int | None = None,
    document_id: int | None = None,
    share: Share | None = None,
    max_bytes: int | None = None,
) -> Document:
    """Validate and store one uploaded file: a new document, or a new version of
    ``document_id``. Refusals are ``ValidationFailed``/``Conflict`` and save nothing."""
    from chronos.settings import get_settings

    actor = access.require_active(actor)
    txn = access.get_visible_transaction(db, actor, transaction_id)
    if not Stage(txn.stage).is_open and not actor.is_staff:
        raise PermissionDenied("This transaction is closed; ask your agent to add documents.")
    inspected, data = prepare_upload(
        filename, data, max_bytes=max_bytes or get_settings().max_upload_bytes
    )
    if document_id:
        doc = get_editable_document(db, actor, int(document_id))
        if doc.transaction_id != txn.id:
            raise NotFound("Document not found.")
        dup = find_duplicate(db, txn.id, inspected.sha256)
        if dup is not None:
            raise Conflict(_duplicate_message(*dup))
        version = _add_version(db, actor, doc, inspected, data)
        timeline.record(
            db,
            actor=actor,
            txn=txn,
            kind="document_version",
            summary=f"New version {version.version} of “{doc.title}” ({inspected.filename})"
            + _removal_suffix(inspected),
            data={"document_id": doc.id, "version": version.version, **_removal_data(inspected)},
        )
        return doc
    if actor.is_staff:
        access.get_editable_transaction(db, actor, txn.id or 0)
        access.require_role(actor, (Role.ADMIN, Role.AGENT, Role.COORDINATOR))
        slot = _slot(db, txn, slot_id)
    else:
        # An outside party adds to their own file; it stays visible to their role.
        if slot_id:
            raise PermissionDenied("Only brokerage staff file documents on the checklist.")
        slot = None
        share = Share(**{SHARE_ROLES[actor.role_enum].removeprefix("share_"): True})
    return add_document(
        db, actor, txn, inspected, data, title=title, category=category, slot=slot, share=share
    )


# --- changes ------------------------------------------------------------------------------


def update_document(
    db: Session,
    actor: User | None,
    document_id: int,
    *,
    title: str | None = None,
    category: str | None = None,
    share: Share | None = None,
    slot_id: int | str | None = "",
) -> Document:
    """Rename, recategorize, change who outside the brokerage sees it, or (re)file it on a
    checklist item (``slot_id=None`` takes it off; ``""`` leaves it)."""
    doc = get_editable_document(db, actor, document_id)
    assert actor is not None
    txn = access.get_editable_transaction(db, actor, doc.transaction_id)
    changes: list[str] = []
    if title is not None:
        new_title = clean_text(title, 200)
        if not new_title:
            raise ValidationFailed({"title": "Give the document a name."})
        if new_title != doc.title:
            changes.append(f"renamed to “{new_title}”")
            doc.title = new_title
    if category is not None and category != doc.category:
        if category not in CATEGORIES:
            raise ValidationFailed({"category": "Choose a category from the list."})
        doc.category = category
        changes.append(f"category {CATEGORIES[category]}")
    if share is not None:
        before = sharing_label(doc)
        doc.share_client, doc.share_attorney, doc.share_lender = (
            share.client,
            share.attorney,
            share.lender,
        )
        after = sharing_label(doc)
        if after != before:
            changes.append(f"{before} → {after}")
    if slot_id != "":
        slot = _slot(db, txn, int(slot_id) if slot_id else None)
        new_id = slot.id if slot else None
        if new_id != doc.slot_id:
            doc.slot_id = new_id
            doc.review_status = "pending" if slot else "none"
            doc.review_note, doc.reviewed_at, doc.reviewed_by_id = "", None, None
            changes.append(f"filed as “{slot.name}”" if slot else "taken off the checklist")
    if changes:
        doc.updated_at = utcnow()
        db.add(doc)
        timeline.record(
            db,
            actor=actor,
            txn=txn,
            kind="document_updated",
            summary=f"“{doc.title}”: " + "; ".join(changes),
            data={"document_id": doc.id},
        )
        db.flush()
    return doc


def delete_document(db: Session, actor: User | None, document_id: int) -> None:
    """Remove a document and its versions (staff). Its stored objects are deleted after the
    commit; a document with a signature request in progress cannot be deleted."""
    from chronos.models import SignatureRequest

    doc = get_editable_document(db, actor, document_id)
    txn = access.get_editable_transaction(db, actor, doc.transaction_id)
    pending = db.exec(
        select(SignatureRequest.id).where(
            SignatureRequest.document_id == doc.id, SignatureRequest.status == "pending"
        )
    ).first()
    if pending is not None:
        raise Conflict("Void its signature request before deleting this document.")
    keys: list[str] = []
    for key, pages in db.exec(
        select(DocumentVersion.storage_key, DocumentVersion.page_count).where(
            DocumentVersion.document_id == doc.id
        )
    ):
        # The file and every page preview it may have cached beside it (preview_key).
        keys.append(key)
        keys.extend(
            preview_key(key, n, w) for n in range(1, (pages or 0) + 1) for w in PREVIEW_WIDTHS
        )
    timeline.record(
        db,
        actor=actor,
        txn=txn,
        kind="document_deleted",
        summary=f"Deleted “{doc.title}”",
        data={"document_id": doc.id},
    )
    db.delete(doc)
    db.flush()
    storage = get_storage()

    def _after_commit(session: Any) -> None:
        try:
            storage.delete_many(keys)
        except Exception:
            log.warning("could not delete the %s stored objects of document %s", len(keys), doc.id)

    event.listen(db, "after_commit", _after_commit, once=True)


# --- reading ------------------------------------------------------------------------------


@dataclass
class DocumentRow:
    id: int
    transaction_id: int
    title: str
    category: str
    category_label: str
    sharing: str
    share_client: bool
    share_attorney: bool
    share_lender: bool
    source: str
    version: int
    version_id: int
    filename: str
    content_type: str
    is_pdf: bool
    size_label: str
    page_count: int
    slot_id: int
    slot_name: str
    review_status: str
    review_label: str
    review_note: str
    precheck: str  # empty signature fields, comma-separated ("" = none found)
    uploaded_by: str
    updated_at: str  # ISO 8601 UTC
    transaction_label: str = ""
    # "" or plain words: "active content (JavaScript) was removed" (the current version's)
    active_content_note: str = ""


def _rows(db: Session, pairs: Iterable[tuple[Document, DocumentVersion]]) -> list[DocumentRow]:
    pairs = list(pairs)
    user_ids = {v.uploaded_by_id for _, v in pairs if v.uploaded_by_id}
    slot_ids = {d.slot_id for d, _ in pairs if d.slot_id}
    names = (
        dict(db.exec(select(User.id, User.full_name).where(col(User.id).in_(user_ids))).all())
        if user_ids
        else {}
    )
    slots = (
        dict(
            db.exec(
                select(DocumentSlot.id, DocumentSlot.name).where(col(DocumentSlot.id).in_(slot_ids))
            ).all()
        )
        if slot_ids
        else {}
    )
    return [
        DocumentRow(
            id=d.id or 0,
            transaction_id=d.transaction_id,
            title=d.title,
            category=d.category,
            category_label=CATEGORIES.get(d.category, d.category),
            sharing=sharing_label(d),
            share_client=d.share_client,
            share_attorney=d.share_attorney,
            share_lender=d.share_lender,
            source=d.source,
            version=v.version,
            version_id=v.id or 0,
            filename=v.filename,
            content_type=v.content_type,
            is_pdf=v.content_type == PDF,
            size_label=human_size(v.size),
            page_count=v.page_count,
            slot_id=d.slot_id or 0,
            slot_name=slots.get(d.slot_id, "") if d.slot_id else "",
            review_status=d.review_status,
            review_label=REVIEW_LABELS.get(d.review_status, d.review_status),
            review_note=d.review_note,
            precheck=", ".join(d.precheck or []),
            uploaded_by=names.get(v.uploaded_by_id, "Chronos") if v.uploaded_by_id else "Chronos",
            updated_at=d.updated_at.isoformat(timespec="seconds"),
            active_content_note=describe(_labels(v)),
        )
        for d, v in pairs
    ]


def _current_join() -> Any:
    return and_(
        col(DocumentVersion.document_id) == Document.id,
        col(DocumentVersion.version) == Document.current_version,
    )


def list_documents(
    db: Session,
    actor: User | None,
    transaction_id: int,
    *,
    q: str = "",
    category: str = "",
    page: int = 1,
    page_size: int = 50,
) -> Page[DocumentRow]:
    """A transaction's documents the actor may see, newest first; ``q`` searches titles,
    file names and the PDF text of current versions."""
    actor = access.require_active(actor)
    txn = access.get_visible_transaction(db, actor, transaction_id)
    conditions: list[Any] = [Document.transaction_id == txn.id, visible_documents(actor)]
    if category:
        if category not in CATEGORIES:
            raise ValidationFailed({"category": "Unknown category."})
        conditions.append(Document.category == category)
    needle = clean_text(q, 100)
    if needle:
        like = f"%{escape_like(needle.lower())}%"
        conditions.append(
            or_(
                contains_folded(Document.title, needle),
                contains_folded(DocumentVersion.filename, needle),
                # PDF text (up to 200,000 characters) keeps the cheap lower(): folding it per
                # search would cost more than the accents it finds.
                func.lower(DocumentVersion.text).like(like, escape="\\"),
            )
        )
    base = (
        select(Document, DocumentVersion).join(DocumentVersion, _current_join()).where(*conditions)
    )
    total = db.exec(
        select(func.count())
        .select_from(Document)
        .join(DocumentVersion, _current_join())
        .where(*conditions)
    ).one()
    page, page_size = clamp_page(page, page_size)
    pairs = db.exec(
        base.order_by(col(Document.updated_at).desc(), col(Document.id).desc())
        .offset((page - 1) * page_size)
        .limit(page_size)
    ).all()
    return Page(items=_rows(db, pairs), total=total, page=page, page_size=page_size)


def document_row(db: Session, actor: User | None, document_id: int) -> DocumentRow:
    doc = get_document(db, actor, document_id)
    return _rows(db, [(doc, current_version(db, doc))])[0]


@dataclass
class VersionRow:
    id: int
    version: int
    filename: str
    size_label: str
    page_count: int
    sha256: str
    uploaded_by: str
    created_at: str
    is_current: bool


def list_versions(db: Session, actor: User | None, document_id: int) -> list[VersionRow]:
    doc = get_document(db, actor, document_id)
    rows = db.exec(
        select(DocumentVersion, User.full_name)
        .outerjoin(User, col(User.id) == DocumentVersion.uploaded_by_id)
        .where(DocumentVersion.document_id == doc.id)
        .order_by(col(DocumentVersion.version).desc())
    ).all()
    return [
        VersionRow(
            id=v.id or 0,
            version=v.version,
            filename=v.filename,
            size_label=human_size(v.size),
            page_count=v.page_count,
            sha256=v.sha256,
            uploaded_by=name or "Chronos",
            created_at=v.created_at.isoformat(timespec="seconds"),
            is_current=v.version == doc.current_version,
        )
        for v, name in rows
    ]


def documents_for_picker(db: Session, actor: User | None, transaction_id: int) -> list[DocumentRow]:
    """Every document of the file the actor may see (up to 200, newest first), for pickers
    such as message attachments and signature requests."""
    actor = access.require_active(actor)
    txn = access.get_visible_transaction(db, actor, transaction_id)
    pairs = db.exec(
        select(Document, DocumentVersion)
        .join(DocumentVersion, _current_join())
        .where(Document.transaction_id == txn.id, visible_documents(actor))
        .order_by(col(Document.updated_at).desc(), col(Document.id).desc())
        .limit(200)
    ).all()
    return _rows(db, pairs)


# --- signed links -------------------------------------------------------------------------


def _link_key() -> bytes:
    from chronos.settings import get_settings

    return hashlib.sha256(b"chronos-file-links:" + get_settings().secret_key.encode()).digest()


def _sign(payload: str) -> str:
    mac = hmac.new(_link_key(), payload.encode(), hashlib.sha256).digest()
    return base64.urlsafe_b64encode(mac[:20]).decode().rstrip("=")


@dataclass
class LinkClaims:
    user_id: int
    version_id: int
    inline: bool
    page: int = 0  # 0 = the file itself; n = PNG of page n
    width: int = 0


def file_link(
    user_id: int,
    version_id: int,
    *,
    inline: bool = False,
    page: int = 0,
    width: int = 0,
    seconds: int | None = None,
    now: float | None = None,
) -> str:
    """A path (``/files/...``) that opens this version for this user until it expires."""
    from chronos.settings import get_settings

    expires = int((now or time.time()) + (seconds or get_settings().signed_link_seconds))
    mode = "i" if inline or page else "a"  # a page image is always shown inline
    payload = f"{user_id}.{version_id}.{mode}.{page}.{width}.{expires}"
    sig = _sign(payload)
    if page:
        return f"/files/{version_id}/page/{page}?u={user_id}&w={width}&e={expires}&s={sig}"
    return f"/files/{version_id}?u={user_id}&m={mode}&e={expires}&s={sig}"


def verify_link(
    version_id: int, params: dict[str, str], *, page: int = 0, now: float | None = None
) -> LinkClaims:
    """The claims of a link, or ``PermissionDenied`` for a forged, altered or expired one."""
    try:
        user_id = int(params.get("u", ""))
        expires = int(params.get("e", ""))
        width = int(params.get("w", "0") or 0)
        mode = params.get("m", "i") if not page else "i"
        sig = params.get("s", "")
    except ValueError:
        raise PermissionDenied("This link is not valid.") from None
    payload = f"{user_id}.{version_id}.{mode}.{page}.{width}.{expires}"
    if not sig or not hmac.compare_digest(_sign(payload), sig):
        raise PermissionDenied("This link is not valid.")
    if expires < (now or time.time()):
        raise PermissionDenied("This link has expired. Open the document again from Chronos.")
    return LinkClaims(user_id, version_id, mode == "i", page, width)


# --- previews -----------------------------------------------------------------------------


def render_page_png(data: bytes, page: int, width: int) -> bytes:
    """PNG of one PDF page (1-based) at ``width`` pixels, rendered with PDFium."""
    import pypdfium2 as pdfium

    pdf = pdfium.PdfDocument(data)
    try:
        if not 1 <= page <= len(pdf):
            raise NotFound("That page does not exist.")
        p = pdf[page - 1]
        scale = width / max(p.get_width(), 1)
        bitmap = p.render(scale=min(scale, 4.0), may_draw_forms=True)
        image = bitmap.to_pil()
        out = io.BytesIO()
        image.save(out, format="PNG", optimize=False, compress_level=6)
        return out.getvalue()
    finally:
        pdf.close()


def preview_key(storage_key: str, page: int, width: int) -> str:
    return f"{storage_key}.p{page}w{width}.png"


def page_preview(db: Session, actor: User | None, version_id: int, page: int, width: int) -> bytes:
    """The cached PNG of a page, rendered on first use (preview keys sit beside the file's)."""
    _, version = get_version(db, actor, version_id)
    if version.content_type != PDF:
        raise NotFound("Only PDFs have page previews.")
    width = min(PREVIEW_WIDTHS, key=lambda w: abs(w - int(width or 960)))
    storage = get_storage()
    key = preview_key(version.storage_key, int(page), width)
    try:
        return storage.get(key)
    except Exception:  # not cached yet (or the cache is unreadable): render
        pass
    png = render_page_png(storage.get(version.storage_key), int(page), width)
    storage.put(key, png, "image/png")
    return png


@dataclass
class PreviewInfo:
    document_id: int
    version_id: int
    title: str
    filename: str
    is_pdf: bool
    page_count: int
    download_url: str
    page_urls: list[str] = field(default_factory=list)
    image_url: str = ""


def preview_info(
    db: Session, actor: User | None, document_id: int, *, version_id: int = 0, width: int = 960
) -> PreviewInfo:
    """Signed links to show one document in the app: page images of a PDF (every phone shows
    them), the image itself for a photo, and a download link."""
    actor = access.require_active(actor)
    doc = get_document(db, actor, document_id)
    if version_id:
        d2, version = get_version(db, actor, version_id)
        if d2.id != doc.id:
            raise NotFound("Document not found.")
    else:
        version = current_version(db, doc)
    assert actor.id is not None and version.id is not None
    is_pdf = version.content_type == PDF
    return PreviewInfo(
        document_id=doc.id or 0,
        version_id=version.id,
        title=doc.title,
        filename=version.filename,
        is_pdf=is_pdf,
        page_count=version.page_count,
        download_url=file_link(actor.id, version.id, inline=False),
        page_urls=[
            file_link(actor.id, version.id, page=n, width=width)
            for n in range(1, version.page_count + 1)
        ]
        if is_pdf
        else [],
        image_url="" if is_pdf else file_link(actor.id, version.id, inline=True),
    )


def touch(doc: Document, when: datetime | None = None) -> None:
    doc.updated_at = when or utcnow()


# --- upload results carried back to the page ---------------------------------------------


def encode_notice(payload: dict[str, Any]) -> str:
    """A signed, compact token of an upload's outcome for the page the browser returns to
    (a URL cannot carry arbitrary text a third party could forge into a page)."""
    import json

    raw = base64.urlsafe_b64encode(json.dumps(payload, separators=(",", ":")).encode())
    body = raw.decode().rstrip("=")
    return f"{body}.{_sign('notice:' + body)}"


def decode_notice(token: str) -> dict[str, Any] | None:
    import json

    body, _, sig = (token or "").partition(".")
    if not body or not sig or not hmac.compare_digest(_sign("notice:" + body), sig):
        return None
    try:
        data = json.loads(base64.urlsafe_b64decode(body + "=" * (-len(body) % 4)))
    except ValueError:
        return None
    return data if isinstance(data, dict) else None


def saved_lines(notice: dict[str, Any] | None, limit: int = 20) -> list[str]:
    """One line per file an upload saved, in words: “Title”, and what active content was
    removed from it if any (the route puts that in the signed notice)."""
    lines: list[str] = []
    for s in (notice or {}).get("saved") or []:
        if not isinstance(s, dict):
            continue
        line = f"“{s.get('title', '')}”"
        if s.get("note"):
            line += f": {s['note']}."
        lines.append(line)
    return lines[:limit]


def upload_notes(notice: dict[str, Any] | None) -> list[str]:
    """Only the saved files that were changed on the way in (active content removed)."""
    return [
        line
        for line, s in zip(
            saved_lines(notice),
            [s for s in (notice or {}).get("saved") or [] if isinstance(s, dict)],
            strict=False,
        )
        if s.get("note")
    ]


@dataclass
class SlotOption:
    id: int
    name: str


def slot_options(db: Session, actor: User | None, transaction_id: int) -> list[SlotOption]:
    """The file's checklist items, for filing a document on one (staff only)."""
    actor = access.require_active(actor)
    txn = access.get_editable_transaction(db, actor, transaction_id)
    rows = db.exec(
        select(DocumentSlot.id, DocumentSlot.name)
        .where(DocumentSlot.transaction_id == txn.id)
        .order_by(col(DocumentSlot.position), col(DocumentSlot.id))
    ).all()
    return [SlotOption(int(i or 0), n) for i, n in rows]
