"""Outgoing webhooks: a staff user (or an admin, for the whole brokerage) subscribes a URL to
event types; each event on a file the subscription's owner may see is delivered to it, signed
the Standard Webhooks way, retried with backoff for about a day, and never dropped silently.

- **Events** come from the timeline (``timeline.record`` calls ``emit`` for the kinds mapped in
  ``KIND_TYPES``) and from ``messages`` (``message.posted``), in the same unit of work as the
  change: a rolled-back change sends nothing. Payloads are thin on purpose: ids, the file's
  address and stage, the timeline's one-line summary; an integrator reads the rest through the
  API with a token, under the same access rules.
- **Delivery** (``deliver_due``, run by the ``deliver_webhooks`` job after each commit and by a
  sweep every minute): POST with ``webhook-id`` (the event's id, for dedupe),
  ``webhook-timestamp`` and ``webhook-signature`` (``v1,`` + base64 HMAC-SHA256 of
  ``{id}.{timestamp}.{body}`` keyed with the secret's base64 part; re-signed on every attempt),
  a 10 s timeout and no redirects followed. 2xx is delivered; anything else is retried after
  ``RETRY_DELAYS`` (±20 % jitter), then marked failed (it can be redelivered).
- **Never silently disabled**: after ``PAUSE_AFTER`` failed attempts in a row the subscription
  pauses, its owner gets a notification and an email with the last error, and one click
  resumes it (what waited is then sent). When the owner can no longer see a file, that file's
  deliveries are skipped and the owner is told why, once per file.
- **Outbound safety**: only http(s) URLs without credentials; a host that resolves to a
  loopback, private, link-local, reserved or metadata address is refused, at subscribe time and
  again before every attempt, unless the operator lists it in
  ``CHRONOS_WEBHOOK_ALLOWED_HOSTS``.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import ipaddress
import json
import logging
import random
import secrets
import socket
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any
from urllib.parse import urlsplit

import httpx
from sqlalchemy import event as sa_event
from sqlalchemy import update
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session as OrmSession
from sqlmodel import Session, col, func, select

from chronos.models import (
    Role,
    Transaction,
    User,
    WebhookDelivery,
    WebhookEvent,
    WebhookSubscription,
    utcnow,
)
from chronos.services import access
from chronos.services.errors import NotFound, ValidationFailed
from chronos.services.validation import InvalidValue, clean_text, in_id_range
from chronos.settings import get_settings

log = logging.getLogger(__name__)

TYPES: dict[str, str] = {
    "transaction.created": "File created",
    "transaction.updated": "File details or dates changed",
    "transaction.stage_changed": "Stage changed",
    "transaction.closed": "File closed",
    "transaction.cancelled": "File cancelled",
    "participant.added": "Participant added",
    "participant.removed": "Participant removed",
    "key_date.changed": "Key date changed",
    "task.created": "Task created",
    "task.completed": "Task completed",
    "document.uploaded": "Document uploaded",
    "document.reviewed": "Document reviewed",
    "document.updated": "Document changed (title, category, sharing)",
    "signature.completed": "Signature completed",
    "message.posted": "Message posted",
    "condition.changed": "Loan condition changed",
}
# Timeline kinds → webhook types (a stage change may also be a closing or a cancellation).
KIND_TYPES: dict[str, str] = {
    "transaction_created": "transaction.created",
    "details_updated": "transaction.updated",
    "dates_changed": "transaction.updated",
    "stage_changed": "transaction.stage_changed",
    "participant_added": "participant.added",
    "participant_removed": "participant.removed",
    "key_dates_applied": "key_date.changed",
    "key_dates_moved": "key_date.changed",
    "key_date_overridden": "key_date.changed",
    "key_date_override_removed": "key_date.changed",
    "task_added": "task.created",
    "task_completed": "task.completed",
    "document_added": "document.uploaded",
    "document_version": "document.uploaded",
    "document_accepted": "document.reviewed",
    "document_returned": "document.reviewed",
    "document_updated": "document.updated",
    "signature_completed": "signature.completed",
    "condition_added": "condition.changed",
    "condition_updated": "condition.changed",
    "condition_received": "condition.changed",
    "condition_accepted": "condition.changed",
    "condition_returned": "condition.changed",
    "condition_waived": "condition.changed",
    "condition_deleted": "condition.changed",
}
STAFF = frozenset({Role.ADMIN, Role.AGENT, Role.COORDINATOR})
RETRY_DELAYS = (30, 120, 600, 1800, 3600, 7200, 14400, 28800, 28800, 28800)  # ≈ 25 h
PAUSE_AFTER = 15  # failed attempts in a row
TIMEOUT_SECONDS = 10.0
LEASE = timedelta(minutes=2)  # a claimed delivery is not picked again while being sent
MAX_PER_OWNER = 10
KEEP_EVENTS = timedelta(days=30)
_PENDING = "chronos.webhooks.pending"


# ---------------------------------------------------------------- subscriptions


@dataclass(frozen=True)
class SubscriptionRow:
    id: int
    url: str
    description: str
    types: list[str]
    type_labels: str
    owner_name: str
    state: str
    paused_reason: str
    consecutive_failures: int
    created: str
    pending: int
    failed: int


@dataclass(frozen=True)
class DeliveryRow:
    id: int
    event_uid: str
    type: str
    status: str
    attempts: int
    last_status_code: int  # 0: no answer
    last_error: str
    response_excerpt: str
    created: str
    last_attempt: str
    next_attempt: str


def _iso(value: datetime | None) -> str:
    return value.isoformat(timespec="seconds") if value is not None else ""


def _staff(actor: User | None) -> User:
    return access.require_role(actor, STAFF, "Only the brokerage's team can use webhooks.")


def _managed(db: Session, actor: User, subscription_id: object) -> WebhookSubscription:
    """The actor's own subscription, or (admins) any of their brokerage's."""
    if isinstance(subscription_id, bool) or not isinstance(subscription_id, int):
        raise NotFound("There is no such webhook.")
    sub = db.get(WebhookSubscription, subscription_id) if in_id_range(subscription_id) else None
    if sub is None or sub.org_id != actor.org_id:
        raise NotFound("There is no such webhook.")
    if sub.owner_id != actor.id and actor.role_enum is not Role.ADMIN:
        raise NotFound("There is no such webhook.")
    return sub


def _blocked_address(address: str) -> bool:
    ip = ipaddress.ip_address(address)
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        ip = ip.ipv4_mapped
    return (
        ip.is_loopback
        or ip.is_private
        or ip.is_link_local
        or ip.is_reserved
        or ip.is_multicast
        or ip.is_unspecified
        or str(ip) == "100.100.100.200"  # a cloud metadata address outside the private ranges
        or ip in ipaddress.ip_network("100.64.0.0/10")  # carrier-grade NAT
    )


Resolver = Callable[[str, int], list[str]]


def _resolve(host: str, port: int) -> list[str]:
    infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    return sorted({str(info[4][0]) for info in infos})


def check_url(raw: object, *, resolver: Resolver = _resolve) -> str:
    """The URL if it may receive webhooks; ``ValidationFailed`` on ``url`` saying why not."""
    if not isinstance(raw, str) or not raw.strip():
        raise InvalidValue("Enter the URL that should receive the events.", "url")
    url = raw.strip()
    if len(url) > 500:
        raise InvalidValue("The URL is longer than 500 characters.", "url")
    try:
        parts = urlsplit(url)
        port = parts.port or (443 if parts.scheme == "https" else 80)
    except ValueError:
        raise InvalidValue("This is not a valid URL.", "url") from None
    if parts.scheme not in ("https", "http") or not parts.hostname:
        raise InvalidValue("Use an https:// (or http://) URL.", "url")
    if parts.username or parts.password:
        raise InvalidValue("Leave user names and passwords out of the URL.", "url")
    host = parts.hostname.lower()
    allowed = get_settings().webhook_allowed_hosts
    if host in allowed or f"{host}:{port}" in allowed:
        return url
    try:
        addresses = [host] if _is_ip(host) else resolver(host, port)
    except OSError:
        raise InvalidValue(f"The host {host} could not be found.", "url") from None
    if not addresses or any(_blocked_address(a) for a in addresses):
        raise InvalidValue(
            f"{host} is a local or private address; webhooks go to public addresses only.",
            "url",
        )
    return url


def _is_ip(host: str) -> bool:
    try:
        ipaddress.ip_address(host.strip("[]"))
    except ValueError:
        return False
    return True


def _types(raw: object) -> list[str]:
    if not isinstance(raw, list) or not all(isinstance(t, str) for t in raw):
        raise InvalidValue("Choose the events to send as a list.", "types")
    chosen = list(dict.fromkeys(raw))
    unknown = [t for t in chosen if t not in TYPES]
    if unknown:
        raise InvalidValue(f"There is no event type {unknown[0][:60]!r}.", "types")
    if not chosen:
        raise InvalidValue("Choose at least one event.", "types")
    return [t for t in TYPES if t in chosen]


def new_secret() -> str:
    return "whsec_" + base64.b64encode(secrets.token_bytes(24)).decode()


@dataclass(frozen=True)
class Created:
    row: SubscriptionRow
    secret: str


def subscribe(
    db: Session,
    actor: User | None,
    *,
    url: object,
    types: object,
    description: object = "",
    resolver: Resolver = _resolve,
) -> Created:
    """A new subscription owned by the actor; its secret is returned (and can be shown again
    to its owner and admins: it is a signing key, not a password)."""
    actor = _staff(actor)
    errors: dict[str, str] = {}
    checked_url, chosen = "", []
    try:
        checked_url = check_url(url, resolver=resolver)
    except ValidationFailed as exc:
        errors.update(exc.errors)
    try:
        chosen = _types(types)
    except ValidationFailed as exc:
        errors.update(exc.errors)
    try:
        label = clean_text(description or "", 200)
    except ValidationFailed as exc:
        errors["description"] = exc.message
        label = ""
    if errors:
        raise ValidationFailed(errors)
    count = db.exec(
        select(func.count())
        .select_from(WebhookSubscription)
        .where(WebhookSubscription.owner_id == actor.id)
    ).one()
    if count >= MAX_PER_OWNER:
        raise ValidationFailed({"url": f"You have {count} webhooks; remove one first."})
    sub = WebhookSubscription(
        org_id=actor.org_id,
        owner_id=actor.id or 0,
        url=checked_url,
        description=label,
        event_types=",".join(chosen),
        secret=new_secret(),
    )
    db.add(sub)
    db.flush()
    return Created(row=_sub_row(db, sub, actor), secret=sub.secret)


def _sub_row(db: Session, sub: WebhookSubscription, owner: User | None = None) -> SubscriptionRow:
    assert sub.id is not None
    owner = owner if owner is not None and owner.id == sub.owner_id else db.get(User, sub.owner_id)
    counts = dict(
        db.exec(
            select(WebhookDelivery.status, func.count())
            .where(WebhookDelivery.subscription_id == sub.id)
            .group_by(WebhookDelivery.status)
        ).all()
    )
    types = [t for t in sub.event_types.split(",") if t in TYPES]
    return SubscriptionRow(
        id=sub.id,
        url=sub.url,
        description=sub.description,
        types=types,
        type_labels=", ".join(TYPES[t] for t in types),
        owner_name=owner.full_name if owner else "",
        state=sub.state,
        paused_reason=sub.paused_reason,
        consecutive_failures=sub.consecutive_failures,
        created=_iso(sub.created_at),
        pending=int(counts.get("pending", 0)),
        failed=int(counts.get("failed", 0)),
    )


def list_subscriptions(db: Session, actor: User | None) -> list[SubscriptionRow]:
    """The actor's subscriptions; an admin's list holds the whole brokerage's."""
    actor = _staff(actor)
    query = select(WebhookSubscription).where(WebhookSubscription.org_id == actor.org_id)
    if actor.role_enum is not Role.ADMIN:
        query = query.where(WebhookSubscription.owner_id == actor.id)
    subs = db.exec(query.order_by(col(WebhookSubscription.id))).all()
    return [_sub_row(db, s) for s in subs]


