"""Synthetic brokerages: the demo data people click through, and bulk data for benchmarks.

Everything is deterministic: a seeded ``Faker`` instance and a ``random.Random(seed)`` (never
the global random state) plus an explicit ``today`` produce the same rows every time.

Generation happens in two phases:

1. ``_plan`` decides *everything* in memory: staff, contacts, each transaction's fields and its
   time-ordered actions (created, participants added, dates/price set, stage changes).
2. An executor writes the plan:
   - ``_ServiceWriter`` calls the real services (create_transaction, add_participant,
     update_transaction, change_stage...), so every row and Event is the one the app itself would
     write; it then back-dates the timestamps to the plan's. Used for small brokerages (the demo).
   - ``_BulkWriter`` inserts the same rows with batched Core INSERTs, computing the Events the
     services would have recorded (same kinds, summaries and data). Used for large sizes.

Both writers produce identical rows for the same plan (tests compare their fingerprints).
"""

from __future__ import annotations

import logging
import math
import random
import re
import secrets
import time
from bisect import bisect_left
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from itertools import accumulate
from typing import Any
from zoneinfo import ZoneInfo

from faker import Faker
from sqlalchemy import insert
from sqlmodel import Session, col, select

from chronos.models import (
    Event,
    Organization,
    Participant,
    ParticipantRole,
    Person,
    PropertyType,
    Role,
    Side,
    Stage,
    Task,
    Transaction,
    User,
    utcnow,
)
from chronos.models.transaction import format_address
from chronos.services import auth, people, tasks, timeline
from chronos.services import transactions as txn_service
from chronos.services.errors import Conflict

# The services' own formatting helpers, so bulk Events read exactly like service-written ones.
from chronos.services.transactions import change_events, jsonable
from chronos.settings import get_settings

logger = logging.getLogger(__name__)

DEMO_ORG_NAME = "Harbor & Main Realty"
DEMO_ORG_SLUG = "harbor-main"
DEMO_SEED = 20260101
DEMO_TRANSACTIONS = 30
SECOND_ORG_NAME = "Summit Ridge Homes"
SECOND_ORG_SLUG = "summit-ridge"
SECOND_TRANSACTIONS = 8
# Up to this many transactions, generate_brokerage goes through the real services by default.
SERVICE_MODE_MAX = 200
_BATCH = 2000

# ---------------------------------------------------------------- reference data

# fmt: off
_STREETS = (
    "Main", "Oak", "Maple", "Elm", "Pine", "Cedar", "Washington", "Lake", "Hill", "Park",
    "Church", "High", "Walnut", "Chestnut", "Spring", "Franklin", "Highland", "Pleasant",
    "Lincoln", "Jefferson", "Madison", "Adams", "Summer", "Prospect", "Union", "Forest",
    "Ridge", "Sunset", "Meadow", "River", "Willow", "Birch", "Hawthorn", "Orchard", "Mill",
    "Water", "School", "Center", "Academy", "Harbor", "Bay", "Grove", "Laurel", "Magnolia",
)
# fmt: on
_SUFFIXES = ("St", "Ave", "Rd", "Dr", "Ln", "Ct", "Way", "Pl", "Blvd", "Ter", "Cir")
_SUFFIX_WEIGHTS = (30, 18, 14, 12, 8, 6, 4, 3, 2, 2, 1)
_PROPERTY_TYPES = (
    (PropertyType.SINGLE_FAMILY, 60, 1.0),
    (PropertyType.CONDO, 18, 0.68),
    (PropertyType.TOWNHOUSE, 12, 0.82),
    (PropertyType.MULTI_FAMILY, 6, 1.25),
    (PropertyType.LAND, 3, 0.45),
    (PropertyType.OTHER, 1, 0.9),
)
_CLIENT_ROLES = (ParticipantRole.BUYER, ParticipantRole.SELLER)
_CLIENT_DOMAINS = ("example.com", "example.net", "example.org")
_LISTING_CANCEL = (
    "Seller withdrew the listing",
    "Listing expired without an acceptable offer",
    "Seller decided to rent the property instead",
    "Seller switched brokerages",
)
_CONTRACT_CANCEL = (
    "Buyer's financing fell through",
    "Inspection issues could not be resolved",
    "Appraisal came in below the contract price",
    "Buyer walked away during attorney review",
    "Title defect could not be cured in time",
    "Buyer could not sell their current home",
)


@dataclass(frozen=True)
class Market:
    """A home market: where a brokerage's listings are (real cities and their ZIP codes)."""

    key: str
    state: str
    timezone: str
    area_codes: tuple[str, ...]
    price_factor: float
    attorney_share: float  # share of contracts with an attorney (attorney-closing states: high)
    cities: tuple[tuple[str, tuple[str, ...]], ...]


# fmt: off
MARKETS: dict[str, Market] = {
    m.key: m
    for m in (
        Market(
            "north-shore-ma", "MA", "America/New_York", ("978", "781", "617"), 1.45, 0.9,
            (
                ("Salem", ("01970",)), ("Marblehead", ("01945",)), ("Beverly", ("01915",)),
                ("Gloucester", ("01930",)), ("Swampscott", ("01907",)),
                ("Lynn", ("01901", "01902", "01904", "01905")), ("Peabody", ("01960",)),
                ("Danvers", ("01923",)), ("Newburyport", ("01950",)),
            ),
        ),
        Market(
            "austin-tx", "TX", "America/Chicago", ("512", "737"), 1.05, 0.1,
            (
                ("Austin", ("78701", "78702", "78703", "78704", "78723", "78731", "78745",
                            "78746", "78748", "78749", "78751", "78756", "78757", "78759")),
                ("Round Rock", ("78664", "78665", "78681")), ("Cedar Park", ("78613",)),
                ("Pflugerville", ("78660",)), ("Georgetown", ("78626", "78628")),
                ("Leander", ("78641",)), ("Buda", ("78610",)), ("Kyle", ("78640",)),
            ),
        ),
        Market(
            "front-range-co", "CO", "America/Denver", ("303", "720"), 1.2, 0.15,
            (
                ("Denver", ("80202", "80203", "80205", "80206", "80209", "80210", "80211",
                            "80212", "80218", "80220", "80224", "80230", "80238")),
                ("Aurora", ("80010", "80012", "80013", "80014", "80015", "80016")),
                ("Lakewood", ("80226", "80227", "80228", "80232")),
                ("Littleton", ("80120", "80121", "80122", "80123")),
                ("Arvada", ("80002", "80003", "80004", "80005")), ("Golden", ("80401", "80403")),
                ("Boulder", ("80301", "80302", "80303", "80304", "80305")),
            ),
        ),
        Market(
            "charlotte-nc", "NC", "America/New_York", ("704", "980"), 0.9, 0.85,
            (
                ("Charlotte", ("28202", "28203", "28204", "28205", "28207", "28209", "28210",
                               "28211", "28226", "28277")),
                ("Matthews", ("28104", "28105")), ("Huntersville", ("28078",)),
                ("Cornelius", ("28031",)), ("Concord", ("28025", "28027")),
                ("Mooresville", ("28115", "28117")),
            ),
        ),
        Market(
            "phoenix-az", "AZ", "America/Phoenix", ("480", "602", "623"), 0.95, 0.1,
            (
                ("Phoenix", ("85004", "85006", "85012", "85014", "85016", "85018", "85020",
                             "85028", "85032", "85048", "85050")),
                ("Scottsdale", ("85250", "85251", "85254", "85255", "85258", "85260")),
                ("Tempe", ("85281", "85282", "85283", "85284")),
                ("Mesa", ("85201", "85203", "85204", "85205", "85206")),
                ("Chandler", ("85224", "85225", "85226", "85286")),
                ("Gilbert", ("85233", "85234", "85295", "85296", "85297")),
            ),
        ),
        Market(
            "tampa-bay-fl", "FL", "America/New_York", ("813", "727"), 0.85, 0.3,
            (
                ("Tampa", ("33602", "33603", "33606", "33609", "33611", "33629", "33647")),
                ("St. Petersburg", ("33701", "33702", "33703", "33704", "33705", "33710")),
                ("Clearwater", ("33755", "33756", "33759", "33761", "33764", "33765")),
                ("Brandon", ("33510", "33511")), ("Largo", ("33770", "33771", "33773")),
                ("Wesley Chapel", ("33543", "33544")),
            ),
        ),
        Market(
            "eastside-wa", "WA", "America/Los_Angeles", ("206", "425"), 1.7, 0.1,
            (
                ("Seattle", ("98103", "98105", "98107", "98112", "98115", "98116", "98117",
                             "98118", "98122", "98125", "98144", "98199")),
                ("Bellevue", ("98004", "98005", "98006", "98007", "98008")),
                ("Kirkland", ("98033", "98034")), ("Redmond", ("98052", "98053")),
                ("Renton", ("98055", "98056", "98058", "98059")), ("Issaquah", ("98027", "98029")),
            ),
        ),
        Market(
            "atlanta-ga", "GA", "America/New_York", ("404", "678", "770"), 0.95, 0.9,
            (
                ("Atlanta", ("30305", "30306", "30307", "30308", "30309", "30312", "30316",
                             "30317", "30318", "30319", "30324", "30327", "30342")),
                ("Decatur", ("30030", "30032", "30033")),
                ("Marietta", ("30060", "30062", "30064", "30066", "30068")),
                ("Roswell", ("30075", "30076")), ("Alpharetta", ("30004", "30005", "30009")),
                ("Smyrna", ("30080", "30082")), ("Sandy Springs", ("30328", "30350")),
            ),
        ),
        Market(
            "nashville-tn", "TN", "America/Chicago", ("615", "629"), 1.0, 0.2,
            (
                ("Nashville", ("37203", "37204", "37205", "37206", "37208", "37209", "37211",
                               "37212", "37215", "37216", "37220")),
                ("Franklin", ("37064", "37067", "37069")), ("Brentwood", ("37027",)),
                ("Murfreesboro", ("37127", "37128", "37129", "37130")),
                ("Hendersonville", ("37075",)), ("Mount Juliet", ("37122",)),
            ),
        ),
        Market(
            "columbus-oh", "OH", "America/New_York", ("614", "380"), 0.8, 0.15,
            (
                ("Columbus", ("43201", "43202", "43206", "43209", "43211", "43214", "43215",
                              "43220", "43221", "43235")),
                ("Dublin", ("43016", "43017")), ("Westerville", ("43081", "43082")),
                ("Worthington", ("43085",)), ("Hilliard", ("43026",)),
                ("Grove City", ("43123",)),
            ),
        ),
    )
}
# fmt: on


