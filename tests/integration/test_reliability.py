"""Faults on the wire, the status endpoint's methods, cancellation, shared deadlines and
shutdown: the SDK against a sandbox that misbehaves on purpose."""

from __future__ import annotations

import asyncio
import time

import aiohttp
import pytest

from privicore_async import (
    CommandStatus,
    PollPolicy,
    PrivicoreClient,
    RetryPolicy,
    Timeouts,
    as_completed,
    errors,
    gather,
)
from privicore_async.sandbox import Faults, Sandbox

from .conftest import (
    LATENCY,
    LEGACY_STATUS,
    PASSWORD,
    Provisioned,
    RequestLog,
    auth_requests,
    eventually,
    make_client,
    onboard_storage,
    register_profile,
    unique_username,
)

STATUS = "utility.command_status"


async def _provisioned_client(sb: Sandbox, **kwargs: object) -> PrivicoreClient:
    username = unique_username()
    await register_profile(sb, username)
    return make_client(sb, username=username, password=PASSWORD, **kwargs)


# -- 10. random faults on the status endpoint -----------------------------------------------------


@pytest.mark.parametrize(
    ("faults", "kind"),
    [
        (Faults(error_rate=0.2, routes={STATUS}, seed=3), "error"),
        (Faults(reset_rate=0.2, routes={STATUS}, seed=3), "reset"),
        (Faults(error_rate=0.15, reset_rate=0.15, routes={STATUS}, seed=5), "error"),
    ],
)
async def test_commands_settle_through_status_faults(faults: Faults, kind: str) -> None:
    # The legacy status object: the rejections' reasons are asserted and found by polling.
    async with Sandbox(latency=LATENCY, faults=faults, status_shape="object") as sb:
        async with await _provisioned_client(sb) as client:
            identifiers = await onboard_storage(client, 10)
            handles = [await client.storage.sync_device(i) for i in identifiers]
            handles += [await client.storage.sync_device(f"missing-{k}") for k in range(5)]
            results = await gather(*handles, return_exceptions=True)
        assert sb.stats.faults[kind] > 0
        assert [r.status for r in results[:10]] == [CommandStatus.SUCCEEDED] * 10
        for error in results[10:]:
            assert isinstance(error, errors.CommandRejected)
            assert error.reason == "device.not_found"
        # Only the status route was faulted: every command was submitted exactly once.
        assert sb.stats.requests["storage.sync_device"] == 15
        assert sb.stats.commands_accepted == sb.stats.commands_settled


async def test_rate_limited_status_pauses_all_polling(
    traced_session: tuple[aiohttp.ClientSession, RequestLog],
) -> None:
    session, log = traced_session
    async with Sandbox(latency=LATENCY) as sb:
        async with await _provisioned_client(sb, session=session) as client:
            handles = [await client.devices.request_unique_identifier(f"d{i}") for i in range(3)]
            sb.inject(STATUS, "rate_limit", retry_after=0.4)
            started = time.monotonic()
            results = await gather(*handles)
            elapsed = time.monotonic() - started
        assert sb.stats.faults["rate_limit"] == 1
        assert all(r.status is CommandStatus.SUCCEEDED for r in results)
        assert elapsed >= 0.38
        status = log.to("/request-status/")
        limited = [s for s in status if s.status == 429]
        assert len(limited) == 1
        # Nothing was *sent* during the pause (answers in flight at the 429 may still arrive).
        pause_end = limited[0].ended + 0.4
        during = [s for s in status if limited[0].ended < s.started < pause_end - 0.02]
        assert during == []
        assert all(s.status in (200, 429) for s in status)


# -- 10. scripted faults: which requests are repeated and which are not ----------------------------


