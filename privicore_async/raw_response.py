"""The HTTP answer behind what a method returns: :class:`RawResponse`, and how it is caught.

:meth:`PrivicoreClient.with_raw_response <privicore_async.PrivicoreClient.with_raw_response>`
wraps a method of the client or of one of its resources; the wrapped method returns a
:class:`RawResponse` holding the status, headers and request id of the answer, and what the
method returns as ``parsed``. The client reports every answer of its calls with
:func:`record`; an answer is kept only for the task that runs the wrapped method, so the
tracker's background reads and other tasks never mix in.
"""

from __future__ import annotations

import asyncio
import functools
from collections.abc import Awaitable, Callable, Mapping
from contextvars import ContextVar
from typing import TYPE_CHECKING, Generic, ParamSpec, TypeVar

import attrs

from .errors import PrivicoreError

if TYPE_CHECKING:
    from .http.transport import WireResponse

__all__ = ["RawResponse", "raw_response_wrapper", "record"]

P = ParamSpec("P")
T = TypeVar("T")


@attrs.frozen
class RawResponse(Generic[T]):
    """An HTTP answer and what the SDK made of it.

    For a method that sends several requests, the last answer it got; for a command, its
    202. ``parsed`` is what the method returns without the wrapper.
    """

    status: int
    """The HTTP status."""
    headers: Mapping[str, str] = attrs.field(repr=False)
    """The answer's headers (case-insensitive)."""
    request_id: str | None
    """The server's ``x-dpt-cab-request-id`` header, when it sent one."""
    route: str
    """The route the answer came from (``"devices.list"``)."""
    parsed: T = attrs.field(repr=False)  # may hold a token or a client secret
    """What the method returned."""


class _Catch:
    __slots__ = ("response", "task")

    def __init__(self, task: asyncio.Task[object] | None) -> None:
        self.task = task
        self.response: WireResponse | None = None


_CATCH: ContextVar[_Catch | None] = ContextVar("privicore_raw_response", default=None)


def record(response: WireResponse) -> None:
    """Keep ``response`` if a wrapped method runs in the current task (else do nothing)."""
    catch = _CATCH.get()
    # Tasks started inside the wrapped method copy the context: only its own task counts.
    if catch is not None and catch.task is asyncio.current_task():
        catch.response = response


def raw_response_wrapper(
    method: Callable[P, Awaitable[T]],
) -> Callable[P, Awaitable[RawResponse[T]]]:
    """``method``, returning a :class:`RawResponse` around what it returns."""

    @functools.wraps(method)
    async def wrapped(*args: P.args, **kwargs: P.kwargs) -> RawResponse[T]:
        catch = _Catch(asyncio.current_task())
        reset = _CATCH.set(catch)
        try:
            parsed = await method(*args, **kwargs)
        finally:
            _CATCH.reset(reset)
        response = catch.response
        if response is None:
            name = getattr(method, "__qualname__", repr(method))
            raise PrivicoreError(f"{name} got no HTTP answer to show (it streams, or sent none)")
        return RawResponse(
            response.status, response.headers, response.request_id, response.route, parsed
        )

    return wrapped
