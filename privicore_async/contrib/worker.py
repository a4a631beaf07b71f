"""Running a sync worker in this process: taskiq's receiver, a clean stop, no task left behind.

:func:`run_worker` starts the broker (which opens the worker's one client), runs
``taskiq.api.run_receiver_task`` in this process and event loop (taskiq's own CLI would spawn
processes), and stops in one of two ways:

* **gracefully**, when ``stop`` is set: no new batch is taken, running batches finish and are
  acknowledged; after ``settings.grace`` seconds the ones still running are stopped hard;
* **hard**, when the call is cancelled (or the grace ran out): running batches are cancelled
  and *not* acknowledged, and their messages are handed back at once, so another worker runs
  them again and resumes them from the journal.

Either way the client, the journal, the rate limit and the Redis connections are closed
before it returns.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from typing import Any

from taskiq import AckableMessage, AcknowledgeType
from taskiq.api import run_receiver_task
from taskiq.receiver import Receiver

from .broker import make_broker
from .settings import WorkerSettings
from .streams import Delivery, LeasedStreamBroker

__all__ = ["run_worker"]

logger = logging.getLogger("privicore_async")

_HARD_STOP_WAIT = 10.0  # seconds for cancelled batches to wind down before the receiver goes


class _ReceiverStopped(BaseException):
    """The receiver finished after a stop. A BaseException on purpose: ``run_receiver_task``
    restarts its receiver after any ``Exception`` and logs a cancellation as a warning."""


def _receiver_class(
    broker: LeasedStreamBroker, stopping: asyncio.Event, running: set[asyncio.Task[Any]]
) -> type[Receiver]:
    """A :class:`~taskiq.receiver.Receiver` that stops on ``stopping``, leases each
    message while its task runs, and keeps the running tasks in ``running``."""

    class WorkerReceiver(Receiver):
        async def listen(self, finish_event: asyncio.Event) -> None:
            self.on_exit = None  # taskiq's own ends the receiver with a CancelledError
            relay = asyncio.create_task(_relay(stopping, finish_event))
            try:
                # Returns once finish_event is set and the running tasks have finished.
                await super().listen(finish_event)
            finally:
                relay.cancel()
                await asyncio.wait({relay})
            raise _ReceiverStopped

        async def callback(self, message: bytes | AckableMessage, raise_err: bool = False) -> None:
            task = asyncio.current_task()
            assert task is not None
            running.add(task)
            try:
                delivery = message.ack if isinstance(message, AckableMessage) else None
                if isinstance(delivery, Delivery):
                    async with broker.lease(delivery):
                        await super().callback(message, raise_err)
                else:
                    await super().callback(message, raise_err)
            except Exception:
                # taskiq's own handling failed (the task's errors never get here): the message
                # stays pending and runs again once its lease has lapsed.
                logger.exception("worker: a message could not be handled; it will run again")
            finally:
                running.discard(task)

    return WorkerReceiver


async def _relay(source: asyncio.Event, target: asyncio.Event) -> None:
    await source.wait()
    target.set()


async def run_worker(
    settings: WorkerSettings | None = None,
    *,
    stop: asyncio.Event | None = None,
    on_ready: Callable[[str], object] | None = None,
) -> None:
    """Run a sync worker until ``stop`` is set (or the call is cancelled); see the module.

    ``settings`` default to :meth:`WorkerSettings.from_env`. ``on_ready(consumer_name)`` is
    called once the client is open and the worker is about to take batches.
    """
    settings = settings or WorkerSettings.from_env()
    stop = stop or asyncio.Event()
    broker = make_broker(
        settings.redis_url,
        queue=settings.queue,
        idle_timeout=settings.idle_timeout,
        settings=settings,
    )
    broker.is_worker_process = True  # startup() then runs the WORKER_STARTUP handlers
    try:
        await broker.startup()
        if on_ready is not None:
            on_ready(broker.consumer_name)
        await _receive(broker, settings, stop)
    finally:
        await broker.shutdown()


async def _receive(
    broker: LeasedStreamBroker, settings: WorkerSettings, stop: asyncio.Event
) -> None:
    stopping = asyncio.Event()
    running: set[asyncio.Task[Any]] = set()
    receiver = asyncio.create_task(
        run_receiver_task(
            broker,
            receiver_cls=_receiver_class(broker, stopping, running),
            max_async_tasks=settings.batches,
            max_prefetch=0,  # take a batch only when it can start: the rest is others' work
            ack_time=AcknowledgeType.WHEN_EXECUTED,
            run_startup=False,  # done above, once: a restarted receiver must not reopen
        ),
        name="privicore-worker-receiver",
    )
    try:
        await _first_of(receiver, stop)
        stopping.set()
        await asyncio.wait({receiver}, timeout=settings.grace)
        if not receiver.done():
            logger.warning(
                "worker: %d batch(es) still running after %g s: handing them back",
                len(running),
                settings.grace,
            )
            await _stop_hard(broker, receiver, running)
    except asyncio.CancelledError:
        stopping.set()
        await _stop_hard(broker, receiver, running)
        raise
    finally:
        await _drain(running)  # a receiver restarted after an error may have left some
        failure = _failure(receiver)  # read even when cancelled: asyncio logs unread ones
    if failure is not None:
        raise failure


def _failure(receiver: asyncio.Task[None]) -> BaseException | None:
    """The receiver's own error, if it failed (a stop is not one)."""
    if not receiver.done() or receiver.cancelled():
        return None
    error = receiver.exception()
    return None if isinstance(error, _ReceiverStopped) else error


async def _first_of(receiver: asyncio.Task[None], stop: asyncio.Event) -> None:
    """Return when ``stop`` is set or ``receiver`` ended, whichever comes first."""
    stopped = asyncio.create_task(stop.wait())
    try:
        await asyncio.wait({receiver, stopped}, return_when=asyncio.FIRST_COMPLETED)
    finally:
        stopped.cancel()
        await asyncio.wait({stopped})


async def _stop_hard(
    broker: LeasedStreamBroker, receiver: asyncio.Task[None], running: set[asyncio.Task[Any]]
) -> None:
    broker.hand_back_all()  # a batch cancelled now must not be acknowledged as done
    await _drain(running)
    # With its tasks gone the receiver ends by itself; if not, it is cancelled.
    await asyncio.wait({receiver}, timeout=_HARD_STOP_WAIT)
    if not receiver.done():
        receiver.cancel()
        await asyncio.wait({receiver})


async def _drain(running: set[asyncio.Task[Any]]) -> None:
    """Cancel the batches still running and wait until they are gone."""
    tasks = set(running)
    for task in tasks:
        task.cancel()
    if tasks:
        await asyncio.wait(tasks)
