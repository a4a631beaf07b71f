"""``PrivicoreClient``: configuration and lifecycle. It builds the parts and closes them.

The sender, transport, command service, token keeper, ack channel and resources talk to each
other through the protocols they declare; the client only puts them together.
:meth:`PrivicoreClient.with_options` gives a view that shares every part and sends with other
:class:`~privicore_async.http.options.RequestOptions`.
"""

from __future__ import annotations

import contextlib
import copy
import os
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping, Sequence
from types import TracebackType
from typing import TYPE_CHECKING, ParamSpec, Self, TypeVar, Unpack

import attrs

from .acks import AckChannel
from .arguments import require_int, require_seconds
from .auth import TokenKeeper
from .commands import CommandHandle, CommandService, HttpStatusSource, PollPolicy
from .config import ClientConfig
from .errors import InvalidArgumentError, PrivicoreError
from .http.aiohttp_sender import AiohttpSender
from .http.options import RequestOptions, require_instance
from .http.retry import RetryPolicy
from .http.sender import Limits, Sender, Timeouts
from .http.transport import CallExtras, CallParts, Credential, Transport, WireResponse
from .journal.protocol import CommandJournal
from .log import configure_from_env
from .ratelimit import RateLimiter
from .raw_response import RawResponse, raw_response_wrapper, record
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
from .telemetry import Telemetry, TracedStatusSource, telemetry_from

if TYPE_CHECKING:  # only the sender touches aiohttp's client; here it is just a type
    import aiohttp
    from opentelemetry.trace import TracerProvider

__all__ = ["PrivicoreClient"]

RouteOverrides = Mapping[str, tuple[str, str] | str | Route]

P = ParamSpec("P")
T = TypeVar("T")


