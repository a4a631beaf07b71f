"""Public keys and the rest of the profile group on the wire (aioresponses, see ``wire_mock``),
and the sandbox's signed-key checks against the wire reference's test vector (§a10)."""

from __future__ import annotations

import hashlib
from typing import Any

import pytest

from privicore_async import CommandStatus, errors
from privicore_async.models import GeneratedKeyPair, QrToken
from privicore_async.models.converter import parse_datetime
from privicore_async.sandbox.handlers.public_keys import signed_key_problem
from privicore_async.sandbox.key_pairs import generate_key_pair
from privicore_async.wire.signed_key import sign_public_key as sign
from tests.client_helpers import TOKEN, assert_form_call, assert_get_call, in_an_hour, make_client
from tests.wire_mock import API, all_calls, calls, mock_http

VECTOR = (
    "31420500000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f"
    "a9c98b8f85f06cb2f2e859f14b9aa2285ca668f4e73c4dd3d2c4d5db8c0d8c7d"
    "b8844358d19979382a28fca25153e2efdd00fe0c1209c992bc21bfbaa9aa9dd3"
)
"""Wire reference §a10: the signed form of the public key bytes 0x00..0x1f."""

REGISTER = "/public-key/register-public-key"
RETRIEVE = "/public-key/retrieve-public-key"
CAB = "/dptcab/public-key"
GENERATE = "/generate-keys"
PRIVATE = "ab" * 32


# -- the signed format (§a10) ------------------------------------------------------------------


def test_wire_reference_vector_is_built_and_verified_by_the_sandbox() -> None:
    assert sign(bytes(range(32))) == VECTOR
    assert signed_key_problem(VECTOR) is None
    assert signed_key_problem(VECTOR.upper()) is None


def test_the_vector_matches_the_spec_arithmetic() -> None:
    head = bytes.fromhex("31420500") + bytes(range(32))
    assert (head + hashlib.blake2b(head, digest_size=64).digest()).hex() == VECTOR


def _flip(hex_key: str, byte: int) -> str:
    raw = bytearray(bytes.fromhex(hex_key))
    raw[byte] ^= 0x01
    return raw.hex()


@pytest.mark.parametrize(
    ("value", "problem"),
    [
        (VECTOR[:-2], "exactly 200 hex"),
        (VECTOR + "00", "exactly 200 hex"),
        ("zz" + VECTOR[2:], "hexadecimal"),
        (_flip(VECTOR, 0), "version tag"),
        (_flip(VECTOR, 4), "hash does not verify"),  # the key changed, the hash did not
        (_flip(VECTOR, 99), "hash does not verify"),
    ],
)
def test_sandbox_refuses_malformed_signed_keys(value: str, problem: str) -> None:
    found = signed_key_problem(value)
    assert found is not None
    assert problem in found


def test_generated_pairs_are_well_formed_and_fresh() -> None:
    private, public = generate_key_pair()
    assert len(private) == 64
    bytes.fromhex(private)
    assert signed_key_problem(public) is None
    assert generate_key_pair() != (private, public)


# -- profile: change password, QR token --------------------------------------------------------


async def test_change_password_is_a_token_form_command() -> None:
    with mock_http() as m:
        m.post(API + "/profile/change-password", status=202, payload={"commandId": "cmd-pw"})
        m.post(API + "/request-status/cmd-pw", payload="succeeded")
        async with make_client() as c:
            handle = await c.profile.change_password("old pw&1", "new=pw 2")
            result = await handle
    assert (result.command_id, result.status) == ("cmd-pw", CommandStatus.SUCCEEDED)
    (call,) = calls(m, "POST", "/profile/change-password")
    assert_form_call(call, {"currentPassword": "old pw&1", "newPassword": "new=pw 2"})


@pytest.mark.parametrize(
    ("args", "field"),
    [
        (("", "new"), "currentPassword"),
        (("old", "  "), "newPassword"),
        ((None, "n"), "currentPassword"),
    ],
)
async def test_change_password_refuses_blank_arguments_before_sending(
    args: tuple[Any, Any], field: str
) -> None:
    with mock_http() as m:
        async with make_client() as c:
            with pytest.raises(errors.InvalidArgumentError) as info:
                await c.profile.change_password(*args)
    assert list(info.value.errors) == [field]
    assert all_calls(m) == []


async def test_change_password_repr_and_errors_do_not_show_passwords() -> None:
    with mock_http() as m:
        m.post(API + "/profile/change-password", status=422, payload={"errors": {"x": ["bad"]}})
        async with make_client() as c:
            with pytest.raises(errors.ValidationError) as info:
                await c.profile.change_password("old-secret", "new-secret")
    text = str(info.value) + repr(info.value)
    assert "old-secret" not in text
    assert "new-secret" not in text


async def test_generate_qr_token_posts_an_empty_form() -> None:
    expires = in_an_hour()
    with mock_http() as m:
        m.post(
            API + "/profile/generate-token-qr", payload={"qrToken": "Q-abc", "expiresAt": expires}
        )
        async with make_client() as c:
            qr = await c.profile.generate_qr_token()
    assert qr == QrToken("Q-abc", parse_datetime(expires))
    assert "Q-abc" not in repr(qr)
    (call,) = calls(m, "POST", "/profile/generate-token-qr")
    assert_form_call(call, {})
    assert call.kwargs["data"] == b""


