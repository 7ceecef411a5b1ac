"""Time every report (services/reports.py) at 10,000 files / 200,000 tasks, SQLite and PostgreSQL.

    .venv/bin/python -m bench.reports [--transactions N] [--repeat R] [--backends sqlite,postgresql]

The data is bench/run.py's (the same generator, seed and fixed day; key dates on every file
under contract), so figures compare with bench/RESULTS.md. Each report runs once as a warm-up
and R timed times, one session per call as the page does, for the admin (the whole brokerage:
the worst case) and an agent. Prints p50/p95 per report beside the previous run's p95
(``bench/results/reports.json``, the baseline), then writes this run there. Aim: p95 < 200 ms.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
from collections.abc import Callable
from datetime import UTC, datetime
from datetime import time as dtime
from pathlib import Path
from typing import Any

from bench.run import (
    TODAY,
    fresh_database,
    percentile,
    pick_fixture,
    populate,
    postgres_unavailable,
)
from chronos.db import make_engine, session_scope
from chronos.migrate import upgrade
from chronos.models import User
from chronos.services import reports

RESULTS = Path(__file__).parent / "results" / "reports.json"
NOW = datetime.combine(TODAY, dtime(12, 0), UTC)
FILTERS = reports.Filters(period_days=365)


def _calls(actor: User) -> list[tuple[str, Callable[[Any], Any]]]:
    return [
        ("pipeline", lambda db: reports.pipeline(db, actor, FILTERS, today=TODAY)),
        ("closings", lambda db: reports.closings(db, actor, FILTERS, today=TODAY)),
        ("days_to_close", lambda db: reports.days_to_close(db, actor, FILTERS, today=TODAY)),
        ("deadlines", lambda db: reports.deadlines(db, actor, FILTERS, now=NOW)),
        ("at_risk", lambda db: reports.at_risk(db, actor, FILTERS, today=TODAY, now=NOW)),
    ]


def run_backend(backend: str, n: int, repeat: int) -> dict[str, dict[str, float]]:
    figures: dict[str, dict[str, float]] = {}
    with fresh_database(backend) as url:
        upgrade(url)
        engine = make_engine(url)
        try:
            sizes, seconds = populate(engine, n)
            print(
                f"[{backend}] {sizes['transactions']:,} files, {sizes['tasks']:,} tasks "
                f"generated in {seconds:.0f} s"
            )
            fx = pick_fixture(engine, sizes)
            for who, actor in (("admin", fx.admin), ("agent", fx.agent)):
                for name, call in _calls(actor):
                    samples = []
                    for i in range(repeat + 1):
                        started = time.perf_counter()
                        with session_scope(engine) as db:
                            call(db)
                        if i:  # the first run warms caches
                            samples.append((time.perf_counter() - started) * 1000)
                    samples.sort()
                    figures[f"{backend} {who} {name}"] = {
                        "p50": statistics.median(samples),
                        "p95": percentile(samples, 95),
                    }
        finally:
            engine.dispose()
    return figures


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--transactions", "-n", type=int, default=10_000)
    parser.add_argument("--repeat", "-r", type=int, default=10)
    parser.add_argument("--backends", default="sqlite,postgresql")
    args = parser.parse_args(argv)
    baseline: dict[str, Any] = json.loads(RESULTS.read_text()) if RESULTS.exists() else {}
    figures: dict[str, dict[str, float]] = {}
    for backend in args.backends.split(","):
        reason = postgres_unavailable() if backend == "postgresql" else None
        if reason:
            print(f"[{backend}] skipped: {reason}")
            continue
        figures.update(run_backend(backend, args.transactions, args.repeat))
    print(f"\n{'report':<40} {'p50 ms':>8} {'p95 ms':>8} {'baseline p95':>13}")
    for key, f in figures.items():
        before = baseline.get("figures", {}).get(key, {}).get("p95")
        flag = "" if f["p95"] < 200 else "  over 200 ms"
        base = f"{before:.1f}" if before is not None else "-"
        print(f"{key:<40} {f['p50']:>8.1f} {f['p95']:>8.1f} {base:>13}{flag}")
    RESULTS.parent.mkdir(exist_ok=True)
    RESULTS.write_text(
        json.dumps(
            {"transactions": args.transactions, "repeat": args.repeat, "figures": figures},
            indent=2,
        )
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
