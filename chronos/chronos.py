"""Builds the Reflex app, mounts the API and registers the pages. Nothing else."""

from __future__ import annotations

import reflex as rx

from chronos.api.app import create_api
from chronos.components.layout import AUTH_FORM_SCRIPT
from chronos.components.once import ONCE_SCRIPT
from chronos.jobs import jobs_in_process
from chronos.observability.events import EventObserver, backend_exception_handler
from chronos.observability.setup import configure_process, observability_lifespan
from chronos.pages import (  # noqa: F401  (each module registers its pages)
    accept_invitation,
    account,
    admin_automations,
    admin_checklists,
    admin_compliance,
    admin_deadlines,
    admin_email,
    admin_export,
    admin_forms,
    admin_security,
    admin_summary,
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
    reports,
    reset_password,
    review,
    sign_in,
    sign_up,
    today,
    transaction,
    transaction_new,
    two_factor,
    verify_email,
    webhooks,
)
from chronos.pages.registry import add_pages
from chronos.state.session import TabOwnerGuard

configure_process()

app = rx.App(
    head_components=[
        rx.el.meta(name="viewport", content="width=device-width, initial-scale=1"),
        rx.script(AUTH_FORM_SCRIPT),
        rx.script(ONCE_SCRIPT),
        # In-page links (#documents, ...) land below the sticky 56px top bar.
        rx.el.style("html{scroll-padding-top:72px}"),
    ],
    # Contrast and focus-ring fixes on top of Radix's palette (assets/theme.css says why).
    stylesheets=["/theme.css"],
    api_transformer=create_api(),
    # A toast with the request id to quote, instead of the exception's text.
    backend_exception_handler=backend_exception_handler,
)
# Request id, user and transaction on every log line of a websocket event; event metrics.
app.add_middleware(EventObserver(), index=0)
# Before any handler (hydrate included): a tab's state is reset before it can be sent to
# anyone but the person who filled it.
app.add_middleware(TabOwnerGuard(), index=1)
add_pages(app)
app.register_lifespan_task(jobs_in_process)
app.register_lifespan_task(observability_lifespan)
