"""Durable background jobs on huey (see ARCHITECTURE.md, "Mail and jobs").

``queue``: the huey instance from settings. ``tasks``: every task, registered in one place.
``consumer``: the in-process consumer the app starts, and ``chronos worker``.
"""

from chronos.jobs.consumer import jobs_in_process, run_worker
from chronos.jobs.tasks import Jobs, enqueue_delivery, get_jobs, register_tasks

__all__ = [
    "Jobs",
    "enqueue_delivery",
    "get_jobs",
    "jobs_in_process",
    "register_tasks",
    "run_worker",
]
