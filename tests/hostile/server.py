"""A hostile Privicore for tests (issue 10): the SDK's real paths, answered the way a broken or
malicious server could answer them.

:class:`HostileServer` runs in the test's own event loop on ``127.0.0.1:0``:

* ``POST /storage/sync-device`` (what ``client.storage.sync_device`` sends) answers according
  to the ``deviceIdentifier`` it is given: ``id:<x>`` is a normal 202 for command ``<x>``,
  ``empty`` a 202 without a body, and every other name is a misbehaviour (the tables below);
* ``POST|GET /request-status/{id}`` (status reads and polls) answers according to the id:
  ``done-*`` has succeeded, ``pending-*`` is still running, and every other id names a
  misbehaviour;
* ``GET /ws`` is the ack channel: it answers the ``joinChannel`` frame as Privicore does and
  then sends whatever the test pushes (:meth:`HostileServer.push`);
* a *raw* listener (:attr:`HostileServer.raw_url`) answers ``POST /storage/sync-device`` with
  byte-exact answers that aiohttp.web refuses to write (aiohttp 3.14 raises "Forbidden control
  character detected in headers" for any control character but TAB in a header value, and
  encodes header values as UTF-8, so CR, LF, NUL and invalid UTF-8 need raw bytes);
* an *elsewhere* listener (:attr:`HostileServer.elsewhere_url`), the target of the redirects,
  counts the connections it gets (:attr:`HostileServer.elsewhere_connections`).

The misbehaviours shared by both HTTP endpoints (with 202 or 200):

=================  ===========================================================================
``huge-chunked``   100 MiB streamed in 64 KiB chunks (chunked encoding), one block reused
``huge-length``    the same with ``Content-Length: 104857600``
``drip*``          the headers at once, then the body one byte per second, forever
``deep-array``     ``[[[...]]]`` 100,000 levels deep (about 200 KB)
``deep-object``    ``{"a":{"a":...}}`` 100,000 levels deep (about 600 KB)
``deep-inside``    a well-shaped answer with a 100,000-deep value inside it
``redirect-NNN``   HTTP NNN with ``Location`` on the elsewhere listener
=================  ===========================================================================

Every HTTP request is recorded (:attr:`HostileServer.requests`), status reads by id
(:attr:`HostileServer.status_reads`), and the bytes each streaming misbehaviour wrote, counted
before each write (:attr:`HostileServer.sent`).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
from collections import Counter
from collections.abc import Awaitable, Callable
from types import TracebackType
from typing import Any
from urllib.parse import parse_qs

from aiohttp import WSMsgType, web

__all__ = [
    "BODY_IDS",
    "DEEP",
    "DRIP_INTERVAL",
    "HEADER_IDS",
    "HUGE",
    "MIB",
    "RAW_HEADER_IDS",
    "HostileServer",
    "deep_json",
]

MIB = 1 << 20
HUGE = 100 * MIB
"""The size of the huge answers (streamed, never built)."""
DEEP = 100_000
"""Nesting depth of the deep JSON answers and frames."""
DRIP_INTERVAL = 1.0
"""Seconds between two bytes of a dripped body."""
_BLOCK = b"a" * (64 * 1024)


def deep_json(kind: str = "array", depth: int = DEEP) -> bytes:
    """JSON nested ``depth`` levels deep: ``[[...]]`` or ``{"a":{"a":...}}``."""
    if kind == "array":
        return b"[" * depth + b"]" * depth
    return b'{"a":' * depth + b"1" + b"}" * depth


_HTML_PAGE = (
    b"<!DOCTYPE html>\n<html>\n<head><title>502 Bad Gateway</title></head>\n"
    b"<body>\n<center><h1>502 Bad Gateway</h1></center>\n<hr><center>nginx</center>\n"
    b"</body>\n</html>\n"
)
_MEGABYTE = 1_000_000  # under the 1 MiB answer cap: only the id check can refuse it

BODY_IDS: dict[str, tuple[str, bytes]] = {
    "html": ("text/html", _HTML_PAGE),
    "bad-utf8-text": ("text/plain", b"cmd-\xff\xfe-1"),
    "bad-utf8-json": ("application/json", b'{"commandId": "cmd-\xff-1"}'),
    "crlf-text": ("text/plain", b"cmd-1\r\nINFO privicore_async forged log line"),
    "crlf-json-string": ("application/json", b'"cmd-1\\r\\nINFO forged"'),
    "crlf-object": ("application/json", json.dumps({"commandId": "cmd-1\r\nX-Forged: 1"}).encode()),
    "lf-array": ("application/json", json.dumps(["cmd-1\nINFO forged"]).encode()),
    "nul-text": ("text/plain", b"cmd\x00-1"),
    "megabyte-text": ("text/plain", b"c" * _MEGABYTE),
    "megabyte-object": ("application/json", b'{"commandId": "' + b"c" * _MEGABYTE + b'"}'),
}
"""202 bodies whose command id is not an id: name -> (content type, body)."""

HEADER_IDS: dict[str, str] = {
    "header-tab": "cmd-1\tINFO forged",
    "header-nbsp": "cmd-1\u00a0INFO",
    "header-line-separator": "cmd-1\u2028INFO forged",
    "header-long": "c" * 300,
    "header-megabyte": "c" * _MEGABYTE,
}
"""``x-dpt-cab-id`` values aiohttp.web can send (202, empty body): name -> value."""


def _raw_202(header_line: bytes) -> bytes:
    return (
        b"HTTP/1.1 202 Accepted\r\n"
        + header_line
        + b"\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"
    )


RAW_HEADER_IDS: dict[str, bytes] = {
    "header-cr": _raw_202(b"x-dpt-cab-id: cmd-1\rINFO forged"),
    "header-obs-fold": _raw_202(b"x-dpt-cab-id: cmd-1\r\n INFO forged"),
    "header-control": _raw_202(b"x-dpt-cab-id: cmd-1\x1b[31mred"),
    "header-nul": _raw_202(b"x-dpt-cab-id: cmd\x00-1"),
    "header-bad-utf8": _raw_202(b"x-dpt-cab-id: cmd-\xff\xfe-1"),
}
"""Byte-exact 202 answers (of the raw listener) with an ``x-dpt-cab-id`` no aiohttp.web
handler can write: name -> the whole answer."""

_RAW_NOT_FOUND = b"HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"


class HostileServer:
    """See the module docstring. Use as ``async with HostileServer() as server``."""

    def __init__(self) -> None:
        self.requests: list[tuple[str, str]] = []
        """``(method, path)`` of every HTTP request, on the main and the raw listener."""
        self.status_reads: list[str] = []
        """The command id of every status read, in order."""
        self.sent: Counter[str] = Counter()
        """Bytes written by each streaming misbehaviour (counted before each write)."""
        self.elsewhere_connections = 0
        """Connections the redirect target got (it answers none)."""
        self.joins = 0
        """``joinChannel`` frames answered on the WebSocket."""
        self.closed_sockets = 0
        """WebSocket connections that ended (either side)."""
        self._joined: list[web.WebSocketResponse] = []
        self._join_changed = asyncio.Condition()
        self._runner: web.AppRunner | None = None
        self._raw: asyncio.Server | None = None
        self._elsewhere: asyncio.Server | None = None
        self._raw_tasks: set[asyncio.Task[Any]] = set()
        self.url = ""
        self.ws_url = ""
        self.raw_url = ""
        self.elsewhere_url = ""

    # -- lifecycle ------------------------------------------------------------------------

    async def __aenter__(self) -> HostileServer:
        await self.start()
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.close()

    async def start(self) -> None:
        app = web.Application(middlewares=[self._record])
        app.router.add_post("/storage/sync-device", self._sync_device)
        app.router.add_post("/request-status/{command_id}", self._status)
        app.router.add_get("/request-status/{command_id}", self._status)
        app.router.add_get("/ws", self._ws)
        # handler_cancellation: a drip whose client hung up ends at once; shutdown_timeout:
        # whatever still drips at close is cancelled without waiting.
        self._runner = web.AppRunner(
            app, access_log=None, handler_cancellation=True, shutdown_timeout=0.1
        )
        await self._runner.setup()
        await web.TCPSite(self._runner, "127.0.0.1", 0).start()
        port = self._runner.addresses[0][1]
        self.url = f"http://127.0.0.1:{port}"
        self.ws_url = f"ws://127.0.0.1:{port}/ws"
        self._raw = await asyncio.start_server(self._tracked(self._raw_answer), "127.0.0.1", 0)
        self.raw_url = f"http://127.0.0.1:{self._raw.sockets[0].getsockname()[1]}"
        self._elsewhere = await asyncio.start_server(
            self._tracked(self._elsewhere_answer), "127.0.0.1", 0
        )
        self.elsewhere_url = f"http://127.0.0.1:{self._elsewhere.sockets[0].getsockname()[1]}"

    async def close(self) -> None:
        for ws in list(self._joined):
            with contextlib.suppress(ConnectionError):
                await ws.close()
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None
        for server in (self._raw, self._elsewhere):
            if server is not None:
                server.close()
                await server.wait_closed()
        self._raw = self._elsewhere = None
        for task in self._raw_tasks:
            task.cancel()
        if self._raw_tasks:
            await asyncio.gather(*self._raw_tasks, return_exceptions=True)

    def _tracked(
        self, handler: Callable[[asyncio.StreamReader, asyncio.StreamWriter], Awaitable[None]]
    ) -> Callable[[asyncio.StreamReader, asyncio.StreamWriter], Awaitable[None]]:
        """``handler``, its task kept so that :meth:`close` leaves none behind."""

        async def run(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
            task = asyncio.current_task()
            assert task is not None
            self._raw_tasks.add(task)
            try:
                await handler(reader, writer)
            except ConnectionError:
                pass
            finally:
                writer.close()
                with contextlib.suppress(ConnectionError):
                    await writer.wait_closed()
                self._raw_tasks.discard(task)

        return run

    # -- what tests look at -----------------------------------------------------------------

    async def wait_joins(self, count: int, timeout: float = 5.0) -> None:
        """Return once ``count`` joins were answered (TimeoutError after ``timeout``)."""
        async with asyncio.timeout(timeout), self._join_changed:
            await self._join_changed.wait_for(lambda: self.joins >= count)

    async def push(self, *frames: str | bytes) -> None:
        """Send ``frames`` (text or binary) on the most recently joined WebSocket."""
        ws = self._joined[-1]
        for frame in frames:
            if isinstance(frame, bytes):
                await ws.send_bytes(frame)
            else:
                await ws.send_str(frame)

    # -- HTTP ---------------------------------------------------------------------------------

    @web.middleware
    async def _record(
        self, request: web.Request, handler: Callable[[web.Request], Awaitable[web.StreamResponse]]
    ) -> web.StreamResponse:
        self.requests.append((request.method, request.path))
        return await handler(request)

    async def _sync_device(self, request: web.Request) -> web.StreamResponse:
        name = str((await request.post()).get("deviceIdentifier", ""))
        if name.startswith("id:"):
            return web.json_response({"commandId": name[3:]}, status=202)
        if name == "empty":
            return web.Response(status=202)
        if name in BODY_IDS:
            content_type, body = BODY_IDS[name]
            return web.Response(status=202, body=body, headers={"Content-Type": content_type})
        if name in HEADER_IDS:
            return web.Response(status=202, headers={"x-dpt-cab-id": HEADER_IDS[name]})
        if name == "deep-inside":
            body = b'{"commandId":"cmd-1","extra":' + deep_json() + b"}"
            return web.Response(status=202, body=body, content_type="application/json")
        return await self._misbehave(request, name, 202)

    async def _status(self, request: web.Request) -> web.StreamResponse:
        command_id = request.match_info["command_id"]
        self.status_reads.append(command_id)
        if command_id.startswith("done"):
            return web.json_response({"command_status": 2, "body": "done"})
        if command_id.startswith("pending"):
            return web.json_response({"command_status": 1})
        if command_id == "deep-inside":
            body = b'{"command_status":2,"body":' + deep_json() + b"}"
            return web.Response(body=body, content_type="application/json")
        return await self._misbehave(request, command_id, 200)

    async def _misbehave(self, request: web.Request, name: str, status: int) -> web.StreamResponse:
        if name in ("huge-chunked", "huge-length"):
            return await self._huge(request, name, status, length=name == "huge-length")
        if name.startswith("drip"):
            return await self._drip(request, name, status)
        if name in ("deep-array", "deep-object"):
            body = deep_json(name.removeprefix("deep-"))
            return web.Response(status=status, body=body, content_type="application/json")
        if name.startswith("redirect-"):
            location = f"{self.elsewhere_url}/storage/sync-device"
            return web.Response(
                status=int(name.removeprefix("redirect-")), headers={"Location": location}
            )
        return web.json_response({"command_status": 1}, status=status)

    async def _huge(
        self, request: web.Request, name: str, status: int, *, length: bool
    ) -> web.StreamResponse:
        response = web.StreamResponse(status=status, headers={"Content-Type": "application/json"})
        if length:
            response.content_length = HUGE
        else:
            response.enable_chunked_encoding()
        await response.prepare(request)
        try:
            for _ in range(HUGE // len(_BLOCK)):
                self.sent[name] += len(_BLOCK)
                await response.write(_BLOCK)
            await response.write_eof()
        except ConnectionError:
            pass  # the client hung up: what it should do
        return response

    async def _drip(self, request: web.Request, name: str, status: int) -> web.StreamResponse:
        response = web.StreamResponse(status=status, headers={"Content-Type": "application/json"})
        response.enable_chunked_encoding()
        await response.prepare(request)
        try:
            while True:  # until the client hangs up (the handler is then cancelled)
                self.sent[name] += 1
                await response.write(b" ")
                await asyncio.sleep(DRIP_INTERVAL)
        except ConnectionError:
            pass
        return response

    # -- the raw and the elsewhere listeners ---------------------------------------------------

    async def _raw_answer(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        head = await reader.readuntil(b"\r\n\r\n")
        lines = head.decode("latin-1").split("\r\n")
        method, path = lines[0].split(" ")[:2]
        self.requests.append((method, path))
        length = 0
        for line in lines[1:]:
            key, _, value = line.partition(":")
            if key.strip().lower() == "content-length":
                length = int(value)
        form = parse_qs((await reader.readexactly(length)).decode())
        name = form.get("deviceIdentifier", [""])[0]
        writer.write(RAW_HEADER_IDS.get(name, _RAW_NOT_FOUND))
        await writer.drain()

    async def _elsewhere_answer(
        self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter
    ) -> None:
        self.elsewhere_connections += 1  # and hang up: nobody should ever come here

    # -- the WebSocket -------------------------------------------------------------------------

    async def _ws(self, request: web.Request) -> web.WebSocketResponse:
        # No compression: a big frame is as big on the wire as it is in the test.
        ws = web.WebSocketResponse(compress=False)
        await ws.prepare(request)
        try:
            async for message in ws:
                if message.type is not WSMsgType.TEXT:
                    continue
                frame = json.loads(message.data)
                if frame.get("action") != "joinChannel":
                    continue
                answer = {
                    "correlationId": frame.get("correlationId"),
                    "status": 200,
                    "data": {"channelId": "x"},
                }
                await ws.send_str(json.dumps(answer))
                self._joined.append(ws)
                async with self._join_changed:
                    self.joins += 1
                    self._join_changed.notify_all()
        finally:
            if ws in self._joined:
                self._joined.remove(ws)
            self.closed_sockets += 1
        return ws
