"""Calendar feeds: a private iCalendar (RFC 5545) subscription link per user, and .ics files.

The link is ``<public backend URL>/feeds/calendar.ics?token=<token>``: a 256-bit random token
whose HMAC (``auth.hash_token``) is all the database keeps, so the link is shown once, when it
is made or reset. Calendar apps send no cookie, so the token is the whole credential:

- an unknown, reset or turned-off token, or one whose user is deactivated, finds nothing (the
  route answers 404, the same for every case); deactivating a user also deletes their link;
- every read re-applies the access policy for the user behind the token: the key dates and
  closings of the files they may see now (outside parties only the dates shared with them),
  never another organization's rows;
- reads are rate-limited per token (``rate_limit.CALENDAR_FEED``).

Events have stable UIDs (file id + key-date key, task id), so a moved date replaces its event.
A date without a cutoff is an all-day event; a deadline with a cutoff is a timed event in the
brokerage's zone (with its VTIMEZONE). Future dates of closed or cancelled files are left out
(the calendar app drops them on its next refresh); their past dates stay as history.

The ETag is a hash of the feed's content model, worked out before any iCalendar is rendered:
a poll that changes nothing costs a few queries and a 304. ``content_changed_at`` (the
Last-Modified) moves only when that hash does.
"""

from __future__ import annotations

import hashlib
import json
import secrets
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import Any
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo

import icalendar
from sqlalchemy import func, or_
from sqlmodel import Session, col, delete, select

from chronos import routes
from chronos.models import (
    CalendarFeed,
    KeyDate,
    Organization,
    Participant,
    Stage,
    Task,
    Transaction,
    User,
    utcnow,
)
from chronos.services import access, auth, security_log
from chronos.services.errors import NotFound
from chronos.services.security_log import Client

FEED_PATH = "/feeds/calendar.ics"
FILE_PATH = "/feeds/transactions/{transaction_id}.ics"
DATE_PATH = "/feeds/transactions/{transaction_id}/{key}.ics"
TOKEN_BYTES = 32  # 256 bits: 43 URL-safe characters
MAX_TOKEN_LENGTH = 100
PAST_DAYS = 90  # the feed reaches this far back...
AHEAD_DAYS = 400  # ...and this far ahead (a year of contracts and their closings)
MAX_EVENTS = 2000  # a busy admin's feed stays a few hundred KB
FORMAT = "1"  # part of the ETag: bump when the rendering changes
_TOUCH_INTERVAL = timedelta(minutes=15)
_END_OF_DAY = time(23, 59, 59)  # the engine's due_at for a date without a cutoff
OPEN_TASK = "open"

KIND_CREATED = security_log.Kind.CALENDAR_FEED_CREATED
KIND_RESET = security_log.Kind.CALENDAR_FEED_RESET
KIND_OFF = security_log.Kind.CALENDAR_FEED_OFF


# ---------------------------------------------------------------- the link


@dataclass(frozen=True)
class FeedStatus:
    active: bool
    include_tasks: bool
    created_at: datetime | None
    last_used_at: datetime | None
    zone: str  # the brokerage's time zone, to show those times in


def feed_url(token: str) -> str:
    """The absolute subscription URL for ``token`` (https wherever CHRONOS_PUBLIC_URL is)."""
    return routes.backend_url(f"{FEED_PATH}?token={token}")


def _feed_of(db: Session, user_id: int) -> CalendarFeed | None:
    return db.exec(select(CalendarFeed).where(CalendarFeed.user_id == user_id)).first()


def _status(db: Session, actor: User, feed: CalendarFeed | None) -> FeedStatus:
    zone = _zone_of(db.get(Organization, actor.org_id)).key
    if feed is None:
        return FeedStatus(False, False, None, None, zone)
    return FeedStatus(True, feed.include_tasks, feed.created_at, feed.last_used_at, zone)


def status(db: Session, actor: User | None) -> FeedStatus:
    actor = access.require_active(actor)
    return _status(db, actor, _feed_of(db, actor.id or 0))


