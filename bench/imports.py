"""Imports at scale: the core at 50,000 rows (detection, streamed reading, the preview), then
the database run (``services.imports.runner``) on SQLite and PostgreSQL.

    .venv/bin/python -m bench.imports [--rows 50000] [--db-rows 2000] [--backends sqlite,postgresql]

Writes a dotloop-shaped transactions CSV (and can write a Follow Up Boss-shaped people CSV) to a temporary
file, then times ``profile_csv`` + ``iter_rows`` + ``plan_transactions`` / ``plan_people``
against 5,000 existing records (so a tenth of the rows are updates), and reports rows/s and the
peak of Python allocations (tracemalloc) while the file streams. People are matched against
50,000 existing people with no email or phone in common, so every row takes the fuzzy
name + address pass (blocked by ZIP and name initial, ``plan.fuzzy_block``).

The database part imports ``--db-rows`` people and transactions into a fresh, migrated
database as an admin (``create_batch`` + ``run_batch``, committed per chunk), then the same file
again (every row found, nothing changed), and reports rows/s and the process's peak RSS.
A transaction row costs far more than a person: it goes through ``create_transaction``
(timeline, checklist tasks, required documents).
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import sys
import tempfile
import time
import tracemalloc
from collections.abc import Callable
from pathlib import Path
from typing import Any

from chronos.services.imports.dedupe import person_key, transaction_key
from chronos.services.imports.mapping import Manifest, suggest_mapping
from chronos.services.imports.plan import plan_people, plan_transactions
from chronos.services.imports.sniff import iter_rows, profile_csv
from chronos.settings import get_settings

TX_HEADER = "Property Address,City,State,Zip,MLS Number,Loop Status,Purchase Price,Closing Date,Transaction Type\n"
PEOPLE_HEADER = "First Name,Last Name,Email 1,Phone 1,Address,City,Zip\n"


def _person(i: int) -> tuple[str, str, str]:
    """Names with every initial and 200 ZIP codes, like a brokerage's region (a file of one
    town and one initial would put everybody in one fuzzy block)."""
    return f"{chr(65 + i % 26)}nn{i}", f"{chr(65 + (i // 26) % 26)}ee{i}", f"0{1000 + i % 200:04d}"


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
                first, last, zip_code = _person(i)
                out.write(
                    f"{first},{last},p{i}@x.example,617555{i % 10000:04d},{i} Oak Ave,Salem,"
                    f"{zip_code}\n"
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
            # No email or phone in common: every row is compared by name + address within its
            # block (same ZIP, same initial); one row in ten is the same person.
            known = [
                (
                    i,
                    person_key(
                        email=f"other{i}@y.example",
                        phone="",
                        name=" ".join(_person(i)[:2]) if i % 10 == 0 else f"Other{i} Person{i}",
                        address=f"{i} Oak Ave Salem {_person(i)[2]}",
                    ),
                )
                for i in range(50_000)
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


def _timed(fn: Callable[[], Any]) -> tuple[Any, float, float]:
    """Wall time and the process's peak RSS after the call (tracemalloc is left off here: it
    slowed the database run about threefold)."""
    started = time.perf_counter()
    value = fn()
    seconds = time.perf_counter() - started
    peak_kib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return value, seconds, peak_kib / 1024


def _db_run(backend: str, rows: int, folder: Path) -> dict[str, Any]:
    from bench.run import fresh_database
    from chronos import migrate
    from chronos.db import make_engine, session_scope
    from chronos.models import Role
    from chronos.services import auth
    from chronos.services.imports import runner

    os.environ["CHRONOS_STORAGE"] = "local"
    os.environ["CHRONOS_STORAGE_DIR"] = str(folder / f"storage-{backend}")
    get_settings.cache_clear()
    out: dict[str, Any] = {}
    with fresh_database(backend) as url:
        migrate.upgrade(url)
        engine = make_engine(url)
        with session_scope(engine) as db:
            org = auth.create_organization(db, name="Bench Import", slug="bench-import")
            admin = auth.create_user(
                db,
                org_id=org.id,  # type: ignore[arg-type]
                email="admin@bench.example",
                full_name="Bench Admin",
                role=Role.ADMIN.value,
                password="correct-horse-battery-staple-9",
            )
        for kind in ("people", "transactions"):
            path = folder / f"db-{kind}.csv"
            _write(path, rows, kind)
            data = path.read_bytes()
            for attempt in ("first", "again"):
                with session_scope(engine) as db:
                    actor = db.get(type(admin), admin.id)
                    profile = runner.read_profile(data, path.name)
                    manifest = Manifest(
                        kind=kind,  # type: ignore[arg-type]
                        source=profile,
                        columns=suggest_mapping(profile.headers, kind),  # type: ignore[arg-type]
                        default_side="buyer",
                    )

                    def go(
                        db: Any = db,
                        actor: Any = actor,
                        manifest: Manifest = manifest,
                        name: str = path.name,
                        data: bytes = data,
                    ) -> Any:
                        batch = runner.create_batch(
                            db, actor, file_name=name, data=data, manifest=manifest
                        )
                        db.commit()
                        return runner.run_batch(db, actor, batch.id, commit=db.commit)

                    batch, seconds, peak = _timed(go)
                    out[f"{kind}_{attempt}"] = {
                        "rows": rows,
                        "seconds": round(seconds, 2),
                        "rows_per_s": round(rows / seconds),
                        "peak_rss_mib": round(peak, 1),
                        "created": batch.created_count,
                        "updated": batch.updated_count,
                        "skipped": batch.skipped_count,
                    }
        engine.dispose()
    return out


def main(argv: list[str] | None = None) -> dict[str, dict[str, Any]]:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--rows", type=int, default=50_000)
    parser.add_argument("--db-rows", type=int, default=2_000)
    parser.add_argument("--backends", default="sqlite,postgresql")
    args = parser.parse_args(argv)
    results: dict[str, dict[str, Any]] = {}
    with tempfile.TemporaryDirectory(prefix="chronos-bench-imports-") as folder:
        for kind in ("transactions", "people"):
            path = Path(folder) / f"{kind}.csv"
            _write(path, args.rows, kind)
            results[kind] = {"file_mib": round(path.stat().st_size / 2**20, 1), **_run(path, kind)}
        for backend in [b for b in args.backends.split(",") if b]:
            from bench.run import postgres_unavailable

            if backend == "postgresql" and (reason := postgres_unavailable()):
                results[backend] = {"skipped": reason}
                continue
            results[backend] = _db_run(backend, args.db_rows, Path(folder))
    sys.stdout.write(json.dumps(results, indent=2) + "\n")
    return results


if __name__ == "__main__":
    main()