def secret_of(db: Session, actor: User | None, subscription_id: object) -> str:
    actor = _staff(actor)
    return _managed(db, actor, subscription_id).secret


def remove(db: Session, actor: User | None, subscription_id: object) -> None:
    actor = _staff(actor)
    db.delete(_managed(db, actor, subscription_id))
    db.flush()


def resume(db: Session, actor: User | None, subscription_id: object) -> SubscriptionRow:
    """Turn a paused subscription back on: what waited is sent now."""
    actor = _staff(actor)
    sub = _managed(db, actor, subscription_id)
    if sub.state != "active":
        sub.state, sub.paused_reason, sub.paused_at = "active", "", None
        sub.consecutive_failures = 0
        db.add(sub)
        now = utcnow()
        db.execute(
            update(WebhookDelivery)
            .where(
                col(WebhookDelivery.subscription_id) == sub.id,
                col(WebhookDelivery.status) == "pending",
            )
            .values(next_attempt_at=now)
        )
        db.flush()
        deliver_after_commit(db)
    return _sub_row(db, sub)


def send_test(db: Session, actor: User | None, subscription_id: object) -> DeliveryRow:
    """Queue a ``webhook.test`` event to this subscription only."""
    actor = _staff(actor)
    sub = _managed(db, actor, subscription_id)
    evt = _new_event(
        db,
        sub.org_id,
        "webhook.test",
        None,
        {"message": "A test event from Chronos.", "subscription_id": sub.id},
    )
    delivery = WebhookDelivery(subscription_id=sub.id or 0, event_id=evt.id or 0)
    db.add(delivery)
    db.flush()
    deliver_after_commit(db)
    return _delivery_row(delivery, evt)


