"""Hostile values, as a careless or malicious caller sends them over JSON (REST or websocket).

Overlong text, huge and negative numbers, NaN and infinities, lists and objects where a string
is expected, control / bidi / zero-width characters, NUL, NFD next to NFC, and a few plausible
values (real ids, a date) so some examples get past the first check and reach the service.
"""

from __future__ import annotations

import unicodedata
from typing import Any

from hypothesis import HealthCheck, settings
from hypothesis import strategies as st

# Deterministic and quick: the tier runs in `make test` on 2 CPUs.
FUZZ = settings(
    derandomize=True,
    database=None,
    deadline=None,
    max_examples=6,
    suppress_health_check=list(HealthCheck),
)

INVISIBLE = "\u200b\u200c\u200d\u2060\ufeff"
BIDI = "\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069\u200e\u200f"
CONTROL = "\x00\x01\x07\x08\x0b\x0c\x1b\x7f"
COMBINING = "\u0301\u0308\u0327"

WEIRD_TEXT = [
    "",
    " ",
    "\x00",
    "a\x00b",
    INVISIBLE,
    "\u202eevil",
    BIDI,
    COMBINING * 3,
    CONTROL,
    "x" * 201,
    "x" * 501,
    "y" * 5000,
    unicodedata.normalize("NFD", "Émile Zoë"),
    "Émile Zoë",
    "Al\u200bice",
    "<script>alert(1)</script>",
    "' OR 1=1 --",
    "../../etc/passwd",
    "%00",
    "2026-02-30",
    "9999-99-99",
    "1e309",
    "NaN",
    "-1",
    "0",
    "4 5 0 000",
    "0.001",
    "\ud800".encode("utf-8", "surrogatepass").decode("utf-8", "replace"),
    "😀" * 100,
]

WEIRD_NUMBERS: list[Any] = [
    0,
    -1,
    -(2**31),
    2**31,
    2**63,
    2**64 + 1,
    10**30,
    -(10**30),
    float("nan"),
    float("inf"),
    float("-inf"),
    1e308,
    -0.0,
    0.5,
    True,
    False,
]


def text() -> st.SearchStrategy[str]:
    alphabet = st.characters(codec="utf-8") | st.sampled_from(
        list(INVISIBLE + BIDI + CONTROL + COMBINING)
    )
    return st.sampled_from(WEIRD_TEXT) | st.text(alphabet, max_size=40)


def scalar() -> st.SearchStrategy[Any]:
    return (
        text()
        | st.sampled_from(WEIRD_NUMBERS)
        | st.integers(min_value=-(2**70), max_value=2**70)
        | st.none()
    )


def hostile(plausible: list[Any] | None = None) -> st.SearchStrategy[Any]:
    """Any JSON-shaped value, weighted toward the hostile ones."""
    shaped = st.recursive(
        scalar(),
        lambda inner: st.lists(inner, max_size=3) | st.dictionaries(text(), inner, max_size=3),
        max_leaves=5,
    )
    if plausible:
        return st.sampled_from(plausible) | shaped
    return shaped
