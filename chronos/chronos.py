"""Builds the Reflex app, mounts the API and registers the pages. Nothing else."""

from __future__ import annotations

import reflex as rx

from chronos.api.app import create_api
from chronos.components.layout import AUTH_FORM_SCRIPT
from chronos.jobs import jobs_in_process
from chronos.logging_setup import configure_logging
from chronos.pages import (  # noqa: F401  (each module registers its pages)
    accept_invitation,
    account,
    admin_automations,
    admin_checklists,
    admin_compliance,
    admin_deadlines,
    admin_email,
    admin_forms,
    admin_security,
    admin_users,
    calendar,
    dev_mailbox,
    email_templates,
    forgot_password,
    index,
    notifications,
    people,
    person,
    pipeline,
    portal,
    reset_password,
    review,
    sign_in,
    sign_up,
    today,
    transaction,
    transaction_new,
    two_factor,
    verify_email,
)
from chronos.pages.registry import add_pages
from chronos.state.session import TabOwnerGuard

configure_logging()

app = rx.App(
    head_components=[
        rx.el.meta(name="viewport", content="width=device-width, initial-scale=1"),
        rx.script(AUTH_FORM_SCRIPT),
        # In-page links (#documents, ...) land below the sticky 56px top bar.
        rx.el.style("html{scroll-padding-top:72px}"),
    ],
    api_transformer=create_api(),
)
# Before Reflex's own hydrate middleware: a tab's state is reset before it can be sent to
# anyone but the person who filled it.
app.add_middleware(TabOwnerGuard(), index=0)
add_pages(app)
app.register_lifespan_task(jobs_in_process)