async def test_reset_on_a_get_is_retried(provisioned: Provisioned) -> None:
    sb, client = provisioned.sb, provisioned.client
    [identifier] = await onboard_storage(client, 1)
    sb.inject("storage.list", "reset", times=2)
    listed = await client.storage.list()
    assert [s.device_identifier for s in listed] == [identifier]
    assert sb.stats.faults["reset"] == 2
    assert sb.stats.requests["storage.list"] == 3  # two resets, then the answer


async def test_503_on_a_get_is_retried(provisioned: Provisioned) -> None:
    sb, client = provisioned.sb, provisioned.client
    sb.inject("devices.list", "error", times=2)
    assert await client.devices.list() == []
    assert sb.stats.requests["devices.list"] == 3


async def test_503_on_a_get_gives_up_after_max_attempts(sandbox: Sandbox) -> None:
    async with await _provisioned_client(
        sandbox, retry=RetryPolicy(max_attempts=3, initial_backoff=0.01, max_backoff=0.02)
    ) as client:
        await client.profile.authenticate()
        sandbox.inject("devices.list", "error", times=5)
        with pytest.raises(errors.ServerError) as caught:
            await client.devices.list()
    assert caught.value.status == 503
    assert sandbox.stats.requests["devices.list"] == 3


async def test_503_on_a_command_post_is_not_repeated(provisioned: Provisioned) -> None:
    sb, client = provisioned.sb, provisioned.client
    [identifier] = await onboard_storage(client, 1)
    accepted = sb.stats.commands_accepted
    sb.inject("storage.sync_device", "error")
    with pytest.raises(errors.ServerError) as caught:
        await client.storage.sync_device(identifier)
    assert caught.value.status == 503
    assert caught.value.method == "POST"
    assert sb.stats.requests["storage.sync_device"] == 1
    assert sb.stats.commands_accepted == accepted
    # The next one goes through normally.
    assert (await (await client.storage.sync_device(identifier))).status is (
        CommandStatus.SUCCEEDED
    )


async def test_reset_on_a_command_post_is_not_repeated(provisioned: Provisioned) -> None:
    sb, client = provisioned.sb, provisioned.client
    [identifier] = await onboard_storage(client, 1)
    accepted = sb.stats.commands_accepted
    sb.inject("storage.sync_device", "reset")
    with pytest.raises(errors.TransportError) as caught:
        await client.storage.sync_device(identifier)
    assert "/storage/sync-device" in str(caught.value)
    assert sb.stats.faults["reset"] == 1
    assert sb.stats.requests["storage.sync_device"] == 1  # the sandbox received it once
    assert sb.stats.commands_accepted == accepted


@LEGACY_STATUS
async def test_a_one_off_status_read_is_retried(provisioned: Provisioned) -> None:
    sb, client = provisioned.sb, provisioned.client
    handle = await client.devices.request_unique_identifier("read-me")
    await handle
    assert handle.command_id is not None
    sb.inject(STATUS, "error", times=2)
    served = sb.stats.requests[STATUS]
    reading = await client.utility.command_status(handle.command_id)
    assert reading.status is CommandStatus.SUCCEEDED
    assert reading.body == "Command completed successfully"
    assert sb.stats.requests[STATUS] - served == 3  # a status read is safe to repeat


async def test_rate_limit_on_a_command_post_is_raised_not_repeated(
    provisioned: Provisioned,
) -> None:
    sb, client = provisioned.sb, provisioned.client
    sb.inject("devices.request_unique_identifier", "rate_limit", retry_after=0.05)
    with pytest.raises(errors.RateLimitError) as caught:
        await client.devices.request_unique_identifier("limited")
    assert caught.value.status == 429
    assert caught.value.retry_after == pytest.approx(0.05)
    assert sb.stats.requests["devices.request_unique_identifier"] == 1


async def test_rate_limit_on_a_get_waits_retry_after(provisioned: Provisioned) -> None:
    sb, client = provisioned.sb, provisioned.client
    sb.inject("storage.list", "rate_limit", retry_after=0.3)
    started = time.monotonic()
    assert await client.storage.list() == []
    assert time.monotonic() - started >= 0.29
    assert sb.stats.requests["storage.list"] == 2


