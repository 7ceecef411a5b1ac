"""Service and policy behaviour on migrated databases: SQLite and PostgreSQL.

``engine`` here is parametrized (tests/integration/conftest.py), so every test in this module
runs on both. Text search (LOWER/LIKE/ESCAPE), NULL ordering, boolean and timestamp handling
differ between the two; the unit-test functions imported below run unchanged on both.
"""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy.engine import Engine
from sqlmodel import Session, select

from chronos.db import session_scope
from chronos.models import Event, Transaction, UserSession, utcnow
from chronos.services import auth, people, timeline, transactions
from chronos.services.errors import (
    AuthenticationFailed,
    Conflict,
    NotFound,
    PermissionDenied,
    ValidationFailed,
)
from tests.factories import DEFAULT_PASSWORD, World, deactivate, event_kinds, make_transaction

# Re-collected here so they run against both migrated databases.
from tests.unit.test_access import (  # noqa: F401
    test_a_client_sees_only_their_own_transaction,
    test_a_contact_page_lists_only_the_transactions_the_viewer_may_see,
    test_each_persona_lists_exactly_the_transactions_the_policy_allows,
    test_outside_parties_do_not_see_other_parties_contact_details,
    test_outside_parties_see_only_shared_timeline_kinds,
)
from tests.unit.test_people import (  # noqa: F401
    test_a_duplicate_email_in_the_same_brokerage_is_a_conflict,
    test_an_invited_contact_already_on_a_deal_sees_it_after_signing_up,
    test_contact_search_matches_every_word,
    test_people_are_listed_by_last_then_first_name,
)
from tests.unit.test_transactions import (  # noqa: F401
    pipeline,
    test_a_failed_step_rolls_back_the_whole_unit_of_work_and_its_events,
    test_address_sort_is_by_street,
    test_closing_sort_puts_files_without_a_closing_date_last_both_ways,
    test_expected_stage_mismatch_is_a_conflict_and_changes_nothing,
    test_pagination_walks_every_row_once,
    test_price_sort_puts_files_without_a_price_last,
    test_stage_side_and_open_only_filters,
    test_text_search_over_address_city_zip_mls_and_people,
)


def test_the_engine_is_the_advertised_database(engine: Engine, request) -> None:
    assert engine.dialect.name == request.node.callspec.params["engine"]


@pytest.mark.parametrize(
    ("q", "found"),
    [("50%", True), ("5_%", True), ("5%", False), ("50_", False), ("a\\b", True), ("\\", True)],
)
def test_like_wildcards_and_backslashes_in_data_match_only_literally(
    db: Session, world: World, q: str, found: bool
) -> None:
    txn = make_transaction(db, world.agent, street="50% Off Ln", mls_number="A\\B-5_%")
    db.commit()
    ids = {r.id for r in transactions.list_transactions(db, world.agent, q=q).items}
    assert (txn.id in ids) is found


def test_timestamps_come_back_timezone_aware_in_utc(engine: Engine, world: World) -> None:
    with session_scope(engine) as s:
        txn = s.get(Transaction, world.deal.id)
        assert txn.created_at.utcoffset() == timedelta(0)
        event = s.exec(select(Event).where(Event.transaction_id == world.deal.id)).first()
        assert event.created_at.tzinfo is not None
        assert abs(utcnow() - event.created_at) < timedelta(hours=1)


def test_sessions_survive_a_commit_and_expire_across_databases(
    engine: Engine, world: World
) -> None:
    with session_scope(engine) as s:
        token = auth.sign_in(
            s, email="Alice.Agent@harbor.example.com", password=DEFAULT_PASSWORD
        ).token
    with session_scope(engine) as s:
        assert auth.resolve_session(s, token).id == world.agent.id
        row = s.exec(select(UserSession)).one()
        assert token not in row.token_hash
        row.expires_at = utcnow() - timedelta(seconds=1)
        s.add(row)
    with session_scope(engine) as s:
        assert auth.resolve_session(s, token) is None


