"""``storage.sync_devices`` over hundreds of real devices with every kind of outcome."""

from __future__ import annotations

import asyncio
import itertools
import random

import attrs
import pytest

from privicore_async import errors
from privicore_async.results import SyncOutcome, SyncProgress
from privicore_async.sandbox.engine import CommandState

from .conftest import LEGACY_STATUS, Provisioned, eventually, onboard, onboard_storage

ROUTE = "storage.sync_device"


@attrs.frozen
class Expected:
    outcome: SyncOutcome
    reason: str | None = None


OK = Expected(SyncOutcome.SUCCEEDED)
OFFLINE = Expected(SyncOutcome.REJECTED, "device.offline")
UNKNOWN = Expected(SyncOutcome.REJECTED, "device.not_found")
NOT_STORAGE = Expected(SyncOutcome.REJECTED, "device.not_a_storage_device")
MALFORMED = Expected(SyncOutcome.FAILED)
BLANK = Expected(SyncOutcome.FAILED)
LOST = Expected(SyncOutcome.TIMED_OUT)


@LEGACY_STATUS
async def test_sync_500_devices_with_every_outcome(provisioned: Provisioned) -> None:
    sb, client = provisioned.sb, provisioned.client
    n_ok, n_offline, n_unknown, n_plain, n_lost = 428, 30, 20, 20, 3
    storage = await onboard_storage(client, n_ok + n_offline, prefix="store")
    plain = await onboard(client, n_plain, prefix="plain")
    offline = storage[n_ok:]
    for identifier in offline:
        sb.set_device_online(identifier, False)

    lines: list[tuple[str, Expected]] = [(i, OK) for i in storage[:n_ok]]
    lines += [(i, OFFLINE) for i in offline]
    lines += [(f"unknown-{k:04d}", UNKNOWN) for k in range(n_unknown)]
    lines += [(i, NOT_STORAGE) for i in plain]
    lines += [("bad id!", MALFORMED), ("", BLANK)]
    # The first commands the sandbox accepts are the lost ones: keep only healthy devices at
    # the head, so that the lost commands are known to be ones that would have succeeded.
    head, tail = lines[:64], lines[64:]
    random.Random(7).shuffle(tail)
    lines = head + tail
    assert len(lines) == 500
    identifiers = [identifier for identifier, _ in lines]

    sb.inject(ROUTE, "lost", times=n_lost)
    concurrency = 40
    progress: list[SyncProgress] = []
    outstanding: list[int] = []

    def on_progress(p: SyncProgress) -> None:
        progress.append(p)
        # Requests the server received minus devices finished, just before this one finished:
        # the commands outstanding at that moment (the blank one never reaches the server).
        outstanding.append(sb.stats.requests[ROUTE] - p.done + 1)

    accepted_before = sb.stats.commands_accepted
    report = await client.storage.sync_devices(
        identifiers, concurrency=concurrency, timeout=1.5, on_progress=on_progress
    )

    # -- the lost commands, as the sandbox recorded them --
    lost_ids = {c.command_id for c in sb.state.commands.values() if c.route == ROUTE and c.lost}
    assert len(lost_ids) == n_lost
    sync_commands = [c for c in sb.state.commands.values() if c.route == ROUTE]
    assert len(sync_commands) == 500 - 2  # malformed: 422, blank: never sent
    assert sb.stats.commands_accepted - accepted_before == 498
    assert sb.stats.requests[ROUTE] == 499  # each sent once, nothing repeated

    # -- one line per device, in input order, exactly as expected --
    assert [line.device_identifier for line in report.outcomes] == identifiers
    seen_ids: set[str] = set()
    for line, (identifier, expected) in zip(report.outcomes, lines, strict=True):
        if line.command_id in lost_ids:
            assert expected is OK, identifier
            expected = LOST
        assert line.outcome is expected.outcome, (identifier, line)
        if expected.outcome is SyncOutcome.FAILED:
            assert line.command_id is None
            if expected is BLANK:
                assert isinstance(line.error, errors.InvalidArgumentError)
                assert line.error.errors["deviceIdentifier"]
            else:
                assert isinstance(line.error, errors.ValidationError)
                assert not isinstance(line.error, errors.InvalidArgumentError)
                assert line.error.status == 422
                assert line.error.errors["deviceIdentifier"]
            assert line.reason == str(line.error)
            continue
        assert line.command_id is not None
        assert line.command_id not in seen_ids
        seen_ids.add(line.command_id)
        command = sb.state.commands[line.command_id]
        assert command.route == ROUTE
        if expected.outcome is SyncOutcome.SUCCEEDED:
            assert command.state is CommandState.SUCCEEDED
            assert line.reason is None
            assert line.error is None
        elif expected.outcome is SyncOutcome.REJECTED:
            assert command.state is CommandState.REJECTED
            assert line.reason == expected.reason
            assert isinstance(line.error, errors.CommandRejected)
            assert line.error.reason == expected.reason
            assert line.error.command_id == line.command_id
        else:
            assert command.state is CommandState.STARTED  # never settled on the server
            assert line.reason is None
            assert isinstance(line.error, errors.CommandTimeout)
            assert line.error.command_id == line.command_id
            assert line.error.timeout == pytest.approx(1.5)

    counts = report.counts()
    assert counts == {
        SyncOutcome.SUCCEEDED: n_ok - n_lost,
        SyncOutcome.REJECTED: n_offline + n_unknown + n_plain,
        SyncOutcome.TIMED_OUT: n_lost,
        SyncOutcome.FAILED: 2,
        SyncOutcome.ACCEPTED: 0,
        SyncOutcome.IN_DOUBT: 0,  # a run without run_id never reports in-doubt devices
    }
    assert len(report.succeeded) == n_ok - n_lost
    assert {line.reason for line in report.rejected} == {
        "device.offline",
        "device.not_found",
        "device.not_a_storage_device",
    }
    assert {line.command_id for line in report.timed_out} == lost_ids
    assert report.elapsed >= 1.5  # the lost ones were waited for until their deadline

    # -- progress: once per device, done counting up, the last one the full tally --
    assert len(progress) == 500
    assert [p.done for p in progress] == list(range(1, 501))
    assert all(p.total == 500 for p in progress)
    for before, after in itertools.pairwise(progress):
        assert after.succeeded >= before.succeeded
        assert after.rejected >= before.rejected
        assert after.timed_out >= before.timed_out
        assert after.failed >= before.failed
    last = progress[-1]
    assert (last.succeeded, last.rejected, last.timed_out, last.failed) == (
        n_ok - n_lost,
        n_offline + n_unknown + n_plain,
        n_lost,
        2,
    )
    assert progress[-1].timed_out == n_lost  # the lost ones finish last

    # -- concurrency bounded the commands outstanding, and was actually used --
    assert max(outstanding) <= concurrency
    assert max(outstanding) >= concurrency // 2
    assert client.commands.tracked == 0


