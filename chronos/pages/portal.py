"""The portal for outside parties (clients, attorneys, lenders): their deals, read-only.

These users are mostly on phones: one column, cards, large tap targets. State holds only what
the page shows, copied out of the service views into portal-specific rows (no internal ids of
people, users or owners).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date

import reflex as rx

from chronos import routes
from chronos.components.layout import api_url, app_shell
from chronos.components.tasks import task_row
from chronos.components.timeline import timeline_list
from chronos.components.ui import (
    download_link,
    empty_state,
    error_callout,
    loading_block,
    page_header,
    pager,
    stage_badge,
)
from chronos.db import session_scope
from chronos.models import Role, Stage
from chronos.pages.portal_documents import PortalDocumentsState, portal_documents
from chronos.pages.portal_messages import PortalMessagesState, portal_messages
from chronos.pages.portal_sign import PortalSignState, portal_sign_section
from chronos.pages.registry import page
from chronos.services import key_dates, lender, signatures, tasks, timeline, transactions
from chronos.services.errors import ChronosError, NotFound
from chronos.services.key_dates import KeyDateRow
from chronos.services.timeline import EventRow
from chronos.services.transactions import TransactionDetail, TransactionRow
from chronos.state.session import EXTERNAL, SessionState

PAGE_SIZE = 20
EVENTS_PAGE_SIZE = 20

# Where the deal stands, in words a first-time buyer understands.
STAGE_LINES: dict[str, str] = {
    Stage.PRE_LISTING.value: "Getting ready to list: pricing, photos and paperwork are being prepared.",
    Stage.ACTIVE_LISTING.value: "On the market: the home is listed and offers are being reviewed.",
    Stage.UNDER_CONTRACT.value: "Under contract: inspections, appraisal and loan approval are under way.",
    Stage.CLEAR_TO_CLOSE.value: "Clear to close: everything is approved and closing is being scheduled.",
    Stage.CLOSED.value: "Closed: the sale is complete. Congratulations!",
    Stage.CANCELLED.value: "Cancelled: this transaction did not go ahead.",
}


def nice_date(iso: str) -> str:
    """'2026-06-12' → 'Fri 12 Jun 2026'; blank stays blank."""
    if not iso:
        return ""
    try:
        return date.fromisoformat(iso).strftime("%a %d %b %Y")
    except ValueError:
        return iso


def days_until(iso: str, today: date | None = None) -> str:
    """A short relative phrase for an upcoming date: 'today', 'in 12 days', '3 days ago'."""
    if not iso:
        return ""
    try:
        days = (date.fromisoformat(iso) - (today or date.today())).days
    except ValueError:
        return ""
    if days == 0:
        return "today"
    if days == 1:
        return "tomorrow"
    if days > 1:
        return f"in {days} days"
    return "1 day ago" if days == -1 else f"{-days} days ago"


@dataclass
class CardItem:
    text: str
    when: str
    urgent: bool


@dataclass
class PortalCard:
    id: int
    street: str
    city_line: str
    stage: str
    stage_label: str
    closing_date: str
    agent_name: str
    closing_when: str = ""
    open_total: int = 0
    open_items: list[CardItem] = field(default_factory=list)
    dates: list[CardItem] = field(default_factory=list)


CARD_ITEMS = 5  # the checklist a card shows; the deal page has the rest


@dataclass
class PortalKeyDate:
    label: str
    date_label: str
    when: str  # "in 3 days"; "" once the deal is closed or cancelled
    explanation: str
    overdue: bool


def portal_key_dates(rows: list[KeyDateRow], *, open_stage: bool) -> list[PortalKeyDate]:
    """The shared key dates (the service already left out the rest), in portal words."""
    return [
        PortalKeyDate(
            label=r.label,
            date_label=r.date_label,
            when=r.days_label if open_stage else "",
            explanation=r.explanation,
            overdue=r.overdue,
        )
        for r in rows
    ]


@dataclass
class PortalTask:
    """One of the viewer's own tasks (the service only returns theirs)."""

    id: int
    title: str
    notes: str
    status: str
    due_date: str
    due_label: str
    due_rule: str
    state: str
    state_label: str
    assignee_label: str
    can_complete: bool


