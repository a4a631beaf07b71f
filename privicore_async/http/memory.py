"""Senders for tests: answer in memory, or record what another sender sends.

:class:`MemorySender` hands every request to a function that returns a :class:`MemoryReply`
(or raises :class:`~privicore_async.http.sender.SendError` to play a failure) and keeps every
request it saw. The SDK's own logic (retry table, replay after 401, alternatives, tracking) is
tested through it without a socket or a mock library::

    def answer(request: PreparedRequest) -> MemoryReply:
        return MemoryReply(202, body=b'"cmd-1"')

    client = PrivicoreClient("http://privicore.test", token="t", sender=MemorySender(answer))

:class:`RecordingSender` wraps any sender and reports each request to a callback.
"""

from __future__ import annotations

import asyncio
import contextlib
import inspect
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping, Sequence
from contextlib import AbstractAsyncContextManager

import attrs
from multidict import CIMultiDict, CIMultiDictProxy

from .. import errors
from .sender import AnswerTooLarge, Failure, PreparedRequest, Reply, Sender, SendError, Socket

__all__ = ["MemoryReply", "MemorySender", "MemorySocket", "RecordingSender"]


@attrs.frozen
class MemoryReply:
    """An answer to give: status, headers and body (bytes, or chunks for streamed bodies).

    ``cut_after`` chunks are delivered and then the body fails as a lost connection would.
    """

    status: int = 200
    body: bytes | Sequence[bytes] = b""
    headers: Mapping[str, str] = attrs.field(factory=dict)
    cut_after: int | None = None

    def chunk_list(self) -> list[bytes]:
        """The body as the list of chunks it is delivered in."""
        return [self.body] if isinstance(self.body, bytes) else list(self.body)


class _Reply:
    __slots__ = ("_chunks", "_cut", "headers", "status")

    def __init__(self, answer: MemoryReply) -> None:
        self.status = answer.status
        self.headers: CIMultiDictProxy[str] = CIMultiDictProxy(CIMultiDict(answer.headers))
        self._chunks = answer.chunk_list()
        self._cut = answer.cut_after

    def _cut_short(self) -> SendError:
        return SendError(Failure.LOST, "connection lost while reading the body")

    async def read(self, limit: int | None = None) -> bytes:
        if self._cut is not None:
            raise self._cut_short()
        body = b"".join(self._chunks)
        if limit is not None and len(body) > limit:
            raise AnswerTooLarge(limit)
        return body

    async def chunks(self, size: int) -> AsyncIterator[bytes]:
        for index, chunk in enumerate(self._chunks):
            if self._cut is not None and index >= self._cut:
                raise self._cut_short()
            for start in range(0, len(chunk), size):
                yield chunk[start : start + size]
        if self._cut is not None and self._cut >= len(self._chunks):
            raise self._cut_short()


Handler = Callable[[PreparedRequest], MemoryReply | Awaitable[MemoryReply]]
"""Turns a request into an answer (or raises ``SendError``); may be a coroutine function."""


class MemorySocket:
    """A WebSocket in memory: the test plays the server with :meth:`push` and :attr:`sent`."""

    def __init__(self) -> None:
        self.sent: list[str] = []
        """Text frames the client sent, in order."""
        self._inbox: asyncio.Queue[str | None] = asyncio.Queue()
        self._closed = False

    @property
    def closed(self) -> bool:
        """True once either side closed the socket."""
        return self._closed

    def push(self, text: str) -> None:
        """Deliver a text frame to the client."""
        self._inbox.put_nowait(text)

    def hang_up(self) -> None:
        """Close from the server's side: the client's next receive sees the end."""
        self._closed = True
        self._inbox.put_nowait(None)

    async def send_text(self, text: str) -> None:
        """Record a frame the client sent."""
        if self._closed:
            raise SendError(Failure.LOST, "the socket is closed")
        self.sent.append(text)

    async def receive_text(self) -> str | None:
        """The next pushed frame; ``None`` once closed."""
        if self._closed and self._inbox.empty():
            return None
        return await self._inbox.get()

    async def close(self) -> None:
        """Close from the client's side."""
        if not self._closed:
            self.hang_up()


class MemorySender:
    """A :class:`~privicore_async.http.sender.Sender` that answers with ``handler``.

    ``sockets`` gives the socket for each WebSocket the client opens (a failure to connect
    when it returns ``None``). Every request is kept in :attr:`requests`.
    """

    def __init__(
        self, handler: Handler, *, sockets: Callable[[str], MemorySocket | None] | None = None
    ) -> None:
        self._handler = handler
        self._sockets = sockets
        self.requests: list[PreparedRequest] = []
        """Every request sent, in order."""
        self.closed = False

    @contextlib.asynccontextmanager
    async def send(self, request: PreparedRequest) -> AsyncIterator[Reply]:
        """Answer ``request`` with the handler's reply."""
        if self.closed:
            raise errors.PrivicoreError("the client is closed")
        self.requests.append(request)
        answer = self._handler(request)
        if inspect.isawaitable(answer):
            answer = await answer
        yield _Reply(answer)

    @contextlib.asynccontextmanager
    async def connect(self, url: str, *, heartbeat: float) -> AsyncIterator[Socket]:
        """The socket ``sockets(url)`` gives; ``SendError`` when there is none."""
        socket = self._sockets(url) if self._sockets is not None else None
        if socket is None:
            raise SendError(Failure.NOT_SENT, f"no socket at {url}")
        try:
            yield socket
        finally:
            await socket.close()

    async def close(self) -> None:
        """Refuse further requests."""
        self.closed = True


class RecordingSender:
    """Passes everything to ``inner`` and calls ``record(request)`` before each send."""

    def __init__(self, inner: Sender, record: Callable[[PreparedRequest], object]) -> None:
        self.inner = inner
        self._record = record

    def send(self, request: PreparedRequest) -> AbstractAsyncContextManager[Reply]:
        """Record, then send through the inner sender."""
        self._record(request)
        return self.inner.send(request)

    def connect(self, url: str, *, heartbeat: float) -> AbstractAsyncContextManager[Socket]:
        """Open the inner sender's socket."""
        return self.inner.connect(url, heartbeat=heartbeat)

    async def close(self) -> None:
        """Close the inner sender."""
        await self.inner.close()
