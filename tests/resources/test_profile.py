"""resources/profile.py: registration, authentication and the token's lifetime on the wire."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest

from privicore_async import CommandResult, CommandStatus, errors
from privicore_async.models import AuthToken
from tests.client_helpers import (
    AUTHENTICATE,
    FORM_CT,
    PROFILE_ID,
    TOKEN,
    assert_form_call,
    assert_get_call,
    in_an_hour,
    make_client,
)
from tests.wire_mock import API, all_calls, calls, count, form, headers, mock_http, raw_body


async def test_register_is_a_public_form_command_awaited_to_success() -> None:
    with mock_http() as m:
        m.post(API + "/profile/register-profile", status=202, body='"cmd-reg"')
        m.post(API + "/request-status/cmd-reg", payload="started")
        m.post(API + "/request-status/cmd-reg", payload="succeeded")
        async with make_client(token=None) as c:
            handle = await c.profile.register("alice", "pw 1&2")
            result = await handle
    assert isinstance(result, CommandResult)
    assert (result.command_id, result.status, result.polls) == (
        "cmd-reg",
        CommandStatus.SUCCEEDED,
        2,
    )
    (call,) = calls(m, "POST", "/profile/register-profile")
    assert_form_call(call, {"username": "alice", "password": "pw 1&2"}, token=None)


async def test_register_taken_username_is_conflict() -> None:
    with mock_http() as m:
        m.post(API + "/profile/register-profile", status=409, payload={"message": "taken"})
        async with make_client() as c:
            with pytest.raises(errors.ConflictError):
                await c.profile.register("alice", "pw")
    assert count(m, "POST", "/profile/register-profile") == 1


async def test_authenticate_adopts_the_token() -> None:
    expires = "2030-02-21T15:33:44+00:00"
    with mock_http() as m:
        m.post(API + AUTHENTICATE, payload={"authorizationToken": "T-new", "expiresAt": expires})
        m.get(API + PROFILE_ID, payload={"profileId": "p-1"})
        async with make_client(token=None) as c:
            token = await c.profile.authenticate("alice", "pw")
            assert await c.profile.retrieve_profile_id() == "p-1"
            assert c.tokens.current == token
    assert token == AuthToken("T-new", datetime(2030, 2, 21, 15, 33, 44, tzinfo=UTC))
    (auth,) = calls(m, "POST", AUTHENTICATE)
    assert_form_call(auth, {"username": "alice", "password": "pw"}, token=None)
    (get,) = calls(m, "GET", PROFILE_ID)
    assert_get_call(get, token="T-new")


async def test_authenticate_replaces_an_existing_token() -> None:
    with mock_http() as m:
        m.post(API + AUTHENTICATE, payload={"authorizationToken": "T-new"})
        m.get(API + PROFILE_ID, payload={"profileId": "p-1"})
        async with make_client(token="T-old") as c:
            await c.profile.authenticate("alice", "pw")
            await c.profile.retrieve_profile_id()
    (auth,) = calls(m, "POST", AUTHENTICATE)
    assert "x-dpt-authorization" not in headers(auth)
    assert headers(calls(m, "GET", PROFILE_ID)[0])["x-dpt-authorization"] == "T-new"


async def test_authenticate_without_arguments_uses_configured_credentials() -> None:
    with mock_http() as m:
        m.post(API + AUTHENTICATE, payload={"authorizationToken": "T-new"})
        async with make_client(token=None, username="bob", password="pw-b") as c:
            await c.profile.authenticate()
    assert form(calls(m, "POST", AUTHENTICATE)[0]) == {"username": "bob", "password": "pw-b"}


async def test_authenticate_without_any_credentials_sends_nothing() -> None:
    with mock_http() as m:
        async with make_client(token=None) as c:
            with pytest.raises(errors.AuthenticationError, match="nothing was sent"):
                await c.profile.authenticate()
    assert m.requests == {}


async def test_authenticate_bad_credentials_is_401_and_keeps_state() -> None:
    with mock_http() as m:
        m.post(API + AUTHENTICATE, status=401, payload={"message": "Unauthorized"})
        async with make_client(token="T-old") as c:
            with pytest.raises(errors.AuthenticationError):
                await c.profile.authenticate("alice", "wrong")
            assert c.tokens.current == AuthToken("T-old")
    assert count(m, "POST", AUTHENTICATE) == 1


async def test_authenticate_answer_without_token_is_protocol_error() -> None:
    with mock_http() as m:
        m.post(API + AUTHENTICATE, payload={"expiresAt": in_an_hour()})
        async with make_client(token=None) as c:
            with pytest.raises(errors.ProtocolError, match=r"profile\.authenticate"):
                await c.profile.authenticate("alice", "pw")
            assert c.tokens.current is None


@pytest.mark.parametrize(
    ("answer", "expected"),
    [({"profileId": "p-1"}, "p-1"), ("p-2", "p-2"), (" p-3 \n", "p-3")],
)
async def test_retrieve_profile_id(answer: Any, expected: str) -> None:
    with mock_http() as m:
        if isinstance(answer, str):
            m.get(API + PROFILE_ID, body=answer, content_type="text/plain")
        else:
            m.get(API + PROFILE_ID, payload=answer)
        async with make_client() as c:
            assert await c.profile.retrieve_profile_id() == expected
    (call,) = calls(m, "GET", PROFILE_ID)
    assert_get_call(call)


@pytest.mark.parametrize("answer", [{"id": "p"}, [], {"profileId": None}])
async def test_retrieve_profile_id_bad_answer(answer: Any) -> None:
    with mock_http() as m:
        m.get(API + PROFILE_ID, payload=answer)
        async with make_client() as c:
            with pytest.raises(errors.ProtocolError, match=r"profile\.retrieve_profile_id"):
                await c.profile.retrieve_profile_id()


async def test_token_expiry_posts_an_empty_form() -> None:
    with mock_http() as m:
        m.post(
            API + "/profile/authorization-token/expiry",
            payload={"expiresAt": "2026-02-21T15:33:44Z"},
        )
        async with make_client() as c:
            expiry = await c.profile.token_expiry()
    assert expiry == datetime(2026, 2, 21, 15, 33, 44, tzinfo=UTC)
    (call,) = calls(m, "POST", "/profile/authorization-token/expiry")
    assert raw_body(call) == b""
    assert headers(call)["content-type"] == FORM_CT
    assert headers(call)["x-dpt-authorization"] == TOKEN


@pytest.mark.parametrize("answer", [{"expires": "x"}, {"expiresAt": "tomorrow"}, []])
async def test_token_expiry_bad_answer(answer: Any) -> None:
    with mock_http() as m:
        m.post(API + "/profile/authorization-token/expiry", payload=answer)
        async with make_client() as c:
            with pytest.raises(errors.ProtocolError, match=r"profile\.token_expiry"):
                await c.profile.token_expiry()


async def test_reauthorize_200_adopts_the_new_token() -> None:
    with mock_http() as m:
        m.post(
            API + "/profile/reauthorize-authorization-token",
            payload={"authorizationToken": "T-fresh", "expiresAt": "2030-01-01T00:00:00Z"},
        )
        m.get(API + PROFILE_ID, payload={"profileId": "p"})
        async with make_client() as c:
            token = await c.profile.reauthorize(ttl=86400)
            await c.profile.retrieve_profile_id()
            assert c.tokens.current == token
    assert token == AuthToken("T-fresh", datetime(2030, 1, 1, tzinfo=UTC))
    (call,) = calls(m, "POST", "/profile/reauthorize-authorization-token")
    assert_form_call(call, {"ttl": "86400"})
    assert headers(calls(m, "GET", PROFILE_ID)[0])["x-dpt-authorization"] == "T-fresh"


async def test_reauthorize_default_ttl() -> None:
    with mock_http() as m:
        m.post(
            API + "/profile/reauthorize-authorization-token",
            payload={"authorizationToken": "T-fresh"},
        )
        async with make_client() as c:
            await c.profile.reauthorize()
    assert form(calls(m, "POST", "/profile/reauthorize-authorization-token")[0]) == {"ttl": "3600"}


async def test_reauthorize_202_waits_for_the_command_then_reads_expiry() -> None:
    with mock_http() as m:
        m.post(API + "/profile/reauthorize-authorization-token", status=202, payload=["cmd-re"])
        m.post(API + "/request-status/cmd-re", payload="started")
        m.post(API + "/request-status/cmd-re", payload="succeeded")
        m.post(
            API + "/profile/authorization-token/expiry",
            payload={"expiresAt": "2031-05-05T05:05:05+00:00"},
        )
        async with make_client() as c:
            token = await c.profile.reauthorize(ttl=600)
            assert c.tokens.current == token
    assert token == AuthToken(TOKEN, datetime(2031, 5, 5, 5, 5, 5, tzinfo=UTC))
    assert all_calls(m) == [
        ("POST", "/profile/reauthorize-authorization-token"),
        ("POST", "/request-status/cmd-re"),
        ("POST", "/request-status/cmd-re"),
        ("POST", "/profile/authorization-token/expiry"),
    ]
    expiry = calls(m, "POST", "/profile/authorization-token/expiry")[0]
    assert raw_body(expiry) == b""
    assert headers(expiry)["x-dpt-authorization"] == TOKEN


async def test_reauthorize_202_rejected_keeps_the_old_token() -> None:
    with mock_http() as m:
        m.post(API + "/profile/reauthorize-authorization-token", status=202, body='"cmd-re"')
        m.post(
            API + "/request-status/cmd-re", payload={"command_status": 3, "body": "ttl.too_long"}
        )
        async with make_client() as c:
            with pytest.raises(errors.CommandRejected) as info:
                await c.profile.reauthorize(ttl=10**6)
            assert c.tokens.current == AuthToken(TOKEN)
    assert (info.value.command_id, info.value.reason) == ("cmd-re", "ttl.too_long")
    assert count(m, "POST", "/profile/authorization-token/expiry") == 0


@pytest.mark.parametrize("ttl", [0, -5, "60", 1.5, True, None])
async def test_reauthorize_refuses_a_bad_ttl(ttl: Any) -> None:
    with mock_http() as m:
        async with make_client() as c:
            with pytest.raises(errors.InvalidArgumentError, match="ttl") as info:
                await c.profile.reauthorize(ttl=ttl)
    assert isinstance(info.value, ValueError)
    assert info.value.errors.keys() == {"ttl"}
    assert m.requests == {}


async def test_revoke_forgets_the_token() -> None:
    with mock_http() as m:
        m.post(API + "/profile/revoke-authorization-token", status=200, body="")
        async with make_client() as c:
            assert await c.profile.revoke() is None
            assert c.tokens.current is None
            with pytest.raises(errors.AuthenticationError, match="nothing was sent"):
                await c.profile.retrieve_profile_id()
    (call,) = calls(m, "POST", "/profile/revoke-authorization-token")
    assert raw_body(call) == b""
    assert headers(call)["content-type"] == FORM_CT
    assert headers(call)["x-dpt-authorization"] == TOKEN
    assert all_calls(m) == [("POST", "/profile/revoke-authorization-token")]


async def test_revoke_then_next_call_authenticates_again() -> None:
    with mock_http() as m:
        m.post(API + "/profile/revoke-authorization-token", status=200, body="")
        m.post(API + AUTHENTICATE, payload={"authorizationToken": "T-again"})
        m.get(API + PROFILE_ID, payload={"profileId": "p"})
        async with make_client(username="alice", password="pw") as c:
            await c.profile.revoke()
            await c.profile.retrieve_profile_id()
    assert headers(calls(m, "GET", PROFILE_ID)[0])["x-dpt-authorization"] == "T-again"
    assert count(m, "POST", AUTHENTICATE) == 1
