"""Backup and restore: one tar archive that brings a brokerage back.

Layout of an archive (plain tar, written and read as a stream; members in this order):

    database/chronos.sqlite3   SQLite: a copy made with the online backup API (one snapshot)
    database/chronos.pgdump    PostgreSQL: ``pg_dump --format=custom`` of one snapshot
    secret_key                 only with ``include_secret_key`` (the key in clear)
    documents/<key>            the bytes of every object the snapshot's rows refer to
                               (local storage; S3 only with ``include_s3_bytes``)
    manifest.json              what is in it: versions, migration head, row counts per table,
                               SHA-256 and size of every member, every document's checksum
    manifest.sha256            SHA-256 of manifest.json (a cut or edited manifest is caught)

Consistency: the database snapshot is taken first, and the documents to copy are the keys its
rows name (document versions, form templates, drawn signatures). Objects are immutable under
opaque keys (``storage.new_key``) and bytes are written before their row commits, so every
document row in the snapshot has its bytes in storage; they are copied after the snapshot.
A document deleted while the backup runs can be gone before it is copied: it is listed under
``storage.missing`` in the manifest and reported, never silently skipped.

Restore reads the archive twice: first to check every checksum (nothing is written until the
whole archive is proven intact), then to write documents and finally install the database,
check its row counts against the manifest and migrate it forward when the archive is older.

The pure pieces (manifest building, parsing and verification, migration ordering) take and
return plain data; the I/O (snapshots, storage, tar) sits below them.
"""

from __future__ import annotations

import functools
import hashlib
import hmac
import io
import json
import logging
import os
import re
import shutil
import sqlite3
import subprocess
import tarfile
import tempfile
import time
import zlib
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import IO, Any, ParamSpec, TypeVar

from sqlalchemy import text
from sqlalchemy.engine import Engine, make_url

from chronos.settings import Settings

log = logging.getLogger(__name__)

FORMAT = "chronos-backup"
FORMAT_VERSION = 1
MANIFEST = "manifest.json"
MANIFEST_SUM = "manifest.sha256"
SQLITE_MEMBER = "database/chronos.sqlite3"
PG_MEMBER = "database/chronos.pgdump"
SECRET_MEMBER = "secret_key"
DOC_PREFIX = "documents/"
CHUNK = 1024 * 1024

# The columns that name stored objects (table, column); a table missing from an older schema
# is skipped.
OBJECT_COLUMNS: tuple[tuple[str, str], ...] = (
    ("document_versions", "storage_key"),
    ("form_templates", "storage_key"),
    ("signature_signers", "signature_image_key"),
)

Progress = Callable[[str], None]
_P = ParamSpec("_P")
_R = TypeVar("_R")


class BackupError(Exception):
    """A backup or restore refused or failed; ``message`` says why in one sentence."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


# --- pure pieces --------------------------------------------------------------------------


@dataclass(frozen=True)
class Part:
    """One archive member: its name, SHA-256 and size."""

    name: str
    sha256: str
    size: int


@dataclass(frozen=True)
class DocumentEntry:
    key: str
    sha256: str
    size: int
    in_archive: bool


def key_fingerprint(secret_key: str) -> str:
    """A short, one-way fingerprint of the secret key: tells whether two keys are the same
    without revealing either."""
    return hmac.new(secret_key.encode(), b"chronos-backup-key-fingerprint", "sha256").hexdigest()[
        :16
    ]


_KEY = re.compile(r"^[a-z]+(/[0-9a-zA-Z_.-]+)+$")


def safe_key(key: str) -> str:
    """``key`` if it is a storage key (as ``storage.new_key`` makes them), else an error: an
    archive must never name a path outside the storage root."""
    if not _KEY.match(key) or ".." in key.split("/") or len(key) > 200:
        raise BackupError(f"unsafe document key {key[:60]!r} in the archive")
    return key


def doc_member(key: str) -> str:
    return DOC_PREFIX + key


def short(name: str) -> str:
    """``documents/d/ab/ab12cd…`` for messages (keys are long and opaque)."""
    return name if len(name) <= 60 else name[:57] + "…"


SECRET_RESTORE_NOTE = (
    "Session and signed-link HMACs and the Fernet-encrypted two-factor (TOTP) secrets derive "
    "from the secret key: restore with the same key (the same CHRONOS_SECRET_KEY, or the same "
    "var/secret_key file), or every session ends and two-factor accounts cannot sign in."
)


def build_manifest(
    *,
    chronos_version: str,
    created_at: datetime,
    dialect: str,
    migration_head: str | None,
    tables: Mapping[str, int],
    parts: Sequence[Part],
    documents: Sequence[DocumentEntry],
    missing: Sequence[str],
    storage_backend: str,
    storage_location: str,
    bytes_included: bool,
    secret_source: str,
    secret_fingerprint: str,
    secret_included: bool,
) -> dict[str, Any]:
    """The manifest as plain data (JSON-ready)."""
    return {
        "format": FORMAT,
        "format_version": FORMAT_VERSION,
        "chronos_version": chronos_version,
        "created_at": created_at.astimezone(UTC).isoformat(),
        "database": {
            "dialect": dialect,
            "member": SQLITE_MEMBER if dialect == "sqlite" else PG_MEMBER,
            "migration_head": migration_head,
            "tables": dict(sorted(tables.items())),
        },
        "storage": {
            "backend": storage_backend,
            "location": storage_location,
            "bytes_included": bytes_included,
            "objects": len(documents),
            "bytes": sum(d.size for d in documents),
            "missing": sorted(missing),
        },
        "secret_key": {
            "source": secret_source,  # env (CHRONOS_SECRET_KEY) | file (var/secret_key)
            "fingerprint": secret_fingerprint,
            "included": secret_included,
            "note": SECRET_RESTORE_NOTE,
        },
        "jobs": "not included: the job queue holds only pointers to rows; queued email is "
        "re-enqueued from its rows by the sweeper",
        "parts": [{"name": p.name, "sha256": p.sha256, "size": p.size} for p in parts],
        "documents": [
            {"key": d.key, "sha256": d.sha256, "size": d.size, "in_archive": d.in_archive}
            for d in documents
        ],
    }


def encode_manifest(manifest: Mapping[str, Any]) -> bytes:
    return json.dumps(manifest, indent=1, sort_keys=False).encode() + b"\n"


def parse_manifest(raw: bytes, recorded_sum: bytes | None) -> dict[str, Any]:
    """Check the manifest's own checksum and shape; return it."""
    if recorded_sum is None:
        raise BackupError(f"archive is truncated: {MANIFEST_SUM} is missing at its end")
    if hashlib.sha256(raw).hexdigest() != recorded_sum.decode(errors="replace").strip():
        raise BackupError(f"checksum mismatch in {MANIFEST}")
    try:
        manifest = json.loads(raw)
    except ValueError as exc:
        raise BackupError(f"{MANIFEST} is not valid JSON: {exc}") from exc
    if not isinstance(manifest, dict) or manifest.get("format") != FORMAT:
        raise BackupError("not a Chronos backup (its manifest has no chronos-backup format)")
    if manifest.get("format_version") != FORMAT_VERSION:
        raise BackupError(
            f"backup format version {manifest.get('format_version')!r} is not supported "
            f"(this Chronos reads version {FORMAT_VERSION})"
        )
    for section in ("database", "storage", "secret_key", "parts", "documents"):
        if section not in manifest:
            raise BackupError(f"{MANIFEST} has no {section!r} section")
    return manifest