def portal_tasks(rows: list[tasks.TaskRow]) -> list[PortalTask]:
    return [
        PortalTask(
            id=r.id,
            title=r.title,
            notes=r.notes,
            status=r.status,
            due_date=r.due_date,
            due_label=r.due_label,
            due_rule=r.due_rule,
            state=r.state,
            state_label=r.state_label,
            assignee_label="",
            can_complete=r.can_complete,
        )
        for r in rows
    ]


@dataclass
class Milestone:
    label: str
    state: str  # done | current | upcoming | cancelled


BUYER_PATH = (Stage.UNDER_CONTRACT, Stage.CLEAR_TO_CLOSE, Stage.CLOSED)
SELLER_PATH = (
    Stage.PRE_LISTING,
    Stage.ACTIVE_LISTING,
    Stage.UNDER_CONTRACT,
    Stage.CLEAR_TO_CLOSE,
    Stage.CLOSED,
)


def milestones(stage: str, side: str) -> list[Milestone]:
    """The stages of this kind of deal, each done, current or still to come."""
    path = BUYER_PATH if side == "buyer" else SELLER_PATH
    current = Stage(stage)
    if current is Stage.CANCELLED:
        return [Milestone(s.label, "upcoming") for s in path] + [
            Milestone(Stage.CANCELLED.label, "cancelled")
        ]
    index = path.index(current) if current in path else 0
    return [
        Milestone(
            s.label,
            "done"
            if i < index or current is Stage.CLOSED
            else "current"
            if i == index
            else "upcoming",
        )
        for i, s in enumerate(path)
    ]


def next_step(
    mine: list[PortalTask],
    dates: list[PortalKeyDate],
    to_sign: list[str] | None = None,
    to_send: list[str] | None = None,
) -> str:
    """One sentence: a document waiting for the viewer's signature, else one the lender asked
    them for, else their most pressing open task, else the next key date."""
    if to_sign:
        more = f" (and {len(to_sign) - 1} more)" if len(to_sign) > 1 else ""
        return f"Your next step: sign “{to_sign[0]}”{more}."
    if to_send:
        more = f" (and {len(to_send) - 1} more)" if len(to_send) > 1 else ""
        return f"Your next step: send the lender “{to_send[0]}”{more}."
    open_now = [t for t in mine if t.status == "open"]
    if open_now:
        first = open_now[0]
        when = f", due {first.due_label}" if first.due_date else ""
        return f"Your next step: {first.title}{when}."
    upcoming = [d for d in dates if d.when and not d.overdue and not d.when.endswith("ago")]
    if upcoming:
        d = upcoming[0]
        return f"Coming up: {d.label}, {d.date_label} ({d.when}). Nothing is needed from you right now."
    return "Nothing is needed from you right now."


@dataclass
class PortalPerson:
    name: str
    role_label: str
    email: str
    phone: str
    is_you: bool


@dataclass
class PortalDeal:
    address: str
    stage: str
    stage_label: str
    stage_line: str
    effective_date: str
    closing_date: str
    closing_when: str
    agent_name: str
    agent_email: str


def with_checklist(
    card: PortalCard,
    row: TransactionRow,
    open_by_file: dict[int, list[tasks.TaskRow]],
    dates: dict[int, list[key_dates.DeadlineRow]],
) -> PortalCard:
    """The viewer's open items and the next shared dates: an attorney's or lender's closing
    checklist, a client's to-do list, one card per deal."""
    mine = open_by_file.get(row.id, [])
    card.open_total = len(mine)
    card.open_items = [
        CardItem(t.title, t.due_label if t.due_date else "", t.state in ("overdue", "due_today"))
        for t in mine[:CARD_ITEMS]
    ]
    card.dates = [
        CardItem(d.label, f"{d.date_label} ({d.days_label})", d.due_soon)
        for d in dates.get(row.id, [])
    ]
    if Stage(row.stage).is_open:
        card.closing_when = days_until(row.closing_date)
    return card


def card_for(row: TransactionRow) -> PortalCard:
    return PortalCard(
        id=row.id,
        street=row.street,
        city_line=row.city_line,
        stage=row.stage,
        stage_label=row.stage_label,
        closing_date=nice_date(row.closing_date),
        agent_name=row.owner_name,
    )


