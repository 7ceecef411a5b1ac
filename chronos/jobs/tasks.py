"""Every background task, registered in one place on one huey instance.

- ``deliver_email(message_id)``: one delivery attempt; after a transient failure it schedules
  itself again for the row's ``next_attempt_at`` (the backoff lives in
  ``chronos.mail.delivery``, computed from the attempts recorded on the row, so it survives
  restarts and re-enqueues; huey's own retries are not used for it).
- ``sweep_email()`` every minute: queue again what no job is coming for (see
  ``delivery.sweep``).
- ``run_automations()`` every minute: fire the date triggers, then run what is pending
  (``services.automations``: claimed per run, retried with backoff, failures recorded).
- ``scan_reminders()`` every 15 minutes: task and key-date reminders, once per occurrence,
  and the reminder emails quiet hours held back (``services.notifications``).
- ``send_digests()`` every hour: the daily digest of the users whose digest hour it is.
- ``build_export(name)``: an admin's brokerage export (``services.org_export``), then its link
  by email.
- ``run_import(batch_id)``: an admin's CSV/Excel import (``services.imports.runner``),
  progress committed on the batch row per chunk.
- ``sweep_idempotency()`` every 6 hours: idempotency keys past their day.
- ``deliver_webhooks()`` after a commit that recorded webhook events, and
  ``sweep_webhooks()`` every minute: attempt the due deliveries (``services.webhooks``; each
  claimed in the database, retries scheduled on the row), and forget events past 30 days.

This module is a composition point like ``chronos.py``: the scheduled task bodies call into
the services (imported inside them, so importing the queue never drags the domain in).
Each is safe to run on several workers at once: every write they make is claimed or
de-duplicated in the database.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from functools import lru_cache

from huey import Huey, crontab
from huey.api import TaskWrapper

from chronos.jobs.queue import build_huey
from chronos.mail import delivery
from chronos.observability import metrics
from chronos.settings import get_settings

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Jobs:
    huey: Huey
    deliver_email: TaskWrapper
    sweep_email: TaskWrapper
    run_automations: TaskWrapper
    scan_reminders: TaskWrapper
    send_digests: TaskWrapper
    sweep_idempotency: TaskWrapper
    build_export: TaskWrapper
    run_import: TaskWrapper
    deliver_webhooks: TaskWrapper
    sweep_webhooks: TaskWrapper


def register_tasks(huey: Huey) -> Jobs:
    metrics.instrument_huey(huey)

    @huey.task(name="deliver_email")
    def deliver_email(message_id: int) -> None:
        attempt = delivery.deliver(message_id)
        metrics.count_email(attempt.outcome)
        if attempt.retry_in is None:
            return
        try:
            deliver_email.schedule(args=(message_id,), delay=attempt.retry_in)
        except Exception:
            log.exception("email %s: could not schedule its retry; the sweeper will", message_id)

    @huey.periodic_task(crontab(minute="*"), name="sweep_email")
    def sweep_email() -> None:
        result = delivery.sweep()
        for message_id in result.due:
            deliver_email(message_id)
        if result.due:
            log.info("email sweep: %s overdue messages enqueued", len(result.due))

    @huey.periodic_task(crontab(minute="*"), name="run_automations")
    def run_automations() -> None:
        from chronos.db import session_scope
        from chronos.services import automations

        with session_scope() as db:
            fired = automations.scan_dates(db)
        outcome = automations.run_pending()
        if fired or outcome.done or outcome.retried or outcome.failed:
            log.info("automations: %s fired, %s", fired, outcome)

    @huey.periodic_task(crontab(minute="*/15"), name="scan_reminders")
    def scan_reminders() -> None:
        from chronos.db import session_scope
        from chronos.services import notifications

        with session_scope() as db:
            result = notifications.scan_reminders(db)
        if result.notified or result.emailed:
            log.info("reminders: %s notified, %s emails", result.notified, result.emailed)

    @huey.periodic_task(crontab(minute="2"), name="send_digests")
    def send_digests() -> None:
        from chronos.db import session_scope
        from chronos.services import notifications

        with session_scope() as db:
            sent = notifications.send_digests(db)
        if sent:
            log.info("digests: %s sent", sent)

    @huey.task(name="build_export")
    def build_export(name: str) -> None:
        from chronos.services import org_export

        org_export.build(name)

    @huey.task(name="run_import")
    def run_import(batch_id: int) -> None:
        from chronos.services.imports import runner

        runner.execute(batch_id)

    @huey.periodic_task(crontab(minute="17", hour="*/6"), name="sweep_idempotency")
    def sweep_idempotency() -> None:
        from chronos.db import session_scope
        from chronos.services import idempotency

        with session_scope() as db:
            gone = idempotency.sweep(db)
        if gone:
            log.info("idempotency keys: %s expired ones removed", gone)

    @huey.task(name="deliver_webhooks")
    def deliver_webhooks() -> None:
        from chronos.services import webhooks

        outcome = webhooks.deliver_due()
        if outcome != webhooks.Outcome():
            log.info("webhooks: %s", outcome)

    @huey.periodic_task(crontab(minute="*"), name="sweep_webhooks")
    def sweep_webhooks() -> None:
        from chronos.db import session_scope
        from chronos.services import webhooks

        outcome = webhooks.deliver_due()
        with session_scope() as db:
            gone = webhooks.sweep_events(db)
        if outcome != webhooks.Outcome() or gone:
            log.info("webhook sweep: %s; %s old events removed", outcome, gone)

    return Jobs(
        huey=huey,
        deliver_email=deliver_email,
        sweep_email=sweep_email,
        run_automations=run_automations,
        scan_reminders=scan_reminders,
        send_digests=send_digests,
        sweep_idempotency=sweep_idempotency,
        build_export=build_export,
        run_import=run_import,
        deliver_webhooks=deliver_webhooks,
        sweep_webhooks=sweep_webhooks,
    )


@lru_cache(maxsize=1)
def get_jobs() -> Jobs:
    settings = get_settings()
    return register_tasks(build_huey(settings.jobs_url, settings.var_dir))


def enqueue_delivery(message_id: int) -> None:
    get_jobs().deliver_email(message_id)
