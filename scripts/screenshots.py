"""Screenshot pages of a running Chronos at desktop and phone widths, light and dark.

    .venv/bin/python scripts/screenshots.py --base http://localhost:3000 \
        --email agent@harbormain.example --password chronos-demo-2026 /pipeline /people

PNGs go to test-artifacts/screenshots/. Uses Debian's Chromium (never a downloaded browser).
"""

from __future__ import annotations

import argparse
from pathlib import Path

from playwright.sync_api import sync_playwright

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
SIZES = {"desktop": (1366, 900), "phone": (390, 844)}


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--base", default="http://localhost:3000")
    parser.add_argument("--email")
    parser.add_argument("--password")
    parser.add_argument("--out", default="test-artifacts/screenshots")
    parser.add_argument("--dark", action="store_true", help="also take dark-mode shots")
    parser.add_argument("paths", nargs="*", default=["/sign-in"])
    args = parser.parse_args()
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    schemes = ["light", "dark"] if args.dark else ["light"]
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        for scheme in schemes:
            for name, (w, h) in SIZES.items():
                ctx = browser.new_context(viewport={"width": w, "height": h}, color_scheme=scheme)  # type: ignore[arg-type]
                pg = ctx.new_page()
                if args.email:
                    pg.goto(f"{args.base}/sign-in")
                    pg.fill("#email", args.email)
                    pg.fill("#password", args.password)
                    pg.click("button[type=submit]")
                    pg.wait_for_url(lambda url: "/sign-in" not in url or "error=" in url)
                    pg.wait_for_load_state("networkidle")
                for path in args.paths:
                    pg.goto(f"{args.base}{path}")
                    pg.wait_for_load_state("networkidle")
                    pg.wait_for_timeout(800)
                    slug = path.strip("/").replace("/", "_") or "root"
                    target = out / f"{slug}-{name}-{scheme}.png"
                    pg.screenshot(path=str(target), full_page=True)
                    print(target)
                ctx.close()
        browser.close()


if __name__ == "__main__":
    main()
