"""One ``storage.sync_devices`` run: a few submitter tasks, one line per device.

Without a ``run_id`` every device is sent. With one (and a journal), the run first reads what
an earlier run of the same id left in the journal and plans each device:

================================================  =========================================
journal entry of ``<run_id>/<device>``            this run
================================================  =========================================
none                                              send (``SUBMITTED``)
settled: succeeded, rejected, accepted (no id)    skip; the line comes from the journal
accepted, or settled timed out (has an id)        resume the command, do not send it again
settled failed (the request was refused)          send again (``RESUBMITTED``)
intent only: **in doubt** (it may have been sent)  send again, or report ``IN_DOUBT``
================================================  =========================================

Waiting is the tracker's job: a handful of submitters only send (or resume), and each
handle's done-callback writes its line, so any number of devices costs a few tasks.
"""

from __future__ import annotations

import asyncio
import enum
import functools
import logging
import time
from collections.abc import Awaitable, Callable, Iterator
from typing import Literal, Protocol

from ..commands import CommandHandle, CommandService
from ..errors import (
    APIError,
    CommandRejected,
    CommandTimeout,
    InvalidArgumentError,
    PrivicoreError,
    TransportError,
)
from ..journal.entries import EntryState, JournalEntry, Outcome
from ..results import (
    DeviceSyncOutcome,
    ProgressCallback,
    SyncOutcome,
    SyncProgress,
    SyncReport,
    SyncSource,
)

__all__ = ["AcceptedCallback", "BulkSync", "InDoubt", "SyncOne", "sync_key"]

logger = logging.getLogger("privicore_async")

KIND = "storage.sync_device"

AcceptedCallback = Callable[[str, CommandHandle], object]
"""``on_accepted(device_identifier, handle)``: the moment a 202 arrives (the id is known)."""
InDoubt = Literal["resubmit", "report"]


class SyncOne(Protocol):
    """Sends one device's sync: ``storage.sync_device``."""

    def __call__(
        self,
        device_identifier: str,
        *,
        timeout: float | None = None,
        key: str | None = None,
        run_id: str | None = None,
    ) -> Awaitable[CommandHandle]:
        """The handle of the accepted sync."""
        ...


_FROM_JOURNAL = {
    Outcome.SUCCEEDED: SyncOutcome.SUCCEEDED,
    Outcome.REJECTED: SyncOutcome.REJECTED,
    Outcome.ACCEPTED: SyncOutcome.ACCEPTED,
}


def sync_key(run_id: str, device_identifier: str) -> str:
    """The journal key of one device's sync in a run."""
    return f"{run_id}/{device_identifier}"


class _Plan(enum.Enum):
    SEND = "send"
    RESUME = "resume"


def _outcome_line(identifier: str, handle: CommandHandle, source: SyncSource) -> DeviceSyncOutcome:
    error = handle.exception()
    command_id = handle.command_id if handle.has_id else None
    if error is None:
        kind = SyncOutcome.SUCCEEDED if handle.has_id else SyncOutcome.ACCEPTED
        return DeviceSyncOutcome(identifier, kind, command_id, source=source)
    if isinstance(error, CommandRejected):
        rejected = SyncOutcome.REJECTED
        return DeviceSyncOutcome(identifier, rejected, command_id, error.reason, error, source)
    if isinstance(error, CommandTimeout):
        timed_out = SyncOutcome.TIMED_OUT
        return DeviceSyncOutcome(identifier, timed_out, command_id, None, error, source)
    # It was accepted, then its status could not be read: it may well have run.
    doubt = SyncOutcome.IN_DOUBT
    return DeviceSyncOutcome(identifier, doubt, command_id, str(error), error, source)


def _refused_line(identifier: str, error: PrivicoreError, source: SyncSource) -> DeviceSyncOutcome:
    """The line of a sync whose request raised: FAILED only when it cannot have run."""
    not_run = isinstance(error, APIError | InvalidArgumentError) or (
        isinstance(error, TransportError) and not error.may_have_arrived
    )
    outcome = SyncOutcome.FAILED if not_run else SyncOutcome.IN_DOUBT
    return DeviceSyncOutcome(identifier, outcome, None, str(error), error, source)