# ---------------------------------------------------------------- public results


@dataclass(frozen=True)
class DemoLogin:
    role: str
    email: str
    password: str
    name: str
    org_name: str


@dataclass(frozen=True)
class GeneratedBrokerage:
    org_id: int
    name: str
    slug: str
    mode: str  # "services" | "bulk"
    users: int
    people: int
    transactions: int
    participants: int
    events: int
    seconds: float
    logins: tuple[DemoLogin, ...] = ()


# ---------------------------------------------------------------- the plan


@dataclass
class _StaffPlan:
    role: Role
    full_name: str
    email: str
    created_at: datetime
    login: bool  # signs in with the demo password


@dataclass
class _PersonPlan:
    first_name: str
    last_name: str
    email: str | None
    phone: str | None
    company: str
    notes: str
    created_at: datetime
    login_role: Role | None = None  # client/attorney/lender portal login (demo only)

    @property
    def full_name(self) -> str:
        return f"{self.first_name} {self.last_name}".strip()


@dataclass
class _Action:
    at: datetime
    kind: str  # "participant" | "update" | "stage"
    actor: int = -1  # staff index, decided after ordering
    role: ParticipantRole | None = None
    person: int | None = None  # person index
    staff: int | None = None  # staff index (coordinator)
    fields: dict[str, Any] = field(default_factory=dict)  # update: clean values
    stage: Stage | None = None
    reason: str = ""


@dataclass
class _TxnPlan:
    owner: int  # staff index
    side: Side
    initial_stage: Stage
    final_stage: Stage
    street: str
    unit: str
    city: str
    state: str
    postal_code: str
    property_type: PropertyType
    price_cents: int | None
    effective_date: date | None
    closing_date: date | None
    mls_number: str
    created_at: datetime
    actions: list[_Action] = field(default_factory=list)
    coordinator: int | None = None


@dataclass
class _Plan:
    name: str
    slug: str
    domain: str
    market: Market
    created_at: datetime
    staff: list[_StaffPlan]
    people: list[_PersonPlan]
    txns: list[_TxnPlan]
    logins: list[DemoLogin]


