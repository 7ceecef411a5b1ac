"""The local Redis (127.0.0.1:6379) for the job-queue tests, database 15.

Tests that need Redis call ``pytest.skip`` with a clear message only when no server answers;
with ``CHRONOS_REQUIRE_REDIS=1`` (set by .ci/run) a missing server fails instead.
"""

from __future__ import annotations

import os

import pytest
import redis

TEST_REDIS_URL = os.environ.get("CHRONOS_TEST_REDIS_URL", "redis://127.0.0.1:6379/15")


def redis_available() -> str | None:
    """None when the server answers, else why not."""
    try:
        redis.Redis.from_url(TEST_REDIS_URL, socket_connect_timeout=3).ping()
        return None
    except redis.RedisError as exc:
        return f"no Redis answers at {TEST_REDIS_URL}: {exc}".strip()


def require_redis() -> None:
    reason = redis_available()
    if reason is None:
        return
    if os.environ.get("CHRONOS_REQUIRE_REDIS") == "1":
        pytest.fail(f"Redis is required here (CHRONOS_REQUIRE_REDIS=1) but {reason}")
    pytest.skip(reason)