async def test_slow_get_past_the_read_timeout_is_retried(sandbox: Sandbox) -> None:
    async with await _provisioned_client(sandbox, timeouts=Timeouts(read=0.2)) as client:
        await client.profile.authenticate()
        sandbox.inject("devices.list", "slow", delay=1.0)
        started = time.monotonic()
        assert await client.devices.list() == []
        assert time.monotonic() - started < 0.9
    assert sandbox.stats.faults["slow"] == 1
    assert sandbox.stats.requests["devices.list"] == 2


async def test_unauthorized_command_is_replayed_once_after_authenticating(
    provisioned: Provisioned,
) -> None:
    sb, client = provisioned.sb, provisioned.client
    [identifier] = await onboard_storage(client, 1)
    before = client.tokens.authentications
    accepted = sb.stats.commands_accepted
    sb.inject("storage.sync_device", "unauthorized")
    result = await (await client.storage.sync_device(identifier))
    assert result.status is CommandStatus.SUCCEEDED
    assert client.tokens.authentications == before + 1
    assert sb.stats.requests["storage.sync_device"] == 2  # the 401, then the replay
    assert sb.stats.commands_accepted == accepted + 1  # one command, not two

    sb.inject("storage.sync_device", "unauthorized", times=2)
    with pytest.raises(errors.AuthenticationError):
        await client.storage.sync_device(identifier)
    assert sb.stats.requests["storage.sync_device"] == 4  # replayed once, never twice
    assert client.tokens.authentications == before + 2
    assert sb.stats.commands_accepted == accepted + 1


async def test_connection_refused_is_retried_then_a_transport_error(
    traced_session: tuple[aiohttp.ClientSession, RequestLog],
) -> None:
    session, log = traced_session
    async with Sandbox(latency=LATENCY) as sb:
        url = sb.api_url
    # Nothing listens there any more. A refused connect never reached a server, so even a
    # command POST is attempted again: an outage is waited out for max_time (the attempts
    # that never connect do not use up max_attempts).
    retry = RetryPolicy(max_attempts=3, initial_backoff=0.05, max_backoff=0.1, max_time=0.5)
    async with PrivicoreClient(url, token="T-anything", retry=retry, session=session) as client:
        started = time.monotonic()
        with pytest.raises(errors.TransportError) as caught:
            await client.storage.sync_device("dev-1")
        elapsed = time.monotonic() - started
    assert "T-anything" not in str(caught.value)
    assert caught.value.may_have_arrived is False
    attempts = log.to("/storage/sync-device", "POST")
    assert len(attempts) > 3
    assert elapsed < 1.5
    assert all(a.status is None for a in attempts)


# -- 9. a status endpoint that refuses POST --------------------------------------------------------


async def test_status_405_on_post_switches_to_get(
    traced_session: tuple[aiohttp.ClientSession, RequestLog],
) -> None:
    session, log = traced_session
    async with Sandbox(latency=LATENCY, status_methods=("GET",), status_shape="object") as sb:
        async with await _provisioned_client(sb, session=session) as client:
            served = sb.stats.status_requests  # the registration's own polls came before
            first = await (await client.devices.request_unique_identifier("first"))
            assert first.status is CommandStatus.SUCCEEDED
            handles = [await client.devices.request_unique_identifier(f"d{i}") for i in range(10)]
            rejected = await client.devices.approve("no-such-device")
            results = await gather(*handles)
            with pytest.raises(errors.CommandRejected) as caught:
                await rejected
            reading = await client.utility.command_status(handles[0].command_id or "")
        assert all(r.status is CommandStatus.SUCCEEDED for r in results)
        assert caught.value.reason == "device.not_found"
        assert reading.status is CommandStatus.SUCCEEDED
        posts = log.to("/request-status/", "POST")
        gets = log.to("/request-status/", "GET")
        assert [p.status for p in posts] == [405]  # POST tried once, for the whole client
        assert gets
        assert all(g.status == 200 for g in gets)
        assert all(g.started >= posts[0].ended for g in gets)
        # The 405 never reached the route's handler: the sandbox only counted the GETs.
        assert sb.stats.status_requests - served == len(gets)


