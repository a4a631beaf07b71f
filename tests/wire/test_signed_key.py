"""wire/signed_key.py: the §a10 format, its test vector and each defect in check order."""

from __future__ import annotations

import hashlib

import pytest

from privicore_async.wire.signed_key import (
    SIGNED_KEY_HEX_LENGTH,
    KeyDefect,
    SignedKeyError,
    find_defect,
    sign_public_key,
    verify_signed_key,
)

PUBLIC = bytes(range(32))
HEAD = bytes.fromhex("31420500") + PUBLIC
VECTOR = (HEAD + hashlib.blake2b(HEAD, digest_size=64).digest()).hex()


def _flip(hex_key: str, byte: int) -> str:
    raw = bytearray(bytes.fromhex(hex_key))
    raw[byte] ^= 0x01
    return raw.hex()


def test_the_vector_is_built_and_opened() -> None:
    assert SIGNED_KEY_HEX_LENGTH == 200
    assert sign_public_key(PUBLIC) == VECTOR
    assert verify_signed_key(VECTOR) == PUBLIC
    assert verify_signed_key(VECTOR.upper()) == PUBLIC
    assert find_defect(VECTOR) is None


@pytest.mark.parametrize(
    ("value", "defect"),
    [
        (VECTOR[:-2], KeyDefect.LENGTH),
        (VECTOR + "00", KeyDefect.LENGTH),
        (None, KeyDefect.LENGTH),
        ("zz" + VECTOR[2:], KeyDefect.NOT_HEX),
        (_flip(VECTOR, 0), KeyDefect.TAG),
        (_flip(VECTOR, 4), KeyDefect.DIGEST),  # the key changed, the digest did not
        (_flip(VECTOR, 99), KeyDefect.DIGEST),
    ],
)
def test_each_defect(value: object, defect: KeyDefect) -> None:
    assert find_defect(value) is defect
    if isinstance(value, str):
        with pytest.raises(SignedKeyError) as info:
            verify_signed_key(value)
        assert info.value.defect is defect
        assert isinstance(info.value, ValueError)


def test_only_32_byte_keys_are_signed() -> None:
    with pytest.raises(ValueError, match="32 bytes"):
        sign_public_key(b"short")
