"""Counters the sandbox keeps so tests and benchmarks can see what it served."""

from __future__ import annotations

from collections import Counter
from typing import Any

import attrs

__all__ = ["SandboxStats"]


@attrs.define
class SandboxStats:
    """Plain counters, bumped inline: a dict increment per request is all they cost."""

    requests: Counter[str] = attrs.field(factory=Counter)
    """Requests per route name (``"storage.sync_device"``), faulted ones included.

    Requests the rate limit refused never reached a route: they are in :attr:`rate_limited`.
    """
    status_requests: int = 0
    commands_accepted: int = 0
    commands_settled: int = 0
    commands_succeeded: int = 0
    commands_rejected: int = 0
    commands_lost: int = 0
    faults: Counter[str] = attrs.field(factory=Counter)
    """Faults applied, per fault name (``"reset"``, ``"lost"``, ...)."""
    rate_limited: int = 0
    """Requests answered 429 because the rate limit's bucket was empty."""

    @property
    def requests_total(self) -> int:
        """All Privicore requests served (admin endpoints excluded)."""
        return sum(self.requests.values())

    def as_dict(self) -> dict[str, Any]:
        """A JSON-ready copy (the body of ``GET /_sandbox/stats``)."""
        return {
            "requests": dict(self.requests),
            "requests_total": self.requests_total,
            "status_requests": self.status_requests,
            "commands_accepted": self.commands_accepted,
            "commands_settled": self.commands_settled,
            "commands_succeeded": self.commands_succeeded,
            "commands_rejected": self.commands_rejected,
            "commands_lost": self.commands_lost,
            "commands_pending": self.commands_accepted - self.commands_settled,
            "faults": dict(self.faults),
            "rate_limited": self.rate_limited,
        }
