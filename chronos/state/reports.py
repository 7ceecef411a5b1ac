"""The Reports page's state: the filters and the five reports of the files this user may see.

Every handler is public API: each load re-resolves the actor (staff only) and re-validates the
filters through ``reports.parse_filters``, whatever the browser sent."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlencode

import reflex as rx

from chronos.components.layout import api_url
from chronos.db import session_scope
from chronos.services import reports
from chronos.services.errors import ChronosError, ValidationFailed
from chronos.services.reports import (
    AtRiskRow,
    Choice,
    DeadlineRow,
    DurationRow,
    LateFileRow,
    MonthRow,
    ReasonRow,
    StageRow,
    WeekRow,
)
from chronos.state.session import STAFF, SessionState

ALL = "all"


class ReportsState(SessionState):
    period: str = reports.DEFAULT_PERIOD
    agent: str = ALL
    side: str = ALL
    property_type: str = ALL
    stage: str = ALL
    agents: list[Choice] = []
    loading: bool = True
    loaded: bool = False
    has_data: bool = False  # anything at all to chart (else the page shows its empty state)
    error: str = ""

    stages: list[StageRow] = []
    new_contracts: list[WeekRow] = []
    year: int = 0
    months: list[MonthRow] = []
    upcoming: list[WeekRow] = []
    by_side: list[DurationRow] = []
    by_agent: list[DurationRow] = []
    by_property_type: list[DurationRow] = []
    closed: int = 0
    cancelled: int = 0
    fall_through_label: str = "0%"
    reasons: list[ReasonRow] = []
    deadlines_by_kind: list[DeadlineRow] = []
    deadlines_by_agent: list[DeadlineRow] = []
    late_files: list[LateFileRow] = []
    at_risk: list[AtRiskRow] = []

    def _query(self) -> str:
        return urlencode(
            {
                "period": self.period,
                "agent": self.agent,
                "side": self.side,
                "property_type": self.property_type,
                "stage": self.stage,
            }
        )

    @rx.var
    def csv_query(self) -> str:
        return "?" + self._query()

    def _clear(self) -> None:
        self.stages, self.new_contracts, self.months, self.upcoming = [], [], [], []
        self.by_side, self.by_agent, self.by_property_type, self.reasons = [], [], [], []
        self.deadlines_by_kind, self.deadlines_by_agent, self.late_files = [], [], []
        self.at_risk, self.agents = [], []
        self.closed = self.cancelled = self.year = 0
        self.fall_through_label = "0%"
        self.loaded = self.has_data = False

    @rx.event
    def load(self):  # type: ignore[no-untyped-def]
        self.loading = True
        user, redirect = self._gate(STAFF)
        if user is None:
            self._clear()
            self.loading = False
            return redirect
        try:
            filters = reports.parse_filters(
                period=self.period,
                agent=self.agent,
                side=self.side,
                property_type=self.property_type,
                stage=self.stage,
            )
            with session_scope() as db:
                self.agents = reports.agent_choices(db, user)
                pipeline = reports.pipeline(db, user, filters)
                closings = reports.closings(db, user, filters)
                durations = reports.days_to_close(db, user, filters)
                deadlines = reports.deadlines(db, user, filters)
                risky = reports.at_risk(db, user, filters)
        except ValidationFailed as exc:
            # A forged filter: fall back to the defaults rather than keep an invalid one.
            self.period, self.agent, self.side, self.property_type, self.stage = (
                reports.DEFAULT_PERIOD,
                ALL,
                ALL,
                ALL,
                ALL,
            )
            self._clear()
            self.error = exc.message
            self.loading = False
            return None
        except ChronosError as exc:
            self._clear()
            self.error = exc.message
            self.loading = False
            return None
        self.stages, self.new_contracts = pipeline.stages, pipeline.new_contracts
        self.year, self.months, self.upcoming = closings.year, closings.months, closings.upcoming
        self.by_side, self.by_agent = durations.by_side, durations.by_agent
        self.by_property_type, self.reasons = durations.by_property_type, durations.reasons
        self.closed, self.cancelled = durations.closed, durations.cancelled
        self.fall_through_label = durations.fall_through_label
        self.deadlines_by_kind, self.deadlines_by_agent = deadlines.by_kind, deadlines.by_agent
        self.late_files, self.at_risk = deadlines.late_files, risky
        self.has_data = bool(
            any(s.files for s in self.stages)
            or any(w.files for w in self.new_contracts + self.upcoming)
            or any(m.this_year or m.last_year for m in self.months)
            or self.closed
            or self.cancelled
            or self.deadlines_by_kind
            or self.at_risk
        )
        self.error, self.loading, self.loaded = "", False, True
        return None

    def _set(self, name: str, value: Any) -> Any:
        setattr(self, name, str(value)[:20] if value is not None else ALL)
        return ReportsState.load

    @rx.event
    def set_period(self, value: str):  # type: ignore[no-untyped-def]
        return self._set("period", value)

    @rx.event
    def set_agent(self, value: str):  # type: ignore[no-untyped-def]
        return self._set("agent", value)

    @rx.event
    def set_side(self, value: str):  # type: ignore[no-untyped-def]
        return self._set("side", value)

    @rx.event
    def set_property_type(self, value: str):  # type: ignore[no-untyped-def]
        return self._set("property_type", value)

    @rx.event
    def set_stage(self, value: str):  # type: ignore[no-untyped-def]
        return self._set("stage", value)

    @rx.event
    def clear_filters(self):  # type: ignore[no-untyped-def]
        self.period, self.agent, self.side, self.property_type, self.stage = (
            reports.DEFAULT_PERIOD,
            ALL,
            ALL,
            ALL,
            ALL,
        )
        return ReportsState.load


def csv_href(name: str) -> Any:
    """The CSV link of one report with the page's current filters (the route re-checks all)."""
    return api_url(f"/api/v1/reports/{name}.csv") + ReportsState.csv_query
