""" "Start from the purchase agreement": stage the uploaded files, propose, create the file.

The browser posts the signed agreement (and up to four addenda) to ``POST /files/agreement``
(api/agreement_routes.py). ``stage`` reads them through ``agreement_reader.propose_from_uploads``
(staff only, every file through ``files.prepare_upload``), keeps the bytes in storage under an
opaque staging key and hands back a signed token, bound to the user and short-lived, that the
New transaction page opens (``open_staged``) to show each proposal with its page and source.
Nothing is on any transaction until the agent confirms: ``create_from_agreement`` creates the
file from the confirmed form, applies the key-date preset with the contract's own periods
(``agreement_reader.fill_preset``), and stores the agreement as the file's first document, on
its purchase-agreement checklist item when the file has one; addenda follow as contract
documents. ``discard`` removes the staged bytes once the file exists.
"""

from __future__ import annotations

import base64
import hmac
import json
import re
import time
from dataclasses import dataclass, field
from typing import Any

from sqlmodel import Session, select

from chronos.models import DocumentSlot, Transaction, User
from chronos.services import access, agreement_reader, auth, documents, transactions
from chronos.services.agreement_reader import MAX_ADDENDA, PERIOD_RULES, Reading
from chronos.services.errors import PermissionDenied, ValidationFailed
from chronos.storage import get_storage, new_key

STAGING_PREFIX = "agreementstaging"
TOKEN_SECONDS = 2 * 3600
SLOT_KEY = "purchase_agreement"
EXPIRED = "This agreement upload has expired or belongs to another session. Upload it again."
PERIOD_FIELDS = tuple(PERIOD_RULES)  # inspection_days, option_days, ...
MAX_PERIOD_DAYS = 365

_ADDRESS = re.compile(
    r"^\s*(?P<street>[^,]+?)\s*,"
    r"(?:\s*(?P<unit>(?:apt|apartment|unit|suite|ste|#)\.?\s*[\w-]+)\s*,)?"
    r"\s*(?P<city>[^,]+?)\s*,"
    r"\s*(?P<state>[A-Za-z]{2})\.?\s*(?P<zip>\d{5}(?:-\d{4})?)?\s*$",
    re.I,
)


@dataclass
class Staged:
    """The staged files (storage key, file name) and what was read from them."""

    files: list[tuple[str, str]]
    reading: Reading
    user_id: int
    token: str = ""
    notes: list[str] = field(default_factory=list)

    @property
    def agreement_name(self) -> str:
        return self.files[0][1] if self.files else ""


def split_address(text: str) -> dict[str, str]:
    """``"12 Elm Street, Unit 4, Austin, TX 78701"`` -> street/unit/city/state/postal_code.
    What does not parse stays whole in ``street`` for the agent to correct."""
    text = (text or "").strip()
    m = _ADDRESS.match(text)
    if not m:
        return {"street": text, "unit": "", "city": "", "state": "", "postal_code": ""}
    return {
        "street": m.group("street").strip(),
        "unit": (m.group("unit") or "").strip(),
        "city": m.group("city").strip(),
        "state": m.group("state").upper(),
        "postal_code": m.group("zip") or "",
    }


def prefill(reading: Reading) -> dict[str, str]:
    """The New transaction form's values from the proposals (form input name -> value)."""
    values = {key: p.value for key, p in reading.proposals.items()}
    out: dict[str, str] = {}
    if values.get("address"):
        out.update(split_address(values["address"]))
    if values.get("state") and not out.get("state"):
        out["state"] = values["state"]
    for key in ("price", "effective_date", "closing_date", *PERIOD_FIELDS):
        if values.get(key):
            out[key] = values[key]
    buyers, sellers = values.get("buyers", ""), values.get("sellers", "")
    out["_buyers"], out["_sellers"] = buyers, sellers
    return out


# --- the signed token ---------------------------------------------------------------------


def _sign(body: str) -> str:
    return documents._sign("agreement:" + body)


def _encode(payload: dict[str, Any]) -> str:
    body = base64.urlsafe_b64encode(json.dumps(payload, separators=(",", ":")).encode())
    text = body.decode().rstrip("=")
    return f"{text}.{_sign(text)}"


def _decode(token: str) -> dict[str, Any] | None:
    body, _, sig = (token or "").partition(".")
    if not body or not sig or len(token) > 4000 or not hmac.compare_digest(_sign(body), sig):
        return None
    try:
        data = json.loads(base64.urlsafe_b64decode(body + "=" * (-len(body) % 4)))
    except ValueError:
        return None
    return data if isinstance(data, dict) else None


# --- stage, open, create, discard -----------------------------------------------------------


