"""Export a brokerage, import the ZIP into a second Chronos, export again: the same data (every
table's rows with their links, every document's bytes), on SQLite and PostgreSQL."""

from __future__ import annotations

import csv
import io
import json
import zipfile
from collections import Counter
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy.engine import Engine
from sqlmodel import Session, SQLModel

from chronos import migrate
from chronos.db import make_engine
from chronos.models import Organization
from chronos.services import documents, messages, org_export, org_import, tasks
from chronos.services.errors import Conflict, ValidationFailed
from chronos.services.files import inspect_upload
from chronos.storage import get_storage
from tests.factories import World, build_world
from tests.support.pdfs import make_pdf


@pytest.fixture
def local_storage(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from chronos import settings

    monkeypatch.setenv("CHRONOS_STORAGE", "local")
    monkeypatch.setenv("CHRONOS_STORAGE_DIR", str(tmp_path / "documents"))
    settings.get_settings.cache_clear()
    clear = getattr(get_storage, "cache_clear", None)
    if clear:
        clear()


def _seeded(engine: Engine) -> World:
    with Session(engine, expire_on_commit=False) as db:
        world = build_world(db)
        data = make_pdf(["Purchase and sale agreement", "page 2"])
        documents.add_document(
            db,
            world.agent,
            world.deal,
            inspect_upload("P&S.pdf", data, max_bytes=10**7),
            data,
            title="=P&S signed",
        )
        tasks.create_task(db, world.agent, world.deal.id or 0, {"title": "'Quoted' task"})
        messages.start_thread(
            db, world.agent, world.deal.id or 0, subject="Keys", body="-2 sets", internal=True
        )
        db.commit()
    return world


def _canonical(zf: zipfile.ZipFile) -> dict[str, Counter[str]]:
    """Each table's rows without their ids (ids differ between the two Chronos), each link
    replaced by the row it points at, in a few words: what the data *is*, not its numbering."""
    tables = {t.name: t for t in SQLModel.metadata.sorted_tables}
    rows = {
        name[:-4]: list(csv.DictReader(io.StringIO(zf.read(name).decode())))
        for name in zf.namelist()
        if name.endswith(".csv") and name != "organization.csv"
    }
    by_id = {t: {r.get("id", ""): r for r in rs} for t, rs in rows.items()}

    def label(table: str, row_id: str, depth: int = 0) -> str:
        row = by_id.get(table, {}).get(row_id)
        if row is None or depth > 1:
            return f"{table}:?" if row_id else ""
        return (
            table
            + ":"
            + "|".join(
                f"{k}={v}" for k, v in sorted(row.items()) if k != "id" and not k.endswith("_id")
            )
        )

    out: dict[str, Counter[str]] = {}
    for name, table_rows in rows.items():
        table = tables[name]
        counter: Counter[str] = Counter()
        for row in table_rows:
            parts = []
            for column in table.columns:
                value = row.get(column.name, "")
                if column.name == "id":
                    continue
                fks = list(column.foreign_keys)
                if column.name == "org_id":
                    continue
                if fks:
                    parts.append(f"{column.name}->{label(fks[0].column.table.name, value)}")
                elif column.name == "storage_key":
                    continue  # opaque and new by design; the bytes are compared below
                elif value.startswith(("{", "[")):
                    parts.append(f"{column.name}={_json_without_ids(value)}")
                else:
                    parts.append(f"{column.name}={value}")
            counter["|".join(parts)] += 1
        out[name] = counter
    return out


def _json_without_ids(raw: str) -> str:
    def strip(value: Any) -> Any:
        if isinstance(value, dict):
            return {k: strip(v) for k, v in value.items() if not k.endswith("_id")}
        if isinstance(value, list):
            return [strip(v) for v in value]
        return value

    return json.dumps(strip(json.loads(raw)), sort_keys=True)


def _files(zf: zipfile.ZipFile) -> Counter[bytes]:
    return Counter(zf.read(n) for n in zf.namelist() if n.startswith(("documents/", "forms/")))


def test_export_import_export_gives_the_same_data(
    engine: Engine, tmp_path: Path, local_storage: None
) -> None:
    world = _seeded(engine)
    first = tmp_path / "first.zip"
    with Session(engine) as db:
        harbor = db.get(Organization, world.harbor.id)
        assert harbor is not None
        harbor.cover_sheet_sections = "key_dates,parties"  # an admin's choice travels too
        db.add(harbor)
        db.commit()
        org_export.export_to_path(db, world.harbor.id or 0, first)

    second_url = f"sqlite:///{tmp_path / 'second.db'}"
    migrate.upgrade(second_url)
    second = make_engine(second_url)
    try:
        with Session(second) as db:
            summary = org_import.import_archive(db, first, name="Harbor Again", slug="harbor-again")
            db.commit()
        assert summary.tables["transactions"] >= 2 and summary.documents >= 1
        assert summary.skipped == {}
        with Session(second) as db:
            again_org = db.get(Organization, summary.org_id)
            assert again_org is not None and again_org.cover_sheet_sections == "key_dates,parties"
        again = tmp_path / "again.zip"
        with Session(second) as db:
            org_export.export_to_path(db, summary.org_id, again)
            # The moved document opens, through the same service as the page.
            from sqlmodel import select

            from chronos.models import DocumentVersion

            version = db.exec(select(DocumentVersion)).first()
            assert version is not None
            assert documents.read_bytes(version).startswith(b"%PDF")
    finally:
        second.dispose()

    with zipfile.ZipFile(first) as a, zipfile.ZipFile(again) as b:
        before, after = _canonical(a), _canonical(b)
        assert set(before) == set(after)
        for table in before:
            assert before[table] == after[table], table
        assert _files(a) == _files(b)
        titles = [r["title"] for r in csv.DictReader(io.StringIO(b.read("documents.csv").decode()))]
    assert "'=P&S signed" in titles  # still escaped for a spreadsheet, still the same text


def test_a_second_import_into_the_same_chronos_is_refused_cleanly(
    engine: Engine, tmp_path: Path, local_storage: None
) -> None:
    world = _seeded(engine)
    archive = tmp_path / "harbor.zip"
    with Session(engine) as db:
        org_export.export_to_path(db, world.harbor.id or 0, archive)
    with Session(engine) as db:
        with pytest.raises(Conflict, match="already exists"):
            org_import.import_archive(db, archive, name="Harbor", slug="harbor-realty")
        with pytest.raises(Conflict, match="login with the email"):
            org_import.import_archive(db, archive, name="Copy", slug="harbor-copy")
        db.rollback()
    not_zip = tmp_path / "not.zip"
    not_zip.write_bytes(b"PK? no")
    with Session(engine) as db, pytest.raises(ValidationFailed, match="not a Chronos export"):
        org_import.import_archive(db, not_zip, name="X", slug="x")