def deal_for(detail: TransactionDetail) -> PortalDeal:
    open_stage = Stage(detail.stage).is_open
    return PortalDeal(
        address=detail.address,
        stage=detail.stage,
        stage_label=detail.stage_label,
        stage_line=STAGE_LINES.get(detail.stage, detail.stage_label),
        effective_date=nice_date(detail.effective_date),
        closing_date=nice_date(detail.closing_date),
        closing_when=days_until(detail.closing_date) if open_stage else "",
        agent_name=detail.owner_name,
        agent_email=detail.owner_email,
    )


def people_for(detail: TransactionDetail, actor_id: int) -> list[PortalPerson]:
    return [
        PortalPerson(
            name=p.name,
            role_label=p.role_label,
            email=p.email,
            phone=p.phone,
            is_you=bool(p.user_id) and p.user_id == actor_id,
        )
        for p in detail.participants
    ]


# ---------------------------------------------------------------- /portal


class PortalState(SessionState):
    cards: list[PortalCard] = []
    total: int = 0
    page: int = 1
    pages: int = 1
    loading: bool = True
    error: str = ""

    @rx.event
    def load(self):  # type: ignore[no-untyped-def]
        self.loading = True
        user, redirect = self._gate(EXTERNAL)
        if user is None:
            self.cards, self.total = [], 0
            return redirect
        try:
            with session_scope() as db:
                result = transactions.list_transactions(
                    db, user, sort="closing", page=self.page, page_size=PAGE_SIZE
                )
                ids = [r.id for r in result.items]
                open_by_file = tasks.open_tasks_by_file(db, user, ids)
                dates = key_dates.next_dates_by_file(db, user, ids)
                conditions = lender.open_counts_by_file(db, user, ids)
                to_sign = signatures.pending_for_user(db, user)
            self.cards = [with_checklist(card_for(r), r, open_by_file, dates) for r in result.items]
            for c in self.cards:
                for r in to_sign:
                    if r.transaction_id == c.id:
                        c.dates.insert(0, CardItem(f"Sign: {r.title}", "", True))
                if conditions.get(c.id):
                    c.dates.insert(
                        0, CardItem(f"Open loan conditions: {conditions[c.id]}", "", True)
                    )
            self.total, self.page, self.pages = result.total, result.page, result.pages
            self.error = ""
        except ChronosError as exc:
            self.cards, self.total = [], 0
            self.error = exc.message
        self.loading = False
        return None

    @rx.event
    def next_page(self):  # type: ignore[no-untyped-def]
        if self.page < self.pages:
            self.page += 1
        return PortalState.load

    @rx.event
    def prev_page(self):  # type: ignore[no-untyped-def]
        if self.page > 1:
            self.page -= 1
        return PortalState.load


def _card_item(item: CardItem, icon: str) -> rx.Component:
    return rx.flex(
        rx.icon(icon, size=14, flex_shrink="0", margin_top="3px"),
        rx.text(item.text, size="2", flex="1"),
        rx.cond(
            item.when,
            rx.text(
                item.when,
                size="1",
                color=rx.cond(item.urgent, rx.color("red", 11), rx.color("gray", 11)),
                weight=rx.cond(item.urgent, "bold", "regular"),
                text_align="right",
            ),
        ),
        spacing="2",
        align="start",
        width="100%",
    )


def _card_checklist(c: PortalCard) -> rx.Component:
    return rx.cond(
        (c.open_total > 0) | (c.dates.length() > 0),
        rx.flex(
            rx.separator(size="4"),
            rx.cond(
                c.open_total > 0,
                rx.text(
                    "Your checklist: ", c.open_total.to_string(), " open", size="2", weight="bold"
                ),
            ),
            rx.foreach(c.open_items, lambda t: _card_item(t, "square")),
            rx.cond(
                c.open_total > c.open_items.length(),
                rx.text("and more on the deal page", size="1", color_scheme="gray"),
            ),
            rx.foreach(c.dates, lambda d: _card_item(d, "calendar_clock")),
            direction="column",
            spacing="1",
        ),
    )