def create_or_reset(
    db: Session,
    actor: User | None,
    *,
    include_tasks: bool | None = None,
    client: Client | None = None,
) -> str:
    """Make the actor's link, or replace it (the old one stops at once). Returns the token:
    the only time it exists outside the browser that shows it."""
    actor = access.require_active(actor)
    assert actor.id is not None
    token = secrets.token_urlsafe(TOKEN_BYTES)
    feed = _feed_of(db, actor.id)
    now = utcnow()
    kind = KIND_RESET if feed is not None else KIND_CREATED
    if feed is None:
        feed = CalendarFeed(org_id=actor.org_id, user_id=actor.id, token_hash="", created_at=now)
    feed.token_hash = auth.hash_token(token)
    feed.created_at = now
    feed.last_used_at = None
    feed.content_hash, feed.content_changed_at = "", None
    if include_tasks is not None:
        feed.include_tasks = bool(include_tasks)
    db.add(feed)
    security_log.record(
        db,
        kind,
        org_id=actor.org_id,
        user_id=actor.id,
        actor_id=actor.id,
        email=actor.email,
        client=client,
    )
    db.flush()
    return token


def turn_off(db: Session, actor: User | None, *, client: Client | None = None) -> bool:
    """Delete the actor's link (every calendar using it stops updating). False if none."""
    actor = access.require_active(actor)
    if not revoke_for(db, actor.id or 0):
        return False
    security_log.record(
        db,
        KIND_OFF,
        org_id=actor.org_id,
        user_id=actor.id,
        actor_id=actor.id,
        email=actor.email,
        client=client,
    )
    db.flush()
    return True


def revoke_for(db: Session, user_id: int) -> bool:
    """Delete a user's link whoever asks (deactivation). True if there was one."""
    result = db.exec(delete(CalendarFeed).where(col(CalendarFeed.user_id) == user_id))
    db.flush()
    return bool(getattr(result, "rowcount", 0))


def set_include_tasks(db: Session, actor: User | None, include: bool) -> FeedStatus:
    """Add (or drop) the actor's own open tasks to their feed. NotFound without a link."""
    actor = access.require_active(actor)
    feed = _feed_of(db, actor.id or 0)
    if feed is None:
        raise NotFound("You have no calendar link yet.")
    feed.include_tasks = bool(include)
    db.add(feed)
    db.flush()
    return _status(db, actor, feed)


def token_matches(db: Session, actor: User | None, token: str) -> bool:
    """True when ``token`` is the actor's current link (a page shows a link only while so)."""
    if actor is None or not token or len(token) > MAX_TOKEN_LENGTH:
        return False
    feed = _feed_of(db, actor.id or 0)
    return feed is not None and secrets.compare_digest(feed.token_hash, auth.hash_token(token))


def resolve(db: Session, token: str | None) -> tuple[CalendarFeed, User] | None:
    """The feed and its active user behind a token, or None (unknown, reset, off, inactive)."""
    if not token or len(token) > MAX_TOKEN_LENGTH:
        return None
    row = db.exec(
        select(CalendarFeed, User)
        .join(User, col(User.id) == CalendarFeed.user_id)
        .where(CalendarFeed.token_hash == auth.hash_token(token))
    ).first()
    if row is None:
        return None
    feed, user = row
    if not user.is_active or user.org_id != feed.org_id:
        return None
    return feed, user


def limit_key(token: str) -> str:
    """The rate limiter's key for a token: its hash (the token never reaches Redis)."""
    return auth.hash_token(token)


# ---------------------------------------------------------------- what goes in


@dataclass(frozen=True)
class FeedItem:
    uid: str
    summary: str
    day: str  # ISO date
    at: str  # ISO local time of the cutoff ("17:00:00"), "" = all day
    transaction_id: int
    address: str
    link: str  # absolute URL of the file in the app
    kind: str  # key_date | closing | task
    note: str  # extra line in the description ("" when none)


def _zone_of(org: Organization | None) -> ZoneInfo:
    return ZoneInfo(org.timezone if org is not None and org.timezone else "America/New_York")


def _utc(value: datetime | None) -> datetime:
    if value is None:
        return datetime(2000, 1, 1, tzinfo=UTC)
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def _uid_host() -> str:
    return urlsplit(routes.public_url("/")).hostname or "chronos"


def _short(address: str) -> str:
    return address.split(",")[0].strip() or address


def _file_link(actor: User, txn_id: int) -> str:
    path = routes.transaction(txn_id) if actor.is_staff else routes.portal_transaction(txn_id)
    return routes.public_url(path)


