"""Rate limits and lockouts on the abuse-prone endpoints, counted by the ``limits`` library.

Counters live in ``CHRONOS_RATE_LIMIT_STORAGE``: ``memory://`` for the embedded single
process, ``redis://...`` when several workers must share them. Each policy is a moving window
per key (an account's email, or a client address).
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass
from functools import lru_cache

from limits import RateLimitItem, parse
from limits.storage import Storage, storage_from_string
from limits.strategies import MovingWindowRateLimiter

from chronos.settings import get_settings


@dataclass(frozen=True)
class Policy:
    name: str
    limit: str  # limits notation, e.g. "5/15 minutes"
    message: str

    @property
    def item(self) -> RateLimitItem:
        return _parse(self.limit)


@lru_cache(maxsize=64)
def _parse(limit: str) -> RateLimitItem:
    return parse(limit)


# Failed sign-ins lock the account (whatever address they come from) and throttle an address
# (whatever accounts it tries). Successful sign-ins do not count.
SIGN_IN_ACCOUNT = Policy(
    "sign_in_account",
    "5/15 minutes",
    "Too many failed sign-ins for this account. Try again in {minutes} minutes, or reset your password.",
)
SIGN_IN_ADDRESS = Policy(
    "sign_in_address",
    "20/15 minutes",
    "Too many failed sign-ins from your network. Try again in {minutes} minutes.",
)
TWO_FACTOR_ACCOUNT = Policy(
    "two_factor_account",
    "5/15 minutes",
    "Too many wrong codes. Try again in {minutes} minutes.",
)
RESET_ACCOUNT = Policy(
    "reset_account",
    "3/hour",
    "A reset link was sent recently. Check your inbox, or try again in {minutes} minutes.",
)
RESET_ADDRESS = Policy(
    "reset_address",
    "10/hour",
    "Too many reset requests from your network. Try again in {minutes} minutes.",
)
SIGN_UP_ADDRESS = Policy(
    "sign_up_address",
    "5/hour",
    "Too many sign-ups from your network. Try again in {minutes} minutes.",
)
VERIFY_RESEND_ACCOUNT = Policy(
    "verify_resend_account",
    "3/hour",
    "A verification email was sent recently. Check your inbox, or try again in {minutes} minutes.",
)
INVITATION_ADDRESS = Policy(
    "invitation_address",
    "20/15 minutes",
    "Too many attempts from your network. Try again in {minutes} minutes.",
)
INVITE_SEND_ACCOUNT = Policy(
    "invite_send_account",
    "50/hour",
    "You have sent many invitations in the last hour. Try again in {minutes} minutes.",
)
# Reads of one calendar feed link (keyed by the token's hash): calendar apps poll every few
# minutes to a day; a link read more than this is stuck in a loop or being scraped.
CALENDAR_FEED = Policy(
    "calendar_feed",
    "60/hour",
    "This calendar link was read too often. Try again in {minutes} minutes.",
)

# Requests with one personal API token (keyed by its hash): generous for a script, a stop for
# a runaway loop.
API_TOKEN = Policy(
    "api_token",
    "300/minute",
    "This API token made too many requests. Try again in {minutes} minutes.",
)


class RateLimited(Exception):
    """Raised when a policy's window is full. ``str()`` is the message to show."""

    def __init__(self, policy: Policy, retry_after_seconds: int) -> None:
        self.policy = policy
        self.retry_after_seconds = retry_after_seconds
        minutes = max(1, math.ceil(retry_after_seconds / 60))
        self.minutes = minutes
        super().__init__(policy.message.format(minutes=minutes))


@lru_cache(maxsize=1)
def _storage() -> Storage:
    storage = storage_from_string(get_settings().rate_limit_storage)
    if not isinstance(storage, Storage):
        raise ValueError("CHRONOS_RATE_LIMIT_STORAGE must name a synchronous limits storage")
    return storage


@lru_cache(maxsize=1)
def _limiter() -> MovingWindowRateLimiter:
    return MovingWindowRateLimiter(_storage())


def reset_all() -> None:
    """Forget every counter (tests, and an operator clearing a lockout)."""
    _storage().reset()


def _key(key: str) -> str:
    return key.strip().lower()[:300] or "-"


def _retry_after(policy: Policy, key: str) -> int:
    stats = _limiter().get_window_stats(policy.item, policy.name, _key(key))
    return max(1, math.ceil(stats.reset_time - time.time()))


def check(policy: Policy, key: str) -> None:
    """Raise RateLimited if ``key`` has no room left under ``policy`` (does not count)."""
    if not _limiter().test(policy.item, policy.name, _key(key)):
        raise RateLimited(policy, _retry_after(policy, key))


def hit(policy: Policy, key: str) -> None:
    """Count one attempt; raise RateLimited if the window was already full."""
    if not _limiter().hit(policy.item, policy.name, _key(key)):
        raise RateLimited(policy, _retry_after(policy, key))


def clear(policy: Policy, key: str) -> None:
    """Empty one key's window (e.g. an account's failures after a password reset)."""
    _limiter().clear(policy.item, policy.name, _key(key))


POLICIES = {
    p.name: p
    for p in (
        SIGN_IN_ACCOUNT,
        SIGN_IN_ADDRESS,
        TWO_FACTOR_ACCOUNT,
        RESET_ACCOUNT,
        RESET_ADDRESS,
        SIGN_UP_ADDRESS,
        VERIFY_RESEND_ACCOUNT,
        INVITATION_ADDRESS,
        INVITE_SEND_ACCOUNT,
        CALENDAR_FEED,
        API_TOKEN,
    )
}


def message_for(policy_name: str, minutes: int | str) -> str:
    """The message of a policy by name (pages rebuild it from ``?limited=<name>&retry=<m>``)."""
    policy = POLICIES.get(policy_name)
    try:
        mins = max(1, min(int(minutes), 24 * 60))
    except (TypeError, ValueError):
        mins = 15
    if policy is None:
        return f"Too many attempts. Try again in {mins} minutes."
    return policy.message.format(minutes=mins)