def _portal_card(c: PortalCard) -> rx.Component:
    return rx.link(
        rx.card(
            rx.flex(
                rx.flex(
                    rx.box(
                        rx.text(c.street, weight="bold", size="4"),
                        rx.text(c.city_line, size="2", color_scheme="gray"),
                    ),
                    stage_badge(c.stage, c.stage_label),
                    justify="between",
                    align="start",
                    spacing="2",
                ),
                rx.flex(
                    rx.cond(
                        c.closing_date,
                        rx.flex(
                            rx.icon("calendar", size=14),
                            rx.text("Closing ", c.closing_date, size="2"),
                            rx.cond(
                                c.closing_when,
                                rx.text("(", c.closing_when, ")", size="2", weight="medium"),
                            ),
                            align="center",
                            spacing="1",
                        ),
                    ),
                    rx.cond(
                        c.agent_name,
                        rx.flex(
                            rx.icon("user_round", size=14),
                            rx.text("Agent: ", c.agent_name, size="2"),
                            align="center",
                            spacing="1",
                        ),
                    ),
                    direction="column",
                    spacing="1",
                    color=rx.color("gray", 11),
                ),
                _card_checklist(c),
                direction="column",
                spacing="3",
            ),
            size="2",
            width="100%",
        ),
        href="/portal/" + c.id.to_string(),  # type: ignore[attr-defined]
        underline="none",
        color="inherit",
        width="100%",
    )


def _portal_content() -> rx.Component:
    return rx.cond(
        PortalState.loading & (PortalState.cards.length() == 0),
        loading_block("Loading your transactions…"),
        rx.cond(
            PortalState.error,
            error_callout(PortalState.error),
            rx.cond(
                PortalState.total == 0,
                empty_state(
                    "house",
                    "No transactions yet",
                    "When your agent adds you to a transaction, it will appear here.",
                ),
                rx.box(
                    rx.flex(
                        rx.foreach(PortalState.cards, _portal_card),
                        direction="column",
                        spacing="3",
                    ),
                    rx.cond(
                        PortalState.pages > 1,
                        pager(
                            PortalState.page,
                            PortalState.pages,
                            PortalState.total,
                            PortalState.prev_page,
                            PortalState.next_page,
                        ),
                    ),
                    width="100%",
                ),
            ),
        ),
    )


@page(routes.PORTAL, "My transactions", on_load=PortalState.load)
def portal_page() -> rx.Component:
    return app_shell(
        rx.box(
            page_header("My transactions"),
            _portal_content(),
            max_width="720px",
            margin_x="auto",
        ),
        active="portal",
        user_name=PortalState.user_name,
        role_label=PortalState.role_label,
        is_staff=PortalState.is_staff,
        signed_in=PortalState.signed_in,
    )


# ---------------------------------------------------------------- /portal/[txn_id]


def _blank_deal() -> PortalDeal:
    return PortalDeal("", "", "", "", "", "", "", "", "")