async def test_status_post_is_used_while_the_server_accepts_it(
    traced_session: tuple[aiohttp.ClientSession, RequestLog],
) -> None:
    session, log = traced_session
    async with Sandbox(latency=LATENCY) as sb:
        async with await _provisioned_client(sb, session=session) as client:
            await (await client.devices.request_unique_identifier("first"))
        assert log.to("/request-status/", "GET") == []
        assert log.to("/request-status/", "POST")


# -- 12. cancellation, shared deadlines, shutdown ---------------------------------------------


async def test_cancel_stops_status_requests(provisioned: Provisioned) -> None:
    sb, client = provisioned.sb, provisioned.client
    sb.inject("devices.request_unique_identifier", "lost")
    handle = await client.devices.request_unique_identifier("never")
    await eventually(lambda: handle.polls >= 3)
    assert not handle.done()
    assert handle.status is CommandStatus.PENDING
    called: list[bool] = []
    handle.add_done_callback(lambda h: called.append(h.cancelled()))
    assert handle.cancel() is True
    assert handle.cancel() is False  # already done
    assert handle.done()
    assert handle.cancelled()
    await asyncio.sleep(0)
    assert called == [True]
    status_requests = sb.stats.status_requests
    polls = handle.polls
    await asyncio.sleep(0.3)  # the fast policy would have polled several times by now
    assert sb.stats.status_requests == status_requests
    assert handle.polls == polls
    assert client.commands.tracked == 0
    with pytest.raises(asyncio.CancelledError):
        await handle
    # Privicore has no server-side cancel: the command is still there, still started.
    assert handle.command_id is not None
    assert sb.state.commands[handle.command_id].state.name == "STARTED"


@LEGACY_STATUS
async def test_gather_and_as_completed_share_one_deadline(provisioned: Provisioned) -> None:
    sb, client = provisioned.sb, provisioned.client
    [identifier] = await onboard_storage(client, 1)
    sb.inject("devices.configure_meta", "lost")
    stuck = await client.devices.configure_meta(identifier, name="never")
    good = [await client.storage.sync_device(identifier) for _ in range(3)]
    bad = await client.storage.sync_device("nobody")

    started = time.monotonic()
    results = await gather(*good, bad, stuck, timeout=0.5, return_exceptions=True)
    elapsed = time.monotonic() - started
    assert 0.45 <= elapsed < 1.5
    assert [r.status for r in results[:3]] == [CommandStatus.SUCCEEDED] * 3
    assert isinstance(results[3], errors.CommandRejected)
    assert results[3].reason == "device.not_found"
    assert isinstance(results[4], errors.CommandTimeout)
    assert results[4].command_id == stuck.command_id
    assert not stuck.done()  # a shared deadline does not stop tracking

    with pytest.raises(errors.CommandTimeout) as timed_out:
        await gather(*good, stuck, timeout=0.1)
    assert timed_out.value.pending == (stuck,)
    with pytest.raises(errors.CommandRejected):
        await gather(*good, bad, stuck, timeout=5)  # the first failure wins at once

    fresh = [await client.storage.sync_device(identifier) for _ in range(3)]
    order: list[str | None] = []
    started = time.monotonic()
    with pytest.raises(errors.CommandTimeout) as deadline:
        await _drain(as_completed([stuck, *fresh], timeout=0.5), order)
    assert 0.45 <= time.monotonic() - started < 1.5
    assert sorted(order, key=str) == sorted((h.command_id for h in fresh), key=str)
    assert deadline.value.pending == (stuck,)
    assert not stuck.done()
    # Yielded in the order the sandbox settled them.
    settled = [sb.settled_at(cid or "") for cid in order]
    assert settled == sorted(settled, key=lambda t: t or 0.0)

    with pytest.raises(errors.CommandTimeout) as own:
        await stuck.wait(timeout=0.1)  # bounds this wait only
    assert own.value.command_id == stuck.command_id
    assert not stuck.done()


