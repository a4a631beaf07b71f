"""resources/bulk_sync.py: what a resumed run sends, resumes, skips and reports (in memory)."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from urllib.parse import parse_qsl

import pytest

from privicore_async import PollPolicy, PrivicoreClient, errors
from privicore_async.http import MemoryReply, MemorySender, PreparedRequest
from privicore_async.journal import EntryState, Intent, MemoryJournal, Outcome
from privicore_async.resources.bulk_sync import sync_key
from privicore_async.results import SyncOutcome, SyncSource

KIND = "storage.sync_device"
RUN = "fleet-1"


class Server:
    """Answers sync-device with a fresh id and every status read with "succeeded"."""

    def __init__(self) -> None:
        self.synced: list[str] = []
        self.read: list[str] = []

    def __call__(self, request: PreparedRequest) -> MemoryReply:
        if request.route == KIND:
            assert isinstance(request.body, bytes)
            device = dict(parse_qsl(request.body.decode()))["deviceIdentifier"]
            self.synced.append(device)
            return MemoryReply(202, json.dumps(f"cmd-{device}-{len(self.synced)}").encode())
        assert request.route == "utility.command_status"
        self.read.append(request.url.rsplit("/", 1)[1])
        return MemoryReply(200, b'"succeeded"')


@pytest.fixture
def server() -> Server:
    return Server()


@pytest.fixture
async def journal() -> MemoryJournal:
    return MemoryJournal()


@pytest.fixture
async def client(server: Server, journal: MemoryJournal) -> AsyncIterator[PrivicoreClient]:
    poll = PollPolicy(initial_delay=0.0, min_interval=0.01, timeout=10)
    async with PrivicoreClient(
        "http://privicore.test", token="t", sender=MemorySender(server), journal=journal, poll=poll
    ) as c:
        yield c


async def earlier_run(journal: MemoryJournal) -> None:
    """What a crashed run of RUN left behind, one device per case."""
    await journal.open()

    async def intent(device: str) -> str:
        key = sync_key(RUN, device)
        await journal.intend(Intent(key, KIND, device, RUN))
        return key

    await journal.settle(await intent("d-ok"), Outcome.SUCCEEDED, "done")
    await journal.settle(await intent("d-no"), Outcome.REJECTED, "device.offline")
    await journal.accept(await intent("d-acc"), "cmd-acc")
    await intent("d-doubt")
    await journal.settle(await intent("d-fail"), Outcome.FAILED, "HTTP 503")
    slow = await intent("d-slow")
    await journal.accept(slow, "cmd-slow")
    await journal.settle(slow, Outcome.TIMED_OUT)


DEVICES = ["d-ok", "d-no", "d-acc", "d-doubt", "d-fail", "d-slow", "d-new"]


async def test_a_resumed_run_skips_resumes_and_resends_as_the_journal_says(
    client: PrivicoreClient, journal: MemoryJournal, server: Server
) -> None:
    await earlier_run(journal)
    accepted: dict[str, str | None] = {}
    report = await client.storage.sync_devices(
        DEVICES, run_id=RUN, on_accepted=lambda d, h: accepted.update({d: h.command_id})
    )
    lines = {line.device_identifier: line for line in report.outcomes}
    assert [line.device_identifier for line in report.outcomes] == DEVICES
    assert {d: (lines[d].outcome, lines[d].source) for d in DEVICES} == {
        "d-ok": (SyncOutcome.SUCCEEDED, SyncSource.JOURNAL),
        "d-no": (SyncOutcome.REJECTED, SyncSource.JOURNAL),
        "d-acc": (SyncOutcome.SUCCEEDED, SyncSource.RESUMED),
        "d-doubt": (SyncOutcome.SUCCEEDED, SyncSource.RESUBMITTED),
        "d-fail": (SyncOutcome.SUCCEEDED, SyncSource.RESUBMITTED),
        "d-slow": (SyncOutcome.SUCCEEDED, SyncSource.RESUMED),
        "d-new": (SyncOutcome.SUCCEEDED, SyncSource.SUBMITTED),
    }
    assert lines["d-no"].reason == "device.offline"
    # Only the in-doubt, the refused and the new device were sent; the rest were not.
    assert sorted(server.synced) == ["d-doubt", "d-fail", "d-new"]
    assert {"cmd-acc", "cmd-slow"} <= set(server.read)
    assert sorted(accepted) == ["d-doubt", "d-fail", "d-new"]
    assert all(command_id for command_id in accepted.values())
    assert report.sources() == {
        SyncSource.SUBMITTED: 1,
        SyncSource.RESUBMITTED: 2,
        SyncSource.RESUMED: 2,
        SyncSource.JOURNAL: 2,
    }
    assert (len(report.skipped), len(report.resumed), len(report.resubmitted)) == (2, 2, 2)
    entries = await journal.entries(run_id=RUN)
    assert {e.target for e in entries} == set(DEVICES)
    assert all(e.state is EntryState.SETTLED for e in entries)


async def test_in_doubt_can_be_reported_instead_of_resent(
    client: PrivicoreClient, journal: MemoryJournal, server: Server
) -> None:
    await earlier_run(journal)
    report = await client.storage.sync_devices(DEVICES, run_id=RUN, in_doubt="report")
    line = next(line for line in report.outcomes if line.device_identifier == "d-doubt")
    assert (line.outcome, line.source) == (SyncOutcome.IN_DOUBT, SyncSource.JOURNAL)
    assert "d-doubt" not in server.synced
    assert report.counts()[SyncOutcome.IN_DOUBT] == 1


async def test_a_run_twice_sends_each_device_once(client: PrivicoreClient, server: Server) -> None:
    first = await client.storage.sync_devices(["a", "b"], run_id="r2")
    again = await client.storage.sync_devices(["a", "b", "c"], run_id="r2")
    assert first.sources()[SyncSource.SUBMITTED] == 2
    assert again.sources()[SyncSource.JOURNAL] == 2
    assert server.synced == ["a", "b", "c"]


async def test_run_arguments_are_checked_before_anything_is_sent(server: Server) -> None:
    async with PrivicoreClient(
        "http://privicore.test", token="t", sender=MemorySender(server)
    ) as plain:
        with pytest.raises(errors.InvalidArgumentError, match="needs a journal"):
            await plain.storage.sync_devices(["a"], run_id=RUN)
    async with PrivicoreClient(
        "http://privicore.test", token="t", sender=MemorySender(server), journal=MemoryJournal()
    ) as c:
        with pytest.raises(errors.InvalidArgumentError, match="each device once"):
            await c.storage.sync_devices(["a", "a"], run_id=RUN)
        with pytest.raises(errors.InvalidArgumentError, match="in_doubt"):
            await c.storage.sync_devices(["a"], run_id=RUN, in_doubt="skip")  # type: ignore[arg-type]
    assert server.synced == []


async def test_pending_and_recover(client: PrivicoreClient, journal: MemoryJournal) -> None:
    await earlier_run(journal)
    pending = await client.commands.pending(run_id=RUN)
    assert sorted(e.target or "" for e in pending) == ["d-acc", "d-doubt"]
    recovery = await client.commands.recover(run_id=RUN)
    assert [h.command_id for h in recovery.handles] == ["cmd-acc"]
    assert [e.target for e in recovery.in_doubt] == ["d-doubt"]
    await recovery.handles[0]