def redeliver(db: Session, actor: User | None, delivery_id: object) -> DeliveryRow:
    """Send a delivery again now (a failed one included), with a fresh signature."""
    actor = _staff(actor)
    if isinstance(delivery_id, bool) or not isinstance(delivery_id, int):
        raise NotFound("There is no such delivery.")
    delivery = db.get(WebhookDelivery, delivery_id) if in_id_range(delivery_id) else None
    if delivery is None:
        raise NotFound("There is no such delivery.")
    _managed(db, actor, delivery.subscription_id)
    if delivery.status == "skipped":
        raise ValidationFailed(
            {"delivery": "This delivery was skipped: the owner can no longer see that file."}
        )
    delivery.status, delivery.next_attempt_at = "pending", utcnow()
    db.add(delivery)
    db.flush()
    deliver_after_commit(db)
    evt = db.get(WebhookEvent, delivery.event_id)
    assert evt is not None
    return _delivery_row(delivery, evt)


def _delivery_row(d: WebhookDelivery, evt: WebhookEvent) -> DeliveryRow:
    assert d.id is not None
    return DeliveryRow(
        id=d.id,
        event_uid=evt.uid,
        type=evt.type,
        status=d.status,
        attempts=d.attempts,
        last_status_code=d.last_status_code or 0,
        last_error=d.last_error,
        response_excerpt=d.response_excerpt,
        created=_iso(d.created_at),
        last_attempt=_iso(d.last_attempt_at),
        next_attempt=_iso(d.next_attempt_at) if d.status == "pending" else "",
    )