async def _drain(handles: as_completed, order: list[str | None]) -> None:
    async for handle in handles:
        order.append(handle.command_id)
        assert handle.result().status is CommandStatus.SUCCEEDED


@LEGACY_STATUS
async def test_gather_raises_the_first_failure_even_behind_a_pending_handle(
    provisioned: Provisioned,
) -> None:
    sb, client = provisioned.sb, provisioned.client
    sb.inject("devices.configure_meta", "lost")
    stuck = await client.devices.configure_meta("some-device", name="never")
    bad = await client.storage.sync_device("nobody")
    started = time.monotonic()
    # The docstring: "the first failure is raised at once unless return_exceptions".
    with pytest.raises(errors.CommandRejected) as caught:
        await gather(stuck, bad, timeout=5)
    assert time.monotonic() - started < 2  # at once, not after the 5 s deadline
    assert caught.value.reason == "device.not_found"


async def test_a_rate_limit_pause_does_not_outlast_a_command_deadline(
    provisioned: Provisioned,
) -> None:
    sb, client = provisioned.sb, provisioned.client
    sb.inject("devices.request_unique_identifier", "lost")
    handle = await client.devices.request_unique_identifier("never", timeout=0.3)
    sb.inject(STATUS, "rate_limit", retry_after=1.0)
    started = time.monotonic()
    with pytest.raises(errors.CommandTimeout):
        await handle
    assert sb.stats.faults["rate_limit"] == 1
    # The deadline is 0.3 s after submission; the pause must not carry the wait to 1 s.
    assert time.monotonic() - started < 0.7


async def test_a_command_deadline_settles_the_handle_as_timeout(provisioned: Provisioned) -> None:
    sb, client = provisioned.sb, provisioned.client
    sb.inject("devices.request_unique_identifier", "lost")
    started = time.monotonic()
    handle = await client.devices.request_unique_identifier("never", timeout=0.4)
    with pytest.raises(errors.CommandTimeout) as caught:
        await handle
    assert 0.35 <= time.monotonic() - started < 1.5
    assert caught.value.command_id == handle.command_id
    assert caught.value.last_status == "pending"
    assert handle.done()
    polls = sb.stats.status_requests
    await asyncio.sleep(0.2)
    assert sb.stats.status_requests == polls


async def test_close_with_pending_handles_leaves_no_task_behind(sandbox: Sandbox) -> None:
    client = await _provisioned_client(sandbox)
    try:
        sandbox.inject("devices.request_unique_identifier", "lost", times=5)
        handles = [await client.devices.request_unique_identifier(f"d{i}") for i in range(5)]
        await eventually(lambda: sum(h.polls for h in handles) >= 5)
        assert client.commands.tracked == 5
        assert len(asyncio.all_tasks()) > 1  # the tracker's scheduler (and server handlers)
    finally:
        await client.close()
    current = asyncio.current_task()
    # Nothing of the client's survives close(), not even for one loop turn.
    assert [t for t in asyncio.all_tasks() if t is not current and _is_client_task(t)] == []
    assert all(h.done() and h.cancelled() for h in handles)
    assert client.commands.tracked == 0
    # The sandbox's per-connection handlers end as soon as they see the connections close.
    for _ in range(20):
        if asyncio.all_tasks() == {current}:
            break
        await asyncio.sleep(0)
    assert asyncio.all_tasks() == {current}
    for handle in handles:
        with pytest.raises(errors.ClientClosedError):  # not a CancelledError: see issue 13
            await handle
    with pytest.raises(errors.PrivicoreError, match="closed"):
        await client.storage.list()
    with pytest.raises(errors.PrivicoreError, match="closed"):
        client.commands.resume(handles[0].command_id or "")
    await client.close()  # idempotent


