"""`chronos backup` and `chronos restore`, end to end on SQLite and PostgreSQL.

One source brokerage per database kind (the demo brokerages with their documents plus a
generated brokerage whose documents get real bytes) is built once per module and backed up
once; each test restores that archive into fresh targets, or backs up a restored copy.
"""

from __future__ import annotations

import hashlib
import io
import json
import os
import tarfile
import threading
import time
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner, Result
from sqlalchemy import MetaData, inspect, text
from sqlalchemy import select as sa_select
from sqlmodel import col, select

from chronos import backup as backup_mod
from chronos import demo, migrate
from chronos.cli import cli
from chronos.db import get_engine, make_engine, session_scope
from chronos.demo_documents import seed_demo_documents
from chronos.models import Document, DocumentVersion, Person
from chronos.services import accounts, auth
from chronos.settings import get_settings
from chronos.storage import LocalStorage, new_key
from tests.conftest import FAST_PWD_CONTEXT, TEST_SECRET_KEY
from tests.support.postgres import fresh_database
from tests.support.s3 import local_s3

GENERATED_DOCUMENTS = 40
DIALECTS = ["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)]


@dataclass
class Site:
    """One Chronos installation: a database and a var dir (documents under var/documents)."""

    url: str
    var_dir: Path

    @property
    def storage_dir(self) -> Path:
        return self.var_dir / "documents"

    @property
    def db_path(self) -> Path | None:
        return Path(self.url.split("///", 1)[1]) if self.url.startswith("sqlite") else None


@contextmanager
def configured(site: Site, **extra: str | None) -> Iterator[None]:
    """Point settings (and the cached engine) at ``site`` for the duration."""
    wanted: dict[str, str | None] = {
        "DATABASE_URL": site.url,
        "CHRONOS_VAR_DIR": str(site.var_dir),
        "CHRONOS_STORAGE_DIR": str(site.storage_dir),
        "CHRONOS_STORAGE": "local",
        "CHRONOS_SECRET_KEY": TEST_SECRET_KEY,
        # One demo password for every site (otherwise it may be generated per var dir).
        "CHRONOS_DEMO_PASSWORD": "backup-test-demo-password",
        **extra,
    }
    saved = {k: os.environ.get(k) for k in wanted}
    get_engine.cache_clear()
    for k, v in wanted.items():
        if v is None:
            os.environ.pop(k, None)
        else:
            os.environ[k] = v
    get_settings.cache_clear()
    try:
        yield
    finally:
        get_engine().dispose()
        get_engine.cache_clear()
        for k, v in saved.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v
        get_settings.cache_clear()


def run(*args: str) -> Result:
    return CliRunner().invoke(cli, list(args), catch_exceptions=False)


class Targets:
    """Fresh, empty installations of one database kind."""

    def __init__(self, dialect: str, root: Path, stack: ExitStack) -> None:
        self.dialect, self.root, self.stack, self.n = dialect, root, stack, 0

    def new(self) -> Site:
        self.n += 1
        var = self.root / f"site{self.n}"
        if self.dialect == "sqlite":
            return Site(f"sqlite:///{var / 'chronos.db'}", var)
        return Site(self.stack.enter_context(fresh_database()), var)


def build_source(site: Site) -> None:
    """The demo brokerages and their documents, and a generated brokerage with documents."""
    saved = auth.pwd_context
    auth.pwd_context = FAST_PWD_CONTEXT
    try:
        with configured(site):
            migrate.upgrade(site.url)
            with session_scope(get_engine()) as db:
                demo.seed_demo(db)
            with session_scope(get_engine()) as db:
                assert seed_demo_documents(db, demo.DEMO_ORG_SLUG) > 0
            with session_scope(get_engine()) as db:
                gen = demo.generate_brokerage(
                    db, seed=5, transactions=20, slug="gen-five", use_services=False
                )
                demo.add_bulk_volume(
                    db, gen.org_id, seed=5, today=date(2026, 11, 1), documents=GENERATED_DOCUMENTS
                )
            storage = LocalStorage(site.storage_dir)
            with session_scope(get_engine()) as db:
                for key in db.exec(
                    select(DocumentVersion.storage_key).where(
                        col(DocumentVersion.storage_key).like("bench/%")
                    )
                ):
                    storage.put(key, hashlib.sha512(key.encode()).digest() * 64, "application/pdf")
    finally:
        auth.pwd_context = saved


# --- what "equal" means -------------------------------------------------------------------


def table_digests(url: str) -> dict[str, tuple[int, str]]:
    """Every table: (rows, SHA-256 of its rows in primary-key order)."""
    engine = make_engine(url)
    try:
        meta = MetaData()
        meta.reflect(engine)
        out: dict[str, tuple[int, str]] = {}
        with engine.connect() as conn:
            for table in meta.sorted_tables:
                order = list(table.primary_key.columns) or list(table.columns)
                h, n = hashlib.sha256(), 0
                for row in conn.execute(sa_select(table).order_by(*order)):
                    h.update(repr(tuple(row)).encode())
                    n += 1
                out[table.name] = (n, h.hexdigest())
        return out
    finally:
        engine.dispose()


def object_keys(url: str) -> set[str]:
    engine = make_engine(url)
    try:
        with engine.connect() as conn:
            return {
                str(k)
                for (k,) in conn.execute(
                    text(
                        "SELECT storage_key FROM document_versions UNION SELECT storage_key "
                        "FROM form_templates UNION SELECT signature_image_key FROM "
                        "signature_signers WHERE signature_image_key <> ''"
                    )
                )
            }
    finally:
        engine.dispose()


def files_under(root: Path) -> list[Path]:
    return [p for p in root.rglob("*") if p.is_file()] if root.exists() else []


def is_empty(site: Site) -> bool:
    """Nothing written: no database file (or no tables) and no stored object."""
    if files_under(site.storage_dir):
        return False
    if site.db_path is not None:
        return not site.db_path.exists()
    engine = make_engine(site.url)
    try:
        return inspect(engine).get_table_names() == []
    finally:
        engine.dispose()


# --- fixtures -----------------------------------------------------------------------------


@dataclass
class Source:
    site: Site
    archive: Path
    targets: Targets


@pytest.fixture(scope="module", params=DIALECTS)
def source(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory):
    with ExitStack() as stack:
        targets = Targets(request.param, tmp_path_factory.mktemp(f"bk-{request.param}"), stack)
        site = targets.new()
        build_source(site)
        archive = targets.root / "source.tar"
        with configured(site):
            result = run("backup", "--out", str(archive))
        assert result.exit_code == 0, result.output
        yield Source(site, archive, targets)


@pytest.fixture(scope="module")
def sqlite_source(tmp_path_factory: pytest.TempPathFactory):
    with ExitStack() as stack:
        targets = Targets("sqlite", tmp_path_factory.mktemp("bk-sqlite-only"), stack)
        site = targets.new()
        build_source(site)
        archive = targets.root / "source.tar"
        with configured(site):
            result = run("backup", "--out", str(archive))
        assert result.exit_code == 0, result.output
        yield Source(site, archive, targets)


def restore_into(site: Site, archive: Path, *args: str) -> Result:
    with configured(site):
        return run("restore", str(archive), *args)


def members(archive: Path) -> dict[str, bytes]:
    with tarfile.open(archive) as tar:
        return {m.name: tar.extractfile(m).read() for m in tar.getmembers()}  # type: ignore[union-attr]


# --- round trip ---------------------------------------------------------------------------


def test_round_trip_restores_every_row_and_document_and_users_sign_in(source: Source) -> None:
    assert source.archive.stat().st_mode & 0o777 == 0o600  # every row and document is in it
    manifest = json.loads(members(source.archive)["manifest.json"])
    assert manifest["database"]["migration_head"] == migrate_head()
    assert manifest["database"]["tables"]["users"] > 0
    assert manifest["storage"]["missing"] == []
    src_keys = object_keys(source.site.url)
    assert {d["key"] for d in manifest["documents"]} == src_keys
    assert len(src_keys) >= GENERATED_DOCUMENTS + 5

    target = source.targets.new()
    result = restore_into(target, source.archive)
    assert result.exit_code == 0, result.output
    assert "every checksum matches" in result.output
    assert f"{len(src_keys):,} documents" in result.output

    before, after = table_digests(source.site.url), table_digests(target.url)
    assert before.keys() == after.keys()
    for table, (rows, digest) in before.items():
        assert after[table] == (rows, digest), table
        if table != "alembic_version":
            assert f"{table} " in result.output  # the report lists every table's count
    src_store, dst_store = LocalStorage(source.site.storage_dir), LocalStorage(target.storage_dir)
    for key in src_keys:
        assert dst_store.get(key) == src_store.get(key), key

    with configured(target), session_scope(get_engine()) as db:
        login = next(d for d in demo.demo_logins() if d.role == "agent")
        outcome = accounts.attempt_sign_in(db, email=login.email, password=login.password)
        assert outcome.signed_in is not None, outcome.error
        wrong = accounts.attempt_sign_in(db, email=login.email, password="not-the-password")
        assert wrong.signed_in is None


def migrate_head() -> str:
    return backup_mod.code_revisions()[-1]


def test_backup_keeps_the_secret_key_out_unless_asked(sqlite_source: Source) -> None:
    parts = members(sqlite_source.archive)
    assert "secret_key" not in parts
    assert all(TEST_SECRET_KEY.encode() not in data for data in parts.values())
    info = json.loads(parts["manifest.json"])["secret_key"]
    assert info["source"] == "env" and info["included"] is False
    assert info["fingerprint"] == backup_mod.key_fingerprint(TEST_SECRET_KEY)
    assert "same key" in info["note"]


def test_file_secret_key_is_included_with_the_flag_and_restored(
    sqlite_source: Source, tmp_path: Path
) -> None:
    live = sqlite_source.targets.new()
    assert restore_into(live, sqlite_source.archive).exit_code == 0
    (live.var_dir / "secret_key").write_text("the-file-secret-key-of-this-site")
    archive = tmp_path / "with-key.tar"
    with configured(live, CHRONOS_SECRET_KEY=None):
        assert get_settings().secret_key_source == "file"
        plain = run("backup", "--out", str(tmp_path / "plain.tar"))
        assert plain.exit_code == 0, plain.output
        assert str(live.var_dir / "secret_key") in plain.output
        result = run("backup", "--out", str(archive), "--include-secret-key")
    assert result.exit_code == 0, result.output
    parts = members(archive)
    assert parts["secret_key"] == b"the-file-secret-key-of-this-site"
    assert json.loads(parts["manifest.json"])["secret_key"]["source"] == "file"
    assert "secret_key" not in members(tmp_path / "plain.tar")

    target = sqlite_source.targets.new()
    with configured(target, CHRONOS_SECRET_KEY=None):
        get_settings()  # a fresh install generates its own key first
        restored = run("restore", str(archive))
    assert restored.exit_code == 0, restored.output
    assert (target.var_dir / "secret_key").read_text() == "the-file-secret-key-of-this-site"
    assert oct((target.var_dir / "secret_key").stat().st_mode & 0o777) == "0o600"

    # Without the key in the archive, a different configured key is called out.
    other = sqlite_source.targets.new()
    with configured(other, CHRONOS_SECRET_KEY="some-other-key"):
        warned = run("restore", str(tmp_path / "plain.tar"))
    assert warned.exit_code == 0, warned.output
    assert "WARNING: the configured secret key is not the one" in warned.output


# --- refusals -----------------------------------------------------------------------------


def _cut(archive: Path, out: Path, size: int) -> Path:
    out.write_bytes(archive.read_bytes()[:size])
    return out


def _offset_of(archive: Path, name: str) -> tuple[int, int]:
    """Where a member's data starts in the archive, and its size."""
    with tarfile.open(archive) as tar:
        m = tar.getmember(name)
        return m.offset_data, m.size


def test_truncated_archive_is_refused_and_nothing_is_written(
    sqlite_source: Source, tmp_path: Path
) -> None:
    size = sqlite_source.archive.stat().st_size
    doc = next(n for n in members(sqlite_source.archive) if n.startswith("documents/"))
    doc_at, doc_size = _offset_of(sqlite_source.archive, doc)
    man_at, _ = _offset_of(sqlite_source.archive, "manifest.json")
    for i, cut in enumerate([doc_at + doc_size // 2, man_at + 10, man_at - 512, size // 3]):
        target = sqlite_source.targets.new()
        result = restore_into(target, _cut(sqlite_source.archive, tmp_path / f"cut{i}.tar", cut))
        assert result.exit_code == 1, (cut, result.output)
        assert "Error: Archive is truncated" in result.output, (cut, result.output)
        assert "Traceback" not in result.output
        assert is_empty(target), cut
    empty = tmp_path / "empty.tar"
    empty.write_bytes(b"")
    result = restore_into(sqlite_source.targets.new(), empty)
    assert result.exit_code == 1 and "Archive is empty" in result.output


def _flip(archive: Path, out: Path, at: int) -> Path:
    data = bytearray(archive.read_bytes())
    data[at] ^= 0x01
    out.write_bytes(bytes(data))
    return out


def test_tampered_archive_is_refused_naming_the_part_and_nothing_is_written(
    source: Source, tmp_path: Path
) -> None:
    names = list(members(source.archive))
    # The last document: a restore that wrote as it read would have written the others.
    doc = [n for n in names if n.startswith("documents/")][-1]
    db_member = next(n for n in names if n.startswith("database/"))
    for name in (doc, db_member, "manifest.json"):
        at, size = _offset_of(source.archive, name)
        tampered = _flip(source.archive, tmp_path / "tampered.tar", at + size // 2)
        target = source.targets.new()
        result = restore_into(target, tampered)
        assert result.exit_code == 1, result.output
        assert f"Error: Checksum mismatch in {backup_mod.short(name)}" in result.output
        assert is_empty(target), name


def test_a_manifest_rewritten_to_match_a_changed_part_is_still_caught(
    sqlite_source: Source, tmp_path: Path
) -> None:
    """Editing the manifest (a count) without fixing manifest.sha256 is caught; so is a
    document swapped for other bytes with both manifest and its sum rewritten to match
    the new size but not the new checksum."""
    parts = members(sqlite_source.archive)
    manifest = json.loads(parts["manifest.json"])
    manifest["database"]["tables"]["users"] += 1
    forged = tmp_path / "forged.tar"
    with tarfile.open(forged, "w") as tar:
        for name, data in parts.items():
            if name == "manifest.json":
                data = json.dumps(manifest).encode()
            info = tarfile.TarInfo(name)
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
    target = sqlite_source.targets.new()
    result = restore_into(target, forged)
    assert result.exit_code == 1 and "Checksum mismatch in manifest.json" in result.output
    assert is_empty(target)


def test_non_empty_target_is_refused_unless_forced(source: Source) -> None:
    target = source.targets.new()
    assert restore_into(target, source.archive).exit_code == 0
    users = table_digests(target.url)["users"][0]
    again = restore_into(target, source.archive)
    assert again.exit_code == 1
    assert f"Error: Target database is not empty ({users} users); use --force." in again.output
    forced = restore_into(target, source.archive, "--force")
    assert forced.exit_code == 0, forced.output
    assert table_digests(target.url) == table_digests(source.site.url)

    # An empty database beside a storage that already holds files is refused too.
    fresh = source.targets.new()
    LocalStorage(fresh.storage_dir).put(new_key(), b"someone else's file", "text/plain")
    refused = restore_into(fresh, source.archive)
    assert refused.exit_code == 1
    assert "Error: Target storage is not empty (1 objects" in refused.output
    assert fresh.db_path is None or not fresh.db_path.exists()


# --- an older archive ---------------------------------------------------------------------


def test_an_archive_from_an_older_migration_is_migrated_forward(
    source: Source, tmp_path: Path
) -> None:
    revisions = backup_mod.code_revisions()
    # From before 0013 (PDF active-content columns): every later migration runs on restore.
    older = revisions[revisions.index("0013") - 1]
    live = source.targets.new()
    assert restore_into(live, source.archive).exit_code == 0
    migrate.downgrade(live.url, older)
    archive = tmp_path / "older.tar"
    with configured(live):
        result = run("backup", "--out", str(archive))
    assert result.exit_code == 0, result.output
    assert f"at migration {older}" in result.output
    assert json.loads(members(archive)["manifest.json"])["database"]["migration_head"] == older

    target = source.targets.new()
    restored = restore_into(target, archive)
    assert restored.exit_code == 0, restored.output
    assert f"migrated from {older} to {revisions[-1]}" in restored.output
    engine = make_engine(target.url)
    try:
        with engine.connect() as conn:
            head = conn.execute(text("SELECT version_num FROM alembic_version")).scalar_one()
        indexes = {ix["name"] for ix in inspect(engine).get_indexes("tasks")}
    finally:
        engine.dispose()
    assert head == revisions[-1]
    assert "ix_tasks_org_status_due_txn" in indexes
    # Every row comes back. Migration 0013 adds two columns to document_versions:
    # an archive from before it holds versions never checked for PDF active content, so they
    # come back unchecked (served as downloads only), the rest of each row as it was.
    skip = {"alembic_version", "document_versions"}
    src, dst = table_digests(source.site.url), table_digests(target.url)
    assert {t: v for t, v in dst.items() if t not in skip} == {
        t: v for t, v in src.items() if t not in skip
    }
    added = ("active_content_removed", "active_content_checked")
    before, after = _version_rows(source.site.url, added), _version_rows(target.url, added)
    assert [r[0] for r in after] == [r[0] for r in before] and before
    assert {r[1] for r in after} == {("", False)}


def _version_rows(url: str, added: tuple[str, ...]) -> list[tuple[Any, tuple[Any, ...]]]:
    """document_versions rows in id order: (every other column, the ``added`` columns)."""
    engine = make_engine(url)
    try:
        meta = MetaData()
        meta.reflect(engine, only=["document_versions"])
        table = meta.tables["document_versions"]
        rest = [c for c in table.columns if c.name not in added]
        with engine.connect() as conn:
            rows = conn.execute(sa_select(table).order_by(table.c.id)).mappings().all()
        return [
            (
                tuple(row[c.name] for c in rest),
                tuple(bool(row[n]) if n.endswith("checked") else row[n] for n in added),
            )
            for row in rows
        ]
    finally:
        engine.dispose()


def test_an_archive_from_a_newer_chronos_is_refused(sqlite_source: Source, tmp_path: Path) -> None:
    parts = members(sqlite_source.archive)
    manifest = json.loads(parts["manifest.json"])
    manifest["database"]["migration_head"] = "9999"
    raw = backup_mod.encode_manifest(manifest)
    parts["manifest.json"] = raw
    parts["manifest.sha256"] = (hashlib.sha256(raw).hexdigest() + "\n").encode()
    newer = tmp_path / "newer.tar"
    with tarfile.open(newer, "w") as tar:
        for name, data in parts.items():
            info = tarfile.TarInfo(name)
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
    target = sqlite_source.targets.new()
    result = restore_into(target, newer)
    assert result.exit_code == 1
    assert "migration '9999' is unknown to this Chronos" in result.output
    assert is_empty(target)


# --- consistency under writes -------------------------------------------------------------


def test_a_backup_taken_while_users_write_keeps_everything_committed_before_it(
    source: Source, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    live = source.targets.new()
    assert restore_into(live, source.archive).exit_code == 0
    committed: list[tuple[int, int]] = []  # (person id, version id), appended after commit
    errors: list[BaseException] = []
    stop = threading.Event()
    archive = tmp_path / "during-writes.tar"

    with configured(live):
        engine = get_engine()
        with session_scope(engine) as db:
            doc = db.exec(select(Document).order_by(col(Document.id))).first()
            assert doc is not None
            doc_id, org_id = int(doc.id or 0), doc.org_id

        def writer() -> None:
            from chronos.services import documents

            n = 1000
            try:
                while not stop.is_set():
                    n += 1
                    with session_scope(engine) as db:
                        person = Person(org_id=org_id, first_name="Writer", last_name=str(n))
                        key = documents.store_bytes(db, f"bytes {n}".encode(), "text/plain")
                        version = DocumentVersion(
                            org_id=org_id,
                            document_id=doc_id,
                            version=n,
                            storage_key=key,
                            filename=f"w{n}.txt",
                            content_type="text/plain",
                            size=len(f"bytes {n}"),
                            sha256="0" * 64,
                        )
                        db.add(person)
                        db.add(version)
                        db.flush()
                        ids = (int(person.id or 0), int(version.id or 0))
                    committed.append(ids)
            except BaseException as exc:  # pragma: no cover - reported below
                errors.append(exc)

        # Copying documents slowly keeps the writer busy while the backup runs.
        real_open = backup_mod._open_object

        @contextmanager
        def slow_open(storage, key):  # type: ignore[no-untyped-def]
            time.sleep(0.01)
            with real_open(storage, key) as opened:
                yield opened

        monkeypatch.setattr(backup_mod, "_open_object", slow_open)
        thread = threading.Thread(target=writer, daemon=True)
        thread.start()
        while len(committed) < 20 and thread.is_alive():
            time.sleep(0.01)
        before = list(committed)  # everything committed before the backup starts
        result = run("backup", "--out", str(archive))
        during = len(committed) - len(before)
        stop.set()
        thread.join(30)
    assert not errors, errors
    assert result.exit_code == 0, result.output
    assert during > 0, "the writer made no commit while the backup ran"

    target = source.targets.new()
    restored = restore_into(target, archive)
    assert restored.exit_code == 0, restored.output
    engine = make_engine(target.url)
    try:
        with engine.connect() as conn:
            people = {r[0] for r in conn.execute(text("SELECT id FROM people"))}
            versions = {
                int(r[0]): str(r[1])
                for r in conn.execute(text("SELECT id, storage_key FROM document_versions"))
            }
    finally:
        engine.dispose()
    for person_id, version_id in before:
        assert person_id in people and version_id in versions
    # The snapshot is consistent: a person row and its version row went in together...
    for person_id, version_id in committed:
        assert (person_id in people) == (version_id in versions)
    # ...and every version row restored has its bytes.
    stored = LocalStorage(target.storage_dir)
    assert all(stored.exists(key) for key in versions.values())


# --- S3 -----------------------------------------------------------------------------------


def test_s3_archives_hold_keys_and_checksums_or_with_the_flag_the_bytes(
    sqlite_source: Source, tmp_path: Path
) -> None:
    keys = object_keys(sqlite_source.site.url)
    local = LocalStorage(sqlite_source.site.storage_dir)
    with local_s3() as s3:
        client = s3.client()
        for key in keys:
            client.put_object(Bucket=s3.bucket, Key=key, Body=local.get(key))
        refs, full = tmp_path / "refs.tar", tmp_path / "full.tar"
        with configured(sqlite_source.site, **s3.env()):
            assert run("backup", "--out", str(refs)).exit_code == 0
            result = run("backup", "--out", str(full), "--include-s3-bytes")
            assert result.exit_code == 0, result.output
        ref_parts = members(refs)
        assert not [n for n in ref_parts if n.startswith("documents/")]
        manifest = json.loads(ref_parts["manifest.json"])
        assert manifest["storage"]["backend"] == "s3"
        assert manifest["storage"]["bytes_included"] is False
        assert {d["key"]: d["sha256"] for d in manifest["documents"]} == {
            k: hashlib.sha256(local.get(k)).hexdigest() for k in keys
        }

        # Reference-only: restores against the bucket that holds the objects, checking them.
        target = sqlite_source.targets.new()
        with configured(target, **s3.env()):
            restored = run("restore", str(refs))
        assert restored.exit_code == 0, restored.output
        assert table_digests(target.url) == table_digests(sqlite_source.site.url)

        # With the bytes: into another, empty bucket.
        client.create_bucket(Bucket="restored-documents")
        env = {**s3.env(), "CHRONOS_S3_BUCKET": "restored-documents"}
        target2 = sqlite_source.targets.new()
        with configured(target2, **env):
            missing = run("restore", str(refs))
            assert missing.exit_code == 1
            assert "is not in the target storage" in missing.output
            assert not target2.db_path or not target2.db_path.exists()
            restored2 = run("restore", str(full))
        assert restored2.exit_code == 0, restored2.output
        for key in keys:
            body = client.get_object(Bucket="restored-documents", Key=key)["Body"].read()
            assert body == local.get(key)


def test_bad_paths_get_one_line_errors(sqlite_source: Source, tmp_path: Path) -> None:
    with configured(sqlite_source.site):
        no_dir = run("backup", "--out", str(tmp_path / "nowhere" / "b.tar"))
        assert no_dir.exit_code == 1
        assert f"Error: The folder {tmp_path / 'nowhere'} does not exist." in no_dir.output
    target = sqlite_source.targets.new()
    missing = restore_into(target, tmp_path / "no-such.tar")
    assert missing.exit_code == 1
    assert f"Error: No archive at {tmp_path / 'no-such.tar'}." in missing.output
    junk = tmp_path / "junk.tar"
    junk.write_bytes(b"this is not a tar archive at all" * 40)
    refused = restore_into(target, junk)
    assert refused.exit_code == 1 and "Error: Not a tar archive" in refused.output
    assert "Traceback" not in refused.output and is_empty(target)


def test_two_factor_accounts_need_the_same_secret_key_after_a_restore(
    sqlite_source: Source, tmp_path: Path
) -> None:
    """Why the manifest insists on the key: TOTP secrets are encrypted with it."""
    import pyotp

    from chronos.models import User

    live = sqlite_source.targets.new()
    assert restore_into(live, sqlite_source.archive).exit_code == 0
    with configured(live), session_scope(get_engine()) as db:
        login = next(d for d in demo.demo_logins() if d.role == "admin")
        user = db.exec(select(User).where(User.email == login.email)).one()
        setup = accounts.begin_totp(db, user)
        totp = pyotp.TOTP(setup.secret)
        accounts.confirm_totp(db, user, totp.at(time.time() - 30))
    archive = tmp_path / "totp.tar"
    with configured(live):
        assert run("backup", "--out", str(archive)).exit_code == 0

    def second_step(site: Site, key: str) -> str:
        with configured(site, CHRONOS_SECRET_KEY=key), session_scope(get_engine()) as db:
            first = accounts.attempt_sign_in(db, email=login.email, password=login.password)
            assert first.two_factor_token, first.error
            done = accounts.complete_two_factor(db, first.two_factor_token, totp.now())
            return "signed in" if done.signed_in is not None else done.error

    same, other = sqlite_source.targets.new(), sqlite_source.targets.new()
    assert restore_into(same, archive).exit_code == 0
    assert second_step(same, TEST_SECRET_KEY) == "signed in"
    with configured(other, CHRONOS_SECRET_KEY="a-different-secret-key"):
        warned = run("restore", str(archive))
    assert "WARNING: the configured secret key is not the one" in warned.output
    assert second_step(other, "a-different-secret-key") == "code"  # the code cannot be checked


def test_a_migrated_but_empty_target_counts_as_empty(source: Source) -> None:
    """`chronos migrate` run first (tables, no rows) is still an empty target."""
    target = source.targets.new()
    with configured(target):
        assert run("migrate").exit_code == 0
    restored = restore_into(target, source.archive)
    assert restored.exit_code == 0, restored.output
    assert table_digests(target.url) == table_digests(source.site.url)
