"""A fleet sync killed with SIGKILL mid-run finishes when run again: none lost, duplicates only
where the journal said it could not know (in doubt)."""

from __future__ import annotations

import asyncio
import os
import signal
import sys
import time
from collections import Counter
from pathlib import Path

from privicore_async.journal import EntryState, SqliteJournal
from privicore_async.results import SyncOutcome, SyncSource
from privicore_async.sandbox import Faults, Sandbox
from privicore_async.sandbox.state import DeviceStatus, StorageRole
from tests.integration.conftest import FAST_POLL, PASSWORD, make_client, unique_username

ROOT = Path(__file__).resolve().parents[2]
DEVICES = 2000
RUN = "fleet-crash"


def seed_fleet(sb: Sandbox, n: int) -> tuple[str, list[str]]:
    """A profile with ``n`` approved, online storage devices, straight into the state."""
    username = unique_username("fleet")
    profile = sb.state.add_profile(username, PASSWORD)
    identifiers = []
    for i in range(n):
        device = sb.state.add_device(profile.profile_id, f"dev-{i}", f"seed-{i}")
        device.status = DeviceStatus.APPROVED
        device.storage = StorageRole(time.time())
        identifiers.append(device.identifier)
    return username, identifiers


def syncs_per_device(sb: Sandbox) -> Counter[str]:
    return Counter(
        command.target
        for command in sb.state.commands.values()
        if command.route == "storage.sync_device" and command.target is not None
    )


async def test_a_killed_sync_resumes_with_none_lost(tmp_path: Path) -> None:
    # Some sync requests are answered late, so that some are in flight when the kill comes.
    slow = Faults(slow_rate=0.3, slow_delay=0.3, routes={"storage.sync_device"}, seed=7)
    async with Sandbox(latency=0.5, jitter=0.2, faults=slow) as sb:
        username, devices = seed_fleet(sb, DEVICES)
        listing = tmp_path / "devices.txt"
        listing.write_text("\n".join(devices))
        journal_path = tmp_path / "commands.db"
        child = await asyncio.create_subprocess_exec(
            sys.executable, "-m", "tests.integration.sync_child",
            "--api", sb.api_url, "--user", username, "--password", PASSWORD,
            "--journal", str(journal_path), "--run", RUN, "--devices", str(listing),
            cwd=ROOT, stdout=asyncio.subprocess.PIPE,
            env={**os.environ, "PYTHONPATH": str(ROOT)},
        )  # fmt: skip
        assert child.stdout is not None
        accepted = 0
        while accepted < DEVICES // 2:  # kill it halfway through its accepted commands
            line = (await asyncio.wait_for(child.stdout.readline(), 60)).decode()
            assert line, "the child ended before it could be killed"
            assert not line.startswith("done"), "the child finished before it could be killed"
            accepted = int(line.split()[1])
        child.send_signal(signal.SIGKILL)
        assert await child.wait() == -signal.SIGKILL

        journal = SqliteJournal(journal_path)
        await journal.open()
        try:
            left = await journal.entries(run_id=RUN)
        finally:
            await journal.close()
        in_doubt = sum(entry.in_doubt for entry in left)
        states = Counter(entry.state for entry in left)
        assert states[EntryState.ACCEPTED] > 0  # killed mid-run: some were still pending
        assert in_doubt > 0  # and some requests were in flight

        async with make_client(
            sb, username=username, password=PASSWORD, journal=SqliteJournal(journal_path),
            poll=FAST_POLL,
        ) as client:  # fmt: skip
            report = await client.storage.sync_devices(devices, run_id=RUN, concurrency=500)

    # Every device ends with exactly one final line, all of them synchronised.
    assert [line.device_identifier for line in report.outcomes] == devices
    assert report.counts()[SyncOutcome.SUCCEEDED] == DEVICES
    sources = report.sources()
    assert sources[SyncSource.JOURNAL] == states[EntryState.SETTLED]
    assert sources[SyncSource.RESUMED] == states[EntryState.ACCEPTED]
    # None lost: each device was synced; twice only where the journal could not know.
    synced = syncs_per_device(sb)
    assert set(synced) == set(devices)
    twice = sum(1 for n in synced.values() if n > 1)
    assert twice <= in_doubt
    assert max(synced.values()) <= 2
