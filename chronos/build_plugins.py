"""Build-time tweaks to the compiled frontend, as a Reflex plugin (the same hook Reflex's own
plugins use to patch ``.web/vite.config.js``).

``IconChunkPlugin``: Vite gives every lucide icon a chunk of its own, so a page fetched 20-40
tiny icon files on top of its code; on a 3G link each costs a round trip (bench/PAGEWEIGHT.md:
80 requests for the transaction page against 11 for a blank Reflex app). The plugin puts every
icon the app uses into one shared, cached ``icons`` chunk.
"""

from __future__ import annotations

from typing import Any

import reflex as rx
from reflex_base import constants

MARKER = "chronos-icon-chunk"
ANCHOR = "groups: ["
GROUP = f"""groups: [
            // {MARKER}: every lucide icon in one chunk (chronos/build_plugins.py)
            {{
              test: /[\\\\/]lucide-react[\\\\/]dist[\\\\/]esm[\\\\/]icons[\\\\/]/,
              name: "icons",
            }},"""


def add_icon_group(content: str) -> str:
    """vite.config.js with the icon group added to its code-splitting groups (once)."""
    if MARKER in content:
        return content
    if ANCHOR not in content:
        msg = (
            "IconChunkPlugin cannot patch vite.config.js: no code-splitting groups "
            f"({ANCHOR!r}); the Reflex template has changed."
        )
        raise RuntimeError(msg)
    return content.replace(ANCHOR, GROUP, 1)


class IconChunkPlugin(rx.plugins.Plugin):
    """Bundle the icons into one chunk (see the module docstring)."""

    def pre_compile(self, **context: Any) -> None:
        context["add_modify_task"](constants.ReactRouter.VITE_CONFIG_FILE, add_icon_group)
