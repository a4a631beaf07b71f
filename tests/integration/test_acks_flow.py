"""Pushed acks over the WebSocket channel (issue 4, wire reference §a6) against the sandbox.

Every test joins a real :class:`AckChannel` to the sandbox's WebSocket proxy and proves what did
the work by counting the sandbox's status requests: with the channel joined, handles settle
through pushed acks and the status endpoint stays quiet; a lost ack, a dropped connection or a
refused join fall back to polling, and nothing is lost or left running.
"""

from __future__ import annotations

import asyncio
import base64
import time
from collections.abc import AsyncIterator
from typing import Any

import pytest

from privicore_async import CommandStatus, PollPolicy, PrivicoreClient, errors
from privicore_async.acks import AckChannel
from privicore_async.sandbox import Sandbox

from .conftest import (
    LATENCY,
    PASSWORD,
    eventually,
    make_client,
    onboard_storage,
    register_profile,
    unique_username,
)

# The wire reference's AES-GCM test vector (§a9): opaque ciphertext, stored as given.
WIRE = base64.b64decode("AAECAwQFBgcICQoLL2e6d6rFtXT/LfMFMBxWQ34jd7mO85YcJxko")


def _acks(client: PrivicoreClient) -> AckChannel:
    assert client.acks is not None, "the client was made without ws_url"
    return client.acks


async def _ws_client(sb: Sandbox, **kwargs: Any) -> PrivicoreClient:
    """A client of a freshly registered profile with the sandbox's WebSocket channel."""
    username = unique_username("ws")
    await register_profile(sb, username)
    kwargs.setdefault("ws_url", sb.ws_url)
    return make_client(sb, username=username, password=PASSWORD, **kwargs)


async def _joined(client: PrivicoreClient) -> AckChannel:
    acks = _acks(client)
    assert await acks.wait_joined(5), "the ack channel did not join"
    return acks


async def _assert_no_task_left() -> None:
    current = asyncio.current_task()
    # The sandbox's per-connection handlers end within a few loop turns of a close.
    for _ in range(50):
        if asyncio.all_tasks() == {current}:
            break
        await asyncio.sleep(0)
    assert asyncio.all_tasks() == {current}


@pytest.fixture
async def ws_sandbox() -> AsyncIterator[Sandbox]:
    async with Sandbox(latency=LATENCY, seed=1) as sb:
        yield sb


# -- 1. acks settle handles with no status request -------------------------------------------


async def test_two_hundred_syncs_settle_through_acks_without_status_requests(
    ws_sandbox: Sandbox,
) -> None:
    sb = ws_sandbox
    async with await _ws_client(sb) as client:
        acks = await _joined(client)
        identifiers = await onboard_storage(client, 5)
        before = sb.stats.status_requests
        acks_before = sb.ws_stats.acks_sent
        handles = [await client.storage.sync_device(identifiers[k % 5]) for k in range(200)]
        results = await asyncio.gather(*handles)
        assert [r.status for r in results] == [CommandStatus.SUCCEEDED] * 200
        assert all(r.polls == 0 for r in results)
        assert sb.stats.status_requests - before == 0
        assert sb.stats.requests["storage.sync_device"] == 200
        # Each command got exactly its settle ack over the socket (no progress acks: the
        # sandbox's default, as the real server).
        assert sb.ws_stats.acks_sent - acks_before == 200
        assert acks.joined
        assert acks.joins == 1
        assert client.commands.tracked == 0


# -- 2. a rejection's reason arrives with the ack -----------------------------------------------


async def test_rejection_reasons_arrive_through_the_ack(ws_sandbox: Sandbox) -> None:
    sb = ws_sandbox
    async with await _ws_client(sb) as client:
        await _joined(client)
        online, offline = await onboard_storage(client, 2)
        sb.set_device_online(offline, False)
        before = sb.stats.status_requests
        ok = await client.storage.sync_device(online)
        down = await client.storage.sync_device(offline)
        missing = await client.storage.sync_device("missing-device")
        assert (await ok).status is CommandStatus.SUCCEEDED
        with pytest.raises(errors.CommandRejected) as rejected_offline:
            await down
        assert rejected_offline.value.reason == "device.offline"
        with pytest.raises(errors.CommandRejected) as rejected_missing:
            await missing
        assert rejected_missing.value.reason == "device.not_found"
        assert sb.stats.status_requests - before == 0
        assert ok.polls == down.polls == missing.polls == 0


# -- 3. an ack that beats the 202 ------------------------------------------------------------------


