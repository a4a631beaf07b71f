"""A fleet sync through a fault-injecting TCP proxy (issue 10): resets before, in the middle of
and after a request, stalls and latency spikes between the SDK and the sandbox, on the REST API
and on the WebSocket ack channel.

Whatever the wire does, every device gets exactly one line, no command POST that may have
reached the server is sent again (the sandbox accepts each device's sync at most once), and a
line says SUCCEEDED only for a sync the sandbox really accepted and settled.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections import Counter
from collections.abc import AsyncIterator
from urllib.parse import parse_qs

import attrs
import pytest

from privicore_async import PollPolicy, PrivicoreClient, RetryPolicy
from privicore_async.errors import TransportError
from privicore_async.results import SyncOutcome, SyncReport
from privicore_async.sandbox import Sandbox
from privicore_async.sandbox.engine import CommandState
from tests.fault_proxy import NO_FAULTS, Fault, FaultProxy, ProxyFaults

from .conftest import PASSWORD, eventually
from .test_crash_recovery import seed_fleet, syncs_per_device

DEVICES = 5000
SYNC_PATH = b"POST /storage/sync-device "

HTTP_FAULTS = ProxyFaults(
    reset_before_request=0.03,
    reset_mid_request=0.03,
    reset_mid_response=0.03,
    stall=0.005,
    stall_ms=300,
    latency=0.05,
    latency_ms=(5, 40),
)
WS_FAULTS = ProxyFaults(
    reset_mid_response=0.01,
    stall=0.02,
    stall_ms=300,
    latency=0.05,
    latency_ms=(5, 40),
)
RETRY = RetryPolicy(initial_backoff=0.01, max_backoff=0.05, max_time=5.0)
POLL = PollPolicy(
    initial_delay=0.05,
    min_interval=0.05,
    max_interval=0.5,
    timeout=30,
    read_timeout=2,
    safety_interval=2.0,
)
KNOWN = {SyncOutcome.SUCCEEDED, SyncOutcome.REJECTED, SyncOutcome.FAILED}
UNKNOWN = set(SyncOutcome) - KNOWN
"""Outcomes that say "it may have run" (timed out, in doubt, accepted without an id), whatever
they are called."""


@attrs.define
class Fleet:
    sb: Sandbox
    username: str
    devices: list[str]


@pytest.fixture
async def fleet() -> AsyncIterator[Fleet]:
    async with Sandbox(latency=0.05, jitter=0.05, seed=10) as sb:
        username, devices = seed_fleet(sb, DEVICES)
        yield Fleet(sb, username, devices)


def _client(fleet: Fleet, api: FaultProxy, ws: FaultProxy | None = None) -> PrivicoreClient:
    return PrivicoreClient(
        api.url,
        ws_url=None if ws is None else ws.url,
        username=fleet.username,
        password=PASSWORD,
        retry=RETRY,
        poll=POLL,
    )


def _device_of(request: bytes) -> str | None:
    """The device of a recorded sync POST (None: another request)."""
    if not request.startswith(SYNC_PATH):
        return None
    _, _, body = request.partition(b"\r\n\r\n")
    # aiohttp sends a small request's head and body in one write, and the proxy records the
    # first chunk of each request: the body is in it.
    [device] = parse_qs(body.decode())["deviceIdentifier"]
    return device


async def _no_task_left() -> None:
    """Only the test's own task: nothing of the client or the proxies is left running (the
    sandbox's connection handlers end within a few loop turns of the connections closing)."""
    current = asyncio.current_task()
    await eventually(lambda: asyncio.all_tasks() == {current}, timeout=2)


