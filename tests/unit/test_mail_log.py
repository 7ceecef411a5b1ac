"""The developer mailbox and the admins' email log: services and page handlers.

Admins see and retry only their own brokerage's emails; every other persona is refused by the
service and by the page handler, and nothing refused reaches the page's state.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy.engine import Engine
from sqlmodel import Session, select

from chronos.jobs import Jobs
from chronos.mail import queue_email
from chronos.models import EmailMessage, SecurityEvent, User, utcnow
from chronos.pages.admin_email import AdminEmailState
from chronos.pages.dev_mailbox import DevMailboxMessageState, DevMailboxState
from chronos.services import email_log
from chronos.services.email_log import TextSegment, link_segments
from chronos.services.errors import Conflict, NotFound, PermissionDenied, ValidationFailed
from chronos.services.security_log import Kind
from chronos.settings import get_settings, load_settings
from tests.factories import World
from tests.support.mail import install_test_templates, notice, use_jobs
from tests.unit.test_state_handlers import call, make_state, redirect_path

NOT_ADMINS = ["agent", "coordinator", "agent2", "client", "attorney", "lender", "outsider_agent"]


@pytest.fixture(autouse=True)
def templates(monkeypatch: pytest.MonkeyPatch) -> None:
    install_test_templates(monkeypatch)


@pytest.fixture
def jobs(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Jobs:
    return use_jobs(monkeypatch, "", tmp_path / "jobs")


@pytest.fixture
def mail(engine: Engine, world: World, jobs: Jobs) -> dict[str, int]:
    """Harbor: one sent, one failed, one queued. Summit: one failed. No brokerage: one."""
    specs = {
        "harbor_sent": ("cora.client@example.com", world.harbor.id, "sent", ""),
        "harbor_failed": ("bounce@example.com", world.harbor.id, "failed", "Resend 422: bad"),
        "harbor_queued": ("later@example.com", world.harbor.id, "queued", "Resend 503: down"),
        "summit_failed": ("oscar@summit.example.com", world.summit.id, "failed", "Resend 422"),
        "no_org": ("new.signup@example.com", None, "queued", ""),
    }
    ids: dict[str, int] = {}
    start = utcnow() - timedelta(hours=1)
    with Session(engine) as db:
        for n, (key, (to, org_id, status, error)) in enumerate(specs.items()):
            m = queue_email(db, to=to, org_id=org_id, **notice(name=key))
            m.status, m.last_error, m.attempts = status, error, 1 if status != "queued" else 0
            m.created_at = start + timedelta(minutes=n)
            db.add(m)
            db.flush()
            assert m.id is not None
            ids[key] = m.id
        db.commit()
    jobs.huey.flush()
    return ids


@pytest.fixture
def mailbox_off(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    monkeypatch.setenv("CHRONOS_DEV_MAILBOX", "0")
    get_settings.cache_clear()
    yield
    monkeypatch.delenv("CHRONOS_DEV_MAILBOX")
    get_settings.cache_clear()


def _row(engine: Engine, message_id: int) -> EmailMessage:
    with Session(engine) as db:
        row = db.get(EmailMessage, message_id)
        assert row is not None
        return row


# ---------------------------------------------------------------- plain-text links


def test_urls_in_plain_text_become_link_segments() -> None:
    text = "Open http://localhost:3000/verify?token=abc.\nOr (https://docs.example.com/a_(b))."
    segments = link_segments(text)
    assert [s.text for s in segments if s.is_url] == [
        "http://localhost:3000/verify?token=abc",
        "https://docs.example.com/a_(b)",
    ]
    assert "".join(s.text for s in segments) == text


def test_text_without_urls_is_one_segment() -> None:
    assert link_segments("Hello,\nno links here.") == [TextSegment("Hello,\nno links here.")]
    assert link_segments("") == []


def test_only_web_links_are_linked() -> None:
    segments = link_segments("javascript:alert(1) mailto:a@b.c ftp://x.example.com http://")
    assert not any(s.is_url for s in segments)


# ---------------------------------------------------------------- the developer mailbox


def test_the_mailbox_lists_every_message_newest_first(engine: Engine, mail: dict[str, int]) -> None:
    with Session(engine) as db:
        page = email_log.mailbox(db)
    assert [r.id for r in page.items] == list(reversed(mail.values()))
    assert {r.status for r in page.items} == {"sent", "failed", "queued"}
    assert page.total == 5


def test_the_mailbox_filters_by_recipient_and_pages(engine: Engine, mail: dict[str, int]) -> None:
    with Session(engine) as db:
        assert [r.id for r in email_log.mailbox(db, to="Cora.Client@").items] == [
            mail["harbor_sent"]
        ]
        assert email_log.mailbox(db, to="nobody@").total == 0
        second = email_log.mailbox(db, page=2, page_size=2)
    assert (second.total, second.pages, len(second.items)) == (5, 3, 2)
    assert second.items[0].id == mail["harbor_queued"]


def test_a_mailbox_message_has_its_bodies_and_linked_text(
    engine: Engine, mail: dict[str, int]
) -> None:
    with Session(engine) as db:
        message = email_log.mailbox_message(db, mail["no_org"])
    assert message.subject == "Notice for no_org (test)"
    assert message.recipient == "new.signup@example.com"
    assert "<!doctype html>" in message.html
    assert next(s.text for s in message.segments if s.is_url) == (
        "http://localhost:3000/verify?token=abc"
    )


def test_a_missing_mailbox_message_is_not_found(engine: Engine, mail: dict[str, int]) -> None:
    with Session(engine) as db, pytest.raises(NotFound):
        email_log.mailbox_message(db, 999)


def test_the_mailbox_is_closed_when_switched_off(
    engine: Engine, mail: dict[str, int], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("CHRONOS_DEV_MAILBOX", "0")
    off = load_settings()
    with Session(engine) as db:
        with pytest.raises(PermissionDenied):
            email_log.mailbox(db, settings=off)
        with pytest.raises(PermissionDenied):
            email_log.mailbox_message(db, mail["no_org"], settings=off)


def test_the_mailbox_is_off_by_default_with_a_real_provider(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("CHRONOS_MAIL_BACKEND", "resend")
    monkeypatch.delenv("CHRONOS_DEV_MAILBOX", raising=False)
    assert load_settings().dev_mailbox is False


def test_the_mailbox_page_loads_without_signing_in(
    engine: Engine, ui: World, mail: dict[str, int]
) -> None:
    state = make_state(DevMailboxState, engine, None, "/dev/mailbox?to=bounce%40")
    assert call(DevMailboxState.load, state) is None
    assert state.recipient == "bounce@"
    assert [r.id for r in state.rows] == [mail["harbor_failed"]]

    detail = make_state(
        DevMailboxMessageState,
        engine,
        None,
        "/dev/mailbox/[message_id]",
        {"message_id": str(mail["harbor_failed"])},
    )
    call(DevMailboxMessageState.load, detail)
    assert detail.found and detail.message.recipient == "bounce@example.com"
    assert any(s.is_url for s in detail.segments)


def test_the_mailbox_pages_load_nothing_when_switched_off(
    engine: Engine, ui: World, mail: dict[str, int], mailbox_off: None
) -> None:
    state = make_state(DevMailboxState, engine, None, "/dev/mailbox")
    call(DevMailboxState.load, state)
    assert state.rows == [] and state.total == 0
    assert "switched off" in state.switched_off

    detail = make_state(
        DevMailboxMessageState,
        engine,
        None,
        "/dev/mailbox/[message_id]",
        {"message_id": str(mail["no_org"])},
    )
    call(DevMailboxMessageState.load, detail)
    assert not detail.found and detail.message.html == "" and detail.segments == []
    assert "switched off" in detail.switched_off


# ---------------------------------------------------------------- the email log (service)


def test_an_admin_sees_their_brokerage_failed_first(
    engine: Engine, world: World, mail: dict[str, int]
) -> None:
    with Session(engine) as db:
        page = email_log.email_log(db, world.admin)
        counts = email_log.status_counts(db, world.admin)
    assert [r.id for r in page.items] == [
        mail["harbor_failed"],
        mail["harbor_queued"],
        mail["harbor_sent"],
    ]
    failed = page.items[0]
    assert (failed.status, failed.attempts, failed.last_error, failed.can_retry) == (
        "failed",
        1,
        "Resend 422: bad",
        True,
    )
    assert not page.items[1].can_retry and not page.items[2].can_retry
    assert counts == {"queued": 1, "sending": 0, "sent": 1, "failed": 1}


def test_the_email_log_filters_by_status_and_recipient(
    engine: Engine, world: World, mail: dict[str, int]
) -> None:
    with Session(engine) as db:
        assert [r.id for r in email_log.email_log(db, world.admin, status="sent").items] == [
            mail["harbor_sent"]
        ]
        assert [r.id for r in email_log.email_log(db, world.admin, to="LATER").items] == [
            mail["harbor_queued"]
        ]
        assert email_log.email_log(db, world.admin, status="failed", to="later").total == 0
        with pytest.raises(ValidationFailed):
            email_log.email_log(db, world.admin, status="bogus")


def test_another_brokerages_admin_sees_only_their_own(
    engine: Engine, world: World, mail: dict[str, int]
) -> None:
    with Session(engine) as db:
        page = email_log.email_log(db, world.outsider_admin)
        counts = email_log.status_counts(db, world.outsider_admin)
    assert [r.id for r in page.items] == [mail["summit_failed"]]
    assert counts["failed"] == 1 and sum(counts.values()) == 1


@pytest.mark.parametrize("who", NOT_ADMINS)
def test_only_admins_read_the_email_log(
    engine: Engine, world: World, mail: dict[str, int], who: str
) -> None:
    with Session(engine) as db:
        with pytest.raises(PermissionDenied):
            email_log.email_log(db, world.user(who))
        with pytest.raises(PermissionDenied):
            email_log.status_counts(db, world.user(who))


def test_a_deactivated_admin_is_refused(engine: Engine, world: World, mail: dict[str, int]) -> None:
    with Session(engine) as db:
        admin = db.get(User, world.admin.id)
        assert admin is not None
        admin.is_active = False
        with pytest.raises(PermissionDenied):
            email_log.email_log(db, admin)


def test_retrying_a_failed_message_queues_it_afresh_and_records_it(
    engine: Engine, world: World, mail: dict[str, int], jobs: Jobs
) -> None:
    message_id = mail["harbor_failed"]
    with Session(engine) as db:
        email_log.retry_email(db, world.admin, message_id)
        assert [t.args[0] for t in jobs.huey.pending()] == []  # not before the commit
        db.commit()
    assert [t.args[0] for t in jobs.huey.pending()] == [message_id]
    row = _row(engine, message_id)
    assert (row.status, row.attempts, row.last_error) == ("queued", 0, "")
    assert row.next_attempt_at is not None and row.next_attempt_at <= utcnow()
    with Session(engine) as db:
        event = db.exec(select(SecurityEvent).where(SecurityEvent.kind == Kind.EMAIL_RETRIED)).one()
    assert (event.org_id, event.actor_id, event.email) == (
        world.harbor.id,
        world.admin.id,
        "bounce@example.com",
    )
    assert event.detail["message_id"] == message_id
    assert event.detail["last_error"] == "Resend 422: bad"


@pytest.mark.parametrize("key", ["harbor_sent", "harbor_queued"])
def test_only_failed_messages_can_be_retried(
    engine: Engine, world: World, mail: dict[str, int], key: str
) -> None:
    with Session(engine) as db, pytest.raises(Conflict):
        email_log.retry_email(db, world.admin, mail[key])


def test_an_admin_cannot_retry_another_brokerages_message(
    engine: Engine, world: World, mail: dict[str, int], jobs: Jobs
) -> None:
    with Session(engine) as db:
        with pytest.raises(NotFound):
            email_log.retry_email(db, world.outsider_admin, mail["harbor_failed"])
        with pytest.raises(NotFound):
            email_log.retry_email(db, world.admin, mail["summit_failed"])
        db.commit()
    assert _row(engine, mail["harbor_failed"]).status == "failed"
    assert _row(engine, mail["summit_failed"]).status == "failed"
    assert jobs.huey.pending() == []


@pytest.mark.parametrize("who", NOT_ADMINS)
def test_only_admins_retry(
    engine: Engine, world: World, mail: dict[str, int], jobs: Jobs, who: str
) -> None:
    with Session(engine) as db:
        with pytest.raises(PermissionDenied):
            email_log.retry_email(db, world.user(who), mail["harbor_failed"])
        db.commit()
    assert _row(engine, mail["harbor_failed"]).status == "failed"
    assert jobs.huey.pending() == []


# ---------------------------------------------------------------- the email log (page)


def _log_state(engine: Engine, user: User | None, query: str = "") -> Any:
    return make_state(AdminEmailState, engine, user, "/admin/email" + query)


@pytest.mark.parametrize(
    ("who", "home"),
    [
        ("agent", "/pipeline"),
        ("coordinator", "/pipeline"),
        ("client", "/portal"),
        ("lender", "/portal"),
    ],
)
def test_the_email_log_page_sends_non_admins_home_with_nothing_loaded(
    engine: Engine, ui: World, mail: dict[str, int], who: str, home: str
) -> None:
    state = _log_state(engine, ui.user(who))
    assert redirect_path(call(AdminEmailState.load, state)) == home
    assert state.rows == [] and state.counts == {} and state.total == 0


def test_the_email_log_page_sends_visitors_to_sign_in(
    engine: Engine, ui: World, mail: dict[str, int]
) -> None:
    state = _log_state(engine, None)
    assert redirect_path(call(AdminEmailState.load, state)) == "/sign-in?next=/admin/email"
    assert state.rows == []


def test_the_email_log_page_shows_an_admin_their_failed_messages(
    engine: Engine, ui: World, mail: dict[str, int]
) -> None:
    state = _log_state(engine, ui.admin, "?status=failed")
    assert call(AdminEmailState.load, state) is None
    assert state.status == "failed"
    assert [r.id for r in state.rows] == [mail["harbor_failed"]]
    assert state.counts[""] == 3 and state.counts["failed"] == 1


def test_another_brokerages_admin_loads_none_of_ours_and_cannot_retry_it(
    engine: Engine, ui: World, mail: dict[str, int], jobs: Jobs
) -> None:
    state = _log_state(engine, ui.outsider_admin)
    call(AdminEmailState.load, state)
    assert [r.id for r in state.rows] == [mail["summit_failed"]]
    call(AdminEmailState.retry, state, mail["harbor_failed"])
    assert _row(engine, mail["harbor_failed"]).status == "failed"
    assert jobs.huey.pending() == []
    assert [r.id for r in state.rows] == [mail["summit_failed"]]


@pytest.mark.parametrize("who", ["agent", "client"])
def test_the_retry_handler_refuses_non_admins(
    engine: Engine, ui: World, mail: dict[str, int], jobs: Jobs, who: str
) -> None:
    state = _log_state(engine, ui.user(who))
    assert redirect_path(call(AdminEmailState.retry, state, mail["harbor_failed"])) != ""
    assert _row(engine, mail["harbor_failed"]).status == "failed"
    assert jobs.huey.pending() == []
    assert state.rows == []


def test_the_retry_handler_queues_a_failed_message_for_the_admin(
    engine: Engine, ui: World, mail: dict[str, int], jobs: Jobs
) -> None:
    state = _log_state(engine, ui.admin)
    call(AdminEmailState.load, state)
    call(AdminEmailState.retry, state, mail["harbor_failed"])
    assert _row(engine, mail["harbor_failed"]).status == "queued"
    assert [t.args[0] for t in jobs.huey.pending()] == [mail["harbor_failed"]]
    assert state.counts["failed"] == 0 and state.retrying == 0
