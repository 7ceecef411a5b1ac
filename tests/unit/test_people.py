"""Contacts: validation, normalisation, uniqueness, deletion rules, listing and search."""

from __future__ import annotations

from typing import Any

import pytest
from sqlmodel import Session, select

from chronos.models import Participant, Person
from chronos.services import auth, people, transactions
from chronos.services.errors import Conflict, ValidationFailed
from tests.factories import World, make_person, person_of


def test_creating_a_contact_normalises_email_phone_and_whitespace(
    db: Session, world: World
) -> None:
    person = people.create_person(
        db,
        world.agent,
        {
            "first_name": "  Maya ",
            "last_name": " van  Dyke ",
            "email": " Maya.VanDyke@Example.COM ",
            "phone": "(617) 253-1000",
            "company": " Coastal   Title ",
        },
    )
    assert (person.first_name, person.last_name, person.company) == (
        "Maya",
        "van Dyke",
        "Coastal Title",
    )
    assert person.email == "maya.vandyke@example.com"
    assert person.phone == "+16172531000"
    assert person.org_id == world.harbor.id
    detail = people.get_person(db, world.agent, person.id)
    assert (detail.phone, detail.phone_input, detail.name) == (
        "(617) 253-1000",
        "+16172531000",
        "Maya van Dyke",
    )


def test_blank_email_and_phone_are_stored_as_null(db: Session, world: World) -> None:
    person = people.create_person(db, world.agent, {"first_name": "Zed", "email": " ", "phone": ""})
    assert (person.email, person.phone) == (None, None)


@pytest.mark.parametrize(
    ("data", "field", "message"),
    [
        ({"first_name": "  "}, "first_name", "First name is required."),
        ({"last_name": "Only"}, "first_name", "First name is required."),
        ({"first_name": "A", "email": "not-an-email"}, "email", "Not a valid email address"),
        ({"first_name": "A", "phone": "12345"}, "phone", "Not a valid phone number."),
        ({"first_name": "A", "phone": "555-123-4567"}, "phone", "Not a valid phone number."),
        ({"first_name": "A" * 101}, "first_name", "Must be at most 100 characters (this is 101)."),
        (
            {"first_name": "A", "company": "c" * 201},
            "company",
            "Must be at most 200 characters (this is 201).",
        ),
    ],
)
def test_each_bad_contact_field_gets_its_own_message(
    db: Session, world: World, data: dict[str, Any], field: str, message: str
) -> None:
    with pytest.raises(ValidationFailed) as exc:
        people.create_person(db, world.agent, data)
    assert list(exc.value.errors) == [field]
    assert exc.value.errors[field].startswith(message)


def test_a_duplicate_email_in_the_same_brokerage_is_a_conflict(db: Session, world: World) -> None:
    with pytest.raises(
        Conflict, match=r"Sally Seller already has the email sally\.seller@example\.com"
    ):
        people.create_person(
            db, world.agent, {"first_name": "Other", "email": "SALLY.Seller@example.com"}
        )
    with pytest.raises(Conflict, match="Sally Seller already has the email"):
        people.update_person(
            db, world.agent, world.loose_contact.id, {"email": "sally.seller@example.com"}
        )
    assert world.loose_contact.email is None


def test_another_brokerage_may_use_the_same_email(db: Session, world: World) -> None:
    person = people.create_person(
        db, world.outsider_agent, {"first_name": "Sal", "email": "sally.seller@example.com"}
    )
    assert person.org_id == world.summit.id


def test_a_contact_may_keep_their_own_email_on_update(db: Session, world: World) -> None:
    person = people.update_person(
        db,
        world.agent,
        world.seller_contact.id,
        {"email": "Sally.Seller@example.com", "notes": "  prefers text  "},
    )
    assert (person.email, person.notes) == ("sally.seller@example.com", "prefers text")


def test_update_ignores_unknown_fields(db: Session, world: World) -> None:
    person = people.update_person(
        db, world.agent, world.loose_contact.id, {"org_id": world.summit.id, "user_id": 1}
    )
    assert (person.org_id, person.user_id) == (world.harbor.id, None)


def test_the_email_of_a_contact_with_a_login_cannot_change(db: Session, world: World) -> None:
    cora = person_of(db, world.client)
    with pytest.raises(ValidationFailed, match="signs in with their email") as exc:
        people.update_person(db, world.agent, cora.id, {"email": "cora@elsewhere.com"})
    assert list(exc.value.errors) == ["email"]
    assert people.update_person(db, world.agent, cora.id, {"phone": "2125550100"}).phone == (
        "+12125550100"
    )


