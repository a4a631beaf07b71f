"""Fault injection: random faults by rate, and scripted one-offs, applied by one middleware.

HTTP-level faults (``error``, ``reset``, ``rate_limit``, ``slow``, ``unauthorized``) are decided
per request in :func:`fault_middleware`, which knows the matched route's name. ``lost`` is a
command-level fault: it is decided when a command is accepted (see
:meth:`FaultInjector.take_lost`), so it hits the next *accepted* command of a route and never a
request that was refused with 401/422.
"""

from __future__ import annotations

import asyncio
import contextlib
import random
import socket
import struct
from collections import deque
from typing import Any

import attrs
from aiohttp import web
from aiohttp.typedefs import Handler, Middleware

from ..routes import ROUTES
from .answers import message, unauthorized
from .stats import SandboxStats

__all__ = ["FAULT_KINDS", "FaultInjector", "Faults", "ScriptedFault", "fault_middleware"]

FAULT_KINDS = ("error", "reset", "rate_limit", "slow", "lost", "unauthorized")


def _rate(instance: object, attribute: attrs.Attribute[float], value: float) -> None:
    if not 0.0 <= value <= 1.0:
        raise ValueError(f"{attribute.name} must be within [0, 1], got {value!r}")


def _seconds(instance: object, attribute: attrs.Attribute[float], value: float) -> None:
    if not value >= 0.0:
        raise ValueError(f"{attribute.name} must be >= 0, got {value!r}")


def _route_names(value: Any) -> frozenset[str] | None:
    if value is None:
        return None
    names = frozenset([value] if isinstance(value, str) else value)
    unknown = sorted(names - set(ROUTES))
    if unknown:
        raise ValueError(f"Faults.routes: unknown route names {unknown}")
    return names


@attrs.frozen(kw_only=True)
class Faults:
    """Random faults by probability per request.

    The HTTP faults are mutually exclusive for one request (one draw decides), so
    ``error_rate + reset_rate + rate_limit_rate + slow_rate`` must not exceed 1. ``lost_rate``
    is drawn separately, per accepted command. ``routes`` limits random faults to those route
    names (``None``: every Privicore route); scripted faults (:meth:`Sandbox.inject`) ignore it.
    """

    error_rate: float = attrs.field(default=0.0, validator=_rate)
    """503 ``{"message": "Service unavailable"}``."""
    reset_rate: float = attrs.field(default=0.0, validator=_rate)
    """The connection is reset without any HTTP answer."""
    rate_limit_rate: float = attrs.field(default=0.0, validator=_rate)
    """429 with ``Retry-After: <retry_after>``."""
    retry_after: float = attrs.field(default=1.0, validator=_seconds)
    slow_rate: float = attrs.field(default=0.0, validator=_rate)
    """The answer comes ``slow_delay`` seconds late."""
    slow_delay: float = attrs.field(default=1.0, validator=_seconds)
    lost_rate: float = attrs.field(default=0.0, validator=_rate)
    """The command is accepted (202) but never settles."""
    routes: frozenset[str] | None = attrs.field(default=None, converter=_route_names)
    seed: int = 0

    def __attrs_post_init__(self) -> None:
        if self.http_rate > 1.0:
            raise ValueError("Faults: error, reset, rate_limit and slow rates must sum to <= 1")

    @property
    def http_rate(self) -> float:
        """The probability that a request meets any HTTP-level fault."""
        return self.error_rate + self.reset_rate + self.rate_limit_rate + self.slow_rate


@attrs.frozen
class ScriptedFault:
    """One fault to apply to one request: its kind and, where it has one, its parameter."""

    kind: str
    retry_after: float = 1.0
    delay: float = 1.0


