"""``PrivicoreClient``: configuration and lifecycle. It builds the parts and closes them.

The sender, transport, command service, token keeper, ack channel and resources talk to each
other through the protocols they declare; the client only puts them together.
"""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator, Mapping
from types import TracebackType
from typing import TYPE_CHECKING, Self, Unpack

from .acks import AckChannel
from .arguments import require_int, require_seconds
from .auth import TokenKeeper
from .commands import CommandHandle, CommandService, HttpStatusSource, PollPolicy
from .config import ClientConfig
from .http.aiohttp_sender import AiohttpSender
from .http.retry import RetryPolicy
from .http.sender import Limits, Sender, Timeouts
from .http.transport import CallExtras, CallParts, Credential, Transport, WireResponse
from .journal.protocol import CommandJournal
from .ratelimit import RateLimiter
from .resources import (
    Authenticators,
    Commands,
    DataTokens,
    Devices,
    Directories,
    OAuth,
    Policies,
    Profile,
    PublicKeys,
    Storage,
    Utility,
    Vault,
    Voting,
)
from .routes import ROUTES, Auth, Host, Route

if TYPE_CHECKING:  # only the sender touches aiohttp's client; here it is just a type
    import aiohttp

__all__ = ["PrivicoreClient"]

RouteOverrides = Mapping[str, tuple[str, str] | str | Route]


