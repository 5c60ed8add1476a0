"""Upload and download throughput through the gateway, and the gateway's memory meanwhile.

    .venv/bin/python -m bench.uploads [--store folder|s3] [--rounds 5] [--mib 25]

Starts the stack (tests.support.stack: MySQL when it is up, else SQLite; the folder store, or moto's
S3 server as a process with --store s3), then uploads a file of --mib MiB --rounds times through
POST /rooms/{id}/files (streamed from the client in 1 MiB pieces) and downloads it back, sampling
every process's RSS (VmRSS) every 10 ms. The gateway streams both ways in 64 KiB chunks, so its RSS
should not grow with the file. Prints one line per round and a summary (docs/performance.md).
"""

from __future__ import annotations

import argparse
import hashlib
import os
import statistics
import tempfile
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import httpx

from bench.procstat import rss_kib
from tests.support import mysql
from tests.support.s3 import S3Server
from tests.support.stack import Stack

MIB = 1024 * 1024


class PeakRss:
    """Samples processes' RSS on a thread; the peak of each since the last reset."""

    def __init__(self, pids: dict[str, int], every_s: float = 0.01) -> None:
        self._pids = pids
        self._every_s = every_s
        self.peak = dict.fromkeys(pids, 0)
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        while not self._stop.is_set():
            for name, pid in self._pids.items():
                self.peak[name] = max(self.peak[name], rss_kib(pid))
            self._stop.wait(self._every_s)

    def reset(self) -> None:
        """Start a new peak."""
        self.peak = dict.fromkeys(self._pids, 0)

    def __enter__(self) -> PeakRss:
        self._thread.start()
        return self

    def __exit__(self, *_: object) -> None:
        self._stop.set()
        self._thread.join()


def _pieces(data: bytes, size: int = MIB) -> Iterator[bytes]:
    for at in range(0, len(data), size):
        yield data[at : at + size]


def main() -> None:
    """Run the measurement and print the figures."""
    parser = argparse.ArgumentParser(prog="python -m bench.uploads", description=__doc__.split("\n\n")[0])
    parser.add_argument("--store", choices=["folder", "s3"], default="folder")
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--mib", type=float, default=25.0)
    args = parser.parse_args()

    s3 = None
    env = {f"{s}_LOG_LEVEL": "WARNING" for s in ("AUTH", "CHAT", "GATEWAY")}
    env["CHAT_FILE_MAX_BYTES"] = str(max(int(args.mib * MIB), 25 * MIB))  # --mib past 25: raise the limit to match
    if args.store == "s3":
        s3 = S3Server().start()
        s3.create_bucket("parley-files")
        env |= {f"CHAT_{key.upper()}": value for key, value in s3.settings("parley-files").items()}
    stack = Stack(Path(tempfile.mkdtemp(prefix="parley-uploads-")), env=env)
    database = "MySQL" if mysql.unavailable_reason() is None else "SQLite"
    stack.create_databases("parley_bench_uploads" if database == "MySQL" else None).up()
    try:
        _measure(stack, args.rounds, int(args.mib * MIB), f"{args.store} store, {database}")
    finally:
        stack.stop()
        mysql.drop_created()
        if s3 is not None:
            s3.stop()


def _measure(stack: Stack, rounds: int, size: int, where: str) -> None:
    _, token = stack.register("uploader")
    headers = {"Authorization": f"Bearer {token}"}
    client = httpx.Client(base_url=stack.api_url, headers=headers, timeout=120)
    room = client.post("/rooms", json={"kind": "private", "name": "uploads"}).json()["id"]
    data = b"PK\x03\x04" + os.urandom(size - 4)  # a zip's signature: an allowed type
    digest = hashlib.sha256(data).hexdigest()
    pids = {"gateway": stack.gateway.process.pid, "chat_svc": stack.chat.process.pid}
    idle = {name: rss_kib(pid) for name, pid in pids.items()}
    up, down, up_peak, down_peak = [], [], [], []
    with PeakRss(pids) as rss:
        for n in range(1, rounds + 1):
            rss.reset()
            began = time.perf_counter()
            answer = client.post(
                f"/rooms/{room}/files",
                params={"name": f"round-{n}.zip"},
                content=_pieces(data),
                headers={"Content-Type": "application/zip", "Content-Length": str(size)},
            )
            up.append(time.perf_counter() - began)
            assert answer.status_code == 201, answer.text
            file = answer.json()["file"]
            assert file["sha256"] == digest
            up_peak.append(dict(rss.peak))
            rss.reset()
            began = time.perf_counter()
            got = hashlib.sha256()
            with client.stream("GET", f"/files/{file['id']}") as response:
                for block in response.iter_bytes():
                    got.update(block)
            down.append(time.perf_counter() - began)
            assert got.hexdigest() == digest
            down_peak.append(dict(rss.peak))
            print(
                f"round {n}: upload {size / MIB / up[-1]:.1f} MiB/s"
                f" (gateway peak RSS {up_peak[-1]['gateway'] / 1024:.0f} MiB,"
                f" chat_svc {up_peak[-1]['chat_svc'] / 1024:.0f} MiB); download {size / MIB / down[-1]:.1f} MiB/s"
                f" (gateway peak {down_peak[-1]['gateway'] / 1024:.0f} MiB)"
            )
    print(
        f"\n{where}; a {size / MIB:.0f} MiB file, {rounds} rounds:\n"
        f"  upload   median {size / MIB / statistics.median(up):.1f} MiB/s"
        f" ({size / 1e6 / statistics.median(up):.1f} MB/s), best {size / MIB / min(up):.1f} MiB/s\n"
        f"  download median {size / MIB / statistics.median(down):.1f} MiB/s, best {size / MIB / min(down):.1f} MiB/s\n"
        f"  gateway RSS: idle {idle['gateway'] / 1024:.0f} MiB, peak during uploads"
        f" {max(p['gateway'] for p in up_peak) / 1024:.0f} MiB, during downloads"
        f" {max(p['gateway'] for p in down_peak) / 1024:.0f} MiB\n"
        f"  chat_svc RSS: idle {idle['chat_svc'] / 1024:.0f} MiB, peak during uploads"
        f" {max(p['chat_svc'] for p in up_peak) / 1024:.0f} MiB"
    )


if __name__ == "__main__":
    main()