def expected_members(manifest: Mapping[str, Any]) -> dict[str, tuple[str, int]]:
    """Every member the manifest promises: name -> (sha256, size)."""
    wanted = {p["name"]: (p["sha256"], int(p["size"])) for p in manifest["parts"]}
    for d in manifest["documents"]:
        safe_key(str(d["key"]))
        if d["in_archive"]:
            wanted[doc_member(d["key"])] = (d["sha256"], int(d["size"]))
    return wanted


def verify_members(
    manifest: Mapping[str, Any], seen: Mapping[str, tuple[str, int]], order: Sequence[str]
) -> None:
    """Compare what was read (name -> (sha256, size), in archive order) with the manifest.

    Raises on the first problem, in archive order, with the member's name."""
    wanted = expected_members(manifest)
    for name in order:
        if name not in wanted:
            raise BackupError(f"unexpected member {short(name)} in the archive")
        sha, size = seen[name]
        want_sha, want_size = wanted[name]
        if size != want_size:
            raise BackupError(
                f"checksum mismatch in {short(name)} ({size} bytes, the manifest says {want_size})"
            )
        if sha != want_sha:
            raise BackupError(f"checksum mismatch in {short(name)}")
    for name in wanted:
        if name not in seen:
            raise BackupError(f"{short(name)} is missing from the archive")
    db_member = manifest["database"]["member"]
    if db_member not in wanted:
        raise BackupError("the manifest lists no database part")


def migration_position(head: str | None, revisions: Sequence[str]) -> int:
    """Where ``head`` stands in the code's revision list (oldest first); -1 for an empty
    schema. Raises when this Chronos does not know it (an archive from a newer version)."""
    if head is None:
        return -1
    if head not in revisions:
        raise BackupError(
            f"the archive's migration {head!r} is unknown to this Chronos (it is newer, or "
            "from another branch): restore it with the Chronos version that made it"
        )
    return list(revisions).index(head)


def nonempty_message(counts: Mapping[str, int]) -> str:
    users = counts.get("users", 0)
    if users:
        return f"target database is not empty ({users} users); use --force"
    rows = sum(counts.values())
    tables = sum(1 for n in counts.values() if n)
    return f"target database is not empty ({rows} rows in {tables} tables); use --force"


# --- small I/O helpers --------------------------------------------------------------------


class _HashingReader:
    """Reads through ``raw`` (a file object), hashing and counting what passes."""

    def __init__(self, raw: IO[bytes] | Any) -> None:
        self.raw = raw
        self.hash = hashlib.sha256()
        self.size = 0

    def read(self, n: int = -1) -> bytes:
        data: bytes = self.raw.read(n) if n is not None and n >= 0 else self.raw.read()
        self.hash.update(data)
        self.size += len(data)
        return data


def chronos_version() -> str:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("chronos")
    except PackageNotFoundError:  # pragma: no cover - running from a bare checkout
        return "unknown"


def code_revisions() -> list[str]:
    """The code's migration revisions, oldest first (one linear history)."""
    from alembic.script import ScriptDirectory

    from chronos.migrate import alembic_config

    script = ScriptDirectory.from_config(alembic_config("sqlite://"))
    return [r.revision for r in reversed(list(script.walk_revisions()))]