def _check_report(fleet: Fleet, report: SyncReport, api: FaultProxy) -> Counter[SyncOutcome]:
    sb, devices = fleet.sb, fleet.devices
    # One line per device, each exactly once, in input order.
    assert len(report.outcomes) == DEVICES
    assert [line.device_identifier for line in report.outcomes] == devices

    # No command POST was answered twice: the sandbox accepted each device's sync at most once.
    accepted = syncs_per_device(sb)
    assert set(accepted) <= set(devices)
    assert max(accepted.values()) <= 1

    for line in report.outcomes:
        device, times = line.device_identifier, accepted[line.device_identifier]
        if line.outcome is SyncOutcome.SUCCEEDED:
            assert times == 1, line
            assert line.command_id is not None
            command = sb.state.commands[line.command_id]
            assert command.target == device
            assert command.state is CommandState.SUCCEEDED
        elif line.outcome is SyncOutcome.FAILED:
            assert line.command_id is None, line  # FAILED: it never got a command id
        else:
            # Every device is healthy: a rejection would be a bug. The rest: result unknown.
            assert line.outcome in UNKNOWN, line
        if times == 0:
            assert line.outcome is not SyncOutcome.SUCCEEDED, line

    # The resets that hit a sync POST, device by device, as the proxy recorded them.
    lines = {line.device_identifier: line for line in report.outcomes}
    hit: Counter[Fault] = Counter()
    hit_devices: set[str] = set()
    for event in api.resets:
        target = _device_of(event.request)
        if target is None:
            continue
        hit[event.fault] += 1
        hit_devices.add(target)
        assert lines[target].outcome is not SyncOutcome.SUCCEEDED, (event, lines[target])
        if event.fault is Fault.RESET_MID_RESPONSE:
            # The server answered (a 202): it accepted the sync, the client never knew.
            assert accepted[target] == 1, event
        else:  # the server never had the whole request
            assert accepted[target] == 0, event
    assert hit[Fault.RESET_BEFORE_REQUEST] > 0
    assert hit[Fault.RESET_MID_RESPONSE] > 0
    # A line that did not succeed lost its sync to a reset the proxy recorded, or to a
    # connection that was gone before its request reached the proxy at all (aiohttp: "Can not
    # write request body" or ECONNRESET on a pooled connection; 0-5 lines a run, not yet
    # traced to their cause). Those never reached the sandbox, and say so honestly.
    not_sent = [
        line
        for line in report.outcomes
        if line.outcome is not SyncOutcome.SUCCEEDED and line.device_identifier not in hit_devices
    ]
    for line in not_sent:
        assert accepted[line.device_identifier] == 0, line
        assert line.outcome in UNKNOWN | {SyncOutcome.FAILED}, line
        assert isinstance(line.error, TransportError), line
    assert len(not_sent) <= DEVICES // 250, [line.error for line in not_sent]
    assert sum(hit.values()) + len(not_sent) == DEVICES - len(report.succeeded)

    # The faults really happened, and the proxy itself did not fail.
    for fault in Fault:
        assert api.counts[fault] > 0, fault
    assert api.errors == []
    return Counter(line.outcome for line in report.outcomes)


def _summary(name: str, report: SyncReport, outcomes: Counter[SyncOutcome], sb: Sandbox,
             *proxies: FaultProxy) -> str:  # fmt: skip
    accepted = syncs_per_device(sb)
    parts = [
        f"{name}: {report.elapsed:.1f}s",
        "lines " + ", ".join(f"{o.value}={n}" for o, n in sorted(outcomes.items(), key=str)),
        f"accepted={sum(accepted.values())} max/device={max(accepted.values())}",
        f"status requests={sb.stats.status_requests}",
    ]
    for proxy in proxies:
        counts = ", ".join(f"{f.value}={proxy.counts[f]}" for f in Fault)
        parts.append(f"proxy {proxy.scheme}: connections={proxy.connections} {counts}")
    return "; ".join(parts)


async def test_sync_5000_devices_through_a_faulty_proxy_by_polling(fleet: Fleet) -> None:
    sb = fleet.sb
    async with FaultProxy.to(sb.api_url, NO_FAULTS, seed=11) as api:
        client = _client(fleet, api)
        try:
            await client.profile.authenticate()  # before the faults: one login for the run
            api.faults = HTTP_FAULTS
            report = await client.storage.sync_devices(fleet.devices, concurrency=500)
        finally:
            await client.close()
        await _no_task_left()  # the proxy's connections end with the client's
        outcomes = _check_report(fleet, report, api)
        print(_summary("polling", report, outcomes, sb, api))
    await _no_task_left()


