"""The sandbox's own admin API under ``/_sandbox/``: steer and inspect it from another process.

None of this is Privicore's: it is what a test or a benchmark in another process needs to do
what an in-process test does with the :class:`~.server.Sandbox` object (read counters, change
latency, take a device offline, cast an authenticator's vote, seed users, script faults).
Every request needs the sandbox's admin token (the guard is :mod:`.access`, outermost of all
middlewares). Answers are JSON; a bad field is a 422 that names it, an unknown id a 404, a
state that forbids the change a 409, so a caller never meets a 500 for its own mistake.
:class:`~.admin.SandboxAdmin` is the client of these endpoints.

====== ================================= ===================================== ================
method path                              form (or query) fields                answer
====== ================================= ===================================== ================
GET    stats                                                                   counters
GET    settled                                                                 {id: settled_at}
GET    due                                                                     {id: due_at}
POST   devices/{deviceIdentifier}/online online=0|1                            the device
POST   tokens/expire                                                           {expired}
POST   latency                           latency, jitter (seconds, optional)   both, now
GET    pools                             ?status=open|approved|...             [pool]
POST   pools/{poolId}/votes              device, approve=0|1                   {poolId, status}
GET    users                                                                   [user]
POST   users                             username, password, devices           user (201)
POST   faults                            route, fault, times, retry_after,     what was queued
                                         delay
POST   ws/drop-next                      n (default 1)                         {n}
POST   ws/refuse-joins                   n (default 1)                         {n}
POST   ws/disconnect-all                                                       {disconnected}
GET    commands/by-target                ?route=ROUTE_NAME                     {target: count}
====== ================================= ===================================== ================

A user is ``{"username", "profileId", "deviceIds"}``: never its password.
"""

from __future__ import annotations

import math
import time
from collections import Counter
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Any

from aiohttp import web

from ..routes import ROUTES
from .answers import Refusal, json_answer, message, not_found, validation_failed
from .faults import FAULT_KINDS
from .handlers.voting import pool_view
from .seeding import SeededUser
from .validation import BLANK, FormReader
from .voting_state import Pool, PoolStatus

if TYPE_CHECKING:
    from .server import Sandbox

__all__ = ["ADMIN_PREFIX", "MAX_SEEDED_DEVICES", "AdminRoutes"]

ADMIN_PREFIX = "/_sandbox"
MAX_SEEDED_DEVICES = 100_000
"""Devices one ``POST /_sandbox/users`` may seed (seeding runs on the event loop, at once)."""
_MAX_TIMES = 1_000_000  # scripted faults and dropped/refused WebSocket events per request

_POOL_STATUSES = tuple(status.value for status in PoolStatus)
_ZERO_OR_ONE = "This value should be 0 or 1."
_SECONDS = "This value should be a number >= 0."

AdminHandler = Callable[[web.Request], Awaitable[web.StreamResponse]]


class AdminForm(FormReader):
    """A form (or query string) of an admin request: the readers the admin fields need."""

    def flag(self, field: str) -> bool:
        """A required ``0`` or ``1``."""
        value = self.optional(field)
        if value not in ("0", "1"):
            self._violation(field, _ZERO_OR_ONE)
        return value == "1"

    def count(self, field: str, *, default: int, low: int, high: int) -> int:
        """An optional whole number in ``[low, high]``; ``default`` when absent or blank."""
        if self.optional(field) is None:
            return default
        return self.integer(field, low, high)

    def seconds(self, field: str) -> float | None:
        """An optional finite number >= 0; ``None`` when absent or blank."""
        raw = self.optional(field)
        if raw is None:
            return None
        try:
            value = float(raw)
        except ValueError:
            value = math.nan
        if not (math.isfinite(value) and value >= 0):
            self._violation(field, _SECONDS)
        return value

    def one_of(self, field: str, choices: tuple[str, ...], *, required: bool = True) -> str | None:
        """A value among ``choices`` (``None`` when optional and absent)."""
        value = self.optional(field)
        if value is None:
            if required:
                self._violation(field, BLANK)
            return None
        if value not in choices:
            self._violation(field, f"This value should be one of: {', '.join(choices)}.")
        return value

    def route_name(self, field: str, *, required: bool = True) -> str | None:
        """A route name of the table (``storage.sync_device``)."""
        value = self.optional(field)
        if value is None:
            if required:
                self._violation(field, BLANK)
        elif value not in ROUTES:
            self._violation(field, "This value is not a route name.")
        return value

    def violation(self, field: str, text: str) -> None:
        """Refuse ``field`` for a reason the readers do not know."""
        self._violation(field, text)


