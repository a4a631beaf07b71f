"""The sandbox's WebSocket ack channel (wire reference §a6), on its own loopback port.

Privicore pushes command acks and data-request answers over a WebSocket proxy apart from the
API host. A client connects to the root path, sends one ``joinChannel`` with its token and from
then on receives every ``{"data": {...}}`` message of its profile; every socket joined with a
token of the same profile gets each message.

Timers, not tasks: one periodic timer sends the progress acks (``command_status: 1``) of every
pending command and a keep-alive; one timer drains the heap of late messages (delayed acks,
``STREAM-READY``). Each connection has its handler task and one writer task that drains its
outbox, so the engine's settle listener can send without awaiting.
"""

from __future__ import annotations

import asyncio
import base64
import heapq
import itertools
import random
import time
import uuid
from collections.abc import Callable
from typing import Any, Literal

import attrs
from aiohttp import WSMsgType, web

from ..wire.ws import (
    JOIN_ACTION,
    JOINED_MESSAGE,
    KEEP_ALIVE_FRAME,
    LEAVE_ACTION,
    LEFT_MESSAGE,
    ClientFrame,
    ack_frame,
    read_client_frame,
    reply_frame,
    request_frame,
    stream_ready_frame,
)
from .data_token_state import DownstreamGrant
from .engine import Command
from .state import SandboxState

__all__ = [
    "CLOSE_GOING_AWAY",
    "CLOSE_RESTART",
    "CLOSE_UNAUTHORIZED",
    "INLINE_LIMIT",
    "WS_OUTPUTS",
    "WsProxy",
    "WsFaults",
    "WsOutput",
    "WsStats",
]

WsOutput = Literal["auto", "inline", "token", "url"]
"""How a settled ``request-data`` is announced (see :class:`WsProxy`)."""

WS_OUTPUTS: tuple[str, ...] = ("auto", "inline", "token", "url")
INLINE_LIMIT = 64 * 1024  # "auto": stored data up to this size is sent inline
CLOSE_UNAUTHORIZED = 4401  # after a refused join
CLOSE_RESTART = 1012  # ws_disconnect_all(): "service restart", clients should reconnect
CLOSE_GOING_AWAY = 1001  # the sandbox is closing
_HEARTBEAT = 20.0  # seconds between server pings
_KEEP_ALIVE_INTERVAL = 1.0  # seconds between keep-alive frames (unknown types clients ignore)
_CLOSE_TIMEOUT = 2.0  # seconds a closing handshake may take

_Kind = Literal["ack", "request", "stream_ready", "keep_alive"]


def _probability(instance: object, attribute: attrs.Attribute[float], value: float) -> None:
    if not 0.0 <= value <= 1.0:
        raise ValueError(f"{attribute.name} must be within [0, 1], got {value!r}")


def _non_negative(instance: object, attribute: attrs.Attribute[float], value: float) -> None:
    if not value >= 0.0:
        raise ValueError(f"{attribute.name} must be >= 0, got {value!r}")


@attrs.frozen
class WsFaults:
    """Random faults of the ack channel, deterministic for a given ``seed``.

    ``drop_rate``: probability that a settle ack (``command_status`` 2 or 3) is never sent;
    ``delay``: every settle ack is sent that many seconds after the settle.
    """

    drop_rate: float = attrs.field(default=0.0, converter=float, validator=_probability)
    delay: float = attrs.field(default=0.0, converter=float, validator=_non_negative)
    seed: int = 0


@attrs.define
class WsStats:
    """Counters of the ack channel. Messages are counted once per socket written to."""

    joins_ok: int = 0
    joins_refused: int = 0
    acks_sent: int = 0  # X-DPT-CAB-ID messages (progress and settle)
    acks_dropped: int = 0  # settle acks never sent (one per command, whatever the sockets)
    requests_sent: int = 0  # X-DPT-CAB-REQUEST-ID messages
    stream_ready_sent: int = 0
    keep_alives_sent: int = 0
    connections_open: int = 0
    connections_total: int = 0

    def as_dict(self) -> dict[str, int]:
        """A JSON-ready copy."""
        return attrs.asdict(self)


@attrs.define(eq=False)
class _Client:
    """One accepted socket; ``profile_id`` is set once its join succeeded."""

    ws: web.WebSocketResponse
    outbox: asyncio.Queue[str | int] = attrs.field(factory=asyncio.Queue)  # int: close code
    profile_id: str | None = None
    channel_id: str | None = None
    join_tried: bool = False
    closing: bool = False
    done: asyncio.Event = attrs.field(factory=asyncio.Event)


@attrs.frozen
class _Announcement:
    """A settled ``request-data`` waiting for its command's ack to go out first."""

    profile_id: str
    request_id: str
    grant: DownstreamGrant
    context: str | None


