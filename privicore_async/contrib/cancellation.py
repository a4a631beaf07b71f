"""A cancellation that a Redis call lost, for the loops that only end by cancellation.

redis-py can lose a cancellation that lands while it waits on a reply: under load an
``XREADGROUP ... BLOCK`` cancelled by taskiq's receiver returned as if nothing came, its
task's ``cancelling()`` count still 1 and no ``CancelledError`` raised. A loop that only
ends by cancellation then runs on forever: taskiq, which waits for its stream reader inside
a shielded scope, hung a worker's stop (seen about once in 30 cancelled workers), and an
``asyncio.timeout`` around :func:`~privicore_async.contrib.progress.wait_for_run` could
never end it. So those loops look at their task after each Redis call.

Not for cleanup code: a task that is handling its own cancellation (in an ``except`` or
``finally``) is cancelling too, and its cleanup must still run.
"""

from __future__ import annotations

import asyncio

__all__ = ["cancel_pending"]


def cancel_pending() -> bool:
    """Whether this task was cancelled although no ``CancelledError`` came through."""
    task = asyncio.current_task()
    return task is not None and task.cancelling() > 0