async def test_an_ack_before_the_202_still_settles_its_handle() -> None:
    async with (
        Sandbox(latency=LATENCY, seed=1, early_acks=True, early_ack_delay=0.05) as sb,
        await _ws_client(sb) as client,
    ):
        await _joined(client)
        identifiers = await onboard_storage(client, 2)
        sb.set_device_online(identifiers[1], False)
        before = sb.stats.status_requests
        handles = [await client.storage.sync_device(identifiers[k % 2]) for k in range(20)]
        # The ack was there first: each handle is born settled.
        assert all(h.done() for h in handles)
        results = await asyncio.gather(*handles, return_exceptions=True)
        assert len({h.command_id for h in handles}) == 20
        for k, result in enumerate(results):
            if k % 2 == 0:
                assert not isinstance(result, BaseException)
                assert result.status is CommandStatus.SUCCEEDED
            else:
                assert isinstance(result, errors.CommandRejected)
                assert result.reason == "device.offline"
        assert sb.stats.status_requests - before == 0
        assert all(h.polls == 0 for h in handles)
        # The buffer is drained: each early ack was used once.
        assert client.command_service.early_acks == 0


# -- 4. a dropped ack: the safety net ------------------------------------------------------------


async def test_a_dropped_ack_is_caught_by_the_safety_net(ws_sandbox: Sandbox) -> None:
    sb = ws_sandbox
    poll = PollPolicy(
        initial_delay=0.01, min_interval=0.01, max_interval=0.1, timeout=10, safety_interval=0.5
    )
    async with await _ws_client(sb, poll=poll) as client:
        await _joined(client)
        (device,) = await onboard_storage(client, 1)
        before = sb.stats.status_requests
        sb.ws_drop_next(1)
        started = time.monotonic()
        lost = await client.storage.sync_device(device)
        result = await lost
        elapsed = time.monotonic() - started
        assert result.status is CommandStatus.SUCCEEDED
        assert sb.ws_stats.acks_dropped == 1
        assert result.polls == 1
        assert sb.stats.status_requests - before == 1
        # Settled by the safety read (~0.5 s, jittered down by at most 10 %), not by an ack.
        assert 0.4 <= elapsed < 2.0
        # The next one goes through the channel again, without a read.
        assert (await (await client.storage.sync_device(device))).polls == 0
        assert sb.stats.status_requests - before == 1


# -- 5. a disconnect with 1,000 pending commands -----------------------------------------------


async def test_a_disconnect_with_a_thousand_pending_commands_loses_none() -> None:
    # Commands that settle while the socket is down are found by polling; the legacy status
    # object carries their reasons (a bare status word would not).
    sandbox = Sandbox(latency=LATENCY, seed=1, status_shape="object")
    async with sandbox as sb, await _ws_client(sb) as client:
        acks = await _joined(client)
        identifiers = await onboard_storage(client, 4)
        sb.set_device_online(identifiers[3], False)
        sb.latency = 1.0
        targets = [*identifiers, "missing-device"]
        started = time.monotonic()
        handles = await asyncio.gather(
            *(client.storage.sync_device(targets[k % 5]) for k in range(1000))
        )
        pending = sum(not h.done() for h in handles)
        assert sb.ws_disconnect_all() == 1
        issued_in = time.monotonic() - started
        assert pending > 500, f"only {pending} pending ({issued_in:.2f}s to issue)"
        results = await asyncio.gather(*handles, return_exceptions=True)
        assert await acks.wait_joined(5)
        assert acks.joins == 2
        assert sb.ws_stats.joins_ok == 2
        expected = {0: "ok", 1: "ok", 2: "ok", 3: "device.offline", 4: "device.not_found"}
        for k, result in enumerate(results):
            want = expected[k % 5]
            if want == "ok":
                assert not isinstance(result, BaseException), result
                assert result.status is CommandStatus.SUCCEEDED
            else:
                assert isinstance(result, errors.CommandRejected), result
                assert result.reason == want
        assert sb.stats.commands_accepted == sb.stats.commands_settled
        assert client.commands.tracked == 0


# -- 6. a token refresh re-joins with the new token ------------------------------------------------


