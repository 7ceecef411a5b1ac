"""Upload of a 50-page PDF (validation, text extraction, storage) and its first page preview.

    .venv/bin/python -m bench.upload [--runs 10] [--pages 50]

A throw-away SQLite database and local storage directory, a small generated brokerage, and a
50-page contract drawn with reportlab (a heading and ~45 lines of contract prose per page, so
text extraction has real work). Each run uploads a distinct file (a run number on page 1, so
the duplicate check never refuses it) through ``services.documents.upload`` as the agent who
owns the file, then renders page 1 with ``services.documents.page_preview`` (first render,
not cached) and again (cached). Times are p50/p95/max over the runs, with SQL statements.

Prints the figures and returns them; ``bench.run`` includes them in ``bench/RESULTS.md``.
"""

from __future__ import annotations

import os
import tempfile

os.environ.setdefault("CHRONOS_VAR_DIR", tempfile.mkdtemp(prefix="chronos-bench-upload-"))

import argparse
import io
import json
import random
import shutil
import statistics
import sys
import time
from datetime import date
from pathlib import Path
from typing import Any

from reportlab.lib.pagesizes import letter
from reportlab.pdfgen import canvas
from sqlmodel import select

from bench.run import BENCH_DIR, StatementCounter, percentile
from chronos.db import make_engine, session_scope
from chronos.demo import generate_brokerage
from chronos.migrate import upgrade
from chronos.models import Role, Transaction, User
from chronos.services import documents

RESULTS_JSON = BENCH_DIR / "results" / "upload-latest.json"
PREVIEW_WIDTH = 960
_PROSE = (
    "The Buyer agrees to purchase and the Seller agrees to sell the Property described herein",
    "upon the terms and conditions set forth in this Agreement, including all addenda attached.",
    "The deposit shall be held in escrow by the Listing Broker pending closing or termination.",
    "This Agreement is contingent upon a satisfactory home inspection within ten (10) days.",
    "Buyer's obligations are contingent upon Buyer obtaining a written mortgage commitment.",
    "Seller shall convey good, clear, record and marketable title by a quitclaim or warranty deed.",
    "Real estate taxes, water and sewer charges and condominium fees shall be apportioned.",
    "The Property shall be delivered in broom-clean condition, free of all tenants and occupants.",
    "Any notice required hereunder shall be in writing and delivered to the parties' attorneys.",
    "Time is of the essence as to each provision of this Agreement and every date stated herein.",
)


def contract_pdf(pages: int, run: int) -> bytes:
    rng = random.Random(run)
    out = io.BytesIO()
    c = canvas.Canvas(out, pagesize=letter)
    c.setTitle(f"Purchase and Sale Agreement (bench run {run})")
    for n in range(pages):
        c.setFont("Helvetica-Bold", 14)
        c.drawString(72, 740, f"PURCHASE AND SALE AGREEMENT - page {n + 1} of {pages}")
        c.setFont("Helvetica", 9)
        if n == 0:
            c.drawString(72, 724, f"Benchmark run {run}: 12 Harbor Street, Salem, MA 01970")
        y = 706
        for i in range(45):
            c.drawString(72, y, f"{n + 1}.{i + 1} {rng.choice(_PROSE)}")
            y -= 14
        c.showPage()
    c.save()
    return out.getvalue()


def _stats(samples: list[float]) -> dict[str, float]:
    ordered = sorted(samples)
    return {
        "p50_ms": round(statistics.median(ordered), 1),
        "p95_ms": round(percentile(ordered, 95), 1),
        "max_ms": round(ordered[-1], 1),
    }


def run(runs: int = 10, pages: int = 50) -> dict[str, Any]:
    folder = Path(tempfile.mkdtemp(prefix="chronos-bench-upload-"))
    os.environ["CHRONOS_STORAGE"] = "local"
    os.environ["CHRONOS_STORAGE_DIR"] = str(folder / "documents")
    from chronos.settings import get_settings
    from chronos.storage import get_storage

    get_settings.cache_clear()
    if hasattr(get_storage, "cache_clear"):
        get_storage.cache_clear()
    url = f"sqlite:///{folder / 'upload.db'}"
    try:
        upgrade(url)
        engine = make_engine(url)
        with session_scope(engine) as db:
            org_id = generate_brokerage(
                db, seed=31, transactions=40, today=date(2026, 3, 2), use_services=False
            ).org_id
        with session_scope(engine) as db:
            txn = db.exec(
                select(Transaction)
                .join(User, User.id == Transaction.owner_id)  # type: ignore[arg-type]
                .where(Transaction.org_id == org_id, User.role == Role.AGENT.value)
            ).first()
            assert txn is not None and txn.id is not None
            agent = db.get(User, txn.owner_id)
            assert agent is not None
            db.expunge(agent)
            txn_id = txn.id
        counter = StatementCounter(engine)
        files = [contract_pdf(pages, i) for i in range(runs + 1)]
        size = sum(len(f) for f in files) // len(files)
        upload_ms: list[float] = []
        upload_sql: list[int] = []
        first_ms: list[float] = []
        cached_ms: list[float] = []
        text_chars = 0
        for i, data in enumerate(files):
            counter.count = 0
            started = time.perf_counter()
            with session_scope(engine) as db:
                doc = documents.upload(
                    db, agent, txn_id, f"contract-{i}.pdf", data, category="contract"
                )
                doc_id = doc.id
            elapsed = (time.perf_counter() - started) * 1000
            with session_scope(engine) as db:
                version = documents.current_version(db, documents.get_document(db, agent, doc_id))
                version_id, text_chars = version.id or 0, len(version.text)
            started = time.perf_counter()
            with session_scope(engine) as db:
                png = documents.page_preview(db, agent, version_id, 1, PREVIEW_WIDTH)
            first = (time.perf_counter() - started) * 1000
            started = time.perf_counter()
            with session_scope(engine) as db:
                documents.page_preview(db, agent, version_id, 1, PREVIEW_WIDTH)
            cached = (time.perf_counter() - started) * 1000
            assert png.startswith(b"\x89PNG")
            if i == 0:
                continue  # warm-up: imports, PDFium and font caches
            upload_ms.append(elapsed)
            upload_sql.append(counter.count)
            first_ms.append(first)
            cached_ms.append(cached)
        engine.dispose()
        return {
            "runs": runs,
            "pages": pages,
            "pdf_bytes": size,
            "extracted_text_chars": text_chars,
            "upload": {**_stats(upload_ms), "queries": max(upload_sql)},
            "preview_first_render": _stats(first_ms),
            "preview_cached": _stats(cached_ms),
            "preview_width": PREVIEW_WIDTH,
        }
    finally:
        shutil.rmtree(folder, ignore_errors=True)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m bench.upload", description=__doc__.split("\n")[0]
    )
    parser.add_argument("--runs", type=int, default=10)
    parser.add_argument("--pages", type=int, default=50)
    args = parser.parse_args(argv)
    if not 1 <= args.runs <= 100 or not 1 <= args.pages <= 500:
        parser.error("--runs 1..100, --pages 1..500")
    result = run(args.runs, args.pages)
    print(json.dumps(result, indent=1))
    RESULTS_JSON.parent.mkdir(parents=True, exist_ok=True)
    RESULTS_JSON.write_text(json.dumps(result, indent=1) + "\n", encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
