"""The calendar page's feed section, driven like a browser's websocket: each handler acts on the
signed-in user's own link only, signed-out visitors and deactivated users change nothing, and
a link shown in a tab disappears once it is no longer the current one."""

from __future__ import annotations

from urllib.parse import parse_qs, urlsplit

from sqlalchemy.engine import Engine
from sqlmodel import Session, select

from chronos import db as chronos_db
from chronos.models import CalendarFeed, User
from chronos.pages.calendar_feed import CalendarFeedState
from chronos.services import auth, calendar_feeds
from tests.factories import World, deactivate
from tests.unit.test_state_handlers import call, count, make_state


def _state(engine: Engine, user: User | None) -> CalendarFeedState:
    return make_state(CalendarFeedState, engine, user, "/calendar")


def _token(state: CalendarFeedState) -> str:
    return parse_qs(urlsplit(state.feed_url).query)["token"][0]


def _owner(engine: Engine, token: str) -> int | None:
    with Session(engine) as db:
        found = calendar_feeds.resolve(db, token)
        return found[1].id if found else None


def test_an_agent_makes_copies_resets_and_turns_off_their_link(engine: Engine, ui: World) -> None:
    state = _state(engine, ui.agent)
    call(CalendarFeedState.load_feed, state)
    assert state.feed_loaded and not state.feed_active and state.feed_url == ""
    call(CalendarFeedState.create_link, state)
    assert state.feed_active and state.feed_url.startswith("http")
    assert "/feeds/calendar.ics?token=" in state.feed_url
    assert state.webcal_url.startswith("webcal://")
    first = _token(state)
    assert _owner(engine, first) == ui.agent.id
    call(CalendarFeedState.reset_link, state)
    second = _token(state)
    assert second != first
    assert _owner(engine, first) is None and _owner(engine, second) == ui.agent.id
    call(CalendarFeedState.set_include_tasks, state, True)
    with Session(engine) as db:
        row = db.exec(select(CalendarFeed).where(CalendarFeed.user_id == ui.agent.id)).one()
        assert row.include_tasks is True
    call(CalendarFeedState.turn_off_link, state)
    assert not state.feed_active and state.feed_url == ""
    assert _owner(engine, second) is None
    assert count(engine, CalendarFeed) == 0


def test_the_link_is_shown_only_in_the_tab_that_made_it_while_it_is_current(
    engine: Engine, ui: World
) -> None:
    tab = _state(engine, ui.client)
    call(CalendarFeedState.create_link, tab)
    shown = tab.feed_url
    call(CalendarFeedState.load_feed, tab)  # the month arrows reload the page
    assert tab.feed_url == shown
    other_tab = _state(engine, ui.client)
    call(CalendarFeedState.load_feed, other_tab)
    assert other_tab.feed_active and other_tab.feed_url == ""  # never shown again
    call(CalendarFeedState.reset_link, other_tab)
    call(CalendarFeedState.load_feed, tab)
    assert tab.feed_active and tab.feed_url == ""  # the old link is gone from the first tab


def test_signed_out_visitors_change_nothing_and_see_nothing(engine: Engine, ui: World) -> None:
    with chronos_db.session_scope(engine) as db:
        token = calendar_feeds.create_or_reset(db, ui.agent)
    state = _state(engine, None)
    call(CalendarFeedState.load_feed, state)
    assert not state.feed_loaded and not state.feed_active and state.feed_url == ""
    for handler in (
        CalendarFeedState.create_link,
        CalendarFeedState.reset_link,
        CalendarFeedState.turn_off_link,
    ):
        call(handler, state)
        assert state.feed_url == ""
    call(CalendarFeedState.set_include_tasks, state, True)
    assert count(engine, CalendarFeed) == 1
    assert _owner(engine, token) == ui.agent.id  # the agent's link is untouched


def test_a_revoked_cookie_or_a_deactivated_user_is_refused(engine: Engine, ui: World) -> None:
    state = _state(engine, ui.lender)
    cookie_token = state.router.headers.cookie.split("=", 1)[1]
    with chronos_db.session_scope(engine) as db:
        auth.sign_out(db, cookie_token)
    call(CalendarFeedState.create_link, state)
    assert state.feed_url == "" and count(engine, CalendarFeed) == 0
    state = _state(engine, ui.attorney)
    with chronos_db.session_scope(engine) as db:
        deactivate(db, db.get(User, ui.attorney.id))
    call(CalendarFeedState.create_link, state)
    assert state.feed_url == "" and count(engine, CalendarFeed) == 0


def test_one_user_handlers_never_touch_another_user_link(engine: Engine, ui: World) -> None:
    agent = _state(engine, ui.agent)
    call(CalendarFeedState.create_link, agent)
    agent_token = _token(agent)
    for who in ("client", "agent2", "outsider_admin", "admin"):
        other = _state(engine, ui.user(who))
        call(CalendarFeedState.load_feed, other)
        assert not other.feed_active  # the agent's link is not theirs
        call(CalendarFeedState.create_link, other)
        call(CalendarFeedState.reset_link, other)
        call(CalendarFeedState.turn_off_link, other)
    assert _owner(engine, agent_token) == ui.agent.id
    assert count(engine, CalendarFeed) == 1
