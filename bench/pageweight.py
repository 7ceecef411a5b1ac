"""Page weight and time to usable on throttled 3G, beside a blank Reflex app built the same way.

    .venv/bin/python -m bench.pageweight [--profiles slow3g,fast3g] [--runs 2]

Two apps, each copied into a temporary directory and started with
``reflex run --env prod --single-port`` (the production build: Vite bundle, pre-compressed
gzip assets served by the backend, one port):

- Chronos (``git archive HEAD`` by default, ``--source worktree`` for the work tree), with the
  demo brokerage seeded;
- a blank Reflex app written here: the same Reflex version and plugins (Radix themes, no
  sitemap), one state with one var, one page: the framework's floor.

Debian Chromium (Playwright, headless) loads each page in a fresh browser context (empty
cache), with Chromium's network throttling set through the DevTools protocol
(``Network.emulateNetworkConditions``): "slow 3G" = 400 ms RTT, 400 kbit/s down and up;
"fast 3G" = 150 ms RTT, 1.6 Mbit/s down, 750 kbit/s up. Signed-in pages get the session
cookie of a real ``POST /auth/sign-in``.

Per page: bytes transferred (``encodedDataLength`` of every response: gzip as served) for JS,
CSS and in all, the request count, and the time from navigation start to usable: the page's
state hydrated (the websocket frame that sets ``is_hydrated`` true, i.e. every on_load handler
has delivered its data) and the page's main element visible. Median of ``--runs`` loads.

Writes ``bench/results/pageweight-latest.json`` and ``bench/PAGEWEIGHT.md``.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import platform
import statistics
import sys
import tempfile
import time
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from bench.load import HOST, VENV_BIN, copy_app, free_port, process_group, wait_for

BENCH_DIR = Path(__file__).resolve().parent
RESULTS_JSON = BENCH_DIR / "results" / "pageweight-latest.json"
RESULTS_MD = BENCH_DIR / "PAGEWEIGHT.md"
CHROMIUM = "/usr/bin/chromium"
PASSWORD = "bench-pageweight-2026"
BUILD_TIMEOUT = 900
PAGE_TIMEOUT_MS = 120_000
PROFILES = {
    # name: (RTT ms, download bytes/s, upload bytes/s)
    "slow3g": (400, 400_000 / 8, 400_000 / 8),
    "fast3g": (150, 1_600_000 / 8, 750_000 / 8),
}

BLANK_RXCONFIG = """import reflex as rx

config = rx.Config(
    app_name="blank",
    telemetry_enabled=False,
    show_built_with_reflex=False,
    plugins=[rx.plugins.RadixThemesPlugin()],
    disable_plugins=[rx.plugins.SitemapPlugin],
)
"""
BLANK_APP = """import reflex as rx


class State(rx.State):
    count: int = 0

    @rx.event
    def increment(self) -> None:
        self.count += 1


def index() -> rx.Component:
    return rx.container(
        rx.heading("Blank Reflex app", id="main"),
        rx.text(State.count),
        rx.button("Add one", on_click=State.increment),
    )


