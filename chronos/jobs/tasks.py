"""Every background task, registered in one place on one huey instance.

- ``deliver_email(message_id)``: one delivery attempt; after a transient failure it schedules
  itself again for the row's ``next_attempt_at`` (the backoff lives in
  ``chronos.mail.delivery``, computed from the attempts recorded on the row, so it survives
  restarts and re-enqueues; huey's own retries are not used for it).
- ``sweep_email()`` every minute: queue again what no job is coming for (see
  ``delivery.sweep``).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from functools import lru_cache

from huey import Huey, crontab
from huey.api import TaskWrapper

from chronos.jobs.queue import build_huey
from chronos.mail import delivery
from chronos.settings import get_settings

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Jobs:
    huey: Huey
    deliver_email: TaskWrapper
    sweep_email: TaskWrapper


def register_tasks(huey: Huey) -> Jobs:
    @huey.task(name="deliver_email")
    def deliver_email(message_id: int) -> None:
        attempt = delivery.deliver(message_id)
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

    return Jobs(huey=huey, deliver_email=deliver_email, sweep_email=sweep_email)


@lru_cache(maxsize=1)
def get_jobs() -> Jobs:
    settings = get_settings()
    return register_tasks(build_huey(settings.jobs_url, settings.var_dir))


def enqueue_delivery(message_id: int) -> None:
    get_jobs().deliver_email(message_id)
