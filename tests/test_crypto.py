"""vault.py: the envelope of §a9 and the signed keys of §a10, to the byte."""

from __future__ import annotations

import base64
import hashlib
import os
from collections.abc import AsyncIterator

import pytest
from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PrivateKey
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from privicore_async.crypto import (
    OVERHEAD,
    DataKey,
    KeyPair,
    StreamDecryptor,
    StreamEncryptor,
    decrypt,
    decrypt_stream,
    encrypt,
    encrypt_stream,
    sign_public_key,
    verify_signed_key,
)
from privicore_async.errors import DecryptionError, PrivicoreError

VECTOR_KEY = DataKey(bytes(range(32)))
VECTOR_IV = bytes(range(12))
VECTOR_WIRE = "AAECAwQFBgcICQoLL2e6d6rFtXT/LfMFMBxWQ34jd7mO85YcJxko"
SIGNED_VECTOR = (
    "31420500000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f"
    "a9c98b8f85f06cb2f2e859f14b9aa2285ca668f4e73c4dd3d2c4d5db8c0d8c7d"
    "b8844358d19979382a28fca25153e2efdd00fe0c1209c992bc21bfbaa9aa9dd3"
)


def test_envelope_test_vector() -> None:
    wire = encrypt(VECTOR_KEY, b"hello world", iv=VECTOR_IV)
    assert base64.b64encode(wire).decode() == VECTOR_WIRE
    assert len(wire) == 39
    assert decrypt(VECTOR_KEY, base64.b64decode(VECTOR_WIRE)) == b"hello world"


def test_fresh_iv_per_payload() -> None:
    key = DataKey.generate()
    first, second = encrypt(key, b"same"), encrypt(key, b"same")
    assert first[:12] != second[:12]
    assert first != second


@pytest.mark.parametrize("size", [0, 1, 15, 16, 17, 50_000, 1 << 20])
def test_interoperates_with_plain_aesgcm(size: int) -> None:
    key = DataKey.generate()
    data = os.urandom(size)
    wire = encrypt(key, data)
    assert len(wire) == size + OVERHEAD
    # Written from the wire spec: IV(12) || ciphertext || tag(16), no associated data.
    assert AESGCM(key.secret).decrypt(wire[:12], wire[12:], None) == data
    iv = os.urandom(12)
    theirs = iv + AESGCM(key.secret).encrypt(iv, data, None)
    assert decrypt(key, theirs) == data


def test_tampering_wrong_key_and_short_input_fail_clearly() -> None:
    key = DataKey.generate()
    wire = bytearray(encrypt(key, b"secret payload"))
    for index in (0, 12, len(wire) - 1):
        altered = bytearray(wire)
        altered[index] ^= 1
        with pytest.raises(DecryptionError, match="authentication failed"):
            decrypt(key, bytes(altered))
    with pytest.raises(DecryptionError):
        decrypt(DataKey.generate(), bytes(wire))
    with pytest.raises(DecryptionError, match="at least 28"):
        decrypt(key, bytes(wire[:27]))
    assert issubclass(DecryptionError, PrivicoreError)


@pytest.mark.parametrize("chunk", [1, 7, 12, 16, 1000, 65536])
def test_streaming_matches_one_shot_for_any_chunking(chunk: int) -> None:
    key = DataKey.generate()
    data = os.urandom(100_003)
    iv = os.urandom(12)
    sealer = StreamEncryptor(key, iv=iv)
    parts = [sealer.header()]
    parts += [sealer.update(data[i : i + chunk]) for i in range(0, len(data), chunk)]
    parts.append(sealer.finalize())
    wire = b"".join(parts)
    assert wire == encrypt(key, data, iv=iv)
    assert sealer.size == len(data)
    opener = StreamDecryptor(key)
    out = [opener.update(wire[i : i + chunk]) for i in range(0, len(wire), chunk)]
    out.append(opener.finalize())
    assert b"".join(out) == data


def test_stream_decryptor_rejects_tampering_and_truncation() -> None:
    key = DataKey.generate()
    wire = bytearray(encrypt(key, os.urandom(5000)))
    wire[2000] ^= 0x80
    opener = StreamDecryptor(key)
    opener.update(bytes(wire))
    with pytest.raises(DecryptionError):
        opener.finalize()
    short = StreamDecryptor(key)
    short.update(bytes(wire[:20]))
    with pytest.raises(DecryptionError, match="at least 28"):
        short.finalize()


async def _chunks(data: bytes, size: int) -> AsyncIterator[bytes]:
    for i in range(0, len(data), size):
        yield data[i : i + size]


async def test_async_stream_helpers_round_trip() -> None:
    key = DataKey.generate()
    data = os.urandom(300_000)
    wire = b"".join([c async for c in encrypt_stream(key, _chunks(data, 4096))])
    assert decrypt(key, wire) == data
    back = b"".join([c async for c in decrypt_stream(key, _chunks(wire, 999))])
    assert back == data
    with pytest.raises(DecryptionError):
        _ = [c async for c in decrypt_stream(DataKey.generate(), _chunks(wire, 999))]


def test_data_key_hex_and_repr() -> None:
    key = DataKey.generate()
    assert DataKey.from_hex(key.to_hex()) == key
    assert key.to_hex() not in repr(key)
    assert key.secret.hex() not in str(key)
    with pytest.raises(ValueError, match="64 hex"):
        DataKey.from_hex("abc")
    with pytest.raises(ValueError, match="32 bytes"):
        DataKey(b"short")


def test_signed_key_test_vector_and_verification() -> None:
    assert sign_public_key(bytes(range(32))) == SIGNED_VECTOR
    assert verify_signed_key(SIGNED_VECTOR) == bytes(range(32))
    assert verify_signed_key(SIGNED_VECTOR.upper()) == bytes(range(32))
    wrong_tag = "41" + SIGNED_VECTOR[2:]
    with pytest.raises(ValueError, match="version tag"):
        verify_signed_key(wrong_tag)
    wrong_hash = SIGNED_VECTOR[:-2] + ("00" if SIGNED_VECTOR[-2:] != "00" else "01")
    with pytest.raises(ValueError, match="digest"):
        verify_signed_key(wrong_hash)
    with pytest.raises(ValueError, match="200 hex"):
        verify_signed_key(SIGNED_VECTOR[:-2])
    with pytest.raises(ValueError, match="hex"):
        verify_signed_key("zz" * 100)


def test_key_pair_signed_key_matches_the_spec() -> None:
    pair = KeyPair.generate()
    v = b"\x31\x42\x05\x00" + pair.public_key
    assert pair.signed_public_key == (v + hashlib.blake2b(v, digest_size=64).digest()).hex()
    assert len(pair.signed_public_key) == 200
    assert verify_signed_key(pair.signed_public_key) == pair.public_key


def test_key_pair_from_seed_is_deterministic_and_hides_the_private_key() -> None:
    first, again = KeyPair.from_seed(b"my seed"), KeyPair.from_seed(b"my seed")
    assert first.public_key == again.public_key
    assert KeyPair.from_seed(b"other").public_key != first.public_key
    secret = hashlib.blake2b(b"my seed", digest_size=32).digest()
    expected = X25519PrivateKey.from_private_bytes(secret).public_key().public_bytes_raw()
    assert first.public_key == expected
    assert first.private_hex() == secret.hex()
    assert secret.hex() not in repr(first)
    assert KeyPair.from_private_hex(first.private_hex()).public_key == first.public_key
    with pytest.raises(ValueError, match="64 hex"):
        KeyPair.from_private_hex("nope")
