"""Test data built through the real services, so fixtures exercise the same paths as the app."""

from __future__ import annotations

import itertools
from dataclasses import dataclass
from typing import Any

from sqlmodel import Session, select

from chronos.models import Event, Organization, Participant, Person, Role, Transaction, User
from chronos.services import auth, people, transactions

DEFAULT_PASSWORD = "correct-horse-battery"
_seq = itertools.count(1)

PERSONAS = (
    "admin",
    "agent",
    "coordinator",
    "agent2",
    "client",
    "client2",
    "attorney",
    "lender",
    "outsider_agent",
    "outsider_admin",
)


def make_org(db: Session, name: str = "Harbor Realty", slug: str | None = None) -> Organization:
    return auth.create_organization(db, name=name, slug=slug or f"org-{next(_seq)}")


def make_user(
    db: Session,
    org: Organization,
    role: Role | str = Role.AGENT,
    *,
    email: str | None = None,
    full_name: str | None = None,
    password: str = DEFAULT_PASSWORD,
) -> User:
    n = next(_seq)
    role = Role(role)
    assert org.id is not None
    return auth.create_user(
        db,
        org_id=org.id,
        email=email or f"{role.value}{n}@example.com",
        full_name=full_name or f"{role.label} Number{n}",
        role=role,
        password=password,
    )


def make_person(db: Session, actor: User, **fields: Any) -> Person:
    n = next(_seq)
    data: dict[str, Any] = {"first_name": f"Contact{n}", "last_name": "Person"}
    data.update(fields)
    return people.create_person(db, actor, data)


def make_transaction(db: Session, actor: User, **fields: Any) -> Transaction:
    data: dict[str, Any] = {"side": "buyer", "street": f"{next(_seq)} Main St"}
    data.update(fields)
    return transactions.create_transaction(db, actor, data)


def person_of(db: Session, user: User) -> Person:
    """The contact linked to an outside party's login."""
    person = db.exec(select(Person).where(Person.user_id == user.id)).one()
    return person


def participant_of(db: Session, txn: Transaction, user: User) -> Participant:
    """The participant row through which a login takes part in a transaction."""
    return db.exec(
        select(Participant).where(
            Participant.transaction_id == txn.id, Participant.user_id == user.id
        )
    ).one()


def add_person(
    db: Session, actor: User, txn: Transaction, person: Person, role: str
) -> Participant:
    assert txn.id is not None and person.id is not None
    return transactions.add_participant(db, actor, txn.id, role=role, person_id=person.id)


def add_staff(db: Session, actor: User, txn: Transaction, user: User, role: str) -> Participant:
    assert txn.id is not None and user.id is not None
    return transactions.add_participant(db, actor, txn.id, role=role, user_id=user.id)


def event_kinds(db: Session, txn_id: int | None) -> list[str]:
    """Kinds of the events recorded for a transaction, oldest first."""
    return list(
        db.exec(
            select(Event.kind).where(Event.transaction_id == txn_id).order_by(Event.id)  # type: ignore[arg-type]
        ).all()
    )


def deactivate(db: Session, user: User) -> User:
    user.is_active = False
    db.add(user)
    db.flush()
    return user


@dataclass
class World:
    harbor: Organization
    summit: Organization
    admin: User
    agent: User
    coordinator: User
    agent2: User
    client: User
    client2: User
    attorney: User
    lender: User
    outsider_agent: User
    outsider_admin: User
    deal: Transaction
    other_deal: Transaction
    outside_deal: Transaction
    seller_contact: Person
    inspector_contact: Person
    loose_contact: Person
    inspector_participant: Participant

    def user(self, name: str) -> User:
        assert name in PERSONAS, name
        user = getattr(self, name)
        assert isinstance(user, User)
        return user


def build_world(db: Session) -> World:
    harbor = make_org(db, "Harbor Realty", "harbor-realty")
    summit = make_org(db, "Summit Homes", "summit-homes")

    def login(org: Organization, role: Role, email: str, name: str) -> User:
        return make_user(db, org, role, email=email, full_name=name)

    admin = login(harbor, Role.ADMIN, "ada.admin@harbor.example.com", "Ada Admin")
    agent = login(harbor, Role.AGENT, "alice.agent@harbor.example.com", "Alice Agent")
    coordinator = login(
        harbor, Role.COORDINATOR, "cody.coord@harbor.example.com", "Cody Coordinator"
    )
    agent2 = login(harbor, Role.AGENT, "bob.agent@harbor.example.com", "Bob Agent")
    client = login(harbor, Role.CLIENT, "cora.client@example.com", "Cora Client")
    client2 = login(harbor, Role.CLIENT, "dan.client@example.com", "Dan Client")
    attorney = login(harbor, Role.ATTORNEY, "ava.attorney@law.example.com", "Ava Attorney")
    lender = login(harbor, Role.LENDER, "leo.lender@bank.example.com", "Leo Lender")
    outsider_agent = login(summit, Role.AGENT, "oscar.agent@summit.example.com", "Oscar Outsider")
    outsider_admin = login(summit, Role.ADMIN, "olga.admin@summit.example.com", "Olga Outsider")

    deal = transactions.create_transaction(
        db,
        agent,
        {
            "side": "buyer",
            "street": "12 Harbor View Rd",
            "city": "Portland",
            "state": "ME",
            "postal_code": "04101",
            "price": "$450,000",
            "mls_number": "MLS-1001",
            "effective_date": "2024-01-10",
            "closing_date": "2024-02-20",
        },
    )
    add_staff(db, agent, deal, coordinator, "coordinator")
    add_person(db, agent, deal, person_of(db, client), "buyer")
    add_person(db, agent, deal, person_of(db, attorney), "attorney")
    add_person(db, agent, deal, person_of(db, lender), "lender")
    seller_contact = make_person(
        db,
        agent,
        first_name="Sally",
        last_name="Seller",
        email="sally.seller@example.com",
        phone="(617) 253-1000",
    )
    add_person(db, agent, deal, seller_contact, "seller")
    inspector_contact = make_person(
        db,
        agent,
        first_name="Ivan",
        last_name="Inspector",
        email="ivan@inspect.example.com",
        phone="212-555-0100",
        company="Sound Homes Inspections",
    )
    inspector_participant = add_person(db, agent, deal, inspector_contact, "inspector")
    loose_contact = make_person(db, agent, first_name="Nora", last_name="Neighbor")

    other_deal = transactions.create_transaction(
        db,
        agent2,
        {"side": "seller", "street": "88 Lighthouse Ln", "city": "Bath", "state": "ME"},
    )
    add_person(db, agent2, other_deal, person_of(db, client2), "seller")

    outside_deal = transactions.create_transaction(
        db,
        outsider_agent,
        {"side": "buyer", "street": "12 Harbor View Rd", "city": "Portland", "state": "ME"},
    )
    db.flush()
    return World(
        harbor=harbor,
        summit=summit,
        admin=admin,
        agent=agent,
        coordinator=coordinator,
        agent2=agent2,
        client=client,
        client2=client2,
        attorney=attorney,
        lender=lender,
        outsider_agent=outsider_agent,
        outsider_admin=outsider_admin,
        deal=deal,
        other_deal=other_deal,
        outside_deal=outside_deal,
        seller_contact=seller_contact,
        inspector_contact=inspector_contact,
        loose_contact=loose_contact,
        inspector_participant=inspector_participant,
    )
