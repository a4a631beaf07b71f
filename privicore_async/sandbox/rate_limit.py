"""The sandbox's gateway rate limit: one token bucket in front of every API request.

A request that finds the bucket empty gets 429 ``{"message": "Too Many Requests"}`` with a
``Retry-After`` of the seconds until the next token, and never reaches the handler (nor the
fault injection, nor the per-route request counters: it is counted in
``stats.rate_limited``). The ``/_sandbox/`` admin endpoints are not limited.

``Retry-After`` is delta-seconds with up to three decimals, rounded up (``0.02``, ``1.5``),
not the whole seconds of RFC 9110: the SDK's parser reads decimals, and a bucket refilling
50 times a second would otherwise send every client away for a full second. Rounding up means
a client that waits that long finds a token (unless another client took it first).
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable

import attrs
from aiohttp import web
from aiohttp.typedefs import Handler, Middleware

from .answers import message
from .stats import SandboxStats

__all__ = ["RateLimit", "TokenBucket", "rate_limit_middleware", "too_many_requests"]


def _rate(instance: object, attribute: attrs.Attribute[float], value: float) -> None:
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise ValueError(f"rate_limit: rate must be a number, got {value!r}")
    if not (math.isfinite(value) and value > 0):
        raise ValueError(f"rate_limit: rate must be a finite number > 0, got {value!r}")


def _burst(instance: object, attribute: attrs.Attribute[int], value: int) -> None:
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise ValueError(f"rate_limit: burst must be an integer >= 1, got {value!r}")


@attrs.frozen
class RateLimit:
    """``rate`` requests per second, in bursts of up to ``burst`` (the bucket's size)."""

    rate: float = attrs.field(validator=_rate)
    burst: int = attrs.field(validator=_burst)


class TokenBucket:
    """A bucket of ``burst`` tokens, full at first, refilled at ``rate`` tokens per second."""

    def __init__(self, limit: RateLimit, clock: Callable[[], float] = time.monotonic) -> None:
        self.limit = limit
        self._clock = clock
        self._tokens = float(limit.burst)
        self._updated = clock()

    def take(self) -> float:
        """Take one token: 0.0 if there was one, else the seconds until there is one."""
        now = self._clock()
        limit = self.limit
        self._tokens = min(limit.burst, self._tokens + (now - self._updated) * limit.rate)
        self._updated = now
        if self._tokens >= 1.0:
            self._tokens -= 1.0
            return 0.0
        return (1.0 - self._tokens) / limit.rate


def too_many_requests(wait: float) -> web.Response:
    """429 with ``Retry-After: wait`` rounded up to the millisecond (see the module docstring)."""
    response = message(429, "Too Many Requests")
    # At least 0.001: "0" would tell a client to come back at once into the same empty bucket.
    # (round() first, so that float noise such as 20.000000001 ms does not become 21.)
    seconds, milliseconds = divmod(max(1, math.ceil(round(wait * 1000, 6))), 1000)
    text = f"{seconds}.{milliseconds:03d}".rstrip("0").rstrip(".")
    response.headers["Retry-After"] = text
    return response


def rate_limit_middleware(bucket: TokenBucket, stats: SandboxStats) -> Middleware:
    """The outermost middleware: every request but the admin endpoints' takes a token."""

    @web.middleware
    async def limit(request: web.Request, handler: Handler) -> web.StreamResponse:
        name = request.match_info.route.name
        if name is not None and name.startswith("_sandbox."):
            return await handler(request)
        wait = bucket.take()
        if wait:
            stats.rate_limited += 1
            return too_many_requests(wait)
        return await handler(request)

    return limit
