"""Logging for app code: one format with the logger name, level from CHRONOS_LOG_LEVEL."""

from __future__ import annotations

import logging

from chronos.settings import get_settings


def configure_logging() -> None:
    root = logging.getLogger("chronos")
    if root.handlers:
        return
    handler = logging.StreamHandler()
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    root.addHandler(handler)
    root.setLevel(get_settings().log_level)
    root.propagate = False