class PrivicoreClient:
    """The asyncio client of the Privicore API.

    Use it as an async context manager (or call :meth:`close`)::

        async with PrivicoreClient(api_url, username="me", password="...") as client:
            handle = await client.storage.sync_device("dev-123")
            result = await handle

    Every argument left out falls back to an environment variable where one exists:
    ``PRIVICORE_API_URL``, ``PRIVICORE_WS_URL``, ``PRIVICORE_UPSTREAM_URL``,
    ``PRIVICORE_DOWNSTREAM_URL``, ``PRIVICORE_USERNAME``, ``PRIVICORE_PASSWORD``; an empty
    string means "none" and is not filled from the environment. ``env=False`` reads no
    environment variable at all (``PRIVICORE_LOG`` included). With a username and password
    the client authenticates on first use, reauthorizes before the token expires, and after a
    401 authenticates once and replays the call once.
    ``session`` lets you bring your own ``aiohttp.ClientSession``; the client then never
    closes it. ``sender`` replaces the HTTP layer's bottom (e.g. a
    :class:`~privicore_async.http.MemorySender` in tests). ``routes`` corrects endpoint
    paths (see :mod:`privicore_async.routes`). ``journal`` (a
    :class:`~privicore_async.journal.CommandJournal`) records every command so that it
    survives the process: the client opens it on first use and closes it with itself.
    ``rate_limit`` (:class:`~privicore_async.ratelimit.InProcessRateLimit`, or
    :class:`~privicore_async.ratelimit.RedisRateLimit` shared by many processes) paces every
    HTTP request; it may be shared by several clients, so closing it is yours to do.

    ``trace_configs`` (``aiohttp.TraceConfig``) go to the session the client opens; give
    them to your own ``session`` instead (giving both is refused). ``telemetry=True`` makes
    OpenTelemetry spans through the global tracer provider, ``telemetry=provider`` through
    that one (see :mod:`privicore_async.telemetry`; needs the ``otel`` extra). With
    ``PRIVICORE_LOG=debug`` in the environment the SDK's log records go to stderr (see
    :mod:`privicore_async.log`). Every request carries the User-Agent
    ``privicore-async/X python/Y aiohttp/Z``.
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
        trace_configs: Sequence[aiohttp.TraceConfig] | None = None,
        telemetry: bool | TracerProvider = False,
        env: bool = True,
    ) -> None:
        if not isinstance(env, bool):
            raise InvalidArgumentError("env", "must be True or False")
        environ: Mapping[str, str] = os.environ if env else {}
        configure_from_env(environ)  # PRIVICORE_LOG: read once, here
        config = ClientConfig.resolve(
            api_url=api_url,
            ws_url=ws_url,
            upstream_url=upstream_url,
            downstream_url=downstream_url,
            username=username,
            password=password,
            token=token,
            env=environ,
        )
        require_int("max_connections", max_connections, minimum=1)
        require_seconds(
            "token_refresh_margin", token_refresh_margin, allow_none=False, allow_zero=True
        )
        require_int("reauthorize_ttl", reauthorize_ttl, minimum=1)
        # Checked here, not deep in the part that would first use them.
        for argument, value, cls in (
            ("poll", poll, PollPolicy),
            ("retry", retry, RetryPolicy),
            ("timeouts", timeouts, Timeouts),
            ("limits", limits, Limits),
        ):
            if value is not None:
                require_instance(argument, value, cls)
        self.telemetry: Telemetry | None = telemetry_from(telemetry)
        """Makes the client's OpenTelemetry spans (``None`` unless ``telemetry=`` asked)."""
        self.api_url = config.api_url
        self.ws_url = config.ws_url
        self.routes = ROUTES.with_overrides(routes)
        if sender is None:
            sender = AiohttpSender(
                session=session, max_connections=max_connections, trace_configs=trace_configs
            )
        elif session is not None:
            raise ValueError("give a session or a sender, not both")
        elif trace_configs is not None:
            raise InvalidArgumentError("trace_configs", "apply to aiohttp's session, not a sender")
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
            telemetry=self.telemetry,
        )
        statuses = HttpStatusSource(self.transport, self.routes["utility.command_status"])
        self.command_service = CommandService(
            statuses if self.telemetry is None else TracedStatusSource(statuses, self.telemetry),
            poll,
            journal=journal,
            telemetry=self.telemetry,
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
        self._bind_resources()
        self.acks: AckChannel | None = None
        """The WebSocket ack channel when ``ws_url`` is set (``None`` = polling only)."""
        if self.ws_url:
            self.acks = AckChannel(self.ws_url, sender, self.tokens, self.command_service)
        self._closed = False
        # What a view changes (see with_options); None: the transport's and tracker's own.
        self._options: RequestOptions | None = None
        self._command_timeout: float | None = None
        self._root = self  # the client that built the parts: the one that closes them

    def _bind_resources(self) -> None:
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

    def __repr__(self) -> str:
        who = f" username={self.tokens.username!r}" if self.tokens.username else ""
        view = "" if self._root is self else " (view)"
        return f"<PrivicoreClient {self.api_url}{who}{view}>"

    # -- views and raw answers ------------------------------------------------------------------

    @property
    def ack_channel(self) -> AckChannel:
        """The WebSocket ack channel, typed without ``None``: :attr:`acks` for code that knows
        ``ws_url`` is set. Raises :class:`~privicore_async.errors.PrivicoreError` without one."""
        if self.acks is None:
            raise PrivicoreError("no ack channel: pass ws_url= or set PRIVICORE_WS_URL")
        return self.acks

    def with_options(
        self,
        *,
        timeout: float | Timeouts | None = None,
        retry: RetryPolicy | None = None,
        poll: PollPolicy | None = None,
        extra_headers: Mapping[str, str] | None = None,
    ) -> Self:
        """A view of this client whose calls use these options; cheap, nothing is opened.

        The view shares everything with this client: connections (and an injected session),
        token, tracker, ack channel, journal and rate limit. Its resources and
        :meth:`call` / :meth:`command` / :meth:`stream` send with

        * ``timeout``: a :class:`Timeouts`, or a number of seconds bounding each request
          whole (``Timeouts.total``);
        * ``retry``: another :class:`RetryPolicy` for its requests;
        * ``poll``: its commands' deadline, ``poll.timeout``. The rest of a
          :class:`PollPolicy` is how the shared tracker polls and must stay this client's
          (use ``attrs.evolve(client.tracker.policy, timeout=...)`` when it was customised);
        * ``extra_headers``: added to its HTTP requests (not the WebSocket handshake). The
          SDK's own headers (authorization, content type, User-Agent) cannot be replaced.

        Options left out are this client's (a view of a view adds to its options). Token
        renewal and status reads keep the client's own options. Closing a view does nothing;
        closing the client it came from closes everything, its views included. Bad values
        raise :class:`~privicore_async.errors.InvalidArgumentError`.
        """
        if retry is not None:
            require_instance("retry", retry, RetryPolicy)
        command_timeout = self._command_timeout
        if poll is not None:
            require_instance("poll", poll, PollPolicy)
            shared = self.tracker.policy
            if attrs.evolve(poll, timeout=shared.timeout) != shared:
                raise InvalidArgumentError(
                    "poll",
                    "a view shares its client's tracker: only PollPolicy.timeout can differ",
                )
            command_timeout = poll.timeout
        view = copy.copy(self)  # the same parts, by reference
        view._options = self._request_options().replace(
            timeout=timeout, retry=retry, extra_headers=extra_headers
        )
        view._command_timeout = command_timeout
        view._bind_resources()
        return view

    def with_raw_response(
        self, method: Callable[P, Awaitable[T]]
    ) -> Callable[P, Awaitable[RawResponse[T]]]:
        """``method`` (of this client or one of its resources), returning the HTTP answer too.

        ``await client.with_raw_response(client.devices.list)()`` gives a
        :class:`~privicore_async.raw_response.RawResponse`: ``status``, ``headers``,
        ``request_id`` and ``route`` of the answer, and the method's usual result as
        ``parsed``. For a command the answer is its 202 and ``parsed`` its handle; for a
        method that sends several requests, the last answer. Methods that stream a download
        have none to give (``PrivicoreError``).
        """
        return raw_response_wrapper(method)

    def _request_options(self) -> RequestOptions:
        return self._options if self._options is not None else self.transport.options

    async def __aenter__(self) -> Self:
        if self.tokens.current is not None or self.tokens.can_authenticate:
            self._start_acks()
        return self

    def _start_acks(self) -> None:
        # Joining needs a token, so the channel starts with the first authenticated command
        # (or at `async with` when credentials are known), not at construction.
        if self.acks is not None and not self._root._closed:
            self.acks.start()

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.close()

    async def close(self) -> None:
        """Stop tracking (pending handles are cancelled) and close what the client opened.

        On a view (:meth:`with_options`) it does nothing: the view owns nothing.
        """
        if self._closed or self._root is not self:
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
        timeout: float | Timeouts | None = None,
        **extras: Unpack[CallExtras],
    ) -> WireResponse:
        """Send the call of route ``name`` and return its answer.

        ``args`` are the route's parameters by Python name (``{"device_identifier": ...}``):
        the route places them (path, form, JSON or query) and checks them
        (:meth:`~privicore_async.routes.Route.bind`). Token routes use the client's token; the
        transport recovers per its retry table (one re-authentication and one replay after a
        401, the route's documented alternative, retries of what is safe to repeat). Routes
        whose phase makes them commands go through :meth:`command` instead. ``timeout``
        bounds this call as in :meth:`with_options`. The answer is a
        :class:`~privicore_async.http.WireResponse`: status, headers, ``request_id``, body.
        """
        options = self._options
        if timeout is not None:
            options = self._request_options().replace(timeout=timeout)
        route, parts = self._parts(name, args, extras, handle=False)
        response = await self.transport.request(
            route, credential=credential, tokens=self.tokens, options=options, **parts
        )
        record(response)  # for with_raw_response
        return response

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
            route,
            credential=credential,
            tokens=self.tokens,
            chunk_size=chunk_size,
            options=self._options,
            **parts,
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
        ``PollPolicy.timeout``, or a view's ``poll.timeout``). Only routes whose phase is a
        tracked command are accepted. With a journal, the command is recorded under ``key``
        (random by default) with its ``target`` and ``run_id`` before it is sent.
        """
        require_seconds("timeout", timeout)  # before anything is sent: no handle is ever lost
        route, parts = self._parts(name, args, extras, handle=True)
        if route.auth is Auth.TOKEN:
            self._start_acks()
        options = self._options

        async def send() -> WireResponse:
            response = await self.transport.request(
                route, tokens=self.tokens, options=options, **parts
            )
            record(response)  # for with_raw_response: a command's answer is its 202
            return response

        if timeout is None:
            timeout = self._command_timeout
        span = None if self.telemetry is None else self.telemetry.command(name)
        if span is None:
            return await self.command_service.submit(
                name, send, timeout=timeout, key=key, target=target, run_id=run_id
            )
        try:
            handle = await self.command_service.submit(
                name, span.around(send), timeout=timeout, key=key, target=target, run_id=run_id
            )
        except BaseException as exc:
            span.failed(exc)
            raise
        span.follow(handle)  # at once: no other task runs between the 202 and this
        return handle
