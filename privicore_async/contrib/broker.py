"""The sync queue's broker and its one task: a batch of devices of one run.

:func:`make_broker` builds a :class:`~.streams.LeasedStreamBroker` with the task
:data:`SYNC_TASK` registered on it. In a worker process (``WORKER_STARTUP``) the broker opens
one :class:`~privicore_async.PrivicoreClient` for the process's whole life, with a
``RedisJournal`` on the same Redis as the queue (so every worker and the coordinator see one
journal per run) and, if configured, a ``RedisRateLimit`` shared by all workers; it closes
them at ``WORKER_SHUTDOWN``. The task runs ``client.storage.sync_devices(batch, run_id=...)``:
run again after a crash, it skips the devices the journal shows settled, resumes the accepted
ones and resends the ones in doubt.

A batch's message is acknowledged only after the task ran (``AcknowledgeType.WHEN_EXECUTED``):
a worker killed mid-batch leaves it pending, and another worker takes it over. A batch that
fails as a whole because the journal could not be written (Redis unreachable) is queued again
(taskiq's ``SimpleRetryMiddleware``, at most :data:`ATTEMPTS` runs).
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Iterable

import attrs
from taskiq import AcknowledgeType, TaskiqEvents, TaskiqState
from taskiq.middlewares import SimpleRetryMiddleware

from ..arguments import require_int, require_text
from ..client import PrivicoreClient
from ..errors import InvalidArgumentError
from ..journal.entries import JournalError
from ..journal.redis import RedisJournal
from ..ratelimit import RedisRateLimit
from ..results import SyncReport, SyncSource
from .settings import DEFAULT_QUEUE, WorkerSettings
from .streams import LeasedStreamBroker

__all__ = ["ATTEMPTS", "SYNC_TASK", "batch_counts", "enqueue_sync", "make_broker", "run_is_queued"]

logger = logging.getLogger("privicore_async")

SYNC_TASK = "privicore.sync_batch"
"""The task's name on the queue: ``sync_batch(run_id, device_ids)``."""
ATTEMPTS = 5
"""Runs of a batch at most when it fails as a whole (a crash does not count: see streams)."""


def batch_counts(report: SyncReport) -> dict[str, int]:
    """A batch's report as plain counts: devices, each outcome, and where lines came from."""
    counts = {"devices": len(report.outcomes)}
    counts |= {outcome.value: n for outcome, n in report.counts().items()}
    sources = report.sources()
    counts["resumed"] = sources[SyncSource.RESUMED]
    counts["resubmitted"] = sources[SyncSource.RESUBMITTED]
    counts["skipped"] = sources[SyncSource.JOURNAL]
    return counts


@attrs.define
class _Worker:
    """What one worker process holds for its whole life."""

    settings: WorkerSettings
    client: PrivicoreClient
    _resources: contextlib.AsyncExitStack = attrs.field(repr=False)

    @classmethod
    async def open(cls, settings: WorkerSettings) -> _Worker:
        stack = contextlib.AsyncExitStack()
        try:
            limit = None
            if settings.rate_limit is not None:
                rate, burst = settings.rate_limit
                limit = RedisRateLimit(settings.redis_url, settings.rate_limit_key, rate, burst)
                stack.push_async_callback(limit.close)  # the client never closes a limit
            journal = RedisJournal(settings.redis_url, settings.namespace)
            stack.push_async_callback(journal.close)
            await journal.open()  # fail at startup, not at the first batch
            client = PrivicoreClient(
                settings.api_url,
                ws_url=settings.ws_url,
                username=settings.username,
                password=settings.password,
                journal=journal,
                rate_limit=limit,
            )
            await stack.enter_async_context(client)
        except BaseException:
            await stack.aclose()
            raise
        return cls(settings, client, stack)

    async def close(self) -> None:
        await self._resources.aclose()

    async def sync(self, run_id: str, device_ids: list[str]) -> dict[str, int]:
        report = await self.client.storage.sync_devices(
            device_ids, run_id=run_id, concurrency=self.settings.concurrency
        )
        unjournaled = sum(isinstance(line.error, JournalError) for line in report.failed)
        if unjournaled:
            # Nothing was sent for those, and the journal does not know them: the run would
            # wait for them forever. Raised, the batch is queued again (see ATTEMPTS).
            raise JournalError(
                f"run {run_id!r}: {unjournaled} device(s) of a batch could not be journaled"
            )
        counts = batch_counts(report)
        logger.info(
            "run %s: batch of %d devices done: %s",
            run_id,
            len(device_ids),
            " ".join(f"{name} {n}" for name, n in counts.items() if n and name != "devices"),
        )
        return counts