async def test_sync_5000_devices_through_a_faulty_proxy_with_acks(fleet: Fleet) -> None:
    sb = fleet.sb
    async with (
        FaultProxy.to(sb.api_url, NO_FAULTS, seed=21) as api,
        FaultProxy.to(sb.ws_url, NO_FAULTS, seed=22) as ws,
    ):
        client = _client(fleet, api, ws)
        try:
            await client.profile.authenticate()
            assert client.acks is not None
            assert await client.acks.wait_joined(5)
            api.faults, ws.faults = HTTP_FAULTS, WS_FAULTS
            report = await client.storage.sync_devices(fleet.devices, concurrency=500)
            joins = client.acks.joins
        finally:
            await client.close()
        await _no_task_left()
        outcomes = _check_report(fleet, report, api)
        # The channel was cut and joined again, and acks still did most of the work.
        for fault in Fault:
            assert ws.counts[fault] > 0 or WS_FAULTS.rate(fault) == 0, fault
        assert ws.errors == []
        assert joins > 1
        assert sb.stats.status_requests < DEVICES
        print(_summary("acks", report, outcomes, sb, api, ws), f"joins={joins}")
    await _no_task_left()


# -- the proxy itself ------------------------------------------------------------------------

HEALTH = b"GET /health HTTP/1.1\r\nHost: sandbox\r\nConnection: close\r\n\r\n"


async def _get_health(proxy: FaultProxy) -> bool:
    """One request on its own connection: did a whole 200 answer come back?"""
    reader, writer = await asyncio.open_connection(proxy.host, proxy.port)
    try:
        writer.write(HEALTH)
        await writer.drain()
        answer = await reader.read()  # to the end: the server closes after answering
    except ConnectionError:
        return False
    finally:
        writer.close()
        with contextlib.suppress(ConnectionError):
            await writer.wait_closed()
    head, _, body = answer.partition(b"\r\n\r\n")
    length = next(
        (int(line.split(b":")[1]) for line in head.lower().split(b"\r\n")
         if line.startswith(b"content-length:")),
        -1,
    )  # fmt: skip
    return head.startswith(b"HTTP/1.1 200") and len(body) == length


async def _health_through(
    sb: Sandbox, faults: ProxyFaults, seed: int
) -> tuple[list[bool], list[int]]:
    """Forty health checks, one connection each: which came back whole, and what was done."""
    async with FaultProxy.to(sb.api_url, faults, seed=seed) as proxy:
        answered = [await _get_health(proxy) for _ in range(40)]
        counts = [proxy.counts[fault] for fault in Fault]
        assert proxy.errors == []
    return answered, counts


async def test_the_proxy_is_deterministic_for_a_seed(sandbox: Sandbox) -> None:
    faults = ProxyFaults(
        reset_before_request=0.15, reset_mid_request=0.15, reset_mid_response=0.15,
        stall=0.1, stall_ms=20, latency=0.1, latency_ms=(1, 5), per="connection",
    )  # fmt: skip
    first = await _health_through(sandbox, faults, seed=5)
    assert await _health_through(sandbox, faults, seed=5) == first
    assert await _health_through(sandbox, faults, seed=6) != first
    answered, counts = first
    assert all(counts)
    resets = sum(counts[:3])  # one connection, one request: each reset costs exactly one answer
    assert answered.count(False) == resets
    await _no_task_left()


async def test_closing_the_proxy_ends_a_stalled_connection(sandbox: Sandbox) -> None:
    started = time.monotonic()
    async with FaultProxy.to(sandbox.api_url, ProxyFaults(stall=1.0, stall_ms=60_000)) as proxy:
        reader, writer = await asyncio.open_connection(proxy.host, proxy.port)
        writer.write(HEALTH)
        await eventually(lambda: proxy.counts[Fault.STALL] > 0)
    # The proxy is closed with the request held: the client sees the connection end.
    with contextlib.suppress(ConnectionError):
        assert await reader.read() == b""
    writer.close()
    with contextlib.suppress(ConnectionError):
        await writer.wait_closed()
    assert time.monotonic() - started < 5
    assert sandbox.stats.requests["utility.health"] == 0
    assert proxy.errors == []
    await _no_task_left()
