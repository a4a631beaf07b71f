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
import math
from collections.abc import AsyncIterable, AsyncIterator, Mapping
from contextlib import AbstractAsyncContextManager
from typing import Any, Protocol

import attrs

__all__ = [
    "AnswerTooLarge",
    "Failure",
    "Limits",
    "PreparedRequest",
    "Reply",
    "SendError",
    "Sender",
    "Socket",
    "Timeouts",
]


def _seconds_or_none(instance: object, attribute: attrs.Attribute[Any], value: object) -> None:
    if value is None:
        return
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise TypeError(f"{attribute.name} must be a number of seconds or None")
    if not (math.isfinite(value) and value > 0):
        raise ValueError(f"{attribute.name} must be a finite number of seconds > 0")


@attrs.frozen
class Timeouts:
    """Per-request timeouts in seconds (``None`` = no limit).

    ``read`` bounds a wait for the next bytes; ``total`` bounds a whole request, answer
    included, so a server that drips its answer a byte at a time cannot hold a call forever.
    A streamed download has no total (it may rightly take long); its ``read`` still applies.
    """

    connect: float | None = attrs.field(default=10.0, validator=_seconds_or_none)
    read: float | None = attrs.field(default=60.0, validator=_seconds_or_none)
    total: float | None = attrs.field(default=120.0, validator=_seconds_or_none)


def _size(instance: object, attribute: attrs.Attribute[int], value: int) -> None:
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise ValueError(f"{attribute.name} must be a whole number of bytes >= 1")


@attrs.frozen
class Limits:
    """The largest answers read into memory, in bytes; a larger one is a ProtocolError.

    Privicore's answers are small JSON documents; a server that sends megabytes is broken or
    hostile, and the bytes are refused before they are held. Streamed downloads are not capped.
    """

    answer: int = attrs.field(default=1024 * 1024, validator=_size)
    """A successful (2xx) answer."""
    error_answer: int = attrs.field(default=64 * 1024, validator=_size)
    """An error answer (its body is only read for the error's message and fields)."""


class Failure(enum.Enum):
    """How a request failed to get an answer."""

    NOT_SENT = "not sent"
    """Refused, DNS, connect timeout: nothing reached the server."""
    LOST = "lost"
    """Reset, disconnect, read timeout, a body cut short: it may have reached the server."""
    INVALID = "invalid"
    """The request cannot be sent at all (an invalid URL, say)."""
    GARBLED = "garbled"
    """Something came back that is not valid HTTP (a header too long, a stray CR or NUL):
    the request reached the server, its answer cannot be read."""


class AnswerTooLarge(Exception):
    """An answer's body is larger than the limit it was read with (nothing more was read)."""

    def __init__(self, limit: int) -> None:
        super().__init__(f"the answer is larger than {limit} bytes")
        self.limit = limit


class SendError(Exception):
    """No HTTP answer. ``detail`` may quote a URL: the transport redacts it before use.

    ``timed_out`` says a timeout of the request's :class:`Timeouts` passed (with ``NOT_SENT``:
    the connect timeout). ``cause`` is the network library's own exception, unredacted: the
    transport chains only a scrubbed copy of it to the error it raises.
    """

    def __init__(
        self,
        failure: Failure,
        detail: str,
        *,
        timed_out: bool = False,
        cause: BaseException | None = None,
    ) -> None:
        super().__init__(detail)
        self.failure = failure
        self.detail = detail
        self.timed_out = timed_out
        self.cause = cause


@attrs.frozen
class PreparedRequest:
    """One request ready for the wire. Headers and body may hold secrets: never in ``repr``."""

    method: str
    url: str = attrs.field(repr=False)  # a query may carry a single-use token (?auth=)
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

    async def read(self, limit: int | None = None) -> bytes:
        """The whole body; :class:`SendError` (``LOST``) when it is cut short,
        :class:`AnswerTooLarge` (having read no more than ``limit`` bytes) when it is longer."""
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
