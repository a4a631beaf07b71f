"""Storage devices: registration, listing, synchronisation (one or thousands) and removal."""

from __future__ import annotations

import asyncio
import functools
import logging
import time
from collections.abc import Callable, Iterable, Iterator

from ..commands import CommandHandle
from ..errors import CommandRejected, CommandTimeout, PrivicoreError
from ..models import StorageDevice, structure
from ..results import DeviceSyncOutcome, SyncOutcome, SyncProgress, SyncReport
from ._base import Resource

__all__ = ["Storage"]

logger = logging.getLogger("privicore_async")

ProgressCallback = Callable[[SyncProgress], object]


class Storage(Resource):
    """``client.storage``."""

    __slots__ = ()

    async def register(
        self, device_identifier: str, *, timeout: float | None = None
    ) -> CommandHandle:
        """``POST /storage/register``: give an approved device the storage role."""
        return await self._client.command(
            "storage.register", {"device_identifier": device_identifier}, timeout=timeout
        )

    async def list(self) -> list[StorageDevice]:
        """``GET /storage/list-storage-devices``."""
        response = await self._client.call("storage.list")
        return structure(response.body, list[StorageDevice], endpoint="storage.list")

    async def sync_device(
        self, device_identifier: str, *, timeout: float | None = None
    ) -> CommandHandle:
        """``POST /storage/sync-device``: ask a storage device to synchronise.

        The seed documents a 202 with no body; the id, when the server sends one, comes in the
        ``x-dpt-cab-id`` header. Without any id the handle is ``ACCEPTED`` and already done.
        """
        return await self._client.command(
            "storage.sync_device", {"device_identifier": device_identifier}, timeout=timeout
        )

    async def remove(
        self, device_identifier: str, *, timeout: float | None = None
    ) -> CommandHandle:
        """``POST /storage/remove``: take the storage role away (the device stays)."""
        return await self._client.command(
            "storage.remove", {"device_identifier": device_identifier}, timeout=timeout
        )

    async def sync_devices(
        self,
        device_identifiers: Iterable[str],
        *,
        concurrency: int = 256,
        timeout: float | None = None,
        on_progress: ProgressCallback | None = None,
    ) -> SyncReport:
        """Synchronise many devices; one line per device, never raising for one device.

        ``concurrency`` bounds the commands outstanding at once (submitted, not yet settled).
        ``timeout`` is each command's deadline, counted from its own submission (default
        ``PollPolicy.timeout``). ``on_progress(SyncProgress)`` is called after every device.
        Cancelling the call stops submitting; already tracked commands keep their handles.
        """
        if concurrency < 1:
            raise ValueError("concurrency must be at least 1")
        identifiers = list(device_identifiers)
        sync = _BulkSync(self, identifiers, concurrency, timeout, on_progress)
        return await sync.run()


class _BulkSync:
    """One ``sync_devices`` call: a few submitter tasks, outcomes recorded from callbacks."""

    def __init__(
        self,
        storage: Storage,
        identifiers: list[str],
        concurrency: int,
        timeout: float | None,
        on_progress: ProgressCallback | None,
    ) -> None:
        self._storage = storage
        self._identifiers = identifiers
        self._concurrency = concurrency
        self._timeout = timeout
        self._on_progress = on_progress
        self._outcomes: list[DeviceSyncOutcome | None] = [None] * len(identifiers)
        self._counts = dict.fromkeys(SyncOutcome, 0)
        self._remaining = len(identifiers)
        self._slots = asyncio.Semaphore(concurrency)
        self._finished: asyncio.Future[None] = asyncio.get_running_loop().create_future()

    async def run(self) -> SyncReport:
        started = time.monotonic()
        if self._identifiers:
            work = iter(enumerate(self._identifiers))
            # Submitters only send requests; waiting is the tracker's job, so a handful of
            # tasks serve any number of devices.
            submitters = min(self._concurrency, 32, len(self._identifiers))
            async with asyncio.TaskGroup() as group:
                for _ in range(submitters):
                    group.create_task(self._submit(work))
            await self._finished
        outcomes = tuple(line for line in self._outcomes if line is not None)
        return SyncReport(outcomes, time.monotonic() - started)

    async def _submit(self, work: Iterator[tuple[int, str]]) -> None:
        for index, identifier in work:
            await self._slots.acquire()
            try:
                handle = await self._storage.sync_device(identifier, timeout=self._timeout)
            except PrivicoreError as exc:
                self._slots.release()
                self._record(
                    index,
                    DeviceSyncOutcome(str(identifier), SyncOutcome.FAILED, None, str(exc), exc),
                )
                continue
            except BaseException:
                self._slots.release()
                raise
            handle.add_done_callback(functools.partial(self._settled, index))

    def _settled(self, index: int, handle: CommandHandle) -> None:
        self._slots.release()
        identifier = self._identifiers[index]
        error = handle.exception()
        line: DeviceSyncOutcome
        if error is None:
            kind = SyncOutcome.ACCEPTED if handle.command_id is None else SyncOutcome.SUCCEEDED
            line = DeviceSyncOutcome(identifier, kind, handle.command_id)
        elif isinstance(error, CommandRejected):
            line = DeviceSyncOutcome(
                identifier, SyncOutcome.REJECTED, handle.command_id, error.reason, error
            )
        elif isinstance(error, CommandTimeout):
            line = DeviceSyncOutcome(
                identifier, SyncOutcome.TIMED_OUT, handle.command_id, None, error
            )
        else:
            line = DeviceSyncOutcome(
                identifier, SyncOutcome.FAILED, handle.command_id, str(error), error
            )
        self._record(index, line)

    def _record(self, index: int, line: DeviceSyncOutcome) -> None:
        self._outcomes[index] = line
        self._counts[line.outcome] += 1
        self._remaining -= 1
        if self._on_progress is not None:
            counts = self._counts
            progress = SyncProgress(
                total=len(self._identifiers),
                done=len(self._identifiers) - self._remaining,
                succeeded=counts[SyncOutcome.SUCCEEDED] + counts[SyncOutcome.ACCEPTED],
                rejected=counts[SyncOutcome.REJECTED],
                timed_out=counts[SyncOutcome.TIMED_OUT],
                failed=counts[SyncOutcome.FAILED],
            )
            try:
                self._on_progress(progress)
            except Exception:  # a broken progress bar must not lose the report
                logger.exception("on_progress callback failed")
        if self._remaining == 0 and not self._finished.done():
            self._finished.set_result(None)
