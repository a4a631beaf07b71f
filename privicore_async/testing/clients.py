"""A client of a sandbox: every address and credential explicit, polls quick enough for tests."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from .. import PollPolicy, PrivicoreClient, RetryPolicy

if TYPE_CHECKING:
    from ..sandbox import Sandbox
    from ..sandbox.seeding import SeededUser

__all__ = ["FAST_POLL", "FAST_RETRY", "sandbox_client"]

FAST_POLL = PollPolicy(initial_delay=0.01, min_interval=0.01, max_interval=0.1, timeout=10)
"""Polls every 10-100 ms and gives up after 10 s: a hung test fails fast instead of hanging."""
FAST_RETRY = RetryPolicy(initial_backoff=0.01, max_backoff=0.05, max_time=5.0)
"""The same retry rules as in production, with waits short enough for a test."""


def sandbox_client(sandbox: Sandbox, user: SeededUser, **overrides: Any) -> PrivicoreClient:
    """A :class:`~privicore_async.PrivicoreClient` of a started ``sandbox``, as ``user``.

    The API, WebSocket, upstream and downstream URLs and the credentials are all passed
    explicitly, so no ``PRIVICORE_*`` variable of the developer's shell redirects the client.
    ``overrides`` are further ``PrivicoreClient`` keywords (``poll``, ``retry``, ``journal``,
    ...) and win over these. Use it as ``async with sandbox_client(sb, user) as client:``.
    """
    kwargs: dict[str, Any] = {
        "ws_url": sandbox.ws_url,
        "upstream_url": sandbox.upstream_url,
        "downstream_url": sandbox.downstream_url,
        "username": user.username,
        "password": user.password,
        "poll": FAST_POLL,
        "retry": FAST_RETRY,
        **overrides,
    }
    return PrivicoreClient(sandbox.api_url, **kwargs)