app = rx.App()
app.add_page(index, route="/")
"""

# Records when the websocket delivers the hydrated state (every on_load handler has run).
HYDRATION_PROBE = """
(() => {
  const Native = window.WebSocket;
  window.__hydratedAt = null;
  function Probe(...args) {
    const ws = new Native(...args);
    ws.addEventListener("message", (e) => {
      if (window.__hydratedAt === null && typeof e.data === "string"
          && e.data.includes('"is_hydrated_rx_state_":true')) {
        window.__hydratedAt = performance.now();
      }
    });
    return ws;
  }
  Probe.prototype = Native.prototype;
  for (const k of ["CONNECTING", "OPEN", "CLOSING", "CLOSED"]) Probe[k] = Native[k];
  window.WebSocket = Probe;
})();
"""


@dataclass
class PageSpec:
    app: str
    name: str
    path: str
    login: str  # "" = anonymous, else an email
    ready: str  # CSS selector of the page's main element, visible when usable


def chronos_pages(txn_id: int, portal_txn: int) -> list[PageSpec]:
    agent, client = "agent@harbormain.example", "client@harbormain.example"
    return [
        PageSpec("chronos", "sign-in", "/sign-in", "", "input[name=email]"),
        PageSpec("chronos", "pipeline", "/pipeline", agent, 'a[href^="/transactions/"]'),
        PageSpec("chronos", "transaction", f"/transactions/{txn_id}", agent, "h1, h2"),
        PageSpec("chronos", "today", "/today", agent, "h1, h2"),
        PageSpec("chronos", "portal", f"/portal/{portal_txn}", client, "h1, h2"),
    ]


BLANK_PAGES = [PageSpec("blank", "blank page", "/", "", "#main")]


def _classify(url: str, mime: str) -> str:
    path = url.split("?", 1)[0]
    if "javascript" in mime or path.endswith((".js", ".mjs")):
        return "js"
    if "css" in mime or path.endswith(".css"):
        return "css"
    return "other"


def measure_page(
    browser: Any, base: str, spec: PageSpec, profile: str, cookie: str
) -> dict[str, Any]:
    rtt, down, up = PROFILES[profile]
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    try:
        if cookie:
            name, value = cookie.split("=", 1)
            context.add_cookies([{"name": name, "value": value, "url": base}])
        context.add_init_script(HYDRATION_PROBE)
        page = context.new_page()
        cdp = context.new_cdp_session(page)
        cdp.send("Network.enable")
        cdp.send("Network.setCacheDisabled", {"cacheDisabled": True})
        cdp.send(
            "Network.emulateNetworkConditions",
            {
                "offline": False,
                "latency": rtt,
                "downloadThroughput": down,
                "uploadThroughput": up,
            },
        )
        kinds: dict[str, str] = {}
        urls: dict[str, str] = {}
        sizes: dict[str, int] = {"js": 0, "css": 0, "other": 0}
        per_file: list[tuple[int, str]] = []
        requests = 0

        def on_response(params: dict[str, Any]) -> None:
            response = params.get("response", {})
            url = response.get("url", "")
            urls[params["requestId"]] = url
            kinds[params["requestId"]] = _classify(url, response.get("mimeType", ""))

        def on_finished(params: dict[str, Any]) -> None:
            nonlocal requests
            kind = kinds.get(params["requestId"], "other")
            size = int(params.get("encodedDataLength", 0))
            sizes[kind] += size
            requests += 1
            if kind == "js":
                name = urls.get(params["requestId"], "?").split("?", 1)[0].rsplit("/", 1)[-1]
                per_file.append((size, name))

        cdp.on("Network.responseReceived", on_response)
        cdp.on("Network.loadingFinished", on_finished)
        page.goto(f"{base}{spec.path}", wait_until="commit", timeout=PAGE_TIMEOUT_MS)
        page.wait_for_function("window.__hydratedAt !== null", timeout=PAGE_TIMEOUT_MS)
        page.locator(spec.ready).first.wait_for(state="visible", timeout=PAGE_TIMEOUT_MS)
        usable_ms = float(page.evaluate("performance.now()"))
        hydrated_ms = float(page.evaluate("window.__hydratedAt"))
        final_path = page.evaluate("location.pathname")
        page.wait_for_timeout(500)  # late responses (fonts, icons) still count as page weight
        timing = page.evaluate(
            "(() => { const n = performance.getEntriesByType('navigation')[0];"
            " return n ? {dcl: n.domContentLoadedEventEnd, load: n.loadEventEnd} : {}; })()"
        )
        if str(final_path).rstrip("/") != spec.path.rstrip("/"):
            raise RuntimeError(f"{spec.name}: landed on {final_path}, not {spec.path}")
        return {
            "js_bytes": sizes["js"],
            "css_bytes": sizes["css"],
            "total_bytes": sum(sizes.values()),
            "requests": requests,
            "usable_ms": round(usable_ms),
            "hydrated_ms": round(hydrated_ms),
            "dom_content_loaded_ms": round(float(timing.get("dcl") or 0)),
            "load_ms": round(float(timing.get("load") or 0)),
            "js_files": len(per_file),
            "largest_js": [f"{name} {size / 1024:.1f} KB" for size, name in sorted(per_file)[-5:]],
        }
    finally:
        context.close()


def sign_in(base: str, email: str) -> str:
    import httpx

    response = httpx.post(
        f"{base}/auth/sign-in",
        data={"email": email, "password": PASSWORD},
        headers={"Origin": base},
        timeout=30,
    )
    location = response.headers.get("location", "")
    cookies = [
        h.split(";", 1)[0]
        for h in response.headers.get_list("set-cookie")
        if "Max-Age=0" not in h and h.startswith("chronos_session=")
    ]
    if response.status_code != 303 or not cookies or "/sign-in" in location:
        raise RuntimeError(f"sign-in of {email} failed: {response.status_code} {location}")
    return cookies[0]


def _median(runs: list[dict[str, Any]]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for key, value in runs[0].items():
        if isinstance(value, list):
            out[key] = value  # descriptive (the largest files): the first run's
        else:
            out[key] = round(statistics.median(r[key] for r in runs))
    return out


@contextlib.contextmanager
def serve(app_dir: Path, env: dict[str, str], log: Path) -> Any:
    port = free_port()
    cmd = [
        str(VENV_BIN / "reflex"),
        "run",
        "--env",
        "prod",
        "--single-port",
        "--frontend-port",
        str(port),
        "--backend-port",
        str(port),
        "--backend-host",
        HOST,
        "--loglevel",
        "warning",
    ]
    started = time.perf_counter()
    with process_group(cmd, cwd=app_dir, env=env, log=log) as pid:
        wait_for(f"http://{HOST}:{port}/ping", BUILD_TIMEOUT, pid)
        wait_for(f"http://{HOST}:{port}/", 120, pid)
        yield f"http://{HOST}:{port}", time.perf_counter() - started


def run(args: argparse.Namespace) -> dict[str, Any]:
    from playwright.sync_api import sync_playwright

    folder = Path(tempfile.mkdtemp(prefix="chronos-pageweight-"))
    results: dict[str, Any] = {"pages": [], "build_seconds": {}, "failures": []}
    base_env = {
        **os.environ,
        "REFLEX_USE_SYSTEM_BUN": "1",
        "REFLEX_TELEMETRY_ENABLED": "false",
        "PYTHONDONTWRITEBYTECODE": "1",
    }
    base_env.pop("REFLEX_REDIS_URL", None)
    try:
        blank = folder / "blank"
        (blank / "blank").mkdir(parents=True)
        (blank / "rxconfig.py").write_text(BLANK_RXCONFIG)
        (blank / "blank" / "__init__.py").write_text("")
        (blank / "blank" / "blank.py").write_text(BLANK_APP)
        chronos = folder / "chronos"
        chronos.mkdir()
        copy_app(args.source, chronos)
        var = folder / "var"
        env = {
            **base_env,
            "DATABASE_URL": f"sqlite:///{var / 'pageweight.db'}",
            "CHRONOS_VAR_DIR": str(var),
            "CHRONOS_SECRET_KEY": uuid.uuid4().hex * 2,
            "CHRONOS_DEMO_PASSWORD": PASSWORD,
            "CHRONOS_LOG_LEVEL": "WARNING",
        }
        import subprocess

        subprocess.run(
            [str(VENV_BIN / "python"), "-m", "chronos.cli", "seed-demo", "--if-empty"],
            cwd=chronos,
            env=env,
            check=True,
            capture_output=True,
        )
        txn_id, portal_txn = _demo_ids(env["DATABASE_URL"])
        with sync_playwright() as pw:
            browser = pw.chromium.launch(
                executable_path=CHROMIUM, args=["--no-sandbox", "--disable-gpu"]
            )
            try:
                for app_name, app_dir, app_env, pages in (
                    ("blank", blank, base_env, BLANK_PAGES),
                    ("chronos", chronos, env, chronos_pages(txn_id, portal_txn)),
                ):
                    print(f"[pageweight] building and serving the {app_name} app ...", flush=True)
                    with serve(app_dir, app_env, folder / f"{app_name}.log") as (base, built):
                        results["build_seconds"][app_name] = round(built, 1)
                        cookies = {
                            login: sign_in(base, login)
                            for login in {p.login for p in pages}
                            if login
                        }
                        for spec in pages:
                            for profile in args.profiles:
                                try:
                                    runs = [
                                        measure_page(
                                            browser,
                                            base,
                                            spec,
                                            profile,
                                            cookies.get(spec.login, ""),
                                        )
                                        for _ in range(args.runs)
                                    ]
                                except Exception as exc:  # report the page, go on with the rest
                                    print(f"  {spec.app} {spec.name} {profile}: FAILED {exc}")
                                    results["failures"].append(
                                        f"{spec.app} {spec.name} {profile}: {exc}"[:300]
                                    )
                                    continue
                                figure = {
                                    "app": spec.app,
                                    "page": spec.name,
                                    "path": spec.path,
                                    "profile": profile,
                                    **_median(runs),
                                    "runs": args.runs,
                                }
                                results["pages"].append(figure)
                                print(
                                    f"  {spec.app:<8} {spec.name:<12} {profile:<7} JS "
                                    f"{figure['js_bytes'] / 1024:7.1f} KB  CSS "
                                    f"{figure['css_bytes'] / 1024:6.1f} KB  all "
                                    f"{figure['total_bytes'] / 1024:7.1f} KB  usable "
                                    f"{figure['usable_ms'] / 1000:5.2f} s",
                                    flush=True,
                                )
            finally:
                browser.close()
        return results
    finally:
        import shutil

        shutil.rmtree(folder, ignore_errors=True)


def _demo_ids(url: str) -> tuple[int, int]:
    from sqlmodel import col, select

    from chronos.db import make_engine, session_scope
    from chronos.models import Participant, Transaction, User

    engine = make_engine(url)
    try:
        with session_scope(engine) as db:
            agent = db.exec(select(User).where(User.email == "agent@harbormain.example")).one()
            client = db.exec(select(User).where(User.email == "client@harbormain.example")).one()
            txn = db.exec(
                select(Transaction.id)
                .where(Transaction.owner_id == agent.id)
                .order_by(col(Transaction.updated_at).desc())
            ).first()
            portal = db.exec(
                select(Participant.transaction_id).where(Participant.user_id == client.id)
            ).first()
        assert txn and portal, "the demo brokerage lacks the agent's file or the client's"
        return int(txn), int(portal)
    finally:
        engine.dispose()


def write_markdown(report: dict[str, Any], previous: dict[str, Any] | None) -> None:
    prev = {(p["app"], p["page"], p["profile"]): p for p in (previous or {}).get("pages", [])}
    floor = {p["profile"]: p for p in report["pages"] if p["app"] == "blank"}
    m = report["machine"]
    out = [
        "# Page weight and time to usable (throttled 3G)",
        "",
        "Generated by `python -m bench.pageweight` (`make bench-pageweight`); figures also in "
        "`bench/results/pageweight-latest.json`. Method: the docstring of `bench/pageweight.py`.",
        "",
        f"- Date: {report['date']}; machine: {m['cpu_count']} CPUs, {m['platform']}; Chromium "
        f"{report.get('chromium', '?')}; load average {m['load_average_start']} at the start",
        "- Production builds (`reflex run --env prod --single-port`: gzip pre-compressed assets); "
        "a fresh browser context per load (empty cache); median of "
        f"{report['config']['runs']} loads",
        "- slow 3G: 400 ms RTT, 400 kbit/s each way; fast 3G: 150 ms RTT, 1.6 Mbit/s down, "
        "750 kbit/s up",
        "- KB transferred as served (gzip); usable = state hydrated (all on_load data "
        "delivered) and the page's main element visible, from navigation start",
        f"- Build + start time: {report['build_seconds']}",
    ]
    if previous:
        out.append(f"- prev: the previous run ({previous.get('date', '?')})")
    out += [f"- FAILED: {failure}" for failure in report.get("failures", [])]
    out += [
        "",
        "| app | page | network | JS KB | CSS KB | all KB | requests | usable s | vs blank "
        "(all KB) | prev usable s |",
        "| --- | --- | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: |",
    ]
    for p in report["pages"]:
        base = floor.get(p["profile"])
        ratio = f"{p['total_bytes'] / base['total_bytes']:.2f}x" if base else "-"
        old = prev.get((p["app"], p["page"], p["profile"]))
        out.append(
            f"| {p['app']} | {p['page']} | {p['profile']} | {p['js_bytes'] / 1024:.1f} | "
            f"{p['css_bytes'] / 1024:.1f} | {p['total_bytes'] / 1024:.1f} | {p['requests']} | "
            f"{p['usable_ms'] / 1000:.2f} | {ratio} | "
            f"{old['usable_ms'] / 1000:.2f} |"
            if old
            else f"| {p['app']} | {p['page']} | {p['profile']} | {p['js_bytes'] / 1024:.1f} | "
            f"{p['css_bytes'] / 1024:.1f} | {p['total_bytes'] / 1024:.1f} | {p['requests']} | "
            f"{p['usable_ms'] / 1000:.2f} | {ratio} | - |"
        )
    out += [
        "",
        "## Largest JS files per page (gzip as transferred)",
        "",
        "| app | page | JS files | largest five |",
        "| --- | --- | ---: | --- |",
    ]
    seen: set[tuple[str, str]] = set()
    for p in report["pages"]:
        if (p["app"], p["page"]) in seen or "largest_js" not in p:
            continue
        seen.add((p["app"], p["page"]))
        out.append(
            f"| {p['app']} | {p['page']} | {p['js_files']} | "
            f"{'; '.join(reversed(p['largest_js']))} |"
        )
    RESULTS_MD.write_text("\n".join(out) + "\n", encoding="utf-8")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m bench.pageweight", description=__doc__.split("\n")[0]
    )
    parser.add_argument("--profiles", default="slow3g,fast3g")
    parser.add_argument("--runs", type=int, default=2)
    parser.add_argument("--source", choices=("head", "worktree"), default="head")
    args = parser.parse_args(argv)
    args.profiles = [p.strip() for p in args.profiles.split(",") if p.strip()]
    if set(args.profiles) - set(PROFILES) or not args.profiles:
        parser.error(f"--profiles: from {', '.join(PROFILES)}")
    if not 1 <= args.runs <= 10:
        parser.error("--runs must be between 1 and 10")
    previous = None
    if RESULTS_JSON.exists():
        with contextlib.suppress(ValueError):
            previous = json.loads(RESULTS_JSON.read_text(encoding="utf-8"))
    load_start = round(os.getloadavg()[0], 2)
    results = run(args)
    import subprocess

    chromium = subprocess.run(
        [CHROMIUM, "--version"], capture_output=True, text=True, check=False
    ).stdout.strip()
    report = {
        "schema": 1,
        "date": datetime.now(UTC).isoformat(timespec="seconds"),
        "machine": {
            "cpu_count": os.cpu_count(),
            "platform": platform.platform(terse=True),
            "load_average_start": load_start,
        },
        "chromium": chromium,
        "config": {"profiles": args.profiles, "runs": args.runs, "source": args.source},
        **results,
    }
    RESULTS_JSON.parent.mkdir(parents=True, exist_ok=True)
    RESULTS_JSON.write_text(json.dumps(report, indent=1) + "\n", encoding="utf-8")
    write_markdown(report, previous)
    print(f"Wrote {RESULTS_JSON} and {RESULTS_MD}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