class PortalDealState(SessionState):
    _txn_id: int = 0
    deal: PortalDeal = _blank_deal()
    summary_href: str = ""
    people: list[PortalPerson] = []
    key_dates: list[PortalKeyDate] = []
    my_tasks: list[PortalTask] = []
    done_count: int = 0
    milestones: list[Milestone] = []
    next_step: str = ""
    task_error: str = ""
    events: list[EventRow] = []
    events_page: int = 1
    events_more: bool = False
    events_loading: bool = False
    found: bool = False
    not_found: bool = False
    loading: bool = True
    error: str = ""

    def _clear(self) -> None:
        self._txn_id = 0
        self.summary_href = ""
        self.deal, self.people, self.events = _blank_deal(), [], []
        self.key_dates, self.my_tasks, self.milestones = [], [], []
        self.done_count, self.next_step, self.task_error = 0, "", ""
        self.events_page, self.events_more, self.events_loading = 1, False, False
        self.found = self.not_found = False
        self.error = ""

    @rx.event
    async def load_page(self):  # type: ignore[no-untyped-def]
        """The deal and the portal sections in one event (one lock, one update); each
        section checks the actor itself."""
        result = PortalDealState.load.fn(self)
        for cls in (PortalMessagesState, PortalDocumentsState, PortalSignState):
            section = await self.get_state(cls)
            cls.load.fn(section)
        return result

    @rx.event
    def load(self):  # type: ignore[no-untyped-def]
        self.loading = True
        # Whatever deal this tab showed before must not linger while, or instead of, this one.
        self._clear()
        user, redirect = self._gate(EXTERNAL)
        if user is None:
            return redirect
        try:
            txn_id = self._int_param("txn_id")
            with session_scope() as db:
                detail = transactions.get_transaction(db, user, txn_id)
                shared_dates = key_dates.list_key_dates(db, user, txn_id)
                mine = tasks.list_tasks(db, user, txn_id, show="all")
                events = timeline.list_events(db, user, txn_id, page=1, page_size=EVENTS_PAGE_SIZE)
                sign_now = signatures.pending_for_user(db, user, txn_id)
                wanted = (
                    [
                        c.title
                        for c in lender.conditions(db, user, txn_id).rows
                        if c.status == "requested"
                    ]
                    if user.role_enum is Role.CLIENT
                    else []
                )
            self._txn_id = txn_id
            self.deal = deal_for(detail)
            self.summary_href = api_url(f"/api/v1/transactions/{txn_id}/summary.pdf")
            self.key_dates = portal_key_dates(shared_dates, open_stage=Stage(detail.stage).is_open)
            self._set_tasks(mine)
            self.milestones = milestones(detail.stage, detail.side)
            self.next_step = (
                next_step(self.my_tasks, self.key_dates, [r.title for r in sign_now], wanted)
                if Stage(detail.stage).is_open
                else ""
            )
            self.people = people_for(detail, user.id or 0)
            self.events = events.items
            self.events_page, self.events_more = events.page, events.page < events.pages
            self.found = True
        except NotFound:
            self._clear()
            self.not_found = True
        except ChronosError as exc:
            self._clear()
            self.error = exc.message
        self.loading = False
        return None

    def _set_tasks(self, rows: list[tasks.TaskRow]) -> None:
        mine = portal_tasks(rows)
        self.my_tasks = [t for t in mine if t.status == "open"] + [
            t for t in mine if t.status != "open"
        ]
        self.done_count = sum(1 for t in mine if t.status != "open")

    @rx.event
    def toggle_task(self, task_id: int, status: str):  # type: ignore[no-untyped-def]
        """Tick one of your own tasks off (or reopen it)."""
        user, redirect = self._gate(EXTERNAL)
        if user is None:
            self._clear()
            return redirect
        if not self.found or not self._txn_id:
            return None
        target = tasks.OPEN if status == tasks.DONE else tasks.DONE
        try:
            with session_scope() as db:
                tasks.set_status(db, user, int(task_id), target, expected=status)
            with session_scope() as db:
                mine = tasks.list_tasks(db, user, self._txn_id, show="all")
            self._set_tasks(mine)
            self.next_step = next_step(self.my_tasks, self.key_dates)
            self.task_error = ""
        except NotFound:
            self.task_error = "That task is no longer yours, or was removed. Reload the page."
        except ChronosError as exc:
            self.task_error = exc.message
        return None

    @rx.event
    def older_events(self):  # type: ignore[no-untyped-def]
        if self.events_loading or not self.found or not self._txn_id:
            return None
        user, redirect = self._gate(EXTERNAL)
        if user is None:
            self._clear()
            return redirect
        self.events_loading = True
        try:
            with session_scope() as db:
                result = timeline.list_events(
                    db, user, self._txn_id, page=self.events_page + 1, page_size=EVENTS_PAGE_SIZE
                )
        except NotFound:  # removed from the deal since the page opened
            self._clear()
            self.not_found = True
            return None
        except ChronosError as exc:
            self.events_loading = False
            return rx.toast.error(exc.message)
        seen = {e.id for e in self.events}
        self.events = self.events + [e for e in result.items if e.id not in seen]
        self.events_page, self.events_more = result.page, result.page < result.pages
        self.events_loading = False
        return None


