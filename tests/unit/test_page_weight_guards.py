"""Guards on what the compiled pages ship (bench/PAGEWEIGHT.md measures the bytes).

An ``rx.icon`` whose name is a Var (``rx.icon(rx.cond(...))``, ``rx.icon(state.var)``) compiles
to lucide's DynamicIcon, which ships a 56 KB (gzip) map of every icon to the page. Pages switch
between literal icons instead (``rx.cond(c, rx.icon("a"), rx.icon("b"))``, ``rx.match``).
"""

from __future__ import annotations

from typing import Any

import pytest
import reflex as rx
from reflex_components_lucide.icon import DynamicIcon

import chronos.chronos  # noqa: F401  (registers every page)
from chronos.pages.registry import PAGES


def _walk(component: Any) -> list[Any]:
    found = [component]
    for child in getattr(component, "children", []) or []:
        found.extend(_walk(child))
    # rx.cond / rx.match keep their branches as props, not children.
    for name in ("comp1", "comp2", "match_cases", "default"):
        value = getattr(component, name, None)
        if isinstance(value, rx.Component):
            found.extend(_walk(value))
        elif isinstance(value, list | tuple):
            for case in value:
                for part in case if isinstance(case, list | tuple) else [case]:
                    if isinstance(part, rx.Component):
                        found.extend(_walk(part))
    return found


@pytest.mark.parametrize("spec", PAGES, ids=lambda s: s.route)
def test_no_page_names_an_icon_with_a_var(spec: Any) -> None:
    tree = spec.component()
    dynamic = [c for c in _walk(tree) if isinstance(c, DynamicIcon)]
    assert not dynamic, f"{spec.route}: rx.icon with a Var name: {[str(c) for c in dynamic]}"


def test_the_guard_sees_a_var_icon_inside_a_cond() -> None:
    flag = rx.Var.create(True)
    tree = rx.box(rx.cond(flag, rx.text("x"), rx.icon(rx.cond(flag, "upload", "image"))))
    assert any(isinstance(c, DynamicIcon) for c in _walk(tree))