def _cutoff(kd: KeyDate, zone: ZoneInfo) -> str:
    """The deadline's local time when it has a cutoff, "" for a date-only deadline."""
    if kd.due_at is None or kd.day is None:
        return ""
    local = _utc(kd.due_at).astimezone(zone)
    if local.date() != kd.day or local.time().replace(microsecond=0) == _END_OF_DAY:
        return ""
    return local.time().replace(microsecond=0).isoformat()


def _stage_note(txn: Transaction) -> str:
    stage = Stage(txn.stage)
    return "" if stage.is_open else f"This file is {stage.label.lower()}."


def _key_date_item(
    actor: User, kd: KeyDate, txn: Transaction, zone: ZoneInfo, host: str
) -> FeedItem:
    assert kd.day is not None and txn.id is not None
    return FeedItem(
        uid=f"txn{txn.id}-{kd.key}@{host}",
        summary=f"{kd.label} · {_short(txn.address)}",
        day=kd.day.isoformat(),
        at=_cutoff(kd, zone),
        transaction_id=txn.id,
        address=txn.address,
        link=_file_link(actor, txn.id),
        kind="closing" if kd.key == "closing" else "key_date",
        note=_stage_note(txn),
    )


def _closing_item(actor: User, txn: Transaction, host: str) -> FeedItem:
    assert txn.closing_date is not None and txn.id is not None
    return FeedItem(
        # The same UID as a "closing" key date: applying a preset later replaces this event.
        uid=f"txn{txn.id}-closing@{host}",
        summary=f"Closing · {_short(txn.address)}",
        day=txn.closing_date.isoformat(),
        at="",
        transaction_id=txn.id,
        address=txn.address,
        link=_file_link(actor, txn.id),
        kind="closing",
        note=_stage_note(txn),
    )


def _task_item(actor: User, task: Task, txn: Transaction, host: str) -> FeedItem:
    assert task.due_date is not None and txn.id is not None
    return FeedItem(
        uid=f"task{task.id}@{host}",
        summary=f"Task: {task.title} · {_short(txn.address)}",
        day=task.due_date.isoformat(),
        at="",
        transaction_id=txn.id,
        address=txn.address,
        link=_file_link(actor, txn.id),
        kind="task",
        note="A task assigned to you.",
    )


def _date_filters(today: date) -> tuple[Any, Any]:
    """(key-date day expression, "open file or not in the future" for that day)."""
    day = func.coalesce(col(KeyDate.override_date), col(KeyDate.computed_date))
    is_open = col(Transaction.stage).not_in([Stage.CLOSED.value, Stage.CANCELLED.value])
    return day, or_(is_open, day <= today)


def collect(
    db: Session,
    actor: User,
    *,
    include_tasks: bool = False,
    today: date | None = None,
    transaction_id: int | None = None,
    key: str | None = None,
) -> list[FeedItem]:
    """The events ``actor`` may see now: key dates and closings of their files (outside
    parties: only the shared dates), and with ``include_tasks`` their own open tasks.

    ``transaction_id`` narrows it to one file (and ``key`` to one of its dates); without it the
    window is PAST_DAYS back to AHEAD_DAYS ahead, at most MAX_EVENTS events, soonest first.
    """
    actor = access.require_active(actor)
    org = db.get(Organization, actor.org_id)
    zone = _zone_of(org)
    today = today or datetime.now(zone).date()
    host = _uid_host()
    day, not_future_of_shut = _date_filters(today)
    kd_where: list[Any] = [
        KeyDate.org_id == actor.org_id,
        access.visible_transactions(actor),
        col(KeyDate.computed_date).is_not(None) | col(KeyDate.override_date).is_not(None),
        not_future_of_shut,
    ]
    txn_where: list[Any] = [
        Transaction.org_id == actor.org_id,
        access.visible_transactions(actor),
        col(Transaction.closing_date).is_not(None),
        or_(
            col(Transaction.stage).not_in([Stage.CLOSED.value, Stage.CANCELLED.value]),
            col(Transaction.closing_date) <= today,
        ),
        ~select(KeyDate.id)
        .where(KeyDate.transaction_id == Transaction.id, KeyDate.key == "closing")
        .exists(),
    ]
    if not actor.is_staff:
        kd_where.append(col(KeyDate.shared_with_parties).is_(True))
    if transaction_id is not None:
        kd_where.append(KeyDate.transaction_id == transaction_id)
        txn_where.append(Transaction.id == transaction_id)
        if key is not None:
            kd_where.append(KeyDate.key == key)
            if key != "closing":
                txn_where.append(Transaction.id == -1)
    else:
        start, end = today - timedelta(days=PAST_DAYS), today + timedelta(days=AHEAD_DAYS)
        kd_where += [day >= start, day <= end]
        txn_where += [col(Transaction.closing_date) >= start, col(Transaction.closing_date) <= end]
    kd_rows = db.exec(
        select(KeyDate, Transaction)
        .join(Transaction, col(Transaction.id) == KeyDate.transaction_id)
        .where(*kd_where)
        .order_by(day, col(KeyDate.transaction_id), col(KeyDate.position))
        .limit(MAX_EVENTS)
    ).all()
    items = [_key_date_item(actor, kd, txn, zone, host) for kd, txn in kd_rows]
    closings = db.exec(
        select(Transaction)
        .where(*txn_where)
        .order_by(col(Transaction.closing_date), col(Transaction.id))
        .limit(MAX_EVENTS)
    ).all()
    items += [_closing_item(actor, txn, host) for txn in closings]
    if include_tasks and transaction_id is None:
        items += _task_items(db, actor, today, host)
    items.sort(key=lambda i: (i.day, i.at or "99", i.transaction_id, i.uid))
    return items[:MAX_EVENTS]


