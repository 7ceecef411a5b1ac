"""Imports on migrated SQLite and PostgreSQL: run, re-run changes nothing, undo, refusals."""

from __future__ import annotations

import csv
import io

import pytest
from sqlmodel import Session, func, select

from chronos.models import Event, ImportBatch, ImportRow, Participant, Person, Transaction
from chronos.services import people, transactions
from chronos.services.errors import Conflict, NotFound, PermissionDenied
from chronos.services.imports import runner
from chronos.services.imports.mapping import Manifest, suggest_mapping
from chronos.services.imports.sniff import ImportFileRejected
from tests.factories import World

PEOPLE_CSV = (
    b"First Name,Last Name,Email,Phone,Company,Address,Zip\r\n"
    b"Nina,Novak,nina@example.com,617-555-0101,,12 Elm St,02139\r\n"
    b"Omar,Ortiz,,617-555-0102,Ortiz Law,3 Oak Ave,02140\r\n"
    b"Pia,Park,,,,9 Pine Rd,02141\r\n"
    b"Quinn,,not-an-email,,,,\r\n"
    b"Nina,Novak,NINA@example.com,,,12 Elm St,02139\r\n"
    b",,,,,,\r\n"
    b"Cora,Client,cora.client@example.com,,Client Co,,\r\n"
)

TXN_CSV = (
    b"Property Address,Zip,MLS #,Side,Status,Purchase Price,Closing Date,Client,Client Email\r\n"
    b'1 Harbor Way,02110,MLS-1,Buyer,Pending,"$500,000",2027-01-15,Rae Buyer,rae@example.com\r\n'
    b"2 Harbor Way,02110,,Listing,Active,650000,,Sam Seller,\r\n"
    b"3 Harbor Way,02110,,Buyer,Sold,400000,2026-06-01,,\r\n"
    b",02110,,Buyer,Pending,1,,,\r\n"
    b"5 Harbor Way,02110,,Nobody,Pending,1,,,\r\n"
    b"1 Harbor Way,02110,MLS-1,Buyer,Pending,500000,,,\r\n"
)


def _manifest(data: bytes, kind: str) -> Manifest:
    profile = runner.read_profile(data, "file.csv")
    return Manifest(kind=kind, source=profile, columns=suggest_mapping(profile.headers, kind))  # type: ignore[arg-type]


def _import(db: Session, actor, data: bytes, kind: str, name: str = "file.csv") -> ImportBatch:
    batch = runner.create_batch(
        db, actor, file_name=name, data=data, manifest=_manifest(data, kind)
    )
    assert batch.id is not None
    runner.run_batch(db, actor, batch.id, chunk_rows=2, commit=db.commit)
    db.commit()
    return batch


def _count(db: Session, model) -> int:
    return int(db.exec(select(func.count()).select_from(model)).one())


def _outcomes(db: Session, batch: ImportBatch) -> dict[int, tuple[str, str]]:
    rows = db.exec(select(ImportRow).where(ImportRow.batch_id == batch.id)).all()
    return {r.line: (r.action, r.reason) for r in rows}


def test_a_people_import_creates_updates_and_skips_with_reasons(db: Session, world: World) -> None:
    before = _count(db, Person)
    batch = _import(db, world.admin, PEOPLE_CSV, "people")
    assert (batch.state, batch.total_rows, batch.processed_rows) == ("done", 6, 6)
    assert (batch.created_count, batch.updated_count, batch.skipped_count) == (3, 1, 2)
    outcomes = _outcomes(db, batch)
    assert outcomes[2][0] == outcomes[3][0] == outcomes[4][0] == "created"
    assert outcomes[5] == ("skipped", '"not-an-email" is not an email address.')
    assert outcomes[6] == ("skipped", "The same person as row 2 of this file.")
    assert outcomes[8][0] == "updated" and "company" in outcomes[8][1]
    assert _count(db, Person) == before + 3
    nina = db.exec(select(Person).where(Person.email == "nina@example.com")).one()
    assert nina.phone == "+16175550101"
    assert "12 Elm St" in nina.notes
    cora = db.exec(select(Person).where(Person.email == "cora.client@example.com")).one()
    assert cora.company == "Client Co"


