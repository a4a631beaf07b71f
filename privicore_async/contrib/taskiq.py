"""Fleet syncs scaled out over worker processes, on taskiq and Redis (the ``redis`` extra).

A coordinator splits a run's devices into batches and queues them; any number of workers, on
any machines, take batches one at a time and run ``storage.sync_devices(batch, run_id=...)``
with their own long-lived client; every one of them journals into one ``RedisJournal`` on the
same Redis, where the coordinator follows the run::

    # a worker process (or: privicore worker --redis redis://... --api-url ...)
    await run_worker(WorkerSettings.from_env(), stop=stop_event)

    # the coordinator (or: privicore sync --from ids.txt --run-id fleet-7 --redis redis://...)
    broker = make_broker(redis_url)
    await broker.startup()
    await enqueue_sync(broker, device_ids, run_id="fleet-7", batch=500)
    await broker.shutdown()
    journal = RedisJournal(redis_url)
    await journal.open()
    progress = await wait_for_run(journal, "fleet-7", len(device_ids))

A batch is acknowledged only after it ran; a worker killed mid-batch leaves it to another
worker, which resumes it from the journal: settled devices are skipped, accepted ones resumed,
in-doubt ones sent again. See :mod:`.streams` for the queue's leases and :mod:`.worker` for
how a worker stops.
"""

from __future__ import annotations

from .broker import ATTEMPTS, SYNC_TASK, batch_counts, enqueue_sync, make_broker, run_is_queued
from .progress import RunProgress, progress_of, reopen_run, run_progress, wait_for_run
from .settings import WorkerSettings
from .streams import LeasedStreamBroker
from .worker import run_worker

__all__ = [
    "ATTEMPTS",
    "SYNC_TASK",
    "LeasedStreamBroker",
    "RunProgress",
    "WorkerSettings",
    "batch_counts",
    "enqueue_sync",
    "make_broker",
    "progress_of",
    "reopen_run",
    "run_is_queued",
    "run_progress",
    "run_worker",
    "wait_for_run",
]