def pool_answer(pool: Pool) -> dict[str, Any]:
    """A pool as ``GET /_sandbox/pools`` lists it: ``check-pool-status``'s view, plus whose."""
    return {**pool_view(pool), "profileId": pool.profile_id}


def user_answer(user: SeededUser) -> dict[str, Any]:
    """A seeded user without its password."""
    return {
        "username": user.username,
        "profileId": user.profile_id,
        "deviceIds": list(user.device_ids),
    }


class AdminRoutes:
    """The ``/_sandbox/`` endpoints of one sandbox; :meth:`add_to` puts them on a router."""

    def __init__(self, sandbox: Sandbox) -> None:
        self._sb = sandbox

    def add_to(self, router: web.UrlDispatcher) -> None:
        """Register every admin endpoint, named ``_sandbox.<name>`` (the guard knows them so)."""
        table: tuple[tuple[str, str, AdminHandler, str], ...] = (
            ("GET", "/stats", self.stats, "stats"),
            ("GET", "/settled", self.settled, "settled"),
            ("GET", "/due", self.due, "due"),
            ("POST", "/devices/{deviceIdentifier}/online", self.device_online, "device_online"),
            ("POST", "/tokens/expire", self.expire_tokens, "expire_tokens"),
            ("POST", "/latency", self.latency, "latency"),
            ("GET", "/pools", self.pools, "pools"),
            ("POST", "/pools/{poolId}/votes", self.vote, "vote"),
            ("GET", "/users", self.users, "users"),
            ("POST", "/users", self.seed_user, "seed_user"),
            ("POST", "/faults", self.inject, "faults"),
            ("POST", "/ws/drop-next", self.ws_drop_next, "ws_drop_next"),
            ("POST", "/ws/refuse-joins", self.ws_refuse_joins, "ws_refuse_joins"),
            ("POST", "/ws/disconnect-all", self.ws_disconnect_all, "ws_disconnect_all"),
            ("GET", "/commands/by-target", self.commands_by_target, "commands_by_target"),
        )
        for method, path, handler, name in table:
            router.add_route(
                method, ADMIN_PREFIX + path, _answering_refusals(handler), name=f"_sandbox.{name}"
            )

    # -- counters and clocks ---------------------------------------------------------------

    async def stats(self, request: web.Request) -> web.StreamResponse:
        """``GET stats``: :class:`~.stats.SandboxStats` and the ack channel's counters."""
        return json_answer({**self._sb.stats.as_dict(), "ws": self._sb.ws_stats.as_dict()})

    async def settled(self, request: web.Request) -> web.StreamResponse:
        """``GET settled``: ``{command_id: settled_at}`` of every settled command."""
        commands = self._sb.state.commands
        return json_answer(
            {cid: c.settled_at for cid, c in commands.items() if c.settled_at is not None}
        )

    async def due(self, request: web.Request) -> web.StreamResponse:
        """``GET due``: ``{command_id: due_at}`` of every pending command."""
        return json_answer(self._sb.due())

    async def commands_by_target(self, request: web.Request) -> web.StreamResponse:
        """``GET commands/by-target``: accepted commands per target device (``?route=``: of one
        route, ``{target: count}``; else ``{route: {target: count}}``). Every acceptance counts,
        lost ones included, so a command sent twice shows as 2; commands without a target
        (not about one device) are left out."""
        query = AdminForm(request.query)
        route = query.route_name("route", required=False)
        query.check()
        counts: dict[str, Counter[str]] = {}
        for command in self._sb.state.commands.values():
            if command.target is not None and route in (None, command.route):
                counts.setdefault(command.route, Counter())[command.target] += 1
        if route is not None:
            return json_answer(dict(counts.get(route, {})))
        return json_answer({name: dict(targets) for name, targets in counts.items()})

    # -- knobs -----------------------------------------------------------------------------

    async def device_online(self, request: web.Request) -> web.StreamResponse:
        """``POST devices/{deviceIdentifier}/online`` form ``online=0|1``."""
        identifier = request.match_info["deviceIdentifier"]
        form = AdminForm(await request.post())
        online = form.flag("online")
        form.check()
        if identifier not in self._sb.state.devices:
            return not_found()
        self._sb.set_device_online(identifier, online)
        return json_answer({"deviceIdentifier": identifier, "online": online})

    async def expire_tokens(self, request: web.Request) -> web.StreamResponse:
        """``POST tokens/expire``: every token issued so far answers 401 from now on."""
        return json_answer({"expired": self._sb.expire_tokens()})

    async def latency(self, request: web.Request) -> web.StreamResponse:
        """``POST latency`` form ``latency``, ``jitter`` (each optional): both, as now set."""
        form = AdminForm(await request.post())
        latency, jitter = form.seconds("latency"), form.seconds("jitter")
        form.check()
        if latency is not None:
            self._sb.latency = latency
        if jitter is not None:
            self._sb.jitter = jitter
        return json_answer({"latency": self._sb.latency, "jitter": self._sb.jitter})

    # -- voting ----------------------------------------------------------------------------

    async def pools(self, request: web.Request) -> web.StreamResponse:
        """``GET pools`` (``?status=``): every voting pool, oldest first, as :func:`pool_answer`."""
        query = AdminForm(request.query)
        status = query.one_of("status", _POOL_STATUSES, required=False)
        query.check()
        return json_answer([pool_answer(p) for p in self._sb.pools(status=status)])

    async def vote(self, request: web.Request) -> web.StreamResponse:
        """``POST pools/{poolId}/votes`` form ``device``, ``approve=0|1``: an authenticator's
        ballot (what its own app would send); answers the pool's status after it.

        404: no such pool; 409: the pool is no longer open, or the device already voted;
        422: the device may not vote in this pool.
        """
        form = AdminForm(await request.post())
        device = form.text("device").strip()
        approve = form.flag("approve")
        form.check()
        pool = self._sb.state.voting.pools.get(request.match_info["poolId"])
        if pool is None:
            return not_found()
        status = pool.refresh(time.time())
        if status is not PoolStatus.OPEN:
            return message(409, f"the pool is {status.value}, not open")
        if device not in pool.eligible:
            return validation_failed({"device": ["This device may not vote in this pool."]})
        if device in pool.votes:
            return message(409, "this device already voted in this pool")
        status_now = self._sb.vote(pool.pool_id, device, approve)
        return json_answer({"poolId": pool.pool_id, "status": status_now})

    # -- seeding ---------------------------------------------------------------------------

    async def users(self, request: web.Request) -> web.StreamResponse:
        """``GET users``: the seeded users, oldest first, as :func:`user_answer`."""
        return json_answer([user_answer(u) for u in self._sb.seeded.values()])

    async def seed_user(self, request: web.Request) -> web.StreamResponse:
        """``POST users`` form ``username``, ``password``, ``devices`` (a count, default 0):
        201 with the new user (never its password); 409 if the username is taken."""
        form = AdminForm(await request.post())
        username = form.text("username")
        password = form.text("password")
        devices = form.count("devices", default=0, low=0, high=MAX_SEEDED_DEVICES)
        if ":" in username:
            form.violation("username", "This value should not contain ':'.")
        form.check()
        if self._sb.state.username_taken(username):
            return message(409, f"the username {username!r} is taken")
        user = self._sb.seed_user(username, password, devices=devices)
        return json_answer(user_answer(user), 201)

    # -- faults ----------------------------------------------------------------------------

    async def inject(self, request: web.Request) -> web.StreamResponse:
        """``POST faults`` form ``route``, ``fault``, ``times`` (default 1), ``retry_after``,
        ``delay``: :meth:`~.server.Sandbox.inject`; answers what was queued."""
        form = AdminForm(await request.post())
        route = form.route_name("route")
        fault = form.one_of("fault", FAULT_KINDS)
        times = form.count("times", default=1, low=1, high=_MAX_TIMES)
        retry_after, delay = form.seconds("retry_after"), form.seconds("delay")
        form.check()
        assert route is not None  # required: check() refused a missing one
        assert fault is not None
        self._sb.inject(route, fault, times, retry_after=retry_after, delay=delay)
        return json_answer({"route": route, "fault": fault, "times": times})

    async def ws_drop_next(self, request: web.Request) -> web.StreamResponse:
        """``POST ws/drop-next`` form ``n``: never send the next ``n`` settle acks."""
        n = await _times(request)
        self._sb.ws_drop_next(n)
        return json_answer({"n": n})

    async def ws_refuse_joins(self, request: web.Request) -> web.StreamResponse:
        """``POST ws/refuse-joins`` form ``n``: answer the next ``n`` joins 401."""
        n = await _times(request)
        self._sb.ws_refuse_joins(n)
        return json_answer({"n": n})

    async def ws_disconnect_all(self, request: web.Request) -> web.StreamResponse:
        """``POST ws/disconnect-all``: close every client socket; answers how many."""
        return json_answer({"disconnected": self._sb.ws_disconnect_all()})


async def _times(request: web.Request) -> int:
    form = AdminForm(await request.post())
    n = form.count("n", default=1, low=1, high=_MAX_TIMES)
    form.check()
    return n


def _answering_refusals(handler: AdminHandler) -> AdminHandler:
    """``handler``, answering a :class:`~.answers.Refusal` (a 422) with its response."""

    async def answer(request: web.Request) -> web.StreamResponse:
        try:
            return await handler(request)
        except Refusal as refusal:
            return refusal.response

    return answer
