"""``privicore demo``: a sandbox, a profile, N storage devices, one concurrent synchronisation.

The run: start the embedded :class:`~privicore_async.sandbox.Sandbox` on a free loopback port,
register a profile with a random password (never shown), onboard the devices concurrently
(``devices.onboard`` then ``storage.register``), take a few offline, add one unknown id, and
synchronise all of them with ``storage.sync_devices``. Progress goes to stderr, the summary to
stdout.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import random
import secrets
import time
from collections.abc import Iterator
from typing import TextIO

import attrs

from ..client import PrivicoreClient
from ..crypto import DataKey
from ..errors import PrivicoreError
from ..results import SyncProgress, SyncReport
from ..sandbox import Sandbox
from .progress import progress_bar
from .summary import SUCCEEDS, DemoRun, summary_lines

__all__ = ["UNKNOWN_DEVICE", "DemoFailed", "DemoOptions", "default_offline", "run_demo"]

UNKNOWN_DEVICE = "demo-unknown-device"
"""An id no profile owns: its synchronisation is rejected with ``device.not_found``."""


class DemoFailed(Exception):
    """A step of the demo failed outright (the message says which); the exit status is 1."""


@attrs.frozen
class DemoOptions:
    """The knobs of ``privicore demo``."""

    devices: int = 200
    latency: float = 0.2
    jitter: float = 0.0
    offline: int | None = None
    """Devices taken offline; ``None``: about 3 %, at least one."""
    seed: int = 0
    concurrency: int = 50
    """Devices onboarded at once."""
    websocket: bool = True
    """Settle commands from the sandbox's pushed acks (False: status polling only)."""

    @property
    def offline_count(self) -> int:
        """How many devices go offline (never more than there are)."""
        wanted = default_offline(self.devices) if self.offline is None else self.offline
        return min(wanted, self.devices)


def default_offline(devices: int) -> int:
    """About 3 % of ``devices``, at least one."""
    return max(1, round(devices * 0.03))


async def run_demo(options: DemoOptions, out: TextIO, err: TextIO) -> int:
    """Run the demo; 0 when every device ended as planned, 1 otherwise.

    Raises :class:`DemoFailed` when a step fails outright (the profile cannot be registered,
    a device cannot be onboarded). Cancelling it closes the client and the sandbox.
    """
    started = time.monotonic()
    async with Sandbox(latency=options.latency, jitter=options.jitter, seed=options.seed) as sb:
        _say(
            out,
            f"privicore demo: sandbox on {sb.api_url} (latency {options.latency:g} s, "
            f"jitter {options.jitter:g} s, seed {options.seed})",
        )
        username, password = f"demo-{secrets.token_hex(4)}", secrets.token_urlsafe(24)
        ws_url = sb.ws_url if options.websocket else None
        _say(out, f"command outcomes: {'pushed acks (WebSocket)' if ws_url else 'status polling'}")
        async with PrivicoreClient(
            sb.api_url,
            ws_url=ws_url,
            upstream_url=sb.upstream_url,
            downstream_url=sb.downstream_url,
            username=username,
            password=password,
        ) as client:
            with _failing_as("registering the demo profile"):
                await (await client.profile.register(username, password))
            if client.acks is not None and not await client.acks.wait_joined(timeout=10):
                _say(out, "the WebSocket did not join in 10 s: falling back to status polling")
            with _failing_as("onboarding"):
                identifiers = await _onboard(client, options, out, err)
            expected = _plan(sb, identifiers, options, out)
            with _failing_as("synchronising"):
                run = await _synchronise(client, sb, expected, err)
            with _failing_as("the encrypted round trip"):
                vault_ok = await _vault_round_trip(client, out)
    run = attrs.evolve(run, wall_time=time.monotonic() - started)
    for line in summary_lines(run):
        print(line, file=out)
    out.flush()
    return 0 if run.as_expected and vault_ok else 1


async def _vault_round_trip(client: PrivicoreClient, out: TextIO) -> bool:
    """Encrypt a file with a fresh key, store it, read it back and compare (§c4, §c5)."""
    if client.acks is None:
        _say(out, "vault: skipped (retrieving data needs the WebSocket; run without --polling)")
        return True
    plaintext = b"".join(
        f"line {n:06d}: privicore keeps only ciphertext\n".encode() for n in range(8000)
    )
    key = DataKey.generate()
    started = time.monotonic()
    stored = await client.vault.store(plaintext, key, context="demo", file_name="report.txt")
    stored_in = time.monotonic() - started
    started = time.monotonic()
    back = await client.vault.retrieve(stored.token, key)
    retrieved_in = time.monotonic() - started
    same = hashlib.sha256(back).digest() == hashlib.sha256(plaintext).digest()
    _say(
        out,
        f"vault: encrypted {stored.size:,} bytes with AES-256-GCM and stored them "
        f"({stored.method.value}) in {stored_in:.2f} s; retrieved and decrypted in "
        f"{retrieved_in:.2f} s: {'identical (sha256 match)' if same else 'DIFFERENT'}",
    )
    return same


