"""Document storage: one interface, two backends (local filesystem, S3-compatible).

Keys are opaque (``new_key()``), never derived from a file's name. Nothing here knows who is
asking: authorization happens in ``services/documents.py`` before any key reaches a backend.
"""

from __future__ import annotations

import secrets
from functools import lru_cache

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


@lru_cache(maxsize=1)
def get_storage() -> Storage:
    from chronos.settings import get_settings

    s = get_settings()
    if s.storage_backend == "s3":
        return S3Storage(
            bucket=s.s3_bucket,
            endpoint_url=s.s3_endpoint_url or None,
            region=s.s3_region,
            access_key_id=s.s3_access_key_id or None,
            secret_access_key=s.s3_secret_access_key or None,
        )
    return LocalStorage(s.storage_dir)
