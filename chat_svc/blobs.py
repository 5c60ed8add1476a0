"""Blob stores: where the bytes of files (and of their thumbnails) live, by key.

    BlobStore     the protocol: put a file's bytes under a key, read them back in chunks, delete, exists
    FolderStore   a folder on a disk (the default, under var/files): written to a temp file, then
                  renamed into place, so a reader never sees half a file
    S3Store       any S3-compatible store (AWS S3, MinIO, R2, GCS interop) through boto3's managed
                  transfer (multipart for large files, from the file on disk: never whole in memory)
    Blobs         the async face the service uses: every call runs on its own worker threads, never
                  on the event loop (boto3 and file I/O block, as mysqlclient does for the Database)

Keys are the file ids (secrets.token_urlsafe(16): 22 URL-safe characters) and `<id>.thumb`; a key
that does not have that shape is refused before it comes near a path or a URL.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import os
import re
import shutil
import tempfile
import uuid
from collections.abc import AsyncGenerator, Callable, Generator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any, ParamSpec, Protocol, TypeVar

from chat_svc.settings import ChatSettings

P = ParamSpec("P")
T = TypeVar("T")

CHUNK = 64 * 1024  # bytes per read: a good size for grpcio messages
PART = 8 * 1024 * 1024  # S3 multipart part size (S3's minimum is 5 MiB)
_KEY = re.compile(r"[A-Za-z0-9_-]{22}(\.thumb)?")


def checked_key(key: str) -> str:
    """A blob key of the shape ids have (ValueError otherwise): never a path of its own."""
    if not _KEY.fullmatch(key):
        raise ValueError(f"not a blob key: {key!r}")
    return key


def thumbnail_key(file_id: str) -> str:
    """The key of a file's thumbnail."""
    return f"{file_id}.thumb"


class BlobStore(Protocol):
    """Bytes by key. Blocking: call through Blobs, on its worker threads. Deletes are idempotent."""

    @property
    def scratch(self) -> Path | None:
        """Where uploads are spooled before put (None: the system's temp folder)."""
        ...

    def put(self, key: str, source: Path, content_type: str) -> None:
        """Store the bytes of the file at source under key (source stays: the caller removes it)."""
        ...

    def chunks(self, key: str) -> Generator[bytes, None, None]:
        """The bytes under key, CHUNK at a time (FileNotFoundError when there are none)."""
        ...

    def delete(self, key: str) -> None:
        """Forget key's bytes; a key that is not there is fine."""
        ...

    def exists(self, key: str) -> bool:
        """Whether bytes are stored under key."""
        ...


class FolderStore:
    """Blobs as files in one folder; written through a temp file and os.replace, so readers see whole files."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self._incoming = root / ".incoming"
        self._incoming.mkdir(parents=True, exist_ok=True)

    @property
    def scratch(self) -> Path:
        """Uploads spool on the same disk, so put can link them in instead of copying."""
        return self._incoming

    def _path(self, key: str) -> Path:
        return self.root / checked_key(key)

    def put(self, key: str, source: Path, content_type: str) -> None:
        """Link (or copy) the file under a temp name in the folder, then rename it to its key."""
        target = self._path(key)
        temp = self._incoming / f"{uuid.uuid4().hex}.part"
        try:
            try:
                os.link(source, temp)  # same disk: no copy
            except OSError:
                shutil.copyfile(source, temp)
            os.replace(temp, target)
        finally:
            temp.unlink(missing_ok=True)

    def chunks(self, key: str) -> Generator[bytes, None, None]:
        """The file's bytes."""
        with self._path(key).open("rb") as f:
            while block := f.read(CHUNK):
                yield block

    def delete(self, key: str) -> None:
        """Remove the file if it is there."""
        self._path(key).unlink(missing_ok=True)

    def exists(self, key: str) -> bool:
        """Whether the file is there."""
        return self._path(key).is_file()


