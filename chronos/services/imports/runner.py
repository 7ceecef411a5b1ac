"""The database half of an import: store the file, preview it, apply it in chunks, undo it.

Admin only. People go through ``services.people`` and transactions through
``services.transactions`` (so validation, the timeline and checklists are the usual ones); each
row runs in its own savepoint, so one bad row is a skip with its reason, never a failed batch.
Idempotent: a re-run matches what the first run created (email, phone, MLS number, address and
side, or the earlier import's exact name + address) and a row whose record already holds its
values is skipped as "already up to date". An update only fills fields the record left blank,
so an import never overwrites what someone typed.
"""

from __future__ import annotations

import csv
import hashlib
import io
import logging
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal
from typing import Any, BinaryIO

from sqlalchemy import func
from sqlalchemy import select as sa_select
from sqlmodel import Session, col, select

from chronos.models import (
    Event,
    ImportBatch,
    ImportRow,
    Participant,
    Person,
    Role,
    Stage,
    Transaction,
    User,
    utcnow,
)
from chronos.models.base import LISTING_STAGES, Side
from chronos.services import access, people, timeline, transactions
from chronos.services.errors import ChronosError, Conflict, NotFound, ValidationFailed
from chronos.services.exports import safe_cell
from chronos.services.imports.dedupe import PersonKey, transaction_key
from chronos.services.imports.mapping import KINDS, Manifest
from chronos.services.imports.plan import RowPlan, person_row_key, plan_people, plan_transactions
from chronos.services.imports.sniff import (
    MAX_IMPORT_BYTES,
    ImportFileRejected,
    SourceProfile,
    iter_rows,
    profile_csv,
)
from chronos.services.imports.xlsx import XLSX_MAGIC, iter_xlsx_rows, profile_xlsx
from chronos.storage import get_storage, new_key

log = logging.getLogger(__name__)

ADMIN_ONLY = "Only a brokerage admin can import files."
CHUNK_ROWS = 500
PREVIEW_ROWS = 200
ACTION_WORDS = {"create": "created", "update": "updated", "skip": "skipped"}


def require_admin(actor: User | None) -> User:
    return access.require_role(actor, (Role.ADMIN,), ADMIN_ONLY)


# ---------------------------------------------------------------- the file


def is_xlsx(data: bytes, file_name: str) -> bool:
    return data.startswith(XLSX_MAGIC) or file_name.lower().endswith(".xlsx")


def read_profile(
    data: bytes, file_name: str, *, encoding: str | None = None, delimiter: str | None = None
) -> SourceProfile:
    """Encoding, delimiter and headers of an uploaded file (CSV detected, .xlsx by content)."""
    if len(data) > MAX_IMPORT_BYTES:
        raise ImportFileRejected(
            f"The file is {len(data) / 1e6:.0f} MB; the largest import is "
            f"{MAX_IMPORT_BYTES // 1_000_000} MB. Split it and import the parts."
        )
    if is_xlsx(data, file_name):
        return profile_xlsx(io.BytesIO(data))
    return profile_csv(io.BytesIO(data), encoding=encoding, delimiter=delimiter)


def source_profile(data: bytes, file_name: str, chosen: SourceProfile | None) -> SourceProfile:
    """The file's profile, with the encoding and delimiter the user chose (a CSV) kept."""
    if is_xlsx(data, file_name):
        return read_profile(data, file_name)
    encoding = chosen.encoding if chosen and chosen.encoding not in ("", "xlsx") else None
    delimiter = chosen.delimiter if chosen and chosen.delimiter else None
    return read_profile(data, file_name, encoding=encoding, delimiter=delimiter)


def iter_source(data: bytes, profile: SourceProfile) -> Iterator[tuple[int, dict[str, str]]]:
    stream: BinaryIO = io.BytesIO(data)
    if profile.encoding == "xlsx":
        return iter_xlsx_rows(stream, profile)
    return iter_rows(stream, profile)


def first_rows(data: bytes, profile: SourceProfile, limit: int = 5) -> list[dict[str, str]]:
    out: list[dict[str, str]] = []
    for _line, row in iter_source(data, profile):
        out.append(row)
        if len(out) >= limit:
            break
    return out


# ---------------------------------------------------------------- batches