class BulkSync:
    """One ``sync_devices`` call; see the module docstring."""

    def __init__(
        self,
        sync_one: SyncOne,
        service: CommandService,
        identifiers: list[str],
        *,
        concurrency: int,
        timeout: float | None,
        on_progress: ProgressCallback[SyncProgress] | None,
        on_accepted: AcceptedCallback | None,
        run_id: str | None,
        in_doubt: InDoubt,
    ) -> None:
        self._sync_one = sync_one
        self._service = service
        self._identifiers = identifiers
        self._concurrency = concurrency
        self._timeout = timeout
        self._on_progress = on_progress
        self._on_accepted = on_accepted
        self._run_id = run_id
        self._in_doubt = in_doubt
        self._outcomes: list[DeviceSyncOutcome | None] = [None] * len(identifiers)
        self._counts = dict.fromkeys(SyncOutcome, 0)
        self._remaining = len(identifiers)
        self._slots = asyncio.Semaphore(concurrency)
        self._finished: asyncio.Future[None] = asyncio.get_running_loop().create_future()

    async def run(self) -> SyncReport:
        """Send, resume or skip every device; the report once every device has its line."""
        started = time.monotonic()
        work = await self._plan()
        if work:
            items = iter(work)
            # Submitters only send requests; waiting is the tracker's job, so a handful of
            # tasks serve any number of devices.
            submitters = min(self._concurrency, 32, len(work))
            async with asyncio.TaskGroup() as group:
                for _ in range(submitters):
                    group.create_task(self._submit(items))
        if self._remaining:
            await self._finished
        await self._service.flush()  # the journal knows every outcome before the report
        outcomes = tuple(line for line in self._outcomes if line is not None)
        return SyncReport(outcomes, time.monotonic() - started)

    async def _plan(self) -> list[tuple[int, _Plan, SyncSource, JournalEntry | None]]:
        """What to do for each device; lines of skipped devices are recorded at once."""
        journaled: dict[str, JournalEntry] = {}
        if self._run_id is not None:
            for found in await self._service.entries(run_id=self._run_id):
                if found.kind == KIND and found.target is not None:
                    journaled[found.target] = found
        work: list[tuple[int, _Plan, SyncSource, JournalEntry | None]] = []
        for index, identifier in enumerate(self._identifiers):
            # A non-string identifier gets its FAILED line when its request is built.
            entry = journaled.get(identifier) if isinstance(identifier, str) else None
            if entry is None:
                work.append((index, _Plan.SEND, SyncSource.SUBMITTED, None))
            elif entry.state is EntryState.SETTLED and entry.outcome in _FROM_JOURNAL:
                outcome = _FROM_JOURNAL[entry.outcome]
                line = DeviceSyncOutcome(
                    identifier, outcome, entry.command_id, entry.reason, source=SyncSource.JOURNAL
                )
                self._record(index, line)
            elif entry.command_id is not None and entry.outcome in (None, Outcome.TIMED_OUT):
                work.append((index, _Plan.RESUME, SyncSource.RESUMED, entry))
            elif entry.in_doubt and self._in_doubt == "report":
                line = DeviceSyncOutcome(
                    identifier, SyncOutcome.IN_DOUBT, source=SyncSource.JOURNAL
                )
                self._record(index, line)
            else:  # in doubt, or refused before it could start: safe to send again
                work.append((index, _Plan.SEND, SyncSource.RESUBMITTED, entry))
        return work

    async def _submit(
        self, work: Iterator[tuple[int, _Plan, SyncSource, JournalEntry | None]]
    ) -> None:
        run_id = self._run_id
        for index, plan, source, entry in work:
            identifier = self._identifiers[index]
            await self._slots.acquire()
            try:
                if plan is _Plan.RESUME:
                    assert entry is not None
                    assert entry.command_id is not None
                    handle = self._service.resume(
                        entry.command_id, kind=KIND, timeout=self._timeout, key=entry.key
                    )
                else:
                    key = None if run_id is None else sync_key(run_id, identifier)
                    handle = await self._sync_one(
                        identifier, timeout=self._timeout, key=key, run_id=run_id
                    )
                    self._accepted(identifier, handle)
            except PrivicoreError as exc:
                self._slots.release()
                self._record(index, _refused_line(identifier, exc, source))
                continue
            except Exception as exc:  # a bug must cost one device, not the run's report
                logger.exception("sync of one device failed unexpectedly")
                self._slots.release()
                doubt = SyncOutcome.IN_DOUBT
                self._record(
                    index, DeviceSyncOutcome(str(identifier), doubt, None, str(exc), exc, source)
                )
                continue
            except BaseException:
                self._slots.release()
                raise
            handle.add_done_callback(functools.partial(self._settled, index, source))

    def _accepted(self, identifier: str, handle: CommandHandle) -> None:
        if self._on_accepted is None:
            return
        try:
            self._on_accepted(identifier, handle)
        except Exception:  # the caller's bookkeeping must not lose the run
            logger.exception("on_accepted callback failed")

    def _settled(self, index: int, source: SyncSource, handle: CommandHandle) -> None:
        self._slots.release()
        self._record(index, _outcome_line(self._identifiers[index], handle, source))

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
                in_doubt=counts[SyncOutcome.IN_DOUBT],
            )
            try:
                self._on_progress(progress)
            except Exception:  # a broken progress bar must not lose the report
                logger.exception("on_progress callback failed")
        if self._remaining == 0 and not self._finished.done():
            self._finished.set_result(None)
