"""Transactions: events, validation, stage rules, participants, listing, search and sorting."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy.engine import Engine
from sqlmodel import Session, func, select

from chronos.db import session_scope
from chronos.models import Event, Participant, Person, Stage, Transaction, utcnow
from chronos.services import transactions
from chronos.services.errors import Conflict, NotFound, PermissionDenied, ValidationFailed
from tests.factories import World, event_kinds, make_transaction, person_of


def _count(session: Session, model: Any) -> int:
    return session.exec(select(func.count()).select_from(model)).one()


# ---------------------------------------------------------------- every change records an Event


def test_creating_a_transaction_records_a_transaction_created_event(
    engine: Engine, world: World
) -> None:
    with session_scope(engine) as s:
        txn = transactions.create_transaction(
            s, world.agent, {"side": "seller", "street": "5 Quay St", "city": "Bath"}
        )
        txn_id = txn.id
    with session_scope(engine) as s:
        events = s.exec(select(Event).where(Event.transaction_id == txn_id)).all()
        assert [(e.kind, e.actor_id, e.org_id) for e in events] == [
            ("transaction_created", world.agent.id, world.harbor.id)
        ]
        assert events[0].data == {"stage": "pre_listing", "side": "seller"}
        assert events[0].summary == (
            "Transaction opened: 5 Quay St, Bath (Seller (listing), Pre-listing)"
        )


def test_creating_with_a_client_adds_a_normalised_contact_and_a_participant_event(
    db: Session, world: World
) -> None:
    txn = make_transaction(
        db,
        world.agent,
        client_name="  Wendy   Whitaker ",
        client_email="  Wendy.W@Example.ORG ",
        client_phone="(617) 253-1000",
    )
    assert event_kinds(db, txn.id) == [
        "transaction_created",
        "participant_added",
        "checklist_applied",
    ]
    part = db.exec(select(Participant).where(Participant.transaction_id == txn.id)).one()
    person = db.get(Person, part.person_id)
    assert part.role == "buyer"
    assert (person.first_name, person.last_name) == ("Wendy", "Whitaker")
    assert person.email == "wendy.w@example.org"
    assert person.phone == "+16172531000"
    assert person.org_id == world.harbor.id


def test_creating_with_a_known_client_email_reuses_the_contact(db: Session, world: World) -> None:
    people_before = _count(db, Person)
    txn = make_transaction(
        db,
        world.agent,
        side="seller",
        client_name="Sally S",
        client_email="SALLY.SELLER@example.com",
    )
    assert _count(db, Person) == people_before
    part = db.exec(select(Participant).where(Participant.transaction_id == txn.id)).one()
    assert (part.person_id, part.role) == (world.seller_contact.id, "seller")


def test_a_coordinator_creating_for_an_agent_is_put_on_the_file(db: Session, world: World) -> None:
    txn = make_transaction(db, world.coordinator, owner_id=world.agent2.id)
    assert txn.owner_id == world.agent2.id
    part = db.exec(select(Participant).where(Participant.transaction_id == txn.id)).one()
    assert (part.user_id, part.role) == (world.coordinator.id, "coordinator")
    assert event_kinds(db, txn.id) == [
        "transaction_created",
        "participant_added",
        "checklist_applied",
    ]


def test_agents_create_transactions_only_for_themselves(db: Session, world: World) -> None:
    with pytest.raises(PermissionDenied, match="Agents create transactions for themselves"):
        make_transaction(db, world.agent, owner_id=world.agent2.id)
    assert make_transaction(db, world.agent, owner_id=world.agent.id).owner_id == world.agent.id


def test_admin_may_assign_only_an_active_agent_or_admin_of_their_org_as_owner(
    db: Session, world: World
) -> None:
    assert make_transaction(db, world.admin, owner_id=world.agent2.id).owner_id == world.agent2.id
    with pytest.raises(ValidationFailed, match="active agent or admin") as exc:
        make_transaction(db, world.admin, owner_id=world.client.id)
    assert set(exc.value.errors) == {"owner_id"}
    with pytest.raises(NotFound, match="User not found"):
        make_transaction(db, world.admin, owner_id=world.outsider_agent.id)


@pytest.mark.parametrize("persona", ["client", "attorney", "lender"])
def test_outside_parties_cannot_create_transactions(
    db: Session, world: World, persona: str
) -> None:
    with pytest.raises(PermissionDenied, match="Only brokerage staff"):
        make_transaction(db, world.user(persona))


def test_updating_dates_and_details_records_two_events_with_before_and_after(
    db: Session, world: World
) -> None:
    transactions.update_transaction(
        db,
        world.agent,
        world.deal.id,
        {"closing_date": "2024-03-01", "price": "$460,000", "city": "Portland", "mls_number": "X1"},
    )
    events = db.exec(
        select(Event)
        .where(Event.transaction_id == world.deal.id)
        .order_by(Event.id.desc())
        .limit(2)  # type: ignore[union-attr]
    ).all()
    details, dates = events
    assert dates.kind == "dates_changed"
    assert dates.data == {"closing_date": ["2024-02-20", "2024-03-01"]}
    assert dates.summary == "Closing date: Tue 20 Feb 2024 → Fri 01 Mar 2024"
    assert details.kind == "details_updated"
    assert details.data == {
        "price_cents": [45_000_000, 46_000_000],
        "mls_number": ["MLS-1001", "X1"],
    }
    assert details.summary == "Updated MLS number, price"


def test_an_update_that_changes_nothing_records_nothing(db: Session, world: World) -> None:
    before = event_kinds(db, world.deal.id)
    updated_at = world.deal.updated_at
    transactions.update_transaction(
        db, world.agent, world.deal.id, {"city": " Portland ", "price": "450000", "state": "me"}
    )
    assert event_kinds(db, world.deal.id) == before
    assert world.deal.updated_at == updated_at


def test_update_ignores_fields_that_are_not_editable(db: Session, world: World) -> None:
    transactions.update_transaction(
        db,
        world.agent,
        world.deal.id,
        {"org_id": world.summit.id, "owner_id": 1, "stage": "closed"},
    )
    assert (world.deal.org_id, world.deal.stage) == (world.harbor.id, "under_contract")


def test_changing_stage_records_from_to_and_reason(db: Session, world: World) -> None:
    transactions.change_stage(
        db, world.agent, world.deal.id, "cancelled", reason="  Buyer  walked "
    )
    event = db.exec(
        select(Event).where(Event.transaction_id == world.deal.id).order_by(Event.id.desc())  # type: ignore[union-attr]
    ).first()
    assert event.kind == "stage_changed"
    assert event.data == {"from": "under_contract", "to": "cancelled", "reason": "Buyer walked"}
    assert event.summary == "Stage changed: Under contract → Cancelled (Buyer walked)"
    assert world.deal.cancel_reason == "Buyer walked"


def test_adding_and_removing_a_participant_records_both(db: Session, world: World) -> None:
    part = transactions.add_participant(
        db, world.agent, world.deal.id, role="title", person_id=world.loose_contact.id
    )
    transactions.remove_participant(db, world.agent, world.deal.id, part.id)
    events = db.exec(
        select(Event)
        .where(Event.transaction_id == world.deal.id)
        .order_by(Event.id.desc())
        .limit(2)  # type: ignore[union-attr]
    ).all()
    assert [(e.kind, e.summary) for e in events] == [
        ("participant_removed", "Removed Nora Neighbor (Title / escrow)"),
        ("participant_added", "Added Nora Neighbor as Title / escrow"),
    ]


def test_a_failed_step_rolls_back_the_whole_unit_of_work_and_its_events(
    engine: Engine, world: World
) -> None:
    with session_scope(engine) as s:
        events_before = _count(s, Event)
    with pytest.raises(ValidationFailed, match="Say why"), session_scope(engine) as s:
        transactions.update_transaction(s, world.agent, world.deal.id, {"city": "Bangor"})
        transactions.change_stage(s, world.agent, world.deal.id, "cancelled", reason="")
    with session_scope(engine) as s:
        txn = s.get(Transaction, world.deal.id)
        assert (txn.city, txn.stage) == ("Portland", "under_contract")
        assert _count(s, Event) == events_before


def test_a_rejected_create_leaves_no_rows_behind(engine: Engine, world: World) -> None:
    with session_scope(engine) as s:
        counts = (_count(s, Transaction), _count(s, Person), _count(s, Event))
    with pytest.raises(ValidationFailed), session_scope(engine) as s:
        transactions.create_transaction(
            s, world.agent, {"side": "buyer", "street": "1 A St", "price": "-1", "client_name": "X"}
        )
    with session_scope(engine) as s:
        assert (_count(s, Transaction), _count(s, Person), _count(s, Event)) == counts


def test_a_rejected_update_changes_nothing(engine: Engine, world: World) -> None:
    with pytest.raises(ValidationFailed), session_scope(engine) as s:
        transactions.update_transaction(
            s, world.agent, world.deal.id, {"city": "Bangor", "postal_code": "ABCDE"}
        )
    with session_scope(engine) as s:
        assert s.get(Transaction, world.deal.id).city == "Portland"
        assert event_kinds(s, world.deal.id)[-1] == "participant_added"


# ---------------------------------------------------------------- validation, field by field


@pytest.mark.parametrize(
    ("data", "field", "message"),
    [
        ({"street": "   "}, "street", "Street address is required."),
        ({"street": None}, "street", "Street address is required."),
        ({"street": "x" * 201}, "street", "Must be at most 200 characters (this is 201)."),
        ({"price": "-1"}, "price", "Price cannot be negative."),
        ({"price": "lots"}, "price", "Price must be an amount like 450000, $450,000 or 450000.50."),
        ({"postal_code": "0410"}, "postal_code", "Use a 5-digit ZIP code (or ZIP+4)."),
        ({"state": "Maine"}, "state", "Use a two-letter US state code, like TX."),
        ({"state": "ZZ"}, "state", "Use a two-letter US state code, like TX."),
        ({"closing_date": "2024-02-30"}, "closing_date", "2024-02-30 is not a day of the calendar"),
        ({"closing_date": "30/02/2024"}, "closing_date", "Not a valid date; use YYYY-MM-DD."),
        ({"effective_date": "1989-12-31"}, "effective_date", "Date must be between 1990 and 2100."),
        ({"property_type": "castle"}, "property_type", "Unknown property type"),
        ({"side": "both"}, "side", "Unknown side; choose one of: buyer, seller, dual."),
        ({"client_email": "cora@"}, "client_email", "Not a valid email address"),
        ({"client_name": "C", "client_phone": "555-123-4567"}, "client_phone", "Not a valid phone"),
        ({"client_email": "a@example.com"}, "client_name", "Give the client's name too."),
    ],
)
def test_create_rejects_each_bad_field_with_a_specific_message(
    db: Session, world: World, data: dict[str, Any], field: str, message: str
) -> None:
    base: dict[str, Any] = {"side": "buyer", "street": "1 Main St"}
    with pytest.raises(ValidationFailed) as exc:
        transactions.create_transaction(db, world.agent, {**base, **data})
    assert list(exc.value.errors) == [field]
    assert exc.value.errors[field].startswith(message)


def test_create_reports_every_bad_field_at_once(db: Session, world: World) -> None:
    with pytest.raises(ValidationFailed) as exc:
        transactions.create_transaction(
            db,
            world.agent,
            {"street": "", "price": "-5", "state": "QQ", "postal_code": "1", "client_email": "@"},
        )
    assert set(exc.value.errors) == {
        "side",
        "street",
        "price",
        "state",
        "postal_code",
        "client_email",
    }


def test_closing_cannot_be_before_the_effective_date(db: Session, world: World) -> None:
    with pytest.raises(ValidationFailed, match="cannot be before") as exc:
        make_transaction(db, world.agent, effective_date="2024-05-02", closing_date="2024-05-01")
    assert list(exc.value.errors) == ["closing_date"]
    # On update the stored effective date (2024-01-10) counts too.
    with pytest.raises(ValidationFailed, match="cannot be before"):
        transactions.update_transaction(
            db, world.agent, world.deal.id, {"closing_date": "2024-01-09"}
        )
    assert str(world.deal.closing_date) == "2024-02-20"


def test_an_update_cannot_blank_the_street(db: Session, world: World) -> None:
    with pytest.raises(ValidationFailed, match="Street address is required") as exc:
        transactions.update_transaction(db, world.agent, world.deal.id, {"street": ""})
    assert list(exc.value.errors) == ["street"]


def test_fields_are_normalised_on_create(db: Session, world: World) -> None:
    txn = make_transaction(
        db,
        world.agent,
        street="  7   Wharf  St ",
        state=" me ",
        postal_code="04101-1234",
        price="$1,234,567.89",
        property_type="condo",
    )
    assert (txn.street, txn.state, txn.postal_code) == ("7 Wharf St", "ME", "04101-1234")
    assert (txn.price_cents, txn.property_type) == (123_456_789, "condo")
    detail = transactions.get_transaction(db, world.agent, txn.id)
    assert (detail.price, detail.price_input) == ("$1,234,567.89", "1234567.89")


# ---------------------------------------------------------------- stage rules


def test_new_transactions_start_in_the_default_stage_for_their_side(
    db: Session, world: World
) -> None:
    assert make_transaction(db, world.agent, side="buyer").stage == "under_contract"
    assert make_transaction(db, world.agent, side="seller").stage == "pre_listing"
    assert make_transaction(db, world.agent, side="dual").stage == "pre_listing"


@pytest.mark.parametrize("stage", ["closed", "cancelled"])
def test_a_new_transaction_cannot_start_closed_or_cancelled(
    db: Session, world: World, stage: str
) -> None:
    with pytest.raises(ValidationFailed, match="must start in an open stage"):
        make_transaction(db, world.agent, side="seller", stage=stage)


@pytest.mark.parametrize("stage", ["pre_listing", "active_listing"])
def test_buyer_side_cannot_enter_listing_stages(db: Session, world: World, stage: str) -> None:
    with pytest.raises(ValidationFailed, match="buyer-side transaction cannot be in the") as exc:
        transactions.change_stage(db, world.agent, world.deal.id, stage)
    assert list(exc.value.errors) == ["stage"]
    with pytest.raises(ValidationFailed, match="buyer-side"):
        make_transaction(db, world.agent, side="buyer", stage=stage)
    assert world.deal.stage == "under_contract"


def test_seller_side_moves_through_listing_stages(db: Session, world: World) -> None:
    txn = transactions.change_stage(db, world.agent2, world.other_deal.id, "active_listing")
    assert txn.stage == "active_listing"


def test_stage_options_for_a_buyer_file_leave_out_listing_stages(db: Session, world: World) -> None:
    detail = transactions.get_transaction(db, world.agent, world.deal.id)
    assert [o.value for o in detail.stage_options] == ["clear_to_close", "closed", "cancelled"]


@pytest.mark.parametrize("reason", ["", "   "])
def test_cancelling_requires_a_reason(db: Session, world: World, reason: str) -> None:
    with pytest.raises(ValidationFailed, match="Say why the transaction fell through") as exc:
        transactions.change_stage(db, world.agent, world.deal.id, "cancelled", reason=reason)
    assert list(exc.value.errors) == ["reason"]
    assert world.deal.stage == "under_contract"


def test_reopening_a_cancelled_file_clears_the_reason(db: Session, world: World) -> None:
    transactions.change_stage(db, world.agent, world.deal.id, "cancelled", reason="Appraisal low")
    txn = transactions.change_stage(db, world.agent, world.deal.id, "under_contract")
    assert (txn.stage, txn.cancel_reason) == ("under_contract", "")


def test_closing_needs_a_closing_date(db: Session, world: World) -> None:
    txn = make_transaction(db, world.agent)
    with pytest.raises(ValidationFailed, match="Set the closing date before closing"):
        transactions.change_stage(db, world.agent, txn.id, "closed")
    assert txn.stage == "under_contract"


def test_closing_date_may_not_be_in_the_future(db: Session, world: World) -> None:
    tomorrow = utcnow().date() + timedelta(days=1)
    transactions.update_transaction(db, world.agent, world.deal.id, {"closing_date": tomorrow})
    with pytest.raises(ValidationFailed, match="closing date is in the future"):
        transactions.change_stage(db, world.agent, world.deal.id, "closed")
    transactions.update_transaction(
        db, world.agent, world.deal.id, {"closing_date": utcnow().date()}
    )
    assert transactions.change_stage(db, world.agent, world.deal.id, "closed").stage == "closed"


@pytest.mark.parametrize("persona", ["agent", "coordinator"])
def test_only_an_admin_reopens_a_closed_file(db: Session, world: World, persona: str) -> None:
    transactions.change_stage(db, world.agent, world.deal.id, "closed")
    with pytest.raises(PermissionDenied, match="Only an admin can reopen"):
        transactions.change_stage(db, world.user(persona), world.deal.id, "under_contract")
    assert transactions.get_transaction(db, world.user(persona), world.deal.id).stage_options == []
    txn = transactions.change_stage(db, world.admin, world.deal.id, "under_contract")
    assert txn.stage == "under_contract"


def test_expected_stage_mismatch_is_a_conflict_and_changes_nothing(
    db: Session, world: World
) -> None:
    transactions.change_stage(
        db, world.agent, world.deal.id, "clear_to_close", expected_stage="under_contract"
    )
    before = event_kinds(db, world.deal.id)
    # The same form submitted twice: the second one is stale.
    with pytest.raises(Conflict, match="already Clear to close; reload"):
        transactions.change_stage(
            db, world.agent, world.deal.id, "clear_to_close", expected_stage="under_contract"
        )
    with pytest.raises(Conflict, match="already Clear to close; reload"):
        transactions.change_stage(
            db,
            world.coordinator,
            world.deal.id,
            "cancelled",
            reason="x",
            expected_stage="under_contract",
        )
    assert event_kinds(db, world.deal.id) == before
    assert world.deal.stage == "clear_to_close"


def test_moving_to_the_current_stage_is_a_conflict(db: Session, world: World) -> None:
    with pytest.raises(Conflict, match="already Under contract"):
        transactions.change_stage(db, world.agent, world.deal.id, "under_contract")


def test_an_unknown_stage_is_rejected(db: Session, world: World) -> None:
    with pytest.raises(ValidationFailed, match="Unknown stage"):
        transactions.change_stage(db, world.agent, world.deal.id, "escrow")


def test_changing_stage_stamps_stage_changed_at(db: Session, world: World) -> None:
    before = world.deal.stage_changed_at
    txn = transactions.change_stage(db, world.agent, world.deal.id, Stage.CLEAR_TO_CLOSE)
    assert txn.stage_changed_at >= before
    assert txn.updated_at == txn.stage_changed_at


# ---------------------------------------------------------------- participants


def test_the_same_contact_twice_in_the_same_role_is_a_conflict(db: Session, world: World) -> None:
    with pytest.raises(Conflict, match="Sally Seller is already on this transaction as Seller"):
        transactions.add_participant(
            db, world.agent, world.deal.id, role="seller", person_id=world.seller_contact.id
        )
    with pytest.raises(Conflict, match="Cody Coordinator is already on this transaction"):
        transactions.add_participant(
            db, world.agent, world.deal.id, role="coordinator", user_id=world.coordinator.id
        )


def test_the_same_contact_may_hold_a_second_role(db: Session, world: World) -> None:
    part = transactions.add_participant(
        db, world.agent, world.deal.id, role="other", person_id=world.seller_contact.id
    )
    assert part.role == "other"


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"role": "co_agent", "person_id": "seller"}, "Co-agents and coordinators are staff"),
        ({"role": "buyer", "user_id": "agent2"}, "Staff members join a transaction as co-agent"),
        ({"role": "co_agent", "user_id": "client"}, "Staff members join a transaction as co-agent"),
        ({"role": "buyer"}, "Choose one contact or one staff member"),
        ({"role": "buyer", "person_id": "seller", "user_id": "agent2"}, "Choose one contact"),
        ({"role": "landlord", "person_id": "seller"}, "Unknown participant role"),
    ],
)
def test_participant_roles_must_match_who_is_added(
    db: Session, world: World, kwargs: dict[str, Any], message: str
) -> None:
    ids = {"seller": world.seller_contact.id, "agent2": world.agent2.id, "client": world.client.id}
    resolved = {k: (ids[v] if k != "role" else v) for k, v in kwargs.items()}
    with pytest.raises(ValidationFailed, match=message):
        transactions.add_participant(db, world.agent, world.deal.id, **resolved)


def test_a_contact_with_a_login_joins_with_their_user_id(db: Session, world: World) -> None:
    dan = person_of(db, world.client2)
    part = transactions.add_participant(
        db, world.agent, world.deal.id, role="seller", person_id=dan.id
    )
    assert part.user_id == world.client2.id
    assert world.deal.id in {r.id for r in transactions.list_transactions(db, world.client2).items}


def test_removing_a_participant_of_another_transaction_is_not_found(
    db: Session, world: World
) -> None:
    with pytest.raises(NotFound, match="Participant not found"):
        transactions.remove_participant(
            db, world.admin, world.other_deal.id, world.inspector_participant.id
        )
    assert db.get(Participant, world.inspector_participant.id) is not None


# ---------------------------------------------------------------- listing, filters, search, sort


@pytest.fixture
def pipeline(db: Session, world: World) -> dict[str, int]:
    """Six more Harbor files owned by the admin; with deal and other_deal the admin sees eight."""
    a = make_transaction(
        db,
        world.admin,
        side="buyer",
        street="100 Oak St",
        city="Springfield",
        postal_code="01101",
        closing_date="2024-11-05",
        price="300000",
        mls_number="MLS-2001",
        client_name="Wendy Whitaker",
        client_email="wendy@example.org",
    )
    b = make_transaction(
        db,
        world.admin,
        side="seller",
        street="200 Pine Ave",
        city="Shelbyville",
        postal_code="01201",
        stage="active_listing",
        price="500000",
    )
    c = make_transaction(
        db,
        world.admin,
        side="dual",
        street="300 Elm Rd",
        city="Springfield",
        postal_code="01102",
        closing_date="2024-11-01",
        stage="clear_to_close",
        mls_number="MLS_3003",
    )
    d = make_transaction(
        db, world.admin, side="seller", street="400 Birch Blvd", city="Capital City"
    )
    e = make_transaction(
        db, world.admin, side="buyer", street="500 Maple Ct", closing_date="2024-11-10", price="100"
    )
    transactions.change_stage(db, world.admin, e.id, "cancelled", reason="Inspection")
    f = make_transaction(
        db,
        world.admin,
        side="buyer",
        street="600 Cedar Way",
        effective_date="2024-09-01",
        closing_date="2024-10-01",
        price="250000",
    )
    transactions.change_stage(db, world.admin, f.id, "closed")
    db.commit()
    return {
        "deal": world.deal.id,
        "other": world.other_deal.id,
        "a": a.id,
        "b": b.id,
        "c": c.id,
        "d": d.id,
        "e": e.id,
        "f": f.id,
    }


def _ids(db: Session, world: World, **kwargs: Any) -> list[int]:
    kwargs.setdefault("page_size", 100)
    return [r.id for r in transactions.list_transactions(db, world.admin, **kwargs).items]


def _names(ids: dict[str, int], found: list[int]) -> list[str]:
    by_id = {v: k for k, v in ids.items()}
    return [by_id[i] for i in found]


def test_closing_sort_puts_files_without_a_closing_date_last_both_ways(
    db: Session, world: World, pipeline: dict[str, int]
) -> None:
    # Ties (no closing date) fall back to newest first.
    assert _names(pipeline, _ids(db, world, sort="closing")) == [
        "deal",
        "f",
        "c",
        "a",
        "e",
        "d",
        "b",
        "other",
    ]
    assert _names(pipeline, _ids(db, world, sort="closing", descending=True)) == [
        "e",
        "a",
        "c",
        "f",
        "deal",
        "d",
        "b",
        "other",
    ]


def test_price_sort_puts_files_without_a_price_last(
    db: Session, world: World, pipeline: dict[str, int]
) -> None:
    assert _names(pipeline, _ids(db, world, sort="price")) == [
        "e",
        "f",
        "a",
        "deal",
        "b",
        "d",
        "c",
        "other",
    ]


def test_address_sort_is_by_street(db: Session, world: World, pipeline: dict[str, int]) -> None:
    assert _names(pipeline, _ids(db, world, sort="address")) == [
        "a",
        "deal",
        "b",
        "c",
        "d",
        "e",
        "f",
        "other",
    ]


def test_unknown_sort_is_rejected(db: Session, world: World) -> None:
    with pytest.raises(ValidationFailed, match="Sort by one of: closing, updated"):
        transactions.list_transactions(db, world.admin, sort="owner")


@pytest.mark.parametrize(
    ("filters", "expected"),
    [
        ({"stage": "under_contract"}, {"deal", "a"}),
        ({"stage": "closed"}, {"f"}),
        ({"stage": "closed", "open_only": True}, {"f"}),
        ({"side": "seller"}, {"b", "d", "other"}),
        ({"side": "buyer", "open_only": True}, {"deal", "a"}),
        ({"open_only": True}, {"deal", "other", "a", "b", "c", "d"}),
        ({"side": "dual", "stage": "clear_to_close"}, {"c"}),
    ],
)
def test_stage_side_and_open_only_filters(
    db: Session, world: World, pipeline: dict[str, int], filters: dict[str, Any], expected: set[str]
) -> None:
    page = transactions.list_transactions(db, world.admin, page_size=100, **filters)
    assert set(_names(pipeline, [r.id for r in page.items])) == expected
    assert page.total == len(expected)


@pytest.mark.parametrize(
    ("filters", "field"), [({"stage": "won"}, "stage"), ({"side": "x"}, "side")]
)
def test_unknown_filters_are_rejected(
    db: Session, world: World, filters: dict[str, Any], field: str
) -> None:
    with pytest.raises(ValidationFailed) as exc:
        transactions.list_transactions(db, world.admin, **filters)
    assert list(exc.value.errors) == [field]


@pytest.mark.parametrize(
    ("q", "expected"),
    [
        ("oak", {"a"}),
        ("OAK st", {"a"}),
        ("springfield", {"a", "c"}),
        ("springfield elm", {"c"}),
        ("01102", {"c"}),
        ("0110", {"a", "c"}),
        ("mls-2001", {"a"}),
        ("whitaker", {"a"}),
        ("WENDY@example", {"a"}),
        ("sally.seller", {"deal"}),
        ("cora", {"deal"}),
        ("inspector", {"deal"}),
        ("s_3", {"c"}),
        ("s_2", set()),
        ("%", set()),
        ("100%", set()),
        ("\\", set()),
        ("nowhere", set()),
        ("   ", {"deal", "other", "a", "b", "c", "d", "e", "f"}),
    ],
)
def test_text_search_over_address_city_zip_mls_and_people(
    db: Session, world: World, pipeline: dict[str, int], q: str, expected: set[str]
) -> None:
    page = transactions.list_transactions(db, world.admin, q=q, page_size=100)
    assert set(_names(pipeline, [r.id for r in page.items])) == expected
    assert page.total == len(expected)


def test_pagination_walks_every_row_once(
    db: Session, world: World, pipeline: dict[str, int]
) -> None:
    seen: list[int] = []
    for number in (1, 2, 3):
        page = transactions.list_transactions(db, world.admin, page=number, page_size=3)
        assert (page.total, page.pages, page.page) == (8, 3, number)
        seen += [r.id for r in page.items]
    assert len(seen) == 8
    assert set(seen) == set(pipeline.values())
    past_end = transactions.list_transactions(db, world.admin, page=4, page_size=3)
    assert (past_end.items, past_end.total) == ([], 8)


def test_page_and_page_size_are_clamped(
    db: Session, world: World, pipeline: dict[str, int]
) -> None:
    page = transactions.list_transactions(db, world.admin, page=-3, page_size=0)
    assert (page.page, page.page_size, len(page.items), page.pages) == (1, 1, 1, 8)
    page = transactions.list_transactions(db, world.admin, page_size=10_000)
    assert page.page_size == 100


def test_rows_show_owner_clients_price_and_city_line(
    db: Session, world: World, pipeline: dict[str, int]
) -> None:
    rows = {r.id: r for r in transactions.list_transactions(db, world.admin, page_size=100).items}
    a = rows[pipeline["a"]]
    assert (a.owner_name, a.clients, a.price, a.closing_date) == (
        "Ada Admin",
        "Wendy Whitaker",
        "$300,000",
        "2024-11-05",
    )
    deal = rows[world.deal.id]
    assert (deal.city_line, deal.clients, deal.stage_label, deal.side_label) == (
        "Portland, ME 04101",
        "Cora Client, Sally Seller",
        "Under contract",
        "Buyer",
    )
    assert rows[pipeline["d"]].price == ""


def test_a_portal_login_only_joins_in_a_role_that_matches_their_login(
    db: Session, world: World
) -> None:
    dan = person_of(db, world.client2)
    with pytest.raises(ValidationFailed, match="signs in as a client; add them as Buyer or Seller"):
        transactions.add_participant(
            db, world.agent, world.deal.id, role="lender", person_id=dan.id
        )


def test_a_deactivated_staff_member_cannot_be_added_to_a_deal(db: Session, world: World) -> None:
    world.coordinator.is_active = False
    db.add(world.coordinator)
    db.flush()
    txn = make_transaction(db, world.agent)
    with pytest.raises(ValidationFailed, match="deactivated"):
        transactions.add_participant(
            db, world.agent, txn.id, role="coordinator", user_id=world.coordinator.id
        )


def test_an_agent_naming_themselves_as_owner_by_string_id_is_fine(
    db: Session, world: World
) -> None:
    txn = transactions.create_transaction(
        db, world.agent, {"side": "buyer", "street": "3 Own St", "owner_id": str(world.agent.id)}
    )
    assert txn.owner_id == world.agent.id


def test_a_malformed_owner_id_is_a_field_error(db: Session, world: World) -> None:
    with pytest.raises(ValidationFailed) as exc:
        transactions.create_transaction(
            db, world.admin, {"side": "buyer", "street": "4 Bad St", "owner_id": "abc"}
        )
    assert exc.value.errors == {"owner_id": "Not a valid id."}
