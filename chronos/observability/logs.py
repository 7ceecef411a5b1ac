"""Log formats: human-readable text (the default) or one JSON object per line.

Both carry the request context (``context.ContextFilter``): JSON always has the keys
``request_id``, ``user_id``, ``org_id`` and ``transaction_id`` (null outside a request); text
appends ``[request=… user=… org=… txn=…]`` when a request is being served.
"""

from __future__ import annotations

import logging

from pythonjsonlogger.json import JsonFormatter

from chronos.observability.context import FIELDS

TEXT_FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"
_TEXT_LABELS = {
    "request_id": "request",
    "user_id": "user",
    "org_id": "org",
    "transaction_id": "txn",
}


class TextFormatter(logging.Formatter):
    def __init__(self) -> None:
        super().__init__(TEXT_FORMAT)

    def format(self, record: logging.LogRecord) -> str:
        line = super().format(record)
        if getattr(record, "request_id", None) is None:
            return line
        parts = [
            f"{_TEXT_LABELS[key]}={value}"
            for key in FIELDS
            if (value := getattr(record, key, None)) is not None
        ]
        head, sep, tail = line.partition("\n")  # keep a traceback below the context
        return f"{head} [{' '.join(parts)}]{sep}{tail}"


def json_formatter() -> logging.Formatter:
    """``{"timestamp", "level", "logger", "message", request fields, "exc_info"?}``."""
    return JsonFormatter(
        ["levelname", "name", "message", *FIELDS],
        rename_fields={"levelname": "level", "name": "logger"},
        timestamp="timestamp",
        json_ensure_ascii=False,
    )


def formatter_for(log_format: str) -> logging.Formatter:
    return json_formatter() if log_format == "json" else TextFormatter()
