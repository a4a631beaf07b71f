"""journal/batch.py: writes queued during a flush share the next one; errors reach each writer."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence

import pytest

from privicore_async.journal import JournalError
from privicore_async.journal.batch import GroupCommitter


class Store:
    """A write function that records its batches and takes a little while, like a commit."""

    def __init__(self, delay: float = 0.001) -> None:
        self.batches: list[list[int]] = []
        self.delay = delay
        self.error: Exception | None = None
        self.gate: asyncio.Event | None = None

    async def write(self, ops: Sequence[int]) -> None:
        self.batches.append(list(ops))
        if self.gate is not None:
            await self.gate.wait()
        await asyncio.sleep(self.delay)
        if self.error is not None:
            raise self.error

    @property
    def written(self) -> list[int]:
        return [op for batch in self.batches for op in batch]


def only_this_task() -> bool:
    return asyncio.all_tasks() == {asyncio.current_task()}


async def test_writes_that_arrive_during_a_flush_share_the_next() -> None:
    store = Store()
    committer = GroupCommitter(store.write)

    async def writer(i: int) -> None:
        await asyncio.sleep(0.0005 * (i % 5))
        await committer.submit(i)

    await asyncio.gather(*(writer(i) for i in range(300)))
    assert sorted(store.written) == list(range(300))
    assert len(store.batches) <= 10
    assert committer.idle  # no task while nothing is queued
    assert only_this_task()
    await committer.close()


async def test_a_batch_keeps_the_order_of_submission() -> None:
    store = Store()
    committer = GroupCommitter(store.write)
    await asyncio.gather(*(committer.submit(i) for i in range(50)))
    assert store.batches == [list(range(50))]
    await committer.close()


async def test_batches_are_bounded() -> None:
    store = Store()
    committer = GroupCommitter(store.write, max_batch=10)
    await asyncio.gather(*(committer.submit(i) for i in range(95)))
    assert [len(batch) for batch in store.batches] == [10] * 9 + [5]
    assert store.written == list(range(95))
    await committer.close()
    with pytest.raises(ValueError, match="max_batch"):
        GroupCommitter(store.write, max_batch=0)


async def test_a_failed_flush_fails_each_writer_without_the_cause() -> None:
    store = Store()
    store.error = RuntimeError("could not write token=abc123")
    committer = GroupCommitter(store.write)
    results = await asyncio.gather(*(committer.submit(i) for i in range(5)), return_exceptions=True)
    assert len({id(result) for result in results}) == 5  # one error each, not a shared one
    for result in results:
        assert isinstance(result, JournalError)
        assert str(result) == "journal write failed (RuntimeError)"  # not its text
        assert result.__context__ is None
        assert result.__cause__ is None

    store.error = JournalError("SQLite journal x.db: write: OperationalError: disk I/O error")
    with pytest.raises(JournalError, match="disk I/O error") as raised:
        await committer.submit(5)
    assert raised.value.__context__ is None

    store.error = None  # the next flush is on its own
    await committer.submit(6)
    assert store.batches[-1] == [6]
    await committer.close()


async def test_a_writer_cancelled_while_queued_is_left_out() -> None:
    store = Store()
    store.gate = asyncio.Event()
    committer = GroupCommitter(store.write)
    first = asyncio.create_task(committer.submit(1))
    await asyncio.sleep(0)  # the first flush starts, and waits at the gate
    queued = [asyncio.create_task(committer.submit(i)) for i in (2, 3, 4)]
    await asyncio.sleep(0)
    queued[1].cancel()
    store.gate.set()
    await asyncio.gather(first, queued[0], queued[2])
    with pytest.raises(asyncio.CancelledError):
        await queued[1]
    assert store.batches == [[1], [2, 4]]
    await committer.close()


async def test_close_flushes_what_is_queued_then_refuses() -> None:
    store = Store(delay=0.01)
    committer = GroupCommitter(store.write)
    writers = [asyncio.create_task(committer.submit(i)) for i in range(20)]
    await asyncio.sleep(0)
    await committer.close()
    await asyncio.gather(*writers)
    assert store.written == list(range(20))
    assert only_this_task()
    with pytest.raises(JournalError, match="closed"):
        await committer.submit(99)
    await committer.close()  # idempotent


async def test_a_cancelled_flusher_fails_its_writers_instead_of_leaving_them_waiting() -> None:
    store = Store()
    store.gate = asyncio.Event()  # never opened: the flush hangs
    committer = GroupCommitter(store.write, max_batch=2, name="test-flush")
    writers = [asyncio.create_task(committer.submit(i)) for i in range(5)]
    await asyncio.sleep(0)
    await asyncio.sleep(0)
    (flusher,) = [task for task in asyncio.all_tasks() if task.get_name() == "test-flush"]
    flusher.cancel()  # as when the event loop shuts down
    results = await asyncio.gather(*writers, return_exceptions=True)
    assert all(isinstance(result, JournalError) for result in results)
    assert "stopped" in str(results[0])
    assert committer.idle
    await committer.close()
    assert only_this_task()
