"""`chronos backup` and `chronos restore` of a 10,000-file brokerage, on SQLite and PostgreSQL.

    .venv/bin/python -m bench.backup [--transactions 10000] [--doc-kb 32] [--backends sqlite,postgresql]

For each backend: a throw-away source database migrated with Alembic and filled by
``bench.run.populate`` (the service benchmark's volume: at 10,000 files 200,000 tasks,
300,000 events, 50,000 documents with 81,864 versions), every stored object the rows name
written to a local storage folder as ``--doc-kb`` KB of random bytes (real documents are
larger: the figures give MB/s so an operator can scale them to their own storage size), then
``chronos.backup.create_backup`` into a tar and ``restore_backup`` into a second, empty
database and storage folder. Times are wall-clock (``time.perf_counter``) of one run each,
with the phases the code reports (database snapshot, documents, checksum pass).

Prints the figures, writes ``bench/results/backup-latest.json`` and ``bench/BACKUP.md``.
"""

from __future__ import annotations

import os
import tempfile

os.environ.setdefault("CHRONOS_VAR_DIR", tempfile.mkdtemp(prefix="chronos-bench-backup-"))

import argparse
import json
import platform
import shutil
import sys
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from sqlalchemy import text

from bench.run import BENCH_DIR, fresh_database, populate, postgres_unavailable, server_version
from chronos.backup import create_backup, restore_backup
from chronos.db import get_engine, make_engine
from chronos.migrate import upgrade
from chronos.settings import get_settings

RESULTS_JSON = BENCH_DIR / "results" / "backup-latest.json"
RESULTS_MD = BENCH_DIR / "BACKUP.md"


def _point_at(url: str, storage_dir: Path) -> None:
    """Settings for one side (source or target): its database and its storage folder."""
    os.environ["DATABASE_URL"] = url
    os.environ["CHRONOS_STORAGE"] = "local"
    os.environ["CHRONOS_STORAGE_DIR"] = str(storage_dir)
    get_settings.cache_clear()
    get_engine.cache_clear()


def _write_objects(url: str, root: Path, size: int) -> tuple[int, int]:
    engine = make_engine(url)
    try:
        with engine.connect() as conn:
            keys = [
                str(k)
                for (k,) in conn.execute(
                    text(
                        "SELECT storage_key FROM document_versions UNION SELECT storage_key "
                        "FROM form_templates UNION SELECT signature_image_key FROM "
                        "signature_signers WHERE signature_image_key <> ''"
                    )
                )
            ]
    finally:
        engine.dispose()
    for key in keys:
        path = root / key
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(os.urandom(size))
    return len(keys), len(keys) * size


def run_backend(backend: str, n: int, doc_kb: int, work: Path) -> dict[str, Any]:
    with fresh_database(backend) as src_url, fresh_database(backend) as dst_url:
        upgrade(src_url)
        engine = make_engine(src_url)
        try:
            version = server_version(engine)
            sizes, build_s = populate(engine, n)
        finally:
            engine.dispose()
        src_docs, dst_docs = work / f"{backend}-src-documents", work / f"{backend}-dst-documents"
        t0 = time.perf_counter()
        objects, object_bytes = _write_objects(src_url, src_docs, doc_kb * 1024)
        objects_s = time.perf_counter() - t0
        print(
            f"{backend} {version}: {sizes['transactions']:,} files generated in {build_s:.1f}s, "
            f"{objects:,} objects ({object_bytes / 1e6:,.0f} MB) written in {objects_s:.1f}s",
            flush=True,
        )
        archive = work / f"{backend}.tar"
        _point_at(src_url, src_docs)
        backed = create_backup(archive, get_settings())
        print(
            f"  backup  {backed.seconds:7.1f}s  ({backed.archive_bytes / 1e6:,.0f} MB archive)",
            flush=True,
        )
        _point_at(dst_url, dst_docs)
        restored = restore_backup(archive, get_settings())
        print(f"  restore {restored.seconds:7.1f}s", flush=True)
        get_engine().dispose()
        total_rows = sum(backed.tables.values())
        assert restored.documents_written == objects, "restore wrote fewer objects than it read"
        result = {
            "backend": backend,
            "server_version": version,
            "transactions": sizes["transactions"],
            "rows": total_rows,
            "tables": len(backed.tables),
            "largest_tables": dict(sorted(backed.tables.items(), key=lambda kv: -kv[1])[:6]),
            "objects": objects,
            "object_kb": doc_kb,
            "object_bytes": object_bytes,
            "generate_s": round(build_s, 2),
            "backup_s": round(backed.seconds, 2),
            "backup_database_s": round(backed.timings.get("database", 0.0), 2),
            "backup_documents_s": round(backed.timings.get("documents", 0.0), 2),
            "archive_bytes": backed.archive_bytes,
            "restore_s": round(restored.seconds, 2),
            "restore_verify_s": round(restored.timings.get("verify", 0.0), 2),
            "restore_documents_s": round(restored.timings.get("documents", 0.0), 2),
            "restore_database_s": round(restored.timings.get("database", 0.0), 2),
        }
        archive.unlink()
        shutil.rmtree(src_docs, ignore_errors=True)
        shutil.rmtree(dst_docs, ignore_errors=True)
        return result