def _task_items(db: Session, actor: User, today: date, host: str) -> list[FeedItem]:
    mine: Any
    if actor.is_staff:
        mine = Task.assignee_user_id == actor.id
    else:
        mine = col(Task.assignee_participant_id).in_(
            select(Participant.id).where(Participant.user_id == actor.id)
        )
    rows = db.exec(
        select(Task, Transaction)
        .join(Transaction, col(Transaction.id) == Task.transaction_id)
        .where(
            Task.org_id == actor.org_id,
            access.visible_transactions(actor),
            col(Transaction.stage).not_in([Stage.CLOSED.value, Stage.CANCELLED.value]),
            Task.status == OPEN_TASK,
            mine,
            col(Task.due_date) >= today - timedelta(days=PAST_DAYS),
            col(Task.due_date) <= today + timedelta(days=AHEAD_DAYS),
        )
        .order_by(col(Task.due_date), col(Task.id))
        .limit(MAX_EVENTS)
    ).all()
    return [_task_item(actor, task, txn, host) for task, txn in rows]


# ---------------------------------------------------------------- rendering


@dataclass(frozen=True)
class Rendered:
    body: bytes
    etag: str  # quoted, strong


def fingerprint(items: Sequence[FeedItem], *, name: str, zone: str) -> str:
    """A hash of everything the rendering shows: equal fingerprints, equal feeds."""
    payload = json.dumps(
        {"v": FORMAT, "name": name, "zone": zone, "items": [asdict(i) for i in items]},
        sort_keys=True,
        separators=(",", ":"),
    )
    return hashlib.sha256(payload.encode()).hexdigest()


def etag_of(fingerprint_hex: str) -> str:
    return f'"{fingerprint_hex[:40]}"'


def _description(item: FeedItem, zone: ZoneInfo) -> str:
    lines = [item.address]
    if item.at:
        at = time.fromisoformat(item.at)
        lines.append(f"Deadline: {at.strftime('%I:%M %p').lstrip('0').lower()} ({zone.key})")
    if item.note:
        lines.append(item.note)
    lines.append(f"Open in Chronos: {item.link}")
    return "\n".join(lines)


