"""The WebSocket ack channel: pushed command outcomes and data-request messages (§a6).

Privicore pushes every command's outcome as an ``X-DPT-CAB-ID`` message on a WebSocket joined
with the profile's token, and answers data requests with ``X-DPT-CAB-REQUEST-ID`` (and
``STREAM-READY``) messages. The channel makes that the fast path without giving up polling:

* joined, it delivers every ack to the client's
  :class:`~privicore_async.commands.CommandService`, which settles handles (or keeps an ack
  that beat its handle); the tracker polls only as a slow safety net;
* dropped, the tracker polls normally while the channel reconnects with jittered backoff,
  joins again (with the current token, also after a refresh) and then reads every pending
  command once, because acks are not replayed;
* a data-request message that beats its waiter waits in a buffer bounded in size and age.
* a refreshed token makes it join again with the new one (it listens to the token keeper).

One task runs the connection; nothing is created per command or per message.
"""

from __future__ import annotations

import asyncio
import logging
import uuid
from collections.abc import Callable, Iterable, Iterator
from typing import Any, Protocol

from . import errors
from .http.retry import Action, Outcome, RequestKind, decide, jittered_waits
from .http.sender import Failure, Sender, SendError, Socket
from .mailbox import Mailbox
from .models.profile import AuthToken
from .wire.status import CommandStatus
from .wire.ws import (
    REQUEST_ANSWER,
    Ack,
    JoinAnswer,
    RequestMessage,
    join_frame,
    load_frame,
    read_join_answer,
    read_message,
)

__all__ = ["AckChannel", "AckSink", "RequestMessage", "TokenSource"]

logger = logging.getLogger("privicore_async.acks")


class AckSink(Protocol):
    """Where acks go: the client's :class:`~privicore_async.commands.CommandService`."""

    def deliver(self, command_id: str, status: CommandStatus, body: Any = None) -> None:
        """A command's pushed state (progress included)."""
        ...

    def set_acks_live(self, live: bool) -> None:
        """The channel joined (polling becomes a safety net) or dropped (poll normally)."""
        ...


class TokenSource(Protocol):
    """The client's token: :class:`~privicore_async.auth.TokenKeeper`."""

    current: AuthToken | None

    async def token(self) -> str:
        """A usable token (authenticating or renewing first when needed)."""
        ...

    async def recover(self, failed: str) -> bool:
        """Get a new token after ``failed`` was refused."""
        ...

    def on_change(self, listener: Callable[[AuthToken], object]) -> None:
        """Call ``listener(token)`` whenever the token is replaced."""
        ...


class _JoinRefused(Exception):
    """The server refused to join the channel with ``token`` (it stays out of messages)."""

    def __init__(self, token: str) -> None:
        super().__init__("the ack channel refused the token")
        self.token = token


