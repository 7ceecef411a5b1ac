"""A brokerage's whole record in one ZIP: a CSV per table, every document version, a README.

"Back to a spreadsheet in under an hour": an admin (the page's button, run as a job that emails
a signed link) or an operator (``chronos export --org SLUG --out FILE.zip``) gets every row of
the organization's tables and every stored file, streamed into the archive one table chunk and
one document at a time. Left out: what only makes sense inside a running Chronos and would be a
secret anywhere else (sessions, account tokens, idempotency keys, password hashes, two-factor
secrets, webhook receipts), and per-user ephemera (notifications, read markers).
"""

from __future__ import annotations

import base64
import csv
import hashlib
import hmac
import io
import json
import logging
import re
import secrets
import zipfile
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import IO, Any

from sqlalchemy import Table, select
from sqlalchemy.engine import Connection
from sqlmodel import Session, SQLModel

from chronos import models, routes
from chronos.models import Organization, Role, User, utcnow
from chronos.services import access, security_log
from chronos.services.errors import Conflict, NotFound, PermissionDenied
from chronos.services.exports import safe_cell
from chronos.services.files import human_size
from chronos.storage import get_storage

# Tables that never leave: secrets, or state with no meaning outside this database.
SKIPPED_TABLES = frozenset(
    {
        "organizations",  # written as organization.csv (one row)
        "sessions",
        "account_tokens",
        "api_tokens",  # credentials: a new Chronos issues its own
        "webhook_subscriptions",  # signing secrets and URLs: subscribe again in the new one
        "webhook_events",
        "webhook_deliveries",
        "import_batches",  # a record of uploads into this Chronos, with their storage keys
        "import_rows",
        "idempotency_keys",
        "webhook_receipts",
        "notifications",
        "thread_reads",
    }
)
# Columns that are secrets wherever they are.
SECRET_COLUMNS = frozenset(
    {"password_hash", "totp_secret", "totp_recovery_codes", "token_hash", "secret"}
)
# Tables without org_id: scoped through the parent they belong to.
THROUGH_PARENT = {
    "thread_members": ("thread_id", "message_threads"),
    "signature_signers": ("request_id", "signature_requests"),
    "notification_preferences": ("user_id", "users"),
}
CHUNK = 1000
log = logging.getLogger(__name__)
Progress = Callable[[int, int, str], None]

# Plain words for the README: what each file holds (the rest comes from the model's docstring).
ABOUT = {
    "transactions": "The files (deals): address, side, stage, price, key anchors, MLS number.",
    "participants": "Who is on each file and in which role (buyer, seller, lender, title...).",
    "people": "Contacts of the brokerage (a participant points at one).",
    "users": "Logins of the brokerage (no passwords or two-factor secrets).",
    "key_dates": "Each file's deadlines: the rule, the computed date and any override.",
    "tasks": "Tasks and checklist items per file, with who they are for and when they are due.",
    "events": "The timeline: every change to a file, who made it and when.",
    "message_threads": "Conversations per file.",
    "thread_members": "Who is in each conversation.",
    "messages": "Every message of every conversation.",
    "email_messages": "Every email Chronos sent or scheduled, with its delivery status.",
    "documents": "The documents index: title, category, sharing, review state.",
    "document_versions": "Every version of every document; the file is under documents/.",
    "document_slots": "Required-document checklist items per file (compliance).",
    "signature_requests": "Requests for e-signature and their outcome.",
    "signature_signers": "The signers of each request, in order, with when they signed.",
    "lender_conditions": "Loan conditions requested by lenders, and their documents.",
    "checklist_templates": "The brokerage's task checklists.",
    "compliance_templates": "The brokerage's required-document checklists.",
    "deadline_templates": "The brokerage's own key-date presets.",
    "email_templates": "Email templates (brokerage-wide and personal).",
    "form_templates": "Fillable form templates.",
    "automation_rules": "Automations: when something happens, what Chronos does.",
    "automation_runs": "Each time an automation ran.",
    "invitations": "Invitations sent to clients, outside parties and staff.",
    "security_events": "The security log: sign-ins, role changes, deactivations.",
    "notification_preferences": "Each user's notification choices.",
}