class PrivicoreClient:
    """The asyncio client of the Privicore API.

    Use it as an async context manager (or call :meth:`close`)::

        async with PrivicoreClient(api_url, username="me", password="...") as client:
            handle = await client.storage.sync_device("dev-123")
            result = await handle

    Every argument falls back to an environment variable where one exists:
    ``PRIVICORE_API_URL``, ``PRIVICORE_WS_URL``, ``PRIVICORE_UPSTREAM_URL``,
    ``PRIVICORE_DOWNSTREAM_URL``, ``PRIVICORE_USERNAME``, ``PRIVICORE_PASSWORD``.
    With a username and password the client authenticates on first use, reauthorizes before
    the token expires, and after a 401 authenticates once and replays the call once.
    ``session`` lets you bring your own ``aiohttp.ClientSession``; the client then never
    closes it. ``sender`` replaces the HTTP layer's bottom (e.g. a
    :class:`~privicore_async.http.MemorySender` in tests). ``routes`` corrects endpoint
    paths (see :mod:`privicore_async.routes`). ``journal`` (a
    :class:`~privicore_async.journal.CommandJournal`) records every command so that it
    survives the process: the client opens it on first use and closes it with itself.
    ``rate_limit`` (:class:`~privicore_async.ratelimit.InProcessRateLimit`, or
    :class:`~privicore_async.ratelimit.RedisRateLimit` shared by many processes) paces every
    HTTP request; it may be shared by several clients, so closing it is yours to do.
    """

    def __init__(
        self,
        api_url: str | None = None,
        *,
        ws_url: str | None = None,
        username: str | None = None,
        password: str | None = None,
        token: str | None = None,
        session: aiohttp.ClientSession | None = None,
        sender: Sender | None = None,
        poll: PollPolicy | None = None,
        retry: RetryPolicy | None = None,
        timeouts: Timeouts | None = None,
        limits: Limits | None = None,
        routes: RouteOverrides | None = None,
        upstream_url: str | None = None,
        downstream_url: str | None = None,
        max_connections: int = 100,
        token_refresh_margin: float = 60.0,
        reauthorize_ttl: int = 3600,
        journal: CommandJournal | None = None,
        rate_limit: RateLimiter | None = None,
    ) -> None:
        config = ClientConfig.resolve(
            api_url=api_url,
            ws_url=ws_url,
            upstream_url=upstream_url,
            downstream_url=downstream_url,
            username=username,
            password=password,
            token=token,
        )
        require_int("max_connections", max_connections, minimum=1)
        require_seconds(
            "token_refresh_margin", token_refresh_margin, allow_none=False, allow_zero=True
        )
        require_int("reauthorize_ttl", reauthorize_ttl, minimum=1)
        self.api_url = config.api_url
        self.ws_url = config.ws_url
        self.routes = ROUTES.with_overrides(routes)
        if sender is None:
            sender = AiohttpSender(session=session, max_connections=max_connections)
        elif session is not None:
            raise ValueError("give a session or a sender, not both")
        self.transport = Transport(
            sender,
            {
                Host.API: config.api_url,
                Host.UPSTREAM: config.upstream_url,
                Host.DOWNSTREAM: config.downstream_url,
            },
            routes=self.routes,
            retry=retry,
            timeouts=timeouts,
            limits=limits,
            limiter=rate_limit,
        )
        self.command_service = CommandService(
            HttpStatusSource(self.transport, self.routes["utility.command_status"]),
            poll,
            journal=journal,
        )
        """Accepted commands, pushed acks and status reads (see :mod:`privicore_async.commands`)."""
        self.tracker = self.command_service.tracker
        self.tokens = TokenKeeper(
            self.transport,
            self.routes,
            username=config.username,
            password=config.password,
            token=config.token,
            refresh_margin=token_refresh_margin,
            reauthorize_ttl=reauthorize_ttl,
            commands=self.command_service,
        )
        self.utility = Utility(self)
        self.profile = Profile(self)
        self.oauth = OAuth(self)
        self.public_keys = PublicKeys(self)
        self.data_tokens = DataTokens(self)
        self.devices = Devices(self)
        self.storage = Storage(self)
        self.directories = Directories(self)
        self.authenticators = Authenticators(self)
        self.policies = Policies(self)
        self.voting = Voting(self)
        self.commands = Commands(self)
        self.vault = Vault(self)
        self.acks: AckChannel | None = None
        """The WebSocket ack channel when ``ws_url`` is set (``None`` = polling only)."""
        if self.ws_url:
            self.acks = AckChannel(self.ws_url, sender, self.tokens, self.command_service)
        self._closed = False

    def __repr__(self) -> str:
        who = f" username={self.tokens.username!r}" if self.tokens.username else ""
        return f"<PrivicoreClient {self.api_url}{who}>"

    async def __aenter__(self) -> Self:
        if self.tokens.current is not None or self.tokens.can_authenticate:
            self._start_acks()
        return self

    def _start_acks(self) -> None:
        # Joining needs a token, so the channel starts with the first authenticated command
        # (or at `async with` when credentials are known), not at construction.
        if self.acks is not None and not self._closed:
            self.acks.start()

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.close()

    async def close(self) -> None:
        """Stop tracking (pending handles are cancelled) and close what the client opened."""
        if self._closed:
            return
        self._closed = True
        if self.acks is not None:
            await self.acks.close()
        await self.command_service.close()
        await self.transport.close()

    # -- the request functions the resources use ------------------------------------------------

    def _parts(
        self,
        name: str,
        args: Mapping[str, object] | None,
        extras: CallExtras,
        *,
        handle: bool,
    ) -> tuple[Route, CallParts]:
        """Route ``name`` and its arguments placed on it; the route's phase must fit the call."""
        route = self.routes[name]
        if route.phase.tracked is not handle:
            raise TypeError(
                f"route {name} is a {route.phase.value} call: use "
                f"{'command' if route.phase.tracked else 'call'}()"
            )
        bound = route.bind(args or {})
        return route, {"path": bound.path, "fields": bound.fields or None, **extras}

    async def call(
        self,
        name: str,
        args: Mapping[str, object] | None = None,
        *,
        credential: Credential = None,
        **extras: Unpack[CallExtras],
    ) -> WireResponse:
        """Send the call of route ``name`` and return its answer.

        ``args`` are the route's parameters by Python name (``{"device_identifier": ...}``):
        the route places them (path, form, JSON or query) and checks them
        (:meth:`~privicore_async.routes.Route.bind`). Token routes use the client's token; the
        transport recovers per its retry table (one re-authentication and one replay after a
        401, the route's documented alternative, retries of what is safe to repeat). Routes
        whose phase makes them commands go through :meth:`command` instead.
        """
        route, parts = self._parts(name, args, extras, handle=False)
        return await self.transport.request(
            route, credential=credential, tokens=self.tokens, **parts
        )

    @contextlib.asynccontextmanager
    async def stream(
        self,
        name: str,
        args: Mapping[str, object] | None = None,
        *,
        credential: Credential = None,
        chunk_size: int = 64 * 1024,
        **extras: Unpack[CallExtras],
    ) -> AsyncIterator[AsyncIterator[bytes]]:
        """Like :meth:`call`, but yields the answer's body in chunks as it arrives.

        An async context manager (see :meth:`~privicore_async.http.transport.Transport.stream`):
        nothing is retried once the request may have reached the server.
        """
        route, parts = self._parts(name, args, extras, handle=False)
        opened = self.transport.stream(
            route, credential=credential, tokens=self.tokens, chunk_size=chunk_size, **parts
        )
        async with opened as chunks:
            yield chunks

    async def command(
        self,
        name: str,
        args: Mapping[str, object] | None = None,
        *,
        timeout: float | None = None,
        key: str | None = None,
        target: str | None = None,
        run_id: str | None = None,
        **extras: Unpack[CallExtras],
    ) -> CommandHandle:
        """Send the command of route ``name`` and return its tracked :class:`CommandHandle`.

        ``args`` as for :meth:`call`; ``timeout`` is the command's deadline (default
        ``PollPolicy.timeout``). Only routes whose phase is a tracked command are accepted.
        With a journal, the command is recorded under ``key`` (random by default) with its
        ``target`` and ``run_id`` before it is sent.
        """
        require_seconds("timeout", timeout)  # before anything is sent: no handle is ever lost
        route, parts = self._parts(name, args, extras, handle=True)
        if route.auth is Auth.TOKEN:
            self._start_acks()

        async def send() -> WireResponse:
            return await self.transport.request(route, tokens=self.tokens, **parts)

        return await self.command_service.submit(
            name, send, timeout=timeout, key=key, target=target, run_id=run_id
        )