async def test_a_token_refresh_rejoins_the_channel_with_the_new_token() -> None:
    async with (
        Sandbox(latency=LATENCY, seed=1, token_ttl=30, reauthorize_mode="sync") as sb,
        await _ws_client(sb, token_refresh_margin=27.0) as client,
    ):
        acks = await _joined(client)
        (device,) = await onboard_storage(client, 1)
        assert client.tokens.current is not None
        first = client.tokens.current.authorization_token
        assert acks.joins == 1
        left = client.tokens.current.seconds_left()
        assert left is not None
        assert left > 27.0  # not yet renewed, even on a loaded machine
        await asyncio.sleep(left - 27.0 + 0.1)  # now within the refresh margin
        handle = await client.storage.sync_device(device)  # refreshes the token first
        assert sb.stats.requests["profile.reauthorize"] == 1
        assert client.tokens.current is not None
        second = client.tokens.current.authorization_token
        assert second != first
        await eventually(lambda: acks.joins == 2 and acks.joined)
        assert sb.ws_stats.joins_ok == 2
        assert sb.ws_stats.joins_refused == 0
        assert acks._joined_token == second
        assert (await handle).status is CommandStatus.SUCCEEDED
        # Acks keep settling handles on the new channel: no status request at all.
        before = sb.stats.status_requests
        handles = [await client.storage.sync_device(device) for _ in range(10)]
        results = await asyncio.gather(*handles)
        assert all(r.status is CommandStatus.SUCCEEDED and r.polls == 0 for r in results)
        assert sb.stats.status_requests == before
        assert sb.stats.requests["profile.reauthorize"] == 1


async def test_expired_tokens_lead_to_reauthentication_and_a_rejoin(ws_sandbox: Sandbox) -> None:
    sb = ws_sandbox
    async with await _ws_client(sb) as client:
        acks = await _joined(client)
        (device,) = await onboard_storage(client, 1)
        assert client.tokens.current is not None
        first = client.tokens.current.authorization_token
        authenticated = sb.stats.requests["profile.authenticate"]
        assert sb.expire_tokens() >= 1
        handle = await client.storage.sync_device(device)  # 401 → authenticate → replay
        assert sb.stats.requests["profile.authenticate"] == authenticated + 1
        assert client.tokens.current is not None
        assert client.tokens.current.authorization_token != first
        await eventually(lambda: acks.joins == 2 and acks.joined)
        assert sb.ws_stats.joins_ok == 2
        assert acks._joined_token == client.tokens.current.authorization_token
        assert (await handle).status is CommandStatus.SUCCEEDED
        before = sb.stats.status_requests
        results = await asyncio.gather(
            *[await client.storage.sync_device(device) for _ in range(5)]
        )
        assert all(r.status is CommandStatus.SUCCEEDED and r.polls == 0 for r in results)
        assert sb.stats.status_requests == before


# -- 7. data-request messages reach their waiter ---------------------------------------------------


async def _stored_token(client: PrivicoreClient, data: bytes) -> str:
    tokens = client.data_tokens
    reserved = await tokens.reserve_token_space("docs", ttl=5)
    temporary = await tokens.retrieve_temporary_token(reserved)
    assert (await (await tokens.exchange(temporary, data))).status is CommandStatus.SUCCEEDED
    return await tokens.configure_file_meta(
        temporary, file_name="hello", extension="txt", context="docs", size=len(data) - 28
    )


async def test_an_inline_request_answer_reaches_its_waiter() -> None:
    async with (
        Sandbox(latency=LATENCY, seed=1, ws_output="inline") as sb,
        await _ws_client(sb) as client,
    ):
        acks = await _joined(client)
        await onboard_storage(client, 1)
        permanent = await _stored_token(client, WIRE)
        before = sb.stats.status_requests
        request = await client.data_tokens.request_data(permanent)
        message = await acks.wait_request(request.request_id, timeout=5)
        assert message.type == "X-DPT-CAB-REQUEST-ID"
        assert message.request_id == request.request_id
        assert message.output_type == 0
        assert base64.b64decode(message.body) == WIRE
        assert message.data_context == "docs"
        assert (await request.command_handle).status is CommandStatus.SUCCEEDED
        assert sb.stats.status_requests == before
        assert sb.ws_stats.requests_sent == 1


async def test_a_streamed_request_answer_then_stream_ready_then_download() -> None:
    async with (
        Sandbox(latency=LATENCY, seed=1, ws_output="token") as sb,
        await _ws_client(sb, downstream_url=sb.downstream_url) as client,
    ):
        acks = await _joined(client)
        await onboard_storage(client, 1)
        permanent = await _stored_token(client, WIRE)
        request = await client.data_tokens.request_data(permanent)
        answer = await acks.wait_request(request.request_id, timeout=5)
        assert answer.output_type == 1
        assert isinstance(answer.body, str)
        assert not answer.body.startswith("http")
        ready = await acks.wait_request(request.request_id, types=("STREAM-READY",), timeout=5)
        assert ready.type == "STREAM-READY"
        assert ready.stream_url == f"{sb.downstream_url}/?auth={answer.body}"
        assert await client.data_tokens.download(ready.stream_url) == WIRE
        # The downstream token works once: the bare body (to downstream_url) is now spent.
        with pytest.raises(errors.AuthenticationError):
            await client.data_tokens.download(answer.body)
        assert sb.ws_stats.stream_ready_sent == 1


