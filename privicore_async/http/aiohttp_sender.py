"""The real :class:`~privicore_async.http.sender.Sender`: aiohttp's client, and only here.

One ``aiohttp.ClientSession`` per client, opened on first use, or the caller's own (then never
closed here). aiohttp's exceptions become :class:`SendError` with the one fact the retry table
needs: could the request have reached the server. Errors are raised outside ``except`` blocks
so that aiohttp's exception (whose text may quote a URL with a token) is not chained to them;
it travels in ``SendError.cause`` for the transport to scrub.

Every request and the WebSocket handshake carry :data:`USER_AGENT`, set per request so that an
injected session sends it too.
"""

from __future__ import annotations

import contextlib
import platform
from collections.abc import AsyncIterator, Mapping, Sequence
from typing import Any

import aiohttp
from yarl import URL

from .. import errors
from .._version import __version__
from .sender import AnswerTooLarge, Failure, PreparedRequest, SendError, Timeouts

__all__ = ["USER_AGENT", "AiohttpSender"]

USER_AGENT = " ".join(
    (
        f"privicore-async/{__version__}",
        f"python/{platform.python_version()}",
        f"aiohttp/{aiohttp.__version__}",
    )
)
"""What every request and WebSocket handshake sends as ``User-Agent``."""

# Failures that happen before a single byte of the request can have reached the server.
_NOT_SENT = (aiohttp.ClientConnectorError, aiohttp.ConnectionTimeoutError)
_FAILURES = (aiohttp.ClientError, TimeoutError, RuntimeError)


def _closed() -> errors.PrivicoreError:
    return errors.PrivicoreError("the client is closed")


def _failure(exc: BaseException, session: aiohttp.ClientSession) -> BaseException:
    """What an aiohttp failure means: a :class:`SendError`, or "the client is closed"."""
    if isinstance(exc, RuntimeError):
        # aiohttp raises RuntimeError when the session was closed while the call was in flight.
        return _closed() if session.closed else exc
    if isinstance(exc, aiohttp.InvalidURL):
        return SendError(Failure.INVALID, "invalid URL")
    if isinstance(exc, aiohttp.ClientResponseError) and not isinstance(
        exc, aiohttp.WSServerHandshakeError
    ):
        # aiohttp's parser refused the answer; its message quotes the server's bytes, which
        # may be forged log lines: not repeated here.
        return SendError(Failure.GARBLED, "the answer is not valid HTTP")
    failure = Failure.NOT_SENT if isinstance(exc, _NOT_SENT) else Failure.LOST
    detail = f"{type(exc).__name__}: {exc}".rstrip(": ")
    # aiohttp's timeouts (connect, socket read, total) are all TimeoutError subclasses.
    return SendError(failure, detail, timed_out=isinstance(exc, TimeoutError), cause=exc)


class _Reply:
    """An aiohttp response seen through :class:`~privicore_async.http.sender.Reply`."""

    __slots__ = ("_response", "_session")

    def __init__(self, response: aiohttp.ClientResponse, session: aiohttp.ClientSession) -> None:
        self._response = response
        self._session = session

    @property
    def status(self) -> int:
        return self._response.status

    @property
    def headers(self) -> Mapping[str, str]:
        return self._response.headers

    async def read(self, limit: int | None = None) -> bytes:
        response = self._response
        length = response.content_length
        if limit is not None and length is not None and length > limit:
            raise AnswerTooLarge(limit)  # said so up front: not a byte is read
        problem: BaseException
        try:
            if limit is None or length is not None:
                return await response.read()  # a known length within the limit: one read
            body = bytearray()
            while chunk := await response.content.read(limit + 1 - len(body)):
                body += chunk
                if len(body) > limit:
                    raise AnswerTooLarge(limit)
            return bytes(body)
        except _FAILURES as exc:
            problem = _failure(exc, self._session)
        raise problem

    async def chunks(self, size: int) -> AsyncIterator[bytes]:
        iterator = self._response.content.iter_chunked(size).__aiter__()
        while True:
            problem: BaseException | None = None
            try:
                chunk = await iterator.__anext__()
            except StopAsyncIteration:
                return
            except _FAILURES as exc:
                problem = _failure(exc, self._session)
            if problem is not None:
                raise problem
            yield chunk


class _Socket:
    """An aiohttp WebSocket seen through :class:`~privicore_async.http.sender.Socket`."""

    __slots__ = ("_ws",)

    def __init__(self, ws: aiohttp.ClientWebSocketResponse) -> None:
        self._ws = ws

    @property
    def closed(self) -> bool:
        return self._ws.closed

    async def send_text(self, text: str) -> None:
        problem: BaseException
        try:
            return await self._ws.send_str(text)
        except (ConnectionError, RuntimeError, aiohttp.ClientError) as exc:
            problem = SendError(Failure.LOST, f"{type(exc).__name__}: {exc}".rstrip(": "))
        raise problem

    async def receive_text(self) -> str | None:
        while True:
            message = await self._ws.receive()
            if message.type is aiohttp.WSMsgType.TEXT:
                return str(message.data)
            if message.type is aiohttp.WSMsgType.BINARY:
                return ""  # not part of the protocol: an empty frame, which is dropped
            if message.type in (aiohttp.WSMsgType.PING, aiohttp.WSMsgType.PONG):
                continue  # aiohttp answers pings itself
            return None  # closing, closed, failed, or a frame over the size limit

    async def close(self) -> None:
        await self._ws.close()