def _check_manifest(manifest: Manifest, profile: SourceProfile) -> None:
    if manifest.kind not in KINDS:
        raise ImportFileRejected('Choose "people" or "transactions".')
    missing = [c for c, f in manifest.columns.items() if f and c not in profile.headers]
    if missing:
        raise ImportFileRejected(
            f'The mapping names column "{missing[0]}", which this file does not have.'
        )
    manifest.validate(profile.headers)


def create_batch(
    db: Session, actor: User, *, file_name: str, data: bytes, manifest: Manifest
) -> ImportBatch:
    """Store the file (in ``storage/``), check every row can be read, and make a ready batch."""
    actor = require_admin(actor)
    name = (file_name or "").strip().replace("\\", "/").rsplit("/", 1)[-1][:255]
    if not name:
        raise ImportFileRejected("The file has no name.")
    manifest.source = source_profile(data, name, manifest.source)
    _check_manifest(manifest, manifest.source)
    profile = manifest.source
    total = sum(1 for _ in iter_source(data, profile))  # a ragged or unreadable row refuses now
    if total == 0:
        raise ImportFileRejected("The file has a header row but no data rows.")
    key = new_key("imp")
    get_storage().put(key, data, "application/octet-stream")
    batch = ImportBatch(
        org_id=actor.org_id,
        admin_id=actor.id,
        file_name=name,
        file_sha256=hashlib.sha256(data).hexdigest(),
        storage_key=key,
        kind=manifest.kind,
        manifest=_manifest_dict(manifest),
        total_rows=total,
    )
    db.add(batch)
    db.flush()
    log.info("import batch %s: %s rows of %s by user %s", batch.id, total, batch.kind, actor.id)
    return batch


def _manifest_dict(manifest: Manifest) -> dict[str, Any]:
    import json

    data: dict[str, Any] = json.loads(manifest.to_json())
    return data


def batch_manifest(batch: ImportBatch) -> Manifest:
    import json

    return Manifest.from_json(json.dumps(batch.manifest))


def get_batch(db: Session, actor: User, batch_id: int) -> ImportBatch:
    actor = require_admin(actor)
    batch = db.get(ImportBatch, batch_id)
    if batch is None or batch.org_id != actor.org_id:
        raise NotFound("That import does not exist.")
    return batch


def list_batches(db: Session, actor: User, limit: int = 20) -> list[ImportBatch]:
    actor = require_admin(actor)
    return list(
        db.exec(
            select(ImportBatch)
            .where(ImportBatch.org_id == actor.org_id)
            .order_by(col(ImportBatch.created_at).desc(), col(ImportBatch.id).desc())
            .limit(max(1, min(limit, 100)))
        )
    )


def _batch_data(batch: ImportBatch) -> bytes:
    try:
        return get_storage().get(batch.storage_key)
    except (KeyError, FileNotFoundError, OSError) as exc:
        raise Conflict("The uploaded file is no longer stored: upload it again.") from exc


# ---------------------------------------------------------------- planning


def _imported_keys(db: Session, org_id: int) -> dict[str, int]:
    """``person_row_key`` → person id for people earlier (not undone) imports created/updated."""
    rows = db.exec(
        select(ImportRow.match_key, ImportRow.record_id)
        .join(ImportBatch, col(ImportBatch.id) == col(ImportRow.batch_id))
        .where(
            ImportBatch.org_id == org_id,
            ImportBatch.kind == "people",
            col(ImportBatch.undone_at).is_(None),
            col(ImportRow.record_id).is_not(None),
            ImportRow.match_key != "",
        )
    ).all()
    return {key: rid for key, rid in rows if rid is not None}


def _existing_people(db: Session, org_id: int) -> list[tuple[int, PersonKey]]:
    addresses: dict[int, str] = {}
    for key, rid in _imported_keys(db, org_id).items():
        addresses[rid] = key.split("|", 1)[1] if "|" in key else ""
    rows = db.execute(
        sa_select(
            col(Person.id),
            col(Person.email),
            col(Person.phone),
            col(Person.first_name),
            col(Person.last_name),
        ).where(col(Person.org_id) == org_id)
    ).all()
    return [
        (
            pid,
            PersonKey(
                (email or "").casefold() or None,
                phone or None,
                f"{first} {last}".strip(),
                addresses.get(pid, ""),
            ),
        )
        for pid, email, phone, first, last in rows
        if pid is not None
    ]


