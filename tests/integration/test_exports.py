"""CSV exports of the pipeline, contacts and tasks, on SQLite and PostgreSQL: each persona gets
exactly the rows their list shows, filters apply, formulas never run, and the HTTP route refuses
the signed-out, outside parties and foreign origins before sending a byte."""

# The tests take the imported ``files`` fixture by name (F811 is pytest's idiom here).
# ruff: noqa: F811
from __future__ import annotations

import csv
import io

import pytest
from sqlmodel import Session

from chronos.services import exports, people, tasks
from chronos.services.errors import PermissionDenied, ValidationFailed
from tests.factories import make_transaction
from tests.integration.test_file_routes import (  # noqa: F401  (files: the fixture)
    Files,
    files,
)


def _parse(chunks: object) -> list[dict[str, str]]:
    text = "".join(chunks)  # type: ignore[call-overload]
    assert text.startswith("\ufeff")
    return list(csv.DictReader(io.StringIO(text[1:])))


def test_each_staff_member_exports_what_their_pipeline_shows(files: Files) -> None:
    w = files.world
    with Session(files.engine) as db:
        admin = {r["ID"] for r in _parse(exports.pipeline_csv(db, w.admin))}
        agent = {r["ID"] for r in _parse(exports.pipeline_csv(db, w.agent))}
        agent2 = {r["ID"] for r in _parse(exports.pipeline_csv(db, w.agent2))}
        outsider = {r["ID"] for r in _parse(exports.pipeline_csv(db, w.outsider_admin))}
    deal, other = str(w.deal.id), str(w.other_deal.id)
    assert {deal, other} <= admin
    assert deal in agent and other not in agent
    assert other in agent2 and deal not in agent2
    assert not outsider & {deal, other}


@pytest.mark.parametrize("who", ["client", "attorney", "lender"])
def test_outside_parties_export_nothing(files: Files, who: str) -> None:
    with Session(files.engine) as db:
        user = files.world.user(who)
        for make in (exports.pipeline_csv, exports.people_csv, exports.tasks_csv):
            with pytest.raises(PermissionDenied):
                make(db, user)


def test_pipeline_filters_and_columns(files: Files) -> None:
    w = files.world
    with Session(files.engine, expire_on_commit=False) as db:
        make_transaction(db, w.agent, street='=HYPERLINK("http://evil")', side="seller")
        db.commit()
        rows = _parse(exports.pipeline_csv(db, w.agent, side="seller"))
        assert rows and all(r["Side"] == "Seller (listing)" for r in rows)
        evil = next(r for r in rows if "HYPERLINK" in r["Street"])
        assert evil["Street"].startswith("'=")  # text in a spreadsheet, never a formula
        found = _parse(exports.pipeline_csv(db, w.agent, q="Harbor View"))
        assert [r["Street"] for r in found] == ["12 Harbor View Rd"]
        assert found[0]["Price"] == "$450,000" and found[0]["Closing date"] == "2024-02-20"
        assert found[0]["Agent"] == "Alice Agent" and "Cora Client" in found[0]["Clients"]
        with pytest.raises(ValidationFailed):
            exports.pipeline_csv(db, w.agent, stage="nonsense")


def test_people_and_tasks_exports(files: Files) -> None:
    w = files.world
    with Session(files.engine, expire_on_commit=False) as db:
        people.create_person(db, w.agent, {"first_name": "+Plus", "last_name": "@Mention"})
        tasks.create_task(db, w.agent, w.deal.id or 0, {"title": "-1 Order survey"})
        tasks.create_task(db, w.agent2, w.other_deal.id or 0, {"title": "Not Alice's"})
        db.commit()
        contacts = _parse(exports.people_csv(db, w.agent))
        plus = next(r for r in contacts if r["Last name"] == "'@Mention")
        assert plus["First name"] == "'+Plus" and plus["Has a login"] == "No"
        assert "Sally" in {
            r["First name"] for r in _parse(exports.people_csv(db, w.agent, q="sel"))
        }
        mine = _parse(exports.tasks_csv(db, w.agent))
        assert "'-1 Order survey" in {r["Task"] for r in mine}
        assert "Not Alice's" not in {r["Task"] for r in mine}
        assert {r["Status"] for r in mine} == {"Open"}


def test_a_large_pipeline_streams_in_chunks(files: Files) -> None:
    w = files.world
    with Session(files.engine, expire_on_commit=False) as db:
        for i in range(exports.CHUNK + 20):
            make_transaction(db, w.agent2, street=f"{i} Chunk St")
        db.commit()
        chunks = list(exports.pipeline_csv(db, w.agent2))
        assert len(chunks) >= 2
        rows = _parse(chunks)
    assert len({r["ID"] for r in rows}) == len(rows) >= exports.CHUNK + 20


def test_the_download_route(files: Files) -> None:
    r = files.as_("agent").get("/api/v1/transactions.csv?stage=open")
    assert r.status_code == 200
    assert r.headers["content-type"].startswith("text/csv")
    assert "attachment" in r.headers["content-disposition"]
    assert str(files.world.deal.id) in {row["ID"] for row in _parse([r.text])}
    assert files.as_("agent").get("/api/v1/people.csv").status_code == 200
    assert files.as_("agent").get("/api/v1/tasks.csv").status_code == 200
    assert files.as_(None).get("/api/v1/transactions.csv").status_code == 401
    assert files.as_("client").get("/api/v1/people.csv").status_code == 403
    foreign = files.as_("agent").get(
        "/api/v1/transactions.csv", headers={"Origin": "https://evil.example"}
    )
    assert foreign.status_code == 403
    bad = files.as_("agent").get("/api/v1/transactions.csv?side=sideways")
    assert bad.status_code == 422 and "side" in bad.json()["fields"]
