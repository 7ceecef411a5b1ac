"""Bring a brokerage's export (``org_export``) into a Chronos as a new, empty brokerage.

The archive's ids are its own: every row gets a new id here, and every column that points at
another row (a foreign key, or an ``*_id`` key inside a JSON column such as a timeline event's
data) is rewritten through the map of the table it points at. Documents and form PDFs are
stored again under new storage keys. Logins come over without passwords (none are exported):
each person sets a new one through "Forgot password". Everything happens in the caller's unit
of work, so a refused archive leaves nothing behind.
"""

from __future__ import annotations

import csv
import io
import json
import mimetypes
import secrets
import zipfile
from dataclasses import dataclass, field
from datetime import date, datetime
from pathlib import Path
from typing import IO, Any

from sqlalchemy import JSON, Boolean, Date, DateTime, Float, Integer, Table, insert, select
from sqlalchemy.types import TypeDecorator
from sqlmodel import Session, SQLModel

from chronos.models import Organization
from chronos.services import cover_sheet, documents, org_export
from chronos.services.errors import Conflict, ValidationFailed
from chronos.services.validation import required_text

# ``*_id`` keys of JSON columns (timeline data, automation actions...) that name one table.
JSON_ID_KEYS = {
    "document_id": "documents",
    "slot_id": "document_slots",
    "rule_id": "automation_rules",
    "run_id": "automation_runs",
    "invitation_id": "invitations",
    "user_id": "users",
    "condition_id": "lender_conditions",
    "email_message_id": "email_messages",
    "transaction_id": "transactions",
    "participant_id": "participants",
    "person_id": "people",
    "thread_id": "message_threads",
    "message_id": "messages",
    "request_id": "signature_requests",
    "version_id": "document_versions",
    "task_id": "tasks",
}


@dataclass
class ImportSummary:
    org_id: int
    tables: dict[str, int] = field(default_factory=dict)
    skipped: dict[str, int] = field(default_factory=dict)
    documents: int = 0


def import_archive(
    db: Session, archive: Path | IO[bytes], *, name: str, slug: str
) -> ImportSummary:
    """Create the brokerage ``name``/``slug`` from ``archive``; returns what was imported."""
    name = required_text(name, 200, "Brokerage name")
    orgs = SQLModel.metadata.tables["organizations"]
    if db.execute(select(orgs.c.id).where(orgs.c.slug == slug)).first() is not None:
        raise Conflict(f"A brokerage with the slug {slug!r} already exists.")
    try:
        zf = zipfile.ZipFile(archive)
    except (zipfile.BadZipFile, OSError) as exc:
        raise ValidationFailed({"archive": f"This is not a Chronos export ZIP ({exc})."}) from None
    with zf:
        names = set(zf.namelist())
        if "organization.csv" not in names or "transactions.csv" not in names:
            raise ValidationFailed(
                {
                    "archive": "This ZIP has no organization.csv / transactions.csv: not a Chronos "
                    "export."
                }
            )
        org_row = _rows(zf, "organization.csv")[0]
        org = Organization(
            name=name, slug=slug, timezone=org_row.get("timezone") or "America/New_York"
        )
        if org_row.get("cover_sheet_sections") is not None:  # exports before 0017 lack it
            org.cover_sheet_sections = ",".join(
                cover_sheet.section_keys(org_row["cover_sheet_sections"])
            )
        db.add(org)
        db.flush()
        assert org.id is not None
        summary = ImportSummary(org_id=org.id)
        maps: dict[str, dict[str, int]] = {"organizations": {org_row["id"]: org.id}}
        files = _file_index(names)
        for table in org_export._tables():
            member = f"{table.name}.csv"
            if member not in names:
                continue
            maps[table.name] = {}
            inserted = skipped = 0
            for row in _rows(zf, member):
                values = _values(table, row, maps)
                if values is None:
                    skipped += 1
                    continue
                if table.name == "users":
                    _check_login_free(db, values["email"])
                    values["password_hash"] = "!imported:" + secrets.token_hex(16)
                if "storage_key" in values:
                    values["storage_key"] = _store(db, zf, table.name, row, files)
                    summary.documents += 1
                old_id = row.get("id", "")
                if "id" in table.c and old_id:
                    new_id = db.execute(insert(table).values(**values).returning(table.c.id))
                    maps[table.name][old_id] = int(new_id.scalar_one())
                else:
                    db.execute(insert(table).values(**values))
                inserted += 1
            summary.tables[table.name] = inserted
            if skipped:
                summary.skipped[table.name] = skipped
        _remap_json(db, maps, org.id)
    return summary


def _rows(zf: zipfile.ZipFile, member: str) -> list[dict[str, str]]:
    text = zf.read(member).decode("utf-8")
    return list(csv.DictReader(io.StringIO(text)))


