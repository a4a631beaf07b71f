"""How the tracker polls: :class:`PollPolicy` (kept apart from the retry policy of requests)."""

from __future__ import annotations

import attrs

__all__ = ["PollPolicy"]


@attrs.frozen
class PollPolicy:
    """How the tracker polls ``/request-status`` (kept apart from :class:`RetryPolicy`)."""

    timeout: float = attrs.field(default=300.0, validator=attrs.validators.gt(0))
    """Default deadline of a command, in seconds from submission; then ``CommandTimeout``."""
    initial_delay: float = attrs.field(default=0.1, validator=attrs.validators.ge(0))
    """First poll of a command of a kind the tracker knows nothing about yet."""
    min_interval: float = attrs.field(default=0.05, validator=attrs.validators.gt(0))
    max_interval: float = attrs.field(default=5.0, validator=attrs.validators.gt(0))
    factor: float = attrs.field(default=1.6, validator=attrs.validators.gt(1))
    jitter: float = attrs.field(
        default=0.1, validator=attrs.validators.and_(attrs.validators.ge(0), attrs.validators.lt(1))
    )
    """Each delay is scaled by a random factor in ``[1 - jitter, 1]``."""
    concurrency: int = attrs.field(default=32, validator=attrs.validators.ge(1))
    """Status requests in flight at once, per client."""
    not_found_grace: float = attrs.field(default=10.0, validator=attrs.validators.ge(0))
    """How long a 404 for a just-issued id counts as "not visible yet" rather than unknown."""
    adaptive: bool = True
    safety_interval: float = attrs.field(default=30.0, validator=attrs.validators.gt(0))
    """Poll interval while pushed acks are flowing (the ack channel's safety net)."""