def test_a_contact_on_a_transaction_cannot_be_deleted(db: Session, world: World) -> None:
    with pytest.raises(Conflict, match=r"Sally Seller is on 1 transaction\(s\)"):
        people.delete_person(db, world.agent, world.seller_contact.id)
    part = db.exec(
        select(Participant).where(Participant.person_id == world.seller_contact.id)
    ).one()
    transactions.remove_participant(db, world.agent, world.deal.id, part.id)
    people.delete_person(db, world.agent, world.seller_contact.id)
    assert db.get(Person, world.seller_contact.id) is None


def test_a_contact_with_a_login_cannot_be_deleted(db: Session, world: World) -> None:
    with pytest.raises(Conflict, match="has a login; deactivate the user instead"):
        people.delete_person(db, world.agent, person_of(db, world.client).id)


def test_people_are_listed_by_last_then_first_name(db: Session, world: World) -> None:
    names = [r.name for r in people.list_people(db, world.agent, page_size=100).items]
    assert names == [
        "Ava Attorney",
        "Cora Client",
        "Dan Client",
        "Ivan Inspector",
        "Leo Lender",
        "Nora Neighbor",
        "Sally Seller",
    ]


@pytest.mark.parametrize(
    ("q", "expected"),
    [
        ("client", ["Cora Client", "Dan Client"]),
        ("CORA", ["Cora Client"]),
        ("cora client", ["Cora Client"]),
        ("@bank.example", ["Leo Lender"]),
        ("sound homes", ["Ivan Inspector"]),
        ("617253", ["Sally Seller"]),
        ("%", []),
        ("_", []),
        ("nobody", []),
    ],
)
def test_contact_search_matches_every_word(
    db: Session, world: World, q: str, expected: list[str]
) -> None:
    page = people.list_people(db, world.agent, q=q)
    assert [r.name for r in page.items] == expected
    assert page.total == len(expected)


def test_contact_rows_show_login_and_formatted_phone(db: Session, world: World) -> None:
    rows = {r.name: r for r in people.list_people(db, world.agent, page_size=100).items}
    assert rows["Cora Client"].has_login is True
    assert rows["Sally Seller"].has_login is False
    assert rows["Ivan Inspector"].phone == "(212) 555-0100"
    assert rows["Ivan Inspector"].company == "Sound Homes Inspections"


def test_contact_list_pages(db: Session, world: World) -> None:
    first = people.list_people(db, world.agent, page=1, page_size=3)
    last = people.list_people(db, world.agent, page=3, page_size=3)
    assert (first.total, first.pages, len(first.items), len(last.items)) == (7, 3, 3, 1)
    assert last.items[0].name == "Sally Seller"


def test_quick_picker_limits_results(db: Session, world: World) -> None:
    for n in range(10):
        make_person(db, world.agent, first_name=f"Quinn{n}", last_name="Picker")
    assert len(people.search_contacts(db, world.agent, "picker")) == 8
    assert len(people.search_contacts(db, world.agent, "picker", limit=3)) == 3


def test_a_contact_page_lists_their_transactions_with_roles(db: Session, world: World) -> None:
    detail = people.get_person(db, world.agent, world.seller_contact.id)
    assert [(t.role_label, t.transaction.id) for t in detail.transactions] == [
        ("Seller", world.deal.id)
    ]
    assert detail.has_login is False


def test_an_invited_contact_already_on_a_deal_sees_it_after_signing_up(
    db: Session, world: World
) -> None:
    transactions.add_participant(
        db, world.agent, world.deal.id, role="buyer", person_id=world.loose_contact.id
    )
    people.update_person(db, world.agent, world.loose_contact.id, {"email": "nora@example.com"})
    nora = auth.create_user(
        db,
        org_id=world.harbor.id,
        email="Nora@Example.com",
        full_name="Nora Neighbor",
        role="client",
        password="a-long-password",
    )
    assert world.loose_contact.user_id == nora.id
    assert [r.id for r in transactions.list_transactions(db, nora).items] == [world.deal.id]
    detail = transactions.get_transaction(db, nora, world.deal.id)
    me = next(p for p in detail.participants if p.name == "Nora Neighbor")
    assert (me.email, me.has_login) == ("nora@example.com", True)


def test_phone_search_matches_however_the_number_is_typed(db: Session, world: World) -> None:
    from chronos.services import people as people_service

    person = people_service.create_person(
        db, world.agent, {"first_name": "Pat", "last_name": "Dialer", "phone": "(413) 555-0199"}
    )
    for typed in ("413-555-0199", "(413) 555", "4135550199"):
        found = people_service.list_people(db, world.agent, q=typed).items
        assert [p.id for p in found] == [person.id], typed
