"""What a sync worker needs to know: one frozen value, from arguments or the environment.

Every field falls back to an environment variable where one exists, with the names the client
already reads (``PRIVICORE_API_URL``, ``PRIVICORE_WS_URL``, ``PRIVICORE_USERNAME``,
``PRIVICORE_PASSWORD``) and a few of the worker's own (``PRIVICORE_REDIS_URL``,
``PRIVICORE_NAMESPACE``, ``PRIVICORE_QUEUE``, ``PRIVICORE_RATE_LIMIT``,
``PRIVICORE_RATE_BURST``). Nothing here imports Redis or taskiq.
"""

from __future__ import annotations

import math
import os
from collections.abc import Mapping

import attrs

__all__ = ["DEFAULT_NAMESPACE", "DEFAULT_QUEUE", "WorkerSettings"]

DEFAULT_NAMESPACE = "privicore"
"""The Redis journal's namespace (``RedisJournal``'s default)."""
DEFAULT_QUEUE = "privicore-sync"
"""The Redis stream the sync batches are queued on."""


def _positive(instance: object, attribute: attrs.Attribute[float], value: float) -> None:
    if not (math.isfinite(value) and value > 0):
        raise ValueError(f"{attribute.name} must be a finite number > 0, not {value!r}")


def _at_least_one(instance: object, attribute: attrs.Attribute[int], value: int) -> None:
    if isinstance(value, bool) or value < 1:
        raise ValueError(f"{attribute.name} must be an integer >= 1, not {value!r}")


def _rate_limit(
    instance: object,
    attribute: attrs.Attribute[tuple[float, int] | None],
    value: tuple[float, int] | None,
) -> None:
    if value is None:
        return
    rate, burst = value
    # bool is an int: `(True, 1)` is a mistake, not one request per second.
    if isinstance(rate, bool) or isinstance(burst, bool) or not (math.isfinite(rate) and rate > 0):
        raise ValueError(f"rate_limit must be (rate > 0, burst >= 1), not {value!r}")
    if burst < 1:
        raise ValueError(f"rate_limit must be (rate > 0, burst >= 1), not {value!r}")


def _http_url(instance: object, attribute: attrs.Attribute[str], value: str) -> None:
    if not value.startswith(("http://", "https://")):
        raise ValueError(f"{attribute.name} must start with http:// or https://")


def _not_blank(instance: object, attribute: attrs.Attribute[str], value: str) -> None:
    if not value.strip():
        raise ValueError(f"{attribute.name} must not be blank")


@attrs.frozen
class WorkerSettings:
    """The configuration of one sync worker process.

    ``redis_url`` and ``password`` never show in ``repr`` (a Redis URL may hold a password).
    """

    api_url: str = attrs.field(validator=_http_url)
    redis_url: str = attrs.field(repr=False, validator=_not_blank)
    """The Redis of the queue, the journal and the shared rate limit."""
    ws_url: str | None = None
    """The WebSocket ack channel (``None``: commands settle by status polling)."""
    username: str | None = None
    password: str | None = attrs.field(default=None, repr=False)
    namespace: str = attrs.field(default=DEFAULT_NAMESPACE, validator=_not_blank)
    """The ``RedisJournal`` namespace: the coordinator must read the same one."""
    queue: str = attrs.field(default=DEFAULT_QUEUE, validator=_not_blank)
    concurrency: int = attrs.field(default=256, validator=_at_least_one)
    """Commands in flight at once per batch (``sync_devices(concurrency=...)``)."""
    batches: int = attrs.field(default=1, validator=_at_least_one)
    """Batches this worker runs at once; the queue keeps the rest for other workers."""
    rate_limit: tuple[float, int] | None = attrs.field(default=None, validator=_rate_limit)
    """``(rate, burst)``: requests per second for all workers together, kept in Redis."""
    idle_timeout: float = attrs.field(default=60.0, validator=_positive)
    """Seconds after which a batch whose worker stopped renewing it goes to another worker."""
    grace: float = attrs.field(default=30.0, validator=_positive)
    """Seconds a stopping worker waits for its running batches before handing them back."""

    @property
    def rate_limit_key(self) -> str:
        """The Redis key of the shared rate limit (outside the journal's namespace)."""
        return f"{self.namespace}-ratelimit"

    @classmethod
    def from_env(
        cls,
        *,
        api_url: str | None = None,
        redis_url: str | None = None,
        ws_url: str | None = None,
        username: str | None = None,
        password: str | None = None,
        namespace: str | None = None,
        queue: str | None = None,
        rate_limit: tuple[float, int] | None = None,
        concurrency: int = 256,
        batches: int = 1,
        idle_timeout: float = 60.0,
        grace: float = 30.0,
        environ: Mapping[str, str] | None = None,
    ) -> WorkerSettings:
        """The settings with every value not given (``None``) read from the environment.

        Raises ``ValueError`` naming what is missing or malformed (never a value).
        """
        env = os.environ if environ is None else environ

        def pick(given: str | None, name: str) -> str | None:
            return given if given else (env.get(name) or None)

        found_api = pick(api_url, "PRIVICORE_API_URL")
        found_redis = pick(redis_url, "PRIVICORE_REDIS_URL")
        if not found_api:
            raise ValueError("api_url is required (or set PRIVICORE_API_URL)")
        if not found_redis:
            raise ValueError("redis_url is required (or set PRIVICORE_REDIS_URL)")
        return cls(
            api_url=found_api,
            redis_url=found_redis,
            ws_url=pick(ws_url, "PRIVICORE_WS_URL"),
            username=pick(username, "PRIVICORE_USERNAME"),
            password=pick(password, "PRIVICORE_PASSWORD"),
            namespace=pick(namespace, "PRIVICORE_NAMESPACE") or DEFAULT_NAMESPACE,
            queue=pick(queue, "PRIVICORE_QUEUE") or DEFAULT_QUEUE,
            concurrency=concurrency,
            batches=batches,
            rate_limit=rate_limit if rate_limit is not None else _rate_limit_from(env),
            idle_timeout=idle_timeout,
            grace=grace,
        )


def _rate_limit_from(env: Mapping[str, str]) -> tuple[float, int] | None:
    rate = env.get("PRIVICORE_RATE_LIMIT")
    if not rate:
        return None
    burst = env.get("PRIVICORE_RATE_BURST") or "1"
    try:
        return float(rate), int(burst)
    except ValueError:
        # The values are not secret, but a parse error is clearer without echoing them.
        raise ValueError(
            "PRIVICORE_RATE_LIMIT must be a number and PRIVICORE_RATE_BURST an integer"
        ) from None