async def test_a_request_message_that_came_before_its_waiter_is_kept() -> None:
    async with (
        Sandbox(latency=LATENCY, seed=1, ws_output="inline") as sb,
        await _ws_client(sb) as client,
    ):
        acks = await _joined(client)
        await onboard_storage(client, 1)
        permanent = await _stored_token(client, WIRE)
        request = await client.data_tokens.request_data(permanent)
        await request.command_handle  # settled by its ack; the answer follows it
        await eventually(lambda: sb.ws_stats.requests_sent == 1)
        await asyncio.sleep(0.2)  # let the client read it: nobody is waiting yet
        # timeout=0: only a message already buffered can answer.
        message = await acks.wait_request(request.request_id, timeout=0)
        assert message.output_type == 0
        assert base64.b64decode(message.body) == WIRE
        # It was handed out once.
        with pytest.raises(errors.TransportError):
            await acks.wait_request(request.request_id, timeout=0.1)


# -- 8. refused joins ---------------------------------------------------------------------------


async def test_refused_joins_recover_and_commands_settle_by_polling_meanwhile(
    ws_sandbox: Sandbox,
) -> None:
    sb = ws_sandbox
    # The first two joins are refused (each 401 also makes the client authenticate again).
    sb.ws_refuse_joins(2)
    async with await _ws_client(sb) as client:
        acks = _acks(client)
        # Issued while the channel is being refused: only polling can settle it.
        first = await client.devices.request_unique_identifier("early")
        assert sb.ws_stats.joins_ok == 0
        result = await first
        assert result.status is CommandStatus.SUCCEEDED
        assert result.polls >= 1
        identifiers = await onboard_storage(client, 1)
        polled = [await client.storage.sync_device(identifiers[0]) for _ in range(3)]
        results = await asyncio.gather(*polled)
        assert all(r.status is CommandStatus.SUCCEEDED for r in results)
        assert await acks.wait_joined(5)
        assert sb.ws_stats.joins_refused == 2
        assert sb.ws_stats.joins_ok == 1
        assert acks.joins == 1
        before = sb.stats.status_requests
        handles = [await client.storage.sync_device(identifiers[0]) for _ in range(10)]
        results = await asyncio.gather(*handles)
        assert all(r.status is CommandStatus.SUCCEEDED and r.polls == 0 for r in results)
        assert sb.stats.status_requests == before


# -- 9. nothing left behind --------------------------------------------------------------------


async def test_close_of_a_joined_client_leaves_no_task_behind() -> None:
    async with Sandbox(latency=1.0, seed=1) as sb:
        client = await _ws_client(sb)
        try:
            await _joined(client)
            handles = [await client.devices.request_unique_identifier(f"d{i}") for i in range(5)]
            assert not any(h.done() for h in handles)
        finally:
            await client.close()
        assert all(h.cancelled() for h in handles)
        assert not _acks(client).joined
        await _assert_no_task_left()
        await eventually(lambda: sb.ws_stats.connections_open == 0)


async def test_close_after_a_failed_join_leaves_no_task_behind() -> None:
    async with Sandbox(latency=LATENCY, seed=1) as sb:
        client = await _ws_client(sb)
        sb.ws_refuse_joins(100)
        try:
            async with client:
                await eventually(lambda: sb.ws_stats.joins_refused >= 1)
                assert not _acks(client).joined
        finally:
            await client.close()
        assert _acks(client).joins == 0
        await _assert_no_task_left()


async def test_close_in_the_middle_of_a_reconnect_loop_leaves_no_task_behind() -> None:
    sb = Sandbox(latency=LATENCY, seed=1)
    await sb.start()
    try:
        client = await _ws_client(sb)
        acks = await _joined(client)
    finally:
        await sb.close()  # the sandbox goes away under the joined client
    try:
        await eventually(lambda: not acks.joined)
        await asyncio.sleep(0.3)  # a few reconnect attempts, refused
        assert not acks.joined
    finally:
        await client.close()
    await _assert_no_task_left()
    with pytest.raises(errors.PrivicoreError, match="closed"):
        acks.start()