def _existing_transactions(db: Session, org_id: int) -> dict[tuple[str, str], int]:
    rows = db.execute(
        sa_select(
            col(Transaction.id),
            col(Transaction.mls_number),
            col(Transaction.street),
            col(Transaction.unit),
            col(Transaction.postal_code),
            col(Transaction.side),
        ).where(col(Transaction.org_id) == org_id)
    ).all()
    out: dict[tuple[str, str], int] = {}
    for tid, mls, street, unit, zip_code, side in rows:
        assert tid is not None
        out.setdefault(transaction_key(mls, street, unit, zip_code, side), tid)
        if mls:  # an MLS-less row of the file still finds it by address
            out.setdefault(transaction_key("", street, unit, zip_code, side), tid)
    return out


def plan_rows(db: Session, org_id: int, data: bytes, manifest: Manifest) -> Iterator[RowPlan]:
    rows = iter_source(data, manifest.source)
    if manifest.kind == "people":
        return plan_people(rows, manifest, _existing_people(db, org_id), _imported_keys(db, org_id))
    return plan_transactions(rows, manifest, _existing_transactions(db, org_id))


@dataclass
class Preview:
    counts: dict[str, int]
    rows: list[RowPlan] = field(default_factory=list)


def preview(
    db: Session, actor: User, data: bytes, manifest: Manifest, limit: int = PREVIEW_ROWS
) -> Preview:
    """What the whole file would do (counts) and the first ``limit`` rows' plans. No writes."""
    actor = require_admin(actor)
    _check_manifest(manifest, manifest.source)
    counts = {"create": 0, "update": 0, "skip": 0}
    shown: list[RowPlan] = []
    for plan in plan_rows(db, actor.org_id, data, manifest):
        counts[plan.action] += 1
        if len(shown) < limit:
            shown.append(plan)
    return Preview(counts, shown)


# ---------------------------------------------------------------- applying


def _stamp(value: datetime) -> str:
    return value.isoformat()


def _last_event_id(db: Session, txn_id: int) -> int:
    return int(db.exec(select(func.max(Event.id)).where(Event.transaction_id == txn_id)).one() or 0)


def _person_fields(values: dict[str, object]) -> dict[str, Any]:
    out: dict[str, Any] = {
        k: values[k]
        for k in ("first_name", "last_name", "email", "phone", "company", "notes")
        if values.get(k)
    }
    address = ", ".join(str(values[k]) for k in ("street", "city", "state", "zip") if values.get(k))
    if address:
        # People have no address columns; the address is kept in the notes.
        note = f"Address: {address}"
        out["notes"] = f"{out['notes']}\n{note}" if out.get("notes") else note
    return out


def _apply_person(
    db: Session, actor: User, batch: ImportBatch, plan: RowPlan
) -> tuple[str, str, int | None, dict[str, Any]]:
    fields = _person_fields(plan.values)
    if plan.action == "create":
        person = people.create_person(db, actor, fields)
        assert person.id is not None
        return "created", "", person.id, {"_stamp": _stamp(person.updated_at)}
    assert plan.match_id is not None
    person = access.get_org_person(db, actor, plan.match_id)
    blanks = {k: v for k, v in fields.items() if not getattr(person, k)}
    if not blanks:
        return "skipped", f"Already up to date (matched on {plan.match_on}).", person.id, {}
    before = {k: getattr(person, k) for k in blanks}
    person = people.update_person(db, actor, plan.match_id, blanks)
    return (
        "updated",
        f"Filled {', '.join(sorted(blanks))} (matched on {plan.match_on}).",
        person.id,
        {**before, "_stamp": _stamp(person.updated_at)},
    )


def _owner_id(db: Session, actor: User, email: object) -> int | None:
    if not email:
        return None
    owner = db.exec(
        select(User).where(
            User.org_id == actor.org_id, func.lower(User.email) == str(email).strip().lower()
        )
    ).first()
    if owner is None or not owner.is_active or owner.role_enum not in (Role.AGENT, Role.ADMIN):
        raise ValidationFailed({"agent_email": f"No active agent or admin has the email {email}."})
    return owner.id


