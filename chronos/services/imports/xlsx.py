"""Read the first sheet of an .xlsx as a stream (openpyxl read-only mode), like a CSV's rows."""

from __future__ import annotations

import zipfile
from collections.abc import Iterator
from datetime import date, datetime
from typing import BinaryIO

from openpyxl import load_workbook

from chronos.services.imports.sniff import ImportFileRejected, SourceProfile, check_headers

XLSX_MAGIC = b"PK\x03\x04"


def _cell_text(value: object) -> str:
    if value is None:
        return ""
    if isinstance(value, datetime):
        return (
            value.date().isoformat() if value.time() == datetime.min.time() else value.isoformat()
        )
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


def _rows(stream: BinaryIO) -> Iterator[tuple[object, ...]]:
    try:
        workbook = load_workbook(stream, read_only=True, data_only=True)
    except (zipfile.BadZipFile, KeyError, OSError) as exc:
        raise ImportFileRejected("The file is not a readable .xlsx workbook.") from exc
    try:
        sheet = workbook.worksheets[0]
        yield from sheet.iter_rows(values_only=True)
    finally:
        workbook.close()


def profile_xlsx(stream: BinaryIO) -> SourceProfile:
    start = stream.tell()
    first = next(_rows(stream), None)
    stream.seek(start)
    if first is None or not any(v is not None for v in first):
        raise ImportFileRejected("The file is empty.")
    cells = [_cell_text(v) for v in first]
    while cells and not cells[-1]:
        cells.pop()
    return SourceProfile("xlsx", "", check_headers(cells))


def iter_xlsx_rows(
    stream: BinaryIO, profile: SourceProfile
) -> Iterator[tuple[int, dict[str, str]]]:
    width = len(profile.headers)
    for line, row in enumerate(_rows(stream), start=1):
        if line == 1:
            continue
        cells = [_cell_text(v) for v in row]
        if not any(c.strip() for c in cells):
            continue
        extra = [c for c in cells[width:] if c.strip()]
        if extra:
            raise ImportFileRejected(
                f"Row {line} has a value beyond the last named column ({width} columns)."
            )
        cells = (cells + [""] * width)[:width]
        yield line, dict(zip(profile.headers, cells, strict=True))
