"""Liveness and readiness checks behind ``/healthz`` and ``/readyz``.

Liveness: the process answers (no I/O). Readiness: everything a request needs is there, each
check named with its latency: the database answers (``database``), its schema is at the code's
Alembic head (``migrations``), the job queue's storage answers (``jobs``) and document storage
takes a write (``storage``: a small probe object written, read back and deleted). Each check
runs in a thread with a time limit, all at once. Failures say which check and why in a few
words (the exception's type or a fixed sentence): nothing about hosts, paths or data, since
the routes are unauthenticated; the full error goes to the log with the request id.
"""

from __future__ import annotations

import asyncio
import logging
import secrets
import time
from collections.abc import Callable
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

from sqlalchemy import text
from sqlalchemy.engine import Engine

log = logging.getLogger(__name__)

CHECK_TIMEOUT_SECONDS = 3.0
PROBE_BYTES = b"chronos readiness probe"


class NotReady(Exception):
    """A check ran and found the dependency not usable; ``str()`` is safe to show."""


@dataclass(frozen=True)
class CheckResult:
    name: str
    ok: bool
    latency_ms: float
    error: str | None = None

    def as_json(self) -> dict[str, Any]:
        body: dict[str, Any] = {"ok": self.ok, "latency_ms": round(self.latency_ms, 1)}
        if self.error:
            body["error"] = self.error
        return body


@lru_cache(maxsize=1)
def code_heads() -> frozenset[str]:
    """The Alembic head revision(s) this code expects (read once from alembic/versions)."""
    from alembic.script import ScriptDirectory

    from chronos.migrate import alembic_config

    return frozenset(ScriptDirectory.from_config(alembic_config("sqlite://")).get_heads())


def check_database(engine: Engine) -> None:
    with engine.connect() as conn:
        conn.execute(text("SELECT 1")).scalar_one()


def check_migrations(engine: Engine) -> None:
    with engine.connect() as conn:
        try:
            current = frozenset(
                conn.execute(text("SELECT version_num FROM alembic_version")).scalars()
            )
        except Exception as exc:
            raise NotReady(
                "not migrated: no alembic_version table (run `chronos migrate`)"
            ) from exc
    expected = code_heads()
    if current != expected:
        raise NotReady(
            f"not at the code's migration head: at {', '.join(sorted(current)) or 'none'}, "
            f"head is {', '.join(sorted(expected))} (run `chronos migrate`)"
        )


def check_jobs(huey: Any) -> None:
    huey.pending_count()


def check_storage(storage: Any) -> None:
    key = f"health/probe-{secrets.token_hex(8)}"
    storage.put(key, PROBE_BYTES, "text/plain")
    try:
        if storage.get(key) != PROBE_BYTES:
            raise NotReady("the probe read back differs from what was written")
    finally:
        storage.delete(key)


async def _run(name: str, fn: Callable[[], None], timeout: float) -> CheckResult:
    started = time.perf_counter()
    try:
        await asyncio.wait_for(asyncio.to_thread(fn), timeout)
    except TimeoutError:
        error = f"timed out after {timeout:g} s"
        log.warning("readiness: %s %s", name, error)
    except NotReady as exc:
        error = str(exc)
        log.warning("readiness: %s: %s", name, error)
    except Exception as exc:
        error = f"failed ({type(exc).__name__})"
        log.warning("readiness: %s failed: %r", name, exc)
    else:
        return CheckResult(name, True, (time.perf_counter() - started) * 1000)
    return CheckResult(name, False, (time.perf_counter() - started) * 1000, error)


async def readiness(
    *,
    engine: Engine | None = None,
    huey: Any = None,
    storage: Any = None,
    timeout: float = CHECK_TIMEOUT_SECONDS,
) -> list[CheckResult]:
    """Run every check at once; the app's own engine, queue and storage unless given (looked
    up inside each check, so a misconfigured one fails its own check, not the route)."""

    def _engine() -> Engine:
        if engine is not None:
            return engine
        from chronos.db import get_engine

        return get_engine()

    def _huey() -> Any:
        if huey is not None:
            return huey
        from chronos.jobs import get_jobs

        return get_jobs().huey

    def _storage() -> Any:
        if storage is not None:
            return storage
        from chronos.storage import get_storage

        return get_storage()

    checks: list[tuple[str, Callable[[], None]]] = [
        ("database", lambda: check_database(_engine())),
        ("migrations", lambda: check_migrations(_engine())),
        ("jobs", lambda: check_jobs(_huey())),
        ("storage", lambda: check_storage(_storage())),
    ]
    return list(await asyncio.gather(*(_run(name, fn, timeout) for name, fn in checks)))
