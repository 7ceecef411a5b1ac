"""Calendar feeds, service level: what each persona's feed holds (parsed back with icalendar),
stable UIDs across a date change, all-day and timed events with the brokerage's VTIMEZONE,
closed and cancelled files, the link's lifecycle (reset, off, deactivation) and the ETag."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from typing import Any

import icalendar
import pytest
from sqlmodel import Session, select

from chronos.models import CalendarFeed, SecurityEvent
from chronos.services import calendar_feeds, key_dates, tasks, transactions, user_admin
from chronos.services.errors import NotFound, PermissionDenied
from tests.factories import PERSONAS, World, deactivate, participant_of

# Mid-January 2024: the deal's dates (effective 10 Jan, closing 20 Feb) are all in the window.
NOW = datetime(2024, 1, 15, 15, 0, tzinfo=UTC)
TODAY = date(2024, 1, 15)

DEAL_DATES = {
    "earnest_money",
    "inspection",
    "appraisal",
    "loan_approval",
    "closing",
    "final_walkthrough",
}
SHARED_DEAL_DATES = DEAL_DATES - {"inspection"}


def _setup(db: Session, w: World) -> None:
    """The deal gets the generic preset with the inspection hidden from outside parties; the
    other Harbor deal and the Summit deal get a closing date each (no preset)."""
    key_dates.apply_preset(db, w.agent, w.deal.id or 0, "generic_financed")
    key_dates.set_shared(db, w.agent, w.deal.id or 0, "inspection", False)
    transactions.update_transaction(
        db, w.agent2, w.other_deal.id or 0, {"closing_date": "2024-02-16"}
    )
    transactions.update_transaction(
        db, w.outsider_agent, w.outside_deal.id or 0, {"closing_date": "2024-02-21"}
    )
    db.commit()


def _feed(
    db: Session, user: Any, *, include_tasks: bool = False, now: datetime = NOW
) -> icalendar.Calendar:
    token = calendar_feeds.create_or_reset(db, user, include_tasks=include_tasks)
    found = calendar_feeds.resolve(db, token)
    assert found is not None
    feed, owner = found
    got = calendar_feeds.answer(db, feed, owner, now=now)
    assert got.body is not None
    return icalendar.Calendar.from_ical(got.body)


def _events(cal: icalendar.Calendar) -> dict[str, Any]:
    return {str(e["UID"]): e for e in cal.walk("VEVENT")}


def _keys(cal: icalendar.Calendar, w: World) -> set[tuple[str, str]]:
    """(file name, key) per event: file name = the World attribute of its transaction."""
    names = {w.deal.id: "deal", w.other_deal.id: "other_deal", w.outside_deal.id: "outside_deal"}
    out = set()
    for uid in _events(cal):
        txn_part, rest = uid.split("-", 1)
        out.add((names[int(txn_part.removeprefix("txn"))], rest.split("@")[0]))
    return out


def _expected(who: str) -> set[tuple[str, str]]:
    deal = {("deal", k) for k in DEAL_DATES}
    shared = {("deal", k) for k in SHARED_DEAL_DATES}
    other = {("other_deal", "closing")}
    return {
        "admin": deal | other,
        "agent": deal,
        "coordinator": deal,
        "agent2": other,
        "client": shared,
        "client2": other,
        "attorney": shared,
        "lender": shared,
        "outsider_agent": {("outside_deal", "closing")},
        "outsider_admin": {("outside_deal", "closing")},
    }[who]


@pytest.mark.parametrize("who", PERSONAS)
def test_each_persona_gets_exactly_the_dates_they_may_see(
    db: Session, world: World, who: str
) -> None:
    _setup(db, world)
    cal = _feed(db, world.user(who))
    assert _keys(cal, world) == _expected(who)
    text = cal.to_ical().decode().replace("\r\n ", "")  # unfolded
    if ("deal", "inspection") not in _expected(who):
        assert "Inspection period ends" not in text
    if not any(name == "deal" for name, _ in _expected(who)):
        assert f"/transactions/{world.deal.id}" not in text
        assert f"/portal/{world.deal.id}" not in text
    if who.startswith("outsider"):
        assert "Lighthouse" not in text and "Harbor Realty" not in text


def test_events_parse_back_as_all_day_with_address_and_a_link(db: Session, world: World) -> None:
    _setup(db, world)
    cal = _feed(db, world.agent)
    assert str(cal["VERSION"]) == "2.0" and "Harbor Realty" in str(cal["X-WR-CALNAME"])
    closing = _events(cal)[
        next(u for u in _events(cal) if u.startswith(f"txn{world.deal.id}-closing"))
    ]
    assert closing.decoded("DTSTART") == date(2024, 2, 20)
    assert closing.decoded("DTEND") == date(2024, 2, 21)  # all day: the end is exclusive
    assert str(closing["SUMMARY"]) == "Closing · 12 Harbor View Rd"
    description = str(closing["DESCRIPTION"])
    assert "12 Harbor View Rd, Portland, ME 04101" in description
    assert f"/transactions/{world.deal.id}" in description
    assert str(closing["URL"]).endswith(f"/transactions/{world.deal.id}")
    # Outside parties are linked to their portal page instead.
    client_cal = _feed(db, world.client)
    urls = {str(e["URL"]) for e in client_cal.walk("VEVENT")}
    assert urls == {calendar_feeds.routes.public_url(f"/portal/{world.deal.id}")}


def test_a_deadline_with_a_cutoff_is_a_timed_event_in_the_brokerage_zone(
    db: Session, world: World
) -> None:
    key_dates.apply_preset(db, world.agent, world.deal.id or 0, "tx_trec")
    db.commit()
    cal = _feed(db, world.agent)
    option = next(e for e in cal.walk("VEVENT") if "option_period" in str(e["UID"]))
    start = option.decoded("DTSTART")
    assert isinstance(start, datetime) and start.hour == 17 and start.minute == 0
    assert option["DTSTART"].params["TZID"] == "America/New_York"
    assert "DTEND" not in option  # a moment: it ends where it starts
    assert "5:00 pm (America/New_York)" in str(option["DESCRIPTION"])
    zones = [str(tz["TZID"]) for tz in cal.walk("VTIMEZONE")]
    assert zones == ["America/New_York"]
    # The moment itself is right: 17:00 in New York in January is 22:00 UTC.
    assert start.astimezone(UTC).hour == 22


def test_a_moved_date_keeps_its_uid_so_the_calendar_replaces_it(db: Session, world: World) -> None:
    _setup(db, world)
    before = _events(_feed(db, world.agent))
    transactions.update_transaction(
        db, world.agent, world.deal.id or 0, {"closing_date": "2024-02-27"}
    )
    db.commit()
    after = _events(_feed(db, world.agent))
    assert set(before) == set(after)  # same UIDs: nothing duplicated, nothing orphaned
    uid = next(u for u in after if u.startswith(f"txn{world.deal.id}-closing"))
    assert before[uid].decoded("DTSTART") == date(2024, 2, 20)
    assert after[uid].decoded("DTSTART") == date(2024, 2, 27)
    # Re-applying a preset (which recreates the rows) keeps the UIDs too.
    key_dates.apply_preset(db, world.agent, world.deal.id or 0, "generic_financed")
    db.commit()
    assert set(_events(_feed(db, world.agent))) == set(after)


def test_a_closing_without_a_preset_has_the_uid_its_key_date_will_have(
    db: Session, world: World
) -> None:
    _setup(db, world)
    other = world.other_deal.id or 0
    transactions.update_transaction(db, world.agent2, other, {"effective_date": "2024-01-08"})
    db.commit()
    before = _events(_feed(db, world.agent2))
    closing_uid = f"txn{other}-closing@localhost"
    assert set(before) == {closing_uid}
    key_dates.apply_preset(db, world.agent2, other, "generic_financed")
    db.commit()
    after = _events(_feed(db, world.agent2))
    assert closing_uid in after and len(after) == len(DEAL_DATES)
    assert str(after[closing_uid]["SUMMARY"]) == "Closing · 88 Lighthouse Ln"


def test_cancelled_and_closed_files_lose_their_future_dates(db: Session, world: World) -> None:
    _setup(db, world)
    transactions.change_stage(
        db, world.agent, world.deal.id or 0, "cancelled", reason="Fell through"
    )
    db.commit()
    cal = _feed(db, world.agent, now=datetime(2024, 1, 25, 15, tzinfo=UTC))
    days = {e.decoded("DTSTART") for e in cal.walk("VEVENT")}
    # Only the past stays: earnest money (16 Jan) and the inspection (22 Jan).
    assert days == {date(2024, 1, 16), date(2024, 1, 22)}
    assert "This file is cancelled." in cal.to_ical().decode().replace("\r\n ", "")


def test_my_tasks_are_in_the_feed_only_when_asked_and_only_mine(db: Session, world: World) -> None:
    _setup(db, world)
    deal = world.deal.id or 0
    tasks.create_task(
        db,
        world.agent,
        deal,
        {
            "title": "Order the appraisal",
            "assignee": f"u:{world.agent.id}",
            "due_date": "2024-01-20",
        },
    )
    part = participant_of(db, world.deal, world.client)
    tasks.create_task(
        db,
        world.agent,
        deal,
        {"title": "Sign the disclosures", "assignee": f"p:{part.id}", "due_date": "2024-01-18"},
    )
    db.commit()

    def summaries(cal: icalendar.Calendar) -> set[str]:
        return {str(e["SUMMARY"]) for e in cal.walk("VEVENT") if "task" in str(e["UID"])}

    mine, theirs = (
        "Task: Order the appraisal · 12 Harbor View Rd",
        "Task: Sign the disclosures · 12 Harbor View Rd",
    )
    assert summaries(_feed(db, world.agent)) == set()
    agent = summaries(_feed(db, world.agent, include_tasks=True))
    assert mine in agent and theirs not in agent
    client = summaries(_feed(db, world.client, include_tasks=True))
    assert theirs in client and mine not in client
    coordinator = summaries(_feed(db, world.coordinator, include_tasks=True))
    assert mine not in coordinator and theirs not in coordinator
    for who in ("agent2", "outsider_admin"):
        assert not summaries(_feed(db, world.user(who), include_tasks=True)) & {mine, theirs}


def test_reset_stops_the_old_link_at_once_and_off_stops_every_link(
    db: Session, world: World
) -> None:
    first = calendar_feeds.create_or_reset(db, world.agent)
    assert calendar_feeds.resolve(db, first) is not None
    second = calendar_feeds.create_or_reset(db, world.agent)
    assert second != first and len(second) >= 43
    assert calendar_feeds.resolve(db, first) is None
    assert calendar_feeds.resolve(db, second) is not None
    # Only the hash is stored.
    row = db.exec(select(CalendarFeed).where(CalendarFeed.user_id == world.agent.id)).one()
    assert second not in row.token_hash and row.token_hash == calendar_feeds.auth.hash_token(second)
    assert calendar_feeds.turn_off(db, world.agent) is True
    assert calendar_feeds.resolve(db, second) is None
    assert calendar_feeds.turn_off(db, world.agent) is False
    kinds = [
        e.kind
        for e in db.exec(select(SecurityEvent).where(SecurityEvent.user_id == world.agent.id)).all()
    ]
    assert kinds[-3:] == ["calendar_feed_created", "calendar_feed_reset", "calendar_feed_off"]


@pytest.mark.parametrize("garbage", ["", "x", "a" * 43, "a" * 5000, None])
def test_unknown_tokens_find_nothing(db: Session, world: World, garbage: str | None) -> None:
    calendar_feeds.create_or_reset(db, world.agent)
    assert calendar_feeds.resolve(db, garbage) is None


def test_a_deactivated_user_feed_stops_and_stays_stopped_after_reactivation(
    db: Session, world: World
) -> None:
    token = calendar_feeds.create_or_reset(db, world.agent)
    db.commit()
    # Marked inactive by any path: the token finds nothing at once.
    deactivate(db, world.agent)
    assert calendar_feeds.resolve(db, token) is None
    world.agent.is_active = True
    db.flush()
    # Deactivated by an admin: the link is deleted, so reactivating does not revive it.
    user_admin.deactivate(db, world.admin, world.agent.id or 0)
    user_admin.reactivate(db, world.admin, world.agent.id or 0)
    assert calendar_feeds.resolve(db, token) is None
    assert calendar_feeds.status(db, world.agent).active is False


def test_inactive_or_missing_actors_cannot_make_links(db: Session, world: World) -> None:
    with pytest.raises(PermissionDenied):
        calendar_feeds.create_or_reset(db, None)
    deactivate(db, world.client)
    with pytest.raises(PermissionDenied):
        calendar_feeds.create_or_reset(db, world.client)
    with pytest.raises(PermissionDenied):
        calendar_feeds.status(db, world.client)


def test_the_etag_answers_an_unchanged_poll_without_a_body(db: Session, world: World) -> None:
    _setup(db, world)
    token = calendar_feeds.create_or_reset(db, world.agent)
    feed, user = calendar_feeds.resolve(db, token) or (None, None)
    assert feed is not None and user is not None
    first = calendar_feeds.answer(db, feed, user, now=NOW)
    assert first.body is not None and first.etag.startswith('"')
    again = calendar_feeds.answer(
        db, feed, user, if_none_match=first.etag, now=NOW + timedelta(minutes=5)
    )
    assert again.body is None and again.etag == first.etag
    assert again.last_modified == first.last_modified
    since = calendar_feeds.answer(db, feed, user, if_modified_since=first.last_modified, now=NOW)
    assert since.body is None
    # A change anyone may see gives a new ETag and Last-Modified.
    transactions.update_transaction(
        db, world.agent, world.deal.id or 0, {"closing_date": "2024-02-27"}
    )
    later = NOW + timedelta(hours=1)
    moved = calendar_feeds.answer(db, feed, user, if_none_match=first.etag, now=later)
    assert moved.body is not None and moved.etag != first.etag
    assert moved.last_modified > first.last_modified
    # A change the client may not see leaves the client's feed as it was.
    ctoken = calendar_feeds.create_or_reset(db, world.client)
    cfeed, cuser = calendar_feeds.resolve(db, ctoken) or (None, None)
    assert cfeed is not None and cuser is not None
    c1 = calendar_feeds.answer(db, cfeed, cuser, now=later)
    key_dates.override_key_date(
        db, world.agent, world.deal.id or 0, "inspection", "2024-01-24", "Seller asked"
    )
    c2 = calendar_feeds.answer(db, cfeed, cuser, if_none_match=c1.etag, now=later)
    assert c2.body is None


def test_a_file_download_and_a_single_date_follow_the_same_rules(db: Session, world: World) -> None:
    _setup(db, world)
    deal = world.deal.id or 0
    body, name = calendar_feeds.file_calendar(db, world.agent, deal)
    assert name == "12-harbor-view-rd.ics"
    assert len(icalendar.Calendar.from_ical(body).walk("VEVENT")) == len(DEAL_DATES)
    one, one_name = calendar_feeds.file_calendar(db, world.client, deal, "closing")
    events = icalendar.Calendar.from_ical(one).walk("VEVENT")
    assert one_name == "12-harbor-view-rd-closing.ics" and len(events) == 1
    assert events[0].decoded("DTSTART") == date(2024, 2, 20)
    with pytest.raises(NotFound):  # hidden from outside parties
        calendar_feeds.file_calendar(db, world.client, deal, "inspection")
    with pytest.raises(NotFound):  # no such date
        calendar_feeds.file_calendar(db, world.agent, deal, "nope")
    for who in ("agent2", "client2", "outsider_agent", "outsider_admin"):
        with pytest.raises(NotFound):
            calendar_feeds.file_calendar(db, world.user(who), deal)
    # A closing without a key date can be added on its own too.
    other, _ = calendar_feeds.file_calendar(db, world.agent2, world.other_deal.id or 0, "closing")
    assert len(icalendar.Calendar.from_ical(other).walk("VEVENT")) == 1