class AiohttpSender:
    """Sends through one ``aiohttp.ClientSession`` (owned, or injected and left open).

    ``trace_configs`` go to the session the sender opens (aiohttp's request tracing); an
    injected session keeps its own, so giving both is refused.
    """

    def __init__(
        self,
        *,
        session: aiohttp.ClientSession | None = None,
        max_connections: int = 100,
        user_agent: str = USER_AGENT,
        trace_configs: Sequence[aiohttp.TraceConfig] | None = None,
    ) -> None:
        if trace_configs is not None:
            if session is not None:
                raise errors.InvalidArgumentError(
                    "trace_configs", "give them to your own session (not both)"
                )
            if not isinstance(trace_configs, Sequence) or not all(
                isinstance(config, aiohttp.TraceConfig) for config in trace_configs
            ):
                raise errors.InvalidArgumentError(
                    "trace_configs", "must be a list of aiohttp.TraceConfig"
                )
        self._session = session
        self._owns_session = session is None
        self._max_connections = max_connections
        self._user_agent = user_agent
        self._trace_configs = list(trace_configs or ())
        self._timeouts: dict[Timeouts, aiohttp.ClientTimeout] = {}
        self._closed = False

    @property
    def session(self) -> aiohttp.ClientSession | None:
        """The session in use (``None`` before the first request of an owned one)."""
        return self._session

    def _open_session(self) -> aiohttp.ClientSession:
        if self._closed:
            raise _closed()
        if self._session is None:
            session = aiohttp.ClientSession(
                connector=aiohttp.TCPConnector(limit=self._max_connections),
                trace_configs=self._trace_configs or None,
            )
            # aiohttp resends a GET (and other idempotent methods) once by itself when the
            # connection drops before the answer. Some Privicore commands are GETs, and every
            # repeat is the retry table's call (http/retry.py), so the session must not.
            # There is no public switch; an injected session keeps aiohttp's default.
            if hasattr(session, "_retry_connection"):
                session._retry_connection = False
            self._session = session
        return self._session

    def _timeout(self, timeouts: Timeouts) -> aiohttp.ClientTimeout:
        # Passed per request, so an injected session gets the same limits as an owned one.
        timeout = self._timeouts.get(timeouts)
        if timeout is None:
            if len(self._timeouts) >= 64:  # per-call timeouts: keep the cache small
                self._timeouts.clear()
            timeout = self._timeouts[timeouts] = aiohttp.ClientTimeout(
                total=timeouts.total, sock_connect=timeouts.connect, sock_read=timeouts.read
            )
        return timeout

    @contextlib.asynccontextmanager
    async def send(self, request: PreparedRequest) -> AsyncIterator[_Reply]:
        """Send ``request``; yields its reply (body unread) and releases it at exit."""
        session = self._open_session()
        problem: BaseException | None = None
        body: dict[str, Any] = {} if request.body is None else {"data": request.body}
        try:
            # aiohttp checks what goes into the request line and headers (a CR or LF in a
            # header value, say) with a ValueError: the request cannot be sent at all.
            response = await session.request(
                request.method,
                URL(request.url, encoded=True),  # encoded: the transport quoted the path
                headers={**request.headers, "User-Agent": self._user_agent},
                allow_redirects=False,  # a POST must not turn into a GET elsewhere
                timeout=self._timeout(request.timeouts),
                **body,
            )
        except _FAILURES as exc:
            problem = _failure(exc, session)
        except ValueError:
            problem = SendError(Failure.INVALID, "the request cannot be sent (invalid header)")
        if problem is not None:
            raise problem
        async with response:
            yield _Reply(response, session)

    @contextlib.asynccontextmanager
    async def connect(
        self, url: str, *, heartbeat: float, max_frame: int = 1024 * 1024
    ) -> AsyncIterator[_Socket]:
        """Open a WebSocket (sharing the session's connections); closed at exit.

        A frame larger than ``max_frame`` bytes ends the connection (it is not read whole).
        """
        session = self._open_session()
        problem: BaseException | None = None
        try:
            ws = await session.ws_connect(
                url,
                heartbeat=heartbeat,
                max_msg_size=max_frame,
                headers={"User-Agent": self._user_agent},
            )
        except _FAILURES as exc:
            problem = _failure(exc, session)
        if problem is not None:
            raise problem
        async with ws:
            yield _Socket(ws)

    async def close(self) -> None:
        """Close the session if this sender opened it; an injected one is left open."""
        self._closed = True
        if self._owns_session and self._session is not None:
            await self._session.close()
        self._session = None
