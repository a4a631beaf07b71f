"""A stand-in for a Redis call that loses a cancellation, as redis-py did under load."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import Any

import attrs


@attrs.define
class LosesOneCancel:
    """Wraps a Redis call (of the broker, of a journal) so that the first cancellation landing
    in it is lost and the call still runs, as redis-py once did under load with a blocking
    XREADGROUP (it returned as if nothing had happened; the task's ``cancelling()`` stayed 1).
    """

    call: Callable[..., Awaitable[Any]]
    entered: asyncio.Event = attrs.field(factory=asyncio.Event)
    lost: bool = False

    async def __call__(self, *args: object, **kwargs: object) -> Any:
        self.entered.set()
        if not self.lost:
            try:
                await asyncio.sleep(0.2)  # long enough for the caller's cancel to land here
            except asyncio.CancelledError:
                self.lost = True
        return await self.call(*args, **kwargs)