async def _onboard(
    client: PrivicoreClient, options: DemoOptions, out: TextIO, err: TextIO
) -> list[str]:
    """Onboard ``options.devices`` storage devices, ``options.concurrency`` at a time."""
    total = options.devices
    identifiers: list[str] = [""] * total
    work = iter(range(total))
    done = 0
    bar = progress_bar(err, "onboard", total)
    started = time.monotonic()

    async def worker() -> None:
        # A few workers share one iterator: bounded concurrency without a task per device.
        nonlocal done
        for index in work:
            identifiers[index] = await _onboard_storage_device(client, f"demo-storage-{index:05d}")
            done += 1
            bar.update(done)

    try:
        async with asyncio.TaskGroup() as group:
            for _ in range(min(options.concurrency, total)):
                group.create_task(worker())
    finally:
        bar.finish()
    seconds = time.monotonic() - started
    _say(
        out,
        f"onboarded {_count(total, 'storage device')} in {seconds:.2f} s "
        f"({total / seconds:.1f} devices/s, {min(options.concurrency, total)} at a time)",
    )
    return identifiers


async def _onboard_storage_device(client: PrivicoreClient, name: str) -> str:
    """Register and approve one device, then give it the storage role; returns its id."""
    identifier = await client.devices.onboard(name)
    await (await client.storage.register(identifier))
    return identifier


def _plan(sb: Sandbox, identifiers: list[str], options: DemoOptions, out: TextIO) -> dict[str, str]:
    """Take some devices offline and add the unknown id; returns what each should end as."""
    offline = random.Random(options.seed).sample(identifiers, options.offline_count)
    for identifier in offline:
        sb.set_device_online(identifier, False)
    expected = dict.fromkeys(identifiers, SUCCEEDS)
    expected.update(dict.fromkeys(offline, "device.offline"))
    expected[UNKNOWN_DEVICE] = "device.not_found"
    _say(
        out,
        f"took {_count(len(offline), 'device')} offline and added 1 unknown device id: "
        f"synchronising {_count(len(expected), 'device')}",
    )
    return expected


async def _synchronise(
    client: PrivicoreClient, sb: Sandbox, expected: dict[str, str], err: TextIO
) -> DemoRun:
    """Synchronise every planned device at once, with a progress line; counts the polling."""
    status_before, commands_before = sb.stats.status_requests, sb.stats.commands_accepted
    bar = progress_bar(err, "sync", len(expected))

    def show(progress: SyncProgress) -> None:
        bar.update(progress.done, _counts_text(progress))

    try:
        report: SyncReport = await client.storage.sync_devices(list(expected), on_progress=show)
    finally:
        bar.finish()
    return DemoRun(
        expected=expected,
        report=report,
        status_requests=sb.stats.status_requests - status_before,
        commands=sb.stats.commands_accepted - commands_before,
        wall_time=0.0,
    )


def _counts_text(progress: SyncProgress) -> str:
    return (
        f"ok {progress.succeeded}  rejected {progress.rejected}  "
        f"timed out {progress.timed_out}  failed {progress.failed}"
    )


@contextlib.contextmanager
def _failing_as(step: str) -> Iterator[None]:
    """Turn an SDK error (alone or from a task group) into :class:`DemoFailed` naming the step."""
    try:
        yield
    except (PrivicoreError, BaseExceptionGroup) as exc:
        cause = _sdk_error(exc)
        if cause is None:
            raise
        raise DemoFailed(f"{step} failed: {cause}") from exc


def _sdk_error(exc: BaseException) -> PrivicoreError | None:
    """``exc`` if it is an SDK error, or the first one of a group holding nothing else."""
    if isinstance(exc, PrivicoreError):
        return exc
    if isinstance(exc, BaseExceptionGroup):
        matched, rest = exc.split(PrivicoreError)
        if matched is not None and rest is None:
            return _sdk_error(matched.exceptions[0])
    return None


def _say(out: TextIO, line: str) -> None:
    print(line, file=out, flush=True)


def _count(number: int, noun: str) -> str:
    return f"{number} {noun}" if number == 1 else f"{number} {noun}s"
