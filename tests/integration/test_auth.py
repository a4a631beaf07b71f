"""Tokens against the sandbox: bad and revoked tokens, expiry in the middle of a busy run,
and reauthorization shortly before expiry (both of the server's reauthorize modes)."""

from __future__ import annotations

import asyncio
import logging
import time
from typing import Any

import pytest

from privicore_async import CommandHandle, CommandStatus, PollPolicy, errors
from privicore_async.sandbox import Sandbox

from .conftest import (
    LATENCY,
    PASSWORD,
    Provisioned,
    auth_requests,
    eventually,
    make_client,
    onboard_storage,
    register_profile,
    unique_username,
)

# -- 5. bad and revoked tokens -------------------------------------------------------------------


async def test_wrong_token_without_credentials(sandbox: Sandbox) -> None:
    async with make_client(sandbox, token="T-wrong") as client:
        with pytest.raises(errors.AuthenticationError) as caught:
            await client.storage.list()
        with pytest.raises(errors.AuthenticationError):
            await client.storage.sync_device("dev-1")
    assert caught.value.status == 401
    assert caught.value.path == "/storage/list-storage-devices"
    assert "T-wrong" not in str(caught.value)
    assert "T-wrong" not in repr(client.tokens)
    # Both calls reached the server once each; nothing was replayed, nobody authenticated.
    assert sandbox.stats.requests["storage.list"] == 1
    assert sandbox.stats.requests["storage.sync_device"] == 1
    assert auth_requests(sandbox) == 0
    assert sandbox.stats.commands_accepted == 0


async def test_no_credentials_at_all_sends_nothing(sandbox: Sandbox) -> None:
    async with make_client(sandbox) as client:
        with pytest.raises(errors.AuthenticationError):
            await client.storage.list()
        assert (await client.utility.health()).status == "ok"  # a public route still works
    assert dict(sandbox.stats.requests) == {"utility.health": 1}


async def test_revoked_token_is_refused_by_the_server(provisioned: Provisioned) -> None:
    sb = provisioned.sb
    token = await provisioned.client.tokens.token()
    async with make_client(sb, token=token) as holder, make_client(sb, token=token) as revoker:
        assert await holder.profile.retrieve_profile_id() == provisioned.profile_id
        await revoker.profile.revoke()
        assert sb.state.tokens[token].revoked
        assert revoker.tokens.current is None
        with pytest.raises(errors.AuthenticationError) as caught:
            await holder.profile.retrieve_profile_id()
        # The revoker forgot the token: it refuses locally, without asking the server.
        requests = sb.stats.requests_total
        with pytest.raises(errors.AuthenticationError):
            await revoker.profile.retrieve_profile_id()
        assert sb.stats.requests_total == requests
    assert caught.value.status == 401
    assert sb.stats.requests["profile.retrieve_profile_id"] == 2  # the 401 came from the server


async def test_revoke_with_credentials_authenticates_again(provisioned: Provisioned) -> None:
    sb, client = provisioned.sb, provisioned.client
    old = await client.tokens.token()
    before = client.tokens.authentications
    await client.profile.revoke()
    assert await client.profile.retrieve_profile_id() == provisioned.profile_id
    assert client.tokens.authentications == before + 1
    new = await client.tokens.token()
    assert new != old
    assert sb.state.tokens[old].revoked
    assert not sb.state.tokens[new].revoked


async def test_stale_token_with_credentials_recovers_once(provisioned: Provisioned) -> None:
    sb = provisioned.sb
    async with make_client(
        sb, token="T-stale", username=provisioned.username, password=PASSWORD
    ) as client:
        assert await client.profile.retrieve_profile_id() == provisioned.profile_id
        assert client.tokens.authentications == 1
        assert await client.tokens.token() != "T-stale"
    assert sb.stats.requests["profile.retrieve_profile_id"] == 2  # the 401, then the replay


# -- 6. expiry in the middle of a busy run ------------------------------------------------------