def deliveries(
    db: Session, actor: User | None, subscription_id: object, *, limit: int = 50
) -> list[DeliveryRow]:
    """A subscription's newest deliveries (its log)."""
    actor = _staff(actor)
    sub = _managed(db, actor, subscription_id)
    rows = db.exec(
        select(WebhookDelivery, WebhookEvent)
        .join(WebhookEvent, WebhookEvent.id == WebhookDelivery.event_id)  # type: ignore[arg-type]
        .where(WebhookDelivery.subscription_id == sub.id)
        .order_by(col(WebhookDelivery.id).desc())
        .limit(max(1, min(limit, 200)))
    ).all()
    return [_delivery_row(d, e) for d, e in rows]


# ---------------------------------------------------------------- events


def _new_event(
    db: Session, org_id: int, type_: str, txn_id: int | None, data: dict[str, Any]
) -> WebhookEvent:
    now = utcnow()
    evt = WebhookEvent(
        org_id=org_id,
        uid="evt_" + secrets.token_urlsafe(18),
        type=type_,
        transaction_id=txn_id,
        created_at=now,
        payload={},
    )
    evt.payload = {
        "id": evt.uid,
        "type": type_,
        "timestamp": _iso(now),
        "data": data,
    }
    db.add(evt)
    db.flush()
    return evt


def _file(txn: Transaction) -> dict[str, Any]:
    return {
        "id": txn.id,
        "address": txn.address,
        "stage": txn.stage,
        "side": txn.side,
        "closing_date": txn.closing_date.isoformat() if txn.closing_date else None,
    }


