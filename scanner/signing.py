"""Ed25519 signatures over a snapshot's digest, so an auditor can tell who recorded it.

The signature covers the domain-separated message `posture-snapshot-v1\\n<sha256 hex>`,
where the digest is the snapshot's own (canonical content without `digest` and
`signature`). Keys are PEM files: PKCS#8 private key, SubjectPublicKeyInfo public key.
"""

from __future__ import annotations

import base64
import hashlib
import os
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from scanner import inputs
from scanner.errors import SnapshotError

DOMAIN = b"posture-snapshot-v1\n"


def _raw_public(key: Ed25519PublicKey) -> bytes:
    return key.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)


def key_id(key: Ed25519PublicKey) -> str:
    return "ed25519:" + hashlib.sha256(_raw_public(key)).hexdigest()[:16]


def keygen(private_path: Path) -> tuple[Path, Path]:
    """Write a new key pair: PRIVATE (mode 0600) and PRIVATE.pub."""
    public_path = private_path.with_name(private_path.name + ".pub")
    for p in (private_path, public_path):
        if p.exists():
            raise SnapshotError(f"{p} exists: refusing to overwrite a key")
    key = Ed25519PrivateKey.generate()
    pem = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                            serialization.NoEncryption())
    try:
        fd = os.open(private_path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "wb") as fh:
            fh.write(pem)
        public_path.write_bytes(key.public_key().public_bytes(
            serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo))
    except OSError as exc:
        raise SnapshotError(f"cannot write key {private_path}: {exc.strerror}") from None
    return private_path, public_path


KEY_FILE_LIMIT = 64 * 1024  # a PEM key is a few hundred bytes


def _key_bytes(path: Path) -> bytes:
    """A key file through scanner.inputs: regular files only, size-limited (a FIFO or
    /dev/zero named as a key is refused, not waited on or read without end)."""
    try:
        return inputs.read_regular(path, KEY_FILE_LIMIT)
    except FileNotFoundError:
        raise SnapshotError(f"{path}: no such key file") from None
    except inputs.TooLarge:
        raise SnapshotError(f"{path}: larger than {KEY_FILE_LIMIT} bytes, not a key file"
                            ) from None
    except OSError as exc:
        raise SnapshotError(f"{path}: cannot read key: {exc.strerror}") from None


def load_private(path: Path) -> Ed25519PrivateKey:
    data = _key_bytes(path)
    try:
        key = serialization.load_pem_private_key(data, password=None)
    except FileNotFoundError:
        raise SnapshotError(f"{path}: no such key file") from None
    except (ValueError, TypeError, OSError):
        raise SnapshotError(f"{path}: not an unencrypted PEM private key") from None
    if not isinstance(key, Ed25519PrivateKey):
        raise SnapshotError(f"{path}: not an Ed25519 key")
    return key


def load_public(path: Path) -> Ed25519PublicKey:
    data = _key_bytes(path)
    try:
        key = serialization.load_pem_public_key(data)
    except FileNotFoundError:
        raise SnapshotError(f"{path}: no such key file") from None
    except (ValueError, TypeError, OSError):
        raise SnapshotError(f"{path}: not a PEM public key") from None
    if not isinstance(key, Ed25519PublicKey):
        raise SnapshotError(f"{path}: not an Ed25519 public key")
    return key


def sign(digest: str, key: Ed25519PrivateKey) -> dict[str, str]:
    return {
        "algorithm": "ed25519",
        "key_id": key_id(key.public_key()),
        "public_key": base64.b64encode(_raw_public(key.public_key())).decode(),
        "value": base64.b64encode(key.sign(DOMAIN + digest.encode())).decode(),
    }


def verify(digest: str, signature: dict[str, Any] | None, key: Ed25519PublicKey,
           origin: str) -> str:
    """Check `signature` over `digest` with the trusted `key`; returns the key id."""
    if not signature:
        raise SnapshotError(f"{origin}: the snapshot is not signed")
    if signature.get("algorithm") != "ed25519":
        raise SnapshotError(f"{origin}: unknown signature algorithm "
                            f"{signature.get('algorithm')!r}")
    if signature.get("key_id") != key_id(key):
        raise SnapshotError(f"{origin}: signed by {signature.get('key_id')}, not by the given "
                            f"key {key_id(key)}")
    try:
        key.verify(base64.b64decode(str(signature.get("value")), validate=True),
                   DOMAIN + digest.encode())
    except (InvalidSignature, ValueError):
        raise SnapshotError(f"{origin}: the signature does not verify: the snapshot was "
                            "modified or not signed by this key") from None
    return key_id(key)


def verify_any(digest: str, signature: dict[str, Any] | None,
               keys: Sequence[Ed25519PublicKey], origin: str) -> str:
    """`verify` with the trusted key among `keys` that the signature names."""
    if not signature:
        raise SnapshotError(f"{origin}: the snapshot is not signed (--key needs a signature "
                            "by a trusted key)")
    named = next((k for k in keys if key_id(k) == signature.get("key_id")), None)
    if named is None:
        raise SnapshotError(f"{origin}: signed by {signature.get('key_id')}, not by the given "
                            f"key {', '.join(key_id(k) for k in keys)}")
    return verify(digest, signature, named, origin)


@dataclass(frozen=True)
class SignatureStatus:
    """What is known of a snapshot's signature.

    `valid`: verified with a trusted key (`--key`); `invalid`: does not verify (with the
    trusted key, or even with the public key it carries: edited after signing);
    `not checked`: it verifies with the public key it carries, which proves nothing about
    who signed (anyone can sign with a key of their own and paste it): no trusted key was
    given; `absent`: unsigned."""

    status: str
    key_id: str | None = None

    def to_json(self) -> dict[str, Any]:
        return {"status": self.status, "key_id": self.key_id}


def _verifies(key: Ed25519PublicKey, signature: dict[str, Any], digest: str) -> bool:
    try:
        key.verify(base64.b64decode(str(signature.get("value")), validate=True),
                   DOMAIN + digest.encode())
    except (InvalidSignature, ValueError):
        return False
    return True


def status(digest: str, signature: dict[str, Any] | None,
           keys: Sequence[Ed25519PublicKey] = ()) -> SignatureStatus:
    """The signature's status over `digest`, checked with the trusted `keys` if any."""
    if not signature:
        return SignatureStatus("absent")
    claimed = signature.get("key_id")
    claimed = claimed if isinstance(claimed, str) else None
    if signature.get("algorithm") != "ed25519":
        return SignatureStatus("invalid", claimed)
    if keys:
        named = next((k for k in keys if key_id(k) == claimed), None)
        ok = named is not None and _verifies(named, signature, digest)
        return SignatureStatus("valid" if ok else "invalid", claimed)
    try:
        carried = Ed25519PublicKey.from_public_bytes(
            base64.b64decode(str(signature.get("public_key")), validate=True))
    except ValueError:
        return SignatureStatus("invalid", claimed)
    if key_id(carried) != claimed or not _verifies(carried, signature, digest):
        return SignatureStatus("invalid", claimed)
    return SignatureStatus("not checked", claimed)
