"""The notification centre's handlers: your own notifications only, preferences saved."""

from __future__ import annotations

from sqlalchemy.engine import Engine
from sqlmodel import Session, select

from chronos.models import Notification
from chronos.pages.notifications import NotificationsState
from chronos.services import notifications
from tests.factories import World
from tests.unit.test_state_handlers import call, make_state, redirect_path


def _note(db: Session, world: World, user_id: int, title: str) -> Notification:
    note = notifications.notify(
        db,
        user_id=user_id,
        org_id=world.harbor.id or 0,
        kind="task_due_today",
        title=title,
        link=f"/portal/{world.deal.id}",
        dedupe_key=title,
    )
    db.commit()
    assert note is not None
    return note


def test_a_user_sees_only_their_own_and_opening_marks_read(
    db: Session, engine: Engine, ui: World
) -> None:
    mine = _note(db, ui, ui.client.id or 0, "Yours")
    theirs = _note(db, ui, ui.lender.id or 0, "The lender's")
    state = make_state(NotificationsState, engine, ui.client, "/notifications")
    call(NotificationsState.load, state)
    assert [r.title for r in state.rows] == ["Yours"] and state.unread == 1
    assert redirect_path(call(NotificationsState.open, state, mine.id, mine.link)) == mine.link
    # Opening someone else's by id neither reads it nor reveals it.
    call(NotificationsState.open, state, theirs.id, "/elsewhere")
    db.expire_all()
    assert db.get(Notification, mine.id).read_at is not None  # type: ignore[union-attr]
    assert db.get(Notification, theirs.id).read_at is None  # type: ignore[union-attr]


def test_an_offsite_link_is_never_followed(db: Session, engine: Engine, ui: World) -> None:
    note = _note(db, ui, ui.client.id or 0, "Odd")
    state = make_state(NotificationsState, engine, ui.client, "/notifications")
    call(NotificationsState.load, state)
    result = call(NotificationsState.open, state, note.id, "//evil.example")
    assert result is NotificationsState.load  # stays on the page: no redirect off-site


def test_preferences_round_trip_and_bad_hours_are_refused(
    db: Session, engine: Engine, ui: World
) -> None:
    state = make_state(NotificationsState, engine, ui.agent, "/notifications")
    call(NotificationsState.load, state)
    assert (state.quiet_start, state.quiet_end, state.digest_hour) == ("20", "7", "7")
    call(NotificationsState.set_pref, state, "daily_digest", False)
    call(NotificationsState.set_pref, state, "quiet_start", "none")
    call(NotificationsState.save_preferences, state)
    assert state.prefs_errors == {"quiet_end": "Set both ends of the quiet hours, or neither."}
    call(NotificationsState.set_pref, state, "quiet_end", "none")
    call(NotificationsState.save_preferences, state)
    assert state.prefs_notice == "Preferences saved."
    prefs = notifications.get_preferences(db, ui.agent)
    assert (prefs.daily_digest, prefs.quiet_start, prefs.quiet_end) == (False, None, None)


def test_signed_out_visitors_load_nothing(db: Session, engine: Engine, ui: World) -> None:
    _note(db, ui, ui.client.id or 0, "Yours")
    state = make_state(NotificationsState, engine, None, "/notifications")
    assert redirect_path(call(NotificationsState.load, state)).startswith("/sign-in")
    assert state.rows == []
    call(NotificationsState.mark_all_read, state)
    assert db.exec(select(Notification).where(Notification.read_at.is_not(None))).all() == []  # type: ignore[union-attr]
