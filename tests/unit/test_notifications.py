"""Notifications: assignment notices, reminders once per occurrence, quiet hours, the digest.

The organization's zone is America/New_York; ``NOON`` is 12:00 there on Sat 20 Jan 2024.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest
from sqlmodel import Session, select

from chronos.models import EmailMessage, Notification, Stage, Task, User
from chronos.services import key_dates, notifications, tasks, transactions
from chronos.services.errors import ValidationFailed
from tests.factories import World, participant_of

NOON = datetime(2024, 1, 20, 17, 0, tzinfo=UTC)  # 12:00 in New York
TODAY = date(2024, 1, 20)


@pytest.fixture(autouse=True)
def blank_files(db: Session, world: World) -> None:
    for task in db.exec(select(Task)).all():
        db.delete(task)
    db.commit()


def _task(db: Session, world: World, due: date | None, assignee: str, title: str = "Sign") -> Task:
    task = tasks.create_task(
        db,
        world.agent,
        world.deal.id or 0,
        {"title": title, "due_date": due.isoformat() if due else "", "assignee": assignee},
    )
    db.commit()
    return task


def _notes(db: Session, user: User, kind: str | None = None) -> list[Notification]:
    q = select(Notification).where(Notification.user_id == user.id)
    if kind:
        q = q.where(Notification.kind == kind)
    return list(db.exec(q.order_by(Notification.id)).all())  # type: ignore[arg-type]


def _mail(db: Session, to: str, template: str) -> list[EmailMessage]:
    return list(
        db.exec(
            select(EmailMessage).where(
                EmailMessage.to_address == to, EmailMessage.template == template
            )
        ).all()
    )


def test_the_person_a_task_is_for_is_told(db: Session, world: World) -> None:
    _task(db, world, None, f"p:{participant_of(db, world.deal, world.client).id}", "Send your ID")
    [note] = _notes(db, world.client, "task_assigned")
    assert note.title == "New task for you: Send your ID"
    assert note.link == f"/portal/{world.deal.id}"
    # Giving yourself a task is not news.
    _task(db, world, None, f"u:{world.agent.id}")
    assert _notes(db, world.agent) == []
    # Reassigning tells the new assignee.
    task = _task(db, world, None, f"u:{world.agent.id}", "Order survey")
    tasks.bulk_reassign(
        db, world.agent, world.deal.id or 0, [task.id or 0], f"u:{world.coordinator.id}"
    )
    db.commit()
    assert [n.title for n in _notes(db, world.coordinator)] == ["New task for you: Order survey"]


def test_opting_out_of_assignment_notices(db: Session, world: World) -> None:
    notifications.update_preferences(db, world.client, {"assignments": False})
    _task(db, world, None, f"p:{participant_of(db, world.deal, world.client).id}")
    assert _notes(db, world.client) == []


def test_reminders_land_once_per_occurrence_and_are_emailed(db: Session, world: World) -> None:
    client = f"p:{participant_of(db, world.deal, world.client).id}"
    _task(db, world, TODAY + timedelta(days=1), client, "Tomorrow's")
    _task(db, world, TODAY, client, "Today's")
    _task(db, world, TODAY - timedelta(days=2), client, "Late")
    _task(db, world, TODAY - timedelta(days=30), client, "Long forgotten")
    _task(db, world, TODAY + timedelta(days=5), client, "Next week")
    first = notifications.scan_reminders(db, NOON)
    second = notifications.scan_reminders(db, NOON + timedelta(minutes=15))
    db.commit()
    assert (first.notified, second.notified) == (3, 0)
    kinds = {n.title: n.kind for n in _notes(db, world.client) if n.kind != "task_assigned"}
    assert kinds == {
        "Tomorrow's is due tomorrow": "task_due_soon",
        "Today's is due today": "task_due_today",
        "Late was due Thu 18 Jan": "task_overdue",
    }
    [email] = _mail(db, world.client.email, "reminders")
    assert "3 reminders" in email.subject and "Late was due Thu 18 Jan" in email.text_body
    assert f"/portal/{world.deal.id}" in email.text_body
    # A moved due date is a new occurrence.
    late = db.exec(select(Task).where(Task.title == "Late")).one()
    tasks.update_task(db, world.agent, late.id or 0, {"due_date": TODAY.isoformat()})
    db.commit()
    assert notifications.scan_reminders(db, NOON + timedelta(hours=1)).notified == 1


def test_quiet_hours_hold_the_email_not_the_notification(db: Session, world: World) -> None:
    _task(db, world, TODAY, f"p:{participant_of(db, world.deal, world.client).id}")
    late_evening = datetime(2024, 1, 21, 2, 0, tzinfo=UTC)  # 21:00 in New York, Sat 20 Jan
    result = notifications.scan_reminders(db, late_evening)
    db.commit()
    assert (result.notified, result.emailed) == (1, 0)
    assert _mail(db, world.client.email, "reminders") == []
    morning = datetime(2024, 1, 21, 13, 0, tzinfo=UTC)  # 08:00, quiet hours over
    assert notifications.scan_reminders(db, morning).emailed == 1
    db.commit()
    assert len(_mail(db, world.client.email, "reminders")) == 1


def test_no_email_for_who_turned_it_off_and_no_reminders_on_closed_files(
    db: Session, world: World
) -> None:
    notifications.update_preferences(db, world.client, {"email_reminders": False})
    _task(db, world, TODAY, f"p:{participant_of(db, world.deal, world.client).id}")
    assert notifications.scan_reminders(db, NOON).emailed == 0
    db.commit()
    assert _notes(db, world.client, "task_due_today")
    other = tasks.create_task(
        db,
        world.agent2,
        world.other_deal.id or 0,
        {"title": "x", "due_date": TODAY.isoformat(), "assignee": f"u:{world.agent2.id}"},
    )
    transactions.change_stage(
        db, world.agent2, world.other_deal.id or 0, Stage.CANCELLED, reason="Fell through"
    )
    db.commit()
    notifications.scan_reminders(db, NOON)
    assert not [n for n in _notes(db, world.agent2) if str(other.id) in n.dedupe_key]


def test_deactivated_users_get_nothing(db: Session, world: World) -> None:
    _task(db, world, TODAY, f"p:{participant_of(db, world.deal, world.client).id}")
    world.client.is_active = False
    db.add(world.client)
    db.commit()
    assert notifications.scan_reminders(db, NOON).notified == 0


def test_key_dates_remind_the_files_staff(db: Session, world: World) -> None:
    key_dates.apply_preset(db, world.agent, world.deal.id or 0, "generic_financed")
    db.commit()
    # Inspection ends Mon 22 Jan: two days from the 20th.
    notifications.scan_reminders(db, NOON)
    notifications.scan_reminders(db, NOON + timedelta(hours=2))
    db.commit()
    for user in (world.agent, world.coordinator):
        titles = [n.title for n in _notes(db, user, "date_due_soon")]
        assert titles == ["Inspection period ends in 2 days (Mon 22 Jan)"]
    assert _notes(db, world.client, "date_due_soon") == []
    assert _notes(db, world.agent2, "date_due_soon") == []


def test_the_daily_digest_goes_once_at_the_users_hour(db: Session, world: World) -> None:
    _task(db, world, TODAY, f"u:{world.agent.id}", "Call the lender")
    seven = datetime(2024, 1, 20, 12, 0, tzinfo=UTC)  # 07:00 in New York
    assert notifications.send_digests(db, seven - timedelta(hours=1)) == 0
    sent = notifications.send_digests(db, seven)
    again = notifications.send_digests(db, seven + timedelta(minutes=30))
    db.commit()
    assert (sent, again) >= (1, 0) and again == 0
    [digest] = _mail(db, world.agent.email, "daily_digest")
    assert "Call the lender" in digest.text_body and "Due today (1)" in digest.text_body
    # Nobody with nothing due gets one.
    assert _mail(db, world.outsider_admin.email, "daily_digest") == []


def test_the_digest_reads_each_users_own_preferences(db: Session, world: World) -> None:
    """Preferences are read for all users in one query; each user still gets their own."""
    _task(db, world, TODAY, f"u:{world.agent.id}", "Call the lender")
    _task(db, world, TODAY, f"u:{world.coordinator.id}", "Order the survey")
    notifications.update_preferences(db, world.agent, {"daily_digest": False})
    notifications.update_preferences(db, world.coordinator, {"digest_hour": "8"})
    db.commit()
    seven = datetime(2024, 1, 20, 12, 0, tzinfo=UTC)  # 07:00 in New York
    notifications.send_digests(db, seven)
    db.commit()
    assert _mail(db, world.agent.email, "daily_digest") == []
    assert _mail(db, world.coordinator.email, "daily_digest") == []
    notifications.send_digests(db, seven + timedelta(hours=1))
    db.commit()
    assert _mail(db, world.agent.email, "daily_digest") == []
    [digest] = _mail(db, world.coordinator.email, "daily_digest")
    assert "Order the survey" in digest.text_body


def test_each_user_reads_and_clears_only_their_own(db: Session, world: World) -> None:
    _task(db, world, None, f"p:{participant_of(db, world.deal, world.client).id}", "One")
    _task(db, world, None, f"p:{participant_of(db, world.deal, world.lender).id}", "Two")
    assert notifications.unread_count(db, world.client) == 1
    lender_note = _notes(db, world.lender)[0]
    # The client cannot mark the lender's notification read, even by id.
    assert notifications.mark_read(db, world.client, [lender_note.id or 0]) == 0
    assert notifications.mark_read(db, world.client) == 1
    db.commit()
    assert notifications.unread_count(db, world.client) == 0
    assert notifications.unread_count(db, world.lender) == 1
    page = notifications.list_notifications(db, world.client)
    assert [n.title for n in page.items] == ["New task for you: One"]


def test_preferences_are_validated(db: Session, world: World) -> None:
    with pytest.raises(ValidationFailed) as err:
        notifications.update_preferences(db, world.agent, {"digest_hour": "25"})
    assert "digest_hour" in err.value.errors
    with pytest.raises(ValidationFailed) as err:
        notifications.update_preferences(db, world.agent, {"quiet_start": "22", "quiet_end": ""})
    assert "quiet_end" in err.value.errors
    prefs = notifications.update_preferences(
        db, world.agent, {"quiet_start": "", "quiet_end": "", "digest_hour": "6"}
    )
    assert (prefs.quiet_start, prefs.quiet_end, prefs.digest_hour) == (None, None, 6)
