"""The :class:`Sandbox`: Privicore on loopback, assembled from the route table.

Every Privicore endpoint is registered from :data:`~privicore_async.routes.ROUTES` by route
name, so the sandbox and the client agree on paths by construction. Routes on the upstream and
downstream hosts are not served here (they live on other hosts). A few ``/_sandbox/`` admin
endpoints (:mod:`.admin_routes`) let a test or a benchmark steer a sandbox that runs in another
process; they answer only requests that carry :attr:`Sandbox.admin_token` (see :mod:`.access`).
"""

from __future__ import annotations

import random
import time
from collections.abc import Mapping
from types import MappingProxyType, TracebackType
from typing import Any, Literal

import attrs
from aiohttp import web
from aiohttp.typedefs import Handler as AiohttpHandler
from multidict import MultiDict

from ..routes import ROUTES, Host, Route
from .access import (
    admin_guard_middleware,
    check_admin_token,
    check_host,
    is_loopback,
    new_admin_token,
    warn_exposed,
)
from .admin_routes import ADMIN_PREFIX, AdminRoutes
from .answers import id_shapes, status_shapes
from .call import Call, Context, Handler, endpoint
from .config import STATUS_METHODS, IdShape, ReauthorizeMode, Settings, StatusShape
from .data_hosts import DataHosts
from .engine import CommandEngine
from .faults import FaultInjector, Faults, fault_middleware
from .handlers import HANDLERS, not_implemented
from .rate_limit import RateLimit, TokenBucket, rate_limit_middleware
from .seeding import SeededUser, check_seed, seed_user
from .state import SandboxState
from .stats import SandboxStats
from .validation import FormReader
from .voting_state import Pool
from .ws import WsFaults, WsOutput, WsProxy, WsStats

__all__ = ["ADMIN_PREFIX", "Sandbox"]

_SHUTDOWN_GRACE = 0.5  # seconds an in-flight request (e.g. a "slow" fault) gets at close()


