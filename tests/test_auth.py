"""auth.py (TokenKeeper) through the client: authenticate on first use, reauthorize before
expiry, one re-authentication and one replay after a 401, and one flight for concurrent
callers. HTTP is mocked with aioresponses (see ``tests.wire_mock``)."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from aioresponses import CallbackResult

from privicore_async import errors
from privicore_async.models import AuthToken
from tests.client_helpers import (
    AUTHENTICATE,
    QUIET,
    STORAGE_LIST,
    TOKEN,
    assert_form_call,
    in_an_hour,
    make_client,
)
from tests.wire_mock import API, all_calls, calls, count, headers, mock_http


def token_gate(valid: str, answer: Any) -> Callable[..., Awaitable[CallbackResult]]:
    """A mock that answers ``answer`` for requests carrying ``valid`` and 401 otherwise.

    It takes a little while, so concurrent calls really are in flight together (a mock that
    answers without yielding would run each call to completion before the next one starts).
    """

    async def respond(target: Any, **kwargs: Any) -> CallbackResult:
        await asyncio.sleep(0.01)
        sent = {k.lower(): v for k, v in (kwargs.get("headers") or {}).items()}
        if sent.get("x-dpt-authorization") == valid:
            return CallbackResult(status=200, payload=answer)
        return CallbackResult(status=401, payload={"message": "Unauthorized"})

    return respond


def slow(status: int = 200, payload: Any = None) -> Callable[..., Awaitable[CallbackResult]]:
    """A mock answer that takes a little while (see :func:`token_gate`)."""

    async def respond(target: Any, **kwargs: Any) -> CallbackResult:
        await asyncio.sleep(0.02)
        return CallbackResult(status=status, payload=payload)

    return respond


async def test_first_call_authenticates_first() -> None:
    with mock_http() as m:
        m.post(API + AUTHENTICATE, payload={"authorizationToken": "T-1", "expiresAt": in_an_hour()})
        m.get(API + STORAGE_LIST, callback=token_gate("T-1", []), repeat=True)
        async with make_client(token=None, username="alice", password="pw") as c:
            assert await c.storage.list() == []
            assert await c.storage.list() == []
            assert c.tokens.authentications == 1
    assert all_calls(m) == [("POST", AUTHENTICATE), ("GET", STORAGE_LIST), ("GET", STORAGE_LIST)]
    assert_form_call(calls(m, "POST", AUTHENTICATE)[0], {"username": "alice", "password": "pw"},
                     token=None)  # fmt: skip


async def test_401_authenticates_once_and_replays_once() -> None:
    with mock_http() as m:
        m.post(API + AUTHENTICATE, payload={"authorizationToken": "T-new"}, repeat=True)
        m.get(API + STORAGE_LIST, callback=token_gate("T-new", []), repeat=True)
        async with make_client(token="T-old", username="alice", password="pw") as c:
            assert await c.storage.list() == []
            assert c.tokens.current == AuthToken("T-new")
    assert all_calls(m) == [("GET", STORAGE_LIST), ("GET", STORAGE_LIST), ("POST", AUTHENTICATE)]
    sent = [headers(call)["x-dpt-authorization"] for call in calls(m, "GET", STORAGE_LIST)]
    assert sent == ["T-old", "T-new"]


async def test_401_on_a_command_replays_it_once() -> None:
    def respond(target: Any, **kwargs: Any) -> CallbackResult:
        if kwargs["headers"]["X-DPT-AUTHORIZATION"] == "T-new":
            return CallbackResult(status=202, body='"cmd-1"')
        return CallbackResult(status=401)

    with mock_http() as m:
        m.post(API + AUTHENTICATE, payload={"authorizationToken": "T-new"}, repeat=True)
        m.post(API + "/device/approve-device", callback=respond, repeat=True)
        async with make_client(token="T-old", username="alice", password="pw", poll=QUIET) as c:
            handle = await c.devices.approve("dev-1")
    assert handle.command_id == "cmd-1"
    assert count(m, "POST", "/device/approve-device") == 2
    assert count(m, "POST", AUTHENTICATE) == 1


async def test_second_401_is_raised() -> None:
    with mock_http() as m:
        m.post(API + AUTHENTICATE, payload={"authorizationToken": "T-new"}, repeat=True)
        m.get(API + STORAGE_LIST, status=401, repeat=True)
        async with make_client(token="T-old", username="alice", password="pw") as c:
            with pytest.raises(errors.AuthenticationError) as info:
                await c.storage.list()
    assert info.value.path == STORAGE_LIST
    assert count(m, "GET", STORAGE_LIST) == 2
    assert count(m, "POST", AUTHENTICATE) == 1


async def test_401_without_password_is_raised_without_authenticating() -> None:
    with mock_http() as m:
        m.get(API + STORAGE_LIST, status=401, repeat=True)
        async with make_client(token="T-old") as c:
            with pytest.raises(errors.AuthenticationError):
                await c.storage.list()
    assert all_calls(m) == [("GET", STORAGE_LIST)]


async def test_concurrent_401s_cause_one_authenticate() -> None:
    with mock_http() as m:
        m.post(
            API + AUTHENTICATE, callback=slow(payload={"authorizationToken": "T-new"}), repeat=True
        )
        m.get(API + STORAGE_LIST, callback=token_gate("T-new", []), repeat=True)
        async with make_client(token="T-old", username="alice", password="pw") as c:
            results = await asyncio.gather(*(c.storage.list() for _ in range(20)))
            assert c.tokens.authentications == 1
    assert results == [[]] * 20
    assert count(m, "POST", AUTHENTICATE) == 1
    sent = [headers(call)["x-dpt-authorization"] for call in calls(m, "GET", STORAGE_LIST)]
    assert sorted(sent) == ["T-new"] * 20 + ["T-old"] * 20


async def test_concurrent_first_calls_cause_one_authenticate() -> None:
    with mock_http() as m:
        m.post(
            API + AUTHENTICATE, callback=slow(payload={"authorizationToken": "T-1"}), repeat=True
        )
        m.get(API + STORAGE_LIST, callback=token_gate("T-1", []), repeat=True)
        async with make_client(token=None, username="alice", password="pw") as c:
            await asyncio.gather(*(c.storage.list() for _ in range(20)))
    assert count(m, "POST", AUTHENTICATE) == 1
    assert count(m, "GET", STORAGE_LIST) == 20


async def test_concurrent_401s_with_wrong_password_cause_one_authenticate() -> None:
    with mock_http() as m:
        m.post(API + AUTHENTICATE, callback=slow(status=401), repeat=True)
        m.get(API + STORAGE_LIST, callback=token_gate("T-never", []), repeat=True)
        async with make_client(token="T-old", username="alice", password="wrong") as c:
            results = await asyncio.gather(
                *(c.storage.list() for _ in range(20)), return_exceptions=True
            )
    assert all(isinstance(r, errors.AuthenticationError) for r in results)
    assert count(m, "POST", AUTHENTICATE) == 1


async def test_token_expiring_within_the_margin_is_reauthorized_first() -> None:
    with mock_http() as m:
        m.post(
            API + "/profile/reauthorize-authorization-token",
            payload={"authorizationToken": "T-fresh", "expiresAt": in_an_hour()},
        )
        m.get(API + STORAGE_LIST, callback=token_gate("T-fresh", []), repeat=True)
        async with make_client(username="alice", password="pw") as c:
            c.tokens.adopt(AuthToken("T-old", datetime.now(UTC) + timedelta(seconds=30)))
            await c.storage.list()
            await c.storage.list()
            assert c.tokens.current is not None
            assert c.tokens.current.authorization_token == "T-fresh"
    assert all_calls(m) == [
        ("POST", "/profile/reauthorize-authorization-token"),
        ("GET", STORAGE_LIST),
        ("GET", STORAGE_LIST),
    ]
    reauth = calls(m, "POST", "/profile/reauthorize-authorization-token")[0]
    assert_form_call(reauth, {"ttl": "3600"}, token="T-old")


async def test_token_with_time_left_is_not_reauthorized() -> None:
    with mock_http() as m:
        m.get(API + STORAGE_LIST, payload=[])
        async with make_client() as c:
            c.tokens.adopt(AuthToken(TOKEN, datetime.now(UTC) + timedelta(seconds=120)))
            await c.storage.list()
    assert all_calls(m) == [("GET", STORAGE_LIST)]


async def test_failed_reauthorize_falls_back_to_authenticate() -> None:
    with mock_http() as m:
        m.post(API + "/profile/reauthorize-authorization-token", status=401)
        m.post(
            API + AUTHENTICATE, payload={"authorizationToken": "T-auth", "expiresAt": in_an_hour()}
        )
        m.get(API + STORAGE_LIST, callback=token_gate("T-auth", []), repeat=True)
        async with make_client(username="alice", password="pw") as c:
            c.tokens.adopt(AuthToken("T-old", datetime.now(UTC) - timedelta(seconds=5)))
            await c.storage.list()
    assert all_calls(m) == [
        ("POST", "/profile/reauthorize-authorization-token"),
        ("POST", AUTHENTICATE),
        ("GET", STORAGE_LIST),
    ]
