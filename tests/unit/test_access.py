"""The access policy, service by service and persona by persona.

Invisible objects raise NotFound; visible objects the persona may not change (or contacts a
non-staff persona may not browse) raise PermissionDenied; inactive users can do nothing.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from sqlmodel import Session, select

from chronos.models import Participant, Person, Stage, Transaction
from chronos.services import people, timeline, transactions
from chronos.services.errors import NotFound, PermissionDenied
from tests.factories import PERSONAS, World, deactivate, event_kinds, person_of

Op = Callable[[Session, World, Any], Any]

# ---------------------------------------------------------------- operations on ``deal``

READ_OPS: dict[str, Op] = {
    "get_transaction": lambda db, w, u: transactions.get_transaction(db, u, w.deal.id),
    "list_events": lambda db, w, u: timeline.list_events(db, u, w.deal.id),
}
WRITE_OPS: dict[str, Op] = {
    "update_transaction": lambda db, w, u: transactions.update_transaction(
        db, u, w.deal.id, {"city": "South Portland"}
    ),
    "change_stage": lambda db, w, u: transactions.change_stage(db, u, w.deal.id, "clear_to_close"),
    "add_participant": lambda db, w, u: transactions.add_participant(
        db, u, w.deal.id, role="title", person_id=w.loose_contact.id
    ),
    "remove_participant": lambda db, w, u: transactions.remove_participant(
        db, u, w.deal.id, w.inspector_participant.id
    ),
}
PEOPLE_OPS: dict[str, Op] = {
    "get_person": lambda db, w, u: people.get_person(db, u, w.loose_contact.id),
    "update_person": lambda db, w, u: people.update_person(
        db, u, w.loose_contact.id, {"company": "Acme"}
    ),
    "delete_person": lambda db, w, u: people.delete_person(db, u, w.loose_contact.id),
}
PEOPLE_ORG_OPS: dict[str, Op] = {
    "create_person": lambda db, w, u: people.create_person(db, u, {"first_name": "Pat"}),
    "list_people": lambda db, w, u: people.list_people(db, u),
}
ALL_OPS: dict[str, Op] = {
    **READ_OPS,
    **WRITE_OPS,
    **PEOPLE_OPS,
    **PEOPLE_ORG_OPS,
    "list_transactions": lambda db, w, u: transactions.list_transactions(db, u),
}

DEAL_VIEWERS = ("admin", "agent", "coordinator", "client", "attorney", "lender")
DEAL_EDITORS = ("admin", "agent", "coordinator")
READ_ONLY = ("client", "attorney", "lender")
CANNOT_SEE_DEAL = ("agent2", "client2", "outsider_agent", "outsider_admin")
HARBOR_STAFF = ("admin", "agent", "coordinator", "agent2")
NON_STAFF = ("client", "client2", "attorney", "lender")
OTHER_ORG = ("outsider_agent", "outsider_admin")

assert set(DEAL_VIEWERS) | set(CANNOT_SEE_DEAL) == set(PERSONAS)
assert set(HARBOR_STAFF) | set(NON_STAFF) | set(OTHER_ORG) == set(PERSONAS)


def _cases(ops: dict[str, Op], personas: tuple[str, ...]) -> list[Any]:
    return [pytest.param(op, p, id=f"{op}-{p}") for op in ops for p in personas]


# ---------------------------------------------------------------- refusals


@pytest.mark.parametrize(("op", "persona"), _cases({**READ_OPS, **WRITE_OPS}, CANNOT_SEE_DEAL))
def test_personas_who_cannot_see_the_deal_get_not_found(
    db: Session, world: World, op: str, persona: str
) -> None:
    with pytest.raises(NotFound, match="Transaction not found"):
        ALL_OPS[op](db, world, world.user(persona))


@pytest.mark.parametrize(("op", "persona"), _cases(WRITE_OPS, READ_ONLY))
def test_outside_parties_on_the_deal_may_not_change_it(
    db: Session, world: World, op: str, persona: str
) -> None:
    before = event_kinds(db, world.deal.id)
    with pytest.raises(PermissionDenied, match="Only brokerage staff"):
        ALL_OPS[op](db, world, world.user(persona))
    assert event_kinds(db, world.deal.id) == before


@pytest.mark.parametrize(("op", "persona"), _cases({**PEOPLE_OPS, **PEOPLE_ORG_OPS}, NON_STAFF))
def test_non_staff_may_not_touch_contacts(db: Session, world: World, op: str, persona: str) -> None:
    with pytest.raises(PermissionDenied, match="Only brokerage staff"):
        ALL_OPS[op](db, world, world.user(persona))


@pytest.mark.parametrize(("op", "persona"), _cases(PEOPLE_OPS, OTHER_ORG))
def test_other_brokerages_staff_cannot_see_our_contacts(
    db: Session, world: World, op: str, persona: str
) -> None:
    with pytest.raises(NotFound, match="Contact not found"):
        ALL_OPS[op](db, world, world.user(persona))
    assert db.get(Person, world.loose_contact.id) is not None


@pytest.mark.parametrize("op", sorted(ALL_OPS))
@pytest.mark.parametrize("persona", ["admin", "agent", "client"])
def test_deactivated_users_are_refused_everywhere(
    db: Session, world: World, op: str, persona: str
) -> None:
    user = deactivate(db, world.user(persona))
    with pytest.raises(PermissionDenied, match="cannot act"):
        ALL_OPS[op](db, world, user)


def test_deactivated_user_sees_an_empty_visibility_clause(db: Session, world: World) -> None:
    from chronos.services.access import visible_transactions

    user = deactivate(db, world.admin)
    assert db.exec(select(Transaction).where(visible_transactions(user))).all() == []


def test_a_missing_actor_is_refused(db: Session, world: World) -> None:
    with pytest.raises(PermissionDenied, match="cannot act"):
        transactions.list_transactions(db, None)  # type: ignore[arg-type]


# ---------------------------------------------------------------- permissions granted


@pytest.mark.parametrize("persona", DEAL_VIEWERS)
def test_everyone_on_the_deal_can_read_it(db: Session, world: World, persona: str) -> None:
    user = world.user(persona)
    detail = transactions.get_transaction(db, user, world.deal.id)
    assert detail.id == world.deal.id
    assert detail.address == "12 Harbor View Rd, Portland, ME 04101"
    assert detail.can_edit is (persona in DEAL_EDITORS)
    assert bool(detail.stage_options) is (persona in DEAL_EDITORS)
    events = timeline.list_events(db, user, world.deal.id)
    assert events.total >= 1
    assert events.items[-1].kind == "transaction_created"


@pytest.mark.parametrize("persona", DEAL_EDITORS)
def test_staff_on_the_deal_can_update_it(db: Session, world: World, persona: str) -> None:
    txn = transactions.update_transaction(
        db, world.user(persona), world.deal.id, {"city": "South Portland"}
    )
    assert txn.city == "South Portland"
    assert event_kinds(db, world.deal.id)[-1] == "details_updated"


@pytest.mark.parametrize("persona", DEAL_EDITORS)
def test_staff_on_the_deal_can_change_its_stage(db: Session, world: World, persona: str) -> None:
    txn = transactions.change_stage(db, world.user(persona), world.deal.id, "clear_to_close")
    assert txn.stage == Stage.CLEAR_TO_CLOSE.value


@pytest.mark.parametrize("persona", DEAL_EDITORS)
def test_staff_on_the_deal_can_add_and_remove_participants(
    db: Session, world: World, persona: str
) -> None:
    user = world.user(persona)
    part = transactions.add_participant(
        db, user, world.deal.id, role="title", person_id=world.loose_contact.id
    )
    assert part.transaction_id == world.deal.id
    transactions.remove_participant(db, user, world.deal.id, part.id)
    assert db.get(Participant, part.id) is None
    assert event_kinds(db, world.deal.id)[-2:] == ["participant_added", "participant_removed"]


@pytest.mark.parametrize("persona", HARBOR_STAFF)
def test_any_harbor_staff_member_can_manage_harbor_contacts(
    db: Session, world: World, persona: str
) -> None:
    user = world.user(persona)
    created = people.create_person(db, user, {"first_name": "Pat", "last_name": "New"})
    assert created.org_id == world.harbor.id
    assert people.get_person(db, user, world.loose_contact.id).name == "Nora Neighbor"
    updated = people.update_person(db, user, world.loose_contact.id, {"company": "Acme"})
    assert updated.company == "Acme"
    names = {row.name for row in people.list_people(db, user, page_size=100).items}
    assert {"Pat New", "Nora Neighbor", "Sally Seller", "Cora Client"} <= names
    people.delete_person(db, user, world.loose_contact.id)
    assert db.get(Person, world.loose_contact.id) is None


def test_other_brokerage_lists_and_creates_only_its_own_contacts(db: Session, world: World) -> None:
    created = people.create_person(db, world.outsider_admin, {"first_name": "Sue", "email": ""})
    assert created.org_id == world.summit.id
    rows = people.list_people(db, world.outsider_admin, page_size=100).items
    assert [r.name for r in rows] == ["Sue"]


def test_a_contact_page_lists_only_the_transactions_the_viewer_may_see(
    db: Session, world: World
) -> None:
    cora = person_of(db, world.client)
    transactions.add_participant(
        db, world.agent2, world.other_deal.id, role="buyer", person_id=cora.id
    )
    seen_by = {
        name: {
            t.transaction.id for t in people.get_person(db, world.user(name), cora.id).transactions
        }
        for name in ("admin", "agent", "agent2")
    }
    assert seen_by == {
        "admin": {world.deal.id, world.other_deal.id},
        "agent": {world.deal.id},
        "agent2": {world.other_deal.id},
    }


# ---------------------------------------------------------------- what lists return


def _listed(db: Session, world: World, persona: str) -> set[int]:
    page = transactions.list_transactions(db, world.user(persona), page_size=100)
    return {row.id for row in page.items}


def test_each_persona_lists_exactly_the_transactions_the_policy_allows(
    db: Session, world: World
) -> None:
    deal, other, outside = world.deal.id, world.other_deal.id, world.outside_deal.id
    expected = {
        "admin": {deal, other},
        "agent": {deal},
        "coordinator": {deal},
        "agent2": {other},
        "client": {deal},
        "client2": {other},
        "attorney": {deal},
        "lender": {deal},
        "outsider_agent": {outside},
        "outsider_admin": {outside},
    }
    assert {p: _listed(db, world, p) for p in PERSONAS} == expected


def test_agent2_never_lists_unassigned_or_other_org_rows_even_when_searching(
    db: Session, world: World
) -> None:
    page = transactions.list_transactions(db, world.agent2, q="Harbor View")
    assert page.total == 0
    assert page.items == []


def test_a_staff_member_added_as_co_agent_starts_seeing_the_deal(db: Session, world: World) -> None:
    assert world.deal.id not in _listed(db, world, "agent2")
    transactions.add_participant(
        db, world.agent, world.deal.id, role="co_agent", user_id=world.agent2.id
    )
    assert world.deal.id in _listed(db, world, "agent2")


def test_a_coordinator_removed_from_the_deal_loses_sight_of_it(db: Session, world: World) -> None:
    part = db.exec(
        select(Participant).where(
            Participant.transaction_id == world.deal.id, Participant.user_id == world.coordinator.id
        )
    ).one()
    transactions.remove_participant(db, world.agent, world.deal.id, part.id)
    with pytest.raises(NotFound):
        transactions.get_transaction(db, world.coordinator, world.deal.id)


def test_a_client_sees_only_their_own_transaction(db: Session, world: World) -> None:
    page = transactions.list_transactions(db, world.client)
    assert [row.id for row in page.items] == [world.deal.id]
    assert page.total == 1
    with pytest.raises(NotFound):
        transactions.get_transaction(db, world.client, world.other_deal.id)


def test_admin_of_another_org_cannot_reach_our_participant_through_their_own_deal(
    db: Session, world: World
) -> None:
    with pytest.raises(NotFound, match="Participant not found"):
        transactions.remove_participant(
            db, world.outsider_admin, world.outside_deal.id, world.inspector_participant.id
        )
    with pytest.raises(NotFound, match="Contact not found"):
        transactions.add_participant(
            db,
            world.outsider_admin,
            world.outside_deal.id,
            role="buyer",
            person_id=world.loose_contact.id,
        )
    with pytest.raises(NotFound, match="User not found"):
        transactions.add_participant(
            db,
            world.outsider_admin,
            world.outside_deal.id,
            role="co_agent",
            user_id=world.agent.id,
        )


# ---------------------------------------------------------------- what outside parties see


@pytest.mark.parametrize("persona", READ_ONLY)
def test_outside_parties_see_only_shared_timeline_kinds(
    db: Session, world: World, persona: str
) -> None:
    transactions.update_transaction(db, world.agent, world.deal.id, {"price": "460000"})
    transactions.update_transaction(db, world.agent, world.deal.id, {"closing_date": "2024-03-01"})
    staff_kinds = {
        e.kind for e in timeline.list_events(db, world.agent, world.deal.id, page_size=100).items
    }
    assert {"participant_added", "details_updated", "dates_changed"} <= staff_kinds

    page = timeline.list_events(db, world.user(persona), world.deal.id, page_size=100)
    kinds = [e.kind for e in page.items]
    assert set(kinds) <= timeline.SHARED_KINDS
    assert kinds == ["dates_changed", "transaction_created"]
    assert page.total == 2


@pytest.mark.parametrize("persona", READ_ONLY)
def test_outside_parties_do_not_see_other_parties_contact_details(
    db: Session, world: World, persona: str
) -> None:
    me = world.user(persona)
    detail = transactions.get_transaction(db, me, world.deal.id)
    by_name = {p.name: p for p in detail.participants}
    # Other contacts: names and roles, but no email or phone.
    for other in ("Sally Seller", "Ivan Inspector"):
        assert by_name[other].email == ""
        assert by_name[other].phone == ""
        assert by_name[other].role_label
    # Brokerage staff on the file stay reachable.
    assert by_name["Cody Coordinator"].email == "cody.coord@harbor.example.com"
    # Themselves: their own details.
    assert by_name[me.full_name].email == me.email
    # The other outside parties with logins are hidden too.
    for name in {"Cora Client", "Ava Attorney", "Leo Lender"} - {me.full_name}:
        assert by_name[name].email == ""
    assert detail.mls_number == ""
    assert detail.stage_options == []


def test_staff_see_every_participants_contact_details(db: Session, world: World) -> None:
    detail = transactions.get_transaction(db, world.coordinator, world.deal.id)
    by_name = {p.name: p for p in detail.participants}
    assert by_name["Sally Seller"].email == "sally.seller@example.com"
    assert by_name["Sally Seller"].phone == "(617) 253-1000"
    assert by_name["Cora Client"].email == "cora.client@example.com"
    assert by_name["Cora Client"].has_login is True
    assert by_name["Ivan Inspector"].has_login is False
    assert detail.mls_number == "MLS-1001"


def test_outside_parties_do_not_see_the_cancel_reason(db: Session, world: World) -> None:
    transactions.change_stage(
        db, world.agent, world.deal.id, "cancelled", reason="Financing fell through"
    )
    assert transactions.get_transaction(db, world.agent, world.deal.id).cancel_reason == (
        "Financing fell through"
    )
    assert transactions.get_transaction(db, world.client, world.deal.id).cancel_reason == ""


def test_visibility_is_memoized_per_session_but_every_write_checks_again(
    db: Session, world: World
) -> None:
    """get_visible_transaction answers repeated questions from a per-session memo; a flush
    (a participant removed, say) forgets it, so a lost right never lingers in the session."""
    from sqlalchemy import event

    from chronos.services import access

    statements: list[str] = []

    def record(*args: Any) -> None:
        statements.append(str(args[2]))

    engine = db.get_bind()
    event.listen(engine, "before_cursor_execute", record)
    try:
        first = access.get_visible_transaction(db, world.client, world.deal.id)
        again = access.get_visible_transaction(db, world.client, world.deal.id)
        assert first is again
        assert sum("FROM transactions" in s for s in statements) == 1
        for row in db.exec(
            select(Participant).where(
                Participant.transaction_id == world.deal.id,
                Participant.user_id == world.client.id,
            )
        ).all():
            db.delete(row)
        db.flush()
        with pytest.raises(NotFound):
            access.get_visible_transaction(db, world.client, world.deal.id)
    finally:
        event.remove(engine, "before_cursor_execute", record)
