"""Public keys and the rest of the profile group against the sandbox (wire reference §a10, §c1).

Signed keys are built here from the wire reference's description with ``cryptography``'s X25519
and ``hashlib.blake2b`` — independently of the sandbox's own helpers — so client, sandbox and spec
must all agree.
"""

from __future__ import annotations

import asyncio
import hashlib

import pytest
from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PrivateKey

from privicore_async import CommandStatus, errors
from privicore_async.sandbox import Sandbox
from privicore_async.sandbox.handlers.public_keys import signed_key_problem

from .conftest import LEGACY_STATUS, Provisioned, auth_requests, make_client

TAG = bytes.fromhex("31420500")
VECTOR = (
    "31420500000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f"
    "a9c98b8f85f06cb2f2e859f14b9aa2285ca668f4e73c4dd3d2c4d5db8c0d8c7d"
    "b8844358d19979382a28fca25153e2efdd00fe0c1209c992bc21bfbaa9aa9dd3"
)


def signed(public_key: bytes) -> str:
    """§a10: tag || key || BLAKE2b-512(tag || key), as hex."""
    head = TAG + public_key
    return (head + hashlib.blake2b(head, digest_size=64).digest()).hex()


def fresh_signed_key() -> str:
    return signed(X25519PrivateKey.generate().public_key().public_bytes_raw())


def test_the_sandbox_verifies_the_wire_reference_vector() -> None:
    assert signed(bytes(range(32))) == VECTOR
    assert signed_key_problem(VECTOR) is None


async def test_register_then_retrieve_returns_the_same_key(provisioned: Provisioned) -> None:
    client, sb = provisioned.client, provisioned.sb
    with pytest.raises(errors.NotFoundError):
        await client.public_keys.retrieve()  # nothing registered yet
    key = fresh_signed_key()
    handle = await client.public_keys.register(key)
    result = await handle
    assert result.status is CommandStatus.SUCCEEDED
    assert await client.public_keys.retrieve() == key
    assert sb.state.profiles[provisioned.profile_id].public_key == key


async def test_re_registering_replaces_the_key(provisioned: Provisioned) -> None:
    client = provisioned.client
    first, second = fresh_signed_key(), fresh_signed_key()
    await (await client.public_keys.register(first))
    await (await client.public_keys.register(second))
    assert await client.public_keys.retrieve() == second


async def test_a_flipped_hash_byte_is_the_sandboxs_422(provisioned: Provisioned) -> None:
    client, sb = provisioned.client, provisioned.sb
    raw = bytearray(bytes.fromhex(fresh_signed_key()))
    raw[50] ^= 0xFF
    with pytest.raises(errors.ValidationError) as info:
        # Below the SDK, which refuses such a key itself (see the next test).
        await client.transport.request(
            client.routes["public_keys.register"],
            tokens=client.tokens,
            fields={"publicKey": raw.hex()},
        )
    assert info.value.status == 422
    assert list(info.value.errors) == ["publicKey"]
    assert "hash" in info.value.errors["publicKey"][0]
    assert sb.stats.requests["public_keys.register"] == 1
    assert sb.state.profiles[provisioned.profile_id].public_key is None


async def test_a_short_key_is_refused_by_the_client_before_sending(
    provisioned: Provisioned,
) -> None:
    with pytest.raises(errors.InvalidArgumentError):
        await provisioned.client.public_keys.register(fresh_signed_key()[:-2])
    assert provisioned.sb.stats.requests["public_keys.register"] == 0


async def test_cab_key_is_a_signed_200_hex_key(provisioned: Provisioned) -> None:
    cab = await provisioned.client.public_keys.retrieve_cab_key()
    assert len(cab) == 200
    assert signed_key_problem(cab) is None
    assert await provisioned.client.public_keys.retrieve_cab_key() == cab  # one key per sandbox


async def test_generate_needs_no_token_and_returns_a_usable_pair(sandbox: Sandbox) -> None:
    async with make_client(sandbox) as anonymous:
        pair = await anonymous.public_keys.generate()
    assert pair.private_key not in repr(pair)
    private = X25519PrivateKey.from_private_bytes(bytes.fromhex(pair.private_key))
    assert pair.public_key == signed(private.public_key().public_bytes_raw())


async def test_change_password_new_one_authenticates_old_token_still_works(
    provisioned: Provisioned,
) -> None:
    sb, client = provisioned.sb, provisioned.client
    new_password = provisioned.password + " v2"
    logins = auth_requests(sb)
    result = await (await client.profile.change_password(provisioned.password, new_password))
    assert result.status is CommandStatus.SUCCEEDED
    # Issued tokens stay valid (§a7): the old token still works, no new login was needed.
    assert await client.profile.retrieve_profile_id() == provisioned.profile_id
    assert auth_requests(sb) == logins
    # The client was configured with the old password: its next login uses the new one.
    await asyncio.sleep(0)  # let the handle's done callback run
    sb.expire_tokens()
    assert await client.profile.retrieve_profile_id() == provisioned.profile_id
    assert auth_requests(sb) == logins + 1
    async with make_client(sb) as other:
        fresh = await other.profile.authenticate(provisioned.username, new_password)
        assert fresh.authorization_token
        with pytest.raises(errors.AuthenticationError):
            await other.profile.authenticate(provisioned.username, provisioned.password)


@LEGACY_STATUS
async def test_change_password_with_a_wrong_current_password_is_rejected(
    provisioned: Provisioned,
) -> None:
    handle = await provisioned.client.profile.change_password("not it", "whatever")
    with pytest.raises(errors.CommandRejected) as info:
        await handle
    assert info.value.reason == "profile.invalid_password"
    assert provisioned.sb.state.profiles[provisioned.profile_id].password == provisioned.password


async def test_generate_qr_token_returns_a_token(provisioned: Provisioned) -> None:
    qr = await provisioned.client.profile.generate_qr_token()
    assert qr.qr_token
    assert qr.expires_at is not None
    assert qr.qr_token not in repr(qr)