class AckChannel:
    """One WebSocket per client, joined with the client's token; see the module docstring."""

    def __init__(
        self,
        url: str,
        sender: Sender,
        tokens: TokenSource,
        sink: AckSink,
        *,
        heartbeat: float = 20.0,
        join_timeout: float = 10.0,
        reconnect_initial: float = 0.1,
        reconnect_max: float = 10.0,
        buffer_size: int = 10_000,
        buffer_age: float = 60.0,
    ) -> None:
        self.url = url
        self._sender = sender
        self._tokens = tokens
        self._sink = sink
        self.heartbeat = heartbeat
        self.join_timeout = join_timeout
        self._reconnect = (reconnect_initial, reconnect_max)
        self._early_requests: Mailbox[RequestMessage] = Mailbox(buffer_size, buffer_age)
        self._waiters: dict[str, list[tuple[tuple[str, ...], asyncio.Future[RequestMessage]]]] = {}
        self._task: asyncio.Task[None] | None = None
        self._socket: Socket | None = None
        self._joined = asyncio.Event()
        self._joined_token: str | None = None
        self._closing: set[asyncio.Task[Any]] = set()
        self._closed = False
        self.joins = 0
        """Successful joins so far (the first one, then one per reconnect or re-join)."""
        self.dropped_frames = 0
        """Frames that were not JSON (or too deeply nested to read), dropped; the channel
        stays up."""
        tokens.on_change(self.token_changed)

    def __repr__(self) -> str:
        state = "joined" if self.joined else "not joined"
        return f"<AckChannel {self.url} {state}>"

    # -- lifecycle -----------------------------------------------------------------------------

    @property
    def joined(self) -> bool:
        """True while the socket is open and joined: acks are flowing."""
        return self._joined.is_set()

    def start(self) -> None:
        """Start connecting in the background (idempotent); the client calls it for you."""
        if self._closed:
            raise errors.PrivicoreError("the client is closed")
        if self._task is None or self._task.done():
            self._task = asyncio.get_running_loop().create_task(
                self._run(), name="privicore-ack-channel"
            )

    async def wait_joined(self, timeout: float | None = None) -> bool:
        """Start if needed and wait until joined; False if ``timeout`` passed first."""
        self.start()
        try:
            async with asyncio.timeout(timeout):
                await self._joined.wait()
        except TimeoutError:
            return False
        return True

    async def close(self) -> None:
        """Leave: close the socket and stop reconnecting. Leaves no task behind."""
        self._closed = True
        self._set_joined(False)
        tasks = [t for t in (self._task, *self._closing) if t is not None]
        for task in tasks:
            task.cancel()
        if tasks:
            await asyncio.gather(*tasks, return_exceptions=True)
        if self._socket is not None and not self._socket.closed:
            await self._socket.close()
        # A waiter ends with an SDK error, not a bare CancelledError: inside a TaskGroup or a
        # web framework that would read as the waiting task itself being cancelled.
        for request_id, waiters in self._waiters.items():
            for _, future in waiters:
                if not future.done():
                    future.set_exception(
                        errors.ClientClosedError(
                            f"the client was closed while waiting for request {request_id}"
                        )
                    )
        self._waiters.clear()

    # -- data-request messages -----------------------------------------------------------------

    async def wait_request(
        self,
        request_id: str,
        *,
        types: Iterable[str] = (REQUEST_ANSWER,),
        timeout: float | None = None,
    ) -> RequestMessage:
        """The next message of one of ``types`` for ``request_id`` (also one that came early).

        Raises :class:`~privicore_async.errors.TransportError` when ``timeout`` passes and
        :class:`~privicore_async.errors.ClientClosedError` when the channel closes first.
        """
        kinds = tuple(types)
        early = self._early_requests.take(request_id, lambda m: m.type in kinds)
        if early is not None:
            return early
        self.start()
        future: asyncio.Future[RequestMessage] = asyncio.get_running_loop().create_future()
        entry = (kinds, future)
        self._waiters.setdefault(request_id, []).append(entry)
        try:
            async with asyncio.timeout(timeout):
                return await future
        except TimeoutError:
            raise errors.TransportError(
                f"no {'/'.join(kinds)} message for request {request_id} within {timeout:g}s"
            ) from None
        finally:
            waiters = self._waiters.get(request_id)
            if waiters is not None and entry in waiters:
                waiters.remove(entry)
                if not waiters:
                    del self._waiters[request_id]

    # -- the connection --------------------------------------------------------------------------

    async def _run(self) -> None:
        waits: Iterator[float] | None = None
        while not self._closed:
            outcome, rejoin, refused = Outcome(failure=Failure.LOST), False, None
            joins = self.joins
            try:
                rejoin = await self._connect_once()
            except asyncio.CancelledError:
                raise
            except _JoinRefused as exc:
                outcome, refused = Outcome(status=401), exc.token
                logger.info("ack channel: the join was refused (401)")
            except SendError as exc:
                outcome = Outcome(failure=exc.failure)
                logger.info("ack channel: %s", exc.detail)
            except (TimeoutError, OSError, errors.PrivicoreError) as exc:
                logger.info("ack channel: %s", _describe(exc))
            except Exception:  # a bug must not end the channel silently
                logger.exception("ack channel: unexpected error")
            finally:
                self._socket = None
                self._set_joined(False)
            if self._closed:
                break
            if rejoin:
                waits = None  # a deliberate re-join (new token): no back-off
                continue
            if self.joins > joins:
                waits = None  # it was joined: a drop after a good connection starts afresh
            action = decide(RequestKind.SOCKET, outcome, can_reauth=refused is not None)
            if action is Action.GIVE_UP:
                logger.warning("ack channel: %s cannot be opened; polling only", self.url)
                return
            if action is Action.REAUTH and refused is not None:
                await self._recover(refused)
            if waits is None:
                waits = jittered_waits(*self._reconnect)
            delay = next(waits)
            logger.info("ack channel: reconnecting in %.2fs", delay)
            await asyncio.sleep(delay)

    async def _recover(self, refused: str) -> None:
        try:
            await self._tokens.recover(refused)
        except errors.PrivicoreError as exc:  # polling goes on; the next join tries again
            logger.info("ack channel: no fresh token: %s", _describe(exc))

    async def _connect_once(self) -> bool:
        """One connection: connect, join, dispatch until it closes. True = re-join at once."""
        token = await self._tokens.token()
        async with self._sender.connect(self.url, heartbeat=self.heartbeat) as socket:
            self._socket = socket
            await self._join(socket, token)
            self._joined_token = token
            self.joins += 1
            self._set_joined(True)
            logger.info("ack channel joined")
            while (text := await socket.receive_text()) is not None:
                self._dispatch(text)
        current = self._tokens.current
        return current is not None and current.authorization_token != self._joined_token

    async def _join(self, socket: Socket, token: str) -> None:
        await socket.send_text(join_frame(token, str(uuid.uuid4())))
        async with asyncio.timeout(self.join_timeout):
            while True:
                text = await socket.receive_text()
                if text is None:
                    raise errors.TransportError("ack channel closed before the join was answered")
                answer = read_join_answer(load_frame(text))
                if answer is JoinAnswer.JOINED:
                    return
                if answer is JoinAnswer.REFUSED:
                    raise _JoinRefused(token)
                # anything else before the join ack (a keep-alive, say) is not for us

    def _set_joined(self, joined: bool) -> None:
        if joined == self._joined.is_set():
            return
        if joined:
            self._joined.set()
        else:
            self._joined.clear()
        self._sink.set_acks_live(joined)

    def token_changed(self, token: AuthToken) -> None:
        """A refreshed token: join again with it (one channel per connection)."""
        socket = self._socket
        if socket is None or socket.closed or token.authorization_token == self._joined_token:
            return
        task = asyncio.get_running_loop().create_task(socket.close())
        self._closing.add(task)
        task.add_done_callback(self._closing.discard)

    # -- messages ------------------------------------------------------------------------------

    def _dispatch(self, text: str) -> None:
        payload = load_frame(text)
        if payload is None:  # not JSON (or nested past reading), binary: not a frame of ours
            self.dropped_frames += 1
            return
        message = read_message(payload)
        if isinstance(message, Ack):
            self._sink.deliver(message.command_id, message.status, message.body)
        elif isinstance(message, RequestMessage):
            self._on_request_message(message)
        # other frames (keep-alives, telemetry, the join ack) are not for us

    def _on_request_message(self, message: RequestMessage) -> None:
        request_id, kind = message.request_id, message.type
        for kinds, future in self._waiters.get(request_id, []):
            if kind in kinds and not future.done():
                future.set_result(message)
                return
        self._early_requests.put(request_id, message)


def _describe(exc: BaseException) -> str:
    # The URL of the channel carries no secret; the token is only ever inside the join frame.
    return f"{type(exc).__name__}: {exc}".rstrip(": ")
