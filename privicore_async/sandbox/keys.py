"""The signed public key format of wire reference §a10, built and checked with no I/O.

``31420500`` (version tag) || 32-byte X25519 public key || BLAKE2b-512 over those 36 bytes,
written as 200 hex characters.
"""

from __future__ import annotations

import hashlib
import hmac

from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PrivateKey

__all__ = ["KEY_TAG", "SIGNED_KEY_HEX_LENGTH", "generate_key_pair", "sign", "signed_key_problem"]

KEY_TAG = bytes.fromhex("31420500")
SIGNED_KEY_HEX_LENGTH = 200
_KEY_LENGTH = 32
_DIGEST_LENGTH = 64


def sign(public_key: bytes) -> str:
    """The signed hex form of a raw 32-byte X25519 public key."""
    if len(public_key) != _KEY_LENGTH:
        raise ValueError(f"an X25519 public key is {_KEY_LENGTH} bytes, not {len(public_key)}")
    head = KEY_TAG + public_key
    return (head + hashlib.blake2b(head, digest_size=_DIGEST_LENGTH).digest()).hex()


def signed_key_problem(value: str) -> str | None:
    """Why ``value`` is not a signed key the server accepts, or ``None`` if it is one."""
    if len(value) != SIGNED_KEY_HEX_LENGTH:
        return f"This value should be exactly {SIGNED_KEY_HEX_LENGTH} hex characters."
    try:
        raw = bytes.fromhex(value)
    except ValueError:
        return "This value should be hexadecimal."
    head, digest = raw[: len(KEY_TAG) + _KEY_LENGTH], raw[len(KEY_TAG) + _KEY_LENGTH :]
    if not head.startswith(KEY_TAG):
        return "This value has an unknown version tag."
    expected = hashlib.blake2b(head, digest_size=_DIGEST_LENGTH).digest()
    if not hmac.compare_digest(digest, expected):
        return "This value's hash does not verify."
    return None


def generate_key_pair() -> tuple[str, str]:
    """A fresh X25519 pair: (private key as 64 hex, signed public key as 200 hex)."""
    private = X25519PrivateKey.generate()
    return private.private_bytes_raw().hex(), sign(private.public_key().public_bytes_raw())
