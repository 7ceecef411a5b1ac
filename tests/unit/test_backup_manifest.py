"""The pure pieces of backups: manifest building, parsing and verification (no I/O)."""

from __future__ import annotations

import hashlib
import re
from datetime import UTC, datetime
from typing import Any

import pytest

from chronos.backup import (
    MANIFEST,
    SQLITE_MEMBER,
    BackupError,
    DocumentEntry,
    Part,
    build_manifest,
    encode_manifest,
    expected_members,
    key_fingerprint,
    migration_position,
    nonempty_message,
    parse_manifest,
    safe_key,
    verify_members,
)

DB_SHA = "a" * 64
DOC_KEY = "d/ab/ab12cd34ef56ab12cd34ef56ab12cd34"


def manifest(**overrides: Any) -> dict[str, Any]:
    args: dict[str, Any] = {
        "chronos_version": "0.1.0",
        "created_at": datetime(2026, 12, 2, 2, 0, tzinfo=UTC),
        "dialect": "sqlite",
        "migration_head": "0010",
        "tables": {"users": 3, "organizations": 1},
        "parts": [Part(SQLITE_MEMBER, DB_SHA, 4096)],
        "documents": [
            DocumentEntry(DOC_KEY, "b" * 64, 10, True),
            DocumentEntry("d/cd/cdcd", "c" * 64, 20, False),
        ],
        "missing": ["d/zz/gone"],
        "storage_backend": "local",
        "storage_location": "/srv/var/documents",
        "bytes_included": True,
        "secret_source": "env",
        "secret_fingerprint": key_fingerprint("k"),
        "secret_included": False,
    }
    args.update(overrides)
    return build_manifest(**args)


def seen_all(m: dict[str, Any]) -> dict[str, tuple[str, int]]:
    return dict(expected_members(m))


def test_manifest_records_versions_counts_parts_and_the_key_reference_not_the_key() -> None:
    m = manifest()
    assert m["format"] == "chronos-backup" and m["format_version"] == 1
    assert m["chronos_version"] == "0.1.0"
    assert m["database"] == {
        "dialect": "sqlite",
        "member": SQLITE_MEMBER,
        "migration_head": "0010",
        "tables": {"organizations": 1, "users": 3},
    }
    assert m["storage"]["objects"] == 2 and m["storage"]["bytes"] == 30
    assert m["storage"]["missing"] == ["d/zz/gone"]
    assert m["secret_key"]["source"] == "env" and m["secret_key"]["included"] is False
    assert "same key" in m["secret_key"]["note"]
    assert '"k"' not in encode_manifest(m).decode()
    # Only documents whose bytes are in the archive are members.
    assert set(expected_members(m)) == {SQLITE_MEMBER, f"documents/{DOC_KEY}"}


def test_fingerprint_tells_keys_apart_without_showing_them() -> None:
    assert key_fingerprint("one") == key_fingerprint("one")
    assert key_fingerprint("one") != key_fingerprint("two")
    assert "one" not in key_fingerprint("one") and len(key_fingerprint("one")) == 16


def test_verify_members_accepts_exactly_the_promised_parts() -> None:
    m = manifest()
    seen = seen_all(m)
    verify_members(m, seen, list(seen))


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (
            lambda s: s.update({SQLITE_MEMBER: ("f" * 64, 4096)}),
            f"checksum mismatch in {SQLITE_MEMBER}",
        ),
        (lambda s: s.update({SQLITE_MEMBER: (DB_SHA, 100)}), "(100 bytes, the manifest says 4096)"),
        (lambda s: s.pop(f"documents/{DOC_KEY}"), "is missing from the archive"),
        (lambda s: s.update({"documents/d/ee/extra": ("0" * 64, 1)}), "unexpected member"),
    ],
)
def test_verify_members_names_the_problem(change: Any, message: str) -> None:
    m = manifest()
    seen = seen_all(m)
    change(seen)
    with pytest.raises(BackupError) as err:
        verify_members(m, seen, list(seen))
    assert message in err.value.message


def test_parse_manifest_checks_its_own_checksum_and_shape() -> None:
    raw = encode_manifest(manifest())
    good = hashlib.sha256(raw).hexdigest().encode()
    assert parse_manifest(raw, good + b"\n")["database"]["migration_head"] == "0010"
    with pytest.raises(BackupError, match=r"manifest\.sha256 is missing"):
        parse_manifest(raw, None)
    with pytest.raises(BackupError, match=re.escape(f"checksum mismatch in {MANIFEST}")):
        parse_manifest(raw.replace(b'"users": 3', b'"users": 4'), good)
    other = b'{"format": "tarball"}'
    with pytest.raises(BackupError, match="not a Chronos backup"):
        parse_manifest(other, hashlib.sha256(other).hexdigest().encode())
    future = encode_manifest({**manifest(), "format_version": 2})
    with pytest.raises(BackupError, match="format version 2 is not supported"):
        parse_manifest(future, hashlib.sha256(future).hexdigest().encode())


@pytest.mark.parametrize(
    "key", ["../../etc/passwd", "/etc/passwd", "d/../../x", "D/ab/cd", "d", "d/a b/c"]
)
def test_unsafe_keys_are_refused(key: str) -> None:
    with pytest.raises(BackupError, match="unsafe document key"):
        safe_key(key)
    m = manifest(documents=[DocumentEntry(key, "b" * 64, 1, True)])
    with pytest.raises(BackupError, match="unsafe document key"):
        expected_members(m)


def test_safe_keys_pass() -> None:
    assert safe_key(DOC_KEY) == DOC_KEY
    assert safe_key("bench/7/12/v1") == "bench/7/12/v1"
    assert safe_key("sig/ab/abcd.p1w800.png") == "sig/ab/abcd.p1w800.png"


def test_migration_position_orders_heads_and_refuses_unknown_ones() -> None:
    revisions = ["0001", "0002", "0003"]
    assert migration_position("0003", revisions) == 2
    assert migration_position("0001", revisions) == 0
    assert migration_position(None, revisions) == -1
    with pytest.raises(BackupError, match="'0004' is unknown to this Chronos"):
        migration_position("0004", revisions)


def test_nonempty_message_names_users_or_rows() -> None:
    assert nonempty_message({"users": 12, "events": 400}) == (
        "target database is not empty (12 users); use --force"
    )
    assert nonempty_message({"users": 0, "events": 4, "people": 2}) == (
        "target database is not empty (6 rows in 2 tables); use --force"
    )
