"""Print assets/theme.css's palette overrides (sections 1 and 2) from Radix Themes' own colour
tokens (in .web/node_modules after a build): WCAG contrast of each step, and the smallest sRGB
mix towards step 12 (text) or black/white (fills) that passes. Re-run after a Radix upgrade.

    .venv/bin/python scripts/theme_contrast.py
"""

from __future__ import annotations

import re
from pathlib import Path

TOKENS = Path(__file__).resolve().parents[1] / ".web/node_modules/@radix-ui/themes/tokens/colors"
COLORS = [
    *(
        [
            "amber",
            "blue",
            "bronze",
            "brown",
            "crimson",
            "cyan",
            "gold",
            "grass",
            "green",
            "indigo",
            "iris",
            "jade",
            "lime",
            "mint",
        ]
    ),
    *(
        [
            "orange",
            "pink",
            "plum",
            "purple",
            "red",
            "ruby",
            "sky",
            "teal",
            "tomato",
            "violet",
            "yellow",
            "slate",
        ]
    ),
]
DARK_LABEL = {"amber", "lime", "mint", "sky", "yellow"}  # Radix puts dark text on these fills
TEXT_ON_STEP_4 = 4.6
FILL, FILL_HOVER = 4.6, 5.3


def _rgb(h: str) -> list[int]:
    return [int(h[i : i + 2], 16) for i in (1, 3, 5)]


def _luminance(h: str) -> float:
    def channel(c: int) -> float:
        v = c / 255
        return v / 12.92 if v <= 0.03928 else ((v + 0.055) / 1.055) ** 2.4

    r, g, b = (channel(c) for c in _rgb(h))
    return 0.2126 * r + 0.7152 * g + 0.0722 * b


def contrast(a: str, b: str) -> float:
    hi, lo = sorted((_luminance(a), _luminance(b)), reverse=True)
    return (hi + 0.05) / (lo + 0.05)


def _towards(start: str, end: str, ok: float, against: str) -> str:
    a, b = _rgb(start), _rgb(end)
    for i in range(101):
        c = "#" + "".join(f"{round(x + (y - x) * i / 100):02x}" for x, y in zip(a, b, strict=True))
        if contrast(c, against) >= ok:
            return c
    raise ValueError(start)


def _steps(name: str) -> dict[str, dict[str, str]]:
    css = (TOKENS / f"{name}.css").read_text()
    blocks = {"light": css.split("@supports")[0], "dark": css.split(".dark, .dark-theme {")[1]}
    pattern = rf"--{name}-(\d+): (#[0-9a-f]{{6}});"
    return {mode: dict(re.findall(pattern, b.split("}")[0])) for mode, b in blocks.items()}


def main() -> None:
    text, fills = [], {"light": [], "dark": []}
    for name in COLORS:
        steps = _steps(name)
        light = steps["light"]
        if contrast(light["11"], light["4"]) < TEXT_ON_STEP_4:
            new = _towards(light["11"], light["12"], TEXT_ON_STEP_4, light["4"])
            note = f"Radix: {light['11']}; now {contrast(new, light['3']):.2f}:1 on step 3"
            text += [f"  --{name}-11: {new}; /* {note} */", f"  --{name}-a11: {new};"]
        label = "#21201c" if name in DARK_LABEL else "#ffffff"
        away = "#ffffff" if name in DARK_LABEL else "#000000"
        key = "gray" if name == "slate" else name
        for mode, s in steps.items():
            nine, ten = s["9"], s["10"]
            if contrast(label, nine) < 4.5:
                decl = (
                    f"--accent-9: {_towards(nine, away, FILL, label)}; "
                    f"--accent-10: {_towards(nine, away, FILL_HOVER, label)};"
                )
                note = f"Radix 9 {nine} {contrast(label, nine):.1f}:1, 10 {ten} {contrast(label, ten):.1f}:1"
            elif contrast(label, ten) < 4.5:
                decl = f"--accent-10: {_towards(ten, away, FILL, label)};"
                note = f"Radix 10 (hover) {ten} {contrast(label, ten):.1f}:1"
            else:
                continue
            fills[mode].append((key, decl, note))
    print(":is(:root, .light, .light-theme):not(.dark, .dark-theme) {", *text, "}", sep="\n")
    for mode, prefix in (("light", ":root:not(.dark)"), ("dark", ":root.dark")):
        for key, decl, note in fills[mode]:
            sel = f'[data-accent-color="{key}"]'
            print(
                f"{prefix} :is(.rt-variant-solid, .rt-BaseMenuItem){sel} {{ {decl} }} /* {note} */"
            )
            if key == "indigo":
                print(
                    f'{prefix} .rt-variant-solid[data-accent-color=""] {{ {decl} }} /* the theme accent (indigo) */'
                )


if __name__ == "__main__":
    main()