def _sqlite_path(url: str) -> Path:
    u = make_url(url)
    if not u.database or u.database == ":memory:":
        raise BackupError("an in-memory SQLite database cannot be backed up or restored")
    return Path(u.database)


def _dialect(url: str) -> str:
    name = make_url(url).get_backend_name()
    if name not in {"sqlite", "postgresql"}:
        raise BackupError(f"backups support SQLite and PostgreSQL, not {name}")
    return name


def _pg_tool(settings: Settings, name: str) -> str:
    if settings.pg_bin_dir:
        path = Path(settings.pg_bin_dir) / name
        if not path.is_file():
            raise BackupError(f"{name} not found in CHRONOS_PG_BIN_DIR ({settings.pg_bin_dir})")
        return str(path)
    found = shutil.which(name)
    if found is None:
        raise BackupError(
            f"{name} not found: install the PostgreSQL client tools (the server's version or "
            "newer) or set CHRONOS_PG_BIN_DIR"
        )
    return found


def _pg_target(url: str) -> tuple[str, dict[str, str]]:
    """A libpq connection URL without the password, and the environment carrying it."""
    u = make_url(url)
    password = u.password
    plain = u.set(drivername="postgresql", password=None).render_as_string(hide_password=False)
    # The child inherits this process's environment (HOME, PATH, PG* defaults); the password
    # travels in PGPASSWORD rather than on the command line, where `ps` would show it.
    env = dict(os.environ)
    if password:
        env["PGPASSWORD"] = str(password)
    return plain, env


def _run_tool(args: list[str], env: dict[str, str], what: str) -> None:
    proc = subprocess.run(args, env=env, capture_output=True, text=True, check=False)
    if proc.returncode != 0:
        lines = [ln for ln in (proc.stderr or proc.stdout).splitlines() if ln.strip()]
        detail = lines[-1] if lines else f"exit code {proc.returncode}"
        raise BackupError(f"{what} failed: {detail}")


def _user_tables(conn: Any, dialect: str) -> list[str]:
    if dialect == "sqlite":
        rows = conn.execute(
            "SELECT name FROM sqlite_master WHERE type='table' AND name NOT LIKE 'sqlite_%'"
        ).fetchall()
    else:
        rows = conn.execute(
            text(
                "SELECT table_name FROM information_schema.tables "
                "WHERE table_schema = current_schema() AND table_type = 'BASE TABLE'"
            )
        ).fetchall()
    return sorted(str(r[0]) for r in rows)


