"""Documents: files on a transaction (with versions), compliance checklists and their review,
fillable form templates, e-signature requests and the lender's condition tracker.

Bytes live in ``chronos.storage`` under opaque keys; these tables hold the metadata.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from sqlalchemy import JSON, Column, ForeignKey, Index, Integer, Text, UniqueConstraint
from sqlmodel import Field, SQLModel

from chronos.models.base import utcnow


class ComplianceTemplate(SQLModel, table=True):
    """A brokerage's list of required documents for one kind of file.

    ``side`` is buyer/seller/dual or "any"; ``property_type`` a PropertyType value or "any".
    ``items`` is a list of {key, name, category, required, hint}: ``hint`` holds words that
    identify the document in a page's text (packet splitting suggests slots with them).
    """

    __tablename__ = "compliance_templates"

    id: int | None = Field(default=None, primary_key=True)
    org_id: int = Field(foreign_key="organizations.id", index=True)
    name: str = Field(max_length=200)
    side: str = Field(default="any", max_length=10)
    property_type: str = Field(default="any", max_length=20)
    items: list[dict[str, Any]] = Field(
        default_factory=list, sa_column=Column(JSON, nullable=False)
    )
    is_active: bool = Field(default=True)
    created_at: datetime = Field(default_factory=utcnow)
    updated_at: datetime = Field(default_factory=utcnow)


class DocumentSlot(SQLModel, table=True):
    """One required (or optional) document on one transaction's compliance checklist.

    Filled by the documents whose ``slot_id`` points here; its state (missing, pending review,
    returned, accepted) is the review state of its current document, worked out when read.
    """

    __tablename__ = "document_slots"
    __table_args__ = (UniqueConstraint("transaction_id", "key", name="uq_document_slots_key"),)

    id: int | None = Field(default=None, primary_key=True)
    org_id: int = Field(foreign_key="organizations.id")
    transaction_id: int = Field(
        sa_column=Column(
            Integer, ForeignKey("transactions.id", ondelete="CASCADE"), nullable=False, index=True
        )
    )
    template_id: int | None = Field(
        default=None,
        sa_column=Column(
            Integer, ForeignKey("compliance_templates.id", ondelete="SET NULL"), nullable=True
        ),
    )
    key: str = Field(max_length=60)
    name: str = Field(max_length=200)
    category: str = Field(default="other", max_length=30)
    required: bool = Field(default=True)
    hint: str = Field(default="", max_length=300)
    position: int = Field(default=0)
    created_at: datetime = Field(default_factory=utcnow)


class Document(SQLModel, table=True):
    """A document on a transaction. Its bytes are its versions; the newest is current.

    Staff on the file always see it; an outside party sees it when its ``share_<role>`` flag is
    on (none on = internal to the brokerage; all on = every participant). ``review_status``: "none" (not on the checklist), "pending", "accepted" or
    "returned" (with ``review_note``); a new version puts a reviewed document back to pending.
    """

    __tablename__ = "documents"
    __table_args__ = (
        Index("ix_documents_txn_created", "transaction_id", "created_at"),
        Index("ix_documents_org_review", "org_id", "review_status"),
    )

    id: int | None = Field(default=None, primary_key=True)
    org_id: int = Field(foreign_key="organizations.id")
    transaction_id: int = Field(
        sa_column=Column(Integer, ForeignKey("transactions.id", ondelete="CASCADE"), nullable=False)
    )
    slot_id: int | None = Field(
        default=None,
        sa_column=Column(
            Integer, ForeignKey("document_slots.id", ondelete="SET NULL"), nullable=True, index=True
        ),
    )
    title: str = Field(max_length=200)
    category: str = Field(default="other", max_length=30)
    # Who outside the brokerage may see it (on their own transactions): none = internal.
    share_client: bool = Field(default=False)
    share_attorney: bool = Field(default=False)
    share_lender: bool = Field(default=False)
    # upload | split | form | signed
    source: str = Field(default="upload", max_length=20)
    current_version: int = Field(default=1)
    review_status: str = Field(default="none", max_length=20)
    review_note: str = Field(default="", max_length=2000)
    reviewed_by_id: int | None = Field(default=None, foreign_key="users.id")
    reviewed_at: datetime | None = None
    # Automatic pre-check of the current version: empty signature/initial fields, by name.
    precheck: list[str] = Field(default_factory=list, sa_column=Column(JSON, nullable=False))
    created_by_id: int | None = Field(default=None, foreign_key="users.id")
    created_at: datetime = Field(default_factory=utcnow)
    updated_at: datetime = Field(default_factory=utcnow)


class DocumentVersion(SQLModel, table=True):
    """One stored file. ``storage_key`` is opaque (never derived from the name)."""

    __tablename__ = "document_versions"
    __table_args__ = (
        UniqueConstraint("document_id", "version", name="uq_document_versions"),
        Index("ix_document_versions_org_sha", "org_id", "sha256"),
    )

    id: int | None = Field(default=None, primary_key=True)
    org_id: int = Field(foreign_key="organizations.id")
    document_id: int = Field(
        sa_column=Column(Integer, ForeignKey("documents.id", ondelete="CASCADE"), nullable=False)
    )
    version: int = Field(default=1)
    storage_key: str = Field(max_length=200)
    filename: str = Field(max_length=255)
    content_type: str = Field(max_length=100)
    size: int = Field(default=0)
    sha256: str = Field(max_length=64)
    page_count: int = Field(default=0)
    # Text of the PDF's pages (for search), capped; empty for images.
    text: str = Field(default="", sa_column=Column(Text, nullable=False))
    uploaded_by_id: int | None = Field(default=None, foreign_key="users.id")
    created_at: datetime = Field(default_factory=utcnow)
    # PDF active content (services/pdf_safety.py): what was taken out of the file as uploaded
    # (labels, comma-separated; "" = nothing), and whether these bytes were checked and hold
    # none. Only a checked PDF is ever served inline; older rows are false (attachment only).
    active_content_removed: str = Field(default="", max_length=300)
    active_content_checked: bool = Field(default=False)


class FormTemplate(SQLModel, table=True):
    """A fillable PDF form uploaded once by an admin, with its fields mapped to file data.

    ``fields`` lists the form's fields as {name, kind, options}; ``mapping`` maps a field name
    to a data key of ``services.forms.DATA_KEYS`` (address, price, parties, key dates).
    """

    __tablename__ = "form_templates"

    id: int | None = Field(default=None, primary_key=True)
    org_id: int = Field(foreign_key="organizations.id", index=True)
    name: str = Field(max_length=200)
    category: str = Field(default="contract", max_length=30)
    storage_key: str = Field(max_length=200)
    filename: str = Field(max_length=255)
    sha256: str = Field(max_length=64)
    page_count: int = Field(default=0)
    fields: list[dict[str, Any]] = Field(
        default_factory=list, sa_column=Column(JSON, nullable=False)
    )
    mapping: dict[str, str] = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))
    is_active: bool = Field(default=True)
    created_by_id: int | None = Field(default=None, foreign_key="users.id")
    created_at: datetime = Field(default_factory=utcnow)
    updated_at: datetime = Field(default_factory=utcnow)


class SignatureRequest(SQLModel, table=True):
    """Signatures requested on one version of a document, from signers in order.

    ``status``: "pending", "completed" or "voided" (with ``void_reason``). The source version
    and its SHA-256 are fixed when sent; the signed result is a new version of the document.
    """

    __tablename__ = "signature_requests"
    __table_args__ = (Index("ix_signature_requests_txn", "transaction_id", "status"),)

    id: int | None = Field(default=None, primary_key=True)
    org_id: int = Field(foreign_key="organizations.id")
    transaction_id: int = Field(
        sa_column=Column(Integer, ForeignKey("transactions.id", ondelete="CASCADE"), nullable=False)
    )
    document_id: int = Field(
        sa_column=Column(Integer, ForeignKey("documents.id", ondelete="CASCADE"), nullable=False)
    )
    source_version_id: int = Field(foreign_key="document_versions.id")
    source_sha256: str = Field(max_length=64)
    signed_version_id: int | None = Field(default=None, foreign_key="document_versions.id")
    signed_sha256: str = Field(default="", max_length=64)
    title: str = Field(max_length=200)
    message: str = Field(default="", max_length=2000)
    status: str = Field(default="pending", max_length=20)
    void_reason: str = Field(default="", max_length=500)
    created_by_id: int | None = Field(default=None, foreign_key="users.id")
    created_at: datetime = Field(default_factory=utcnow)
    completed_at: datetime | None = None
    voided_at: datetime | None = None


class SignatureSigner(SQLModel, table=True):
    """One signer of a request, in ``position`` order; the first unsigned one is current."""

    __tablename__ = "signature_signers"
    __table_args__ = (
        UniqueConstraint("request_id", "position", name="uq_signature_signers_position"),
    )

    id: int | None = Field(default=None, primary_key=True)
    request_id: int = Field(
        sa_column=Column(
            Integer, ForeignKey("signature_requests.id", ondelete="CASCADE"), nullable=False
        )
    )
    participant_id: int | None = Field(
        default=None,
        sa_column=Column(
            Integer, ForeignKey("participants.id", ondelete="SET NULL"), nullable=True, index=True
        ),
    )
    user_id: int | None = Field(default=None, foreign_key="users.id", index=True)
    position: int = Field(default=0)
    name: str = Field(max_length=200)
    email: str = Field(default="", max_length=320)
    # waiting (not their turn) | notified | signed
    status: str = Field(default="waiting", max_length=20)
    consent_at: datetime | None = None
    signed_at: datetime | None = None
    signature_kind: str = Field(default="", max_length=10)  # typed | drawn
    signature_text: str = Field(default="", max_length=200)
    # A drawn signature: PNG bytes in storage under this key.
    signature_image_key: str = Field(default="", max_length=200)
    client_address: str = Field(default="", max_length=64)
    user_agent: str = Field(default="", max_length=300)


class LenderCondition(SQLModel, table=True):
    """A loan condition the lender tracks: requested, received (a document), accepted or
    waived; a received one can be sent back to requested (``status_note`` says why)."""

    __tablename__ = "lender_conditions"
    __table_args__ = (Index("ix_lender_conditions_txn", "transaction_id", "status"),)

    id: int | None = Field(default=None, primary_key=True)
    org_id: int = Field(foreign_key="organizations.id")
    transaction_id: int = Field(
        sa_column=Column(Integer, ForeignKey("transactions.id", ondelete="CASCADE"), nullable=False)
    )
    title: str = Field(max_length=200)
    notes: str = Field(default="", max_length=2000)
    # requested | received | accepted | waived
    status: str = Field(default="requested", max_length=20)
    due_date: date | None = None
    document_id: int | None = Field(
        default=None,
        sa_column=Column(Integer, ForeignKey("documents.id", ondelete="SET NULL"), nullable=True),
    )
    requested_by_id: int | None = Field(default=None, foreign_key="users.id")
    # Who attached the document that made it "received" (told when it is accepted/returned).
    received_by_id: int | None = Field(default=None, foreign_key="users.id")
    # Why it was waived or sent back (the latest such note).
    status_note: str = Field(default="", max_length=2000)
    requested_at: datetime = Field(default_factory=utcnow)
    received_at: datetime | None = None
    # When it was accepted, or waived (``status`` says which).
    accepted_at: datetime | None = None
    updated_at: datetime = Field(default_factory=utcnow)