async def test_generate_qr_token_keeps_unrecorded_shapes() -> None:
    with mock_http() as m:
        m.post(API + "/profile/generate-token-qr", payload={"token": "Q-x", "ttl": 300})
        async with make_client() as c:
            qr = await c.profile.generate_qr_token()
    assert qr == QrToken(None, None, {"token": "Q-x", "ttl": 300})
    assert "Q-x" not in repr(qr)


# -- public keys -------------------------------------------------------------------------------


@pytest.mark.parametrize("key", [VECTOR, VECTOR.upper()])
async def test_register_sends_only_public_key_with_the_token(key: str) -> None:
    with mock_http() as m:
        m.post(API + REGISTER, status=202, body='"cmd-pk"')
        m.post(API + "/request-status/cmd-pk", payload=["succeeded"])
        async with make_client() as c:
            result = await (await c.public_keys.register(key))
    assert result.status is CommandStatus.SUCCEEDED
    (call,) = calls(m, "POST", REGISTER)
    assert_form_call(call, {"publicKey": key})


@pytest.mark.parametrize(
    "key",
    [
        "",
        "   ",
        VECTOR[:-1],
        VECTOR + "0",
        "g" + VECTOR[1:],
        " " + VECTOR[1:],
        123,
        None,
        "41" + VECTOR[2:],  # another version tag
        VECTOR[:-2] + ("00" if VECTOR[-2:] != "00" else "01"),  # the digest does not match
    ],
)
async def test_register_refuses_what_is_not_a_signed_key_before_sending(key: Any) -> None:
    with mock_http() as m:
        async with make_client() as c:
            with pytest.raises(errors.InvalidArgumentError) as info:
                await c.public_keys.register(key)
    assert list(info.value.errors) == ["publicKey"]
    assert info.value.status == 0
    assert all_calls(m) == []


async def test_register_passes_the_servers_422_through() -> None:
    with mock_http() as m:
        m.post(API + REGISTER, status=422, payload={"errors": {"publicKey": ["bad hash"]}})
        async with make_client() as c:
            with pytest.raises(errors.ValidationError) as info:
                await c.public_keys.register(VECTOR)
    assert info.value.errors == {"publicKey": ["bad hash"]}


@pytest.mark.parametrize("answer", [{"publicKey": VECTOR}, VECTOR])
async def test_retrieve_is_a_token_get(answer: Any) -> None:
    with mock_http() as m:
        m.get(API + RETRIEVE, payload=answer)
        async with make_client() as c:
            assert await c.public_keys.retrieve() == VECTOR
    (call,) = calls(m, "GET", RETRIEVE)
    assert_get_call(call)
    assert all_calls(m) == [("GET", RETRIEVE)]


@pytest.mark.parametrize("answer", [{"publicKey": VECTOR}, VECTOR])
async def test_retrieve_cab_key_is_a_token_get(answer: Any) -> None:
    with mock_http() as m:
        m.get(API + CAB, payload=answer)
        async with make_client() as c:
            assert await c.public_keys.retrieve_cab_key() == VECTOR
    (call,) = calls(m, "GET", CAB)
    assert_get_call(call)
    assert all_calls(m) == [("GET", CAB)]


@pytest.mark.parametrize("answer", [{}, {"publicKey": ""}, {"key": VECTOR}, [VECTOR], ""])
async def test_retrieve_without_a_key_is_a_protocol_error(answer: Any) -> None:
    with mock_http() as m:
        m.get(API + RETRIEVE, payload=answer)
        m.get(API + CAB, payload=answer)
        async with make_client() as c:
            with pytest.raises(errors.ProtocolError, match=r"public_keys\.retrieve:"):
                await c.public_keys.retrieve()
            with pytest.raises(errors.ProtocolError, match=r"public_keys\.retrieve_cab_key:"):
                await c.public_keys.retrieve_cab_key()


async def test_retrieve_404_is_not_found() -> None:
    with mock_http() as m:
        m.get(API + RETRIEVE, status=404, payload={"message": "Record not found"})
        async with make_client() as c:
            with pytest.raises(errors.NotFoundError):
                await c.public_keys.retrieve()


async def test_generate_is_a_public_get_and_hides_the_private_key() -> None:
    with mock_http() as m:
        m.get(API + GENERATE, payload={"private": PRIVATE, "public": VECTOR})
        async with make_client() as c:
            pair = await c.public_keys.generate()
    assert pair == GeneratedKeyPair(PRIVATE, VECTOR)
    assert (pair.private_key, pair.public_key) == (PRIVATE, VECTOR)
    assert PRIVATE not in repr(pair)
    assert VECTOR in repr(pair)
    (call,) = calls(m, "GET", GENERATE)
    assert_get_call(call, token=None)  # public endpoint: the token is not sent
    assert TOKEN not in str(call.kwargs)


async def test_generate_without_private_is_a_protocol_error_that_hides_the_answer() -> None:
    with mock_http() as m:
        m.get(API + GENERATE, payload={"public": VECTOR, "secret": PRIVATE})
        async with make_client() as c:
            with pytest.raises(errors.ProtocolError, match=r"public_keys\.generate") as info:
                await c.public_keys.generate()
    assert PRIVATE not in str(info.value)


def test_resource_is_on_the_client_and_documented() -> None:
    from privicore_async.resources import PublicKeys

    assert PublicKeys.generate.__doc__ is not None
    assert "avoid" in PublicKeys.generate.__doc__
    assert "private key travels over the network" in PublicKeys.generate.__doc__
