"""Detect a CSV's encoding and delimiter from a sample, then stream its rows, refusing bad input."""

from __future__ import annotations

import codecs
import csv
import io
from collections.abc import Iterator
from dataclasses import dataclass
from typing import BinaryIO

from charset_normalizer import from_bytes

from chronos.services.errors import ChronosError

# Enough bytes to see a few rows of any export we met; detection never reads the whole file.
SAMPLE_BYTES = 64 * 1024
MAX_IMPORT_BYTES = 100 * 1024 * 1024
DELIMITERS = (",", ";", "\t", "|")
# A cell starting with one of these runs as a formula when the rejected-rows CSV is opened in a
# spreadsheet (OWASP "CSV injection"); imported values are stored without it.
FORMULA_PREFIXES = ("=", "+", "-", "@", "\t", "\r")

_BOMS = (
    (codecs.BOM_UTF8, "utf-8-sig"),
    (codecs.BOM_UTF16_LE, "utf-16"),
    (codecs.BOM_UTF16_BE, "utf-16"),
)


class ImportFileRejected(ChronosError):
    """The file cannot be imported as it is; ``message`` says exactly why."""

    status_code = 422


@dataclass(frozen=True)
class SourceProfile:
    """What was detected (or chosen by the user) about a file, saved in the mapping manifest."""

    encoding: str
    delimiter: str
    headers: tuple[str, ...]

    def to_json(self) -> dict[str, object]:
        return {
            "encoding": self.encoding,
            "delimiter": self.delimiter,
            "headers": list(self.headers),
        }


def detect_encoding(sample: bytes) -> str:
    """The file's encoding: a byte-order mark wins, then charset-normalizer's best guess."""
    if not sample.strip():
        raise ImportFileRejected("The file is empty.")
    for bom, name in _BOMS:
        if sample.startswith(bom):
            return name
    try:
        sample.decode("utf-8")
    except UnicodeDecodeError as exc:
        # A sample cut in the middle of a character is still UTF-8.
        if exc.reason == "unexpected end of data" and exc.start >= len(sample) - 3:
            return "utf-8"
    else:
        return "utf-8"
    best = from_bytes(sample).best()
    if best is None:
        raise ImportFileRejected(
            "The file's text encoding could not be recognised: save it as CSV UTF-8 and try again."
        )
    name = best.encoding
    # Western exports that are not UTF-8 are nearly always Windows-1252 (Excel's "CSV" on
    # Windows); charset-normalizer may call the same bytes latin-1 or another cp125x.
    if name in {"latin_1", "iso8859_15", "cp1250", "cp1254", "iso8859_2"}:
        try:
            sample.decode("cp1252")
        except UnicodeDecodeError:
            return name
        return "cp1252"
    return name


def detect_delimiter(text_sample: str) -> str:
    """Comma, semicolon, tab or pipe: the csv sniffer, then the most frequent one in line one."""
    lines = [line for line in text_sample.splitlines() if line.strip()][:20]
    if not lines:
        raise ImportFileRejected("The file is empty.")
    try:
        dialect = csv.Sniffer().sniff("\n".join(lines), delimiters="".join(DELIMITERS))
    except csv.Error:
        counts = {d: lines[0].count(d) for d in DELIMITERS}
        best = max(counts, key=lambda d: counts[d])
        return best if counts[best] else ","
    return dialect.delimiter


def check_headers(headers: list[str]) -> tuple[str, ...]:
    """Header names stripped; empty, duplicate or missing headers are refused by name."""
    cleaned = [h.strip().lstrip("\ufeff") for h in headers]
    if not any(cleaned):
        raise ImportFileRejected("The first row must hold the column names, and it is empty.")
    seen: dict[str, int] = {}
    for position, name in enumerate(cleaned, start=1):
        if not name:
            raise ImportFileRejected(f"Column {position} has no name in the first row.")
        key = name.casefold()
        if key in seen:
            raise ImportFileRejected(
                f'The column name "{name}" appears twice (columns {seen[key]} and {position}): '
                "rename one of them."
            )
        seen[key] = position
    return tuple(cleaned)


def neutralise_formula(value: str) -> str:
    """A cell that a spreadsheet would run as a formula, stored as plain text instead."""
    stripped = value.strip()
    if stripped and stripped[0] in FORMULA_PREFIXES:
        # A negative number or "+1 617..." phone is data, not a formula.
        body = stripped[1:].replace(" ", "").replace("-", "").replace("(", "").replace(")", "")
        if stripped[0] in "+-" and body.replace(".", "", 1).replace(",", "").isdigit():
            return stripped
        return stripped.lstrip("=+-@\t\r").strip()
    return stripped


def is_formula(value: str) -> bool:
    return neutralise_formula(value) != value.strip()


def profile_csv(
    stream: BinaryIO, *, encoding: str | None = None, delimiter: str | None = None
) -> SourceProfile:
    """Detect encoding, delimiter and header from the start of ``stream`` (then rewound)."""
    start = stream.tell()
    sample = stream.read(SAMPLE_BYTES)
    stream.seek(start)
    chosen_encoding = encoding or detect_encoding(sample)
    try:
        codecs.lookup(chosen_encoding)
    except LookupError as exc:
        raise ImportFileRejected(f'"{chosen_encoding}" is not a known text encoding.') from exc
    try:
        text = sample.decode(chosen_encoding, errors="strict")
    except UnicodeDecodeError as exc:
        if exc.start < len(sample) - 4:
            raise ImportFileRejected(
                f"The file is not valid {chosen_encoding} (byte {exc.start + 1} cannot be read): "
                "choose another encoding."
            ) from exc
        text = sample[: exc.start].decode(chosen_encoding)
    if not text.strip("\ufeff \r\n\t"):
        raise ImportFileRejected("The file is empty.")
    chosen_delimiter = delimiter or detect_delimiter(text)
    if chosen_delimiter not in DELIMITERS:
        raise ImportFileRejected("The delimiter must be a comma, semicolon, tab or pipe.")
    first = next(csv.reader(io.StringIO(text), delimiter=chosen_delimiter), [])
    return SourceProfile(chosen_encoding, chosen_delimiter, check_headers(first))


def iter_rows(stream: BinaryIO, profile: SourceProfile) -> Iterator[tuple[int, dict[str, str]]]:
    """(line number, {header: value}) for each data row, read as a stream; ragged rows refused."""
    text = io.TextIOWrapper(stream, encoding=profile.encoding, newline="", errors="strict")
    reader = csv.reader(text, delimiter=profile.delimiter)
    try:
        header = next(reader, None)
        if header is None:
            raise ImportFileRejected("The file is empty.")
        width = len(profile.headers)
        for row in reader:
            line = reader.line_num
            if not any(cell.strip() for cell in row):
                continue
            if len(row) != width:
                raise ImportFileRejected(
                    f"Row {line} has {len(row)} cells but the header has {width} columns: "
                    "check for a stray delimiter or an unclosed quote."
                )
            yield line, dict(zip(profile.headers, row, strict=True))
    except UnicodeDecodeError as exc:
        raise ImportFileRejected(
            f"The file is not valid {profile.encoding} past row {reader.line_num}: "
            "choose another encoding."
        ) from exc
    except csv.Error as exc:
        raise ImportFileRejected(f"Row {reader.line_num} cannot be read as CSV: {exc}.") from exc
    finally:
        text.detach()
