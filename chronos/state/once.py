"""Per-form idempotency keys on the state side (the browser side is ``components/once.py``).

A State with a create form declares ``once_key: str = ""`` (sent to the browser, rendered into
the form as ``data-once`` and a hidden field) and ``_once_done: str = ""``. The handler takes the
key the browser sent with the submit, skips a repeat of a key it has already handled, passes the
key to ``services.idempotency.once`` (so a repeat reaching another worker, or a replayed event,
still gets the first result), and rotates the key once it has answered, which re-enables the
control in the browser.
"""

from __future__ import annotations

from typing import Any

from chronos.components.once import ONCE_FIELD
from chronos.services import idempotency


def key_of(payload: Any) -> str:
    """The key a submit carried: a form's hidden field, or a handler's argument."""
    if isinstance(payload, dict):
        payload = payload.get(ONCE_FIELD)
    return payload if isinstance(payload, str) and len(payload) <= idempotency.MAX_KEY else ""


def repeated(state: Any, key: str, *, form: str = "") -> bool:
    """True for a submit whose key this tab has already handled (its first result stands).

    ``form`` names one of several forms on a state (``note`` → ``note_once_key`` and
    ``_note_once_done``); without it the state's ``once_key`` / ``_once_done``."""
    return bool(key) and key == getattr(state, f"_{_prefix(form)}once_done")


def fresh(state: Any, *, form: str = "") -> None:
    """A new key for the form (on opening it, and after each answered submit)."""
    setattr(state, f"{_prefix(form)}once_key", idempotency.new_key())


def settle(state: Any, key: str, *, done: bool, form: str = "") -> None:
    """The submit with ``key`` has been answered: remember it if it saved, rotate the key."""
    if done and key:
        setattr(state, f"_{_prefix(form)}once_done", key)
    fresh(state, form=form)


def _prefix(form: str) -> str:
    return f"{form}_" if form else ""
