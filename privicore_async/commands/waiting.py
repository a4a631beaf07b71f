"""Waiting on many handles at once, no task per handle: :func:`gather`, :class:`as_completed`.

Both are typed for the caller: ``gather`` gives ``list[CommandResult]``, or with
``return_exceptions=True`` ``list[CommandResult | BaseException]``; ``as_completed`` yields
the handles it was given, of the type they have.
"""

from __future__ import annotations

import asyncio
from collections import deque
from collections.abc import Iterable
from typing import Generic, Literal, Self, TypeVar, cast, overload

from .. import errors
from ..arguments import require_seconds
from .tracker import CommandHandle, CommandResult

__all__ = ["as_completed", "gather"]

_H = TypeVar("_H", bound=CommandHandle)


def _deadline_error(pending: list[CommandHandle], timeout: float | None) -> errors.CommandTimeout:
    first = pending[0]
    return errors.CommandTimeout(
        first.command_id, first.status.value, timeout=timeout, pending=tuple(pending)
    )


@overload
async def gather(
    *handles: CommandHandle, timeout: float | None = None, return_exceptions: Literal[False] = False
) -> list[CommandResult]: ...


@overload
async def gather(
    *handles: CommandHandle, timeout: float | None = None, return_exceptions: bool
) -> list[CommandResult | BaseException]: ...


async def gather(
    *handles: CommandHandle, timeout: float | None = None, return_exceptions: bool = False
) -> list[CommandResult] | list[CommandResult | BaseException]:
    """Wait for many handles under one shared deadline; results in argument order.

    Like :func:`asyncio.gather`: the first failure is raised at once unless
    ``return_exceptions`` is true, in which case errors take their handle's place (a
    ``CancelledError`` for a handle cancelled with ``handle.cancel()``, a
    :class:`~privicore_async.errors.ClientClosedError` for one the client's close ended). When
    ``timeout`` passes, each unsettled handle counts as a
    :class:`~privicore_async.errors.CommandTimeout` (raised for the first of them, with
    ``pending`` listing all, unless ``return_exceptions``). Tracking goes on either way.
    No task is created per handle.
    """
    require_seconds("timeout", timeout, allow_zero=True)
    loop = asyncio.get_running_loop()
    wake: asyncio.Future[None] = loop.create_future()
    remaining = sum(1 for h in handles if not h.done())

    def on_done(handle: CommandHandle) -> None:
        nonlocal remaining
        remaining -= 1
        failed = handle.exception() is not None and not return_exceptions
        if (remaining <= 0 or failed) and not wake.done():
            wake.set_result(None)

    if not return_exceptions and any(h.done() and h.exception() is not None for h in handles):
        remaining = 0
    waiting = [h for h in handles if not h.done()]
    if remaining > 0:
        for handle in waiting:
            handle.add_done_callback(on_done)
        try:
            await asyncio.wait((wake,), timeout=timeout)
        finally:
            for handle in waiting:
                handle.remove_done_callback(on_done)
            if not wake.done():
                wake.cancel()
    if not return_exceptions:
        # A failure wins over the deadline: it is what woke us (or it came first).
        for handle in handles:
            if handle.done() and (error := handle.exception()) is not None:
                raise error
    results: list[CommandResult | BaseException] = []
    pending = [h for h in handles if not h.done()]
    for handle in handles:
        if not handle.done():
            if not return_exceptions:
                raise _deadline_error(pending, timeout)
            results.append(
                errors.CommandTimeout(handle.command_id, handle.status.value, timeout=timeout)
            )
        elif (error := handle.exception()) is not None:
            results.append(error)
        else:
            results.append(handle.result())
    return results


class as_completed(Generic[_H]):  # noqa: N801 - reads like asyncio.as_completed, which it mirrors
    """Iterate handles in the order they settle: ``async for handle in as_completed(hs): ...``.

    Each handle is yielded once, settled, as the type it was given (call ``handle.result()``,
    which raises the handle's error: ``ClientClosedError`` for one the client's close ended).
    When the shared ``timeout`` passes, iteration raises
    :class:`~privicore_async.errors.CommandTimeout` whose ``pending`` lists the handles still
    unsettled (they go on being tracked).
    """

    def __init__(self, handles: Iterable[_H], *, timeout: float | None = None) -> None:
        require_seconds("timeout", timeout, allow_zero=True)
        # A dict as an ordered set: O(1) removal with 10,000 handles.
        self._waiting: dict[CommandHandle, None] = dict.fromkeys(handles)
        self._ready: deque[CommandHandle] = deque(h for h in self._waiting if h.done())
        for handle in self._ready:
            del self._waiting[handle]
        self._timeout = timeout
        self._deadline: float | None = None
        self._wake: asyncio.Future[None] | None = None
        self._started = False

    def __aiter__(self) -> Self:
        return self

    def _on_done(self, handle: CommandHandle) -> None:
        if self._waiting.pop(handle, 0) is None:
            self._ready.append(handle)
            if self._wake is not None and not self._wake.done():
                self._wake.set_result(None)

    async def __anext__(self) -> _H:
        loop = asyncio.get_running_loop()
        if not self._started:
            self._started = True
            if self._timeout is not None:
                self._deadline = loop.time() + self._timeout
            for handle in self._waiting:
                handle.add_done_callback(self._on_done)
        while not self._ready:
            if not self._waiting:
                raise StopAsyncIteration
            remaining = None if self._deadline is None else self._deadline - loop.time()
            if remaining is not None and remaining <= 0:
                unsettled = list(self._waiting)
                self._detach()
                raise _deadline_error(unsettled, self._timeout)
            self._wake = loop.create_future()
            try:
                await asyncio.wait((self._wake,), timeout=remaining)
            finally:
                if not self._wake.done():
                    self._wake.cancel()
                self._wake = None
        return cast(_H, self._ready.popleft())  # only the handles given are ever queued

    def _detach(self) -> None:
        for handle in self._waiting:
            handle.remove_done_callback(self._on_done)
        self._waiting.clear()