def test_re_running_the_same_people_file_changes_nothing(db: Session, world: World) -> None:
    _import(db, world.admin, PEOPLE_CSV, "people")
    snapshot = sorted(
        (p.id, p.first_name, p.email, p.phone, p.company, p.notes, p.updated_at)
        for p in db.exec(select(Person)).all()
    )
    again = _import(db, world.admin, PEOPLE_CSV, "people")
    assert (again.created_count, again.updated_count, again.skipped_count) == (0, 0, 6)
    assert snapshot == sorted(
        (p.id, p.first_name, p.email, p.phone, p.company, p.notes, p.updated_at)
        for p in db.exec(select(Person)).all()
    )
    # Pia has neither email nor phone: the earlier import's row is what finds her.
    assert "earlier import" in _outcomes(db, again)[4][1]


def test_a_transactions_import_records_each_rows_source_on_the_timeline(
    db: Session, world: World
) -> None:
    before = _count(db, Transaction)
    batch = _import(db, world.admin, TXN_CSV, "transactions", name="deals.csv")
    assert (batch.created_count, batch.updated_count, batch.skipped_count) == (3, 0, 3)
    outcomes = _outcomes(db, batch)
    assert outcomes[5] == ("skipped", "The row has no property address.")
    assert outcomes[6][0] == "skipped" and "Nobody" in outcomes[6][1]
    assert outcomes[7] == ("skipped", "The same transaction as row 2 of this file.")
    assert _count(db, Transaction) == before + 3
    first = db.exec(select(Transaction).where(Transaction.mls_number == "MLS-1")).one()
    assert (first.price_cents, first.stage, first.side) == (50_000_000, "under_contract", "buyer")
    sold = db.exec(select(Transaction).where(Transaction.street == "3 Harbor Way")).one()
    assert sold.stage == "closed"
    events = db.exec(
        select(Event).where(Event.transaction_id == first.id, Event.kind == "imported")
    ).all()
    assert [e.summary for e in events] == ["Imported from deals.csv, row 2"]
    assert events[0].data["import_batch_id"] == batch.id
    client = db.exec(
        select(Person)
        .join(Participant, Participant.person_id == Person.id)
        .where(Participant.transaction_id == first.id)
    ).one()
    assert client.email == "rae@example.com"


def test_re_running_the_same_transactions_file_changes_nothing(db: Session, world: World) -> None:
    _import(db, world.admin, TXN_CSV, "transactions")
    counts = (_count(db, Transaction), _count(db, Event), _count(db, Person))
    again = _import(db, world.admin, TXN_CSV, "transactions")
    assert (again.created_count, again.updated_count) == (0, 0)
    assert (_count(db, Transaction), _count(db, Event), _count(db, Person)) == counts


def test_an_update_fills_only_blank_fields_and_undo_restores_them(
    db: Session, world: World
) -> None:
    data = b"Property Address,Zip,Side,Purchase Price\r\n1 Fill St,02110,Buyer,300000\r\n"
    txn = transactions.create_transaction(
        db, world.admin, {"side": "buyer", "street": "1 Fill St", "postal_code": "02110"}
    )
    db.commit()
    batch = _import(db, world.admin, data, "transactions")
    assert batch.updated_count == 1
    db.refresh(txn)
    assert txn.price_cents == 30_000_000
    assert batch.id is not None
    runner.undo_batch(db, world.admin, batch.id)
    db.commit()
    db.refresh(txn)
    assert txn.price_cents is None


def test_undo_removes_everything_a_batch_created(db: Session, world: World) -> None:
    counts = (_count(db, Transaction), _count(db, Person), _count(db, Event))
    batch = _import(db, world.admin, TXN_CSV, "transactions")
    assert batch.id is not None
    undone = runner.undo_batch(db, world.admin, batch.id)
    db.commit()
    assert undone.state == "undone" and undone.undone_at is not None
    assert (_count(db, Transaction), _count(db, Person), _count(db, Event)) == counts
    with pytest.raises(Conflict, match="already undone"):
        runner.undo_batch(db, world.admin, batch.id)
    # After an undo, the same file creates them again.
    assert _import(db, world.admin, TXN_CSV, "transactions").created_count == 3


