"""The signing keyring: loading, generating, rotating and pinning Ed25519 keys in a folder."""

from __future__ import annotations

import stat
import time
from pathlib import Path

import jwt
import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.hazmat.primitives.asymmetric.rsa import generate_private_key
from cryptography.hazmat.primitives.serialization import Encoding, NoEncryption, PrivateFormat

from auth_svc.keys import Keyring, SigningKey, new_key
from common.errors import Unauthenticated
from common.tokens import TokenVerifier


def _claims() -> dict[str, object]:
    now = int(time.time())
    return {"iss": "iss", "aud": "aud", "sub": "42", "sid": "s1", "iat": now, "exp": now + 60}


def _verifier(keyring: Keyring) -> TokenVerifier:
    return TokenVerifier(keyring.key_source(), "iss", "aud")


def test_load_generates_a_key_when_allowed(tmp_path: Path) -> None:
    """With generate_if_missing, loading a missing folder creates it with one key that signs."""
    keys_dir = tmp_path / "keys"
    keyring = Keyring.load(keys_dir, generate_if_missing=True)
    assert [k.key_id for k in keyring.keys] == [keyring.active.key_id]
    assert (keys_dir / f"{keyring.active.key_id}.pem").is_file()


def test_load_reads_the_same_key_back(tmp_path: Path) -> None:
    """A second load finds the generated key instead of making another one."""
    first = Keyring.load(tmp_path, generate_if_missing=True)
    second = Keyring.load(tmp_path, generate_if_missing=True)
    assert second.active.key_id == first.active.key_id
    assert second.active.public_pem == first.active.public_pem
    assert len(list(tmp_path.glob("*.pem"))) == 1


def test_load_without_keys_and_without_generating_raises(tmp_path: Path) -> None:
    """With generate_if_missing off, an empty folder is an error that says how to make a key."""
    with pytest.raises(ValueError, match="new-key"):
        Keyring.load(tmp_path)


def test_empty_keyring_raises() -> None:
    """A keyring needs at least one key."""
    with pytest.raises(ValueError, match="empty"):
        Keyring([])


def test_non_ed25519_key_file_is_refused(tmp_path: Path) -> None:
    """An RSA key in the folder is an error naming the file, not a silently ignored key."""
    rsa = generate_private_key(public_exponent=65537, key_size=2048)
    (tmp_path / "rsa.pem").write_bytes(rsa.private_bytes(Encoding.PEM, PrivateFormat.PKCS8, NoEncryption()))
    with pytest.raises(ValueError, match=r"rsa\.pem"):
        Keyring.load(tmp_path)


def test_key_file_is_readable_by_the_owner_only(tmp_path: Path) -> None:
    """A new key file has mode 0600."""
    key = new_key(tmp_path)
    mode = stat.S_IMODE((tmp_path / f"{key.key_id}.pem").stat().st_mode)
    assert mode == 0o600


def test_new_key_never_overwrites(tmp_path: Path) -> None:
    """Each new key gets its own file and id."""
    ids = {new_key(tmp_path).key_id for _ in range(5)}
    assert len(ids) == 5
    assert len(list(tmp_path.glob("*.pem"))) == 5


async def test_active_key_signs_with_its_key_id(tmp_path: Path) -> None:
    """sign() puts the active key id in the header, and the keyring's own key source verifies it."""
    keyring = Keyring.load(tmp_path, generate_if_missing=True)
    token = keyring.sign(_claims())
    principal = await _verifier(keyring).verify(token)
    assert principal.subject == "42"
    assert jwt.get_unverified_header(token)["kid"] == keyring.active.key_id


def test_the_newest_key_signs_after_rotation(tmp_path: Path) -> None:
    """After each new_key, a reload makes the new key active, even for keys made within one second."""
    Keyring.load(tmp_path, generate_if_missing=True)
    for _ in range(5):
        added = new_key(tmp_path)
        assert Keyring.load(tmp_path).active.key_id == added.key_id


async def test_old_tokens_still_verify_after_rotation(tmp_path: Path) -> None:
    """A token signed before a rotation verifies through the rotated keyring's key_source()."""
    old = Keyring.load(tmp_path, generate_if_missing=True)
    old_token = old.sign(_claims())
    new_key(tmp_path)
    rotated = Keyring.load(tmp_path)
    assert rotated.active.key_id != old.active.key_id
    assert (await _verifier(rotated).verify(old_token)).subject == "42"
    assert (await _verifier(rotated).verify(rotated.sign(_claims()))).subject == "42"


async def test_removed_key_no_longer_verifies(tmp_path: Path) -> None:
    """Once an old key file is deleted, its tokens are refused."""
    old = Keyring.load(tmp_path, generate_if_missing=True)
    old_token = old.sign(_claims())
    new_key(tmp_path)
    (tmp_path / f"{old.active.key_id}.pem").unlink()
    with pytest.raises(Unauthenticated, match="unknown key"):
        await _verifier(Keyring.load(tmp_path)).verify(old_token)


def test_active_key_id_pins_an_older_key(tmp_path: Path) -> None:
    """AUTH_ACTIVE_KEY_ID keeps an older key signing although a newer one exists."""
    first = new_key(tmp_path)
    new_key(tmp_path)
    keyring = Keyring.load(tmp_path, active_key_id=first.key_id)
    assert keyring.active.key_id == first.key_id
    assert len(keyring.keys) == 2


def test_unknown_active_key_id_raises(tmp_path: Path) -> None:
    """Pinning a key id that is not in the folder is an error naming it."""
    new_key(tmp_path)
    with pytest.raises(ValueError, match="no-such-key"):
        Keyring.load(tmp_path, active_key_id="no-such-key")


def test_key_ids_of_the_older_format_sort_first() -> None:
    """A second-resolution key id from before microsecond ids sorts before a new id of the same second."""
    older = SigningKey("20260101120000-ffffffff", Ed25519PrivateKey.generate())
    newer = SigningKey("20260101120000000001-00000000", Ed25519PrivateKey.generate())
    assert Keyring([newer, older]).active is newer