async def test_token_expiring_mid_batch_authenticates_exactly_once(
    sandbox: Sandbox, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG, logger="privicore_async")
    sb = sandbox
    username = unique_username("busy")
    await register_profile(sb, username)
    async with make_client(sb, username=username, password=PASSWORD) as client:
        [identifier] = await onboard_storage(client, 1)
        authentications = client.tokens.authentications
        auth_before = auth_requests(sb)
        assert authentications == 1
        first_token = await client.tokens.token()

        total = 200
        finished = 0
        expired = asyncio.Event()

        async def one(i: int) -> Any:
            nonlocal finished
            if i >= total // 2:
                await expired.wait()  # the second half starts after the expiry
            if i % 4 == 0:
                answer: Any = await client.storage.list()
            elif i % 4 == 1:
                answer = await client.profile.retrieve_profile_id()
            elif i % 4 == 2:
                answer = await client.storage.sync_device(identifier)
            else:
                answer = await client.devices.configure_meta(identifier, name=f"name-{i}")
            finished += 1
            if finished == total // 4:
                # Mid-run: a quarter done, a quarter in flight, half not yet started.
                assert sb.expire_tokens() >= 1  # every token issued so far now answers 401
                expired.set()
            return answer

        answers = await asyncio.gather(*(one(i) for i in range(total)))
        handles = [a for a in answers if isinstance(a, CommandHandle)]
        results = await asyncio.gather(*handles)

        assert expired.is_set()
        # Exactly one extra authentication, however many calls met the expired token.
        assert client.tokens.authentications == authentications + 1
        assert auth_requests(sb) == auth_before + 1
        assert await client.tokens.token() != first_token
        # Every call succeeded, every command settled: nothing lost.
        assert len(handles) == total // 2
        assert all(r.status is CommandStatus.SUCCEEDED for r in results)
        assert len({h.command_id for h in handles}) == len(handles)
        for handle in handles:
            assert handle.command_id is not None
            assert sb.state.commands[handle.command_id].state.name == "SUCCEEDED"
        profile_ids = [a for a in answers if isinstance(a, str)]
        assert len(profile_ids) == total // 4
        assert len(set(profile_ids)) == 1
        lists = [a for a in answers if isinstance(a, list)]
        assert len(lists) == total // 4
        assert all([s.device_identifier for s in listing] == [identifier] for listing in lists)
    # A 401 means the server did nothing: one command per call, however many replays.
    routes = ("storage.list", "profile.retrieve_profile_id", "storage.sync_device")
    commands = [c for c in sb.state.commands.values() if c.route == "storage.sync_device"]
    assert len(commands) == total // 4
    # Each call that met the expired token was replayed exactly once: at least the whole
    # second half met it (it started after the expiry with the token the client still held).
    sent = sum(sb.stats.requests[r] for r in (*routes, "devices.configure_meta"))
    replays = sent - total
    assert total // 2 <= replays <= total * 3 // 4
    # All of that was logged at DEBUG, and no credential made it into a log line.
    assert "authenticating as" in caplog.text
    assert PASSWORD not in caplog.text
    for token in sb.state.tokens:
        assert token not in caplog.text


async def test_concurrent_first_use_authenticates_once(sandbox: Sandbox) -> None:
    username = unique_username()
    await register_profile(sandbox, username)
    async with make_client(sandbox, username=username, password=PASSWORD) as client:
        ids = await asyncio.gather(*(client.profile.retrieve_profile_id() for _ in range(50)))
        assert client.tokens.authentications == 1
    assert len(set(ids)) == 1
    assert auth_requests(sandbox) == 1


# -- 6b. reauthorization before expiry ----------------------------------------------------------


