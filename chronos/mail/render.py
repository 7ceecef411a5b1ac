"""Render an email from its templates: ``<name>.subject.txt``, ``<name>.txt``, ``<name>.html``.

HTML is autoescaped; the plain-text and subject templates are not (they are never shown as
HTML). A missing variable is an error, never an empty gap in a sent message.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from typing import Any

from jinja2 import Environment, PackageLoader, StrictUndefined, select_autoescape


@dataclass(frozen=True)
class Rendered:
    subject: str
    text: str
    html: str


@lru_cache(maxsize=1)
def _env() -> Environment:
    return Environment(
        loader=PackageLoader("chronos.mail", "templates"),
        autoescape=select_autoescape(enabled_extensions=("html",), default_for_string=False),
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
    )


def render(template: str, context: dict[str, Any]) -> Rendered:
    env = _env()
    subject = env.get_template(f"{template}.subject.txt").render(context)
    return Rendered(
        subject=" ".join(subject.split())[:300],
        text=env.get_template(f"{template}.txt").render(context).strip() + "\n",
        html=env.get_template(f"{template}.html").render(context),
    )
