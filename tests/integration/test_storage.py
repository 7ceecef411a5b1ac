"""The storage contract, run against both backends: the local filesystem and S3 (boto3 over
real HTTP to moto's standalone server on loopback)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from chronos.storage import (
    LocalStorage,
    S3Storage,
    Storage,
    StorageError,
    StoredObjectMissing,
    new_key,
)
from tests.support.s3 import ACCESS_KEY, REGION, SECRET_KEY, LocalS3, local_s3


@pytest.fixture(scope="module")
def s3_server() -> Iterator[LocalS3]:
    with local_s3() as s3:
        yield s3


@pytest.fixture(params=["local", "s3"])
def storage(request: pytest.FixtureRequest, tmp_path: Path) -> Storage:
    if request.param == "local":
        return LocalStorage(tmp_path / "documents")
    s3: LocalS3 = request.getfixturevalue("s3_server")
    return S3Storage(
        bucket=s3.bucket,
        endpoint_url=s3.endpoint_url,
        region=REGION,
        access_key_id=ACCESS_KEY,
        secret_access_key=SECRET_KEY,
    )


def test_put_then_get_returns_the_same_bytes(storage: Storage) -> None:
    key = new_key()
    data = bytes(range(256)) * 1000
    storage.put(key, data, "application/pdf")
    assert storage.exists(key)
    assert storage.get(key) == data


def test_put_overwrites(storage: Storage) -> None:
    key = new_key()
    storage.put(key, b"first", "text/plain")
    storage.put(key, b"second", "text/plain")
    assert storage.get(key) == b"second"


def test_missing_key_is_a_typed_error(storage: Storage) -> None:
    key = new_key()
    assert not storage.exists(key)
    with pytest.raises(StoredObjectMissing):
        storage.get(key)


def test_delete_removes_and_is_idempotent(storage: Storage) -> None:
    key = new_key()
    storage.put(key, b"x", "text/plain")
    storage.delete(key)
    assert not storage.exists(key)
    storage.delete(key)  # deleting again is not an error


def test_delete_many_removes_every_key_missing_ones_included(storage: Storage) -> None:
    keys = [new_key() for _ in range(3)]
    for k in keys[:2]:
        storage.put(k, b"x", "application/octet-stream")
    storage.delete_many(keys)  # the third was never stored
    assert not any(storage.exists(k) for k in keys)
    storage.delete_many([])


def test_keys_are_opaque_and_unique() -> None:
    keys = {new_key() for _ in range(1000)}
    assert len(keys) == 1000
    assert all(k.startswith("d/") and len(k.split("/")[-1]) == 32 for k in keys)


@pytest.mark.parametrize("bad", ["../etc/passwd", "/abs/path", "d/../../x", "d/a b", ""])
def test_local_backend_refuses_keys_that_escape_its_root(tmp_path: Path, bad: str) -> None:
    storage = LocalStorage(tmp_path / "documents")
    with pytest.raises(StorageError):
        storage.put(bad, b"x", "text/plain")


def test_local_backend_never_hands_out_direct_urls(tmp_path: Path) -> None:
    storage = LocalStorage(tmp_path)
    key = new_key()
    storage.put(key, b"x", "text/plain")
    assert (
        storage.presigned_url(key, filename="a.pdf", content_type="x", inline=True, seconds=60)
        is None
    )


def test_s3_presigned_url_serves_the_object_with_its_name_then_expires(
    s3_server: LocalS3,
) -> None:
    storage = S3Storage(
        bucket=s3_server.bucket,
        endpoint_url=s3_server.endpoint_url,
        access_key_id=ACCESS_KEY,
        secret_access_key=SECRET_KEY,
    )
    key = new_key()
    storage.put(key, b"%PDF-1.7 fake", "application/pdf")
    url = storage.presigned_url(
        key,
        filename="Offer \u2013 12 Main.pdf",
        content_type="application/pdf",
        inline=False,
        seconds=60,
    )
    assert url and url.startswith(s3_server.endpoint_url)
    response = httpx.get(url)
    assert response.status_code == 200
    assert response.content == b"%PDF-1.7 fake"
    disposition = response.headers["content-disposition"]
    assert (
        disposition.startswith("attachment;")
        and "UTF-8''Offer%20%E2%80%93%2012%20Main.pdf" in disposition
    )
    assert "X-Amz-Expires=60" in url  # the object store, not Chronos, enforces this one


def test_s3_errors_surface_as_storage_errors(s3_server: LocalS3) -> None:
    missing_bucket = S3Storage(
        bucket="no-such-bucket",
        endpoint_url=s3_server.endpoint_url,
        access_key_id=ACCESS_KEY,
        secret_access_key=SECRET_KEY,
    )
    with pytest.raises(StorageError):
        missing_bucket.put(new_key(), b"x", "text/plain")
    unreachable = S3Storage(
        bucket="b", endpoint_url="http://127.0.0.1:9", access_key_id="a", secret_access_key="b"
    )
    with pytest.raises(StorageError):
        unreachable.get(new_key())


def test_s3_requires_a_bucket() -> None:
    with pytest.raises(StorageError, match="CHRONOS_S3_BUCKET"):
        S3Storage(bucket="")