@dataclass
class ExportSummary:
    tables: dict[str, int]
    documents: int
    bytes_of_documents: int


def require_admin_of(db: Session, actor: User | None, org_id: int) -> User:
    actor = access.require_role(actor, (Role.ADMIN,))
    if actor.org_id != org_id:
        raise NotFound("There is no such brokerage.")
    return actor


def _tables() -> list[Table]:
    return [
        t
        for t in SQLModel.metadata.sorted_tables
        if t.name not in SKIPPED_TABLES and ("org_id" in t.c or t.name in THROUGH_PARENT)
    ]


def _scope(table: Table, org_id: int) -> Any:
    if "org_id" in table.c:
        return table.c.org_id == org_id
    fk, parent_name = THROUGH_PARENT[table.name]
    parent = SQLModel.metadata.tables[parent_name]
    return table.c[fk].in_(select(parent.c.id).where(parent.c.org_id == org_id))


def _columns(table: Table) -> list[str]:
    return [c.name for c in table.columns if c.name not in SECRET_COLUMNS]


def _csv_rows(conn: Connection, table: Table, org_id: int) -> Iterator[str]:
    cols = _columns(table)
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    writer.writerow(cols)
    last: Any = None
    key = table.c.id if "id" in table.c else next(iter(table.primary_key.columns))
    while True:
        stmt = select(*[table.c[c] for c in cols]).where(_scope(table, org_id))
        if last is not None:
            stmt = stmt.where(key > last)
        rows = conn.execute(stmt.order_by(key).limit(CHUNK)).all()
        for row in rows:
            writer.writerow([_cell(v) for v in row])
        yield buffer.getvalue()
        buffer.seek(0)
        buffer.truncate()
        if len(rows) < CHUNK:
            return
        last = rows[-1]._mapping[key.name]


def _cell(value: Any) -> str:
    """``exports.safe_cell``, made reversible for a re-import: a text that already starts with
    ``'`` gets one more, so stripping one leading ``'`` always gives the value back."""
    if isinstance(value, dict | list):
        value = json.dumps(value, sort_keys=True, default=str)
    text = safe_cell(value)
    if isinstance(value, str) and text == value and value.startswith("'"):
        return "'" + value
    return text


_UNSAFE = re.compile(r"[^A-Za-z0-9._ -]+")


def _file_name(name: str) -> str:
    cleaned = _UNSAFE.sub("_", name).strip(" .") or "file"
    return cleaned[:120]


def write_archive(
    db: Session, org_id: int, out: IO[bytes], *, progress: Progress | None = None
) -> ExportSummary:
    """Write the organization's archive to ``out`` (a file opened for binary writing)."""
    org = db.get(Organization, org_id)
    if org is None:
        raise NotFound("There is no such brokerage.")
    storage = get_storage()
    counts: dict[str, int] = {}
    doc_count = doc_bytes = 0
    conn = db.connection()
    with zipfile.ZipFile(out, "w", compression=zipfile.ZIP_DEFLATED, allowZip64=True) as zf:
        zf.writestr(
            "organization.csv",
            _one_row_csv(
                {
                    "id": org.id,
                    "name": org.name,
                    "slug": org.slug,
                    "timezone": getattr(org, "timezone", ""),
                    "cover_sheet_sections": org.cover_sheet_sections,
                    "exported_at": utcnow().isoformat(timespec="seconds"),
                }
            ),
        )
        tables = _tables()
        for done, table in enumerate(tables):
            if progress:
                progress(done, len(tables), "Tables")
            with zf.open(f"{table.name}.csv", "w") as member:
                lines = 0
                for chunk in _csv_rows(conn, table, org_id):
                    member.write(chunk.encode("utf-8"))
                    lines += chunk.count("\r\n")
                counts[table.name] = max(0, lines - 1)
        versions = SQLModel.metadata.tables["document_versions"]
        documents = SQLModel.metadata.tables["documents"]
        stmt = (
            select(
                versions.c.id,
                versions.c.version,
                versions.c.filename,
                versions.c.storage_key,
                documents.c.id.label("document_id"),
                documents.c.transaction_id,
            )
            .join(documents, documents.c.id == versions.c.document_id)
            .where(documents.c.org_id == org_id)
            .order_by(versions.c.id)
        )
        rows = conn.execute(stmt).all()
        for row in rows:
            if progress and doc_count % 20 == 0:
                progress(doc_count, len(rows), "Documents")
            data = storage.get(row.storage_key)
            path = (
                f"documents/{row.transaction_id}/"
                f"{row.document_id}-v{row.version}-{_file_name(row.filename)}"
            )
            zf.writestr(path, data)
            doc_count += 1
            doc_bytes += len(data)
        forms = SQLModel.metadata.tables["form_templates"]
        for form in conn.execute(
            select(forms.c.id, forms.c.filename, forms.c.storage_key)
            .where(forms.c.org_id == org_id)
            .order_by(forms.c.id)
        ):
            data = storage.get(form.storage_key)
            zf.writestr(f"forms/{form.id}-{_file_name(form.filename)}", data)
            doc_bytes += len(data)
        zf.writestr("README.md", readme(counts, doc_count))
    return ExportSummary(tables=counts, documents=doc_count, bytes_of_documents=doc_bytes)