class WsProxy:
    """The WebSocket proxy of one sandbox: joins, acks, data-request answers and faults.

    ``output`` decides how a settled ``request-data`` is announced: ``"inline"`` (output_type
    0, body = base64 of the stored bytes), ``"token"`` (output_type 1, body = the single-use
    downstream token, then ``STREAM-READY`` after ``stream_ready_delay``), ``"url"``
    (output_type 1, body = the full download URL), ``"auto"`` (inline up to
    :data:`INLINE_LIMIT` bytes, token above).
    """

    def __init__(
        self,
        state: SandboxState,
        *,
        downstream_url: Callable[[], str],
        host: str,
        output: WsOutput = "auto",
        progress_interval: float | None = None,
        stream_ready_delay: float = 0.01,
        faults: WsFaults | None = None,
        heartbeat: float = _HEARTBEAT,
    ) -> None:
        if output not in WS_OUTPUTS:
            raise ValueError(f"ws_output must be one of {WS_OUTPUTS}, got {output!r}")
        if progress_interval is not None and not progress_interval > 0:
            raise ValueError(f"ws_progress_interval must be > 0 or None, got {progress_interval!r}")
        if not stream_ready_delay >= 0:
            raise ValueError(f"ws_stream_ready_delay must be >= 0, got {stream_ready_delay!r}")
        self.stats = WsStats()
        self.faults = faults or WsFaults()
        self._state = state
        self._downstream_url = downstream_url
        self._host = host
        self._output = output
        # None (the default, as the real server): only settle acks are pushed (§a4b).
        self._progress = None if progress_interval is None else float(progress_interval)
        self._stream_ready_delay = float(stream_ready_delay)
        self._heartbeat = heartbeat
        self._rng = random.Random(self.faults.seed)
        self._drop_next = 0
        self._refuse_joins = 0
        self._clients: set[_Client] = set()
        self._joined: dict[str, set[_Client]] = {}  # profile id -> joined sockets
        self._pending: dict[str, dict[str, Command]] = {}  # profile id -> started commands
        self._announcements: dict[str, _Announcement] = {}  # by command id
        self._late: list[tuple[float, int, str, str, _Kind]] = []  # a heap, earliest first
        self._order = itertools.count()
        self._late_timer: asyncio.TimerHandle | None = None
        self._ticker: asyncio.TimerHandle | None = None  # keep-alive frames
        self._progress_ticker: asyncio.TimerHandle | None = None  # progress acks, if any
        self._loop: asyncio.AbstractEventLoop | None = None
        self._runner: web.AppRunner | None = None
        self._url: str | None = None
        self._closed = False

    # -- lifecycle -------------------------------------------------------------------------

    @property
    def url(self) -> str:
        """``ws://HOST:PORT`` of the running channel."""
        if self._url is None:
            raise RuntimeError("the Sandbox is not started")
        return self._url

    async def start(self) -> None:
        """Bind on a free port and start the periodic timer (idempotent)."""
        if self._runner is not None:
            return
        app = web.Application()
        app.router.add_get("/", self._serve)
        runner = web.AppRunner(app, access_log=None, handler_cancellation=True)
        await runner.setup()
        try:
            await web.TCPSite(runner, self._host, 0).start()
        except BaseException:
            await runner.cleanup()
            raise
        self._runner = runner
        address, port = runner.addresses[0][:2]
        self._url = f"ws://[{address}]:{port}" if ":" in address else f"ws://{address}:{port}"
        self._loop = asyncio.get_running_loop()
        self._ticker = self._loop.call_later(_KEEP_ALIVE_INTERVAL, self._keep_alive)
        if self._progress is not None:
            self._progress_ticker = self._loop.call_later(self._progress, self._tick_progress)

    async def close(self) -> None:
        """Close every socket (1001), cancel the timers, stop serving. Idempotent."""
        self._closed = True
        for timer in (self._ticker, self._progress_ticker, self._late_timer):
            if timer is not None:
                timer.cancel()
        self._ticker = self._progress_ticker = self._late_timer = None
        self._late.clear()
        self.disconnect_all(CLOSE_GOING_AWAY)
        waits = [asyncio.ensure_future(client.done.wait()) for client in self._clients]
        if waits:
            # Bounded: a peer that never answers the close is cut off by the runner below.
            _, late = await asyncio.wait(waits, timeout=_CLOSE_TIMEOUT * 2)
            for waiter in late:
                waiter.cancel()
            if late:
                await asyncio.wait(late)
        runner, self._runner = self._runner, None
        if runner is not None:
            await runner.cleanup()

    # -- scripted faults -------------------------------------------------------------------

    def drop_next(self, n: int) -> None:
        """Never send the next ``n`` settle acks."""
        self._drop_next += max(0, int(n))

    def refuse_joins(self, n: int) -> None:
        """Answer the next ``n`` joins 401, valid token or not."""
        self._refuse_joins += max(0, int(n))

    def disconnect_all(self, code: int = CLOSE_RESTART) -> int:
        """Close every open socket with ``code``; returns how many were closed."""
        closing = [client for client in self._clients if not client.closing]
        for client in closing:
            self._close(client, code)
        return len(closing)

    # -- engine hooks ----------------------------------------------------------------------

    def accepted(self, command: Command) -> None:
        """A command was accepted: with progress acks on, one now and one on every progress
        tick until it settles (off by default: the real server pushes the settle ack only)."""
        profile_id = command.profile_id
        if profile_id is None or self._closed or self._progress is None:
            return  # register-profile: no profile, no channel
        self._pending.setdefault(profile_id, {})[command.command_id] = command
        self._send(profile_id, _ack_text(command), "ack")

    def settled(self, command: Command) -> None:
        """The engine's settle listener: the settle ack (unless dropped), then any answer."""
        profile_id = command.profile_id
        if profile_id is None or self._closed:
            return
        pending = self._pending.get(profile_id)
        if pending is not None:
            pending.pop(command.command_id, None)
            if not pending:
                del self._pending[profile_id]
        if self._drop(command):
            self.stats.acks_dropped += 1
        elif self.faults.delay > 0:
            self._send_later(self.faults.delay, profile_id, _ack_text(command), "ack")
        else:
            self._send(profile_id, _ack_text(command), "ack")
        announcement = self._announcements.pop(command.command_id, None)
        if announcement is not None:
            self._announce(announcement)

    def request_ready(
        self, command: Command, request_id: str, grant: DownstreamGrant, context: str | None
    ) -> None:
        """A ``request-data`` rule granted the data: announce it once its command settled."""
        if command.profile_id is not None and not self._closed:
            self._announcements[command.command_id] = _Announcement(
                command.profile_id, request_id, grant, context
            )

    def _drop(self, command: Command) -> bool:
        if self._drop_next > 0:
            self._drop_next -= 1
            return True
        rate = self.faults.drop_rate
        return rate > 0 and self._rng.random() < rate

    def _announce(self, announcement: _Announcement) -> None:
        grant, request_id = announcement.grant, announcement.request_id
        output = self._output
        if output == "auto":
            output = "inline" if len(grant.data) <= INLINE_LIMIT else "token"
        link = f"{self._downstream_url()}/?auth={grant.token}"
        body: str
        if output == "inline":
            output_type, body = 0, base64.b64encode(grant.data).decode("ascii")
        elif output == "token":
            output_type, body = 1, grant.token
        else:
            output_type, body = 1, link
        text = request_frame(request_id, output_type, body, announcement.context)
        self._send(announcement.profile_id, text, "request")
        if output == "token":
            text = stream_ready_frame(request_id, link)
            self._send_later(
                self._stream_ready_delay, announcement.profile_id, text, "stream_ready"
            )

    # -- sending ---------------------------------------------------------------------------

    def _send(self, profile_id: str, text: str, kind: _Kind) -> None:
        clients = self._joined.get(profile_id)
        if not clients:
            return
        for client in clients:
            client.outbox.put_nowait(text)
        self._count(kind, len(clients))

    def _count(self, kind: _Kind, n: int) -> None:
        stats = self.stats
        if kind == "ack":
            stats.acks_sent += n
        elif kind == "request":
            stats.requests_sent += n
        elif kind == "stream_ready":
            stats.stream_ready_sent += n
        else:
            stats.keep_alives_sent += n

    def _send_later(self, delay: float, profile_id: str, text: str, kind: _Kind) -> None:
        if self._loop is None or self._closed:
            return
        entry = (self._loop.time() + delay, next(self._order), profile_id, text, kind)
        heapq.heappush(self._late, entry)
        if self._late[0] is entry:  # a new earliest message: re-arm the one timer for it
            self._arm_late()

    def _arm_late(self) -> None:
        assert self._loop is not None
        if self._late_timer is not None:
            self._late_timer.cancel()
        self._late_timer = self._loop.call_at(self._late[0][0], self._flush_late)

    def _flush_late(self) -> None:
        self._late_timer = None
        assert self._loop is not None
        horizon = self._loop.time() + time.get_clock_info("monotonic").resolution
        late = self._late
        while late and late[0][0] <= horizon:
            _, _, profile_id, text, kind = heapq.heappop(late)
            self._send(profile_id, text, kind)
        if late:
            self._arm_late()

    def _tick_progress(self) -> None:
        assert self._loop is not None
        assert self._progress is not None
        self._progress_ticker = self._loop.call_later(self._progress, self._tick_progress)
        for profile_id in self._joined:
            for command in self._pending.get(profile_id, {}).values():
                self._send(profile_id, _ack_text(command), "ack")

    def _keep_alive(self) -> None:
        assert self._loop is not None
        self._ticker = self._loop.call_later(_KEEP_ALIVE_INTERVAL, self._keep_alive)
        for clients in self._joined.values():
            for client in clients:
                client.outbox.put_nowait(KEEP_ALIVE_FRAME)
            self._count("keep_alive", len(clients))

    # -- connections -----------------------------------------------------------------------

    async def _serve(self, request: web.Request) -> web.StreamResponse:
        ws = web.WebSocketResponse(heartbeat=self._heartbeat, timeout=_CLOSE_TIMEOUT)
        await ws.prepare(request)
        client = _Client(ws)
        self._clients.add(client)
        self.stats.connections_open += 1
        self.stats.connections_total += 1
        if self._closed:
            self._close(client, CLOSE_GOING_AWAY)
        writer = asyncio.create_task(self._write(client))
        writer.add_done_callback(lambda _: self._gone(client))
        try:
            async for message in ws:
                if message.type is WSMsgType.TEXT:
                    self._receive(client, message.data)
                else:
                    self._reply(client, None, 400, {"message": "Send text JSON messages."})
        finally:
            self._forget(client)
            if not client.closing:
                writer.cancel()
            try:
                # A closing handshake we started finishes in the writer (bounded by its timeout).
                await asyncio.wait([writer])
            except asyncio.CancelledError:
                writer.cancel()  # aiohttp cancels the handler once the peer hung up
                raise
        return ws

    async def _write(self, client: _Client) -> None:
        ws = client.ws
        while True:
            item = await client.outbox.get()
            if isinstance(item, int):
                await ws.close(code=item)
                return
            try:
                await ws.send_str(item)
            except (ConnectionError, RuntimeError):
                return  # the peer went away; the handler notices and cleans up

    def _gone(self, client: _Client) -> None:
        # The writer is done: the socket is closed or its peer went away.
        self._forget(client)
        self._clients.discard(client)
        self.stats.connections_open -= 1
        client.done.set()

    def _close(self, client: _Client, code: int) -> None:
        self._forget(client)
        client.closing = True
        client.outbox.put_nowait(code)

    def _forget(self, client: _Client) -> None:
        profile_id = client.profile_id
        if profile_id is None:
            return
        joined = self._joined.get(profile_id)
        if joined is not None:
            joined.discard(client)
            if not joined:
                del self._joined[profile_id]

    def _reply(
        self, client: _Client, correlation: object, status: int, data: dict[str, Any]
    ) -> None:
        client.outbox.put_nowait(reply_frame(correlation, status, data))

    def _receive(self, client: _Client, raw: str) -> None:
        if client.closing:
            return
        frame = read_client_frame(raw)
        if isinstance(frame, str):
            self._reply(client, None, 400, {"message": frame})
            return
        correlation, action = frame.correlation_id, frame.action
        if action == JOIN_ACTION:
            self._join(client, frame)
        elif action == LEAVE_ACTION:
            self._leave(client, correlation)
        else:
            self._reply(client, correlation, 400, {"message": f"Unknown action: {action!r}."})

    def _join(self, client: _Client, frame: ClientFrame) -> None:
        correlation = frame.correlation_id
        if client.join_tried:
            self._reply(client, correlation, 400, {"message": "This socket already joined."})
            return
        client.join_tried = True
        value = frame.token
        token = self._state.tokens.get(value) if value is not None else None
        refused = self._refuse_joins > 0
        if refused:
            self._refuse_joins -= 1
        if refused or token is None or not token.valid(time.time()):
            self.stats.joins_refused += 1
            self._reply(client, correlation, 401, {"message": "Unauthorized"})
            self._close(client, CLOSE_UNAUTHORIZED)
            return
        self.stats.joins_ok += 1
        client.profile_id = token.profile_id
        client.channel_id = str(uuid.uuid4())
        self._joined.setdefault(token.profile_id, set()).add(client)
        self._reply(
            client, correlation, 200, {"channelId": client.channel_id, "message": JOINED_MESSAGE}
        )

    def _leave(self, client: _Client, correlation: object) -> None:
        channel_id = client.channel_id
        if client.profile_id is None:
            self._reply(client, correlation, 400, {"message": "This socket has not joined."})
            return
        self._forget(client)
        client.profile_id = None
        self._reply(client, correlation, 200, {"channelId": channel_id, "message": LEFT_MESSAGE})


def _ack_text(command: Command) -> str:
    return ack_frame(command.command_id, command.state.status, command.body)