class FaultInjector:
    """Decides which request or command meets which fault (seeded, so runs repeat)."""

    def __init__(self, faults: Faults) -> None:
        self.faults = faults
        self._rng = random.Random(faults.seed)
        self._scripted: dict[str, deque[ScriptedFault]] = {}
        self._lost: dict[str, int] = {}
        f = faults
        # Cumulative thresholds for the single draw that picks an HTTP fault.
        self._http_rate = f.http_rate
        self._thresholds = (
            (f.error_rate, ScriptedFault("error")),
            (f.error_rate + f.reset_rate, ScriptedFault("reset")),
            (
                f.error_rate + f.reset_rate + f.rate_limit_rate,
                ScriptedFault("rate_limit", retry_after=f.retry_after),
            ),
            (f.http_rate, ScriptedFault("slow", delay=f.slow_delay)),
        )

    def inject(
        self,
        route_name: str,
        kind: str,
        times: int = 1,
        *,
        retry_after: float | None = None,
        delay: float | None = None,
    ) -> None:
        """Make the next ``times`` requests of ``route_name`` meet ``kind`` (see FAULT_KINDS)."""
        if route_name not in ROUTES:
            raise ValueError(f"inject: unknown route name {route_name!r}")
        if kind not in FAULT_KINDS:
            raise ValueError(f"inject: unknown fault {kind!r}; expected one of {FAULT_KINDS}")
        if times < 1:
            raise ValueError(f"inject: times must be >= 1, got {times!r}")
        if kind == "lost":
            self._lost[route_name] = self._lost.get(route_name, 0) + times
            return
        fault = ScriptedFault(
            kind,
            retry_after=self.faults.retry_after if retry_after is None else retry_after,
            delay=self.faults.slow_delay if delay is None else delay,
        )
        self._scripted.setdefault(route_name, deque()).extend([fault] * times)

    def _targets(self, route_name: str) -> bool:
        routes = self.faults.routes
        return routes is None or route_name in routes

    def draw(self, route_name: str) -> ScriptedFault | None:
        """The HTTP fault this request of ``route_name`` meets, if any."""
        if self._scripted:
            queue = self._scripted.get(route_name)
            if queue:
                fault = queue.popleft()
                if not queue:
                    del self._scripted[route_name]  # keeps the no-fault path a falsy check
                return fault
        if not self._http_rate or not self._targets(route_name):
            return None
        roll = self._rng.random()
        for threshold, fault in self._thresholds:
            if roll < threshold:
                return fault
        return None

    def take_lost(self, route_name: str) -> bool:
        """True if the command being accepted on ``route_name`` must never settle."""
        budget = self._lost.get(route_name)
        if budget:
            if budget == 1:
                del self._lost[route_name]
            else:
                self._lost[route_name] = budget - 1
            return True
        rate = self.faults.lost_rate
        return bool(rate) and self._targets(route_name) and self._rng.random() < rate


def _reset(request: web.BaseRequest) -> None:
    transport = request.transport
    if transport is None:
        return
    sock = transport.get_extra_info("socket")
    if sock is not None:
        # Linger 0: close() sends RST, so the client sees a reset, not a polite FIN.
        with contextlib.suppress(OSError):
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    transport.abort()


def fault_middleware(injector: FaultInjector, stats: SandboxStats) -> Middleware:
    """The one middleware: count the request under its route name, then apply any fault."""
    privicore_routes = frozenset(ROUTES)
    requests = stats.requests
    faults = stats.faults

    @web.middleware
    async def count_and_inject(request: web.Request, handler: Handler) -> web.StreamResponse:
        name = request.match_info.route.name
        if name is None or name not in privicore_routes:
            return await handler(request)  # 404/405 and the /_sandbox/ admin routes
        requests[name] += 1
        fault = injector.draw(name)
        if fault is None:
            return await handler(request)
        kind = fault.kind
        faults[kind] += 1
        if kind == "slow":
            await asyncio.sleep(fault.delay)
            return await handler(request)
        if kind == "error":
            return message(503, "Service unavailable")
        if kind == "rate_limit":
            response = message(429, "Too many requests")
            response.headers["Retry-After"] = format(fault.retry_after, "g")
            return response
        if kind == "unauthorized":
            return unauthorized()
        _reset(request)
        # Nothing reaches the client: writing to the aborted transport fails, and aiohttp
        # treats that as a client disconnect (no error log, connection dropped).
        return web.Response(status=500)

    return count_and_inject