def export_to_path(
    db: Session, org_id: int, path: Path, *, progress: Progress | None = None
) -> ExportSummary:
    """``write_archive`` into ``path`` through a temporary file (no half-written archive)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    partial = path.with_name(path.name + ".part")
    try:
        with partial.open("wb") as out:
            summary = write_archive(db, org_id, out, progress=progress)
        partial.replace(path)
    finally:
        partial.unlink(missing_ok=True)
    return summary


def _one_row_csv(row: dict[str, Any]) -> str:
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    writer.writerow(list(row))
    writer.writerow([safe_cell(v) for v in row.values()])
    return buffer.getvalue()


def readme(counts: dict[str, int], documents: int) -> str:
    """What each file of the archive holds and what its columns mean."""
    out = [
        "# Chronos export",
        "",
        "One CSV per kind of record (UTF-8, comma-separated, first row = column names) and",
        "every version of every document under `documents/<transaction id>/`, named",
        "`<document id>-v<version>-<original file name>`.",
        "",
        "Columns ending in `_id` point at the `id` column of another file (named in each",
        "column's description). Times are UTC (ISO 8601); dates are `YYYY-MM-DD`; money in",
        "`*_cents` columns is in cents. A cell that starts with `=`, `+`, `-` or `@` is",
        "written with a leading `'` so a spreadsheet shows it as text instead of running it",
        "(and a text that starts with `'` gets one more, so one `'` can always be taken off).",
        "",
        "Left out on purpose: passwords, two-factor secrets, sign-in sessions and API tokens.",
        "",
        "- `organization.csv`: the brokerage itself (1 row; `cover_sheet_sections`: the summary "
        "PDF's sections in print order).",
        f"- `documents/`: {documents} document version file(s).",
        "- `forms/`: the fillable form templates' PDFs, `<form_templates id>-<file name>`.",
        "",
    ]
    for table in _tables():
        model = _model_for(table.name)
        about = ABOUT.get(table.name) or _first_line(model.__doc__ if model else "")
        out.append(f"## {table.name}.csv ({counts.get(table.name, 0)} rows)")
        out.append("")
        if about:
            out.append(about)
            out.append("")
        for column in table.columns:
            if column.name in SECRET_COLUMNS:
                continue
            refs = [f"{fk.column.table.name}.csv `{fk.column.name}`" for fk in column.foreign_keys]
            kind = _kind(column.type)
            note = f" → {', '.join(refs)}" if refs else ""
            empty = ", may be empty" if column.nullable and not column.primary_key else ""
            out.append(f"- `{column.name}`: {kind}{empty}{note}")
        out.append("")
    return "\n".join(out)


def _model_for(table_name: str) -> Any:
    for name in models.__all__:
        model = getattr(models, name, None)
        if getattr(model, "__tablename__", None) == table_name:
            return model
    return None


def _first_line(doc: str | None) -> str:
    return " ".join((doc or "").strip().split("\n\n")[0].split())


def _kind(sql_type: Any) -> str:
    name = type(getattr(sql_type, "impl", sql_type)).__name__.lower()
    if type(sql_type).__name__ == "UTCDateTime":
        return "UTC time"
    if "int" in name:
        return "whole number"
    if "bool" in name:
        return "true/false"
    if "datetime" in name:
        return "UTC time"
    if "date" in name:
        return "date"
    if "json" in name:
        return "JSON"
    if "float" in name or "numeric" in name:
        return "number"
    return "text"


# ----------------------------------------------------------------------------------------------
# The admin's button: an export built by a job, kept for a day, downloaded through a signed link
# bound to the admin who asked for it.

KEEP = timedelta(hours=24)
LINK_SECONDS = int(KEEP.total_seconds())
_NAME = re.compile(r"^(\d+)-(\d+)-(\d{8}T\d{6})-([A-Za-z0-9_-]{8,32})$")


@dataclass
class ExportRow:
    name: str
    state: str  # queued | building | ready | failed
    requested: str  # ISO time (UTC)
    detail: str  # progress, size or the reason it failed
    link: str


def exports_dir() -> Path:
    from chronos.settings import get_settings

    return get_settings().var_dir / "exports"


def _status_path(name: str) -> Path:
    return exports_dir() / f"{name}.json"


def _write_status(name: str, **status: Any) -> None:
    path = _status_path(name)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".tmp")
    tmp.write_text(json.dumps(status))
    tmp.replace(path)


def _read_status(name: str) -> dict[str, Any]:
    try:
        data = json.loads(_status_path(name).read_text())
    except (OSError, ValueError):
        return {}
    return data if isinstance(data, dict) else {}


def _sweep_old(now: datetime) -> None:
    folder = exports_dir()
    if not folder.exists():
        return
    for path in folder.iterdir():
        try:
            if now.timestamp() - path.stat().st_mtime > KEEP.total_seconds():
                path.unlink(missing_ok=True)
        except OSError:
            continue


def _parts(name: str) -> tuple[int, int]:
    m = _NAME.match(name)
    if not m:
        raise NotFound("There is no such export.")
    return int(m.group(1)), int(m.group(2))


def request_export(db: Session, actor: User | None) -> str:
    """Queue an export of the actor's brokerage (admins); returns its name."""
    actor = access.require_role(actor, (Role.ADMIN,))
    now = utcnow()
    _sweep_old(now)
    for row in list_exports(actor):
        if row.state in ("queued", "building"):
            raise Conflict("An export is already being built. It will be emailed to you.")
    name = f"{actor.org_id}-{actor.id}-{now:%Y%m%dT%H%M%S}-{secrets.token_urlsafe(9)}"
    _write_status(name, state="queued", requested=now.isoformat(timespec="seconds"))
    security_log.record(
        db,
        security_log.Kind.DATA_EXPORTED,
        org_id=actor.org_id,
        user_id=actor.id,
        actor_id=actor.id,
        email=actor.email,
        detail={"export": name},
    )
    return name


