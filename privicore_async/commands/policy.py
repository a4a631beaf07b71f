"""How the tracker polls: :class:`PollPolicy` (kept apart from the retry policy of requests)."""

from __future__ import annotations

import math
from typing import Any

import attrs

__all__ = ["PollPolicy"]


def _finite(instance: object, attribute: attrs.Attribute[Any], value: object) -> None:
    # nan compares false with everything, so a range check alone lets it through; inf would
    # make a deadline that never comes.
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        raise ValueError(f"PollPolicy.{attribute.name} must be a finite number")


_gt0 = attrs.validators.and_(_finite, attrs.validators.gt(0))
_ge0 = attrs.validators.and_(_finite, attrs.validators.ge(0))


@attrs.frozen
class PollPolicy:
    """How the tracker polls ``/request-status`` (kept apart from :class:`RetryPolicy`)."""

    timeout: float = attrs.field(default=300.0, validator=_gt0)
    """Default deadline of a command, in seconds from submission; then ``CommandTimeout``."""
    target_lag: float = attrs.field(default=0.1, validator=_gt0)
    """The detection lag you accept, in seconds: how long after a command settles the
    tracker may learn it. Inside the learned window reads are ``1.5 x target_lag`` apart
    (a median lag of about ¾ of it plus a round trip); where the duration is known exactly,
    one read right after it. Smaller costs more reads; larger, fewer."""
    initial_delay: float = attrs.field(default=0.1, validator=_ge0)
    """First poll of a command of a kind the tracker knows nothing about yet."""
    min_interval: float = attrs.field(default=0.005, validator=_gt0)
    """The shortest time between two reads of one command."""
    max_interval: float = attrs.field(default=5.0, validator=_gt0)
    factor: float = attrs.field(
        default=1.6, validator=attrs.validators.and_(_finite, attrs.validators.gt(1))
    )
    jitter: float = attrs.field(
        default=0.1, validator=attrs.validators.and_(attrs.validators.ge(0), attrs.validators.lt(1))
    )
    """Each delay is scaled by a random factor in ``[1 - jitter, 1]``."""
    concurrency: int = attrs.field(default=32, validator=attrs.validators.ge(1))
    """Status requests in flight at once, per client, while few reads are waiting."""
    max_concurrency: int = attrs.field(default=100, validator=attrs.validators.ge(1))
    """The most status requests in flight at once when due reads pile up (a busy client
    submitting on the same connections); the client's connection pool is 100."""
    not_found_grace: float = attrs.field(default=10.0, validator=_ge0)
    """How long a 404 for a just-issued id counts as "not visible yet" rather than unknown."""
    adaptive: bool = True
    safety_interval: float = attrs.field(default=30.0, validator=_gt0)
    """While pushed acks flow (the ack channel's safety net), a command is read after this
    long, then at intervals that grow with its age (up to ten times this)."""
    safety_rate: float = attrs.field(default=10.0, validator=_gt0)
    """The most safety-net reads per second for the whole tracker, however many commands
    are pending."""
    read_timeout: float = attrs.field(default=10.0, validator=_gt0)
    """The longest one status read may take (a server that drips its answer cannot hold a
    poll slot longer); never past the command's own deadline."""