def render(
    items: Sequence[FeedItem],
    *,
    name: str,
    zone: ZoneInfo,
    stamp: datetime,
    refresh_hours: int = 1,
) -> bytes:
    """The iCalendar text of ``items``: one VEVENT each, and the zone's VTIMEZONE.

    ``stamp`` (every DTSTAMP) is when this content was first served: a row touched by a
    recompute that moved nothing the reader sees must not change the feed or its ETag."""
    stamp = _utc(stamp).replace(microsecond=0)
    cal = icalendar.Calendar()
    cal.add("prodid", "-//Chronos//Key dates//EN")
    cal.add("version", "2.0")
    cal.add("calscale", "GREGORIAN")
    cal.add("method", "PUBLISH")
    cal.add("x-wr-calname", name)
    cal.add("x-wr-timezone", zone.key)
    # Hints for how often to poll (Apple, Outlook); the ETag makes a poll cheap anyway.
    cal.add("refresh-interval", timedelta(hours=refresh_hours), parameters={"VALUE": "DURATION"})
    cal.add("x-published-ttl", f"PT{refresh_hours}H")
    days: list[date] = []
    for item in items:
        day = date.fromisoformat(item.day)
        days.append(day)
        event = icalendar.Event()
        event.add("uid", item.uid)
        event.add("dtstamp", stamp)
        event.add("summary", item.summary)
        if item.at:
            # A moment, not a span: DTSTART without DTEND ends where it starts (RFC 5545).
            event.add("dtstart", datetime.combine(day, time.fromisoformat(item.at), tzinfo=zone))
        else:
            event.add("dtstart", day)
            event.add("dtend", day + timedelta(days=1))
            event.add("transp", "TRANSPARENT")  # an all-day deadline does not make one busy
        event.add("description", _description(item, zone))
        event.add("location", item.address)
        event.add("url", item.link)
        event.add("categories", [item.kind.replace("_", " ")])
        event.add("status", "CONFIRMED")
        cal.add_component(event)
    if any(item.at for item in items):
        first = min(days) - timedelta(days=366)
        last = max(days) + timedelta(days=366)
        cal.add_missing_timezones(first_date=first, last_date=last)
    return bytes(cal.to_ical())


def calendar_name(org: Organization | None, user: User) -> str:
    brokerage = org.name if org is not None else "Chronos"
    return f"{brokerage} · {user.full_name}"


# ---------------------------------------------------------------- serving the feed


@dataclass(frozen=True)
class FeedAnswer:
    etag: str
    last_modified: datetime
    body: bytes | None  # None: the client's copy is current (304)


def answer(
    db: Session,
    feed: CalendarFeed,
    user: User,
    *,
    if_none_match: str | None = None,
    if_modified_since: datetime | None = None,
    now: datetime | None = None,
) -> FeedAnswer:
    """Work out the feed for a resolved token; render it only if the client's copy is stale.

    Records the new content hash and its time (Last-Modified) when the content changed, and
    when the link was last read (at most every 15 minutes: polling must not write each time).
    """
    now = now or utcnow()
    org = db.get(Organization, user.org_id)
    zone = _zone_of(org)
    name = calendar_name(org, user)
    items = collect(db, user, include_tasks=feed.include_tasks, today=now.astimezone(zone).date())
    digest = fingerprint(items, name=name, zone=zone.key)
    if feed.content_hash != digest or feed.content_changed_at is None:
        feed.content_hash, feed.content_changed_at = digest, now
        db.add(feed)
    if feed.last_used_at is None or now - _utc(feed.last_used_at) > _TOUCH_INTERVAL:
        feed.last_used_at = now
        db.add(feed)
    etag = etag_of(digest)
    changed = _utc(feed.content_changed_at).replace(microsecond=0)
    if if_none_match is not None:
        fresh = etag in {t.strip().removeprefix("W/") for t in if_none_match.split(",")}
        fresh = fresh or if_none_match.strip() == "*"
    else:
        fresh = if_modified_since is not None and changed <= _utc(if_modified_since)
    if fresh:
        return FeedAnswer(etag, changed, None)
    return FeedAnswer(etag, changed, render(items, name=name, zone=zone, stamp=changed))


def file_calendar(
    db: Session, actor: User | None, transaction_id: int, key: str | None = None
) -> tuple[bytes, str]:
    """One file's dates (or one of them, ``key``) as an .ics to open in a calendar app, and a
    file name for it. NotFound for a file the actor may not see or a date hidden from them."""
    actor = access.require_active(actor)
    txn = access.get_visible_transaction(db, actor, transaction_id)
    items = collect(db, actor, transaction_id=txn.id, key=key)
    if key is not None and not items:
        raise NotFound("Key date not found.")
    org = db.get(Organization, actor.org_id)
    zone = _zone_of(org)
    short = _short(txn.address)
    name = f"{short} · {items[0].summary.split(' · ')[0]}" if key is not None else short
    slug = "".join(c if c.isalnum() else "-" for c in short.lower()).strip("-") or "file"
    filename = f"{slug}-{key}.ics" if key else f"{slug}.ics"
    return render(items, name=name, zone=zone, stamp=utcnow()), filename
