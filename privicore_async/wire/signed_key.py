"""The signed public-key format of wire reference §a10, built and checked with no I/O.

``31 42 05 00`` (version tag) || 32-byte X25519 public key || BLAKE2b-512 over those 36 bytes,
written as 200 hex characters. The client signs and verifies keys with it
(:mod:`privicore_async.crypto`); the sandbox refuses malformed ones with it.
"""

from __future__ import annotations

import enum
import hashlib
import hmac

__all__ = [
    "PUBLIC_KEY_SIZE",
    "SIGNED_KEY_HEX_LENGTH",
    "SIGNED_KEY_TAG",
    "KeyDefect",
    "SignedKeyError",
    "find_defect",
    "sign_public_key",
    "verify_signed_key",
]

SIGNED_KEY_TAG = bytes.fromhex("31420500")
PUBLIC_KEY_SIZE = 32
_DIGEST_SIZE = 64
_HEAD_SIZE = len(SIGNED_KEY_TAG) + PUBLIC_KEY_SIZE
SIGNED_KEY_SIZE = _HEAD_SIZE + _DIGEST_SIZE
SIGNED_KEY_HEX_LENGTH = 2 * SIGNED_KEY_SIZE


class KeyDefect(enum.Enum):
    """What is wrong with a would-be signed key, checked in this order."""

    LENGTH = f"a signed key is exactly {SIGNED_KEY_HEX_LENGTH} hex characters"
    NOT_HEX = "a signed key is hexadecimal"
    TAG = f"a signed key starts with the version tag {SIGNED_KEY_TAG.hex()}"
    DIGEST = "the BLAKE2b-512 digest does not match the key"


class SignedKeyError(ValueError):
    """A signed key with a :class:`KeyDefect`; the message says which."""

    def __init__(self, defect: KeyDefect) -> None:
        super().__init__(defect.value)
        self.defect = defect


def _digest(head: bytes) -> bytes:
    return hashlib.blake2b(head, digest_size=_DIGEST_SIZE).digest()


def sign_public_key(public_key: bytes) -> str:
    """The 200-hex signed form of a raw 32-byte X25519 public key."""
    if len(public_key) != PUBLIC_KEY_SIZE:
        raise ValueError(f"an X25519 public key is {PUBLIC_KEY_SIZE} bytes, not {len(public_key)}")
    head = SIGNED_KEY_TAG + public_key
    return (head + _digest(head)).hex()


def find_defect(signed: object) -> KeyDefect | None:
    """What is wrong with ``signed`` as a signed key, or ``None`` when it is one."""
    if not isinstance(signed, str) or len(signed) != SIGNED_KEY_HEX_LENGTH:
        return KeyDefect.LENGTH
    try:
        raw = bytes.fromhex(signed)
    except ValueError:
        return KeyDefect.NOT_HEX
    head, digest = raw[:_HEAD_SIZE], raw[_HEAD_SIZE:]
    if not head.startswith(SIGNED_KEY_TAG):
        return KeyDefect.TAG
    if not hmac.compare_digest(digest, _digest(head)):
        return KeyDefect.DIGEST
    return None


def verify_signed_key(signed: str) -> bytes:
    """The 32-byte public key inside a signed key; :class:`SignedKeyError` if it is not one."""
    defect = find_defect(signed)
    if defect is not None:
        raise SignedKeyError(defect)
    return bytes.fromhex(signed)[len(SIGNED_KEY_TAG) : _HEAD_SIZE]