def _section(title: str, *children: rx.Component) -> rx.Component:
    return rx.card(
        rx.heading(title, size="3", as_="h2", margin_bottom="12px"),
        *children,
        size="2",
        width="100%",
    )


def _date_row(label: str, value: rx.Var, extra: rx.Var | str = "") -> rx.Component:
    return rx.flex(
        rx.text(label, size="2", color_scheme="gray"),
        rx.flex(
            rx.text(
                rx.cond(value, value, "Not set yet"), size="2", weight="medium", text_align="right"
            ),
            rx.cond(extra, rx.text(extra, size="1", color_scheme="gray", text_align="right")),
            direction="column",
            align="end",
        ),
        justify="between",
        align="start",
        spacing="3",
        padding_y="6px",
    )


MILESTONE_ICONS = {
    "done": ("circle_check_big", "grass"),
    "current": ("circle_dot", "indigo"),
    "upcoming": ("circle", "gray"),
    "cancelled": ("circle_x", "red"),
}


def _milestone(m: Milestone) -> rx.Component:
    return rx.flex(
        rx.match(
            m.state,
            *[
                (key, rx.icon(icon, size=18, color=rx.color(color, 9)))  # type: ignore[arg-type]
                for key, (icon, color) in MILESTONE_ICONS.items()
            ],
            rx.icon("circle", size=18),
        ),
        rx.text(
            m.label,
            size="2",
            weight=rx.cond(m.state == "current", "bold", "regular"),
            color=rx.cond(m.state == "upcoming", rx.color("gray", 10), "inherit"),
        ),
        align="center",
        spacing="2",
        aria_current=rx.cond(m.state == "current", "step", None),
    )


def _status() -> rx.Component:
    d = PortalDealState.deal
    return rx.card(
        rx.flex(
            stage_badge(d.stage, d.stage_label),
            rx.text(d.stage_line, size="3"),
            rx.el.ol(
                rx.foreach(PortalDealState.milestones, lambda m: rx.el.li(_milestone(m))),
                aria_label="Progress",
                style={
                    "display": "flex",
                    "flexWrap": "wrap",
                    "gap": "8px 16px",
                    "listStyle": "none",
                    "padding": 0,
                    "margin": 0,
                },
            ),
            rx.cond(
                PortalDealState.next_step,
                rx.callout(
                    PortalDealState.next_step,
                    icon="footprints",
                    color_scheme="indigo",
                    width="100%",
                ),
            ),
            direction="column",
            spacing="3",
            align="start",
        ),
        size="2",
        width="100%",
    )


def _my_tasks() -> rx.Component:
    return _section(
        "What we need from you",
        rx.cond(PortalDealState.task_error, error_callout(PortalDealState.task_error)),
        rx.cond(
            PortalDealState.my_tasks.length() == 0,
            rx.text(
                "Nothing right now. Your agent will add anything they need from you here.",
                size="2",
                color_scheme="gray",
            ),
            rx.box(
                rx.foreach(
                    PortalDealState.my_tasks,
                    lambda t: task_row(t, PortalDealState.toggle_task(t.id, t.status)),
                ),
                width="100%",
            ),
        ),
    )


def _dates() -> rx.Component:
    d = PortalDealState.deal
    return _section(
        "Key dates",
        _date_row("Effective (acceptance) date", d.effective_date),
        rx.separator(size="4"),
        _date_row("Closing date", d.closing_date, d.closing_when),
        rx.foreach(PortalDealState.key_dates, _key_date),
    )


def _key_date(k: PortalKeyDate) -> rx.Component:
    return rx.fragment(
        rx.separator(size="4"),
        rx.flex(
            rx.box(
                rx.text(k.label, size="2", color_scheme="gray"),
                rx.text(k.explanation, size="1", color_scheme="gray"),
            ),
            rx.flex(
                rx.text(k.date_label, size="2", weight="medium", text_align="right"),
                rx.cond(
                    k.overdue,
                    rx.badge("Past due", color_scheme="red", variant="soft"),
                    rx.cond(
                        k.when, rx.text(k.when, size="1", color_scheme="gray", text_align="right")
                    ),
                ),
                direction="column",
                align="end",
                flex_shrink="0",
            ),
            justify="between",
            align="start",
            spacing="3",
            padding_y="6px",
        ),
    )