def enqueue(name: str) -> None:
    """Hand the build to the job queue (after the request's unit of work committed)."""
    from chronos.jobs import get_jobs

    get_jobs().build_export(name)


def build(name: str, *, engine: Any = None) -> None:
    """The job: build the archive, then email its link (or record why it failed)."""
    from chronos.db import session_scope
    from chronos.mail import queue_email

    org_id, user_id = _parts(name)
    status = _read_status(name)
    requested = str(status.get("requested", ""))
    with session_scope(engine) as db:
        user = db.get(User, user_id)
        if (
            user is None
            or not user.is_active
            or user.org_id != org_id
            or (user.role_enum is not Role.ADMIN)
        ):
            _write_status(
                name,
                state="failed",
                requested=requested,
                detail="The person who asked is no longer an admin here.",
            )
            return
        _write_status(name, state="building", requested=requested, detail="Starting…")

        def progress(done: int, total: int, what: str) -> None:
            _write_status(
                name, state="building", requested=requested, detail=f"{what}: {done:,} of {total:,}"
            )

        try:
            summary = export_to_path(db, org_id, exports_dir() / f"{name}.zip", progress=progress)
        except Exception as exc:  # the admin is told; the log has the traceback
            log.exception("export %s failed", name)
            _write_status(
                name,
                state="failed",
                requested=requested,
                detail=f"The export could not be built ({type(exc).__name__}).",
            )
            return
        size = (exports_dir() / f"{name}.zip").stat().st_size
        _write_status(
            name,
            state="ready",
            requested=requested,
            detail=f"{sum(summary.tables.values()):,} rows, {summary.documents:,} document "
            f"versions, {human_size(size)}",
        )
        queue_email(
            db,
            to=user.email,
            template="export_ready",
            context={
                "name": user.full_name,
                "url": routes.public_url(export_link(user_id, name)),
                "hours": int(KEEP.total_seconds() // 3600),
                "detail": _read_status(name).get("detail", ""),
            },
            org_id=org_id,
            user_id=user_id,
        )


def list_exports(actor: User | None) -> list[ExportRow]:
    """This admin's exports of the last day, newest first."""
    actor = access.require_role(actor, (Role.ADMIN,))
    folder = exports_dir()
    if not folder.exists():
        return []
    prefix = f"{actor.org_id}-{actor.id}-"
    rows: list[ExportRow] = []
    for path in sorted(folder.glob(f"{prefix}*.json"), reverse=True):
        name = path.name[: -len(".json")]
        if not _NAME.match(name):
            continue
        status = _read_status(name)
        state = str(status.get("state", "failed"))
        ready = state == "ready" and (folder / f"{name}.zip").exists()
        rows.append(
            ExportRow(
                name=name,
                state=state if state != "ready" or ready else "failed",
                requested=str(status.get("requested", "")),
                detail=str(status.get("detail", "")),
                link=export_link(actor.id or 0, name) if ready else "",
            )
        )
    return rows[:10]


def _link_key() -> bytes:
    from chronos.settings import get_settings

    return hashlib.sha256(b"chronos-export-links:" + get_settings().secret_key.encode()).digest()


def _sign(payload: str) -> str:
    mac = hmac.new(_link_key(), payload.encode(), hashlib.sha256).digest()
    return base64.urlsafe_b64encode(mac[:20]).decode().rstrip("=")


EXPORT_PATH = "/files/exports"


def export_link(user_id: int, name: str, *, now: datetime | None = None) -> str:
    """A link to the archive for ``user_id``, signed, expiring with the archive."""
    expires = int((now or utcnow()).timestamp()) + LINK_SECONDS
    sig = _sign(f"{user_id}:{name}:{expires}")
    return f"{EXPORT_PATH}/{name}.zip?u={user_id}&e={expires}&s={sig}"


def open_export(db: Session, actor: User | None, name: str, params: dict[str, str]) -> Path:
    """The archive's path, for the admin the link was made for (signed in in this browser)."""
    org_id, user_id = _parts(name)
    try:
        u, expires, sig = int(params.get("u", "")), int(params.get("e", "")), params.get("s", "")
    except ValueError:
        raise PermissionDenied("This link is not valid.") from None
    if not hmac.compare_digest(_sign(f"{u}:{name}:{expires}"), sig) or u != user_id:
        raise PermissionDenied("This link is not valid.")
    if expires < utcnow().timestamp():
        raise PermissionDenied("This link has expired. Build a new export.")
    actor = access.require_role(actor, (Role.ADMIN,))
    if actor.id != user_id or actor.org_id != org_id:
        raise PermissionDenied("This export belongs to another admin. Build your own.")
    path = exports_dir() / f"{name}.zip"
    if not path.exists():
        raise NotFound("This export is no longer kept. Build a new one.")
    security_log.record(
        db,
        security_log.Kind.EXPORT_DOWNLOADED,
        org_id=org_id,
        user_id=user_id,
        actor_id=user_id,
        email=actor.email,
        detail={"export": name},
    )
    return path