@pytest.mark.parametrize("mode", ["sync", "command"])
async def test_token_close_to_expiry_is_reauthorized_first(mode: str) -> None:
    # Tokens live 61 s; the client renews anything with less than 120 s left.
    async with Sandbox(
        latency=LATENCY,
        token_ttl=61.0,
        reauthorize_mode=mode,  # type: ignore[arg-type]
    ) as sb:
        username = unique_username(mode)
        profile_id = await register_profile(sb, username)
        async with make_client(
            sb, username=username, password=PASSWORD, token_refresh_margin=120.0
        ) as client:
            assert await client.profile.retrieve_profile_id() == profile_id
            first = client.tokens.current
            assert first is not None
            left = first.seconds_left()
            assert left is not None
            assert 55 < left <= 61
            assert sb.stats.requests["profile.reauthorize"] == 0

            # Twenty concurrent calls: the first renews, the others wait for it.
            ids = await asyncio.gather(*(client.profile.retrieve_profile_id() for _ in range(20)))
            assert set(ids) == {profile_id}
            assert sb.stats.requests["profile.reauthorize"] == 1
            renewed = client.tokens.current
            assert renewed is not None
            left = renewed.seconds_left()
            assert left is not None
            assert left > 3000  # reauthorize_ttl=3600
            server_token = sb.state.tokens[renewed.authorization_token]
            assert abs(server_token.expires_at - renewed.expires_at.timestamp()) < 2.0

            # Fresh enough now: no more renewals.
            await client.storage.list()
            assert sb.stats.requests["profile.reauthorize"] == 1
            assert client.tokens.authentications == 1
            assert auth_requests(sb) == 1
        if mode == "sync":
            assert renewed.authorization_token != first.authorization_token
            assert sb.stats.requests["profile.token_expiry"] == 0
        else:
            # 202: the same token lives longer once the command settled; expiry read after.
            assert renewed.authorization_token == first.authorization_token
            assert sb.stats.requests["profile.token_expiry"] == 1
            reauthorizations = [
                c for c in sb.state.commands.values() if c.route == "profile.reauthorize"
            ]
            assert len(reauthorizations) == 1
            assert reauthorizations[0].state.name == "SUCCEEDED"


async def test_refused_reauthorization_falls_back_to_authenticate() -> None:
    async with Sandbox(latency=LATENCY, token_ttl=61.0) as sb:
        username = unique_username()
        await register_profile(sb, username)
        async with make_client(
            sb, username=username, password=PASSWORD, token_refresh_margin=120.0
        ) as client:
            await client.storage.list()
            sb.expire_tokens()  # the token the client wants to renew is dead already
            assert await client.storage.list() == []
            assert client.tokens.authentications == 2
        assert sb.stats.requests["profile.reauthorize"] == 1  # 401
        assert auth_requests(sb) == 2
        assert sb.stats.requests["storage.list"] == 2  # no 401 on the call itself


async def test_a_stuck_renewal_holds_only_the_renewing_call() -> None:
    """A reauthorize command that never settles: the call that started the renewal waits
    (bounded by the command deadline and the token's life), then logs in again; calls made
    meanwhile go on with the still-valid token instead of queueing behind it."""
    async with Sandbox(latency=LATENCY, token_ttl=61.0, reauthorize_mode="command") as sb:
        username = unique_username()
        await register_profile(sb, username)
        poll = PollPolicy(initial_delay=0.01, min_interval=0.01, max_interval=0.1, timeout=0.5)
        async with make_client(
            sb, username=username, password=PASSWORD, token_refresh_margin=120.0, poll=poll
        ) as client:
            await client.storage.list()
            sb.inject("profile.reauthorize", "lost")
            started = time.monotonic()
            renewing = asyncio.ensure_future(client.storage.list())
            await eventually(lambda: sb.stats.requests["profile.reauthorize"] == 1)
            others_started = time.monotonic()
            lists = await asyncio.gather(*(client.storage.list() for _ in range(4)))
            assert time.monotonic() - others_started < 0.3  # not held by the renewal
            assert not renewing.done()
            assert await renewing == []
            elapsed = time.monotonic() - started
            assert lists == [[]] * 4
            assert client.tokens.authentications == 2
        assert 0.45 <= elapsed < 2.0
        assert sb.stats.requests["profile.reauthorize"] == 1
        assert sb.stats.requests["profile.token_expiry"] == 0


async def test_explicit_reauthorize_and_expiry(provisioned: Provisioned) -> None:
    client = provisioned.client
    token = await client.profile.reauthorize(ttl=600)
    left = token.seconds_left()
    assert left is not None
    assert 590 < left <= 600
    expiry = await client.profile.token_expiry()
    assert token.expires_at is not None
    assert abs((expiry - token.expires_at).total_seconds()) < 2
    with pytest.raises(errors.InvalidArgumentError):
        await client.profile.reauthorize(ttl=0)