async def test_sync_devices_with_nothing_to_do(provisioned: Provisioned) -> None:
    calls: list[SyncProgress] = []
    report = await provisioned.client.storage.sync_devices([], on_progress=calls.append)
    assert report.outcomes == ()
    assert calls == []
    assert provisioned.sb.stats.requests[ROUTE] == 0
    with pytest.raises(ValueError, match="concurrency"):
        await provisioned.client.storage.sync_devices(["a"], concurrency=0)


async def test_sync_devices_with_concurrency_one_is_serial(provisioned: Provisioned) -> None:
    sb, client = provisioned.sb, provisioned.client
    identifiers = await onboard_storage(client, 5)
    overlaps: list[int] = []

    def on_progress(p: SyncProgress) -> None:
        overlaps.append(sb.stats.requests[ROUTE] - p.done + 1)

    report = await client.storage.sync_devices(identifiers, concurrency=1, on_progress=on_progress)
    assert [line.outcome for line in report.outcomes] == [SyncOutcome.SUCCEEDED] * 5
    assert overlaps == [1] * 5
    # Serial: each command was accepted only after the previous one settled on the server.
    commands = sorted(
        (c for c in sb.state.commands.values() if c.route == ROUTE), key=lambda c: c.accepted_at
    )
    for before, after in itertools.pairwise(commands):
        assert before.settled_at is not None
        assert before.settled_at <= after.accepted_at


async def test_a_broken_progress_callback_does_not_lose_the_report(
    provisioned: Provisioned, caplog: pytest.LogCaptureFixture
) -> None:
    identifiers = await onboard_storage(provisioned.client, 3)

    def broken(p: SyncProgress) -> None:
        raise RuntimeError("progress bar fell over")

    report = await provisioned.client.storage.sync_devices(identifiers, on_progress=broken)
    assert [line.outcome for line in report.outcomes] == [SyncOutcome.SUCCEEDED] * 3
    assert caplog.text.count("on_progress callback failed") == 3


async def test_cancelling_sync_devices_stops_submitting(provisioned: Provisioned) -> None:
    sb, client = provisioned.sb, provisioned.client
    identifiers = await onboard_storage(client, 20)
    sb.latency = 0.5  # slow commands: with concurrency 2 the run takes seconds
    task = asyncio.create_task(client.storage.sync_devices(identifiers, concurrency=2))
    await eventually(lambda: sb.stats.requests[ROUTE] >= 2)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    sent = sb.stats.requests[ROUTE]
    await asyncio.sleep(0.7)  # the two outstanding commands settle; nothing new is sent
    assert sb.stats.requests[ROUTE] == sent == 2