@attrs.define
class _Slot:
    worker: _Worker | None = None


def make_broker(
    redis_url: str,
    *,
    queue: str = DEFAULT_QUEUE,
    idle_timeout: float = 60.0,
    settings: WorkerSettings | None = None,
) -> LeasedStreamBroker:
    """The broker of the sync queue ``queue`` on ``redis_url``, with :data:`SYNC_TASK`.

    ``idle_timeout`` (seconds): how long a batch whose worker stopped renewing its lease
    (killed, or stalled) waits before another worker takes it over. ``settings`` configure
    the client a worker opens at startup (default: :meth:`WorkerSettings.from_env`); a
    coordinator that only enqueues needs none. Workers run it with
    :func:`~privicore_async.contrib.taskiq.run_worker`.
    """
    broker = LeasedStreamBroker(
        redis_url,
        queue_name=queue,
        idle_timeout=idle_timeout,
        # How long one read blocks: also how often an idle worker looks for dead workers' work.
        read_block=min(2.0, idle_timeout / 4),
    )
    broker.add_middlewares(
        SimpleRetryMiddleware(default_retry_count=ATTEMPTS, types_of_exceptions=(JournalError,))
    )
    slot = _Slot()

    async def open_worker(state: TaskiqState) -> None:
        given = settings or WorkerSettings.from_env(
            redis_url=redis_url, queue=queue, idle_timeout=idle_timeout
        )
        slot.worker = await _Worker.open(given)

    async def close_worker(state: TaskiqState) -> None:
        worker, slot.worker = slot.worker, None
        if worker is not None:
            await worker.close()

    async def sync_batch(run_id: str, device_ids: list[str]) -> dict[str, int]:
        """Synchronise ``device_ids`` as part of run ``run_id``; the batch's counts."""
        worker = slot.worker
        if worker is None:
            raise RuntimeError("sync_batch runs in a started worker (see run_worker)")
        return await worker.sync(run_id, device_ids)

    broker.on_event(TaskiqEvents.WORKER_STARTUP)(open_worker)
    broker.on_event(TaskiqEvents.WORKER_SHUTDOWN)(close_worker)
    broker.register_task(
        sync_batch,
        task_name=SYNC_TASK,
        # The value: labels travel as text, and str() of the enum member is its qualified name.
        ack_type=AcknowledgeType.WHEN_EXECUTED.value,
        retry_on_error=True,
        max_retries=ATTEMPTS,
    )
    return broker


async def enqueue_sync(
    broker: LeasedStreamBroker, device_ids: Iterable[str], *, run_id: str, batch: int = 500
) -> int:
    """Queue ``device_ids`` for run ``run_id`` in batches of ``batch``; the number of batches.

    Each device belongs to one batch; a run lists each device once (``InvalidArgumentError``
    otherwise, before anything is queued). Follow the run with
    :func:`~privicore_async.contrib.progress.wait_for_run`.
    """
    require_text("run_id", run_id)
    require_int("batch", batch, minimum=1)
    identifiers = [require_text("device_ids", device) for device in device_ids]
    if len(set(identifiers)) != len(identifiers):
        raise InvalidArgumentError("device_ids", "a run lists each device once")
    task = broker.find_task(SYNC_TASK)
    if task is None:
        raise ValueError("this broker has no sync task: build it with make_broker()")
    batches = 0
    for start in range(0, len(identifiers), batch):
        await task.kiq(run_id=run_id, device_ids=identifiers[start : start + batch])
        batches += 1
    return batches


async def run_is_queued(broker: LeasedStreamBroker, run_id: str) -> bool:
    """Whether some batch of run ``run_id`` is still in the queue (waiting, or running and not
    acknowledged yet). Stops at the first one found."""
    async with contextlib.aclosing(broker.queued()) as queued:
        async for data in queued:
            try:
                message = broker.formatter.loads(message=data)
            except Exception:  # not a taskiq message (the worker drops those)
                continue
            if message.task_name == SYNC_TASK and message.kwargs.get("run_id") == run_id:
                return True
    return False
