"""Group commit: concurrent writes share one transaction (or one pipeline).

A journal write must be durable before it returns, and a durable write costs a commit (an
fsync-free WAL append for SQLite, a round trip for Redis). A thousand commands in flight would
cost a thousand commits if each wrote alone. Instead, while one flush is in flight the writes
that arrive queue up, and the next flush writes all of them at once: the more writers, the
bigger the batches, and the cost per write falls as the load rises.

One flusher task runs only while there is work: it starts with the first queued write and
ends when the queue is empty, so an idle journal owns no task.
"""

from __future__ import annotations

import asyncio
from collections import deque
from collections.abc import Awaitable, Callable, Iterable, Sequence
from typing import Generic, TypeVar

from .entries import JournalError

__all__ = ["MAX_BATCH", "GroupCommitter"]

Op = TypeVar("Op")

MAX_BATCH = 1000
"""Writes per flush at most: bounds a transaction's size and a pipeline's memory."""


class GroupCommitter(Generic[Op]):
    """Queues writes and flushes them in batches with ``write(ops)``, one batch at a time.

    ``write`` must write all of ``ops`` atomically, in order, and return once they are durable;
    it raises (preferably a :class:`JournalError` whose message names no secret) if it could
    not. Every writer of the batch then gets a ``JournalError`` with that message.
    """

    def __init__(
        self,
        write: Callable[[Sequence[Op]], Awaitable[None]],
        *,
        max_batch: int = MAX_BATCH,
        name: str = "privicore-journal-flush",
    ) -> None:
        if max_batch < 1:
            raise ValueError("max_batch must be at least 1")
        self._write = write
        self._max_batch = max_batch
        self._name = name
        # An op queued by submit_many() without a future of its own has None: only the last
        # op of such a group carries the group's future.
        self._queue: deque[tuple[Op, asyncio.Future[None] | None]] = deque()
        self._task: asyncio.Task[None] | None = None
        self._closed = False

    @property
    def idle(self) -> bool:
        """True when nothing is queued or being written (and so no flusher task runs)."""
        return self._task is None

    async def submit(self, op: Op) -> None:
        """Queue ``op``; return once the flush that wrote it is durable.

        Raises :class:`JournalError` if that flush failed or the committer is closed. A
        writer cancelled before its flush began is left out of it; once the flush began,
        the op is written whether or not anybody still waits.
        """
        if self._closed:
            raise JournalError("the journal is closed")
        future: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._queue.append((op, future))
        if self._task is None:
            self._task = asyncio.get_running_loop().create_task(self._run(), name=self._name)
        await future

    async def submit_many(self, ops: Sequence[Op]) -> None:
        """Queue ``ops`` together (one future for all, no task per op); return once the
        flush that wrote the last of them is durable (flushes are written in order)."""
        if self._closed:
            raise JournalError("the journal is closed")
        if not ops:
            return
        future: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._queue.extend((op, None) for op in ops[:-1])
        self._queue.append((ops[-1], future))
        if self._task is None:
            self._task = asyncio.get_running_loop().create_task(self._run(), name=self._name)
        await future

    async def close(self) -> None:
        """Refuse new writes, write what is queued, and return once no task is left."""
        self._closed = True
        task = self._task
        if task is not None:
            # wait(), not await: the flusher's own cancellation is its writers' business, and
            # it already failed them; close() only needs it gone.
            await asyncio.wait({task})

    async def _run(self) -> None:
        queue = self._queue
        try:
            while queue:
                count = min(len(queue), self._max_batch)
                taken = [queue.popleft() for _ in range(count)]
                # A writer cancelled while queued is left out: nobody will act on it.
                batch = [
                    (op, future) for op, future in taken if future is None or not future.done()
                ]
                if batch:
                    await self._flush(batch)
        except asyncio.CancelledError:
            # Cancelled with writers still queued (the loop is shutting down): none of them
            # may wait forever.
            _fail(queue, "the journal stopped before this write was flushed")
            queue.clear()
            raise
        finally:
            # No await between the last look at the queue and here: a write queued after
            # this point finds no task and starts a new one.
            self._task = None

    async def _flush(self, batch: list[tuple[Op, asyncio.Future[None] | None]]) -> None:
        problem: str | None = None
        try:
            await self._write([op for op, _ in batch])
        except asyncio.CancelledError:
            _fail(batch, "the journal stopped while this write was being flushed")
            raise
        except JournalError as exc:
            problem = str(exc)
        except Exception as exc:
            # Only the type: a foreign exception's text may quote what was being written.
            problem = f"journal write failed ({type(exc).__name__})"
        if problem is None:
            for _, future in batch:
                if future is not None and not future.done():
                    future.set_result(None)
        else:
            _fail(batch, problem)


def _fail(items: Iterable[tuple[object, asyncio.Future[None] | None]], problem: str) -> None:
    # A fresh error per writer, built here and not raised here: it carries no __context__
    # (the store's exception, which may quote a secret, is never chained to it), and writers
    # do not share one traceback.
    for _, future in items:
        if future is not None and not future.done():
            future.set_exception(JournalError(problem))
