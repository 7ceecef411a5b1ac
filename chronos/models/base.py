"""Shared column helpers and the enumerations the domain speaks in."""

from __future__ import annotations

from datetime import UTC, datetime
from enum import StrEnum


def utcnow() -> datetime:
    """Aware UTC timestamp; SQLModel's UTCDateTime stores and returns it as UTC on every DB."""
    return datetime.now(UTC)


class Role(StrEnum):
    ADMIN = "admin"
    AGENT = "agent"
    COORDINATOR = "coordinator"
    CLIENT = "client"
    ATTORNEY = "attorney"
    LENDER = "lender"

    @property
    def is_staff(self) -> bool:
        return self in STAFF_ROLES

    @property
    def label(self) -> str:
        return self.value.capitalize()


STAFF_ROLES = frozenset({Role.ADMIN, Role.AGENT, Role.COORDINATOR})
EXTERNAL_ROLES = frozenset({Role.CLIENT, Role.ATTORNEY, Role.LENDER})


class Side(StrEnum):
    BUYER = "buyer"
    SELLER = "seller"
    DUAL = "dual"

    @property
    def label(self) -> str:
        return {"buyer": "Buyer", "seller": "Seller (listing)", "dual": "Dual"}[self.value]


class Stage(StrEnum):
    PRE_LISTING = "pre_listing"
    ACTIVE_LISTING = "active_listing"
    UNDER_CONTRACT = "under_contract"
    CLEAR_TO_CLOSE = "clear_to_close"
    CLOSED = "closed"
    CANCELLED = "cancelled"

    @property
    def label(self) -> str:
        return STAGE_LABELS[self]

    @property
    def is_open(self) -> bool:
        return self not in (Stage.CLOSED, Stage.CANCELLED)


STAGE_LABELS: dict[Stage, str] = {
    Stage.PRE_LISTING: "Pre-listing",
    Stage.ACTIVE_LISTING: "Active listing",
    Stage.UNDER_CONTRACT: "Under contract",
    Stage.CLEAR_TO_CLOSE: "Clear to close",
    Stage.CLOSED: "Closed",
    Stage.CANCELLED: "Cancelled",
}
# Listing stages only make sense when we represent the seller.
LISTING_STAGES = frozenset({Stage.PRE_LISTING, Stage.ACTIVE_LISTING})


class PropertyType(StrEnum):
    SINGLE_FAMILY = "single_family"
    CONDO = "condo"
    TOWNHOUSE = "townhouse"
    MULTI_FAMILY = "multi_family"
    LAND = "land"
    OTHER = "other"

    @property
    def label(self) -> str:
        return self.value.replace("_", " ").capitalize()


class ParticipantRole(StrEnum):
    BUYER = "buyer"
    SELLER = "seller"
    LISTING_AGENT = "listing_agent"
    BUYERS_AGENT = "buyers_agent"
    CO_AGENT = "co_agent"
    COORDINATOR = "coordinator"
    ATTORNEY = "attorney"
    LENDER = "lender"
    TITLE = "title"
    INSPECTOR = "inspector"
    APPRAISER = "appraiser"
    COOPERATING_AGENT = "cooperating_agent"
    OTHER = "other"

    @property
    def label(self) -> str:
        return {
            "buyers_agent": "Buyer's agent",
            "co_agent": "Co-agent",
            "title": "Title / escrow",
            "cooperating_agent": "Cooperating agent",
        }.get(self.value, self.value.replace("_", " ").capitalize())


# Which participant roles a login of each external role may hold on a transaction.
EXTERNAL_PARTICIPANT_ROLES: dict[Role, frozenset[ParticipantRole]] = {
    Role.CLIENT: frozenset({ParticipantRole.BUYER, ParticipantRole.SELLER}),
    Role.ATTORNEY: frozenset({ParticipantRole.ATTORNEY}),
    Role.LENDER: frozenset({ParticipantRole.LENDER}),
}
# Roles on a transaction that staff users (not contacts) hold.
STAFF_PARTICIPANT_ROLES = frozenset({ParticipantRole.CO_AGENT, ParticipantRole.COORDINATOR})
