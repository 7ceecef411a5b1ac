"""One argument check in front of every public event handler (anyone can call one over the
websocket with any JSON): each argument must match the handler's annotation before it runs.

Reflex converts what it can from the annotations (a numeric string for an ``int``) and passes
anything else through unchanged, so a list reached ``value.strip()`` and an object reached a
``dict`` key lookup (the fuzz tier, tests/fuzz, found dozens). A call that does not fit is
refused with one toast and a warning in the log, and the handler never runs.
"""

from __future__ import annotations

import functools
import inspect
import logging
import math
import types
import typing
from collections.abc import Callable
from typing import Any

import reflex as rx

from chronos.services.validation import MAX_ID

log = logging.getLogger(__name__)
BACKGROUND = "_reflex_background_task"
GUARDED = "_chronos_arguments_checked"
REFUSED = "That request was not understood. Reload the page and try again."


def _fits(value: Any, hint: Any) -> bool:
    if hint is Any or hint is inspect.Parameter.empty:
        return True
    origin = typing.get_origin(hint)
    args = typing.get_args(hint)
    if origin in (typing.Union, types.UnionType):
        return any(_fits(value, a) for a in args)
    if origin is typing.Literal:
        return value in args
    if hint is None or hint is type(None):
        return value is None
    if hint is bool:
        return isinstance(value, bool)
    if hint is int:
        return isinstance(value, int) and not isinstance(value, bool) and -MAX_ID <= value <= MAX_ID
    if hint is float:
        return (
            isinstance(value, int | float)
            and not isinstance(value, bool)
            and math.isfinite(value)
            and abs(value) < 1e15
        )
    if hint is str:
        return isinstance(value, str)
    if origin in (list, tuple, set) or hint in (list, tuple, set):
        inner = args[0] if args and origin is not tuple else Any
        return isinstance(value, list) and all(_fits(v, inner) for v in value)
    if origin is dict or hint is dict:
        key, inner = args if len(args) == 2 else (Any, Any)
        return isinstance(value, dict) and all(
            _fits(k, key) and _fits(v, inner) for k, v in value.items()
        )
    if isinstance(hint, type):
        return isinstance(value, hint)
    return True  # an annotation this check does not understand: the handler validates


def problem(fn: Callable[..., Any], args: tuple[Any, ...], kwargs: dict[str, Any]) -> str:
    """Why this call does not fit ``fn``'s signature ('' when it does)."""
    try:
        bound = inspect.signature(fn).bind(*args, **kwargs)
    except TypeError as exc:
        return str(exc)
    hints = _hints(fn)
    for name, value in list(bound.arguments.items())[1:]:
        if not _fits(value, hints.get(name, Any)):
            return f"{name} is not a {hints.get(name)}: {type(value).__name__}"
    return ""


@functools.cache
def _hints_cached(fn: Callable[..., Any]) -> dict[str, Any]:
    return typing.get_type_hints(fn)


def _hints(fn: Callable[..., Any]) -> dict[str, Any]:
    try:
        return _hints_cached(fn)
    except Exception:  # an unresolvable annotation: only the arity is checked
        return {}


def _refuse(fn: Callable[..., Any], why: str) -> Any:
    log.warning("event handler %s refused its arguments: %s", fn.__qualname__, why)
    return rx.toast.error(REFUSED)


def guard(fn: Callable[..., Any]) -> Callable[..., Any]:
    """``fn`` behind the argument check, keeping its name, signature and kind."""
    if getattr(fn, BACKGROUND, False) or getattr(fn, GUARDED, False):
        return fn
    if inspect.iscoroutinefunction(fn):

        @functools.wraps(fn)
        async def checked_async(*args: Any, **kwargs: Any) -> Any:
            why = problem(fn, args, kwargs)
            if why:
                return _refuse(fn, why)
            return await fn(*args, **kwargs)

        checked_async.__dict__[GUARDED] = True
        return checked_async

    @functools.wraps(fn)
    def checked(*args: Any, **kwargs: Any) -> Any:
        why = problem(fn, args, kwargs)
        if why:
            return _refuse(fn, why)
        return fn(*args, **kwargs)

    checked.__dict__[GUARDED] = True
    return checked


def guard_handlers(cls: Any) -> None:
    """Put every public handler ``cls`` gets, its own and its mixins', behind the check.

    Called before Reflex turns the methods into event handlers; a mixin's method is set on
    ``cls`` already checked (and named ``cls.name``, as Reflex's own copy of it would be)."""
    own = [(name, value) for name, value in cls.__dict__.items()]
    mixed = [
        (name, value)
        for mixin in cls._mixins()
        for name, value in mixin.__dict__.items()
        if name not in cls.__dict__ and getattr(cls, name, None) is value
    ]
    for name, value in [*own, *mixed]:
        if not cls._item_is_event_handler(name, value) or not inspect.isfunction(value):
            continue
        checked = guard(value)
        if checked is not value:
            checked.__qualname__ = f"{cls.__name__}.{name}"
        setattr(cls, name, checked)
