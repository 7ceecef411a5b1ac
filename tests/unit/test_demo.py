"""The synthetic-data generator: deterministic, valid, isolated, and the demo seed."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterator
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy.engine import Engine
from sqlmodel import Session, SQLModel, col, select

import chronos.models  # noqa: F401  (registers the tables)
from chronos import demo
from chronos.db import make_engine, session_scope
from chronos.models import (
    LISTING_STAGES,
    ChecklistTemplate,
    Event,
    Organization,
    Participant,
    Person,
    Side,
    Stage,
    Task,
    Transaction,
    User,
)
from chronos.services import auth, people, transactions
from chronos.services.validation import parse_email, parse_phone

TODAY = date(2026, 3, 2)


@pytest.fixture(autouse=True)
def _settings(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Iterator[None]:
    from chronos.db import get_engine
    from chronos.settings import get_settings

    monkeypatch.setenv("CHRONOS_VAR_DIR", str(tmp_path / "var"))
    monkeypatch.setenv("CHRONOS_SECRET_KEY", "test-secret-key-for-demo-tests")
    monkeypatch.setenv("DATABASE_URL", f"sqlite:///{tmp_path / 'unused.db'}")
    monkeypatch.setenv("CHRONOS_DEMO_PASSWORD", "chronos-demo-2026")
    get_settings.cache_clear()
    get_engine.cache_clear()
    yield
    get_settings.cache_clear()
    get_engine.cache_clear()


def _engine(path: Path) -> Engine:
    engine = make_engine(f"sqlite:///{path}")
    SQLModel.metadata.create_all(engine)
    return engine


@pytest.fixture
def make_db(tmp_path: Path) -> Iterator[Any]:
    engines: list[Engine] = []

    def factory() -> Engine:
        engine = _engine(tmp_path / f"db{len(engines)}.sqlite")
        engines.append(engine)
        return engine

    yield factory
    for engine in engines:
        engine.dispose()


def _generate(engine: Engine, **kwargs: Any) -> demo.GeneratedBrokerage:
    kwargs.setdefault("today", TODAY)
    with session_scope(engine) as db:
        return demo.generate_brokerage(db, **kwargs)


def _fingerprint(engine: Engine, org_id: int) -> str:
    """A hash of every row of the org (minus password hashes, which are salted)."""
    digest = hashlib.sha256()
    with Session(engine) as db:
        org = db.get(Organization, org_id)
        assert org is not None
        tables: list[tuple[type[Any], tuple[str, ...]]] = [
            (User, ("password_hash", "last_login_at")),
            (Person, ()),
            (Transaction, ()),
            (Participant, ()),
            (Event, ()),
            (ChecklistTemplate, ("created_at", "updated_at")),  # made "now" on both paths
            (Task, ()),
        ]
        digest.update(json.dumps(org.model_dump(), default=str, sort_keys=True).encode())
        for model, skip in tables:
            rows = db.exec(select(model).where(model.org_id == org_id).order_by(model.id)).all()
            for row in rows:
                data = {k: v for k, v in row.model_dump().items() if k not in skip}
                digest.update(json.dumps(data, default=str, sort_keys=True).encode())
    return digest.hexdigest()


# ---------------------------------------------------------------- determinism


def test_same_seed_and_today_give_identical_rows(make_db: Any) -> None:
    a, b = make_db(), make_db()
    ra = _generate(a, seed=11, transactions=120, use_services=False)
    rb = _generate(b, seed=11, transactions=120, use_services=False)
    assert (ra.people, ra.participants, ra.events) == (rb.people, rb.participants, rb.events)
    assert _fingerprint(a, ra.org_id) == _fingerprint(b, rb.org_id)


def test_different_seed_gives_different_rows(make_db: Any) -> None:
    a, b = make_db(), make_db()
    ra = _generate(a, seed=11, transactions=60, use_services=False, slug="org")
    rb = _generate(b, seed=12, transactions=60, use_services=False, slug="org")
    assert _fingerprint(a, ra.org_id) != _fingerprint(b, rb.org_id)


def test_services_and_bulk_writers_produce_the_same_rows(make_db: Any) -> None:
    """Bulk inserts keep exactly the invariants (and Events) the services produce."""
    a, b = make_db(), make_db()
    # A ``today`` in the past, so the service path closes files through change_stage itself.
    today = date(2025, 6, 30)
    ra = _generate(a, seed=5, transactions=40, use_services=True, today=today)
    rb = _generate(b, seed=5, transactions=40, use_services=False, today=today)
    assert (ra.mode, rb.mode) == ("services", "bulk")
    assert (ra.participants, ra.events) == (rb.participants, rb.events)
    assert _fingerprint(a, ra.org_id) == _fingerprint(b, rb.org_id)


# ---------------------------------------------------------------- validity


@pytest.fixture(scope="module")
def bulk_db(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Engine, list[int]]]:
    engine = _engine(tmp_path_factory.mktemp("bulk") / "bulk.sqlite")
    with session_scope(engine) as db:
        r1 = demo.generate_brokerage(
            db, seed=1, transactions=600, today=TODAY, use_services=False, slug="one"
        )
        r2 = demo.generate_brokerage(
            db, seed=2, transactions=150, today=TODAY, use_services=False, slug="two"
        )
    yield engine, [r1.org_id, r2.org_id]
    engine.dispose()


def test_every_transaction_passes_the_service_validators(
    bulk_db: tuple[Engine, list[int]],
) -> None:
    engine, _ = bulk_db
    with Session(engine) as db:
        txns = db.exec(select(Transaction)).all()
        assert len(txns) == 750
        for t in txns:
            fields = transactions._validate_fields(
                {
                    "street": t.street,
                    "unit": t.unit,
                    "city": t.city,
                    "state": t.state,
                    "postal_code": t.postal_code,
                    "property_type": t.property_type,
                    "price": None if t.price_cents is None else t.price_cents / 100,
                    "effective_date": t.effective_date,
                    "closing_date": t.closing_date,
                    "mls_number": t.mls_number,
                },
                partial=False,
            )
            assert fields["state"] == t.state and len(t.state) == 2
            assert len(t.postal_code) == 5 and t.postal_code.isdigit()
            transactions._check_dates(t.effective_date, t.closing_date)
            transactions._check_stage_for_side(Stage(t.stage), Side(t.side))
            if t.price_cents is not None:
                assert 150_000_00 <= t.price_cents <= 2_500_000_00


def test_dates_match_the_stage(bulk_db: tuple[Engine, list[int]]) -> None:
    engine, _ = bulk_db
    with Session(engine) as db:
        txns = db.exec(select(Transaction)).all()
    stages = {t.stage for t in txns}
    assert stages == {s.value for s in Stage}, "every stage is represented"
    assert {t.side for t in txns} == {s.value for s in Side}
    for t in txns:
        stage = Stage(t.stage)
        if t.side == Side.BUYER:
            assert stage not in LISTING_STAGES
        if stage is Stage.CLOSED:
            assert t.closing_date is not None and t.closing_date < TODAY
            assert t.effective_date is not None
        elif stage is Stage.UNDER_CONTRACT:
            assert t.closing_date is not None
            assert TODAY + timedelta(days=14) <= t.closing_date <= TODAY + timedelta(days=42)
            assert t.effective_date is not None and t.effective_date < TODAY
        elif stage is Stage.CLEAR_TO_CLOSE:
            assert t.closing_date is not None and TODAY < t.closing_date <= TODAY + timedelta(10)
        elif stage in LISTING_STAGES:
            assert t.effective_date is None and t.closing_date is None
        elif stage is Stage.CANCELLED:
            assert t.cancel_reason
        if stage is not Stage.CANCELLED:
            assert t.cancel_reason == ""
        assert t.created_at.date() < TODAY + timedelta(days=1)
        assert t.created_at <= t.stage_changed_at <= t.updated_at


def test_timeline_follows_the_path_to_the_current_stage(
    bulk_db: tuple[Engine, list[int]],
) -> None:
    engine, _ = bulk_db
    with Session(engine) as db:
        txns = {t.id: t for t in db.exec(select(Transaction)).all()}
        events = db.exec(select(Event).order_by(col(Event.id))).all()
    by_txn: dict[int, list[Event]] = {}
    for e in events:
        assert e.transaction_id is not None
        by_txn.setdefault(e.transaction_id, []).append(e)
    assert set(by_txn) == set(txns)
    order = [Stage.PRE_LISTING, Stage.ACTIVE_LISTING, Stage.UNDER_CONTRACT]
    order += [Stage.CLEAR_TO_CLOSE, Stage.CLOSED]
    for tid, evs in by_txn.items():
        t = txns[tid]
        assert evs[0].kind == "transaction_created"
        stage = Stage(evs[0].data["stage"])
        assert [e.created_at for e in evs] == sorted(e.created_at for e in evs)
        for e in evs:
            assert e.actor_id is not None
            if e.kind == "stage_changed":
                assert e.data["from"] == stage.value
                new = Stage(e.data["to"])
                if new is not Stage.CANCELLED:
                    assert order.index(new) > order.index(stage), "moves forward"
                stage = new
        assert stage.value == t.stage
        stage_events = [e for e in evs if e.kind == "stage_changed"]
        last = stage_events[-1].created_at if stage_events else evs[0].created_at
        assert t.stage_changed_at == last
        assert t.updated_at == evs[-1].created_at
        if t.stage == Stage.CLOSED:
            assert stage_events[-1].created_at.date() >= (t.closing_date or TODAY) - timedelta(1)


def test_every_row_belongs_to_its_transactions_org(bulk_db: tuple[Engine, list[int]]) -> None:
    engine, org_ids = bulk_db
    with Session(engine) as db:
        txn_org = dict(db.exec(select(Transaction.id, Transaction.org_id)).all())
        person_org = dict(db.exec(select(Person.id, Person.org_id)).all())
        user_org = dict(db.exec(select(User.id, User.org_id)).all())
        assert set(txn_org.values()) == set(org_ids)
        for part in db.exec(select(Participant)).all():
            assert part.org_id == txn_org[part.transaction_id]
            if part.person_id is not None:
                assert person_org[part.person_id] == part.org_id
            if part.user_id is not None:
                assert user_org[part.user_id] == part.org_id
        for e in db.exec(select(Event)).all():
            assert e.transaction_id is not None
            assert e.org_id == txn_org[e.transaction_id]
            assert e.actor_id is not None and user_org[e.actor_id] == e.org_id
        for t in db.exec(select(Transaction)).all():
            assert user_org[t.owner_id] == t.org_id


def test_people_are_valid_contacts(bulk_db: tuple[Engine, list[int]]) -> None:
    engine, org_ids = bulk_db
    with Session(engine) as db:
        for org_id in org_ids:
            persons = db.exec(select(Person).where(Person.org_id == org_id)).all()
            n_txns = len(db.exec(select(Transaction.id).where(Transaction.org_id == org_id)).all())
            assert 1.5 * n_txns <= len(persons) <= 2.5 * n_txns, "about two per transaction"
            emails = [p.email for p in persons if p.email]
            assert len(emails) == len(set(emails)), "emails are unique within the org"
            for p in persons:
                people._validate(
                    {"first_name": p.first_name, "last_name": p.last_name, "email": p.email},
                    partial=False,
                )
                if p.email:
                    assert parse_email(p.email) == p.email
                    assert p.email.rsplit(".", 1)[-1] in {"com", "net", "org", "example"}
                    assert "example" in p.email.rsplit("@", 1)[-1]
                if p.phone:
                    assert parse_phone(p.phone) == p.phone
            roles = {u.role for u in db.exec(select(User).where(User.org_id == org_id)).all()}
            assert {"admin", "agent", "coordinator"} <= roles


def test_large_sizes_use_bulk_inserts_by_default(make_db: Any) -> None:
    engine = make_db()
    result = _generate(engine, seed=3, transactions=demo.SERVICE_MODE_MAX + 1)
    assert result.mode == "bulk"
    assert result.transactions == demo.SERVICE_MODE_MAX + 1


def test_bulk_volume_reaches_the_targets_inside_its_org(make_db: Any) -> None:
    from chronos.models import Document, DocumentVersion, KeyDate
    from chronos.services import documents as doc_service

    engine = make_db()
    main = _generate(engine, seed=5, transactions=60, use_services=False, slug="vol-main")
    other = _generate(engine, seed=6, transactions=10, use_services=False, slug="vol-other")
    with session_scope(engine) as db:
        volume = demo.add_bulk_volume(
            db,
            main.org_id,
            seed=5,
            today=TODAY,
            tasks_total=2_000,
            events_total=4_000,
            documents=300,
            busy_documents=120,
            key_dates=True,
        )
    assert volume.tasks_total == 2_000 and volume.events_total == 4_000
    assert volume.documents == 300 and volume.versions > 300
    assert volume.busy_transaction_id is not None
    with Session(engine) as db:

        def count(model: Any, org_id: int, *where: Any) -> int:
            return len(db.exec(select(model.id).where(model.org_id == org_id, *where)).all())

        assert count(Task, main.org_id) == 2_000
        assert count(Event, main.org_id) == 4_000
        assert count(Document, main.org_id) == 300
        assert count(Document, other.org_id) == 0 and count(KeyDate, other.org_id) == 0
        assert (
            count(Document, main.org_id, Document.transaction_id == volume.busy_transaction_id)
            >= 120
        )
        # Every row points at a transaction of its own org; every document has its current version.
        own = set(db.exec(select(Transaction.id).where(Transaction.org_id == main.org_id)).all())
        for model in (Task, Event, Document, KeyDate):
            txn_ids = db.exec(select(model.transaction_id).where(model.org_id == main.org_id)).all()
            assert set(txn_ids) <= own
        docs = db.exec(select(Document).where(Document.org_id == main.org_id)).all()
        versions = {
            (v.document_id, v.version)
            for v in db.exec(select(DocumentVersion).where(DocumentVersion.org_id == main.org_id))
        }
        assert all((d.id, d.current_version) in versions for d in docs)
        assert all(d.category in doc_service.CATEGORIES for d in docs)
        # Key dates are valid rules: the service reads them back.
        from chronos.services import key_dates as kd_service

        kd_rows = db.exec(select(KeyDate).where(KeyDate.org_id == main.org_id)).all()
        assert kd_rows
        for row in kd_rows:
            rule = kd_service.rule_from_json(row.key, row.label, row.rule)
            assert rule.on == row.computed_date  # type: ignore[union-attr]
        done = db.exec(select(Task).where(Task.org_id == main.org_id, Task.status == "done")).all()
        assert done and all(t.completed_at is not None for t in done)


def test_an_existing_slug_is_refused(make_db: Any) -> None:
    from chronos.services.errors import Conflict

    engine = make_db()
    _generate(engine, seed=1, transactions=5, slug="taken")
    with pytest.raises(Conflict), session_scope(engine) as db:
        demo.generate_brokerage(db, seed=2, transactions=5, slug="taken", today=TODAY)


# ---------------------------------------------------------------- the demo seed


@pytest.fixture(scope="module")
def seeded(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Engine]:
    engine = _engine(tmp_path_factory.mktemp("demo") / "demo.sqlite")
    yield engine
    engine.dispose()


def _seed(engine: Engine) -> list[demo.DemoLogin]:
    with session_scope(engine) as db:
        return demo.seed_demo(db)


def test_seed_demo_is_idempotent(seeded: Engine) -> None:
    with Session(seeded) as db:
        assert not demo.is_seeded(db)
    first = _seed(seeded)
    with Session(seeded) as db:
        assert demo.is_seeded(db)
        counts = [len(db.exec(select(m.id)).all()) for m in (Transaction, Person, User, Event)]
    second = _seed(seeded)
    with Session(seeded) as db:
        again = [len(db.exec(select(m.id)).all()) for m in (Transaction, Person, User, Event)]
    assert counts == again
    assert [(d.role, d.email) for d in first] == [(d.role, d.email) for d in second]
    assert counts[0] == demo.DEMO_TRANSACTIONS + demo.SECOND_TRANSACTIONS


def test_demo_has_one_login_per_role_and_all_sign_in(seeded: Engine) -> None:
    from chronos.settings import get_settings

    logins = _seed(seeded)
    main = [d for d in logins if d.org_name == demo.DEMO_ORG_NAME]
    assert sorted(d.role for d in main) == sorted(
        ["admin", "agent", "coordinator", "client", "attorney", "lender"]
    )
    assert any(d.org_name == demo.SECOND_ORG_NAME and d.role == "agent" for d in logins)
    for d in logins:
        assert d.email.endswith(".example")
        assert d.password == get_settings().demo_password
        with session_scope(seeded) as db:
            signed = auth.sign_in(db, email=d.email, password=d.password)
            assert signed.user.role == d.role
            assert auth.resolve_session(db, signed.token) is not None


def _user(db: Session, email: str) -> User:
    user = db.exec(select(User).where(User.email == email)).one()
    return user


def test_portal_logins_see_only_their_transactions(seeded: Engine) -> None:
    _seed(seeded)
    with Session(seeded) as db:
        agent = _user(db, "agent@harbormain.example")
        agent_ids = {r.id for r in transactions.list_transactions(db, agent, page_size=100).items}
        assert len(agent_ids) >= 8
        for role in ("client", "attorney", "lender", "coordinator"):
            user = _user(db, f"{role}@harbormain.example")
            page = transactions.list_transactions(db, user, page_size=100)
            assert page.total >= 2, f"the {role}'s portal is not empty"
            mine = set(
                db.exec(
                    select(Participant.transaction_id).where(Participant.user_id == user.id)
                ).all()
            )
            seen = {r.id for r in page.items}
            assert seen == mine, f"the {role} sees exactly the files they are on"
            assert len(seen & agent_ids) >= 2, f"the {role} works on the demo agent's files"
            if role == "client":
                assert seen <= agent_ids, "the client's files are all the demo agent's"
        coordinator = _user(db, "coordinator@harbormain.example")
        coord_ids = {
            r.id for r in transactions.list_transactions(db, coordinator, page_size=100).items
        }
        assert len(coord_ids & agent_ids) >= 3
        client = _user(db, "client@harbormain.example")
        stages = {r.stage for r in transactions.list_transactions(db, client, page_size=100).items}
        assert Stage.CLOSED.value in stages and (stages - {Stage.CLOSED.value})


def test_the_two_demo_brokerages_are_isolated(seeded: Engine) -> None:
    _seed(seeded)
    with Session(seeded) as db:
        harbor = db.exec(select(Organization).where(Organization.slug == "harbor-main")).one()
        summit = db.exec(select(Organization).where(Organization.slug == "summit-ridge")).one()
        summit_agent = _user(db, "agent@summitridge.example")
        admin = _user(db, "admin@harbormain.example")
        summit_rows = transactions.list_transactions(db, summit_agent, page_size=100)
        assert summit_rows.total == demo.SECOND_TRANSACTIONS
        harbor_rows = transactions.list_transactions(db, admin, page_size=100)
        assert harbor_rows.total == demo.DEMO_TRANSACTIONS
        harbor_ids = set(
            db.exec(select(Transaction.id).where(Transaction.org_id == harbor.id)).all()
        )
        assert not harbor_ids & {r.id for r in summit_rows.items}
        assert summit.id != harbor.id


def test_without_make_run_the_demo_password_is_random_and_kept(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    """Only `make run` (development) gives the demo logins the README's password: a demo
    seeded anywhere else must not open to whoever read the README."""
    from chronos.settings import load_settings

    monkeypatch.delenv("CHRONOS_DEMO_PASSWORD")
    monkeypatch.setenv("CHRONOS_VAR_DIR", str(tmp_path / "elsewhere"))
    first = load_settings().demo_password
    assert first != "chronos-demo-2026" and len(first) >= 16
    assert load_settings().demo_password == first  # kept in the var dir, printed by seed-demo
    stored = tmp_path / "elsewhere" / "demo_password"
    assert stored.read_text().strip() == first
    assert stored.stat().st_mode & 0o077 == 0
