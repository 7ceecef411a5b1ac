"""A local S3-compatible server (moto's standalone server) over real HTTP on loopback.

The S3 backend is tested against it exactly as it would talk to AWS or MinIO: boto3, SigV4,
presigned URLs, HTTP status codes. Nothing ever leaves 127.0.0.1.
"""

from __future__ import annotations

import contextlib
import socket
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

import boto3
import httpx
from moto.server import ThreadedMotoServer

ACCESS_KEY = "chronos-test-key"
SECRET_KEY = "chronos-test-secret"  # moto accepts any credentials
REGION = "us-east-1"


@dataclass
class LocalS3:
    endpoint_url: str
    bucket: str

    def client(self):  # type: ignore[no-untyped-def]
        return boto3.client(
            "s3",
            endpoint_url=self.endpoint_url,
            region_name=REGION,
            aws_access_key_id=ACCESS_KEY,
            aws_secret_access_key=SECRET_KEY,
        )

    def env(self) -> dict[str, str]:
        """The settings that point Chronos at this server."""
        return {
            "CHRONOS_STORAGE": "s3",
            "CHRONOS_S3_BUCKET": self.bucket,
            "CHRONOS_S3_ENDPOINT_URL": self.endpoint_url,
            "CHRONOS_S3_REGION": REGION,
            "AWS_ACCESS_KEY_ID": ACCESS_KEY,
            "AWS_SECRET_ACCESS_KEY": SECRET_KEY,
        }


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@contextmanager
def local_s3(bucket: str = "chronos-documents") -> Iterator[LocalS3]:
    port = _free_port()
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
    server.start()
    endpoint = f"http://127.0.0.1:{port}"
    try:
        # moto keeps its buckets in process-wide memory, whichever server serves them: start
        # and end empty, so one test's objects never show up in another's bucket.
        httpx.post(f"{endpoint}/moto-api/reset", timeout=10).raise_for_status()
        s3 = LocalS3(endpoint, bucket)
        s3.client().create_bucket(Bucket=bucket)
        yield s3
    finally:
        with contextlib.suppress(httpx.HTTPError):
            httpx.post(f"{endpoint}/moto-api/reset", timeout=10)
        server.stop()
