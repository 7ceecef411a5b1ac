"""Every public event handler is an API anyone can call over the websocket, with any arguments.

Walks the whole state tree: a handler that reaches the database (``session_scope``), itself
or through the ``self._helpers`` it calls, must resolve the actor through the session gate
(``_gate`` / ``_actor``) on the way, or be on the short reviewed list below. Handlers take
only plain JSON-shaped arguments: Reflex builds typed objects from whatever a caller sends, so
a handler taking a model (``refresh_unread(user: User)`` did) trusts a forged one.
"""

from __future__ import annotations

import contextlib
import inspect
import re
import textwrap
from collections.abc import Iterator
from typing import Any

import pytest
import reflex as rx

import chronos.chronos  # noqa: F401  (imports every page module, so every state exists)
from chronos.state.session import SessionState

# Handlers that read or write data without a signed-in actor, each for a reason.
PUBLIC_BY_DESIGN = {
    # The developer mailbox: dev mode only; email_log refuses it everywhere else.
    "DevMailboxState.load": "dev mailbox (service refuses outside dev mode)",
    "DevMailboxState.set_recipient": "dev mailbox",
    "DevMailboxState.clear_recipient": "dev mailbox",
    "DevMailboxState.next_page": "dev mailbox",
    "DevMailboxState.prev_page": "dev mailbox",
    "DevMailboxMessageState.load": "dev mailbox",
    # Reached from an emailed link before anyone signs in: the token is the credential.
    "ResetPasswordState.load": "reset link (the service checks the token)",
}
GATE = re.compile(r"\b(_gate|_actor|event_user)\(")
DATA = re.compile(r"\bsession_scope\(")
SELF_CALL = re.compile(r"\bself\.(_[a-z]\w*)\(")
PLAIN = (str, int, float, bool, dict, list, type(None))


def _states(cls: type[rx.State]) -> Iterator[type[rx.State]]:
    yield cls
    for sub in cls.get_substates():
        yield from _states(sub)


def _handlers() -> Iterator[tuple[type[rx.State], str, Any]]:
    for cls in _states(SessionState):
        for name, handler in cls.event_handlers.items():
            fn = handler.fn
            if fn.__qualname__.split(".")[0] != cls.__name__:
                continue  # inherited: checked where it is defined
            yield cls, name, fn


def _reach(cls: type, fn: Any, seen: set[str] | None = None) -> str:
    """The source of ``fn`` and of every ``self._helper(...)`` it calls, recursively."""
    seen = seen if seen is not None else set()
    src = textwrap.dedent(inspect.getsource(fn))
    out = [src]
    for helper in SELF_CALL.findall(src):
        if helper in seen:
            continue
        seen.add(helper)
        target = getattr(cls, helper, None)
        target = getattr(target, "fn", target)
        if callable(target):
            with contextlib.suppress(OSError, TypeError):
                out.append(_reach(cls, target, seen))
    return "\n".join(out)


ALL = sorted(_handlers(), key=lambda h: (h[0].__name__, h[1]))


def test_the_walk_finds_the_whole_state_tree() -> None:
    names = {f"{cls.__name__}.{name}" for cls, name, _ in ALL}
    assert len(ALL) > 300  # every page's handlers, not just a few
    assert "TransactionState.add_note" in names and "AccountState.change_password" in names
    unknown = set(PUBLIC_BY_DESIGN) - names
    assert not unknown, f"allow-listed handlers that no longer exist: {sorted(unknown)}"


@pytest.mark.parametrize("cls,name,fn", ALL, ids=[f"{c.__name__}.{n}" for c, n, _ in ALL])
def test_a_handler_that_reaches_data_goes_through_the_session_gate(
    cls: type, name: str, fn: Any
) -> None:
    src = _reach(cls, fn)
    if not DATA.search(src) or f"{cls.__name__}.{name}" in PUBLIC_BY_DESIGN:
        return
    assert GATE.search(src), (
        f"{cls.__name__}.{name} reaches the database without resolving the actor "
        "(call self._gate(...) or self._actor() first, or make it _private)"
    )


@pytest.mark.parametrize("cls,name,fn", ALL, ids=[f"{c.__name__}.{n}" for c, n, _ in ALL])
def test_a_handler_takes_only_plain_arguments(cls: type, name: str, fn: Any) -> None:
    hints = {k: v for k, v in inspect.get_annotations(fn, eval_str=True).items() if k != "return"}
    for param, hint in hints.items():
        parts = getattr(hint, "__args__", None) or (hint,)
        for part in parts:
            origin = getattr(part, "__origin__", part)
            assert part is Any or origin in PLAIN, (
                f"{cls.__name__}.{name}({param}: {hint}): a caller can send any JSON as "
                "this object; take ids or plain values and load the object behind the gate"
            )


def test_the_nav_badges_cannot_be_asked_for_someone_else() -> None:
    # It took a User built from the caller's JSON and counted that user's notifications.
    assert "refresh_unread" not in SessionState.event_handlers
    assert "_refresh_badges" not in SessionState.event_handlers