def _visible(db: Session, owner: User, txn_id: int) -> bool:
    if not owner.is_active:
        return False
    found = db.exec(
        select(Transaction.id).where(Transaction.id == txn_id, access.visible_transactions(owner))
    ).first()
    return found is not None


def emit(
    db: Session,
    txn: Transaction,
    type_: str,
    data: dict[str, Any],
    *,
    also_visible: Callable[[User], bool] | None = None,
) -> WebhookEvent | None:
    """Record one event for the subscriptions that want it and whose owner sees the file (and,
    with ``also_visible``, the object itself: a message's thread, say)."""
    subs = db.exec(
        select(WebhookSubscription).where(WebhookSubscription.org_id == txn.org_id)
    ).all()
    wanted = [s for s in subs if type_ in s.event_types.split(",")]
    if not wanted or txn.id is None:
        return None
    owners = {
        u.id: u for u in db.exec(select(User).where(col(User.id).in_({s.owner_id for s in wanted})))
    }
    receivers = [
        s
        for s in wanted
        if (o := owners.get(s.owner_id)) is not None
        and _visible(db, o, txn.id)
        and (also_visible is None or also_visible(o))
    ]
    if not receivers:
        return None
    evt = _new_event(db, txn.org_id, type_, txn.id, {"transaction": _file(txn), **data})
    for s in receivers:
        db.add(WebhookDelivery(subscription_id=s.id or 0, event_id=evt.id or 0))
    db.flush()
    deliver_after_commit(db)
    return evt


def on_timeline(
    db: Session, txn: Transaction, kind: str, summary: str, data: dict[str, Any]
) -> None:
    """Called by ``timeline.record`` for every entry: the mapped webhook type(s), if any."""
    type_ = KIND_TYPES.get(kind)
    if type_ is None:
        return
    body = {"summary": summary, "change": _ids_only(data)}
    emit(db, txn, type_, body)
    if kind == "stage_changed" and data.get("to") in ("closed", "cancelled"):
        emit(db, txn, f"transaction.{data['to']}", body)


def _ids_only(data: dict[str, Any]) -> dict[str, Any]:
    """What of a timeline entry's data travels: ids, stage names, dates (no free text)."""
    travels = ("from", "to", "key", "override", "keys")
    return {k: v for k, v in data.items() if k.endswith("_id") or k in travels}


# ---------------------------------------------------------------- delivery


def deliver_after_commit(db: Session) -> None:
    """Run the delivery job once ``db`` commits (never if it rolls back)."""
    if db.info.get(_PENDING):
        return
    db.info[_PENDING] = True
    sa_event.listen(db, "after_commit", _enqueue_after_commit, once=True)
    sa_event.listen(db, "after_soft_rollback", _forget, once=True)


def _forget(session: OrmSession, _previous: object) -> None:
    session.info.pop(_PENDING, None)


def _enqueue_after_commit(session: OrmSession) -> None:
    if session.in_nested_transaction():
        sa_event.listen(session, "after_commit", _enqueue_after_commit, once=True)
        return
    session.info.pop(_PENDING, None)
    try:
        from chronos.jobs import get_jobs

        get_jobs().deliver_webhooks()
    except Exception:
        log.exception("webhooks: could not enqueue the delivery job; the sweep will send them")


def sign(secret: str, msg_id: str, timestamp: int, body: bytes) -> str:
    """The Standard Webhooks ``webhook-signature`` value for one attempt."""
    key = base64.b64decode(secret.removeprefix("whsec_"))
    signed = f"{msg_id}.{timestamp}.".encode() + body
    return "v1," + base64.b64encode(hmac.new(key, signed, hashlib.sha256).digest()).decode()


@dataclass(frozen=True)
class Outcome:
    delivered: int = 0
    retried: int = 0
    failed: int = 0
    skipped: int = 0
    paused: int = 0


Sender = Callable[[str, bytes, dict[str, str]], httpx.Response]


def _send(url: str, body: bytes, headers: dict[str, str]) -> httpx.Response:
    with httpx.Client(timeout=TIMEOUT_SECONDS, follow_redirects=False) as client:
        return client.post(url, content=body, headers=headers)