def test_undo_is_refused_once_a_created_record_was_edited(db: Session, world: World) -> None:
    batch = _import(db, world.admin, PEOPLE_CSV, "people")
    nina = db.exec(select(Person).where(Person.email == "nina@example.com")).one()
    assert nina.id is not None and batch.id is not None
    people.update_person(db, world.admin, nina.id, {"company": "Edited Inc"})
    db.commit()
    count = _count(db, Person)
    with pytest.raises(Conflict, match=r"Nina Novak \(row 2\) was edited after the import"):
        runner.undo_batch(db, world.admin, batch.id)
    db.rollback()
    assert _count(db, Person) == count
    assert db.get(ImportBatch, batch.id).state == "done"  # type: ignore[union-attr]


def test_undo_is_refused_once_an_imported_transaction_has_new_activity(
    db: Session, world: World
) -> None:
    batch = _import(db, world.admin, TXN_CSV, "transactions")
    first = db.exec(select(Transaction).where(Transaction.mls_number == "MLS-1")).one()
    assert first.id is not None and batch.id is not None
    transactions.change_stage(db, world.admin, first.id, "clear_to_close")
    db.commit()
    with pytest.raises(Conflict, match="1 Harbor Way"):
        runner.undo_batch(db, world.admin, batch.id)


@pytest.mark.parametrize(
    "persona", ["agent", "coordinator", "client", "attorney", "lender", "outsider_agent"]
)
def test_only_an_admin_can_import(db: Session, world: World, persona: str) -> None:
    actor = world.user(persona)
    with pytest.raises(PermissionDenied, match="Only a brokerage admin"):
        runner.create_batch(
            db, actor, file_name="p.csv", data=PEOPLE_CSV, manifest=_manifest(PEOPLE_CSV, "people")
        )
    batch = runner.create_batch(
        db,
        world.admin,
        file_name="p.csv",
        data=PEOPLE_CSV,
        manifest=_manifest(PEOPLE_CSV, "people"),
    )
    db.commit()
    assert batch.id is not None
    for call in (runner.run_batch, runner.undo_batch, runner.rejected_rows_csv, runner.get_batch):
        with pytest.raises(PermissionDenied):
            call(db, actor, batch.id)
    assert db.get(ImportBatch, batch.id).processed_rows == 0  # type: ignore[union-attr]


def test_another_brokerages_admin_cannot_see_a_batch(db: Session, world: World) -> None:
    batch = runner.create_batch(
        db,
        world.admin,
        file_name="p.csv",
        data=PEOPLE_CSV,
        manifest=_manifest(PEOPLE_CSV, "people"),
    )
    db.commit()
    assert batch.id is not None
    for call in (runner.run_batch, runner.undo_batch, runner.rejected_rows_csv):
        with pytest.raises(NotFound):
            call(db, world.outsider_admin, batch.id)
    assert batch.id not in [b.id for b in runner.list_batches(db, world.outsider_admin)]


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (b"", "The file is empty."),
        (b"First Name,Email\r\n", "no data rows"),
        (b"First Name,Email\r\nA,a@example.com,extra\r\n", "Row 2 has 3 cells"),
        (b"First Name,First Name\r\nA,B\r\n", "appears twice"),
        (b"PK\x03\x04not really a workbook", "not a readable .xlsx"),
    ],
)
def test_bad_files_are_refused_with_a_specific_message(
    db: Session, world: World, data: bytes, message: str
) -> None:
    profile_ok = b"First Name,Email\r\nA,a@example.com\r\n"
    manifest = _manifest(profile_ok, "people")
    with pytest.raises(ImportFileRejected, match=message):
        runner.create_batch(db, world.admin, file_name="bad.csv", data=data, manifest=manifest)
    assert _count(db, ImportBatch) == 0


def test_a_mapping_that_names_a_missing_column_is_refused(db: Session, world: World) -> None:
    manifest = _manifest(PEOPLE_CSV, "people")
    manifest.columns["Nickname"] = "notes"
    with pytest.raises(ImportFileRejected, match='"Nickname"'):
        runner.create_batch(db, world.admin, file_name="p.csv", data=PEOPLE_CSV, manifest=manifest)


