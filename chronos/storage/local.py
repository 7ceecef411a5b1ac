"""Files on the local disk (the embedded default): ``<root>/<key>``, written atomically."""

from __future__ import annotations

import os
import re
import tempfile
from pathlib import Path

from chronos.storage.base import StorageError, StoredObjectMissing

_KEY = re.compile(r"^[a-z]+(/[0-9a-zA-Z_.-]+)+$")


class LocalStorage:
    name = "local"

    def __init__(self, root: Path) -> None:
        self.root = Path(root)

    def _path(self, key: str) -> Path:
        # Keys are made by new_key(); anything else (.., absolute paths) is refused outright.
        if not _KEY.match(key) or ".." in key.split("/"):
            raise StorageError(f"Invalid storage key: {key!r}")
        return self.root / key

    def put(self, key: str, data: bytes, content_type: str) -> None:
        path = self._path(key)
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".tmp-")
        try:
            with os.fdopen(fd, "wb") as fh:
                fh.write(data)
                fh.flush()
                os.fsync(fh.fileno())
            Path(tmp).replace(path)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise

    def get(self, key: str) -> bytes:
        try:
            return self._path(key).read_bytes()
        except FileNotFoundError as exc:
            raise StoredObjectMissing(key) from exc

    def exists(self, key: str) -> bool:
        return self._path(key).is_file()

    def delete(self, key: str) -> None:
        self._path(key).unlink(missing_ok=True)

    def delete_many(self, keys: list[str]) -> None:
        for key in keys:
            self.delete(key)

    def presigned_url(
        self, key: str, *, filename: str, content_type: str, inline: bool, seconds: int
    ) -> str | None:
        return None