def _q(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def _exec(conn: Any, dialect: str, sql: str) -> Any:
    return conn.execute(sql) if dialect == "sqlite" else conn.execute(text(sql))


def _counts(conn: Any, dialect: str) -> dict[str, int]:
    return {
        t: int(_exec(conn, dialect, f"SELECT count(*) FROM {_q(t)}").fetchone()[0])
        for t in _user_tables(conn, dialect)
        if t != "alembic_version"
    }


def _head(conn: Any, dialect: str) -> str | None:
    if "alembic_version" not in _user_tables(conn, dialect):
        return None
    row = _exec(conn, dialect, "SELECT version_num FROM alembic_version").fetchone()
    return str(row[0]) if row else None


def _object_keys(conn: Any, dialect: str) -> list[str]:
    tables = set(_user_tables(conn, dialect))
    keys: set[str] = set()
    for table, column in OBJECT_COLUMNS:
        if table in tables:
            rows = _exec(
                conn,
                dialect,
                f"SELECT DISTINCT {_q(column)} FROM {_q(table)} WHERE {_q(column)} <> ''",
            ).fetchall()
            keys.update(str(r[0]) for r in rows if r[0])
    return sorted(keys)


# --- database snapshots -------------------------------------------------------------------


@dataclass
class Snapshot:
    dialect: str
    path: Path
    head: str | None
    tables: dict[str, int]
    keys: list[str]


def snapshot_sqlite(url: str, dest: Path) -> Snapshot:
    """Copy the live database with SQLite's online backup API (one step: one consistent
    snapshot; writers in WAL mode are not blocked), then read counts and keys from the copy."""
    source_path = _sqlite_path(url)
    if not source_path.is_file():
        raise BackupError(f"the database file {source_path} does not exist")
    src = sqlite3.connect(str(source_path), timeout=30)
    try:
        dst = sqlite3.connect(str(dest))
        try:
            src.backup(dst)  # pages=-1: the whole database in one step
            dst.commit()
        finally:
            dst.close()
    finally:
        src.close()
    copy = sqlite3.connect(str(dest))
    try:
        # The copy is a plain rollback-journal file from here on (no -wal beside it).
        copy.execute("PRAGMA journal_mode=DELETE")
        return Snapshot(
            "sqlite",
            dest,
            _head(copy, "sqlite"),
            _counts(copy, "sqlite"),
            _object_keys(copy, "sqlite"),
        )
    finally:
        copy.close()


def snapshot_postgres(url: str, dest: Path, settings: Settings) -> Snapshot:
    """``pg_dump`` of one exported snapshot; the counts, migration head and object keys are
    read in the transaction that exported it, so all of them describe the same moment."""
    from chronos.db import make_engine

    pg_dump = _pg_tool(settings, "pg_dump")
    target, env = _pg_target(url)
    engine = make_engine(url)
    try:
        with engine.connect() as raw:
            conn = raw.execution_options(isolation_level="REPEATABLE READ")
            with conn.begin():
                snap = str(conn.execute(text("SELECT pg_export_snapshot()")).scalar_one())
                _run_tool(
                    [
                        pg_dump,
                        "--format=custom",
                        "--no-owner",
                        "--no-privileges",
                        f"--snapshot={snap}",
                        f"--file={dest}",
                        f"--dbname={target}",
                    ],
                    env,
                    "pg_dump",
                )
                return Snapshot(
                    "postgresql",
                    dest,
                    _head(conn, "postgresql"),
                    _counts(conn, "postgresql"),
                    _object_keys(conn, "postgresql"),
                )
    finally:
        engine.dispose()


# --- storage access -----------------------------------------------------------------------


@contextmanager
def _open_object(storage: Any, key: str) -> Iterator[tuple[IO[bytes] | Any, int] | None]:
    """A readable stream and the size of the object under ``key``, or None when missing."""
    from chronos.storage import LocalStorage, StorageError

    if isinstance(storage, LocalStorage):
        path = storage.root / safe_key(key)
        try:
            fh = path.open("rb")
        except FileNotFoundError:
            yield None
            return
        with fh:
            yield fh, os.fstat(fh.fileno()).st_size
        return
    from botocore.exceptions import BotoCoreError, ClientError

    try:
        obj = storage.client.get_object(Bucket=storage.bucket, Key=key)
    except ClientError as exc:
        if exc.response.get("Error", {}).get("Code") in {"NoSuchKey", "404"}:
            yield None
            return
        raise StorageError(f"Could not read {key}: {exc}") from exc
    except BotoCoreError as exc:
        raise StorageError(f"Could not read {key}: {exc}") from exc
    body = obj["Body"]
    try:
        yield body, int(obj["ContentLength"])
    finally:
        body.close()


def _storage(factory: Callable[[], Any]) -> Any:
    from chronos.storage import StorageError

    try:
        return factory()
    except StorageError as exc:
        raise BackupError(f"storage is not usable: {exc}") from exc


def _storage_location(settings: Settings) -> str:
    if settings.storage_backend == "s3":
        where = settings.s3_endpoint_url or "AWS"
        return f"s3://{settings.s3_bucket} ({where})"
    return str(settings.storage_dir)


def _storage_objects(storage: Any, limit: int | None = None) -> int:
    """How many objects the storage holds (stops counting at ``limit``)."""
    from chronos.storage import LocalStorage

    count = 0
    if isinstance(storage, LocalStorage):
        if not storage.root.exists():
            return 0
        for path in storage.root.rglob("*"):
            if path.is_file():
                count += 1
                if limit and count >= limit:
                    break
        return count
    from botocore.exceptions import BotoCoreError, ClientError

    try:
        for page in storage.client.get_paginator("list_objects_v2").paginate(Bucket=storage.bucket):
            count += int(page.get("KeyCount", 0))
            if limit and count >= limit:
                break
    except (BotoCoreError, ClientError) as exc:
        raise BackupError(f"cannot list the bucket {storage.bucket}: {exc}") from exc
    return count


# --- backup -------------------------------------------------------------------------------


@dataclass
class BackupReport:
    path: Path
    dialect: str
    migration_head: str | None
    tables: dict[str, int]
    documents: int
    document_bytes: int
    bytes_included: bool
    missing: list[str]
    secret_source: str
    secret_included: bool
    archive_bytes: int
    seconds: float
    timings: dict[str, float] = field(default_factory=dict)


def _add_file(tar: tarfile.TarFile, name: str, path: Path) -> Part:
    info = tar.gettarinfo(str(path), arcname=name)
    info.uid = info.gid = 0
    info.uname = info.gname = ""
    info.mode = 0o600
    with path.open("rb") as fh:
        reader = _HashingReader(fh)
        tar.addfile(info, reader)  # type: ignore[arg-type]
    return Part(name, reader.hash.hexdigest(), reader.size)


def _add_bytes(tar: tarfile.TarFile, name: str, data: bytes, mtime: int) -> Part:
    info = tarfile.TarInfo(name)
    info.size, info.mtime, info.mode = len(data), mtime, 0o600
    tar.addfile(info, io.BytesIO(data))
    return Part(name, hashlib.sha256(data).hexdigest(), len(data))


def _add_stream(
    tar: tarfile.TarFile, name: str, stream: IO[bytes] | Any, size: int, mtime: int
) -> Part:
    info = tarfile.TarInfo(name)
    info.size, info.mtime, info.mode = size, mtime, 0o600
    reader = _HashingReader(stream)
    tar.addfile(info, reader)  # type: ignore[arg-type]
    if reader.size != size:  # pragma: no cover - tarfile raises first on a short read
        raise BackupError(f"{short(name)} changed while it was copied")
    return Part(name, reader.hash.hexdigest(), reader.size)


def _hash_stream(stream: IO[bytes] | Any) -> tuple[str, int]:
    h, size = hashlib.sha256(), 0
    while chunk := stream.read(CHUNK):
        h.update(chunk)
        size += len(chunk)
    return h.hexdigest(), size


def _one_line_errors(fn: Callable[_P, _R]) -> Callable[_P, _R]:
    """File-system and SQLite failures (disk full, permissions, a locked file) become a
    ``BackupError`` naming them, never a traceback."""

    @functools.wraps(fn)
    def wrapper(*args: _P.args, **kwargs: _P.kwargs) -> _R:
        try:
            return fn(*args, **kwargs)
        except sqlite3.Error as exc:
            raise BackupError(f"SQLite error: {exc}") from exc
        except OSError as exc:
            raise BackupError(f"{exc.strerror or exc}: {exc.filename or ''}".rstrip(": ")) from exc

    return wrapper


@_one_line_errors
def create_backup(
    out: Path,
    settings: Settings,
    *,
    include_s3_bytes: bool = False,
    include_secret_key: bool = False,
    progress: Progress | None = None,
) -> BackupReport:
    """Write one archive to ``out`` (atomically: a failed backup leaves no file there)."""
    from chronos.storage import StorageError, get_storage

    say = progress or (lambda _msg: None)
    started = time.perf_counter()
    timings: dict[str, float] = {}
    out = Path(out).resolve()
    if out.is_dir():
        raise BackupError(f"{out} is a directory; give a file name such as backup.tar")
    if not out.parent.is_dir():
        raise BackupError(f"the folder {out.parent} does not exist")
    dialect = _dialect(settings.database_url)
    storage = _storage(get_storage)
    bytes_included = settings.storage_backend == "local" or include_s3_bytes
    now = datetime.now(UTC)
    mtime = int(now.timestamp())  # an int: a float mtime costs a pax header per member
    with tempfile.TemporaryDirectory(prefix=".chronos-backup-", dir=out.parent) as tmp:
        tmp_dir = Path(tmp)
        t0 = time.perf_counter()
        if dialect == "sqlite":
            snap = snapshot_sqlite(settings.database_url, tmp_dir / "chronos.sqlite3")
        else:
            snap = snapshot_postgres(settings.database_url, tmp_dir / "chronos.pgdump", settings)
        timings["database"] = time.perf_counter() - t0
        say(
            f"Database snapshot: {sum(snap.tables.values()):,} rows in {len(snap.tables)} "
            f"tables, {snap.path.stat().st_size:,} bytes, {len(snap.keys):,} stored objects."
        )
        partial = tmp_dir / "archive.tar"
        parts: list[Part] = []
        entries: list[DocumentEntry] = []
        missing: list[str] = []
        t0 = time.perf_counter()
        # 0600: the archive holds every row (password hashes, contacts) and document.
        fd = os.open(partial, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "wb") as raw_out, tarfile.open(fileobj=raw_out, mode="w|") as tar:
            parts.append(
                _add_file(tar, SQLITE_MEMBER if dialect == "sqlite" else PG_MEMBER, snap.path)
            )
            snap.path.unlink()  # the copy is in the archive now; free the space
            if include_secret_key:
                parts.append(_add_bytes(tar, SECRET_MEMBER, settings.secret_key.encode(), mtime))
            for n, key in enumerate(snap.keys, 1):
                try:
                    with _open_object(storage, key) as opened:
                        if opened is None:
                            missing.append(key)
                            log.warning("stored object missing, not in the backup: %s", key)
                            continue
                        stream, size = opened
                        if bytes_included:
                            part = _add_stream(tar, doc_member(key), stream, size, mtime)
                            sha, size = part.sha256, part.size
                        else:
                            sha, size = _hash_stream(stream)
                except (StorageError, OSError) as exc:
                    raise BackupError(f"could not copy stored object {short(key)}: {exc}") from exc
                entries.append(DocumentEntry(key, sha, size, bytes_included))
                if n % 1000 == 0:
                    say(f"  {n:,} / {len(snap.keys):,} objects")
            timings["documents"] = time.perf_counter() - t0
            manifest = build_manifest(
                chronos_version=chronos_version(),
                created_at=now,
                dialect=dialect,
                migration_head=snap.head,
                tables=snap.tables,
                parts=parts,
                documents=entries,
                missing=missing,
                storage_backend=settings.storage_backend,
                storage_location=_storage_location(settings),
                bytes_included=bytes_included,
                secret_source=settings.secret_key_source,
                secret_fingerprint=key_fingerprint(settings.secret_key),
                secret_included=include_secret_key,
            )
            raw = encode_manifest(manifest)
            _add_bytes(tar, MANIFEST, raw, mtime)
            _add_bytes(tar, MANIFEST_SUM, (hashlib.sha256(raw).hexdigest() + "\n").encode(), mtime)
        with partial.open("rb+") as fh:
            os.fsync(fh.fileno())
        partial.replace(out)
    return BackupReport(
        path=out,
        dialect=dialect,
        migration_head=snap.head,
        tables=snap.tables,
        documents=len(entries),
        document_bytes=sum(e.size for e in entries),
        bytes_included=bytes_included,
        missing=missing,
        secret_source=settings.secret_key_source,
        secret_included=include_secret_key,
        archive_bytes=out.stat().st_size,
        seconds=time.perf_counter() - started,
        timings=timings,
    )


# --- reading archives ---------------------------------------------------------------------


@contextmanager
def _members(path: Path) -> Iterator[Iterator[tuple[tarfile.TarInfo, IO[bytes]]]]:
    """The archive's regular members as a stream (a gzip-compressed tar is read too)."""
    if not path.is_file():
        raise BackupError(f"no archive at {path}")
    if path.stat().st_size == 0:
        raise BackupError("archive is empty")
    try:
        tar = tarfile.open(str(path), mode="r|*")  # noqa: SIM115 (closed below)
    except (tarfile.TarError, EOFError, zlib.error) as exc:
        raise BackupError(f"not a tar archive ({exc})") from exc

    def gen() -> Iterator[tuple[tarfile.TarInfo, IO[bytes]]]:
        for info in tar:
            if not info.isfile():
                raise BackupError(f"unexpected member {short(info.name)} in the archive")
            fh = tar.extractfile(info)
            assert fh is not None
            yield info, fh

    try:
        yield gen()
    except (tarfile.TarError, EOFError, zlib.error) as exc:
        # EmptyHeaderError and TruncatedHeaderError are not in tarfile's public names.
        cut = isinstance(exc, EOFError) or type(exc).__name__.endswith(
            ("EmptyHeaderError", "TruncatedHeaderError")
        )
        if cut or any(w in str(exc) for w in ("end of data", "empty header", "truncated")):
            raise BackupError("archive is truncated") from exc
        raise BackupError(f"archive is damaged ({exc})") from exc
    finally:
        tar.close()


def verify_archive(path: Path) -> dict[str, Any]:
    """Pass 1: read the whole archive, hash every member, check them against the manifest.
    Writes nothing. Returns the manifest."""
    seen: dict[str, tuple[str, int]] = {}
    order: list[str] = []
    raw_manifest: bytes | None = None
    recorded_sum: bytes | None = None
    with _members(Path(path)) as members:
        for info, fh in members:
            if info.name in seen or (info.name == MANIFEST and raw_manifest is not None):
                raise BackupError(f"member {short(info.name)} appears twice in the archive")
            if info.name == MANIFEST:
                raw_manifest = fh.read()
                if len(raw_manifest) != info.size:
                    raise BackupError("archive is truncated")
                continue
            if info.name == MANIFEST_SUM:
                recorded_sum = fh.read()
                continue
            if raw_manifest is not None:
                raise BackupError(f"unexpected member {short(info.name)} after the manifest")
            sha, size = _hash_stream(fh)
            if size != info.size:
                raise BackupError("archive is truncated")
            seen[info.name] = (sha, size)
            order.append(info.name)
    if raw_manifest is None:
        raise BackupError("archive is truncated (or damaged): it ends before its manifest")
    manifest = parse_manifest(raw_manifest, recorded_sum)
    verify_members(manifest, seen, order)
    return manifest


# --- restore ------------------------------------------------------------------------------


@dataclass
class RestoreReport:
    dialect: str
    archive_head: str | None
    head: str | None
    migrated: bool
    tables: dict[str, int]
    documents_written: int
    documents_referenced: int
    missing: list[str]
    secret_messages: list[str]
    seconds: float
    timings: dict[str, float] = field(default_factory=dict)


def _target_counts(url: str, dialect: str) -> dict[str, int]:
    """Row counts of the target's tables (empty dict: no database or no tables)."""
    if dialect == "sqlite":
        path = _sqlite_path(url)
        if not path.exists():
            return {}
        lite = sqlite3.connect(str(path), timeout=30)
        try:
            return _counts(lite, "sqlite")
        except sqlite3.DatabaseError as exc:
            raise BackupError(
                f"the target {path} is not a readable SQLite database: {exc}"
            ) from exc
        finally:
            lite.close()
    from chronos.db import make_engine

    engine = make_engine(url)
    try:
        with engine.connect() as conn:
            return _counts(conn, "postgresql")
    except Exception as exc:
        raise BackupError(f"cannot reach the target database: {str(exc).splitlines()[0]}") from exc
    finally:
        engine.dispose()


def _pg_tables(url: str) -> list[str]:
    from chronos.db import make_engine

    engine = make_engine(url)
    try:
        with engine.connect() as conn:
            return _user_tables(conn, "postgresql")
    finally:
        engine.dispose()


def _pg_clear(url: str) -> None:
    """Drop every table (and what hangs off them) of the target's schema."""
    from chronos.db import make_engine

    engine = make_engine(url)
    try:
        with engine.begin() as conn:
            tables = _user_tables(conn, "postgresql")
            if tables:
                conn.execute(text("DROP TABLE " + ", ".join(_q(t) for t in tables) + " CASCADE"))
            seqs = conn.execute(
                text(
                    "SELECT sequence_name FROM information_schema.sequences "
                    "WHERE sequence_schema = current_schema()"
                )
            ).fetchall()
            for (seq,) in seqs:
                conn.execute(text(f"DROP SEQUENCE IF EXISTS {_q(str(seq))} CASCADE"))
            # Functions the migrations made (chronos_fold): the dump creates them again.
            # Extensions' own functions (unaccent) stay; the dump says IF NOT EXISTS for those.
            functions = conn.execute(
                text(
                    "SELECT p.oid::regprocedure::text FROM pg_proc p"
                    " WHERE p.pronamespace = current_schema()::regnamespace"
                    " AND NOT EXISTS (SELECT 1 FROM pg_depend d WHERE d.classid ="
                    " 'pg_proc'::regclass AND d.objid = p.oid AND d.deptype = 'e')"
                )
            ).fetchall()
            for (signature,) in functions:
                conn.execute(text(f"DROP FUNCTION IF EXISTS {signature} CASCADE"))
    finally:
        engine.dispose()


def _object_checksum(storage: Any, key: str) -> tuple[str | None, int]:
    with _open_object(storage, key) as opened:
        if opened is None:
            return None, 0
        return _hash_stream(opened[0])


def _check_objects_in_place(storage: Any, manifest: Mapping[str, Any], say: Progress) -> None:
    """S3 archives without the bytes: the objects must be in the target bucket, unchanged."""
    from chronos.storage import StorageError

    docs = [d for d in manifest["documents"] if not d["in_archive"]]
    for n, d in enumerate(docs, 1):
        try:
            sha, size = _object_checksum(storage, d["key"])
        except StorageError as exc:
            raise BackupError(f"cannot read stored object {short(d['key'])}: {exc}") from exc
        if sha is None:
            raise BackupError(
                f"documents/{short(d['key'])} is not in the target storage (the archive holds "
                "only its checksum; restore into the bucket that holds the objects, or take "
                "backups with --include-s3-bytes)"
            )
        if sha != d["sha256"] or size != int(d["size"]):
            raise BackupError(f"checksum mismatch in stored object {short(d['key'])}")
        if n % 1000 == 0:
            say(f"  {n:,} / {len(docs):,} stored objects checked")


def _install_secret(
    settings: Settings, manifest: Mapping[str, Any], archived_key: str | None
) -> list[str]:
    """Put the archived key in place when there is one; otherwise say whether the configured
    key is the one the data needs."""
    info = manifest["secret_key"]
    want = info["fingerprint"]
    have = key_fingerprint(settings.secret_key)
    notes: list[str] = []
    if archived_key is not None:
        if settings.secret_key_source == "env":
            if key_fingerprint(settings.secret_key) != want:
                notes.append(
                    "WARNING: CHRONOS_SECRET_KEY differs from the key in the archive; set it to "
                    f"the archive's {SECRET_MEMBER} before starting Chronos. {SECRET_RESTORE_NOTE}"
                )
            else:
                notes.append("Secret key: CHRONOS_SECRET_KEY matches the archive's key.")
            return notes
        path = settings.secret_key_path
        if path.exists() and path.read_text().strip() == archived_key:
            notes.append(f"Secret key: {path} already holds the archive's key.")
            return notes
        if path.exists():
            kept = path.with_name(f"secret_key.before-restore-{int(time.time())}")
            path.replace(kept)
            notes.append(f"Secret key: the previous key was moved to {kept}.")
        path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w") as fh:
            fh.write(archived_key)
        notes.append(f"Secret key: restored to {path} (0600).")
        return notes
    where = "CHRONOS_SECRET_KEY" if info["source"] == "env" else "the var/secret_key file"
    if have == want:
        notes.append(f"Secret key: the configured key matches the archive's ({where}).")
    else:
        notes.append(
            f"WARNING: the configured secret key is not the one this backup was taken with "
            f"(it came from {where}, fingerprint {want}). {SECRET_RESTORE_NOTE}"
        )
    return notes


@_one_line_errors
def restore_backup(
    archive: Path,
    settings: Settings,
    *,
    force: bool = False,
    progress: Progress | None = None,
) -> RestoreReport:
    """Restore ``archive`` into the configured database and storage (see the module doc)."""
    from chronos import migrate
    from chronos.storage import LocalStorage, StorageError, get_storage

    say = progress or (lambda _msg: None)
    started = time.perf_counter()
    timings: dict[str, float] = {}
    archive = Path(archive).resolve()
    url = settings.database_url
    dialect = _dialect(url)

    # 1. The target: read only.
    counts = _target_counts(url, dialect)
    if any(counts.values()) and not force:
        raise BackupError(nonempty_message(counts))
    storage = _storage(get_storage)

    # 2. Every checksum, before anything is written.
    t0 = time.perf_counter()
    manifest = verify_archive(archive)
    timings["verify"] = time.perf_counter() - t0
    db_info = manifest["database"]
    if db_info["dialect"] != dialect:
        raise BackupError(
            f"the archive holds a {db_info['dialect']} database and the target is {dialect}; "
            "restore into the same kind of database"
        )
    revisions = code_revisions()
    archive_pos = migration_position(db_info.get("migration_head"), revisions)
    bytes_included = bool(manifest["storage"]["bytes_included"])
    in_archive = sum(1 for d in manifest["documents"] if d["in_archive"])
    if in_archive and not force:
        present = _storage_objects(storage, limit=1000)
        if present:
            raise BackupError(
                f"target storage is not empty ({present}{'+' if present >= 1000 else ''} "
                f"objects in {_storage_location(settings)}); use --force"
            )
    if not bytes_included:
        say("Checking that the archive's objects are in the target storage...")
        _check_objects_in_place(storage, manifest, say)
    say(f"Archive verified: {len(expected_members(manifest)):,} members, every checksum matches.")

    # 3. Write: documents first, the database last (so it never names bytes not yet there).
    wanted = expected_members(manifest)
    written = 0
    local_root = storage.root if isinstance(storage, LocalStorage) else None
    made: set[Path] = set()
    archived_key: str | None = None
    target_dir = _sqlite_path(url).parent if dialect == "sqlite" else None
    if target_dir is not None:
        target_dir.mkdir(parents=True, exist_ok=True)
    t0 = time.perf_counter()
    with tempfile.TemporaryDirectory(prefix=".chronos-restore-", dir=target_dir) as tmp:
        db_file = Path(tmp) / ("chronos.sqlite3" if dialect == "sqlite" else "chronos.pgdump")
        with _members(archive) as members:
            for info, fh in members:
                name = info.name
                if name in (MANIFEST, MANIFEST_SUM):
                    continue
                if name not in wanted:
                    raise BackupError(f"the archive changed after it was checked ({short(name)})")
                want_sha, _size = wanted[name]
                if name == db_info["member"]:
                    with db_file.open("wb") as outf:
                        reader = _HashingReader(fh)
                        shutil.copyfileobj(reader, outf, CHUNK)  # type: ignore[misc]
                        outf.flush()
                        os.fsync(outf.fileno())
                    if reader.hash.hexdigest() != want_sha:
                        raise BackupError(f"checksum mismatch in {name} (the archive changed)")
                    continue
                data = fh.read()
                if hashlib.sha256(data).hexdigest() != want_sha:
                    raise BackupError(f"checksum mismatch in {short(name)} (the archive changed)")
                if name == SECRET_MEMBER:
                    archived_key = data.decode().strip()
                    continue
                key = name.removeprefix(DOC_PREFIX)
                try:
                    if local_root is not None:
                        _put_unsynced(local_root, key, data, made)
                    else:
                        storage.put(key, data, "application/octet-stream")
                except (StorageError, OSError) as exc:
                    raise BackupError(f"could not write {short(name)}: {exc}") from exc
                written += 1
                if written % 1000 == 0:
                    say(f"  {written:,} / {in_archive:,} documents written")
        if local_root is not None and written:
            os.sync()  # one flush for every file written above, before the database goes in
        timings["documents"] = time.perf_counter() - t0

        # 4. The database.
        t0 = time.perf_counter()
        if dialect == "sqlite":
            _install_sqlite(db_file, _sqlite_path(url))
        else:
            _install_postgres(db_file, url, settings)
        timings["database"] = time.perf_counter() - t0

    restored = _target_counts(url, dialect)
    for table, n in db_info["tables"].items():
        if restored.get(table) != n:
            raise BackupError(
                f"the restored database has {restored.get(table, 0)} rows in {table}, "
                f"the manifest says {n}"
            )
    migrated = False
    head = db_info.get("migration_head")
    if archive_pos < len(revisions) - 1:
        t0 = time.perf_counter()
        say(f"Migrating forward from {head or 'an empty schema'} to {revisions[-1]}...")
        migrate.upgrade(url)
        timings["migrate"] = time.perf_counter() - t0
        migrated, head = True, revisions[-1]
    secret_notes = _install_secret(settings, manifest, archived_key)
    return RestoreReport(
        dialect=dialect,
        archive_head=db_info.get("migration_head"),
        head=head,
        migrated=migrated,
        tables=_target_counts(url, dialect),
        documents_written=written,
        documents_referenced=len(manifest["documents"]),
        missing=list(manifest["storage"]["missing"]),
        secret_messages=secret_notes,
        seconds=time.perf_counter() - started,
        timings=timings,
    )


def _put_unsynced(root: Path, key: str, data: bytes, made: set[Path]) -> None:
    """LocalStorage.put without its fsync per file (3 ms each here): a restore writes tens of
    thousands of files and flushes them all at once (``os.sync``) before the database that
    names them is installed. Still written to a temporary name and renamed."""
    path = root / safe_key(key)
    if path.parent not in made:  # ``made``: folders known to exist (a mkdir costs ~0.4 ms)
        path.parent.mkdir(parents=True, exist_ok=True)
        made.add(path.parent)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".tmp-")
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
        Path(tmp).replace(path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def _install_sqlite(copy: Path, target: Path) -> None:
    conn = sqlite3.connect(str(copy))
    try:
        ok = conn.execute("PRAGMA quick_check").fetchone()[0]
        if ok != "ok":
            raise BackupError(f"the archived SQLite database fails its check: {ok}")
        conn.execute("PRAGMA journal_mode=WAL")  # as chronos.db opens it
    finally:
        conn.close()
    # A stale -wal beside the old file would be replayed into the new one: remove both first.
    for suffix in ("-wal", "-shm", "-journal"):
        Path(str(target) + suffix).unlink(missing_ok=True)
    copy.replace(target)


def _install_postgres(dump: Path, url: str, settings: Settings) -> None:
    pg_restore = _pg_tool(settings, "pg_restore")
    _pg_clear(url)  # an empty schema, or --force: the archive replaces every table
    target, env = _pg_target(url)
    _run_tool(
        [
            pg_restore,
            "--no-owner",
            "--no-privileges",
            "--single-transaction",
            "--exit-on-error",
            f"--dbname={target}",
            str(dump),
        ],
        env,
        "pg_restore",
    )


def table_counts(engine: Engine) -> dict[str, int]:
    """Rows per table of a live database (reports, tests)."""
    dialect = engine.dialect.name
    if dialect == "sqlite":
        lite = sqlite3.connect(str(_sqlite_path(str(engine.url))))
        try:
            return _counts(lite, "sqlite")
        finally:
            lite.close()
    with engine.connect() as conn:
        return _counts(conn, "postgresql")