def deliver_due(
    *,
    now: datetime | None = None,
    limit: int = 100,
    sender: Sender = _send,
    resolver: Resolver = _resolve,
    rand: Callable[[], float] = random.random,
    engine: Engine | None = None,
) -> Outcome:
    """Attempt every pending delivery that is due (each claimed first, so several workers can
    run this at once without sending one twice)."""
    from chronos.db import session_scope

    now = now or utcnow()
    with session_scope(engine) as db:
        due = db.exec(
            select(WebhookDelivery.id)
            .join(
                WebhookSubscription,
                WebhookSubscription.id == WebhookDelivery.subscription_id,  # type: ignore[arg-type]
            )
            .where(
                WebhookDelivery.status == "pending",
                col(WebhookDelivery.next_attempt_at) <= now,
                WebhookSubscription.state == "active",
            )
            .order_by(col(WebhookDelivery.id))
            .limit(limit)
        ).all()
    totals: dict[str, int] = {}
    for delivery_id in due:
        if delivery_id is None:
            continue
        result = _attempt(engine, delivery_id, now, sender, resolver, rand)
        if result:
            totals[result] = totals.get(result, 0) + 1
    return Outcome(**totals)


def _claim(db: Session, delivery_id: int, now: datetime) -> bool:
    claimed = db.execute(
        update(WebhookDelivery)
        .where(
            col(WebhookDelivery.id) == delivery_id,
            col(WebhookDelivery.status) == "pending",
            col(WebhookDelivery.next_attempt_at) <= now,
        )
        .values(next_attempt_at=now + LEASE)
    )
    return bool(getattr(claimed, "rowcount", 0))


def _attempt(
    engine: Engine | None,
    delivery_id: int,
    now: datetime,
    sender: Sender,
    resolver: Resolver,
    rand: Callable[[], float],
) -> str:
    from chronos.db import session_scope

    with session_scope(engine) as db:
        if not _claim(db, delivery_id, now):
            return ""
        delivery = db.get(WebhookDelivery, delivery_id)
        assert delivery is not None
        sub = db.get(WebhookSubscription, delivery.subscription_id)
        evt = db.get(WebhookEvent, delivery.event_id)
        assert sub is not None and evt is not None
        owner = db.get(User, sub.owner_id)
        if evt.transaction_id is not None and (
            owner is None or not _visible(db, owner, evt.transaction_id)
        ):
            delivery.status = "skipped"
            delivery.next_attempt_at = None
            delivery.last_error = "The webhook's owner can no longer see this file."
            db.add(delivery)
            _tell_lost_access(db, sub, owner, evt.transaction_id)
            return "skipped"
        body = json.dumps(evt.payload, separators=(",", ":"), sort_keys=True).encode()
        url, secret, uid = sub.url, sub.secret, evt.uid
    # The request runs outside any database transaction (a slow receiver holds no lock).
    stamp = int(time.time())
    code: int | None = None
    excerpt, error = "", ""
    try:
        check_url(url, resolver=resolver)
        answer = sender(
            url,
            body,
            {
                "content-type": "application/json",
                "user-agent": "Chronos-Webhooks/1",
                "webhook-id": uid,
                "webhook-timestamp": str(stamp),
                "webhook-signature": sign(secret, uid, stamp, body),
            },
        )
        code = answer.status_code
        excerpt = answer.text[:500]
        if not 200 <= code < 300:
            error = f"HTTP {code}" + (" (redirects are not followed)" if 300 <= code < 400 else "")
    except ValidationFailed as exc:
        error = exc.message
    except httpx.HTTPError as exc:
        error = f"{type(exc).__name__}: {exc}"[:500] or type(exc).__name__
    return _record(engine, delivery_id, now, code, excerpt, error, rand)


def _record(
    engine: Engine | None,
    delivery_id: int,
    now: datetime,
    code: int | None,
    excerpt: str,
    error: str,
    rand: Callable[[], float],
) -> str:
    from chronos.db import session_scope

    with session_scope(engine) as db:
        delivery = db.get(WebhookDelivery, delivery_id)
        if delivery is None:  # the subscription was removed meanwhile
            return ""
        sub = db.get(WebhookSubscription, delivery.subscription_id)
        assert sub is not None
        delivery.attempts += 1
        delivery.last_attempt_at = now
        delivery.last_status_code = code
        delivery.response_excerpt = excerpt
        delivery.last_error = error[:500]
        if not error:
            delivery.status, delivery.delivered_at, delivery.next_attempt_at = (
                "delivered",
                now,
                None,
            )
            sub.consecutive_failures = 0
            outcome = "delivered"
        else:
            sub.consecutive_failures += 1
            if delivery.attempts > len(RETRY_DELAYS):
                delivery.status, delivery.next_attempt_at = "failed", None
                outcome = "failed"
            else:
                delay = RETRY_DELAYS[delivery.attempts - 1] * (0.8 + 0.4 * rand())
                delivery.next_attempt_at = now + timedelta(seconds=delay)
                outcome = "retried"
            if sub.state == "active" and sub.consecutive_failures >= PAUSE_AFTER:
                _pause(db, sub, error, now)
                outcome = "paused"
        db.add(delivery)
        db.add(sub)
        return outcome