def _unescape(text: str) -> str:
    return text[1:] if text.startswith("'") else text


def _values(
    table: Table, row: dict[str, str], maps: dict[str, dict[str, int]]
) -> dict[str, Any] | None:
    """The row's values for an INSERT, foreign keys rewritten; None when a required link is
    to a row that did not come over (it is then skipped and counted)."""
    out: dict[str, Any] = {}
    for column in table.columns:
        if column.name == "id" or column.name not in row:
            continue
        raw = _unescape(row[column.name])
        fks = list(column.foreign_keys)
        if fks:
            target = fks[0].column.table.name
            if raw == "":
                out[column.name] = None
                continue
            mapped = maps.get(target, {}).get(raw)
            if mapped is None:
                if column.nullable and not column.primary_key:
                    out[column.name] = None
                    continue
                return None
            out[column.name] = mapped
            continue
        out[column.name] = _parse(column, raw)
    return out


def _parse(column: Any, raw: str) -> Any:
    kind = column.type.impl if isinstance(column.type, TypeDecorator) else column.type
    if raw == "":
        if _is_text(kind):
            return None if column.nullable else ""
        return None
    if isinstance(kind, Boolean):
        return raw in ("Yes", "True", "true", "1")
    if isinstance(kind, Integer):
        return int(raw)
    if isinstance(kind, Float):
        return float(raw)
    if isinstance(kind, DateTime):
        return datetime.fromisoformat(raw)
    if isinstance(kind, Date):
        return date.fromisoformat(raw)
    if isinstance(kind, JSON):
        return json.loads(raw)
    return raw


def _is_text(kind: Any) -> bool:
    return not isinstance(kind, Boolean | Integer | Float | DateTime | Date | JSON)


def _check_login_free(db: Session, email: str) -> None:
    users = SQLModel.metadata.tables["users"]
    if db.execute(select(users.c.id).where(users.c.email == email)).first() is not None:
        raise Conflict(
            f"A login with the email {email} already exists in this Chronos: import into "
            "another Chronos, or change that email in users.csv first."
        )


def _file_index(names: set[str]) -> dict[tuple[str, str], str]:
    """(table, old id) → the archive member holding that row's file."""
    index: dict[tuple[str, str], str] = {}
    for member in names:
        parts = member.split("/")
        if len(parts) == 3 and parts[0] == "documents":
            doc_id, _, rest = parts[2].partition("-v")
            version = rest.partition("-")[0]
            index[("document_versions", f"{doc_id}:{version}")] = member
        elif len(parts) == 2 and parts[0] == "forms":
            index[("form_templates", parts[1].partition("-")[0])] = member
    return index


def _store(
    db: Session,
    zf: zipfile.ZipFile,
    table: str,
    row: dict[str, str],
    files: dict[tuple[str, str], str],
) -> str:
    if table == "document_versions":
        key = (table, f"{row.get('document_id', '')}:{row.get('version', '')}")
    else:
        key = (table, row.get("id", ""))
    member = files.get(key)
    if member is None:
        raise ValidationFailed(
            {"archive": f"The file of {table} row {row.get('id', '?')} is missing from the ZIP."}
        )
    data = zf.read(member)
    content_type = row.get("content_type") or (
        mimetypes.guess_type(row.get("filename", ""))[0] or "application/octet-stream"
    )
    return documents.store_bytes(db, data, content_type)


def _remap_json(db: Session, maps: dict[str, dict[str, int]], org_id: int) -> None:
    """Rewrite the ``*_id`` keys of JSON columns of the new brokerage's rows."""
    for table in org_export._tables():
        json_cols = [c for c in table.columns if isinstance(c.type, JSON)]
        if not json_cols or "org_id" not in table.c or "id" not in table.c:
            continue
        for row in db.execute(select(table.c.id, *json_cols).where(table.c.org_id == org_id)).all():
            changes = {}
            for column in json_cols:
                value = row._mapping[column.name]
                fixed = _fix(value, maps)
                if fixed != value:
                    changes[column.name] = fixed
            if changes:
                db.execute(table.update().where(table.c.id == row.id).values(**changes))


def _fix(value: Any, maps: dict[str, dict[str, int]]) -> Any:
    if isinstance(value, list):
        return [_fix(v, maps) for v in value]
    if not isinstance(value, dict):
        return value
    out: dict[str, Any] = {}
    for key, item in value.items():
        target = JSON_ID_KEYS.get(key)
        if target and isinstance(item, int) and not isinstance(item, bool):
            out[key] = maps.get(target, {}).get(str(item), item)
        else:
            out[key] = _fix(item, maps)
    return out
