"""Logging for app code: level from CHRONOS_LOG_LEVEL, format from CHRONOS_LOG_FORMAT.

``text`` (the default, for people at a terminal) or ``json`` (one object per line, for a log
collector). Every line written while a request or websocket event is served carries its
request id, user, organization and transaction (``chronos.observability.context``). huey's own
warnings (a task that raised) go through the same handler.
"""

from __future__ import annotations

import logging

from chronos.observability.context import ContextFilter
from chronos.observability.logs import formatter_for
from chronos.settings import get_settings

_HANDLER_NAME = "chronos"


def build_handler(log_format: str) -> logging.Handler:
    handler = logging.StreamHandler()
    handler.set_name(_HANDLER_NAME)
    handler.setFormatter(formatter_for(log_format))
    handler.addFilter(ContextFilter())
    return handler


def configure_logging() -> None:
    root = logging.getLogger("chronos")
    if any(h.get_name() == _HANDLER_NAME for h in root.handlers):
        return
    settings = get_settings()
    handler = build_handler(settings.log_format)
    root.addHandler(handler)
    root.setLevel(settings.log_level)
    root.propagate = False
    huey = logging.getLogger("huey")
    huey.addHandler(handler)
    huey.setLevel(max(logging.WARNING, logging.getLevelName(settings.log_level)))
    huey.propagate = False