def _pause(db: Session, sub: WebhookSubscription, error: str, now: datetime) -> None:
    from chronos.mail import queue_email
    from chronos.services import notifications

    sub.state, sub.paused_at = "paused", now
    sub.paused_reason = f"{sub.consecutive_failures} attempts in a row failed. Last: {error}"[:500]
    owner = db.get(User, sub.owner_id)
    if owner is None:
        return
    link = "/account/webhooks"
    notifications.notify(
        db,
        user_id=owner.id or 0,
        org_id=sub.org_id,
        kind="webhook_paused",
        title=f"Webhook paused: {sub.url[:120]}",
        body=sub.paused_reason,
        link=link,
        dedupe_key=f"webhook-paused-{sub.id}-{int(now.timestamp())}",
    )
    if owner.is_active:
        queue_email(
            db,
            to=owner.email,
            template="webhook_paused",
            context={
                "name": owner.full_name,
                "url": sub.url,
                "reason": sub.paused_reason,
                "link": get_settings().public_url.rstrip("/") + link,
            },
            org_id=sub.org_id,
            user_id=owner.id,
        )


def _tell_lost_access(
    db: Session, sub: WebhookSubscription, owner: User | None, txn_id: int
) -> None:
    from chronos.services import notifications

    if owner is None:
        return
    notifications.notify(
        db,
        user_id=owner.id or 0,
        org_id=sub.org_id,
        kind="webhook_access_lost",
        title="A webhook stopped sending one file's events",
        body=(
            f"You can no longer see file #{txn_id}, so its events are no longer sent to "
            f"{sub.url[:120]}. Ask an admin if you should still be on that file."
        ),
        link="/account/webhooks",
        dedupe_key=f"webhook-lost-{sub.id}-{txn_id}",
    )


@dataclass(frozen=True)
class EventPage:
    events: list[dict[str, Any]]
    next_after: int  # pass as ``after`` for the next page; 0 when there are none yet


def events_since(db: Session, actor: User | None, *, after: int = 0, limit: int = 100) -> EventPage:
    """The last 30 days' webhook events of files the actor may see, oldest first, after the
    cursor ``after`` (an event's position), for an integrator catching up after downtime."""
    actor = _staff(actor)
    if (
        isinstance(after, bool)
        or not isinstance(after, int)
        or not (after == 0 or in_id_range(after))
    ):
        raise InvalidValue("after must be a position from an earlier page.", "after")
    limit = max(1, min(int(limit), 500))
    rows = db.exec(
        select(WebhookEvent)
        .join(Transaction, Transaction.id == WebhookEvent.transaction_id)  # type: ignore[arg-type]
        .where(
            WebhookEvent.org_id == actor.org_id,
            col(WebhookEvent.id) > after,
            col(WebhookEvent.created_at) >= utcnow() - KEEP_EVENTS,
            access.visible_transactions(actor),
        )
        .order_by(col(WebhookEvent.id))
        .limit(limit)
    ).all()
    last = rows[-1].id if rows else after
    return EventPage(events=[dict(e.payload) for e in rows], next_after=last or 0)


def sweep_events(db: Session, now: datetime | None = None) -> int:
    """Forget events (and their deliveries) older than 30 days."""
    cutoff = (now or utcnow()) - KEEP_EVENTS
    old = list(db.exec(select(WebhookEvent.id).where(col(WebhookEvent.created_at) < cutoff)))
    if not old:
        return 0
    from sqlalchemy import delete

    db.execute(delete(WebhookDelivery).where(col(WebhookDelivery.event_id).in_(old)))
    db.execute(delete(WebhookEvent).where(col(WebhookEvent.id).in_(old)))
    return len(old)
