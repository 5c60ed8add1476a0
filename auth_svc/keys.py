"""The signing keyring: Ed25519 private keys in a folder, one PEM file per key id.

Rotation: add a key (`python -m auth_svc new-key`), restart; the newest key signs, and the older
ones keep verifying tokens issued before. Remove an old file once its tokens have expired
(access tokens live minutes). Set AUTH_ACTIVE_KEY_ID to pin the signing key explicitly.
"""

from __future__ import annotations

import os
import secrets
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import jwt
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from cryptography.hazmat.primitives.serialization import (
    Encoding,
    NoEncryption,
    PrivateFormat,
    PublicFormat,
    load_pem_private_key,
)

from common.tokens import ALGORITHM, StaticKeySource


@dataclass(frozen=True)
class SigningKey:
    """One key pair and its id."""

    key_id: str
    private_key: Ed25519PrivateKey

    @property
    def public_key(self) -> Ed25519PublicKey:
        """Its public half."""
        return self.private_key.public_key()

    @property
    def public_pem(self) -> str:
        """The public half as SubjectPublicKeyInfo PEM."""
        return self.public_key.public_bytes(Encoding.PEM, PublicFormat.SubjectPublicKeyInfo).decode()


def new_key(keys_dir: Path) -> SigningKey:
    """Create a key, write it to keys_dir readable by the owner only, and return it."""
    keys_dir.mkdir(parents=True, exist_ok=True)
    # Microseconds, so that keys made within one second still sort (and so activate) in creation order;
    # older second-resolution ids ("...HHMMSS-") still sort before newer ids of the same second.
    key_id = f"{datetime.now(UTC):%Y%m%d%H%M%S%f}-{secrets.token_hex(4)}"
    private = Ed25519PrivateKey.generate()
    pem = private.private_bytes(Encoding.PEM, PrivateFormat.PKCS8, NoEncryption())
    path = keys_dir / f"{key_id}.pem"
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "wb") as handle:
        handle.write(pem)
    return SigningKey(key_id, private)


class Keyring:
    """All keys that verify, and the one that signs."""

    def __init__(self, keys: list[SigningKey], active_key_id: str = "") -> None:
        if not keys:
            raise ValueError("the keyring is empty")
        self.keys = sorted(keys, key=lambda k: k.key_id)
        by_id = {k.key_id: k for k in self.keys}
        if active_key_id and active_key_id not in by_id:
            raise ValueError(f"AUTH_ACTIVE_KEY_ID {active_key_id!r} is not in the keyring")
        self.active = by_id[active_key_id] if active_key_id else self.keys[-1]

    @classmethod
    def load(cls, keys_dir: Path, active_key_id: str = "", generate_if_missing: bool = False) -> Keyring:
        """Read every *.pem in keys_dir (creating one key if allowed and none exist)."""
        paths = sorted(keys_dir.glob("*.pem")) if keys_dir.is_dir() else []
        keys = []
        for path in paths:
            private = load_pem_private_key(path.read_bytes(), password=None)
            if not isinstance(private, Ed25519PrivateKey):
                raise ValueError(f"{path} is not an Ed25519 private key")
            keys.append(SigningKey(path.stem, private))
        if not keys:
            if not generate_if_missing:
                raise ValueError(f"no signing keys in {keys_dir}; run `python -m auth_svc new-key`")
            keys.append(new_key(keys_dir))
        return cls(keys, active_key_id)

    def sign(self, claims: dict[str, Any]) -> str:
        """A JWT of claims signed by the active key, with its key id in the header."""
        return jwt.encode(claims, self.active.private_key, algorithm=ALGORITHM, headers={"kid": self.active.key_id})

    def key_source(self) -> StaticKeySource:
        """A key source for verifying this keyring's tokens locally."""
        return StaticKeySource({k.key_id: k.public_key for k in self.keys})
