"""The calendar routes by URL, on SQLite and PostgreSQL: the feed answers its token with no
cookie, 404 for every dead token, 304 to an unchanged poll, 429 past the per-token limit,
403 to a foreign Origin; the per-file and per-date downloads follow the session and the
access policy."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date
from urllib.parse import urlsplit

import icalendar
import pytest
from sqlalchemy.engine import Engine
from sqlmodel import Session
from starlette.testclient import TestClient

from chronos import db as chronos_db
from chronos import settings
from chronos.services import auth, calendar_feeds, key_dates, rate_limit, transactions, user_admin
from tests.factories import DEFAULT_PASSWORD, World, build_world

ORIGIN = "http://testserver"


@dataclass
class Feeds:
    http: TestClient
    engine: Engine
    world: World

    def link(self, who: str) -> str:
        """A fresh link for ``who``, as the path + query the client fetches."""
        with chronos_db.session_scope(self.engine) as db:
            token = calendar_feeds.create_or_reset(db, self.world.user(who))
        parts = urlsplit(calendar_feeds.feed_url(token))
        return f"{parts.path}?{parts.query}"

    def signed_in(self, who: str | None) -> TestClient:
        self.http.cookies.clear()
        if who is not None:
            with chronos_db.session_scope(self.engine) as db:
                user = self.world.user(who)
                token = auth.sign_in(db, email=user.email, password=DEFAULT_PASSWORD).token
            self.http.cookies.set(settings.get_settings().cookie_name, token)
        return self.http


@pytest.fixture
def feeds(engine: Engine, monkeypatch: pytest.MonkeyPatch) -> Iterator[Feeds]:
    monkeypatch.setattr(chronos_db, "get_engine", lambda: engine)
    with Session(engine, expire_on_commit=False) as db:
        world = build_world(db)
        db.commit()
        key_dates.apply_preset(db, world.agent, world.deal.id or 0, "generic_financed")
        key_dates.set_shared(db, world.agent, world.deal.id or 0, "inspection", False)
        # Dates around today, so they fall in the feed's window whenever the tests run.
        today = date.today()
        transactions.update_transaction(
            db,
            world.agent,
            world.deal.id or 0,
            {
                "effective_date": (today.replace(day=1)).isoformat(),
                "closing_date": date.fromordinal(today.toordinal() + 40).isoformat(),
            },
        )
        db.commit()
    from chronos.api.app import create_api

    http = TestClient(create_api(), base_url=ORIGIN, follow_redirects=False)
    yield Feeds(http, engine, world)


def _uids(body: bytes) -> set[str]:
    return {str(e["UID"]).split("@")[0] for e in icalendar.Calendar.from_ical(body).walk("VEVENT")}


def test_the_feed_answers_its_token_without_any_cookie(feeds: Feeds) -> None:
    link = feeds.link("agent")
    http = feeds.signed_in(None)
    r = http.get(link)
    assert r.status_code == 200, r.text
    assert r.headers["content-type"] == "text/calendar; charset=utf-8"
    assert r.headers["cache-control"] == "private, no-cache"
    assert r.headers["x-content-type-options"] == "nosniff"
    assert r.headers["etag"].startswith('"') and r.headers["last-modified"].endswith("GMT")
    deal = feeds.world.deal.id
    assert f"txn{deal}-closing" in _uids(r.content)
    assert f"txn{deal}-inspection" in _uids(r.content)
    assert "set-cookie" not in r.headers


def test_a_client_feed_never_holds_a_hidden_date_or_another_deal(feeds: Feeds) -> None:
    r = feeds.signed_in(None).get(feeds.link("client"))
    assert r.status_code == 200
    uids = _uids(r.content)
    deal = feeds.world.deal.id
    assert f"txn{deal}-closing" in uids and f"txn{deal}-inspection" not in uids
    assert all(u.startswith(f"txn{deal}-") for u in uids)
    assert b"Inspection period ends" not in r.content
    outsider = feeds.signed_in(None).get(feeds.link("outsider_admin"))
    assert outsider.status_code == 200 and _uids(outsider.content) == set()


def test_an_unchanged_poll_is_a_304_without_a_body(feeds: Feeds) -> None:
    link = feeds.link("agent")
    http = feeds.signed_in(None)
    first = http.get(link)
    etag, modified = first.headers["etag"], first.headers["last-modified"]
    again = http.get(link, headers={"If-None-Match": etag})
    assert again.status_code == 304 and again.content == b""
    assert again.headers["etag"] == etag
    since = http.get(link, headers={"If-Modified-Since": modified})
    assert since.status_code == 304
    with chronos_db.session_scope(feeds.engine) as db:
        key_dates.override_key_date(
            db, feeds.world.agent, feeds.world.deal.id or 0, "appraisal", date.today(), "Moved up"
        )
    moved = http.get(link, headers={"If-None-Match": etag})
    assert moved.status_code == 200 and moved.headers["etag"] != etag


@pytest.mark.parametrize(
    "query", ["", "?token=", "?token=nope", "?token=" + "a" * 43, "?token=" + "x" * 4000]
)
def test_unknown_tokens_are_a_plain_404(feeds: Feeds, query: str) -> None:
    r = feeds.signed_in("agent").get(calendar_feeds.FEED_PATH + query)
    assert r.status_code == 404 and r.text == "Not found."


def test_reset_off_and_deactivation_each_turn_the_link_into_a_404(feeds: Feeds) -> None:
    http = feeds.signed_in(None)
    old = feeds.link("agent")
    assert http.get(old).status_code == 200
    new = feeds.link("agent")  # reset
    assert http.get(old).status_code == 404
    assert http.get(new).status_code == 200
    with chronos_db.session_scope(feeds.engine) as db:
        calendar_feeds.turn_off(db, feeds.world.agent)
    assert http.get(new).status_code == 404
    lender = feeds.link("lender")
    assert http.get(lender).status_code == 200
    with chronos_db.session_scope(feeds.engine) as db:
        user_admin.deactivate(db, feeds.world.admin, feeds.world.lender.id or 0)
    r = http.get(lender)
    assert r.status_code == 404 and r.text == "Not found."


def test_a_foreign_origin_is_refused_and_no_origin_is_fine(feeds: Feeds) -> None:
    link = feeds.link("agent")
    http = feeds.signed_in(None)
    assert http.get(link, headers={"Origin": "https://evil.example"}).status_code == 403
    assert http.get(link, headers={"Origin": ORIGIN}).status_code == 200
    assert http.get(link).status_code == 200


def test_each_token_is_rate_limited(feeds: Feeds, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(
        rate_limit, "CALENDAR_FEED", rate_limit.Policy("calendar_feed", "3/hour", "Slow down.")
    )
    link, other = feeds.link("agent"), feeds.link("client")
    http = feeds.signed_in(None)
    assert [http.get(link).status_code for _ in range(3)] == [200, 200, 200]
    limited = http.get(link)
    assert limited.status_code == 429 and int(limited.headers["retry-after"]) > 0
    assert http.get(other).status_code == 200  # per token, not per address


def test_file_and_date_downloads_follow_the_session_and_the_policy(feeds: Feeds) -> None:
    deal = feeds.world.deal.id
    file_path, closing, hidden = (
        f"/feeds/transactions/{deal}.ics",
        f"/feeds/transactions/{deal}/closing.ics",
        f"/feeds/transactions/{deal}/inspection.ics",
    )
    assert feeds.signed_in(None).get(file_path).status_code == 401
    agent = feeds.signed_in("agent")
    r = agent.get(file_path)
    assert r.status_code == 200 and r.headers["content-disposition"].startswith("attachment")
    assert f"txn{deal}-inspection" in _uids(r.content)
    client = feeds.signed_in("client")
    one = client.get(closing)
    assert one.status_code == 200 and _uids(one.content) == {f"txn{deal}-closing"}
    assert client.get(hidden).status_code == 404
    assert f"txn{deal}-inspection" not in _uids(client.get(file_path).content)
    for who in ("agent2", "client2", "outsider_admin"):
        assert feeds.signed_in(who).get(file_path).status_code == 404, who
    assert agent.get(file_path, headers={"Origin": "https://evil.example"}).status_code == 403
    assert agent.get(f"/feeds/transactions/{2**40}.ics").status_code == 404
