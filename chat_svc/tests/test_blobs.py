"""The blob stores on their own: the folder store and the S3 store against a real S3-compatible server."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from chat_svc.blobs import BlobStore, FolderStore, S3Store, checked_key
from tests.support.s3 import S3Server

KEY = "A" * 21 + "b"


@pytest.fixture(scope="module")
def s3_server() -> Iterator[S3Server]:
    """Moto's S3 server as a process, for the module."""
    server = S3Server().start()
    server.create_bucket("blobs")
    yield server
    server.stop()


@pytest.fixture(params=["folder", "s3"])
def store(request: pytest.FixtureRequest, tmp_path: Path, s3_server: S3Server) -> BlobStore:
    """A folder store in a temp folder, or an S3 store on the module's bucket."""
    if request.param == "folder":
        return FolderStore(tmp_path / "files")
    return S3Store(s3_server.client(), "blobs", tmp_path / "spool")


def test_bytes_put_come_back_in_chunks_and_go_when_deleted(store: BlobStore, tmp_path: Path) -> None:
    """put, then chunks of at most 64 KiB that add up to the file; exists; delete twice is fine."""
    data = os.urandom(9 * 1024 * 1024 + 17)  # past the 8 MiB multipart threshold
    source = tmp_path / "source"
    source.write_bytes(data)
    store.put(KEY, source, "application/zip")
    chunks = list(store.chunks(KEY))
    assert b"".join(chunks) == data and max(len(c) for c in chunks) <= 64 * 1024
    assert store.exists(KEY) and source.exists()
    store.delete(KEY)
    store.delete(KEY)
    assert not store.exists(KEY)


def test_reading_a_missing_key_raises_file_not_found(store: BlobStore) -> None:
    """A key with no bytes: FileNotFoundError on the first read."""
    with pytest.raises(FileNotFoundError):
        next(iter(store.chunks("Z" * 22)))


@pytest.mark.parametrize("key", ["../../etc/passwd", "a/b", "", "A" * 23, "A" * 22 + ".thumbx", "A" * 21 + "."])
def test_a_key_that_is_not_an_id_is_refused_before_it_becomes_a_path(key: str) -> None:
    """Only 22 URL-safe characters (and .thumb) are keys: anything else is a ValueError."""
    with pytest.raises(ValueError):
        checked_key(key)


def test_the_folder_store_never_touches_a_path_outside_its_folder(tmp_path: Path) -> None:
    """A traversal key is refused by every operation, and the file it names stays."""
    victim = tmp_path / "victim"
    victim.write_bytes(b"keep me")
    store = FolderStore(tmp_path / "files")
    with pytest.raises(ValueError):
        store.delete("../victim")
    assert victim.read_bytes() == b"keep me"