def test_the_rejected_rows_csv_lists_each_skip_with_its_reason_and_no_formula(
    db: Session, world: World
) -> None:
    data = b"First Name,Email\r\n=HYPERLINK(1),bad@\r\nAda,ok@example.com\r\n"
    batch = _import(db, world.admin, data, "people")
    assert batch.id is not None
    text = runner.rejected_rows_csv(db, world.admin, batch.id)
    rows = list(csv.reader(io.StringIO(text)))
    assert rows[0][:2] == ["row", "reason"]
    assert rows[1][0] == "2" and "not an email" in rows[1][1]
    assert all(not cell.startswith("=") for row in rows for cell in row)


def test_the_preview_counts_the_whole_file_and_writes_nothing(db: Session, world: World) -> None:
    manifest = _manifest(PEOPLE_CSV, "people")
    count = _count(db, Person)
    result = runner.preview(db, world.admin, PEOPLE_CSV, manifest, limit=2)
    assert result.counts == {"create": 3, "update": 1, "skip": 2}
    assert [p.line for p in result.rows] == [2, 3]
    assert _count(db, Person) == count
    with pytest.raises(PermissionDenied):
        runner.preview(db, world.agent, PEOPLE_CSV, manifest)


def test_the_job_runs_a_queued_batch_and_stores_its_progress_on_the_row(
    db: Session, world: World, engine, monkeypatch: pytest.MonkeyPatch
) -> None:
    from chronos import db as chronos_db

    monkeypatch.setattr(chronos_db, "get_engine", lambda: engine)
    batch = runner.create_batch(
        db,
        world.admin,
        file_name="p.csv",
        data=PEOPLE_CSV,
        manifest=_manifest(PEOPLE_CSV, "people"),
    )
    assert batch.id is not None
    assert runner.start(db, world.admin, batch.id).state == "queued"
    db.commit()
    with pytest.raises(Conflict, match="queued"):
        runner.start(db, world.admin, batch.id)
    runner.execute(batch.id)
    db.expire_all()
    done = db.get(ImportBatch, batch.id)
    assert done is not None
    assert (done.state, done.processed_rows, done.created_count) == ("done", 6, 3)
    assert done.finished_at is not None


def test_the_job_fails_a_batch_whose_admin_is_no_longer_an_admin(
    db: Session, world: World, engine, monkeypatch: pytest.MonkeyPatch
) -> None:
    from chronos import db as chronos_db

    monkeypatch.setattr(chronos_db, "get_engine", lambda: engine)
    batch = runner.create_batch(
        db,
        world.admin,
        file_name="p.csv",
        data=PEOPLE_CSV,
        manifest=_manifest(PEOPLE_CSV, "people"),
    )
    assert batch.id is not None
    runner.start(db, world.admin, batch.id)
    world.admin.role = "agent"
    db.add(world.admin)
    db.commit()
    runner.execute(batch.id)
    db.expire_all()
    failed = db.get(ImportBatch, batch.id)
    assert failed is not None
    assert (failed.state, failed.error) == ("failed", "Only a brokerage admin can import files.")
    assert failed.processed_rows == 0


def test_only_an_admin_can_start_an_import(db: Session, world: World) -> None:
    batch = runner.create_batch(
        db,
        world.admin,
        file_name="p.csv",
        data=PEOPLE_CSV,
        manifest=_manifest(PEOPLE_CSV, "people"),
    )
    assert batch.id is not None
    with pytest.raises(PermissionDenied):
        runner.start(db, world.agent, batch.id)
    assert batch.state == "ready"


def test_a_row_the_service_refuses_is_skipped_with_its_reason_and_the_rest_still_import(
    db: Session, world: World
) -> None:
    data = b"First Name,Email,Phone\r\nZed,zed@example.com,12\r\nYul,yul@example.com,\r\n"
    batch = _import(db, world.admin, data, "people")
    assert _outcomes(db, batch)[2] == ("skipped", "Not a valid phone number.")
    assert _outcomes(db, batch)[3][0] == "created"
    assert db.exec(select(Person).where(Person.email == "zed@example.com")).first() is None
    assert db.exec(select(Person).where(Person.email == "yul@example.com")).first() is not None