def stage(
    db: Session,
    actor: User | None,
    agreement: tuple[str, bytes],
    addenda: list[tuple[str, bytes]] | tuple[tuple[str, bytes], ...] = (),
    *,
    max_bytes: int | None = None,
) -> Staged:
    """Read the agreement (gated, every file through the upload checks) and keep its files
    for the confirm step. Raises ``PermissionDenied``/``ValidationFailed``; stores nothing
    when it does."""
    actor = access.require_staff(actor)
    reading = agreement_reader.propose_from_uploads(
        db, actor, agreement, list(addenda), max_bytes=max_bytes
    )
    storage = get_storage()
    files: list[tuple[str, str]] = []
    try:
        for filename, data in (agreement, *addenda):
            key = new_key(STAGING_PREFIX)
            storage.put(key, data, "application/pdf")
            files.append((key, filename[:200]))
    except Exception:
        storage.delete_many([k for k, _ in files])
        raise
    payload = {"u": actor.id, "f": files, "x": int(time.time()) + TOKEN_SECONDS}
    return Staged(files=files, reading=reading, user_id=actor.id or 0, token=_encode(payload))


def _claims(actor: User, token: str) -> list[tuple[str, str]]:
    data = _decode(token)
    if (
        data is None
        or data.get("u") != actor.id
        or not isinstance(data.get("x"), int)
        or data["x"] < time.time()
    ):
        raise PermissionDenied(EXPIRED)
    files = data.get("f")
    if not isinstance(files, list) or not 1 <= len(files) <= 1 + MAX_ADDENDA:
        raise PermissionDenied(EXPIRED)
    out: list[tuple[str, str]] = []
    for item in files:
        if (
            not isinstance(item, list)
            or len(item) != 2
            or not all(isinstance(v, str) for v in item)
            or not item[0].startswith(STAGING_PREFIX + "/")
        ):
            raise PermissionDenied(EXPIRED)
        out.append((item[0], item[1]))
    return out


def _load(actor: User, token: str) -> tuple[list[tuple[str, str]], list[bytes]]:
    from chronos.storage import StoredObjectMissing

    files = _claims(actor, token)
    storage = get_storage()
    try:
        return files, [storage.get(key) for key, _ in files]
    except StoredObjectMissing as exc:
        raise PermissionDenied(EXPIRED) from exc


def open_staged(db: Session, actor: User | None, token: str) -> Staged:
    """The staged agreement of this token, read again (the token must be this user's)."""
    actor = access.require_staff(actor)
    auth.require_verified(actor)
    files, blobs = _load(actor, token)
    named = [(name, data) for (_, name), data in zip(files, blobs, strict=True)]
    reading = agreement_reader.propose_from_uploads(db, actor, named[0], named[1:])
    return Staged(files=files, reading=reading, user_id=actor.id or 0, token=token)


def _periods(data: dict[str, Any]) -> dict[str, str]:
    errors: dict[str, str] = {}
    out: dict[str, str] = {}
    for key in PERIOD_FIELDS:
        raw = str(data.get(key) or "").strip()
        if not raw:
            continue
        if not raw.isdigit() or int(raw) > MAX_PERIOD_DAYS:
            errors[key] = f"Enter a whole number of days from 0 to {MAX_PERIOD_DAYS}."
            continue
        out[key] = str(int(raw))
    if errors:
        raise ValidationFailed(errors)
    return out


def _slot_for_agreement(db: Session, txn: Transaction) -> DocumentSlot | None:
    slots = db.exec(select(DocumentSlot).where(DocumentSlot.transaction_id == txn.id)).all()
    for slot in slots:
        if slot.key == SLOT_KEY:
            return slot
    for slot in slots:
        if "purchase" in slot.name.lower() and "agreement" in slot.name.lower():
            return slot
    return None


def create_from_agreement(
    db: Session, actor: User | None, data: dict[str, Any], token: str
) -> Transaction:
    """Create the file from the confirmed form (the same fields as ``create_transaction``,
    plus the confirmed periods), with the preset's offsets from the contract, and store the
    staged agreement on it. One unit of work: a refusal leaves no file and no document."""
    actor = access.require_staff(actor)
    auth.require_verified(actor)
    files, blobs = _load(actor, token)
    periods = _periods(data)
    create = dict(data)
    for key in PERIOD_FIELDS:
        create.pop(key, None)
    preset_key = str(data.get("deadline_preset") or "")
    if preset_key in agreement_reader.PRESETS:
        preset = agreement_reader.PRESETS[preset_key]
        create["deadline_offsets"] = agreement_reader.offsets_from_periods(preset, periods)
    txn = transactions.create_transaction(db, actor, create)
    assert txn.id is not None
    slot = _slot_for_agreement(db, txn)
    for index, ((_, name), blob) in enumerate(zip(files, blobs, strict=True)):
        documents.upload(
            db,
            actor,
            txn.id,
            name,
            blob,
            title="Purchase agreement" if index == 0 else f"Addendum {index}",
            category="contract",
            slot_id=slot.id if slot is not None and index == 0 else None,
        )
    db.flush()
    return txn


def discard(actor: User, token: str) -> None:
    """Remove the staged files (after the file was created, or when the agent starts over)."""
    try:
        files = _claims(actor, token)
    except PermissionDenied:
        return
    get_storage().delete_many([key for key, _ in files])
