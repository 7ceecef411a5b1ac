"""The closing guard through the REST API, on SQLite and PostgreSQL (migrated databases): a
file with required documents missing or not accepted answers 409 with exactly what is
missing, and nothing changes; once they are accepted it closes."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from sqlalchemy.engine import Engine
from sqlmodel import Session, select
from starlette.testclient import TestClient

from chronos import db as chronos_db
from chronos import settings
from chronos.models import DocumentSlot, Event, Transaction
from chronos.services import compliance, documents
from tests.factories import DEFAULT_PASSWORD, World, build_world
from tests.support.pdfs import make_pdf

ORIGIN = "http://testserver"


@pytest.fixture
def api(engine: Engine, monkeypatch: pytest.MonkeyPatch) -> Iterator[dict[str, Any]]:
    monkeypatch.setenv("DATABASE_URL", engine.url.render_as_string(hide_password=False))
    settings.get_settings.cache_clear()
    chronos_db.get_engine.cache_clear()
    with Session(engine, expire_on_commit=False) as db:
        world = build_world(db)
        tpl = next(
            t
            for t in compliance.seed_default_templates(db, world.harbor.id or 0)
            if t.side == "buyer"
        )
        compliance.apply_template(db, world.agent, world.deal.id or 0, tpl.id or 0)
        db.commit()
    from chronos.api.app import create_api

    client = TestClient(create_api(), base_url=ORIGIN, follow_redirects=False)
    yield {"client": client, "world": world, "engine": engine}
    settings.get_settings.cache_clear()
    chronos_db.get_engine.cache_clear()


def _signed_in(api: dict[str, Any], email: str) -> TestClient:
    client: TestClient = api["client"]
    client.cookies.clear()
    r = client.post(
        "/auth/sign-in",
        data={"email": email, "password": DEFAULT_PASSWORD},
        headers={"Origin": ORIGIN},
    )
    assert r.status_code == 303, r.text
    return client


def _close(client: TestClient, txn_id: int) -> Any:
    return client.post(
        f"/api/v1/transactions/{txn_id}/stage", json={"stage": "closed"}, headers={"Origin": ORIGIN}
    )


def test_closing_answers_409_with_what_is_missing_then_closes(api: dict[str, Any]) -> None:
    world: World = api["world"]
    engine: Engine = api["engine"]
    txn_id = world.deal.id or 0
    with Session(engine, expire_on_commit=False) as db:
        slots = {
            s.key: s
            for s in db.exec(select(DocumentSlot).where(DocumentSlot.transaction_id == txn_id))
        }
        agent = db.merge(world.agent)
        admin = db.merge(world.admin)
        pa = documents.upload(
            db,
            agent,
            txn_id,
            "pa.pdf",
            make_pdf(["Purchase agreement"]),
            slot_id=slots["purchase_agreement"].id,
        )
        compliance.return_document(db, admin, pa.id or 0, "initials missing on page 3")
        db.commit()

    client = _signed_in(api, world.agent.email)
    r = _close(client, txn_id)
    assert r.status_code == 409
    message = r.json()["error"]
    assert message == (
        "This file cannot close until its required documents are accepted: "
        "Purchase agreement: returned — initials missing on page 3; "
        "Seller's disclosure: missing; Inspection report: missing; "
        "Loan commitment: missing; Appraisal: missing; Closing disclosure: missing; "
        "Final walk-through: missing."
    )
    with Session(engine) as db:
        assert db.get(Transaction, txn_id).stage == "under_contract"  # type: ignore[union-attr]
        kinds = db.exec(select(Event.kind).where(Event.transaction_id == txn_id)).all()
        assert "stage_changed" not in kinds

    # File and accept every required document: now the same request closes the file.
    with Session(engine, expire_on_commit=False) as db:
        agent = db.merge(world.agent)
        admin = db.merge(world.admin)
        for slot in slots.values():
            if not slot.required:
                continue
            if slot.key == "purchase_agreement":
                documents.upload(
                    db, agent, txn_id, "pa2.pdf", make_pdf(["PA fixed"]), document_id=pa.id
                )
                compliance.accept(db, admin, pa.id or 0, version=2)
                continue
            doc = documents.upload(
                db, agent, txn_id, f"{slot.key}.pdf", make_pdf([slot.name]), slot_id=slot.id
            )
            compliance.accept(db, admin, doc.id or 0, version=1)
        db.commit()
    r = _close(client, txn_id)
    assert r.status_code == 201, r.text
    assert r.json()["stage"] == "closed"