def slugify(text: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-")[:80] or "brokerage"


def _ascii(text: str) -> str:
    return re.sub(r"[^a-z0-9]", "", text.lower())


class _Weighted:
    """rng.choices with precomputed cumulative weights (fast for big pools)."""

    def __init__(self, items: Sequence[Any], weights: Iterable[float]) -> None:
        self.items = list(items)
        self.cum = list(accumulate(weights))

    def pick(self, rng: random.Random) -> Any:
        x = rng.random() * self.cum[-1]
        return self.items[min(bisect_left(self.cum, x), len(self.items) - 1)]


def _zipf(items: Sequence[Any], s: float = 0.9) -> _Weighted:
    """A few busy ones, a long tail: how business spreads over agents, lenders, attorneys."""
    return _Weighted(items, (1 / (i + 1) ** s for i in range(len(items))))


class _Planner:
    def __init__(
        self,
        *,
        seed: int,
        transactions: int,
        name: str | None,
        slug: str | None,
        today: date,
        with_logins: bool,
        market: str | None,
        demo_roles: Sequence[Role],
    ) -> None:
        self.rng = random.Random(seed)
        self.fake = Faker("en_US")
        self.fake.seed_instance(seed)
        self.n = transactions
        self.today = today
        self.with_logins = with_logins
        self.demo_roles = tuple(demo_roles)
        self.market = MARKETS[market] if market else self.rng.choice(list(MARKETS.values()))
        self.tz = ZoneInfo(self.market.timezone)
        self.name = name or self._brokerage_name()
        self.slug = slug or slugify(self.name)
        self.domain = f"{_ascii(self.slug)}.example"
        self.staff: list[_StaffPlan] = []
        self.people: list[_PersonPlan] = []
        self.txns: list[_TxnPlan] = []
        self.logins: list[DemoLogin] = []
        self.emails: set[str] = set()
        self.clients: list[int] = []
        self.city_pick = _zipf(self.market.cities, 0.7)
        self.ptype_pick = _Weighted(_PROPERTY_TYPES, (w for _, w, _ in _PROPERTY_TYPES))
        self.suffix_pick = _Weighted(_SUFFIXES, _SUFFIX_WEIGHTS)
        # The brokerage has existed for a while before the oldest file.
        self.start = today - timedelta(days=1000)

    # ------------------------------------------------------------ helpers

    def _brokerage_name(self) -> str:
        a, b = self.fake.last_name(), self.fake.last_name()
        return self.rng.choice(
            (f"{a} & {b} Realty", f"{a} Real Estate Group", f"{a} {b} Properties", f"{a} Homes")
        )

    def at(self, day: date, lo: int = 8, hi: int = 18) -> datetime:
        """A business-hours moment of ``day`` in the market's time zone, as aware UTC."""
        local = datetime(
            day.year,
            day.month,
            day.day,
            self.rng.randint(lo, hi),
            self.rng.randint(0, 59),
            self.rng.randint(0, 59),
            tzinfo=self.tz,
        )
        return local.astimezone(UTC)

    def phone(self) -> str:
        # 555-0100..0199 is reserved for fiction: realistic, never someone's real number.
        area = self.rng.choice(self.market.area_codes)
        return f"+1{area}55501{self.rng.randint(0, 99):02d}"

    def unique_email(self, local: str, domain: str) -> str:
        local = local.strip(".") or "contact"
        email = f"{local}@{domain}"
        n = 2
        while email in self.emails:
            email = f"{local}{n}@{domain}"
            n += 1
        self.emails.add(email)
        return email

    def name_pair(self) -> tuple[str, str]:
        return self.fake.first_name(), self.fake.last_name()

    # ------------------------------------------------------------ staff and contacts

    def plan_staff(self) -> None:
        agents = max(3, round(self.n / 35))
        coordinators = max(1, round(agents / 5))
        admins = max(1, round(agents / 40))
        settings_password = get_settings().demo_password
        for role, count in (
            (Role.ADMIN, admins),
            (Role.AGENT, agents),
            (Role.COORDINATOR, coordinators),
        ):
            for i in range(count):
                first, last = self.name_pair()
                if i == 0 and role in self.demo_roles:
                    email = self.unique_email(role.value, self.domain)
                    self.logins.append(
                        DemoLogin(
                            role.value, email, settings_password, f"{first} {last}", self.name
                        )
                    )
                    login = True
                else:
                    email = self.unique_email(f"{_ascii(first)}.{_ascii(last)}", self.domain)
                    login = self.with_logins
                joined = self.start + timedelta(
                    days=self.rng.randint(0, 30) if i == 0 else self.rng.randint(0, 700)
                )
                self.staff.append(
                    _StaffPlan(role, f"{first} {last}", email, self.at(joined), login)
                )
        self.admins = [i for i, s in enumerate(self.staff) if s.role is Role.ADMIN]
        self.agents = [i for i, s in enumerate(self.staff) if s.role is Role.AGENT]
        self.coordinators = [i for i, s in enumerate(self.staff) if s.role is Role.COORDINATOR]
        # Owners: agents with a long tail of production; the broker-owner (admin 0) lists a few.
        self.owner_pick = _Weighted(
            [*self.agents, self.admins[0]], [*(1 / (i + 1) ** 0.6 for i in range(agents)), 0.3]
        )
        self.coordinator_pick = _zipf(self.coordinators, 0.5)

    def _pro_pool(self, count: int, company_names: Sequence[str], notes: str) -> list[int]:
        pool: list[int] = []
        company, domain, left = "", "", 0
        for _ in range(count):
            if left == 0:
                a, b = self.fake.last_name(), self.fake.last_name()
                company = self.rng.choice(company_names).format(
                    a=a, b=b, city=self.market.cities[0][0]
                )
                domain = f"{_ascii(company)[:30]}.example"
                left = self.rng.randint(1, 4)
            left -= 1
            first, last = self.name_pair()
            email = self.unique_email(f"{_ascii(first)[:1]}{_ascii(last)}", domain)
            created = self.at(self.start + timedelta(days=self.rng.randint(0, 900)))
            pool.append(len(self.people))
            self.people.append(
                _PersonPlan(first, last, email, self.phone(), company, notes, created)
            )
        return pool

    def plan_pros(self) -> None:
        n = self.n
        self.attorneys = self._pro_pool(
            max(3, round(n * 0.04)),
            ("{a} & {b} LLP", "Law Office of {a}", "{a} Real Estate Law", "{a}, {b} & Partners"),
            "Real-estate attorney.",
        )
        self.lenders = self._pro_pool(
            max(3, round(n * 0.05)),
            (
                "{city} Savings Bank",
                "{a} Mortgage",
                "First {a} Home Lending",
                "{a} & {b} Mortgage Co.",
            ),
            "Loan officer.",
        )
        self.titles = self._pro_pool(
            max(2, round(n * 0.03)),
            ("{a} Title & Escrow", "{city} Title Company", "{a} Settlement Services"),
            "Title / escrow officer.",
        )
        self.inspectors = self._pro_pool(
            max(2, round(n * 0.03)),
            ("{a} Home Inspections", "{a} Property Inspection", "Keystone Inspection Group"),
            "Home inspector.",
        )
        self.coop_agents = self._pro_pool(
            max(3, round(n * 0.12)),
            ("{a} Realty", "{a} & {b} Real Estate", "{city} Home Team", "{a} Properties"),
            "Agent at another brokerage (the other side of our deals).",
        )
        self.pick_attorney = _zipf(self.attorneys)
        self.pick_lender = _zipf(self.lenders)
        self.pick_title = _zipf(self.titles)
        self.pick_inspector = _zipf(self.inspectors)
        self.pick_coop = _zipf(self.coop_agents, 0.5)

    def new_client(self, created: datetime, last_name: str | None = None) -> int:
        first, last = self.name_pair()
        last = last_name or last
        style = self.rng.random()
        a, b = _ascii(first), _ascii(last)
        local = (
            f"{a}.{b}"
            if style < 0.5
            else (f"{a[:1]}{b}" if style < 0.8 else f"{a}{b}{self.rng.randint(1, 99)}")
        )
        email = (
            self.unique_email(local, self.rng.choice(_CLIENT_DOMAINS))
            if self.rng.random() < 0.93
            else None
        )
        phone = self.phone() if self.rng.random() < 0.85 else None
        self.people.append(_PersonPlan(first, last, email, phone, "", "", created))
        self.clients.append(len(self.people) - 1)
        return len(self.people) - 1

    def client_group(self, created: datetime) -> list[int]:
        """One client or a couple; now and then a past client coming back."""
        if self.clients and self.rng.random() < 0.04:
            return [self.rng.choice(self.clients)]
        first = self.new_client(created)
        if self.rng.random() < 0.6:
            shared = self.people[first].last_name if self.rng.random() < 0.7 else None
            return [first, self.new_client(created, shared)]
        return [first]

    # ------------------------------------------------------------ transactions

    def price(self, factor: float) -> int:
        raw = math.exp(self.rng.gauss(math.log(430_000 * self.market.price_factor * factor), 0.5))
        dollars = min(2_500_000.0, max(150_000.0, raw))
        if dollars < 1_000_000:
            whole = round(dollars / 1000) * 1000
            if self.rng.random() < 0.45:
                whole -= 100  # $449,900
        else:
            whole = round(dollars / 25_000) * 25_000
        return max(150_000, min(2_500_000, whole)) * 100

    def address(self, ptype: PropertyType) -> tuple[str, str, str, str]:
        city, zips = self.city_pick.pick(self.rng)
        street_name = (
            self.rng.choice(_STREETS) if self.rng.random() < 0.65 else self.fake.last_name()
        )
        number = (
            self.rng.randint(1, 300) if self.rng.random() < 0.5 else self.rng.randint(100, 9999)
        )
        street = f"{number} {street_name} {self.suffix_pick.pick(self.rng)}"
        unit = ""
        if ptype is PropertyType.CONDO:
            unit = self.rng.choice(
                (
                    f"Unit {self.rng.randint(1, 12)}{self.rng.choice('ABCD')}",
                    f"#{self.rng.randint(1, 9)}0{self.rng.randint(1, 9)}",
                )
            )
        elif ptype is PropertyType.TOWNHOUSE and self.rng.random() < 0.5:
            unit = f"Unit {self.rng.randint(1, 40)}"
        return street, unit, city, self.rng.choice(zips)

    def mls(self) -> str:
        return f"{self.rng.randint(1, 9)}{self.rng.randint(0, 9_999_999):07d}"

    def choose_shape(self) -> tuple[Side, Stage, Stage | None]:
        """(side, final stage, stage it was cancelled from)."""
        r = self.rng.random()
        side = Side.SELLER if r < 0.46 else (Side.BUYER if r < 0.91 else Side.DUAL)
        r = self.rng.random()
        stages: tuple[tuple[Stage, float], ...]
        if side is Side.BUYER:
            stages = (
                (Stage.CLOSED, 0.62),
                (Stage.UNDER_CONTRACT, 0.2),
                (Stage.CLEAR_TO_CLOSE, 0.08),
                (Stage.CANCELLED, 0.1),
            )
        else:
            stages = (
                (Stage.CLOSED, 0.5),
                (Stage.ACTIVE_LISTING, 0.16),
                (Stage.PRE_LISTING, 0.06),
                (Stage.UNDER_CONTRACT, 0.1),
                (Stage.CLEAR_TO_CLOSE, 0.05),
                (Stage.CANCELLED, 0.13),
            )
        acc = 0.0
        final = stages[-1][0]
        for stage, p in stages:
            acc += p
            if r < acc:
                final = stage
                break
        cancelled_from = None
        if final is Stage.CANCELLED:
            options = (
                ((Stage.UNDER_CONTRACT, 85), (Stage.CLEAR_TO_CLOSE, 15))
                if side is Side.BUYER
                else (
                    (Stage.PRE_LISTING, 10),
                    (Stage.ACTIVE_LISTING, 50),
                    (Stage.UNDER_CONTRACT, 33),
                    (Stage.CLEAR_TO_CLOSE, 7),
                )
            )
            cancelled_from = _Weighted([s for s, _ in options], [w for _, w in options]).pick(
                self.rng
            )
        return side, final, cancelled_from

    def plan_transaction(
        self, owner: int, side: Side, final: Stage, cancelled_from: Stage | None
    ) -> _TxnPlan:
        rng = self.rng
        today = self.today
        ptype = self.ptype_pick.pick(rng)[0]
        factor = next(f for p, _, f in _PROPERTY_TYPES if p is ptype)
        street, unit, city, zipcode = self.address(ptype)
        reached = cancelled_from or final  # the furthest stage before (any) cancellation
        # "now" of the file: today, or the day it fell through.
        anchor = (
            today - timedelta(days=int(1 + 420 * rng.random() ** 1.4)) if cancelled_from else today
        )
        order = [
            Stage.PRE_LISTING,
            Stage.ACTIVE_LISTING,
            Stage.UNDER_CONTRACT,
            Stage.CLEAR_TO_CLOSE,
            Stage.CLOSED,
        ]
        depth = order.index(reached)
        effective = closing = None
        days: dict[Stage, date] = {}
        if depth >= 2:  # went under contract
            if reached is Stage.CLOSED:
                closing = anchor - timedelta(days=int(2 + 900 * rng.random() ** 1.3))
                effective = closing - timedelta(days=rng.randint(21, 60))
                days[Stage.CLOSED] = closing
            elif reached is Stage.CLEAR_TO_CLOSE:
                closing = anchor + timedelta(days=rng.randint(1, 10))
                effective = closing - timedelta(days=rng.randint(28, 50))
            else:
                effective = anchor - timedelta(days=rng.randint(1, 25))
                closing = anchor + timedelta(days=rng.randint(14, 42))
            days[Stage.UNDER_CONTRACT] = effective
            if depth >= 3 and (reached is not Stage.CLOSED or rng.random() < 0.85):
                if reached is Stage.CLOSED:
                    days[Stage.CLEAR_TO_CLOSE] = closing - timedelta(days=rng.randint(2, 8))
                else:
                    span = max(1, min(10, (anchor - effective).days - 1))
                    days[Stage.CLEAR_TO_CLOSE] = anchor - timedelta(days=rng.randint(1, span))
                    days[Stage.CLEAR_TO_CLOSE] = max(
                        days[Stage.CLEAR_TO_CLOSE], effective + timedelta(days=1)
                    )
            listed_before = effective
        else:
            listed_before = anchor
        if side is not Side.BUYER:
            if depth >= 1:
                dom = min(240, int(rng.expovariate(1 / 28)) + 3)
                days[Stage.ACTIVE_LISTING] = listed_before - timedelta(days=dom)
                if depth == 1 and not cancelled_from:
                    days[Stage.ACTIVE_LISTING] = anchor - timedelta(
                        days=rng.randint(1, min(120, dom + 1))
                    )
                if rng.random() < 0.6 or reached is Stage.PRE_LISTING:
                    days[Stage.PRE_LISTING] = days[Stage.ACTIVE_LISTING] - timedelta(
                        days=rng.randint(5, 30)
                    )
            else:
                days[Stage.PRE_LISTING] = anchor - timedelta(days=rng.randint(1, 30))
        stages_hit = [s for s in order if s in days]
        initial = stages_hit[0]
        created_day = days[initial]
        created = self.at(created_day)
        if cancelled_from:
            days[Stage.CANCELLED] = max(anchor, days[stages_hit[-1]] + timedelta(days=1))

        list_price = self.price(factor)
        contract_price = list_price
        if side is not Side.BUYER and depth >= 2:
            contract_price = round(list_price * rng.uniform(0.95, 1.04) / 50_000) * 50_000
            contract_price = max(150_000_00, min(2_500_000_00, contract_price))
        plan = _TxnPlan(
            owner=owner,
            side=side,
            initial_stage=initial,
            final_stage=final,
            street=street,
            unit=unit,
            city=city,
            state=self.market.state,
            postal_code=zipcode,
            property_type=ptype,
            price_cents=None,
            effective_date=None,
            closing_date=None,
            mls_number="",
            created_at=created,
        )
        if initial is Stage.UNDER_CONTRACT:  # buyer side: opened at the accepted offer
            plan.price_cents, plan.effective_date, plan.closing_date = (
                contract_price,
                effective,
                closing,
            )
            plan.mls_number = self.mls() if rng.random() < 0.75 else ""
        elif initial is Stage.ACTIVE_LISTING:
            plan.price_cents, plan.mls_number = list_price, self.mls()
        elif rng.random() < 0.5:
            plan.price_cents = list_price  # pre-listing with a price already agreed

        actions: list[_Action] = []
        last_day = days.get(Stage.CANCELLED) or days[stages_hit[-1]]
        if final not in (Stage.CLOSED, Stage.CANCELLED):
            last_day = today - timedelta(days=1)

        def stage_at(stage: Stage, day: date, lo: int = 9, hi: int = 17) -> datetime:
            return max(self.at(day, lo, hi), created + timedelta(minutes=rng.randint(20, 240)))

        def after(day: date) -> datetime:
            day = min(max(day, created_day), max(created_day, last_day))
            return max(self.at(day), created + timedelta(minutes=rng.randint(3, 90)))

        # Clients.
        first_role = ParticipantRole.BUYER if side is Side.BUYER else ParticipantRole.SELLER
        actions.extend(
            _Action(
                created + timedelta(minutes=rng.randint(2, 30)),
                "participant",
                role=first_role,
                person=person,
            )
            for person in self.client_group(created)
        )
        # Stage moves along the path.
        for stage in stages_hit[1:]:
            day = days[stage]
            if stage is Stage.ACTIVE_LISTING:
                t = stage_at(stage, day)
                upd: dict[str, Any] = {"mls_number": self.mls()}
                if plan.price_cents is None:
                    upd["price_cents"] = list_price
                actions.append(_Action(t, "update", fields=upd))
                actions.append(
                    _Action(t + timedelta(minutes=rng.randint(1, 5)), "stage", stage=stage)
                )
            elif stage is Stage.UNDER_CONTRACT:
                t = stage_at(stage, day)
                upd = {"effective_date": effective, "closing_date": closing}
                if contract_price != list_price:
                    upd["price_cents"] = contract_price
                actions.append(_Action(t, "update", fields=upd))
                actions.append(
                    _Action(t + timedelta(minutes=rng.randint(1, 5)), "stage", stage=stage)
                )
                if side is Side.DUAL:
                    actions.extend(
                        _Action(
                            t + timedelta(minutes=rng.randint(6, 60)),
                            "participant",
                            role=ParticipantRole.BUYER,
                            person=person,
                        )
                        for person in self.client_group(t)
                    )
            elif stage is Stage.CLOSED:
                actions.append(_Action(stage_at(stage, day, 14, 19), "stage", stage=stage))
            else:
                actions.append(_Action(stage_at(stage, day), "stage", stage=stage))
        if cancelled_from:
            reasons = _CONTRACT_CANCEL if depth >= 2 else _LISTING_CANCEL
            actions.append(
                _Action(
                    stage_at(Stage.CANCELLED, days[Stage.CANCELLED]),
                    "stage",
                    stage=Stage.CANCELLED,
                    reason=rng.choice(reasons),
                )
            )

        # Staff and pros.
        if depth >= 2 and effective is not None:
            ctc = effective
            is_buying = side is not Side.SELLER
            # (applies, probability, role, picker, day range after acceptance or None for day 0).
            # Checked in this order so a seed always draws the same random numbers.
            pros = (
                (
                    True,
                    self.market.attorney_share,
                    ParticipantRole.ATTORNEY,
                    self.pick_attorney,
                    (0, 2),
                ),
                (is_buying, 0.78, ParticipantRole.LENDER, self.pick_lender, (0, 3)),
                (True, 0.85, ParticipantRole.TITLE, self.pick_title, (1, 4)),
                (is_buying, 0.65, ParticipantRole.INSPECTOR, self.pick_inspector, (1, 5)),
                (
                    side is not Side.DUAL,
                    0.7,
                    ParticipantRole.COOPERATING_AGENT,
                    self.pick_coop,
                    None,
                ),
            )
            for applies, probability, role, picker, offset in pros:
                if applies and rng.random() < probability:
                    day = ctc + timedelta(days=rng.randint(*offset)) if offset else ctc
                    actions.append(
                        _Action(after(day), "participant", role=role, person=picker.pick(rng))
                    )
        if rng.random() < (0.5 if depth >= 2 else 0.15):
            plan.coordinator = self.coordinator_pick.pick(rng)
            day = effective if (effective and side is not Side.BUYER) else created_day
            actions.append(
                _Action(
                    after(day),
                    "participant",
                    role=ParticipantRole.COORDINATOR,
                    staff=plan.coordinator,
                )
            )
        plan.actions = actions
        return plan

    def finish(self, plan: _TxnPlan) -> None:
        """Order actions in time and decide who performs each (owner, or the assigned TC)."""
        plan.actions.sort(key=lambda a: a.at)
        assigned = False
        for action in plan.actions:
            if action.role is ParticipantRole.COORDINATOR:
                action.actor = plan.owner
                assigned = True
            elif (
                assigned
                and plan.coordinator is not None
                and (
                    (action.kind == "participant" and action.role not in _CLIENT_ROLES)
                    or action.stage in (Stage.CLEAR_TO_CLOSE, Stage.CLOSED)
                )
            ):
                action.actor = plan.coordinator
            else:
                action.actor = plan.owner
        self.txns.append(plan)

    # ------------------------------------------------------------ demo logins

    def demo_portal(self) -> None:
        """Make the demo's client/attorney/lender logins part of the demo agent's files."""
        agent = self.agents[0]
        coordinator = self.coordinators[0]
        mine = [t for t in self.txns if t.owner == agent]
        password = get_settings().demo_password

        def login_person(idx: int, role: Role) -> None:
            p = self.people[idx]
            self.emails.discard(p.email or "")
            p.email = self.unique_email(role.value, self.domain)
            p.login_role = role
            self.logins.append(DemoLogin(role.value, p.email, password, p.full_name, self.name))

        if Role.CLIENT in self.demo_roles:
            # The client sold their old home with us (closed) and is buying the next (open).
            sold = next(t for t in mine if t.side is Side.SELLER and t.final_stage is Stage.CLOSED)
            buying = next(
                t for t in mine if t.side is Side.BUYER and t.final_stage is Stage.UNDER_CONTRACT
            )
            client = next(a.person for a in sold.actions if a.role is ParticipantRole.SELLER)
            assert client is not None
            for a in buying.actions:
                if a.role is ParticipantRole.BUYER:
                    a.person = client
                    break
            # Drop a co-buyer who would duplicate the same person.
            buying.actions = [
                a
                for i, a in enumerate(buying.actions)
                if not (
                    a.role is ParticipantRole.BUYER
                    and a.person == client
                    and any(
                        b.role is ParticipantRole.BUYER and b.person == client
                        for b in buying.actions[:i]
                    )
                )
            ]
            login_person(client, Role.CLIENT)
        for role, prole, pool in (
            (Role.ATTORNEY, ParticipantRole.ATTORNEY, self.attorneys),
            (Role.LENDER, ParticipantRole.LENDER, self.lenders),
        ):
            if role not in self.demo_roles:
                continue
            who = pool[0]
            # The agent's open purchases always have both, so the portal is never empty.
            for t in mine:
                if (
                    t.side is Side.BUYER
                    and t.final_stage in (Stage.UNDER_CONTRACT, Stage.CLEAR_TO_CLOSE)
                    and not any(a.role is prole for a in t.actions)
                ):
                    t.actions.append(
                        _Action(
                            t.created_at + timedelta(minutes=self.rng.randint(60, 300)),
                            "participant",
                            actor=t.owner,
                            role=prole,
                            person=who,
                        )
                    )
                    t.actions.sort(key=lambda a: a.at)
            for t in mine:
                for a in t.actions:
                    if a.role is prole:
                        a.person = who
            login_person(who, role)
        # The demo coordinator runs most of the demo agent's files.
        for t in mine:
            if t.coordinator is not None:
                for a in t.actions:
                    if a.staff == t.coordinator:
                        a.staff = coordinator
                    if a.actor == t.coordinator:
                        a.actor = coordinator
                t.coordinator = coordinator

    def build(self) -> _Plan:
        self.plan_staff()
        self.plan_pros()
        demo = bool(self.demo_roles) and Role.AGENT in self.demo_roles
        forced: list[tuple[Side, Stage, Stage | None]] = []
        if demo:
            forced = [
                (Side.SELLER, Stage.CLOSED, None),
                (Side.BUYER, Stage.UNDER_CONTRACT, None),
                (Side.SELLER, Stage.ACTIVE_LISTING, None),
                (Side.BUYER, Stage.CLEAR_TO_CLOSE, None),
                (Side.DUAL, Stage.UNDER_CONTRACT, None),
                (Side.SELLER, Stage.PRE_LISTING, None),
                (Side.BUYER, Stage.CLOSED, None),
                (Side.SELLER, Stage.CANCELLED, Stage.UNDER_CONTRACT),
            ]
        for i in range(self.n):
            if i < len(forced):
                owner, shape = self.agents[0], forced[i]
            else:
                owner = (
                    self.agents[0]
                    if demo and self.rng.random() < 0.3
                    else self.owner_pick.pick(self.rng)
                )
                shape = self.choose_shape()
            plan = self.plan_transaction(owner, *shape)
            if (
                demo
                and owner == self.agents[0]
                and plan.coordinator is None
                and plan.final_stage not in (Stage.PRE_LISTING, Stage.ACTIVE_LISTING)
            ):
                plan.coordinator = self.coordinators[0]
                first_day = plan.created_at + timedelta(minutes=self.rng.randint(40, 180))
                plan.actions.append(
                    _Action(
                        first_day,
                        "participant",
                        role=ParticipantRole.COORDINATOR,
                        staff=plan.coordinator,
                    )
                )
            self.finish(plan)
        if demo:
            self.demo_portal()
        # Most recent files first in id order would be odd; keep creation order like real life.
        order = sorted(range(len(self.txns)), key=lambda i: self.txns[i].created_at)
        txns = [self.txns[i] for i in order]
        earliest = min([s.created_at for s in self.staff] + [t.created_at for t in txns])
        return _Plan(
            name=self.name,
            slug=self.slug,
            domain=self.domain,
            market=self.market,
            created_at=earliest - timedelta(days=3),
            staff=self.staff,
            people=self.people,
            txns=txns,
            logins=self.logins,
        )


def _plan(
    *,
    seed: int,
    transactions: int,
    name: str | None,
    slug: str | None,
    today: date,
    with_logins: bool,
    market: str | None = None,
    demo_roles: Sequence[Role] = (),
) -> _Plan:
    return _Planner(
        seed=seed,
        transactions=transactions,
        name=name,
        slug=slug,
        today=today,
        with_logins=with_logins,
        market=market,
        demo_roles=demo_roles,
    ).build()


# ---------------------------------------------------------------- writers


_UPDATE_ORDER = ("effective_date", "closing_date", "mls_number", "price_cents")


def _price_input(cents: int) -> str:
    return f"{cents // 100}.{cents % 100:02d}"


class _ServiceWriter:
    """Writes a plan through the real services, then back-dates timestamps to the plan's."""

    mode = "services"

    def __init__(self, db: Session, plan: _Plan) -> None:
        self.db = db
        self.plan = plan
        self.users: list[User] = []
        self.person_ids: list[int] = []
        self.counts = {"participants": 0, "events": 0}
        self.started = utcnow()

    def write(self) -> Organization:
        db, plan = self.db, self.plan
        org = auth.create_organization(db, name=plan.name, slug=plan.slug)
        org.timezone = plan.market.timezone
        org.created_at = plan.created_at
        db.add(org)
        assert org.id is not None
        password = get_settings().demo_password
        for s in plan.staff:
            user = auth.create_user(
                db,
                org_id=org.id,
                email=s.email,
                full_name=s.full_name,
                role=s.role,
                password=password if s.login else secrets.token_urlsafe(18),
            )
            user.created_at = user.email_verified_at = s.created_at
            self.users.append(user)
        admin = self.users[0]
        for p in plan.people:
            person = people.create_person(
                db,
                admin,
                {
                    "first_name": p.first_name,
                    "last_name": p.last_name,
                    "email": p.email,
                    "phone": p.phone,
                    "company": p.company,
                    "notes": p.notes,
                },
            )
            person.created_at = person.updated_at = p.created_at
            assert person.id is not None
            self.person_ids.append(person.id)
        for p in plan.people:
            if p.login_role is not None:
                assert p.email is not None
                user = auth.create_user(
                    db,
                    org_id=org.id,
                    email=p.email,
                    full_name=p.full_name,
                    role=p.login_role,
                    password=password,
                )
                user.created_at = user.email_verified_at = p.created_at
        db.flush()
        for t in plan.txns:
            self._write_txn(t)
        db.flush()
        return org

    def _write_txn(self, t: _TxnPlan) -> None:
        db = self.db
        owner = self.users[t.owner]
        data: dict[str, Any] = {
            "side": t.side.value,
            "stage": t.initial_stage.value,
            "street": t.street,
            "unit": t.unit,
            "city": t.city,
            "state": t.state,
            "postal_code": t.postal_code,
            "property_type": t.property_type.value,
            "mls_number": t.mls_number,
            "effective_date": t.effective_date,
            "closing_date": t.closing_date,
            "price": _price_input(t.price_cents) if t.price_cents is not None else None,
        }
        txn = txn_service.create_transaction(db, owner, data)
        assert txn.id is not None
        last_event = self._stamp(txn.id, 0, t.created_at)
        stage_changed = t.created_at
        for a in t.actions:
            actor = self.users[a.actor]
            if a.kind == "participant":
                assert a.role is not None
                part = txn_service.add_participant(
                    db,
                    actor,
                    txn.id,
                    role=a.role.value,
                    person_id=self.person_ids[a.person] if a.person is not None else None,
                    user_id=self.users[a.staff].id if a.staff is not None else None,
                )
                part.created_at = a.at
                db.add(part)
                self.counts["participants"] += 1
            elif a.kind == "update":
                fields = {
                    ("price" if k == "price_cents" else k): (
                        _price_input(v) if k == "price_cents" else v
                    )
                    for k, v in a.fields.items()
                }
                txn_service.update_transaction(db, actor, txn.id, fields)
            else:
                assert a.stage is not None
                if (
                    a.stage is Stage.CLOSED
                    and txn.closing_date
                    and txn.closing_date > utcnow().date()
                ):
                    # ``today`` is ahead of the clock: the service (rightly) refuses to close a
                    # file whose closing date is in the future, so record the same change here.
                    _close_by_hand(db, actor, txn)
                else:
                    txn_service.change_stage(db, actor, txn.id, a.stage, reason=a.reason)
                stage_changed = a.at
            db.flush()
            last_event = self._stamp(txn.id, last_event, a.at)
        txn.created_at = t.created_at
        txn.updated_at = t.actions[-1].at if t.actions else t.created_at
        txn.stage_changed_at = stage_changed
        db.add(txn)

    def _stamp(self, txn_id: int, after_id: int, at: datetime) -> int:
        """Back-date what the last service call recorded (Events, tasks it created or moved);
        return the newest event id."""
        self.db.flush()
        events = self.db.exec(
            select(Event).where(Event.transaction_id == txn_id, col(Event.id) > after_id)
        ).all()
        for e in events:
            e.created_at = at
            self.db.add(e)
        for task in self.db.exec(
            select(Task).where(Task.transaction_id == txn_id, col(Task.updated_at) >= self.started)
        ).all():
            if task.created_at >= self.started:
                task.created_at = at
            task.updated_at = at
            self.db.add(task)
        self.counts["events"] += len(events)
        return max([after_id, *(e.id or 0 for e in events)])


def _close_by_hand(db: Session, actor: User, txn: Transaction) -> None:
    current = Stage(txn.stage)
    txn.stage = Stage.CLOSED.value
    txn.cancel_reason = ""
    txn.stage_changed_at = txn.updated_at = utcnow()
    db.add(txn)
    timeline.record(
        db,
        actor=actor,
        txn=txn,
        kind="stage_changed",
        summary=f"Stage changed: {current.label} → {Stage.CLOSED.label}",
        data={"from": current.value, "to": Stage.CLOSED.value, "reason": ""},
    )


class _BulkWriter:
    """Writes a plan with batched INSERTs, keeping every invariant the services keep:
    org_id on every row, an Event for every change (same kind/summary/data), valid enums."""

    mode = "bulk"

    def __init__(self, db: Session, plan: _Plan) -> None:
        self.db = db
        self.plan = plan
        self.counts = {"participants": 0, "events": 0}

    def _insert(self, model: Any, rows: list[dict[str, Any]], *, ids: bool) -> list[int]:
        table = model.__table__
        out: list[int] = []
        for i in range(0, len(rows), _BATCH):
            batch = rows[i : i + _BATCH]
            if ids:
                stmt = insert(table).returning(table.c.id, sort_by_parameter_order=True)
                out.extend(r[0] for r in self.db.execute(stmt, batch))
            else:
                self.db.execute(insert(table), batch)
        return out

    def write(self) -> Organization:
        db, plan = self.db, self.plan
        org = auth.create_organization(db, name=plan.name, slug=plan.slug)
        org.timezone = plan.market.timezone
        org.created_at = plan.created_at
        db.add(org)
        db.flush()
        org_id = org.id
        assert org_id is not None
        settings = get_settings()
        login_hash = auth.hash_password(settings.demo_password)
        locked_hash = auth.hash_password(secrets.token_urlsafe(18))  # nobody knows it
        user_rows = [
            {
                "org_id": org_id,
                "email": s.email,
                "full_name": s.full_name,
                "role": s.role.value,
                "password_hash": login_hash if s.login else locked_hash,
                "is_active": True,
                "created_at": s.created_at,
                "email_verified_at": s.created_at,
                "last_login_at": None,
            }
            for s in plan.staff
        ]
        login_people = [i for i, p in enumerate(plan.people) if p.login_role is not None]
        user_rows += [
            {
                "org_id": org_id,
                "email": plan.people[i].email,
                "full_name": plan.people[i].full_name,
                "role": plan.people[i].login_role.value,  # type: ignore[union-attr]
                "password_hash": login_hash,
                "is_active": True,
                "created_at": plan.people[i].created_at,
                "email_verified_at": plan.people[i].created_at,
                "last_login_at": None,
            }
            for i in login_people
        ]
        user_ids = self._insert(User, user_rows, ids=True)
        staff_ids = user_ids[: len(plan.staff)]
        person_user = dict(zip(login_people, user_ids[len(plan.staff) :], strict=True))
        person_ids = self._insert(
            Person,
            [
                {
                    "org_id": org_id,
                    "first_name": p.first_name,
                    "last_name": p.last_name,
                    "email": p.email,
                    "phone": p.phone,
                    "company": p.company,
                    "notes": p.notes,
                    "user_id": person_user.get(i),
                    "created_at": p.created_at,
                    "updated_at": p.created_at,
                }
                for i, p in enumerate(plan.people)
            ],
            ids=True,
        )
        names = {
            **{("p", i): p.full_name for i, p in enumerate(plan.people)},
            **{("s", i): s.full_name for i, s in enumerate(plan.staff)},
        }

        txn_rows: list[dict[str, Any]] = []
        for t in plan.txns:
            state: dict[str, Any] = {
                "org_id": org_id,
                "owner_id": staff_ids[t.owner],
                "side": t.side.value,
                "stage": t.initial_stage.value,
                "street": t.street,
                "unit": t.unit,
                "city": t.city,
                "state": t.state,
                "postal_code": t.postal_code,
                "property_type": t.property_type.value,
                "price_cents": t.price_cents,
                "effective_date": t.effective_date,
                "closing_date": t.closing_date,
                "mls_number": t.mls_number,
                "cancel_reason": "",
                "created_at": t.created_at,
                "updated_at": t.created_at,
                "stage_changed_at": t.created_at,
            }
            for a in t.actions:
                if a.kind == "update":
                    state.update(a.fields)
                elif a.kind == "stage":
                    assert a.stage is not None
                    state["stage"] = a.stage.value
                    state["cancel_reason"] = a.reason if a.stage is Stage.CANCELLED else ""
                    state["stage_changed_at"] = a.at
            state["updated_at"] = t.actions[-1].at if t.actions else t.created_at
            txn_rows.append(state)
        txn_ids = self._insert(Transaction, txn_rows, ids=True)
        templates = tasks.ensure_default_templates(db, org_id)

        part_rows: list[dict[str, Any]] = []
        event_rows: list[dict[str, Any]] = []
        # Task rows name their participant by (-1 - index into part_rows) until ids exist.
        task_rows: list[dict[str, Any]] = []
        for t, txn_id in zip(plan.txns, txn_ids, strict=True):

            def event(
                at: datetime,
                actor: int,
                kind: str,
                summary: str,
                data: dict[str, Any],
                txn_id: int = txn_id,
            ) -> None:
                event_rows.append(
                    {
                        "org_id": org_id,
                        "transaction_id": txn_id,
                        "actor_id": staff_ids[actor],
                        "kind": kind,
                        "summary": summary[:500],
                        "data": data,
                        "created_at": at,
                    }
                )

            address = format_address(t.street, t.unit, t.city, t.state, t.postal_code)
            event(
                t.created_at,
                t.owner,
                "transaction_created",
                f"Transaction opened: {address} ({t.side.label}, {t.initial_stage.label})",
                {"stage": t.initial_stage.value, "side": t.side.value},
            )
            current: dict[str, Any] = {
                "stage": t.initial_stage,
                "effective_date": t.effective_date,
                "closing_date": t.closing_date,
                "mls_number": t.mls_number,
                "price_cents": t.price_cents,
            }
            on_file: list[tasks.OnFile] = []
            mine: list[dict[str, Any]] = []  # this file's task rows, in creation order

            def checklist(
                stage: Stage,
                at: datetime,
                actor: int,
                txn_id: int = txn_id,
                t: _TxnPlan = t,
                current: dict[str, Any] = current,
                on_file: list[tasks.OnFile] = on_file,
                mine: list[dict[str, Any]] = mine,
            ) -> None:
                planned, used = tasks.plan_checklist(
                    templates,
                    side=t.side.value,
                    property_type=t.property_type.value,
                    stage=stage.value,
                    owner_id=staff_ids[t.owner],
                    on_file=on_file,
                    days=tasks.anchor_days(current["effective_date"], current["closing_date"], {}),
                    have={(r["template_id"], r["item_key"]) for r in mine},
                )
                for item in planned:
                    mine.append(
                        {
                            "org_id": org_id,
                            "transaction_id": txn_id,
                            "title": item.title,
                            "notes": item.notes,
                            "status": tasks.OPEN,
                            "assignee_user_id": item.assignee_user_id,
                            "assignee_participant_id": item.assignee_participant_id,
                            "due_date": item.due_date,
                            "due_key": item.due_key,
                            "due_offset_days": item.due_offset_days,
                            "position": len(mine) + 1,
                            "template_id": item.template_id,
                            "item_key": item.item_key,
                            "created_by_id": staff_ids[actor],
                            "completed_at": None,
                            "completed_by_id": None,
                            "created_at": at,
                            "updated_at": at,
                        }
                    )
                if planned:
                    summary, data = tasks.checklist_event(len(planned), used)
                    event(at, actor, "checklist_applied", summary, data)

            def move_due_dates(
                at: datetime,
                current: dict[str, Any] = current,
                mine: list[dict[str, Any]] = mine,
            ) -> None:
                days = tasks.anchor_days(current["effective_date"], current["closing_date"], {})
                for row in mine:
                    if row["due_key"]:
                        new = tasks.due_from(days, row["due_key"], row["due_offset_days"])
                        if new != row["due_date"]:
                            row["due_date"], row["updated_at"] = new, at

            checklist(t.initial_stage, t.created_at, t.owner)
            for a in t.actions:
                if a.kind == "participant":
                    assert a.role is not None
                    if a.person is not None:
                        pid: int | None = person_ids[a.person]
                        uid = person_user.get(a.person)
                        name = names[("p", a.person)]
                    else:
                        assert a.staff is not None
                        pid, uid, name = None, staff_ids[a.staff], names[("s", a.staff)]
                    on_file.append(
                        tasks.OnFile(
                            a.role.value, None if pid is None else -1 - len(part_rows), uid
                        )
                    )
                    part_rows.append(
                        {
                            "org_id": org_id,
                            "transaction_id": txn_id,
                            "role": a.role.value,
                            "person_id": pid,
                            "user_id": uid,
                            "created_at": a.at,
                        }
                    )
                    event(
                        a.at,
                        a.actor,
                        "participant_added",
                        f"Added {name} as {a.role.label}",
                        {"role": a.role.value, "person_id": pid, "user_id": uid},
                    )
                elif a.kind == "update":
                    changes: dict[str, list[Any]] = {}
                    for key in _UPDATE_ORDER:
                        if key in a.fields and current[key] != a.fields[key]:
                            changes[key] = [jsonable(current[key]), jsonable(a.fields[key])]
                            current[key] = a.fields[key]
                    for kind, summary, data in change_events(changes):
                        event(a.at, a.actor, kind, summary, data)
                    if "effective_date" in changes or "closing_date" in changes:
                        move_due_dates(a.at)
                else:
                    assert a.stage is not None
                    before: Stage = current["stage"]
                    summary = f"Stage changed: {before.label} → {a.stage.label}"
                    if a.reason:
                        summary += f" ({a.reason})"
                    event(
                        a.at,
                        a.actor,
                        "stage_changed",
                        summary,
                        {"from": before.value, "to": a.stage.value, "reason": a.reason},
                    )
                    current["stage"] = a.stage
                    checklist(a.stage, a.at, a.actor)
            task_rows.extend(mine)
        part_ids = self._insert(Participant, part_rows, ids=True)
        for row in task_rows:
            marker = row["assignee_participant_id"]
            if marker is not None:
                row["assignee_participant_id"] = part_ids[-1 - marker]
        self._insert(Event, event_rows, ids=False)
        self._insert(Task, task_rows, ids=False)
        self.counts = {
            "participants": len(part_rows),
            "events": len(event_rows),
            "tasks": len(task_rows),
        }
        return org


# ---------------------------------------------------------------- bulk volume (benchmarks)

_DOC_KINDS = (
    ("Purchase and Sale Agreement", "contract", 14),
    ("Offer to Purchase", "contract", 4),
    ("Addendum", "addendum", 2),
    ("Seller's Disclosure", "disclosure", 6),
    ("Lead Paint Disclosure", "disclosure", 3),
    ("Home Inspection Report", "inspection", 32),
    ("Appraisal Report", "appraisal", 18),
    ("Title Commitment", "title", 9),
    ("Loan Commitment Letter", "loan", 2),
    ("Closing Disclosure", "closing", 5),
    ("Front Photo", "photo", 1),
)
_DOC_WORDS = (
    "buyer",
    "seller",
    "property",
    "premises",
    "deposit",
    "escrow",
    "closing",
    "inspection",
    "contingency",
    "mortgage",
    "appraisal",
    "title",
    "deed",
    "survey",
    "radon",
    "septic",
    "easement",
    "covenant",
    "addendum",
    "disclosure",
    "lender",
    "commitment",
    "warranty",
    "possession",
    "prorations",
    "assessment",
    "condominium",
    "association",
)


@dataclass(frozen=True)
class BulkVolume:
    """What ``add_bulk_volume`` added (and the totals it reached)."""

    tasks_added: int
    tasks_total: int
    events_added: int
    events_total: int
    documents: int
    versions: int
    key_dates: int
    busy_transaction_id: int | None
    seconds: float


def _count(db: Session, model: Any, org_id: int) -> int:
    from sqlalchemy import func

    return int(db.exec(select(func.count()).select_from(model).where(model.org_id == org_id)).one())


def add_bulk_volume(
    db: Session,
    org_id: int,
    *,
    seed: int,
    today: date,
    tasks_total: int = 0,
    events_total: int = 0,
    documents: int = 0,
    busy_documents: int = 0,
    key_dates: bool = False,
) -> BulkVolume:
    """Top a generated brokerage up to benchmark volume with batched INSERTs.

    - tasks: extra tasks (due from 60 days ago to 60 days ahead, a quarter done, some assigned
      to a client on the file) until the org has ``tasks_total``; each gets the ``task_added``
      Event the service writes, and done ones a ``task_completed`` Event;
    - documents: ``documents`` Document rows with a DocumentVersion each (an opaque fake
      storage key, no bytes: sizes, page counts, SHA-256, extracted text for PDFs), and a
      ``document_added`` Event; ``busy_documents`` of them on one open file (returned as
      ``busy_transaction_id``) to time a long documents list;
    - events: second versions (``document_version`` Events) and reopened tasks until the org
      has ``events_total`` Events;
    - ``key_dates``: inspection/appraisal/closing key dates on every file under contract.

    Deterministic for a seed. Flushes; the caller commits.
    """
    import hashlib

    from chronos.models import Document, DocumentVersion, KeyDate

    started = time.perf_counter()
    rng = random.Random(seed)
    txns: list[Any] = list(
        db.execute(
            select(  # type: ignore[call-overload]
                Transaction.id,
                Transaction.owner_id,
                Transaction.stage,
                Transaction.effective_date,
                Transaction.closing_date,
            )
            .where(Transaction.org_id == org_id)
            .order_by(col(Transaction.id))
        ).all()
    )
    if not txns:
        raise ValueError("the organization has no transactions to add volume to")
    client_parts: dict[int, list[int]] = {}
    for txn_id, part_id in db.exec(
        select(Participant.transaction_id, Participant.id)
        .where(Participant.org_id == org_id, col(Participant.user_id).is_not(None))
        .order_by(col(Participant.id))
    ).all():
        client_parts.setdefault(txn_id, []).append(part_id)  # type: ignore[arg-type]
    base = datetime.combine(today, datetime.min.time(), tzinfo=UTC)
    events: list[dict[str, Any]] = []

    def event(
        txn_id: int, actor: int, kind: str, summary: str, data: dict[str, Any], at: datetime
    ) -> None:
        events.append(
            {
                "org_id": org_id,
                "transaction_id": txn_id,
                "actor_id": actor,
                "kind": kind,
                "summary": summary[:500],
                "data": data,
                "created_at": at,
            }
        )

    def insert_rows(model: Any, rows: list[dict[str, Any]], *, ids: bool = False) -> list[int]:
        table = model.__table__
        out: list[int] = []
        for i in range(0, len(rows), _BATCH):
            batch = rows[i : i + _BATCH]
            if ids:
                stmt = insert(table).returning(table.c.id, sort_by_parameter_order=True)
                out.extend(r[0] for r in db.execute(stmt, batch))
            else:
                db.execute(insert(table), batch)
        return out

    # Tasks.
    have_tasks = _count(db, Task, org_id)
    from sqlalchemy import func

    max_pos: dict[int, int] = {
        t: int(p or 0)
        for t, p in db.exec(
            select(Task.transaction_id, func.max(Task.position))
            .where(Task.org_id == org_id)
            .group_by(col(Task.transaction_id))
        ).all()
    }
    task_rows: list[dict[str, Any]] = []
    titles = (
        "Call the lender",
        "Chase signed addendum",
        "Order payoff statement",
        "Confirm inspection time",
        "Send docs to attorney",
        "Schedule final walk-through",
        "Collect HOA documents",
        "Update the client",
        "Request commission disbursement",
    )
    for i in range(max(0, tasks_total - have_tasks)):
        txn_id, owner_id, *_ = txns[rng.randrange(len(txns))]
        parts = client_parts.get(txn_id, [])
        for_client = bool(parts) and rng.random() < 0.25
        done = rng.random() < 0.25
        created = base - timedelta(days=rng.randint(1, 120), minutes=rng.randint(0, 600))
        done_at = created + timedelta(days=rng.randint(0, 10)) if done else None
        pos = max_pos.get(txn_id, 0) + 1
        max_pos[txn_id] = pos
        task_rows.append(
            {
                "org_id": org_id,
                "transaction_id": txn_id,
                "title": f"{titles[i % len(titles)]} ({i})",
                "notes": "",
                "status": tasks.DONE if done else tasks.OPEN,
                "assignee_user_id": None if for_client else owner_id,
                "assignee_participant_id": rng.choice(parts) if for_client else None,
                "due_date": today + timedelta(days=rng.randint(-60, 60)),
                "due_key": "",
                "due_offset_days": 0,
                "position": pos,
                "template_id": None,
                "item_key": None,
                "created_by_id": owner_id,
                "completed_at": done_at,
                "completed_by_id": owner_id if done else None,
                "created_at": created,
                "updated_at": done_at or created,
            }
        )
    task_ids = insert_rows(Task, task_rows, ids=True)
    for row, task_id in zip(task_rows, task_ids, strict=True):
        t, actor = row["transaction_id"], row["created_by_id"]
        event(
            t,
            actor,
            "task_added",
            f"Task added: {row['title']}",
            {"task_id": task_id},
            row["created_at"],
        )
        if row["completed_at"] is not None:
            event(
                t,
                actor,
                "task_completed",
                f"Task completed: {row['title']}",
                {"task_id": task_id, "status": [tasks.OPEN, tasks.DONE]},
                row["completed_at"],
            )

    # Documents (and their first versions).
    open_txns = [
        t for t in txns if t[2] in (Stage.UNDER_CONTRACT.value, Stage.CLEAR_TO_CLOSE.value)
    ]
    busy = (open_txns or txns)[0] if busy_documents else None
    doc_txns: list[Any] = [busy] * min(busy_documents, documents) if busy else []
    doc_txns += [txns[rng.randrange(len(txns))] for _ in range(documents - len(doc_txns))]
    doc_rows: list[dict[str, Any]] = []
    ver_rows: list[dict[str, Any]] = []
    kinds = _Weighted(_DOC_KINDS, [k[2] for k in _DOC_KINDS])
    for i, (txn_id, owner_id, *_rest) in enumerate(doc_txns):
        title, category, pages = kinds.pick(rng)
        is_photo = category == "photo"
        pages = 0 if is_photo else max(1, int(pages * rng.uniform(0.5, 1.6)))
        at = base - timedelta(days=rng.randint(0, 180), minutes=rng.randint(0, 900))
        shared = rng.random() < 0.4
        doc_rows.append(
            {
                "org_id": org_id,
                "transaction_id": txn_id,
                "slot_id": None,
                "title": f"{title} {i}",
                "category": category,
                "share_client": shared,
                "share_attorney": shared or category in ("contract", "title"),
                "share_lender": category in ("appraisal", "loan"),
                "source": "upload",
                "current_version": 1,
                "review_status": "none",
                "review_note": "",
                "reviewed_by_id": None,
                "reviewed_at": None,
                "precheck": [],
                "created_by_id": owner_id,
                "created_at": at,
                "updated_at": at,
            }
        )
        text = ""
        if not is_photo and rng.random() < 0.7:
            text = " ".join(rng.choice(_DOC_WORDS) for _ in range(rng.randint(40, 400)))
        ver_rows.append(
            {
                "org_id": org_id,
                "version": 1,
                "storage_key": f"bench/{seed}/{i}/v1",
                "filename": f"{slugify(title)}-{i}.{'jpg' if is_photo else 'pdf'}",
                "content_type": "image/jpeg" if is_photo else "application/pdf",
                "size": rng.randint(40_000, 4_000_000),
                "sha256": hashlib.sha256(f"{seed}/{i}/1".encode()).hexdigest(),
                "page_count": pages,
                "text": text,
                "uploaded_by_id": owner_id,
                "created_at": at,
            }
        )
    doc_ids = insert_rows(Document, doc_rows, ids=True)
    for row, ver, doc_id in zip(doc_rows, ver_rows, doc_ids, strict=True):
        ver["document_id"] = doc_id
        event(
            row["transaction_id"],
            row["created_by_id"],
            "document_added",
            f"Added “{row['title']}” ({ver['filename']}, {ver['size'] // 1024} KB)",
            {"document_id": doc_id, "source": "upload"},
            row["created_at"],
        )

    # Second versions, then reopened tasks, until the events reach events_total.
    have_events = _count(db, Event, org_id)
    missing = max(0, events_total - have_events - len(events))
    v2_rows: list[dict[str, Any]] = []
    for j in range(min(missing, len(doc_rows))):
        row, first = doc_rows[j], ver_rows[j]
        at = row["created_at"] + timedelta(days=rng.randint(1, 20))
        v2_rows.append(
            {
                **first,
                "version": 2,
                "storage_key": first["storage_key"][:-1] + "2",
                "sha256": hashlib.sha256(f"{seed}/{j}/2".encode()).hexdigest(),
                "created_at": at,
            }
        )
        row["current_version"], row["updated_at"] = 2, at
        event(
            row["transaction_id"],
            row["created_by_id"],
            "document_version",
            f"New version 2 of “{row['title']}” ({first['filename']})",
            {"document_id": first["document_id"], "version": 2},
            at,
        )
    for k in range(max(0, missing - len(v2_rows)) if task_rows else 0):
        row = task_rows[k % len(task_rows)]
        event(
            row["transaction_id"],
            row["created_by_id"],
            "task_updated",
            f"Task reopened: {row['title']}",
            {"task_id": task_ids[k % len(task_rows)], "status": [tasks.DONE, tasks.OPEN]},
            row["created_at"] + timedelta(hours=1 + k % 48),
        )
    insert_rows(DocumentVersion, ver_rows + v2_rows)
    if v2_rows:
        from sqlalchemy import bindparam, update

        table = Document.__table__  # type: ignore[attr-defined]
        stmt = (
            update(table)
            .where(table.c.id == bindparam("doc_id"))
            .values(current_version=2, updated_at=bindparam("at"))
        )
        db.connection().execute(
            stmt,
            [{"doc_id": doc_ids[j], "at": doc_rows[j]["updated_at"]} for j in range(len(v2_rows))],
        )
    insert_rows(Event, events)

    # Key dates on files under contract.
    kd_rows: list[dict[str, Any]] = []
    if key_dates:
        now = utcnow()
        for txn_id, _owner, _stage, effective, closing in open_txns:
            if not effective:
                continue
            for pos, (key, label, day) in enumerate(
                (
                    ("inspection", "Inspection period ends", effective + timedelta(days=10)),
                    ("appraisal", "Appraisal contingency ends", effective + timedelta(days=17)),
                    ("closing", "Closing", closing),
                )
            ):
                if day is None:
                    continue
                kd_rows.append(
                    {
                        "org_id": org_id,
                        "transaction_id": txn_id,
                        "key": key,
                        "label": label,
                        "position": pos,
                        # What key_dates.rule_to_json writes for an entered date.
                        "rule": {"kind": "entered", "on": day.isoformat(), "at": None},
                        "computed_date": day,
                        "override_date": None,
                        "override_reason": "",
                        "due_at": None,
                        "shared_with_parties": True,
                        "created_at": now,
                        "updated_at": now,
                    }
                )
        insert_rows(KeyDate, kd_rows)
    db.flush()
    return BulkVolume(
        tasks_added=len(task_rows),
        tasks_total=have_tasks + len(task_rows),
        events_added=len(events),
        events_total=have_events + len(events),
        documents=len(doc_rows),
        versions=len(ver_rows) + len(v2_rows),
        key_dates=len(kd_rows),
        busy_transaction_id=busy[0] if busy else None,
        seconds=round(time.perf_counter() - started, 3),
    )


# ---------------------------------------------------------------- entry points


def generate_brokerage(
    db: Session,
    *,
    seed: int,
    transactions: int,
    name: str | None = None,
    slug: str | None = None,
    today: date | None = None,
    with_logins: bool = False,
    market: str | None = None,
    use_services: bool | None = None,
    demo_roles: Sequence[Role] = (),
) -> GeneratedBrokerage:
    """Create one synthetic brokerage (org, staff, contacts, transactions, timeline).

    ``with_logins``: every staff member signs in with ``demo_password`` (otherwise their
    password is random and unknown). ``use_services`` defaults to True up to
    ``SERVICE_MODE_MAX`` transactions, bulk inserts above. ``demo_roles``: roles that get a
    well-known ``<role>@<domain>`` login (the demo). Flushes; the caller commits.
    """
    if transactions < 0 or transactions > 100_000:
        raise ValueError("transactions must be between 0 and 100000")
    started = time.perf_counter()
    today = today or utcnow().date()
    plan = _plan(
        seed=seed,
        transactions=transactions,
        name=name,
        slug=slug,
        today=today,
        with_logins=with_logins,
        market=market,
        demo_roles=demo_roles,
    )
    if db.exec(select(Organization.id).where(Organization.slug == plan.slug)).first() is not None:
        raise Conflict(f"An organization with the slug {plan.slug!r} already exists.")
    if use_services is None:
        use_services = transactions <= SERVICE_MODE_MAX
    writer: _ServiceWriter | _BulkWriter = (
        _ServiceWriter(db, plan) if use_services else _BulkWriter(db, plan)
    )
    org = writer.write()
    db.flush()
    assert org.id is not None
    external_logins = sum(1 for p in plan.people if p.login_role is not None)
    result = GeneratedBrokerage(
        org_id=org.id,
        name=plan.name,
        slug=plan.slug,
        mode=writer.mode,
        users=len(plan.staff) + external_logins,
        people=len(plan.people),
        transactions=len(plan.txns),
        participants=writer.counts["participants"],
        events=writer.counts["events"],
        seconds=round(time.perf_counter() - started, 3),
        logins=tuple(plan.logins),
    )
    logger.info(
        "Generated %s (%s): %d transactions, %d people, %d events in %.2fs (%s)",
        result.name,
        result.slug,
        result.transactions,
        result.people,
        result.events,
        result.seconds,
        result.mode,
    )
    return result


def is_seeded(db: Session) -> bool:
    return (
        db.exec(select(Organization.id).where(Organization.slug == DEMO_ORG_SLUG)).first()
        is not None
    )


def demo_logins() -> list[DemoLogin]:
    """The well-known demo logins (whether or not the database holds them yet)."""
    password = get_settings().demo_password
    main_domain = f"{_ascii(DEMO_ORG_SLUG)}.example"
    other_domain = f"{_ascii(SECOND_ORG_SLUG)}.example"
    rows = [
        DemoLogin(role.value, f"{role.value}@{main_domain}", password, "", DEMO_ORG_NAME)
        for role in Role
    ]
    rows.append(DemoLogin(Role.AGENT.value, f"agent@{other_domain}", password, "", SECOND_ORG_NAME))
    return rows


def seed_demo(db: Session, *, today: date | None = None) -> list[DemoLogin]:
    """Seed the demo brokerages once; return their logins. A second call changes nothing."""
    if is_seeded(db):
        known = {
            u.email: u.full_name
            for u in db.exec(
                select(User).where(col(User.email).in_([d.email for d in demo_logins()]))
            ).all()
        }
        return [
            DemoLogin(d.role, d.email, d.password, known.get(d.email, ""), d.org_name)
            for d in demo_logins()
            if d.email in known
        ]
    main = generate_brokerage(
        db,
        seed=DEMO_SEED,
        transactions=DEMO_TRANSACTIONS,
        name=DEMO_ORG_NAME,
        slug=DEMO_ORG_SLUG,
        today=today,
        market="north-shore-ma",
        use_services=True,
        demo_roles=tuple(Role),
    )
    other = generate_brokerage(
        db,
        seed=DEMO_SEED + 1,
        transactions=SECOND_TRANSACTIONS,
        name=SECOND_ORG_NAME,
        slug=SECOND_ORG_SLUG,
        today=today,
        market="front-range-co",
        use_services=True,
        demo_roles=(Role.AGENT,),
    )
    order = {r.value: i for i, r in enumerate(Role)}
    logins = sorted(main.logins, key=lambda d: order[d.role]) + list(other.logins)
    logger.info("Seeded the demo brokerages %s and %s", main.name, other.name)
    return logins
