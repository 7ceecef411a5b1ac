"""Import core at 50,000 rows: detection, streamed reading and the preview, no database yet.

    .venv/bin/python -m bench.imports [--rows 50000]

Writes a dotloop-shaped transactions CSV (and can write a Follow Up Boss-shaped people CSV) to a temporary
file, then times ``profile_csv`` + ``iter_rows`` + ``plan_transactions`` / ``plan_people``
against 5,000 existing records (so a tenth of the rows are updates), and reports rows/s and the
peak of Python allocations (tracemalloc) while the file streams. The database write of an
import is not built yet, so SQLite and PostgreSQL figures are not here.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
import tracemalloc
from pathlib import Path

from chronos.services.imports.dedupe import person_key, transaction_key
from chronos.services.imports.mapping import Manifest, suggest_mapping
from chronos.services.imports.plan import plan_people, plan_transactions
from chronos.services.imports.sniff import iter_rows, profile_csv

TX_HEADER = "Property Address,City,State,Zip,MLS Number,Loop Status,Purchase Price,Closing Date,Transaction Type\n"
PEOPLE_HEADER = "First Name,Last Name,Email 1,Phone 1,Address,City,Zip\n"


def _write(path: Path, rows: int, kind: str) -> None:
    with path.open("w", encoding="utf-8", newline="") as out:
        if kind == "transactions":
            out.write(TX_HEADER)
            for i in range(rows):
                out.write(
                    f'{i} Elm St,Salem,MA,01970,MLS{i:07d},Pending,"$6{i % 10}0,000",2026-04-30,Buyer\n'
                )
        else:
            out.write(PEOPLE_HEADER)
            for i in range(rows):
                out.write(
                    f"First{i},Last{i},p{i}@x.example,617555{i % 10000:04d},{i} Oak Ave,Salem,01970\n"
                )


def _run(path: Path, kind: str) -> dict[str, float]:
    tracemalloc.start()
    started = time.perf_counter()
    with path.open("rb") as stream:
        profile = profile_csv(stream)
        manifest = Manifest(
            kind="transactions" if kind == "transactions" else "people",
            source=profile,
            columns=suggest_mapping(
                profile.headers, "transactions" if kind == "transactions" else "people"
            ),
            default_side="buyer",
        )
        counts = {"create": 0, "update": 0, "skip": 0}
        if kind == "transactions":
            existing = {
                transaction_key(f"MLS{i:07d}", "", "", "", "buyer"): i for i in range(0, 50_000, 10)
            }
            plans = plan_transactions(iter_rows(stream, profile), manifest, existing)
        else:
            # Email/phone hits only: the fuzzy pass scans every existing person per unmatched
            # row, which is why the existing set here is matched by email.
            known = [
                (i, person_key(email=f"p{i}@x.example", phone="", name="", address=""))
                for i in range(0, 50_000, 10)
            ]
            plans = plan_people(iter_rows(stream, profile), manifest, known)
        for plan in plans:
            counts[plan.action] += 1
    seconds = time.perf_counter() - started
    _current, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    rows = sum(counts.values())
    return {
        "rows": rows,
        "seconds": round(seconds, 2),
        "rows_per_s": round(rows / seconds),
        "peak_mib": round(peak / 2**20, 1),
        **counts,
    }


def main(argv: list[str] | None = None) -> dict[str, dict[str, float]]:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--rows", type=int, default=50_000)
    args = parser.parse_args(argv)
    results: dict[str, dict[str, float]] = {}
    with tempfile.TemporaryDirectory(prefix="chronos-bench-imports-") as folder:
        # People are left out: the fuzzy name + address pass scans every existing person for
        # each row without an email or phone match (O(rows x people)); it needs blocking first.
        for kind in ("transactions",):
            path = Path(folder) / f"{kind}.csv"
            _write(path, args.rows, kind)
            results[kind] = {"file_mib": round(path.stat().st_size / 2**20, 1), **_run(path, kind)}
    sys.stdout.write(json.dumps(results, indent=2) + "\n")
    return results


if __name__ == "__main__":
    main()
