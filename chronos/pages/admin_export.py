"""/admin/export: an admin takes the brokerage's data out (a ZIP of CSVs and every document).

The build runs as a job (``services.org_export.build``) and emails a signed link; this page
shows its progress while the admin waits, and the last day's exports with their links.
"""

from __future__ import annotations

import asyncio
import dataclasses

import reflex as rx

from chronos import routes
from chronos.components.admin_nav import admin_tabs
from chronos.components.layout import api_url, app_shell
from chronos.components.timeline import local_time
from chronos.components.ui import (
    download_link,
    empty_state,
    error_callout,
    loading_block,
    page_header,
)
from chronos.db import session_scope
from chronos.models import Role
from chronos.pages.registry import page
from chronos.services import org_export
from chronos.services.errors import ChronosError
from chronos.services.org_export import ExportRow
from chronos.state.session import SessionState

ADMINS = frozenset({Role.ADMIN})
STATE_LABELS = {
    "queued": "Waiting to start",
    "building": "Building",
    "ready": "Ready",
    "failed": "Failed",
}
POLL_SECONDS = 2
POLL_LIMIT = 300  # ten minutes of watching; the email arrives either way


class AdminExportState(SessionState):
    rows: list[ExportRow] = []
    loading: bool = True
    error: str = ""
    notice: str = ""
    busy: bool = False
    watching: bool = False

    def _refresh(self) -> bool:
        """Reload this admin's exports; True while one is still being built."""
        user, _ = self._gate(ADMINS)
        if user is None:
            self.rows = []
            return False
        try:
            self.rows = [
                dataclasses.replace(r, link=api_url(r.link) if r.link else "")
                for r in org_export.list_exports(user)
            ]
            self.error = ""
        except ChronosError as exc:
            self.rows, self.error = [], exc.message
        return any(r.state in ("queued", "building") for r in self.rows)

    @rx.event
    def load(self):  # type: ignore[no-untyped-def]
        self.loading = True
        user, redirect = self._gate(ADMINS)
        if user is None:
            self.rows = []
            return redirect
        building = self._refresh()
        self.loading = False
        return AdminExportState.watch if building else None

    @rx.event
    def start(self):  # type: ignore[no-untyped-def]
        if self.busy:
            return None
        user, redirect = self._gate(ADMINS)
        if user is None:
            return redirect
        self.busy = True
        try:
            with session_scope() as db:
                name = org_export.request_export(db, user)
            org_export.enqueue(name)
            self.notice = (
                "Building your export. You can leave this page: the link will also be "
                "emailed to you."
            )
            self.error = ""
        except ChronosError as exc:
            self.error, self.notice = exc.message, ""
        self.busy = False
        self._refresh()
        return AdminExportState.watch

    @rx.event(background=True)
    async def watch(self):  # type: ignore[no-untyped-def]
        """Refresh the list every few seconds while an export is being built."""
        async with self:
            if self.watching:
                return
            self.watching = True
        try:
            for _ in range(POLL_LIMIT):
                await asyncio.sleep(POLL_SECONDS)
                async with self:
                    if not self._refresh():
                        return
        finally:
            async with self:
                self.watching = False


def _row(r: ExportRow) -> rx.Component:
    return rx.card(
        rx.flex(
            rx.flex(
                rx.text(
                    "Requested ",
                    local_time(r.requested),
                    size="2",
                    weight="medium",
                ),
                rx.text(
                    rx.match(
                        r.state,
                        *STATE_LABELS.items(),
                        "Failed",
                    ),
                    rx.cond(r.detail != "", " · " + r.detail, ""),
                    size="2",
                    color_scheme=rx.match(r.state, ("failed", "red"), ("ready", "grass"), "gray"),
                    role="status",
                ),
                direction="column",
                spacing="1",
            ),
            rx.spacer(),
            rx.cond(
                r.link != "",
                download_link("Download ZIP", r.link, aria_label="Download this export (ZIP)"),
                rx.cond(
                    (r.state == "building") | (r.state == "queued"),
                    rx.spinner(size="2"),
                ),
            ),
            align="center",
            spacing="3",
            wrap="wrap",
        ),
        width="100%",
    )


def _content() -> rx.Component:
    s = AdminExportState
    return rx.flex(
        rx.card(
            rx.flex(
                rx.text(
                    "One ZIP with a spreadsheet (CSV) per kind of record — files, people, "
                    "participants, key dates, tasks, timeline, conversations, emails, "
                    "documents, checklists, signatures — every version of every document, and "
                    "a README explaining each file and column. Passwords, two-factor secrets "
                    "and sign-in sessions are never included.",
                    size="2",
                ),
                rx.text(
                    "It is built in the background and kept for 24 hours; the download link "
                    "is emailed to you and works only when you are signed in.",
                    size="2",
                    color_scheme="gray",
                ),
                rx.flex(
                    rx.button(
                        rx.cond(s.busy, rx.spinner(size="2"), rx.icon("archive", size=16)),
                        "Build an export",
                        on_click=s.start,
                        disabled=s.busy,
                        size="3",
                    ),
                    justify="end",
                ),
                direction="column",
                spacing="3",
            ),
            width="100%",
        ),
        rx.cond(s.error, error_callout(s.error)),
        rx.cond(s.notice, rx.callout(s.notice, icon="info", role="status", width="100%")),
        rx.heading("Your exports of the last day", size="4", as_="h2"),
        rx.cond(
            s.loading,
            loading_block(),
            rx.cond(
                s.rows.length() > 0,  # type: ignore[attr-defined]
                rx.flex(rx.foreach(s.rows, _row), direction="column", spacing="2"),
                empty_state("archive", "No exports yet", "Build one to take your data out."),
            ),
        ),
        direction="column",
        spacing="3",
        width="100%",
    )


@page(routes.ADMIN_EXPORT, "Data export", on_load=AdminExportState.load)
def admin_export_page() -> rx.Component:
    return app_shell(
        rx.box(
            admin_tabs("export"),
            page_header("Data export", subtitle="Take all of the brokerage's data out."),
            _content(),
            max_width="880px",
            margin_x="auto",
        ),
        active="admin",
        user_name=AdminExportState.user_name,
        role_label=AdminExportState.role_label,
        is_staff=AdminExportState.is_staff,
        signed_in=AdminExportState.signed_in,
    )
