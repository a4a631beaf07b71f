"""Client-side cryptography: the AES-256-GCM envelope and signed X25519 public keys.

Privicore never sees plaintext. Data is sealed with the caller's 32-byte key as the envelope
of wire reference §a9: ``IV (12 random bytes) || ciphertext || GCM tag (16)``, no associated
data. The same bytes come out of :func:`encrypt` in one call or of :class:`StreamEncryptor`
chunk by chunk, so payloads of any size need no more memory than one chunk.

Profiles and devices register *signed* public keys (§a10): :class:`KeyPair` gives its public
half in that form; the format itself lives in :mod:`privicore_async.wire.signed_key` (shared
with the sandbox) and its two functions are re-exported here.

Pure functions and small classes, no I/O. Keys never show in a ``repr``.
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import AsyncIterable, AsyncIterator

import attrs
from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PrivateKey
from cryptography.hazmat.primitives.ciphers import (
    AEADDecryptionContext,
    Cipher,
    algorithms,
    modes,
)
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from .errors import DecryptionError
from .wire.signed_key import SIGNED_KEY_TAG, sign_public_key, verify_signed_key

__all__ = [
    "IV_SIZE",
    "OVERHEAD",
    "SIGNED_KEY_TAG",
    "TAG_SIZE",
    "DataKey",
    "KeyPair",
    "StreamDecryptor",
    "StreamEncryptor",
    "decrypt",
    "decrypt_stream",
    "encrypt",
    "encrypt_stream",
    "sign_public_key",
    "verify_signed_key",
]

IV_SIZE = 12
TAG_SIZE = 16
OVERHEAD = IV_SIZE + TAG_SIZE
KEY_SIZE = 32


@attrs.frozen
class DataKey:
    """A 32-byte AES-256 key that seals a data owner's payloads. Never shown in ``repr``."""

    secret: bytes = attrs.field(repr=False)

    @secret.validator
    def _check(self, _: attrs.Attribute[bytes], value: bytes) -> None:
        if not isinstance(value, bytes) or len(value) != KEY_SIZE:
            raise ValueError(f"a data key is {KEY_SIZE} bytes")

    @classmethod
    def generate(cls) -> DataKey:
        """A fresh random key (``os.urandom``)."""
        return cls(AESGCM.generate_key(bit_length=256))

    @classmethod
    def from_hex(cls, text: str) -> DataKey:
        """A key from 64 hex characters (what :meth:`to_hex` gives)."""
        try:
            return cls(bytes.fromhex(text))
        except (ValueError, TypeError):
            raise ValueError(f"a data key is {KEY_SIZE * 2} hex characters") from None

    def to_hex(self) -> str:
        """The key as 64 hex characters, to store it somewhere safe."""
        return self.secret.hex()


def encrypt(key: DataKey, plaintext: bytes, *, iv: bytes | None = None) -> bytes:
    """The wire envelope of ``plaintext``: IV || ciphertext || tag, with a fresh random IV.

    ``iv`` exists for test vectors; never reuse an IV with the same key.
    """
    nonce = os.urandom(IV_SIZE) if iv is None else iv
    if len(nonce) != IV_SIZE:
        raise ValueError(f"the IV is {IV_SIZE} bytes")
    return nonce + AESGCM(key.secret).encrypt(nonce, plaintext, None)


def decrypt(key: DataKey, wire: bytes) -> bytes:
    """The plaintext of an envelope; :class:`DecryptionError` for a wrong key or altered bytes."""
    if len(wire) < OVERHEAD:
        raise DecryptionError(f"an envelope is at least {OVERHEAD} bytes, got {len(wire)}")
    try:
        return AESGCM(key.secret).decrypt(wire[:IV_SIZE], wire[IV_SIZE:], None)
    except InvalidTag:
        raise DecryptionError("authentication failed: wrong key or altered data") from None


class StreamEncryptor:
    """Builds the same envelope as :func:`encrypt`, chunk by chunk (GCM in streaming mode).

    ``header()`` first (the IV), then ``update(chunk)`` for each plaintext chunk, then
    ``finalize()`` (the tag). ``size`` counts the plaintext bytes seen.
    """

    def __init__(self, key: DataKey, *, iv: bytes | None = None) -> None:
        self.iv = os.urandom(IV_SIZE) if iv is None else iv
        self._encryptor = Cipher(algorithms.AES(key.secret), modes.GCM(self.iv)).encryptor()
        self.size = 0

    def __repr__(self) -> str:
        return f"<StreamEncryptor {self.size} bytes>"

    def header(self) -> bytes:
        """The envelope's first bytes: the IV."""
        return self.iv

    def update(self, chunk: bytes) -> bytes:
        """The ciphertext of one plaintext chunk."""
        self.size += len(chunk)
        return self._encryptor.update(chunk)

    def finalize(self) -> bytes:
        """The envelope's last bytes: the tag."""
        return self._encryptor.finalize() + self._encryptor.tag