def _mb_s(nbytes: int, seconds: float) -> str:
    return f"{nbytes / 1e6 / seconds:,.0f}" if seconds > 0 else "-"


def write_markdown(results: list[dict[str, Any]], meta: dict[str, Any]) -> str:
    lines = [
        "# Backup and restore",
        "",
        f"Generated by `python -m bench.backup` on {meta['at']} ({meta['machine']}); figures also "
        "in `bench/results/backup-latest.json`. One run each, wall-clock.",
        "",
        f"- Brokerage: {meta['transactions']:,} transactions (`bench.run.populate`: the service "
        "benchmark's volume), every stored object the rows name written as "
        f"{meta['doc_kb']} KB of random bytes.",
        "- Backup: `chronos.backup.create_backup` (database snapshot, then every object into "
        "the tar with its SHA-256). Restore: `restore_backup` into an empty database and "
        "storage folder (checksum pass over the whole archive, documents written, database "
        "installed, row counts checked against the manifest).",
        "",
        "| backend | rows | objects (MB) | backup s (db + docs) | archive MB | restore s "
        "(verify + docs + db) | restore MB/s |",
        "| --- | ---: | ---: | ---: | ---: | ---: | ---: |",
    ]
    lines.extend(
        f"| {r['backend']} {r['server_version']} | {r['rows']:,} | {r['objects']:,} "
        f"({r['object_bytes'] / 1e6:,.0f}) | {r['backup_s']:.1f} ({r['backup_database_s']:.1f}"
        f" + {r['backup_documents_s']:.1f}) | {r['archive_bytes'] / 1e6:,.0f} | "
        f"{r['restore_s']:.1f} ({r['restore_verify_s']:.1f} + {r['restore_documents_s']:.1f}"
        f" + {r['restore_database_s']:.1f}) | {_mb_s(r['archive_bytes'], r['restore_s'])} |"
        for r in results
    )
    lines.extend(f"\n{skipped}" for skipped in meta.get("skipped", []))
    lines.append("")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--transactions", "-n", type=int, default=10_000)
    parser.add_argument("--doc-kb", type=int, default=32, help="bytes per stored object, in KB")
    parser.add_argument("--backends", default="sqlite,postgresql")
    args = parser.parse_args(argv)
    results: list[dict[str, Any]] = []
    skipped: list[str] = []
    with tempfile.TemporaryDirectory(prefix="chronos-bench-backup-") as tmp:
        for backend in [b.strip() for b in args.backends.split(",") if b.strip()]:
            if backend == "postgresql" and (reason := postgres_unavailable()):
                skipped.append(f"postgresql skipped: {reason}")
                print(skipped[-1], file=sys.stderr)
                continue
            results.append(run_backend(backend, args.transactions, args.doc_kb, Path(tmp)))
    meta = {
        "at": datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC"),
        "machine": f"{platform.machine()}, {os.cpu_count()} CPUs, Python {platform.python_version()}",
        "transactions": args.transactions,
        "doc_kb": args.doc_kb,
        "skipped": skipped,
    }
    payload = {"meta": meta, "results": results}
    print(json.dumps(payload, indent=1))
    RESULTS_JSON.parent.mkdir(parents=True, exist_ok=True)
    RESULTS_JSON.write_text(json.dumps(payload, indent=1) + "\n", encoding="utf-8")
    RESULTS_MD.write_text(write_markdown(results, meta), encoding="utf-8")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