def test_sign_in_failures_share_one_message(db: Session, world: World) -> None:
    deactivate(db, world.client)
    db.commit()
    messages = set()
    for email, password in [
        (world.agent.email, "wrong-password"),
        ("ghost@harbor.example.com", DEFAULT_PASSWORD),
        (world.client.email, DEFAULT_PASSWORD),
    ]:
        with pytest.raises(AuthenticationFailed) as exc:
            auth.sign_in(db, email=email, password=password)
        messages.add(exc.value.message)
    assert messages == {auth.SIGN_IN_FAILED}


@pytest.mark.parametrize("persona", ["agent2", "outsider_agent", "outsider_admin", "client2"])
def test_invisible_deal_is_not_found_for_reads_and_writes(
    db: Session, world: World, persona: str
) -> None:
    user = world.user(persona)
    with pytest.raises(NotFound):
        transactions.get_transaction(db, user, world.deal.id)
    with pytest.raises(NotFound):
        timeline.list_events(db, user, world.deal.id)
    with pytest.raises(NotFound):
        transactions.change_stage(db, user, world.deal.id, "clear_to_close")


@pytest.mark.parametrize("persona", ["client", "attorney", "lender"])
def test_read_only_parties_are_denied_changes(db: Session, world: World, persona: str) -> None:
    with pytest.raises(PermissionDenied):
        transactions.update_transaction(db, world.user(persona), world.deal.id, {"city": "X"})
    with pytest.raises(PermissionDenied):
        people.list_people(db, world.user(persona))


def test_a_rejected_create_commits_nothing(engine: Engine, world: World) -> None:
    with session_scope(engine) as s:
        before = len(s.exec(select(Transaction)).all()), len(s.exec(select(Event)).all())
    with (
        pytest.raises(ValidationFailed, match="Price cannot be negative"),
        session_scope(engine) as s,
    ):
        transactions.create_transaction(
            s, world.agent, {"side": "buyer", "street": "1 A", "price": "-2"}
        )
    with session_scope(engine) as s:
        after = len(s.exec(select(Transaction)).all()), len(s.exec(select(Event)).all())
    assert after == before


def test_duplicate_participant_is_a_conflict_and_records_nothing(db: Session, world: World) -> None:
    before = event_kinds(db, world.deal.id)
    with pytest.raises(Conflict, match="already on this transaction"):
        transactions.add_participant(
            db, world.agent, world.deal.id, role="seller", person_id=world.seller_contact.id
        )
    assert event_kinds(db, world.deal.id) == before


def test_closing_and_reopening_rules(db: Session, world: World) -> None:
    transactions.change_stage(db, world.agent, world.deal.id, "closed")
    with pytest.raises(PermissionDenied, match="Only an admin"):
        transactions.change_stage(db, world.agent, world.deal.id, "under_contract")
    assert transactions.change_stage(db, world.admin, world.deal.id, "under_contract").stage == (
        "under_contract"
    )


@pytest.mark.parametrize("q", ["ålesund", "ÅLESUND", "alesund", "A\u030alesund", "Åle\u200bsund"])
def test_search_folds_case_accents_forms_and_invisible_characters(
    db: Session, world: World, q: str
) -> None:
    """SQLite's lower() folded ASCII only (this was a strict xfail); now both databases fold
    through chronos_fold."""
    txn = make_transaction(db, world.agent, street="1 Fjord Rd", city="Ålesund")
    db.commit()
    assert [r.id for r in transactions.list_transactions(db, world.agent, q=q).items] == [txn.id]


@pytest.mark.parametrize("q", ["Émile", "émile", "ÉMILE", "emile zoe", "E\u0301mile", "Zoë"])
def test_people_are_found_whatever_the_accents_case_or_form(
    db: Session, world: World, q: str
) -> None:
    person = people.create_person(db, world.agent, {"first_name": "Emile", "last_name": "Zoe"})
    # Stored decomposed (NFD), as rows written before input was normalised may be.
    person.first_name, person.last_name = "E\u0301mile", "Zoe\u0308"
    db.add(person)
    db.commit()
    found = [r.id for r in people.list_people(db, world.agent, q=q).items]
    assert person.id in found
    assert people.list_people(db, world.agent, q="Émilie").total == 0  # still a search
