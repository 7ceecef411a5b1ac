"""The storage interface every backend implements."""

from __future__ import annotations

from typing import Protocol


class StorageError(Exception):
    """The backend could not do what was asked (unreachable, refused, misconfigured)."""


class StoredObjectMissing(StorageError):
    """No object under that key."""


class Storage(Protocol):
    name: str

    def put(self, key: str, data: bytes, content_type: str) -> None:
        """Store ``data`` under ``key`` (overwrites)."""

    def get(self, key: str) -> bytes:
        """The bytes under ``key``; ``StoredObjectMissing`` if there are none."""

    def exists(self, key: str) -> bool: ...

    def delete(self, key: str) -> None:
        """Remove ``key``; deleting a missing key is not an error."""

    def delete_many(self, keys: list[str]) -> None:
        """Remove every key (missing ones are not an error), in as few requests as the
        backend allows: a document's page previews are up to 3 per page."""

    def presigned_url(
        self, key: str, *, filename: str, content_type: str, inline: bool, seconds: int
    ) -> str | None:
        """A short-lived URL the browser can fetch directly, or None when the app must
        stream the bytes itself (local files)."""