def _contact(icon: str, text: rx.Var, href: rx.Var) -> rx.Component:
    return rx.link(
        rx.flex(
            rx.icon(icon, size=14),
            rx.text(text, size="2", trim="both"),
            align="center",
            spacing="1",
        ),
        href=href,
        color_scheme="indigo",
        underline="none",
        padding_y="4px",
    )


def _person(p: PortalPerson) -> rx.Component:
    return rx.flex(
        rx.flex(
            rx.text(p.name, weight="medium", size="2"),
            rx.cond(p.is_you, rx.badge("You", variant="soft", color_scheme="gray", size="1")),
            spacing="2",
            align="center",
        ),
        rx.text(p.role_label, size="1", color_scheme="gray"),
        rx.flex(
            rx.cond(p.phone, _contact("phone", p.phone, "tel:" + p.phone)),
            rx.cond(p.email, _contact("mail", p.email, "mailto:" + p.email)),
            direction="column",
        ),
        direction="column",
        spacing="1",
        padding_y="8px",
        border_bottom=f"1px solid {rx.color('gray', 4)}",
    )


def _people() -> rx.Component:
    d = PortalDealState.deal
    return _section(
        "People on this transaction",
        rx.cond(
            d.agent_name,
            rx.flex(
                rx.text(d.agent_name, weight="medium", size="2"),
                rx.text("Your agent", size="1", color_scheme="gray"),
                rx.cond(
                    d.agent_email,
                    rx.link(d.agent_email, href="mailto:" + d.agent_email, size="2"),
                ),
                direction="column",
                spacing="1",
                padding_y="8px",
                border_bottom=f"1px solid {rx.color('gray', 4)}",
            ),
        ),
        rx.foreach(PortalDealState.people, _person),
    )


def _timeline() -> rx.Component:
    return _section(
        "What has happened",
        timeline_list(
            PortalDealState.events,
            PortalDealState.events_more,
            PortalDealState.older_events,
            empty_text="Nothing to show yet.",
        ),
    )


def _back() -> rx.Component:
    return rx.link(
        rx.flex(
            rx.icon("arrow_left", size=16),
            rx.text("My transactions", size="2"),
            align="center",
            spacing="1",
        ),
        href=routes.PORTAL,
        color_scheme="gray",
        underline="none",
        display="inline-block",
        margin_bottom="12px",
        padding_y="4px",
    )


def _deal_view() -> rx.Component:
    return rx.flex(
        rx.flex(
            rx.heading(PortalDealState.deal.address, size="6", as_="h1"),
            download_link(
                "Summary (PDF)",
                PortalDealState.summary_href,
                aria_label="Download a one-page summary of this transaction (PDF)",
            ),
            justify="between",
            align="start",
            wrap="wrap",
            spacing="3",
        ),
        _status(),
        portal_sign_section(),
        portal_documents(),
        portal_messages(),
        _my_tasks(),
        _dates(),
        _people(),
        _timeline(),
        direction="column",
        spacing="4",
        width="100%",
    )


def _deal_content() -> rx.Component:
    return rx.cond(
        PortalDealState.found,
        _deal_view(),
        rx.cond(
            PortalDealState.not_found,
            empty_state(
                "search_x",
                "Transaction not found",
                "It may have been removed, or you are not on it. Ask your agent if you think this is wrong.",
                rx.link(rx.button("My transactions", variant="soft"), href=routes.PORTAL),
            ),
            rx.cond(
                PortalDealState.error,
                error_callout(PortalDealState.error),
                loading_block("Loading transaction…"),
            ),
        ),
    )


@page(
    "/portal/[txn_id]",
    "Transaction",
    on_load=PortalDealState.load_page,
)
def portal_deal_page() -> rx.Component:
    return app_shell(
        rx.box(
            _back(),
            _deal_content(),
            max_width="720px",
            margin_x="auto",
        ),
        active="portal",
        user_name=PortalDealState.user_name,
        role_label=PortalDealState.role_label,
        is_staff=PortalDealState.is_staff,
        signed_in=PortalDealState.signed_in,
    )