class S3Store:
    """Blobs as objects of one bucket of an S3-compatible store (boto3, path-style for MinIO by default)."""

    def __init__(self, client: Any, bucket: str, scratch: Path | None = None) -> None:
        from boto3.s3.transfer import TransferConfig

        self._client = client
        self._bucket = bucket
        self._scratch = scratch
        # Multipart above 8 MiB, in 8 MiB parts, two at a time: each part in flight is read into
        # memory, so this bounds an upload's memory to about 16 MiB whatever the file's size.
        self._transfer = TransferConfig(multipart_threshold=PART, multipart_chunksize=PART, max_concurrency=2)
        if scratch is not None:
            scratch.mkdir(parents=True, exist_ok=True)

    @classmethod
    def from_settings(cls, settings: ChatSettings) -> S3Store:
        """A client for the configured endpoint, region, credentials and addressing style."""
        import boto3  # loads slowly; only a deployment with S3 pays for it
        from botocore.config import Config

        secret = settings.s3_secret_access_key
        client = boto3.client(
            "s3",
            endpoint_url=settings.s3_endpoint_url,
            region_name=settings.s3_region,
            aws_access_key_id=settings.s3_access_key_id,
            aws_secret_access_key=secret.get_secret_value() if secret is not None else None,
            config=Config(
                s3={"addressing_style": "path" if settings.s3_path_style else "virtual"},
                retries={"mode": "standard", "max_attempts": 4},
                max_pool_connections=max(10, settings.file_threads * 2),
            ),
        )
        # Uploads spool on disk under the file folder (not /tmp, often a small RAM disk in containers).
        return cls(client, settings.s3_bucket, Path(settings.file_folder) / ".incoming")

    @property
    def scratch(self) -> Path | None:
        """Where uploads spool before they are sent to the bucket."""
        return self._scratch

    def put(self, key: str, source: Path, content_type: str) -> None:
        """Managed upload from the file: multipart above 8 MiB, two parts at a time read from disk as they go."""
        self._client.upload_file(str(source), self._bucket, checked_key(key), ExtraArgs={"ContentType": content_type})

    def chunks(self, key: str) -> Generator[bytes, None, None]:
        """The object's body, streamed."""
        try:
            body = self._client.get_object(Bucket=self._bucket, Key=checked_key(key))["Body"]
        except self._client.exceptions.NoSuchKey as exc:
            raise FileNotFoundError(key) from exc
        with contextlib.closing(body):
            yield from body.iter_chunks(CHUNK)

    def delete(self, key: str) -> None:
        """DeleteObject: S3 answers success for a key that is not there."""
        self._client.delete_object(Bucket=self._bucket, Key=checked_key(key))

    def exists(self, key: str) -> bool:
        """HeadObject: 404 means no."""
        from botocore.exceptions import ClientError

        try:
            self._client.head_object(Bucket=self._bucket, Key=checked_key(key))
        except ClientError as exc:
            if exc.response.get("Error", {}).get("Code") in {"404", "NoSuchKey", "NotFound"}:
                return False
            raise
        return True


def make_store(settings: ChatSettings) -> BlobStore:
    """The store the settings name."""
    if settings.file_store == "s3":
        return S3Store.from_settings(settings)
    return FolderStore(Path(settings.file_folder))


class Blobs:
    """A blob store and the worker threads its blocking calls run on."""

    def __init__(self, store: BlobStore, threads: int = 4) -> None:
        self.store = store
        self._executor = ThreadPoolExecutor(max_workers=threads, thread_name_prefix="blobs")

    async def run(self, fn: Callable[P, T], *args: P.args, **kwargs: P.kwargs) -> T:
        """Run a blocking function on the blob workers."""
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(self._executor, functools.partial(fn, *args, **kwargs))

    def spool(self) -> tuple[int, Path]:
        """A new temp file for an upload, where the store wants it: (fd, path). Blocking (small)."""
        fd, name = tempfile.mkstemp(prefix="upload-", suffix=".part", dir=self.store.scratch)
        return fd, Path(name)

    async def put(self, key: str, source: Path, content_type: str) -> None:
        """Store a file's bytes."""
        await self.run(self.store.put, key, source, content_type)

    async def delete(self, *keys: str) -> None:
        """Forget these keys' bytes (idempotent)."""
        for key in keys:
            await self.run(self.store.delete, key)

    async def exists(self, key: str) -> bool:
        """Whether bytes are stored under key."""
        return await self.run(self.store.exists, key)

    async def chunks(self, key: str) -> AsyncGenerator[bytes, None]:
        """The bytes under key, read on the workers a chunk at a time."""
        blocks = await self.run(self.store.chunks, key)
        try:
            while (block := await self.run(next, blocks, None)) is not None:
                yield block
        finally:
            await self.run(blocks.close)

    def close(self) -> None:
        """Stop the workers."""
        self._executor.shutdown(wait=True)