async def test_a_call_retrying_during_close_fails_with_a_privicore_error(
    provisioned: Provisioned,
) -> None:
    sb = provisioned.sb
    retry = RetryPolicy(initial_backoff=0.3, max_backoff=0.3)
    client = make_client(sb, username=provisioned.username, password=PASSWORD, retry=retry)
    try:
        await client.profile.authenticate()
        sb.inject("storage.list", "error", times=3)
        call = asyncio.create_task(client.storage.list())
        await eventually(lambda: sb.stats.requests["storage.list"] >= 1)
        # The GET got its 503 and is waiting to retry; the application shuts down now.
    finally:
        await client.close()
    with pytest.raises(errors.PrivicoreError):
        await call


def _is_client_task(task: asyncio.Task[object]) -> bool:
    code = getattr(task.get_coro(), "cr_code", None)
    filename = code.co_filename if code is not None else ""
    return "privicore_async" in filename and "sandbox" not in filename


# -- 14. an injected session belongs to its owner ------------------------------------------------


async def test_injected_session_stays_open_after_close(sandbox: Sandbox) -> None:
    session = aiohttp.ClientSession()
    try:
        async with await _provisioned_client(sandbox, session=session) as client:
            await client.profile.retrieve_profile_id()
        assert not session.closed
        # Still usable by its owner.
        async with session.get(sandbox.api_url + "/health") as response:
            assert response.status == 200
        assert auth_requests(sandbox) == 1
    finally:
        await session.close()
    assert session.closed


async def test_owned_session_is_closed(sandbox: Sandbox) -> None:
    async with make_client(sandbox) as client:
        await client.utility.health()
        sender = client.transport.sender
        session = getattr(sender, "inner", sender).session  # the suite wraps it to record
        assert session is not None
    assert session.closed


@LEGACY_STATUS
async def test_commands_in_parallel_on_two_clients_do_not_mix(sandbox: Sandbox) -> None:
    """Two profiles, two clients, one sandbox: each sees only its own results."""
    async with await _provisioned_client(sandbox) as a, await _provisioned_client(sandbox) as b:
        ids_a, ids_b = await asyncio.gather(onboard_storage(a, 5, "a"), onboard_storage(b, 5, "b"))
        report_a, report_b = await asyncio.gather(
            a.storage.sync_devices(ids_a + ids_b), b.storage.sync_devices(ids_b + ids_a)
        )
    assert [line.outcome.value for line in report_a.outcomes] == ["succeeded"] * 5 + [
        "rejected"
    ] * 5
    assert [line.outcome.value for line in report_b.outcomes] == ["succeeded"] * 5 + [
        "rejected"
    ] * 5
    assert {line.reason for line in report_a.rejected} == {"device.not_found"}


async def test_poll_policy_concurrency_bounds_status_requests_in_flight(
    traced_session: tuple[aiohttp.ClientSession, RequestLog],
) -> None:
    session, log = traced_session
    poll = PollPolicy(
        initial_delay=0.01, min_interval=0.01, max_interval=0.05, concurrency=1, max_concurrency=3
    )
    async with Sandbox(latency=0.2) as sb:
        client = await _provisioned_client(sb, session=session, poll=poll)
        async with client:
            handles = [await client.devices.request_unique_identifier(f"d{i}") for i in range(20)]
            await gather(*handles)
    status = log.to("/request-status/")
    events = sorted([(s.started, 1) for s in status] + [(s.ended, -1) for s in status])
    in_flight = peak = 0
    for _, delta in events:
        in_flight += delta
        peak = max(peak, in_flight)
    assert 1 <= peak <= 3
