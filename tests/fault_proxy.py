"""A fault-injecting TCP proxy between a client and a server on loopback (issue 10).

The sandbox's own faults (:class:`~privicore_async.sandbox.Faults`) happen inside a request
handler, after aiohttp parsed the request. This proxy breaks the *connection* instead, at the
TCP level, where a client really cannot tell whether its request arrived::

    async with FaultProxy.to(sb.api_url, ProxyFaults(reset_mid_response=0.05), seed=1) as proxy:
        client = PrivicoreClient(proxy.url, ...)

It knows HTTP only as far as it needs to place a fault: a *request* starts with the first bytes
the client sends after the server last sent something (aiohttp does not pipeline), and a
``reset_mid_request`` forwards the request's head up to the end of its headers (or half of it)
and never the rest, so the server never holds a whole request. Any protocol over TCP goes
through, WebSockets included (point a second proxy at ``sb.ws_url``).

Faults, drawn from ``ProxyFaults`` probabilities:

==========================  ======================================================================
``reset_before_request``    at a request's first bytes: RST both ways, nothing forwarded
``reset_mid_request``       at a request's first bytes: forward part of it, then RST both ways
``reset_mid_response``      at a chunk from the server: forward half of it, then RST both ways
``stall``                   at any chunk: hold it ``stall_ms`` before forwarding
``latency``                 at any chunk: hold it ``uniform(*latency_ms)`` before forwarding
==========================  ======================================================================

``per="chunk"`` draws at every opportunity; ``per="connection"`` draws one fault per
connection when it is accepted, which then fires at its first opportunity. Each connection has
its own ``random.Random(f"{seed}/{n}")`` (``n``: its number in accept order), so the n-th
connection sees the same draws for the same seed and the same bytes. A reset is a real RST
(``SO_LINGER`` 0), not a polite FIN.

What it did is counted in :attr:`FaultProxy.counts` (per :class:`Fault`), and every reset is
kept in :attr:`FaultProxy.resets` with the head of the request it hit. Leaving the context
manager aborts every connection and waits for every task of the proxy.
"""

from __future__ import annotations

import asyncio
import contextlib
import enum
import random
import socket
import struct
from collections import Counter
from types import TracebackType
from typing import Literal

import attrs
from yarl import URL

__all__ = ["Fault", "FaultProxy", "ProxyFaults", "ResetEvent"]

_CHUNK = 64 * 1024
_HEAD = 4096  # bytes of a request kept for a reset's record
_END_OF_HEADERS = b"\r\n\r\n"


class Fault(enum.Enum):
    RESET_BEFORE_REQUEST = "reset_before_request"
    RESET_MID_REQUEST = "reset_mid_request"
    RESET_MID_RESPONSE = "reset_mid_response"
    STALL = "stall"
    LATENCY = "latency"


_REQUEST_RESETS = (Fault.RESET_BEFORE_REQUEST, Fault.RESET_MID_REQUEST)
_DELAYS = (Fault.STALL, Fault.LATENCY)


def _rate(instance: object, attribute: attrs.Attribute[float], value: float) -> None:
    if not 0.0 <= value <= 1.0:
        raise ValueError(f"{attribute.name} must be within [0, 1], got {value!r}")


@attrs.frozen(kw_only=True)
class ProxyFaults:
    """Fault probabilities. Within one group (request resets; delays) one draw decides, so
    ``reset_before_request + reset_mid_request`` and ``stall + latency`` must not exceed 1;
    with ``per="connection"`` all five share one draw and must not exceed 1 together."""

    reset_before_request: float = attrs.field(default=0.0, validator=_rate)
    reset_mid_request: float = attrs.field(default=0.0, validator=_rate)
    reset_mid_response: float = attrs.field(default=0.0, validator=_rate)
    stall: float = attrs.field(default=0.0, validator=_rate)
    stall_ms: float = 200.0
    latency: float = attrs.field(default=0.0, validator=_rate)
    latency_ms: tuple[float, float] = (5.0, 50.0)
    per: Literal["chunk", "connection"] = "chunk"

    def __attrs_post_init__(self) -> None:
        if self.per not in ("chunk", "connection"):
            raise ValueError(f'per must be "chunk" or "connection", got {self.per!r}')
        if self.per == "connection":
            if sum(self.rate(f) for f in Fault) > 1.0:
                raise ValueError("with per='connection' the rates must not exceed 1 in total")
        elif sum(map(self.rate, _REQUEST_RESETS)) > 1.0 or sum(map(self.rate, _DELAYS)) > 1.0:
            raise ValueError("reset_before + reset_mid_request and stall + latency must be <= 1")
        low, high = self.latency_ms
        if not 0 <= low <= high or self.stall_ms < 0:
            raise ValueError("delays must be >= 0 and latency_ms a (low, high) pair")

    def rate(self, fault: Fault) -> float:
        return float(getattr(self, fault.value))


