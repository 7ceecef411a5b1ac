"""The huey instance: SQLite storage under var/ by default, Redis by ``CHRONOS_JOBS_URL``."""

from __future__ import annotations

from pathlib import Path

from huey import Huey, RedisHuey, SqliteHuey

QUEUE_NAME = "chronos"


def build_huey(jobs_url: str, var_dir: Path, *, name: str = QUEUE_NAME) -> Huey:
    """Empty ``jobs_url``: ``<var_dir>/jobs.db``. ``redis://`` / ``rediss://``: that Redis.

    Task results are not stored: every outcome that matters is written to the database.
    """
    if not jobs_url:
        var_dir.mkdir(parents=True, exist_ok=True)
        return SqliteHuey(name, filename=str(var_dir / "jobs.db"), results=False)
    if jobs_url.startswith(("redis://", "rediss://", "unix://")):
        return RedisHuey(name, url=jobs_url, results=False)
    raise ValueError(
        f"CHRONOS_JOBS_URL must be empty (SQLite under the var dir) or a redis:// URL, "
        f"not {jobs_url.split('@')[-1]!r}"
    )
