"""The reports on SQLite and PostgreSQL (the same worked examples as tests/unit/test_reports.py,
so the SQL of medians, percentiles, months and scores is proved on both), and the CSV route:
each persona gets their own numbers; the signed-out, outside parties, foreign origins and bad
filters are refused before a byte is sent."""

# The tests take the imported ``files`` fixture by name (F811 is pytest's idiom here).
# ruff: noqa: F811
from __future__ import annotations

import csv
import io

import pytest

from tests.integration.test_file_routes import (  # noqa: F401  (files: the fixture)
    Files,
    files,
)
from tests.unit.test_reports import (  # noqa: F401  (collected here again, on both databases)
    test_at_risk_scores_open_files_by_listed_factors_with_links_to_fix_them,
    test_closings_compare_this_year_with_last_by_month_and_list_the_next_weeks,
    test_days_to_close_gives_median_and_90th_percentile_per_side_by_nearest_rank,
    test_deadlines_are_met_met_late_or_missed_against_their_due_moment,
    test_every_report_has_a_csv_with_a_header_and_unknown_names_are_refused,
    test_fall_through_rate_and_reasons_count_cancelled_files_of_the_period,
    test_filters_narrow_every_report_and_bad_filters_are_refused_clearly,
    test_pipeline_counts_open_files_and_volume_by_stage_only_for_what_the_user_sees,
)


def _rows(text: str) -> list[list[str]]:
    assert text.startswith("\ufeff")
    return list(csv.reader(io.StringIO(text[1:])))


@pytest.mark.parametrize("name", ["pipeline", "closings", "days_to_close", "deadlines", "at_risk"])
def test_staff_download_each_report_as_csv(files: Files, name: str) -> None:
    r = files.as_("agent").get(f"/api/v1/reports/{name}.csv?period=365&side=all")
    assert r.status_code == 200, r.text
    assert r.headers["content-type"].startswith("text/csv")
    assert f"chronos-report-{name}-" in r.headers["content-disposition"]
    assert _rows(r.text)[0]


def test_the_agents_pipeline_csv_counts_only_their_files(files: Files) -> None:
    def under_contract(who: str) -> str:
        rows = _rows(files.as_(who).get("/api/v1/reports/pipeline.csv").text)
        return next(r[2] for r in rows if r[1] == "Under contract")

    assert under_contract("agent") == "1"  # the world's deal; Bob's file is not Alice's
    assert int(under_contract("admin")) >= 1


@pytest.mark.parametrize("who", ["client", "attorney", "lender"])
def test_outside_parties_are_refused_the_report_csv(files: Files, who: str) -> None:
    assert files.as_(who).get("/api/v1/reports/pipeline.csv").status_code == 403


def test_the_report_route_refuses_strangers_and_bad_input(files: Files) -> None:
    assert files.as_(None).get("/api/v1/reports/at_risk.csv").status_code == 401
    foreign = files.as_("agent").get(
        "/api/v1/reports/at_risk.csv", headers={"Origin": "https://evil.example"}
    )
    assert foreign.status_code == 403
    assert files.as_("agent").get("/api/v1/reports/salaries.csv").status_code == 404
    bad = files.as_("agent").get("/api/v1/reports/pipeline.csv?period=7&side=sideways")
    assert bad.status_code == 422
    assert set(bad.json()["fields"]) == {"period", "side"}
