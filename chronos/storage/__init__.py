"""Document storage: one interface, two backends (local filesystem, S3-compatible).

Keys are opaque (``new_key()``), never derived from a file's name. Nothing here knows who is
asking: authorization happens in ``services/documents.py`` before any key reaches a backend.
"""

from __future__ import annotations

import secrets
from functools import lru_cache
from pathlib import Path

from chronos.storage.base import Storage, StorageError, StoredObjectMissing
from chronos.storage.local import LocalStorage
from chronos.storage.s3 import S3Storage

__all__ = [
    "LocalStorage",
    "S3Storage",
    "Storage",
    "StorageError",
    "StoredObjectMissing",
    "get_storage",
    "new_key",
]


def new_key(prefix: str = "d") -> str:
    """An opaque, unguessable object key, sharded by its first characters."""
    token = secrets.token_hex(16)
    return f"{prefix}/{token[:2]}/{token}"


def get_storage() -> Storage:
    """The configured backend (one per distinct configuration, so settings reloaded by tests
    or a CLI never talk to a stale root or bucket)."""
    from chronos.settings import get_settings

    s = get_settings()
    return _storage_for(
        s.storage_backend,
        str(s.storage_dir),
        s.s3_bucket,
        s.s3_endpoint_url,
        s.s3_region,
        s.s3_access_key_id,
        s.s3_secret_access_key,
    )


@lru_cache(maxsize=8)
def _storage_for(
    backend: str,
    storage_dir: str,
    bucket: str,
    endpoint_url: str,
    region: str,
    access_key_id: str,
    secret_access_key: str,
) -> Storage:
    if backend == "s3":
        return S3Storage(
            bucket=bucket,
            endpoint_url=endpoint_url or None,
            region=region,
            access_key_id=access_key_id or None,
            secret_access_key=secret_access_key or None,
        )
    return LocalStorage(Path(storage_dir))
