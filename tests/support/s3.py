"""An S3-compatible server of the test's own: moto's standalone server as a process on a free port."""

from __future__ import annotations

import sys
from dataclasses import dataclass
from typing import Any

from tests.support.processes import Daemon

ACCESS_KEY, SECRET_KEY, REGION = "testing", "testing-secret", "us-east-1"


@dataclass
class S3Server(Daemon):
    """`python -m moto.server` on 127.0.0.1, in memory: buckets and objects live as long as the process."""

    @property
    def url(self) -> str:
        """The endpoint URL (path-style addressing, as MinIO)."""
        return f"http://127.0.0.1:{self.port}"

    def command(self) -> list[str]:
        """moto's standalone server."""
        return [sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p", str(self.port)]

    def settings(self, bucket: str) -> dict[str, str]:
        """chat_svc's settings (field names) for a bucket on this server."""
        return {
            "file_store": "s3",
            "s3_endpoint_url": self.url,
            "s3_bucket": bucket,
            "s3_region": REGION,
            "s3_access_key_id": ACCESS_KEY,
            "s3_secret_access_key": SECRET_KEY,
        }

    def create_bucket(self, bucket: str) -> None:
        """Create a bucket (the one-shot job of a deployment does this)."""
        self.client().create_bucket(Bucket=bucket)

    def client(self) -> Any:
        """A boto3 S3 client for this server."""
        import boto3

        return boto3.client(
            "s3", endpoint_url=self.url, region_name=REGION, aws_access_key_id=ACCESS_KEY,
            aws_secret_access_key=SECRET_KEY,
        )  # fmt: skip
