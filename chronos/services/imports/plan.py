"""The preview: what each row would do (create, update or skip, and why), decided without I/O."""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import Literal

from chronos.services.imports.dedupe import (
    PersonKey,
    fold,
    match_reason,
    person_key,
    transaction_key,
)
from chronos.services.imports.mapping import (
    DATE_FIELDS,
    Manifest,
    ValueRejected,
    clean_cell,
    parse_date,
    parse_price,
    parse_side,
    parse_stage,
)

Action = Literal["create", "update", "skip"]
_ZIP = re.compile(r"\b(\d{5})(?:-\d{4})?\b")


@dataclass
class RowPlan:
    line: int
    action: Action
    reason: str = ""
    values: dict[str, object] = field(default_factory=dict)
    match_id: int | None = None
    match_on: str = ""
    formulas_removed: bool = False


def _mapped(row: dict[str, str], manifest: Manifest) -> tuple[dict[str, str], bool]:
    values: dict[str, str] = {}
    removed = False
    for column, name in manifest.columns.items():
        if name:
            safe, was_formula = clean_cell(row.get(column, ""))
            values[name] = safe
            removed = removed or was_formula
    return values, removed


def _person_values(raw: dict[str, str]) -> dict[str, object]:
    first, last = raw.get("first_name", ""), raw.get("last_name", "")
    if not (first or last) and raw.get("full_name"):
        parts = raw["full_name"].split()
        first, last = " ".join(parts[:-1]) or parts[0], parts[-1] if len(parts) > 1 else ""
    values: dict[str, object] = {k: v for k, v in raw.items() if k != "full_name" and v}
    values["first_name"], values["last_name"] = first, last
    return values


def _zip_of(address: str) -> str:
    found = _ZIP.findall(address)
    return found[-1] if found else ""


def fuzzy_block(name: str, address: str) -> tuple[str, str]:
    """Which existing people a row is fuzzily compared with: same ZIP and same first letter of
    the alphabetically first name word (token-sort order). Two names 90% alike nearly always
    share it; comparing only within a block keeps 50,000 rows against 50,000 people linear
    instead of 2.5 billion comparisons (bench/imports.py)."""
    words = sorted(fold(name).split())
    return _zip_of(fold(address)), words[0][:1] if words else ""


def person_row_key(name: str, address: str) -> str:
    """A row's own exact key when it has no email or phone: folded name | folded address."""
    return f"{fold(name)}|{fold(address)}"


def plan_people(
    rows: Iterable[tuple[int, dict[str, str]]],
    manifest: Manifest,
    existing: Iterable[tuple[int, PersonKey]],
    known_rows: Mapping[str, int] | None = None,
) -> Iterator[RowPlan]:
    """One plan per row: a match (email, phone, an earlier import's exact name + address, then
    fuzzy name + address within the row's block) is an update.

    ``known_rows``: ``person_row_key`` → person id, from earlier imports (so a re-run of a file
    whose rows have neither email nor phone finds what the first run created).
    """
    known = list(existing)
    by_email = {k.email: pid for pid, k in known if k.email}
    by_phone = {k.phone: pid for pid, k in known if k.phone}
    blocks: dict[tuple[str, str], list[tuple[int, PersonKey]]] = {}
    for pid, k in known:
        if k.name.strip() and k.address.strip():
            blocks.setdefault(fuzzy_block(k.name, k.address), []).append((pid, k))
    earlier = known_rows or {}
    seen: dict[str, int] = {}
    for line, row in rows:
        raw, removed = _mapped(row, manifest)
        values = _person_values(raw)
        name = f"{values['first_name']} {values['last_name']}".strip()
        address = " ".join(raw.get(k, "") for k in ("street", "city", "zip")).strip()
        key = person_key(
            email=raw.get("email", ""),
            phone=raw.get("phone", ""),
            name=name,
            address=address,
            region=manifest.default_region,
        )
        if raw.get("email") and key.email is None:
            yield RowPlan(line, "skip", f'"{raw["email"]}" is not an email address.', values)
            continue
        if not name and key.email is None:
            yield RowPlan(line, "skip", "The row has neither a name nor an email.", values)
            continue
        if key.email:
            values["email"] = key.email
        if key.phone:
            values["phone"] = key.phone
        own = key.email or key.phone or f"{name.casefold()}|{address.casefold()}"
        if own in seen:
            yield RowPlan(line, "skip", f"The same person as row {seen[own]} of this file.", values)
            continue
        seen[own] = line
        match: tuple[int, str] | None = None
        if key.email and key.email in by_email:
            match = by_email[key.email], "email"
        elif key.phone and key.phone in by_phone:
            match = by_phone[key.phone], "phone"
        elif person_row_key(name, address) in earlier:
            match = earlier[person_row_key(name, address)], "an earlier import of this row"
        else:
            for pid, other in blocks.get(fuzzy_block(name, address), ()):
                found = match_reason(PersonKey(None, None, key.name, key.address), other)
                if found:
                    match = pid, f"{found[0]} ({found[1]:.0f}%)"
                    break
        if match:
            yield RowPlan(line, "update", "", values, match[0], match[1], removed)
        else:
            yield RowPlan(line, "create", "", values, formulas_removed=removed)


def plan_transactions(
    rows: Iterable[tuple[int, dict[str, str]]],
    manifest: Manifest,
    existing: dict[tuple[str, str], int],
) -> Iterator[RowPlan]:
    """One plan per row: a known MLS number, else the same address and side, is an update."""
    seen: dict[tuple[str, str], int] = {}
    for line, row in rows:
        raw, removed = _mapped(row, manifest)
        values: dict[str, object] = {k: v for k, v in raw.items() if v}
        try:
            if not raw.get("street"):
                raise ValueRejected("The row has no property address.")
            side = parse_side(raw.get("side", ""), manifest.side_names, manifest.default_side)
            values["side"] = side
            if raw.get("stage"):
                values["stage"] = parse_stage(raw["stage"], manifest.stage_names).value
            if raw.get("price"):
                values["price"] = parse_price(raw["price"])
            for name in DATE_FIELDS:
                if raw.get(name):
                    values[name] = parse_date(raw[name], manifest.date_format)
        except ValueRejected as exc:
            yield RowPlan(line, "skip", str(exc), values)
            continue
        key = transaction_key(
            raw.get("mls_number", ""), raw["street"], raw.get("unit", ""), raw.get("zip", ""), side
        )
        if key in seen:
            yield RowPlan(
                line, "skip", f"The same transaction as row {seen[key]} of this file.", values
            )
            continue
        seen[key] = line
        if key in existing:
            on = "MLS number" if key[0] == "mls" else "address and side"
            yield RowPlan(line, "update", "", values, existing[key], on, removed)
        else:
            yield RowPlan(line, "create", "", values, formulas_removed=removed)
