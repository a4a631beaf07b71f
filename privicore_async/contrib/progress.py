"""Where a fleet sync run stands, read from its journal: counts, a wait, and a re-run's reset.

A run's workers write every device's command into one journal (``sync_key(run_id, device)``);
the coordinator only reads it. These functions take any
:class:`~privicore_async.journal.CommandJournal` (a ``RedisJournal`` shared with the workers,
or the ``SqliteJournal`` of a run in one process) and import neither Redis nor taskiq.
"""

from __future__ import annotations

import asyncio
from collections import Counter
from collections.abc import Awaitable, Callable, Collection, Iterable

import attrs

from ..journal.entries import EntryState, Intent, JournalEntry, Outcome
from ..journal.protocol import CommandJournal
from ..resources.bulk_sync import KIND
from .cancellation import cancel_pending

__all__ = ["RunProgress", "progress_of", "reopen_run", "run_progress", "wait_for_run"]

ProgressCallback = Callable[["RunProgress"], object]


@attrs.frozen
class RunProgress:
    """Counts of one run's devices by journal state, and of the settled ones by outcome."""

    total: int
    """Devices in the run (as the caller counts them)."""
    settled: int = 0
    """Devices whose outcome is known (the sum of the outcome counts below)."""
    accepted: int = 0
    """Accepted by the server; the outcome is not known yet."""
    in_doubt: int = 0
    """Maybe sent, acceptance never recorded: a worker resends them."""
    succeeded: int = 0
    rejected: int = 0
    timed_out: int = 0
    failed: int = 0
    accepted_no_id: int = 0
    """Settled by a 202 without a command id: accepted, the outcome unknowable."""
    reasons: tuple[tuple[str, int], ...] = ()
    """Rejection reasons and how many devices each, most common first."""

    @property
    def not_started(self) -> int:
        """Devices with no journal entry yet."""
        return max(0, self.total - self.settled - self.accepted - self.in_doubt)

    @property
    def done(self) -> bool:
        """Every device of the run is settled."""
        return self.settled >= self.total

    @property
    def all_succeeded(self) -> bool:
        """Every device settled as synchronised (or accepted without an id)."""
        return self.succeeded + self.accepted_no_id >= self.total


def _is_sync(entry: JournalEntry, devices: Collection[str] | None) -> bool:
    return entry.kind == KIND and (devices is None or entry.target in devices)


def progress_of(
    entries: Iterable[JournalEntry], total: int, *, devices: Collection[str] | None = None
) -> RunProgress:
    """Count ``entries`` (of one run; only the devices in ``devices`` when given)."""
    states: Counter[EntryState] = Counter()
    outcomes: Counter[Outcome | None] = Counter()
    reasons: Counter[str] = Counter()
    for entry in entries:
        if not _is_sync(entry, devices):
            continue
        states[entry.state] += 1
        if entry.state is EntryState.SETTLED:
            outcomes[entry.outcome] += 1
            if entry.outcome is Outcome.REJECTED:
                reasons[str(entry.reason)] += 1
    return RunProgress(
        total=total,
        settled=states[EntryState.SETTLED],
        accepted=states[EntryState.ACCEPTED],
        in_doubt=states[EntryState.INTENT],
        succeeded=outcomes[Outcome.SUCCEEDED],
        rejected=outcomes[Outcome.REJECTED],
        timed_out=outcomes[Outcome.TIMED_OUT],
        failed=outcomes[Outcome.FAILED],
        accepted_no_id=outcomes[Outcome.ACCEPTED],
        reasons=tuple(reasons.most_common()),
    )


async def run_progress(
    journal: CommandJournal,
    run_id: str,
    total: int,
    *,
    devices: Collection[str] | None = None,
) -> RunProgress:
    """Where run ``run_id`` stands in ``journal`` (open), for ``total`` devices.

    ``devices`` limits the count to those device ids (entries an earlier attempt made for
    other devices are left out); pass a ``set`` for large runs.
    """
    return progress_of(await journal.entries(run_id=run_id), total, devices=devices)


async def wait_for_run(
    journal: CommandJournal,
    run_id: str,
    total: int,
    *,
    devices: Collection[str] | None = None,
    on_progress: ProgressCallback | None = None,
    poll: float = 0.5,
    still_queued: Callable[[], Awaitable[bool]] | None = None,
) -> RunProgress:
    """Read the run's progress every ``poll`` seconds until every device is settled.

    ``on_progress(progress)`` is called after each read. ``still_queued()`` (e.g. a call of
    :func:`~privicore_async.contrib.broker.run_is_queued`) tells whether some batch of the run
    is still queued or running; when none is and the run is not done, nothing will settle the
    rest (a batch went to the dead letters, a settlement was not written), so it returns the
    unfinished progress (``progress.done`` is false). Without it there is no deadline: bound
    the wait with ``asyncio.timeout`` if workers may be gone for good.
    """
    if poll <= 0:
        raise ValueError("poll must be > 0")
    while True:
        progress = await run_progress(journal, run_id, total, devices=devices)
        stalled = False
        if not progress.done and still_queued is not None and not await still_queued():
            # A batch leaves the queue only after its outcomes are journaled: read once more,
            # in case the last ones finished between the two reads.
            progress = await run_progress(journal, run_id, total, devices=devices)
            stalled = not progress.done
        if cancel_pending():  # lost in a Redis call: see .cancellation
            raise asyncio.CancelledError
        if on_progress is not None:
            on_progress(progress)
        if progress.done or stalled:
            return progress
        await asyncio.sleep(poll)


async def reopen_run(
    journal: CommandJournal, run_id: str, *, devices: Collection[str] | None = None
) -> int:
    """Turn the run's retryable outcomes back into work before it is enqueued again.

    A re-run resends devices whose request failed and resumes those that timed out (see
    :mod:`privicore_async.resources.bulk_sync`); until a worker gets to them their old
    outcome would make the run look finished. So a failed entry goes back to *intent* (to be
    sent again) and a timed-out one back to *accepted* (its command id is kept, to be resumed
    and not resent). Settled successes and rejections stay. Returns how many were reopened.
    """
    writes = []
    for entry in await journal.entries(run_id=run_id):
        if not _is_sync(entry, devices) or entry.state is not EntryState.SETTLED:
            continue
        if entry.outcome is Outcome.FAILED:
            intent = Intent(entry.key, entry.kind, entry.target, entry.run_id, entry.deadline)
            writes.append(journal.intend(intent))
        elif entry.outcome is Outcome.TIMED_OUT and entry.command_id is not None:
            writes.append(journal.accept(entry.key, entry.command_id))
    # Together, so that the journal group-commits them (one flush, not one per entry).
    await asyncio.gather(*writes)
    return len(writes)
