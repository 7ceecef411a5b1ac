"""The icon-chunk plugin patches Reflex's vite.config.js once, and refuses a template it does
not recognise instead of building without it silently."""

from __future__ import annotations

import re

import pytest

import rxconfig
from chronos.build_plugins import MARKER, IconChunkPlugin, add_icon_group

TEMPLATE = """export default defineConfig((config) => ({
  build: {
    rollupOptions: {
      output: {
        codeSplitting: {
          groups: [
            {
              test: /env.json/,
              name: "reflex-env",
            },
          ],
        },
      },
    },
  },
}));
"""


def test_the_icon_group_is_added_once() -> None:
    once = add_icon_group(TEMPLATE)
    assert add_icon_group(once) == once
    assert once.count(MARKER) == 1
    assert 'name: "icons"' in once and 'name: "reflex-env"' in once


def test_the_group_matches_lucide_icon_modules_only() -> None:
    pattern = re.search(r"test: /(.+)/,\n\s+name: \"icons\"", add_icon_group(TEMPLATE))
    assert pattern is not None
    regex = re.compile(pattern.group(1).replace("\\\\", "\\"))
    assert regex.search("/app/.web/node_modules/lucide-react/dist/esm/icons/house.mjs")
    assert not regex.search("/app/.web/node_modules/lucide-react/dist/esm/lucide-react.mjs")
    assert not regex.search("/app/.web/node_modules/@radix-ui/themes/dist/esm/index.js")


def test_an_unknown_template_is_refused() -> None:
    with pytest.raises(RuntimeError, match="template has changed"):
        add_icon_group("export default defineConfig({});")


def test_the_app_config_uses_the_plugin() -> None:
    assert any(isinstance(p, IconChunkPlugin) for p in rxconfig.config.plugins)