NO_FAULTS = ProxyFaults()


@attrs.frozen
class ResetEvent:
    """One reset: its kind, the connection's number, and the head of the request it hit."""

    fault: Fault
    connection: int
    request: bytes = attrs.field(repr=False)  # may hold an Authorization header: not shown


def _draw(rng: random.Random, faults: ProxyFaults, kinds: tuple[Fault, ...]) -> Fault | None:
    """One draw among ``kinds`` (probabilities add up): the fault, or None."""
    point = rng.random()
    for fault in kinds:
        point -= faults.rate(fault)
        if point < 0:
            return fault
    return None


def _request_cut(data: bytes) -> int:
    """Where a "mid request" reset cuts the first chunk of a request (0 < cut < len)."""
    end = data.find(_END_OF_HEADERS)
    if end >= 0 and end + len(_END_OF_HEADERS) < len(data):
        return end + len(_END_OF_HEADERS)  # the headers, none of the body
    return len(data) // 2  # somewhere in the headers


def _rst(writer: asyncio.StreamWriter) -> None:
    """Abort with a reset: linger 0, so the close sends RST."""
    sock = writer.get_extra_info("socket")
    if sock is not None:
        with contextlib.suppress(OSError):
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    writer.transport.abort()


class _Connection:
    """One client connection and its upstream one, and the two pumps between them."""

    def __init__(
        self,
        proxy: FaultProxy,
        number: int,
        client: tuple[asyncio.StreamReader, asyncio.StreamWriter],
        upstream: tuple[asyncio.StreamReader, asyncio.StreamWriter],
    ) -> None:
        self.proxy = proxy
        self.number = number
        self.rng = random.Random(f"{proxy.seed}/{number}")
        self.client_reader, self.client_writer = client
        self.up_reader, self.up_writer = upstream
        self.in_request = False  # bytes of a request went up and no answer came down yet
        self.request_head = b""
        self.ended = False
        # per="connection": the one fault of this connection, spent when it fires.
        faults = proxy.faults
        self.planned = _draw(self.rng, faults, tuple(Fault)) if faults.per == "connection" else None

    # -- drawing --------------------------------------------------------------------------

    def _fault(self, kinds: tuple[Fault, ...]) -> Fault | None:
        faults = self.proxy.faults
        if faults.per == "connection":
            if self.planned in kinds:
                fault, self.planned = self.planned, None
                return fault
            return None
        return _draw(self.rng, faults, kinds)

    async def _delay(self) -> None:
        fault = self._fault(_DELAYS)
        if fault is None:
            return
        faults = self.proxy.faults
        if fault is Fault.STALL:
            seconds = faults.stall_ms / 1000
        else:
            seconds = self.rng.uniform(*faults.latency_ms) / 1000
        self.proxy.counts[fault] += 1
        await asyncio.sleep(seconds)

    # -- ending ---------------------------------------------------------------------------

    def reset(self, fault: Fault) -> None:
        self.proxy.counts[fault] += 1
        self.proxy.resets.append(ResetEvent(fault, self.number, self.request_head))
        self.abort()

    def abort(self) -> None:
        self.ended = True
        _rst(self.client_writer)
        _rst(self.up_writer)

    def end(self) -> None:
        """A polite close of both sides (one side closed): buffered bytes still go out."""
        self.ended = True
        self.client_writer.close()
        self.up_writer.close()

    async def _write_partial(self, writer: asyncio.StreamWriter, data: bytes) -> None:
        """Send ``data`` out of the buffer before a reset, and give the peer a moment."""
        if not data:
            return
        writer.write(data)
        for _ in range(100):
            if writer.transport.get_write_buffer_size() == 0:
                break
            await asyncio.sleep(0.001)
        await asyncio.sleep(self.proxy.settle)

    # -- pumps ----------------------------------------------------------------------------

    async def run(self) -> None:
        pumps = [asyncio.create_task(self._up()), asyncio.create_task(self._down())]
        try:
            await asyncio.gather(*pumps)
        finally:
            for pump in pumps:
                pump.cancel()
            await asyncio.gather(*pumps, return_exceptions=True)
            if not self.ended:
                self.abort()
            for writer in (self.client_writer, self.up_writer):
                with contextlib.suppress(Exception):
                    await writer.wait_closed()

    async def _up(self) -> None:
        """Client to server; places the request faults."""
        while not self.ended:
            try:
                data = await self.client_reader.read(_CHUNK)
            except OSError:
                data = b""
            if self.ended:
                return
            if not data:
                self.end()
                return
            if not self.in_request:  # the first bytes of a request
                self.in_request = True
                self.request_head = data[:_HEAD]
                self.proxy.requests += 1
                fault = self._fault(_REQUEST_RESETS)
                if fault is Fault.RESET_MID_REQUEST and len(data) > 1:
                    await self._write_partial(self.up_writer, data[: _request_cut(data)])
                    self.reset(fault)
                    return
                if fault is not None:
                    self.reset(Fault.RESET_BEFORE_REQUEST)
                    return
            await self._delay()
            if self.ended:
                return
            self.up_writer.write(data)
            try:
                await self.up_writer.drain()
            except OSError:
                return

    async def _down(self) -> None:
        """Server to client; places the response faults."""
        while not self.ended:
            try:
                data = await self.up_reader.read(_CHUNK)
            except OSError:
                data = b""
            if self.ended:
                return
            if not data:
                self.end()
                return
            self.in_request = False
            if self._fault((Fault.RESET_MID_RESPONSE,)) is not None:
                await self._write_partial(self.client_writer, data[: len(data) // 2])
                self.reset(Fault.RESET_MID_RESPONSE)
                return
            await self._delay()
            if self.ended:
                return
            self.client_writer.write(data)
            try:
                await self.client_writer.drain()
            except OSError:
                return


class FaultProxy:
    """A TCP proxy from ``host:<free port>`` to ``target_host:target_port`` that injects
    :class:`ProxyFaults`. ``faults`` may be replaced at any time (e.g. :data:`NO_FAULTS`
    while a test sets up); a new value applies to the next draw."""

    def __init__(
        self,
        target_host: str,
        target_port: int,
        faults: ProxyFaults = NO_FAULTS,
        *,
        seed: int = 0,
        scheme: str = "http",
        host: str = "127.0.0.1",
        settle: float = 0.005,
    ) -> None:
        self.target = (target_host, target_port)
        self.faults = faults
        self.seed = seed
        self.scheme = scheme
        self.host = host
        self.settle = settle
        """Seconds a partial write gets to reach the peer before the reset."""
        self.port = 0
        self.counts: Counter[Fault] = Counter()
        self.resets: list[ResetEvent] = []
        self.errors: list[Exception] = []
        """Unexpected exceptions of the proxy's own code (a test asserts there are none)."""
        self.connections = 0
        self.requests = 0
        self._server: asyncio.Server | None = None
        self._handlers: set[asyncio.Task[object]] = set()
        self._live: set[_Connection] = set()
        self._closed = False

    @classmethod
    def to(
        cls, url: str, faults: ProxyFaults = NO_FAULTS, *, seed: int = 0, settle: float = 0.005
    ) -> FaultProxy:
        """A proxy in front of ``url`` (``http://`` or ``ws://``); :attr:`url` keeps its scheme."""
        parsed = URL(url)
        if parsed.host is None or parsed.port is None:
            raise ValueError(f"no host and port in {url!r}")
        return cls(parsed.host, parsed.port, faults, seed=seed, scheme=parsed.scheme, settle=settle)

    @property
    def url(self) -> str:
        """``scheme://host:port`` of the proxy."""
        if self._server is None:
            raise RuntimeError("the proxy is not started")
        return f"{self.scheme}://{self.host}:{self.port}"

    def injected(self) -> int:
        """Faults injected so far, all kinds."""
        return sum(self.counts.values())

    async def start(self) -> None:
        if self._closed:
            raise RuntimeError("this FaultProxy was closed")
        if self._server is None:
            self._server = await asyncio.start_server(self._accept, self.host, 0)
            self.port = self._server.sockets[0].getsockname()[1]

    async def close(self) -> None:
        """Stop listening, abort every connection, wait for every handler. Idempotent."""
        self._closed = True
        server, self._server = self._server, None
        if server is not None:
            server.close()
        for connection in list(self._live):
            connection.abort()
        handlers = list(self._handlers)
        for task in handlers:
            task.cancel()
        if handlers:
            await asyncio.gather(*handlers, return_exceptions=True)
        if server is not None:
            await server.wait_closed()

    async def __aenter__(self) -> FaultProxy:
        await self.start()
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.close()

    async def _accept(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        task = asyncio.current_task()
        assert task is not None
        if self._closed:
            writer.transport.abort()
            return
        self._handlers.add(task)
        try:
            number = self.connections
            self.connections += 1
            try:
                upstream = await asyncio.open_connection(*self.target)
            except OSError:
                _rst(writer)
                return
            connection = _Connection(self, number, (reader, writer), upstream)
            self._live.add(connection)
            try:
                if self._closed:  # closed while connecting upstream
                    connection.abort()
                await connection.run()
            finally:
                self._live.discard(connection)
        except asyncio.CancelledError:
            pass  # close(): the connection was aborted; end quietly
        except Exception as exc:  # a proxy bug: kept for the test to see, not logged by asyncio
            self.errors.append(exc)
        finally:
            if not writer.transport.is_closing():
                writer.transport.abort()
            self._handlers.discard(task)