class Sandbox:
    """An in-memory Privicore server on loopback (aiohttp.web), for tests, demos and benchmarks.

    ``latency``/``jitter``: every command settles ``latency + uniform(0, jitter)`` seconds after
    it was accepted (seeded by ``seed``).

    The defaults are the real server's wire as the evidence shows (wire reference §a4b): a 202
    carries the command id in its body as a bare JSON string, status answers are a bare word
    (``"started"``, ``"succeeded"``, ``"rejected"``), and the WebSocket pushes only settle acks.
    The variety is opt-in, for testing a client's parser: ``id_shape`` picks how 202 bodies
    carry the id (``"json-string"``, ``"text"``, ``"array"``, ``"object"``, ``"header"``: only
    in the ``x-dpt-cab-id`` header, or ``"mixed"`` to rotate), ``id_header=True`` adds that
    header to every 202; ``status_shape`` does the same for status answers (``"string"``,
    ``"array"``, ``"object"``: the legacy ``{commandId, command_status, body}`` that carries a
    rejection's reason, ``"mixed"``), and ``status_methods`` the HTTP methods the status
    endpoint accepts (the other one gets 405). ``request-data`` answers with the id in the
    header only, whatever the shape (per the evidence). ``sync-device`` follows ``id_shape``
    like every command although its seed page says "202, no body": ``id_shape="header"`` is
    that reading (the id then only in the header, the sandbox's guess).
    ``token_ttl`` is the lifetime of tokens from ``authenticate``; ``reauthorize_mode`` is
    ``"sync"`` (200 with a new token) or ``"command"`` (202, the same token is extended on
    settle). ``faults`` injects random faults; :meth:`inject` scripts one-offs. ``port=0`` picks
    a free port.

    The WebSocket ack channel (:attr:`ws_url`, its own port) pushes ``command_status`` 2/3 on
    settle and a keep-alive frame every second; with ``ws_progress_interval`` (off by default)
    also ``command_status`` 1 on accept and every that many seconds while pending. The answer
    of each ``request-data`` goes out as ``ws_output`` says (``"auto"``, ``"inline"``,
    ``"token"``, ``"url"``; ``STREAM-READY`` follows a token after ``ws_stream_ready_delay``).
    ``ws_faults`` drops or delays settle acks; :meth:`ws_drop_next`,
    :meth:`ws_refuse_joins` and :meth:`ws_disconnect_all` script one-offs. ``early_acks``:
    commands settle at once and their 202 is answered ``early_ack_delay`` seconds later, so the
    ack arrives before the 202.

    ``alternative_routes`` serves the documented second choices of the route table
    (:data:`~privicore_async.routes.ALTERNATIVES`): ``False`` (the default) serves the first
    choices only, the real server's wire as far as known; ``True`` serves each alternative too;
    ``"only"`` serves it in place of the first choice, which then answers 404 (another path) or
    405 (another method), for testing a client's fallback. The status endpoint keeps its own
    switch, ``status_methods``.

    ``rate_limit=(rate, burst)``: a gateway token bucket of ``burst`` tokens refilled at
    ``rate`` per second; a request to the API host that finds it empty is answered 429 with a
    ``Retry-After`` (see :mod:`.rate_limit`) and counted in ``stats.rate_limited``. ``None`` (the
    default): no limit.

    ``host`` must be a loopback address (127.0.0.0/8, ``::1``, ``localhost``), else
    ``ValueError``, unless ``allow_remote=True``: then :meth:`start` warns
    (:class:`~.access.SandboxExposedWarning`) that the sandbox is reachable from other hosts.
    The ``/_sandbox/`` admin endpoints need :attr:`admin_token` (random unless ``admin_token``
    is given) in an ``X-Sandbox-Token`` or ``Authorization: Bearer`` header, else 401.

    ``users={"me": "secret"}`` registers those users, each with ``devices`` approved, online
    storage devices (see :meth:`seed_user` and :attr:`seeded` for their ids), so a client can
    log in and sync at once.

    Use ``async with Sandbox() as sb:`` or :meth:`start` / :meth:`close`.
    """

    def __init__(
        self,
        *,
        latency: float = 0.2,
        jitter: float = 0.0,
        id_shape: IdShape = "json-string",
        id_header: bool = False,
        status_shape: StatusShape = "string",
        status_methods: tuple[str, ...] = STATUS_METHODS,
        token_ttl: float = 3600.0,
        reauthorize_mode: ReauthorizeMode = "sync",
        alternative_routes: bool | Literal["only"] = False,
        faults: Faults | None = None,
        ws_output: WsOutput = "auto",
        ws_progress_interval: float | None = None,
        ws_stream_ready_delay: float = 0.01,
        ws_faults: WsFaults | None = None,
        early_acks: bool = False,
        early_ack_delay: float = 0.05,
        rate_limit: tuple[float, int] | None = None,
        seed: int = 0,
        host: str = "127.0.0.1",
        port: int = 0,
        allow_remote: bool = False,
        admin_token: str | None = None,
        users: Mapping[str, str] | None = None,
        devices: int = 0,
    ) -> None:
        check_host(host, allow_remote=allow_remote)
        seed_users = check_seed(users, devices)
        # Kept private, with no __repr__ that could show it: the token is a secret.
        self._admin_token = new_admin_token() if admin_token is None else admin_token
        check_admin_token(self._admin_token)
        self.settings = Settings(
            id_shape=id_shape,
            id_header=id_header,
            status_shape=status_shape,
            status_methods=status_methods,
            token_ttl=token_ttl,
            reauthorize_mode=reauthorize_mode,
        )
        self.state = SandboxState()
        """The in-memory world (profiles, tokens, devices, commands), for assertions."""
        self.stats = SandboxStats()
        """Counters: requests per route name, status requests, commands accepted/settled."""
        self.faults = faults or Faults()
        self.rate_limit = None if rate_limit is None else RateLimit(*rate_limit)
        """The gateway's limit (``None``: none); fixed for the lifetime of the sandbox."""
        self.host = host
        self.port = port
        if alternative_routes not in (False, True, "only"):
            raise ValueError(f"alternative_routes: a bool or 'only', not {alternative_routes!r}")
        self._alternative_routes = alternative_routes
        self._injector = FaultInjector(self.faults)
        self._engine = CommandEngine(
            self.state.commands, self.stats, latency=latency, jitter=jitter, rng=random.Random(seed)
        )
        self.state.voting.attach(self._engine, self.state.devices)  # policy-gated commands
        if not early_ack_delay >= 0:
            raise ValueError(f"early_ack_delay must be >= 0, got {early_ack_delay!r}")
        self._channel = WsProxy(
            self.state,
            downstream_url=lambda: self.downstream_url,
            host=host,
            output=ws_output,
            progress_interval=ws_progress_interval,
            stream_ready_delay=ws_stream_ready_delay,
            faults=ws_faults,
        )
        self._engine.add_listener(self._channel.settled)
        self._ctx = Context(
            settings=self.settings,
            state=self.state,
            engine=self._engine,
            faults=self._injector,
            stats=self.stats,
            id_shapes=id_shapes(self.settings.id_shape),
            status_shapes=status_shapes(self.settings.status_shape),
            channel=self._channel,
            early_ack_delay=float(early_ack_delay) if early_acks else None,
        )
        self._runner: web.AppRunner | None = None
        self._api_url: str | None = None
        self._data_hosts = DataHosts(self._ctx, host)  # upstream and downstream servers
        self._closed = False
        self._seeded: dict[str, SeededUser] = {}
        for username, password in seed_users.items():
            self.seed_user(username, password, devices=devices)

    # -- lifecycle -------------------------------------------------------------------------

    async def start(self) -> None:
        """Bind and start serving. Idempotent while running; a closed sandbox cannot restart."""
        if self._closed:
            raise RuntimeError("this Sandbox was closed; create a new one")
        if self._runner is not None:
            return
        if not is_loopback(self.host):  # allowed at construction, or it would have raised
            warn_exposed(self.host)
        runner = web.AppRunner(
            self._build_app(),
            access_log=None,  # no per-request logging: the sandbox must not be the bottleneck
            shutdown_timeout=_SHUTDOWN_GRACE,
            # A handler whose client went away (e.g. mid "slow" fault) is cancelled, not left
            # sleeping past close(), where the server no longer tracks it.
            handler_cancellation=True,
        )
        await runner.setup()
        try:
            await web.TCPSite(runner, self.host, self.port).start()
        except BaseException:
            await runner.cleanup()
            raise
        self._runner = runner
        await self._data_hosts.start()
        await self._channel.start()
        host, port = runner.addresses[0][:2]
        self.port = port
        self._api_url = f"http://[{host}]:{port}" if ":" in host else f"http://{host}:{port}"

    async def close(self) -> None:
        """Stop serving and cancel every pending settlement. Idempotent."""
        self._closed = True
        runner, self._runner = self._runner, None
        if runner is not None:
            await runner.cleanup()
        await self._data_hosts.close()
        await self._channel.close()
        # After the runner: a request still in flight during cleanup may accept a command.
        self._engine.close()

    async def __aenter__(self) -> Sandbox:
        await self.start()
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.close()

    # -- what clients connect to -----------------------------------------------------------

    @property
    def admin_token(self) -> str:
        """The token every ``/_sandbox/`` admin request carries (``X-Sandbox-Token`` header)."""
        return self._admin_token

    @property
    def api_url(self) -> str:
        """``http://HOST:PORT`` of the REST API (the real port, also when ``port=0``)."""
        if self._api_url is None:
            raise RuntimeError("the Sandbox is not started")
        return self._api_url

    @property
    def ws_url(self) -> str:
        """``ws://HOST:PORT`` of the WebSocket ack channel (root path, join with a token)."""
        return self._channel.url

    @property
    def upstream_url(self) -> str:
        """``http://HOST:PORT`` of the upstream host (``data_tokens.upload``)."""
        return self._data_hosts.url(Host.UPSTREAM)

    @property
    def downstream_url(self) -> str:
        """``http://HOST:PORT`` of the downstream host (``data_tokens.download``)."""
        return self._data_hosts.url(Host.DOWNSTREAM)

    def downstream_link(self, request_id: str) -> str:
        """The download URL of a settled ``request-data`` (what the WebSocket would deliver).

        Raises ``KeyError`` while the request is unknown or not settled.
        """
        token = self.state.data_tokens.requests[request_id].token
        return f"{self.downstream_url}/?auth={token}"

    # -- seed data -------------------------------------------------------------------------

    @property
    def seeded(self) -> Mapping[str, SeededUser]:
        """The seeded users by username (``users=`` and :meth:`seed_user`), oldest first."""
        return MappingProxyType(self._seeded)

    def seed_user(self, username: str, password: str, *, devices: int = 0) -> SeededUser:
        """Add a user with ``devices`` approved, online storage devices, with no commands.

        Raises ``ValueError`` for a taken username or a bad argument.
        """
        user = seed_user(self.state, username, password, devices)
        self._seeded[username] = user
        return user

    # -- the WebSocket ack channel ---------------------------------------------------------

    @property
    def ws_stats(self) -> WsStats:
        """Counters of the ack channel: joins, acks sent/dropped, request messages, sockets."""
        return self._channel.stats

    def ws_drop_next(self, n: int = 1) -> None:
        """Never send the settle acks (``command_status`` 2/3) of the next ``n`` settles."""
        self._channel.drop_next(n)

    def ws_refuse_joins(self, n: int = 1) -> None:
        """Answer the next ``n`` ``joinChannel`` with 401 (and close 4401), valid token or not."""
        self._channel.refuse_joins(n)

    def ws_disconnect_all(self) -> int:
        """Close every client socket now (code 1012); returns how many."""
        return self._channel.disconnect_all()

    # -- knobs and inspection --------------------------------------------------------------

    @property
    def latency(self) -> float:
        """Seconds from acceptance to settlement; changes apply to later commands."""
        return self._engine.latency

    @latency.setter
    def latency(self, value: float) -> None:
        self._engine.latency = value

    @property
    def jitter(self) -> float:
        """Upper bound of the random extra settle delay; changes apply to later commands."""
        return self._engine.jitter

    @jitter.setter
    def jitter(self, value: float) -> None:
        self._engine.jitter = value

    def set_device_online(self, device_identifier: str, online: bool) -> None:
        """Mark a device online or offline (``sync-device`` rejects offline ones on settle).

        Raises ``KeyError`` for an unknown device.
        """
        self.state.devices[device_identifier].online = bool(online)

    def expire_tokens(self) -> int:
        """Make every token issued so far expire now (they answer 401); returns how many."""
        now = time.time()
        tokens = self.state.tokens.values()
        for token in tokens:
            token.expires_at = min(token.expires_at, now)
        return len(tokens)

    def settled_at(self, command_id: str) -> float | None:
        """Wall-clock time (``time.time()``) the command settled; ``None`` if pending or unknown."""
        command = self.state.commands.get(command_id)
        return None if command is None else command.settled_at

    def due(self) -> dict[str, float]:
        """``{command_id: due_at}``: when each pending command is scheduled to settle (wall
        clock, ``time.time()``; a held command's hold expiry). Served as ``GET /_sandbox/due``."""
        return self._engine.due()

    def vote(self, pool_id: str, device_identifier: str, approve: bool) -> str:
        """Cast an authenticator's ballot in a voting pool; returns the pool's status.

        On Privicore, authenticators vote from their own app, which the SDK does not cover;
        this is that app. A decided pool settles the command it holds (approved: by the
        command's own rule; denied: rejected ``vote.denied``). ``KeyError`` for an unknown
        pool, ``ValueError`` for a device that may not vote or a pool no longer open.
        """
        return self.state.voting.vote(pool_id, device_identifier, approve).status.value

    def pools(self, *, status: str | None = None) -> list[Pool]:
        """The voting pools (policy-gated and manual), oldest first; ``status`` filters."""
        pools = self.state.voting.pools.values()
        now = time.time()
        return [p for p in pools if status is None or p.refresh(now).value == status]

    def inject(
        self,
        route_name: str,
        fault: str,
        times: int = 1,
        *,
        retry_after: float | None = None,
        delay: float | None = None,
    ) -> None:
        """Make the next ``times`` requests to ``route_name`` meet ``fault``.

        Faults: ``"error"`` (503), ``"reset"`` (connection reset, no answer), ``"rate_limit"``
        (429 + ``Retry-After: retry_after``), ``"slow"`` (answered ``delay`` seconds late),
        ``"unauthorized"`` (401 as if the token had expired; the token stays valid), ``"lost"``
        (the next accepted command of the route never settles). Defaults come from ``faults``.
        """
        self._injector.inject(route_name, fault, times, retry_after=retry_after, delay=delay)

    # -- assembly --------------------------------------------------------------------------

    def _methods(self, route: Route) -> tuple[str, ...]:
        if route.name == "utility.command_status":
            # The probe uses POST, the seed and official docs GET (§a5): serve what is asked.
            return self.settings.status_methods
        return (route.method,)

    def _served(self, route: Route) -> tuple[Route, ...]:
        """What is served under ``route``'s name: it, its alternative, or both."""
        alternative = ROUTES.alternative(route.name)
        if alternative is None or route.name == "utility.command_status":
            return (route,)  # the status endpoint's methods are status_methods' business
        if self._alternative_routes == "only":
            return (alternative.route,)
        return (route, alternative.route) if self._alternative_routes else (route,)

    def _build_app(self) -> web.Application:
        middlewares = [fault_middleware(self._injector, self.stats)]
        if self.rate_limit is not None:
            # Before the faults: the gateway refuses before anything is counted or faulted.
            bucket = TokenBucket(self.rate_limit)
            middlewares.insert(0, rate_limit_middleware(bucket, self.stats))
        # Outermost of all: a refused admin request touches no bucket, counter or fault.
        middlewares.insert(0, admin_guard_middleware(ADMIN_PREFIX, self._admin_token))
        app = web.Application(middlewares=middlewares)
        for first in ROUTES.values():
            if first.host is not Host.API:
                continue
            served = self._served(first)
            for route in served:
                handle = HANDLERS.get(route.name, not_implemented)
                if route is not first:
                    handle = _as_first_choice(handle)
                handler = endpoint(route, handle, self._ctx)
                name = route.name
                if len(served) > 1 and route.path != first.path:
                    # aiohttp names one path only: the alternative's own path is counted here.
                    name = f"{route.name}:alternative"
                    handler = _counted(handler, route.name, self.stats)
                for method in self._methods(route):
                    app.router.add_route(method, route.path, handler, name=name)
        AdminRoutes(self).add_to(app.router)
        return app


# -- serving a route's alternative with its first choice's handler ------------------------------


@attrs.define(eq=False)
class _AlternativeCall(Call):
    """A call on a route's alternative: the path values it carries (``{deviceIdentifier}``)
    also read as the form fields the first choice's handler reads."""

    async def form(self) -> FormReader:
        fields: MultiDict[Any] = MultiDict(await self.request.post())
        fields.extend(self.request.match_info)
        return FormReader(fields)


def _as_first_choice(handler: Handler) -> Handler:
    """``handler`` (a first choice's), serving that route's alternative."""

    async def alternative(call: Call) -> web.StreamResponse:
        return await handler(_AlternativeCall(call.request, call.ctx, call.route, call.token))

    return alternative


def _counted(handler: AiohttpHandler, name: str, stats: SandboxStats) -> AiohttpHandler:
    """``handler``, counting its requests under ``name`` (the fault middleware counts and faults
    by the aiohttp route name, which this path cannot carry: injected faults skip it)."""

    async def counted(request: web.Request) -> web.StreamResponse:
        stats.requests[name] += 1
        return await handler(request)

    return counted