class StreamDecryptor:
    """Opens an envelope chunk by chunk; the tag is checked by :meth:`finalize`.

    Plaintext from :meth:`update` is NOT authenticated until :meth:`finalize` returns:
    callers must not act on it (or keep it) before then.
    """

    def __init__(self, key: DataKey) -> None:
        self._key = key
        self._head = b""
        self._tail = b""  # the last TAG_SIZE bytes seen: the tag, once the stream ends
        self._decryptor: AEADDecryptionContext | None = None
        self.size = 0

    def __repr__(self) -> str:
        return f"<StreamDecryptor {self.size} bytes>"

    def update(self, chunk: bytes) -> bytes:
        """Plaintext for the ciphertext seen so far (holding back what may be the tag)."""
        if self._decryptor is None:
            self._head += chunk
            if len(self._head) < IV_SIZE:
                return b""
            chunk, self._head = self._head[IV_SIZE:], self._head[:IV_SIZE]
            self._decryptor = Cipher(
                algorithms.AES(self._key.secret), modes.GCM(self._head)
            ).decryptor()
        data = self._tail + chunk
        if len(data) < TAG_SIZE:
            self._tail = data
            return b""
        # A view, not a slice: a megabyte chunk is not copied once more before decrypting.
        body, self._tail = memoryview(data)[:-TAG_SIZE], data[-TAG_SIZE:]
        out = self._decryptor.update(body)
        self.size += len(out)
        return out

    def finalize(self) -> bytes:
        """Check the tag; :class:`DecryptionError` if the data or the key is wrong."""
        if self._decryptor is None or len(self._tail) < TAG_SIZE:
            raise DecryptionError(f"an envelope is at least {OVERHEAD} bytes")
        try:
            rest = self._decryptor.finalize_with_tag(self._tail)
        except InvalidTag:
            raise DecryptionError("authentication failed: wrong key or altered data") from None
        return rest


async def encrypt_stream(
    key: DataKey, source: AsyncIterable[bytes], *, encryptor: StreamEncryptor | None = None
) -> AsyncIterator[bytes]:
    """The envelope of an async stream of plaintext chunks, as an async stream of chunks."""
    sealer = encryptor or StreamEncryptor(key)
    yield sealer.header()
    async for chunk in source:
        if chunk:
            yield sealer.update(chunk)
    yield sealer.finalize()


async def decrypt_stream(key: DataKey, source: AsyncIterable[bytes]) -> AsyncIterator[bytes]:
    """Plaintext chunks of an envelope stream; raises :class:`DecryptionError` at the end.

    The chunks are unauthenticated until the iterator ends without error.
    """
    opener = StreamDecryptor(key)
    async for chunk in source:
        out = opener.update(chunk)
        if out:
            yield out
    rest = opener.finalize()
    if rest:
        yield rest


class KeyPair:
    """An X25519 key pair; the private half never shows in ``repr`` or logs."""

    __slots__ = ("_private",)

    def __init__(self, private: X25519PrivateKey) -> None:
        self._private = private

    @classmethod
    def generate(cls) -> KeyPair:
        """A fresh random key pair."""
        return cls(X25519PrivateKey.generate())

    @classmethod
    def from_seed(cls, seed: bytes) -> KeyPair:
        """The same pair for the same seed: the X25519 secret is BLAKE2b-256 of the seed."""
        return cls(
            X25519PrivateKey.from_private_bytes(hashlib.blake2b(seed, digest_size=32).digest())
        )

    @classmethod
    def from_private_hex(cls, text: str) -> KeyPair:
        """A pair from its private key as 64 hex characters."""
        try:
            return cls(X25519PrivateKey.from_private_bytes(bytes.fromhex(text)))
        except (ValueError, TypeError):
            raise ValueError("an X25519 private key is 64 hex characters") from None

    def private_hex(self) -> str:
        """The private key as 64 hex characters (store it as a secret)."""
        return self._private.private_bytes_raw().hex()

    @property
    def public_key(self) -> bytes:
        """The 32-byte public key."""
        return self._private.public_key().public_bytes_raw()

    @property
    def signed_public_key(self) -> str:
        """The public key in Privicore's signed 200-hex form, ready to register."""
        return sign_public_key(self.public_key)

    def __repr__(self) -> str:
        return f"<KeyPair public={self.public_key.hex()[:16]}…>"
