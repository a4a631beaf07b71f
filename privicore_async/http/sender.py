"""The seam below the transport: send one prepared request, open one WebSocket.

A :class:`Sender` knows nothing of routes, credentials or retries; it moves bytes. The
transport above it decides what to send and what a failure means. :class:`AiohttpSender`
(:mod:`.aiohttp_sender`) is the real one and the only module that touches aiohttp's client;
:class:`~privicore_async.http.memory.MemorySender` answers in memory, for tests.

A sender reports a request that got no HTTP answer as :class:`SendError`, saying whether the
request may have reached the server (:class:`Failure`): that is all the retry table needs.
"""

from __future__ import annotations

import enum
from collections.abc import AsyncIterable, AsyncIterator, Mapping
from contextlib import AbstractAsyncContextManager
from typing import Protocol

import attrs

__all__ = [
    "Failure",
    "PreparedRequest",
    "Reply",
    "SendError",
    "Sender",
    "Socket",
    "Timeouts",
]


@attrs.frozen
class Timeouts:
    """Per-request timeouts in seconds (``None`` = no limit)."""

    connect: float | None = 10.0
    read: float | None = 60.0
    total: float | None = None


class Failure(enum.Enum):
    """How a request failed to get an answer."""

    NOT_SENT = "not sent"
    """Refused, DNS, connect timeout: nothing reached the server."""
    LOST = "lost"
    """Reset, disconnect, read timeout, a body cut short: it may have reached the server."""
    INVALID = "invalid"
    """The request cannot be sent at all (an invalid URL, say)."""


class SendError(Exception):
    """No HTTP answer. ``detail`` may quote a URL: the transport redacts it before use."""

    def __init__(self, failure: Failure, detail: str) -> None:
        super().__init__(detail)
        self.failure = failure
        self.detail = detail


@attrs.frozen
class PreparedRequest:
    """One request ready for the wire. Headers and body may hold secrets: never in ``repr``."""

    method: str
    url: str
    """Absolute, already percent-encoded (path and query): senders must not re-encode it."""
    headers: Mapping[str, str] = attrs.field(factory=dict, repr=False)
    body: bytes | AsyncIterable[bytes] | None = attrs.field(default=None, repr=False)
    route: str = ""
    """The route name (``"storage.sync_device"``): for logs and recording senders."""
    timeouts: Timeouts = Timeouts()


class Reply(Protocol):
    """An HTTP answer whose body has not been read yet."""

    @property
    def status(self) -> int:
        """The HTTP status."""
        ...

    @property
    def headers(self) -> Mapping[str, str]:
        """The answer's headers, looked up case-insensitively."""
        ...

    async def read(self) -> bytes:
        """The whole body; :class:`SendError` (``LOST``) when it is cut short."""
        ...

    def chunks(self, size: int) -> AsyncIterator[bytes]:
        """The body in chunks of at most ``size`` bytes as it arrives; ``SendError`` if cut."""
        ...


class Socket(Protocol):
    """An open WebSocket that carries text frames."""

    @property
    def closed(self) -> bool:
        """True once the socket is closed (by either side)."""
        ...

    async def send_text(self, text: str) -> None:
        """Send one text frame."""
        ...

    async def receive_text(self) -> str | None:
        """The next text frame; ``None`` once the socket closed or failed."""
        ...

    async def close(self) -> None:
        """Close the socket (idempotent)."""
        ...


class Sender(Protocol):
    """Sends prepared requests and opens WebSockets; one per client."""

    def send(self, request: PreparedRequest) -> AbstractAsyncContextManager[Reply]:
        """Send ``request``; the context gives its :class:`Reply` and releases it at exit.

        Raises :class:`SendError` when no answer came.
        """
        ...

    def connect(self, url: str, *, heartbeat: float) -> AbstractAsyncContextManager[Socket]:
        """Open a WebSocket to ``url``; closed at exit. Raises :class:`SendError` on failure."""
        ...

    async def close(self) -> None:
        """Release what the sender opened; later sends raise ``PrivicoreError``."""
        ...