def _txn_fields(values: dict[str, object]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for src, dst in (
        ("street", "street"),
        ("unit", "unit"),
        ("city", "city"),
        ("state", "state"),
        ("zip", "postal_code"),
        ("mls_number", "mls_number"),
        ("price", "price"),
        ("effective_date", "effective_date"),
        ("closing_date", "closing_date"),
    ):
        if values.get(src) not in (None, ""):
            out[dst] = values[src]
    return out


def _txn_value(txn: Transaction, name: str) -> Any:
    if name == "price":
        return txn.price_cents
    return getattr(txn, name)


def _as_stored(name: str, value: Any) -> Any:
    if name == "price" and isinstance(value, Decimal):
        return int(value * 100)
    return value


def _jsonable(value: Any) -> Any:
    return value.isoformat() if isinstance(value, date) else value


def _apply_transaction(
    db: Session, actor: User, batch: ImportBatch, plan: RowPlan
) -> tuple[str, str, int | None, dict[str, Any]]:
    fields = _txn_fields(plan.values)
    source = {"import_batch_id": batch.id, "file": batch.file_name, "row": plan.line}
    if plan.action == "create":
        side = Side(str(plan.values["side"]))
        target = Stage(str(plan.values["stage"])) if plan.values.get("stage") else None
        data: dict[str, Any] = {**fields, "side": side.value}
        if target is not None and target.is_open:
            data["stage"] = target.value
        owner_id = _owner_id(db, actor, plan.values.get("agent_email"))
        if owner_id is not None:
            data["owner_id"] = owner_id
        if plan.values.get("client_name"):
            data["client_name"] = plan.values["client_name"]
            if plan.values.get("client_email"):
                data["client_email"] = plan.values["client_email"]
        newest_person = db.exec(select(func.max(Person.id))).one() or 0
        txn = transactions.create_transaction(db, actor, data)
        assert txn.id is not None
        if target is not None and not target.is_open:
            # A closed or cancelled file from the old system: recorded as such, not walked
            # through the stages (its documents and tasks belong to that system).
            if target in LISTING_STAGES and side is Side.BUYER:
                raise ValidationFailed({"stage": "A buyer-side file cannot be a listing."})
            old = txn.stage
            txn.stage, txn.stage_changed_at = target.value, utcnow()
            db.add(txn)
            timeline.record(
                db,
                actor=actor,
                txn=txn,
                kind="stage_changed",
                summary=f"Stage set by import: {target.label}",
                data={"from": old, "to": target.value, **source},
            )
        timeline.record(
            db,
            actor=actor,
            txn=txn,
            kind="imported",
            summary=f"Imported from {batch.file_name}, row {plan.line}",
            data=source,
        )
        db.flush()
        made = db.exec(
            select(Person.id, Person.updated_at)
            .join(Participant, col(Participant.person_id) == col(Person.id))
            .where(Participant.transaction_id == txn.id, col(Person.id) > newest_person)
        ).all()
        return (
            "created",
            "",
            txn.id,
            {
                "_stamp": _stamp(txn.updated_at),
                "_last_event": _last_event_id(db, txn.id),
                "_people": {str(pid): _stamp(at) for pid, at in made},
            },
        )
    assert plan.match_id is not None
    txn = access.get_editable_transaction(db, actor, plan.match_id)
    blanks = {k: v for k, v in fields.items() if _txn_value(txn, k) in (None, "") and k != "street"}
    if not blanks:
        return "skipped", f"Already up to date (matched on {plan.match_on}).", txn.id, {}
    before = {k: _jsonable(_txn_value(txn, k)) for k in blanks}
    txn = transactions.update_transaction(db, actor, plan.match_id, blanks)
    timeline.record(
        db,
        actor=actor,
        txn=txn,
        kind="imported",
        summary=f"Updated from {batch.file_name}, row {plan.line}",
        data=source,
    )
    db.flush()
    assert txn.id is not None
    return (
        "updated",
        f"Filled {', '.join(sorted(blanks))} (matched on {plan.match_on}).",
        txn.id,
        {**before, "_stamp": _stamp(txn.updated_at), "_last_event": _last_event_id(db, txn.id)},
    )


def _row_key(batch: ImportBatch, plan: RowPlan) -> str:
    if batch.kind != "people":
        return ""
    name = f"{plan.values.get('first_name', '')} {plan.values.get('last_name', '')}".strip()
    address = " ".join(str(plan.values.get(k, "")) for k in ("street", "city", "zip")).strip()
    return person_row_key(name, address)[:600]


def _apply_row(db: Session, actor: User, batch: ImportBatch, plan: RowPlan) -> ImportRow:
    table = "people" if batch.kind == "people" else "transactions"
    row = ImportRow(batch_id=batch.id, line=plan.line, action="skipped", match_key="")  # type: ignore[arg-type]
    if plan.action == "skip":
        row.reason = plan.reason[:500]
    else:
        apply = _apply_person if batch.kind == "people" else _apply_transaction
        savepoint = db.begin_nested()
        try:
            action, reason, record_id, before = apply(db, actor, batch, plan)
        except ChronosError as exc:
            savepoint.rollback()
            row.reason = exc.message[:500]
        else:
            savepoint.commit()
            row.action, row.reason, row.record_id = action, reason[:500], record_id
            row.record_table = table if record_id is not None else ""
            row.before = before if action != "skipped" else {}
            row.match_key = _row_key(batch, plan) if action != "skipped" else ""
    if row.action == "skipped":
        row.cells = {k: str(v) for k, v in plan.values.items()}
    db.add(row)
    return row


def run_batch(
    db: Session,
    actor: User,
    batch_id: int,
    *,
    chunk_rows: int = CHUNK_ROWS,
    commit: Callable[[], None] | None = None,
) -> ImportBatch:
    """Apply a ready (or interrupted) batch; progress is written, then committed, per chunk.

    Rows a previous, interrupted run already recorded are not applied twice.
    """
    actor = require_admin(actor)
    batch = get_batch(db, actor, batch_id)
    if batch.state in ("done", "undone", "running"):
        raise Conflict(f"This import is already {batch.state}.")
    save = commit or db.flush
    manifest = batch_manifest(batch)
    data = _batch_data(batch)
    done_lines = set(db.exec(select(ImportRow.line).where(ImportRow.batch_id == batch.id)).all())
    batch.state, batch.started_at, batch.error = "running", batch.started_at or utcnow(), ""
    db.add(batch)
    save()
    pending = 0
    try:
        for plan in plan_rows(db, actor.org_id, data, manifest):
            if plan.line in done_lines:
                continue
            row = _apply_row(db, actor, batch, plan)
            batch.processed_rows += 1
            if row.action == "created":
                batch.created_count += 1
            elif row.action == "updated":
                batch.updated_count += 1
            else:
                batch.skipped_count += 1
            pending += 1
            if pending >= chunk_rows:
                db.add(batch)
                save()
                pending = 0
    except ImportFileRejected as exc:
        batch.state, batch.error = "failed", exc.message[:1000]
        db.add(batch)
        save()
        raise
    batch.state, batch.finished_at = "done", utcnow()
    db.add(batch)
    save()
    log.info(
        "import batch %s done: %s created, %s updated, %s skipped",
        batch.id,
        batch.created_count,
        batch.updated_count,
        batch.skipped_count,
    )
    return batch


def fail_batch(db: Session, batch_id: int, message: str) -> None:
    """Mark a batch failed (the job's last resort); its rows so far stay, a re-run resumes."""
    batch = db.get(ImportBatch, batch_id)
    if batch is not None and batch.state in ("queued", "running"):
        batch.state, batch.error = "failed", message[:1000]
        db.add(batch)


def execute(batch_id: int) -> None:
    """The ``run_import`` job's body: run a batch as the admin who made it, committing per
    chunk (the page polls the batch row for progress). A refusal or crash marks it failed with
    a reason; a re-run resumes after the rows already recorded."""
    from chronos.db import session_scope

    try:
        with session_scope() as db:
            batch = db.get(ImportBatch, batch_id)
            if batch is None or batch.state in ("done", "undone"):
                return
            actor = db.get(User, batch.admin_id) if batch.admin_id else None
            run_batch(db, require_admin(actor), batch_id, commit=db.commit)
    except ChronosError as exc:
        with session_scope() as db:
            fail_batch(db, batch_id, exc.message)
    except Exception:
        log.exception("import batch %s crashed", batch_id)
        with session_scope() as db:
            fail_batch(db, batch_id, "The import stopped on an unexpected error; run it again.")


def start(db: Session, actor: User, batch_id: int) -> ImportBatch:
    """Queue a ready (or failed) batch for the ``run_import`` job."""
    batch = get_batch(db, actor, batch_id)
    if batch.state not in ("ready", "failed"):
        raise Conflict(f"This import is {batch.state}; it cannot be started again.")
    batch.state, batch.error = "queued", ""
    db.add(batch)
    db.flush()
    return batch


# ---------------------------------------------------------------- undo


def _edited_since(db: Session, row: ImportRow) -> str | None:
    """Why this row's record cannot be undone, or None."""
    stamp = row.before.get("_stamp")
    if row.record_table == "people":
        person = db.get(Person, row.record_id)
        if person is None:
            return None if row.action == "created" else f"the contact of row {row.line} is gone"
        if _stamp(person.updated_at) != stamp:
            return f"{person.full_name} (row {row.line}) was edited after the import"
        if row.action == "created":
            on = db.exec(
                select(func.count())
                .select_from(Participant)
                .where(Participant.person_id == person.id)
            ).one()
            if on or person.user_id is not None:
                return f"{person.full_name} (row {row.line}) is now on a transaction or has a login"
        return None
    txn = db.get(Transaction, row.record_id)
    if txn is None:
        return None if row.action == "created" else f"the transaction of row {row.line} is gone"
    assert txn.id is not None
    if _stamp(txn.updated_at) != stamp or _last_event_id(db, txn.id) != row.before.get(
        "_last_event"
    ):
        return f"{txn.address} (row {row.line}) was edited after the import"
    return None


def undo_batch(db: Session, actor: User, batch_id: int) -> ImportBatch:
    """Delete what the batch created and restore what it filled in, or refuse and change
    nothing when any of those records was edited since."""
    actor = require_admin(actor)
    batch = get_batch(db, actor, batch_id)
    if batch.state == "undone":
        raise Conflict("This import was already undone.")
    if batch.state in ("queued", "running"):
        raise Conflict("This import is still running; undo it when it has finished.")
    rows = list(
        db.exec(
            select(ImportRow)
            .where(ImportRow.batch_id == batch.id, col(ImportRow.record_id).is_not(None))
            .where(col(ImportRow.action).in_(("created", "updated")))
            .order_by(col(ImportRow.line).desc())
        )
    )
    for row in rows:
        why = _edited_since(db, row)
        if why:
            raise Conflict(f"Cannot undo this import: {why}. Nothing was changed.")
    for row in rows:
        values = {k: v for k, v in row.before.items() if not k.startswith("_")}
        if row.record_table == "people":
            person = db.get(Person, row.record_id)
            if person is None:
                continue
            if row.action == "created":
                db.delete(person)
            else:
                for k, v in values.items():
                    setattr(person, k, v)
                person.updated_at = utcnow()
                db.add(person)
            continue
        txn = db.get(Transaction, row.record_id)
        if txn is None:
            continue
        if row.action == "created":
            made = row.before.get("_people") or {}
            db.delete(txn)
            db.flush()
            for pid, stamp in made.items():
                person = db.get(Person, int(pid))
                still_on = db.exec(
                    select(func.count())
                    .select_from(Participant)
                    .where(Participant.person_id == int(pid))
                ).one()
                if person is not None and _stamp(person.updated_at) == stamp and not still_on:
                    db.delete(person)
        else:
            restore = {k: v for k, v in values.items() if k != "price"}
            for k, v in restore.items():
                setattr(txn, k, date.fromisoformat(v) if k.endswith("_date") and v else v)
            if "price" in values:
                txn.price_cents = values["price"]
            txn.updated_at = utcnow()
            db.add(txn)
            timeline.record(
                db,
                actor=actor,
                txn=txn,
                kind="imported",
                summary=f"Import of {batch.file_name} undone: {', '.join(sorted(values))} cleared",
                data={"import_batch_id": batch.id, "row": row.line},
            )
    batch.state, batch.undone_at = "undone", utcnow()
    db.add(batch)
    db.flush()
    log.info("import batch %s undone by user %s", batch.id, actor.id)
    return batch


# ---------------------------------------------------------------- rejected rows


def rejected_rows_csv(db: Session, actor: User, batch_id: int) -> str:
    """The skipped rows (row number, reason, mapped values), every cell formula-safe."""
    batch = get_batch(db, actor, batch_id)
    rows = db.exec(
        select(ImportRow)
        .where(ImportRow.batch_id == batch.id, ImportRow.action == "skipped")
        .order_by(col(ImportRow.line))
    ).all()
    fields: list[str] = []
    for row in rows:
        fields.extend(k for k in row.cells if k not in fields)
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(["row", "reason", *fields])
    for row in rows:
        writer.writerow(
            [
                row.line,
                safe_cell(row.reason),
                *(safe_cell(str(row.cells.get(f, ""))) for f in fields),
            ]
        )
    return out.getvalue()
