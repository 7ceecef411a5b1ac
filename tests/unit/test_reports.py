"""The reports service: each report counts exactly the files the user may see, with the numbers
worked out in SQL (groups, medians, percentiles, scores); outside parties are refused."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from typing import Any

import pytest
from sqlmodel import Session, select

from chronos.models import KeyDate, Task, Transaction, User
from chronos.services import reports
from chronos.services.errors import PermissionDenied, ValidationFailed
from tests.factories import World, deactivate, make_transaction

TODAY = date(2026, 6, 10)  # a Wednesday
NOW = datetime(2026, 6, 10, 12, 0, tzinfo=UTC)
ALL = reports.Filters(period_days=365)


def _file(db: Session, owner: User, **fields: Any) -> Transaction:
    txn = make_transaction(db, owner)
    for name, value in fields.items():
        setattr(txn, name, value)
    db.add(txn)
    db.flush()
    return txn


def _closed(db: Session, owner: User, days: int, closing: date, **fields: Any) -> Transaction:
    return _file(
        db,
        owner,
        stage="closed",
        effective_date=closing - timedelta(days=days),
        closing_date=closing,
        stage_changed_at=datetime.combine(closing, datetime.min.time(), UTC),
        price_cents=40_000_000,
        **fields,
    )


def test_days_to_close_gives_median_and_90th_percentile_per_side_by_nearest_rank(
    db: Session, world: World
) -> None:
    for days in (30, 35, 40, 45, 50, 55, 60, 65, 70, 100):
        _closed(db, world.agent, days, TODAY - timedelta(days=5))
    _closed(db, world.agent, 20, TODAY - timedelta(days=5), side="seller")
    report = reports.days_to_close(db, world.admin, ALL, today=TODAY)
    buyer = next(r for r in report.by_side if r.group == "buyer")
    assert (buyer.files, buyer.median_days, buyer.p90_days) == (10, 50, 70)
    assert buyer.average_days == 55.0
    seller = next(r for r in report.by_side if r.group == "seller")
    assert (seller.files, seller.median_days, seller.p90_days) == (1, 20, 20)
    assert report.closed == 11 and report.cancelled == 0 and report.fall_through_label == "0%"
    assert [r.label for r in report.by_agent] == ["Alice Agent"]


def test_fall_through_rate_and_reasons_count_cancelled_files_of_the_period(
    db: Session, world: World
) -> None:
    _closed(db, world.agent, 30, TODAY - timedelta(days=3))
    for reason in ("Financing denied", "Financing denied", ""):
        _file(
            db,
            world.agent,
            stage="cancelled",
            cancel_reason=reason,
            stage_changed_at=NOW - timedelta(days=2),
        )
    report = reports.days_to_close(db, world.agent, ALL, today=TODAY)
    assert (report.closed, report.cancelled, report.fall_through_label) == (1, 3, "75%")
    assert [(r.reason, r.files) for r in report.reasons] == [
        ("Financing denied", 2),
        ("No reason given", 1),
    ]


def test_pipeline_counts_open_files_and_volume_by_stage_only_for_what_the_user_sees(
    db: Session, world: World
) -> None:
    _file(db, world.agent, stage="under_contract", price_cents=50_000_000, effective_date=TODAY)
    _file(db, world.agent2, stage="under_contract", price_cents=30_000_000)
    _closed(db, world.agent, 30, TODAY)
    mine = {s.stage: s for s in reports.pipeline(db, world.agent, ALL, today=TODAY).stages}
    # the world's own deal (Alice's, buyer, under contract, $450,000) plus the new one
    assert mine["under_contract"].files == 2
    assert mine["under_contract"].volume_cents == 95_000_000
    assert "closed" not in mine
    everyone = {s.stage: s for s in reports.pipeline(db, world.admin, ALL, today=TODAY).stages}
    assert everyone["under_contract"].files == 3
    outsider = reports.pipeline(db, world.outsider_admin, ALL, today=TODAY)
    assert sum(s.files for s in outsider.stages) == 1  # Summit's own deal only
    weeks = reports.pipeline(db, world.agent, ALL, today=TODAY).new_contracts
    assert sum(w.files for w in weeks) == 2 and weeks[-1].files == 1  # closed ones count too


def test_filters_narrow_every_report_and_bad_filters_are_refused_clearly(
    db: Session, world: World
) -> None:
    _file(db, world.agent2, stage="under_contract", side="seller", property_type="condo")
    _file(db, world.agent, stage="under_contract", side="seller", property_type="condo")
    only_bob = reports.parse_filters(
        period="365", agent=str(world.agent2.id), side="seller", property_type="condo"
    )
    stages = reports.pipeline(db, world.admin, only_bob, today=TODAY).stages
    assert sum(s.files for s in stages) == 1
    with pytest.raises(ValidationFailed) as exc:
        reports.parse_filters(period="7", agent="x", side="both", property_type="castle")
    assert set(exc.value.errors) == {"period", "agent", "side", "property_type"}


def test_closings_compare_this_year_with_last_by_month_and_list_the_next_weeks(
    db: Session, world: World
) -> None:
    _closed(db, world.agent, 30, date(2026, 3, 4))
    _closed(db, world.agent, 30, date(2026, 3, 20))
    _closed(db, world.agent, 30, date(2025, 3, 9))
    _file(db, world.agent, stage="clear_to_close", closing_date=TODAY + timedelta(days=8))
    report = reports.closings(db, world.agent, ALL, today=TODAY)
    march = report.months[2]
    assert (march.month, march.this_year, march.last_year) == ("Mar", 2, 1)
    assert march.this_year_volume_cents == 80_000_000
    assert len(report.upcoming) == 8
    assert [w.files for w in report.upcoming][:3] == [0, 1, 0]


def _key_date(db: Session, txn: Transaction, key: str, due: datetime) -> None:
    db.add(
        KeyDate(
            org_id=txn.org_id,
            transaction_id=txn.id,
            key=key,
            label=key.replace("_", " ").capitalize(),
            computed_date=due.date(),
            due_at=due,
        )
    )


def _task(db: Session, txn: Transaction, key: str, done_at: datetime | None, **f: Any) -> None:
    db.add(
        Task(
            org_id=txn.org_id,
            transaction_id=txn.id,
            title=f"Do {key}",
            due_key=key,
            status="done" if done_at else "open",
            completed_at=done_at,
            **f,
        )
    )


def test_deadlines_are_met_met_late_or_missed_against_their_due_moment(
    db: Session, world: World
) -> None:
    due = NOW - timedelta(days=3)
    on_time = _file(db, world.agent, stage="under_contract")
    late = _file(db, world.agent, stage="under_contract")
    missed = _file(db, world.agent, stage="under_contract")
    for txn, done in ((on_time, due - timedelta(hours=1)), (late, due + timedelta(days=1))):
        _key_date(db, txn, "survey_review", due)
        _task(db, txn, "survey_review", done)
    _key_date(db, missed, "survey_review", due)
    _task(db, missed, "survey_review", None)
    db.flush()
    report = reports.deadlines(db, world.agent, ALL, now=NOW)
    assert [(r.group, r.met, r.late, r.missed) for r in report.by_kind] == [
        ("survey_review", 1, 1, 1)
    ]
    assert [(r.label, r.met, r.late, r.missed) for r in report.by_agent] == [
        ("Alice Agent", 1, 1, 1)
    ]
    assert {f.transaction_id for f in report.late_files} == {late.id, missed.id}
    assert reports.deadlines(db, world.agent2, ALL, now=NOW).by_kind == []


def test_at_risk_scores_open_files_by_listed_factors_with_links_to_fix_them(
    db: Session, world: World
) -> None:
    risky = _file(
        db,
        world.agent,
        stage="under_contract",
        effective_date=TODAY - timedelta(days=20),
        closing_date=date(2026, 6, 13),  # a Saturday
        updated_at=NOW - timedelta(days=30),
    )
    _key_date(db, risky, "survey_review", NOW + timedelta(days=1))
    _task(db, risky, "survey_review", None)
    _task(db, risky, "old", None, due_date=TODAY - timedelta(days=4))
    calm = _file(
        db,
        world.agent,
        stage="under_contract",
        effective_date=TODAY,
        closing_date=date(2026, 7, 15),
        updated_at=NOW,
    )
    db.flush()
    rows = reports.at_risk(db, world.agent, ALL, today=TODAY, now=NOW)
    top = rows[0]
    assert top.transaction_id == risky.id
    assert [f.key for f in top.factors] == [
        "deadline_soon",
        "overdue_tasks",
        "closing_off_day",
        "stale",
    ]
    assert top.score == 30 + 20 + 10 + 10
    assert top.factors[0].href == f"/transactions/{risky.id}/tasks"
    assert "Sat Jun 13" in top.factors[2].detail
    assert calm.id not in {r.transaction_id for r in rows}
    assert risky.id not in {
        r.transaction_id for r in reports.at_risk(db, world.agent2, ALL, today=TODAY, now=NOW)
    }


@pytest.mark.parametrize("who", ["client", "attorney", "lender"])
@pytest.mark.parametrize("name", reports.REPORTS)
def test_outside_parties_are_refused_every_report(
    db: Session, world: World, who: str, name: str
) -> None:
    with pytest.raises(PermissionDenied):
        reports.csv_rows(db, world.user(who), name, ALL)


def test_a_deactivated_agent_is_refused(db: Session, world: World) -> None:
    deactivate(db, world.agent)
    with pytest.raises(PermissionDenied):
        reports.pipeline(db, world.agent, ALL)


def test_every_report_has_a_csv_with_a_header_and_unknown_names_are_refused(
    db: Session, world: World
) -> None:
    for name in reports.REPORTS:
        header, rows = reports.csv_rows(db, world.admin, name, ALL)
        assert header and all(len(r) == len(header) for r in rows)
    with pytest.raises(ValidationFailed):
        reports.csv_rows(db, world.admin, "salaries", ALL)


def test_the_daily_digest_lists_the_users_at_risk_files(db: Session, world: World) -> None:
    from chronos.models import EmailMessage
    from chronos.services import notifications, tasks

    morning = datetime(2024, 1, 20, 12, 0, tzinfo=UTC)  # 07:00 in New York
    tasks.create_task(
        db,
        world.agent,
        world.deal.id or 0,
        {"title": "Call the lender", "due_date": "2024-01-20", "assignee": f"u:{world.agent.id}"},
    )
    risky = _file(db, world.agent, stage="under_contract", street="9 Undated Way")
    db.commit()
    notifications.send_digests(db, morning)
    db.commit()
    [digest] = db.exec(
        select(EmailMessage).where(
            EmailMessage.to_address == world.agent.email, EmailMessage.template == "daily_digest"
        )
    ).all()
    assert "At-risk files" in digest.text_body and risky.street in digest.text_body
    assert "No effective or closing date (+15)" in digest.text_body
