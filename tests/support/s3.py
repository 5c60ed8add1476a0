"""An S3-compatible server of the test's own: moto's standalone server as a process on a free port."""

from __future__ import annotations

import socket
import subprocess
import sys
from dataclasses import dataclass, field
from typing import Any

from tests.support.processes import free_port, wait_until

ACCESS_KEY, SECRET_KEY, REGION = "testing", "testing-secret", "us-east-1"


@dataclass
class S3Server:
    """`python -m moto.server` on 127.0.0.1, in memory: buckets and objects live as long as the process."""

    port: int = field(default_factory=free_port)
    process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        """The endpoint URL (path-style addressing, as MinIO)."""
        return f"http://127.0.0.1:{self.port}"

    def start(self, timeout: float = 30.0) -> S3Server:
        """Start and wait until it accepts connections."""
        command = [sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p", str(self.port)]
        self.process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        try:
            wait_until(self.answers, f"moto S3 server on port {self.port}", timeout=timeout)
        except TimeoutError:
            self.stop()
            raise
        return self

    def answers(self) -> bool:
        """It accepts a TCP connection."""
        try:
            with socket.create_connection(("127.0.0.1", self.port), timeout=0.5):
                return True
        except OSError:
            return False

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

    def stop(self) -> None:
        """Stop the server."""
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
