"""The one retry and recovery table: what to do after a request failed, and how long to wait.

Every "repeat or switch" rule of the SDK is here, in :func:`decide`; the code that acts on it
(the transport's attempt loop, the command tracker, token renewal, the ack channel) asks and
obeys. A rule changes here or nowhere.

==========================  =======  =======  =======  ===========  =======  ============
outcome                     READ     WRITE    STREAM   STATUS_READ  RENEWAL  SOCKET
==========================  =======  =======  =======  ===========  =======  ============
not sent (connect failed)   retry    retry    retry    later        reauth   retry
lost (may have arrived)     retry    give up  give up  later        reauth   retry
garbled (not valid HTTP)    retry    give up  give up  later        reauth   retry
invalid request             give up  give up  give up  give up      give up  give up
401                         reauth   reauth   reauth   reauth       reauth   reauth/retry
status with an alternative  switch   switch   switch   switch       reauth   retry
404                         give up  give up  give up  not yet      reauth   retry
429                         retry    give up  give up  pause        reauth   retry
502, 503, 504               retry    give up  give up  later        reauth   retry
other 5xx                   give up  give up  give up  later        reauth   retry
anything else               give up  give up  give up  give up      reauth   retry
==========================  =======  =======  =======  ===========  =======  ============

Why: a request that never connected cannot have done anything, so it is repeated whatever it
is. One that may have reached the server is repeated only when repeating is harmless (a read):
a command ``POST`` that got *any* answer is never sent twice, it could start the command twice,
and a stream may be a single-use download. A 401 means the server did not act, so one fresh
token and one replay are safe ("reauth" falls back to "give up" once used, or when no fresh
token can be had; for the socket to "retry"). A route's documented alternative is tried once
for the statuses the route table names for it (:class:`~privicore_async.routes.Alternative`),
some of them only until the first route has answered 2xx on this client (the status endpoint's
404: once its POST is known to be served, a 404 is "no such command yet", so the reads of an id
not visible yet are not doubled). The transport remembers a switch made after a 405 (a method
refused once is refused always), and when the alternative answers one of those statuses too,
the first answer is the error.
Status reads are single attempts: the tracker reads again at the handle's next due time
("later"), pauses all reads on 429, and gives a 404 a grace period ("not yet"). A failed token
renewal falls back to a fresh login. The ack channel reconnects whatever happened.

Waits are ``backoff``'s exponential generator with full jitter (:func:`jittered_waits`),
bounded by :class:`RetryPolicy`; a ``Retry-After`` replaces the computed wait when it fits.
"""

from __future__ import annotations

import enum
import time
from collections.abc import Iterator

import attrs
import backoff

from .. import errors
from .sender import Failure

__all__ = [
    "Action",
    "Outcome",
    "RequestKind",
    "RetryPolicy",
    "decide",
    "jittered_waits",
    "outcome_of",
]


class RequestKind(enum.Enum):
    """What a request is, as far as repeating it goes."""

    READ = "read"  # GET, or a call marked safe: repeating it changes nothing
    WRITE = "write"  # may start or change something: never sent twice once it may have arrived
    STREAM = "stream"  # a streamed body either way (single-use downloads, chunked uploads)
    STATUS_READ = "status-read"  # the tracker's single-attempt read of a command's status
    RENEWAL = "renewal"  # renewing the client's token
    SOCKET = "socket"  # the ack channel's WebSocket


class Action(enum.Enum):
    """What to do next."""

    RETRY = "retry"  # the same request again, after a wait
    REAUTH = "reauth"  # a fresh token, then the same request once more
    SWITCH = "switch"  # the route's documented alternative, once
    LATER = "later"  # a status read: read again at the handle's next due time
    PAUSE = "pause"  # a status read got 429: pause every status read for Retry-After
    NOT_YET = "not yet"  # a status read got 404: the id may not be visible yet (grace)
    GIVE_UP = "give up"  # raise the error


@attrs.frozen
class Outcome:
    """How one attempt ended: an HTTP ``status``, or a ``failure`` with no answer."""

    status: int | None = None
    failure: Failure | None = None


_BUSY = frozenset({429, 502, 503, 504})


def decide(
    kind: RequestKind,
    outcome: Outcome,
    *,
    can_reauth: bool = False,
    has_alternative: bool = False,
) -> Action:
    """The table of the module docstring.

    ``can_reauth``: a fresh token can still be had for this request (the client holds the
    credentials and has not replayed it yet). ``has_alternative``: the route table names an
    alternative for this outcome's status, not tried yet.
    """
    status, failure = outcome.status, outcome.failure
    if failure is Failure.INVALID:
        return Action.GIVE_UP
    if kind is RequestKind.RENEWAL:
        return Action.REAUTH if can_reauth else Action.GIVE_UP
    if kind is RequestKind.SOCKET:
        return Action.REAUTH if status == 401 and can_reauth else Action.RETRY
    if status is None:  # no answer
        if kind is RequestKind.STATUS_READ:
            return Action.LATER
        if failure is Failure.NOT_SENT or kind is RequestKind.READ:
            return Action.RETRY
        return Action.GIVE_UP
    if status == 401:
        return Action.REAUTH if can_reauth else Action.GIVE_UP
    if has_alternative:
        return Action.SWITCH
    if kind is RequestKind.STATUS_READ:
        if status == 404:
            return Action.NOT_YET
        if status == 429:
            return Action.PAUSE
        return Action.LATER if status >= 500 else Action.GIVE_UP
    if status in _BUSY and kind is RequestKind.READ:
        return Action.RETRY
    return Action.GIVE_UP


def outcome_of(error: BaseException) -> Outcome:
    """The outcome an SDK error stands for (an answered status, or a lost request)."""
    if isinstance(error, errors.APIError):
        return Outcome(status=error.status)
    return Outcome(failure=Failure.LOST)


def jittered_waits(initial: float, maximum: float) -> Iterator[float]:
    """Endless waits doubling from ``initial`` up to ``maximum``, each fully jittered."""
    waits = backoff.expo(base=2, factor=initial, max_value=maximum)
    next(waits)  # backoff's generators yield once before the first value
    for value in waits:
        yield backoff.full_jitter(value)


@attrs.frozen
class RetryPolicy:
    """How many times and how long a request is retried (the table says *which* are)."""

    max_attempts: int = attrs.field(default=4, validator=attrs.validators.ge(1))
    max_time: float = attrs.field(default=30.0, validator=attrs.validators.gt(0))
    initial_backoff: float = attrs.field(default=0.2, validator=attrs.validators.gt(0))
    max_backoff: float = attrs.field(default=5.0, validator=attrs.validators.gt(0))
    max_retry_after: float = 60.0
    """A ``Retry-After`` longer than this is not waited for: the RateLimitError is raised."""

    def waits(self) -> Iterator[float]:
        """The jittered exponential waits between attempts (``backoff.expo`` + full jitter)."""
        return jittered_waits(self.initial_backoff, self.max_backoff)

    def budget(self) -> RetryBudget:
        """A fresh budget for one request."""
        return RetryBudget(self)


class RetryBudget:
    """What is left of one request's retries: how many, for how long, and the next wait."""

    __slots__ = ("_counted", "_policy", "_started", "_waits", "retries")

    def __init__(self, policy: RetryPolicy) -> None:
        self._policy = policy
        self._waits = policy.waits()
        self._started = time.monotonic()
        self.retries = 0
        """Retries granted so far (the attempt under way is number ``retries + 1``)."""
        self._counted = 0  # the retries that count against max_attempts

    def next_wait(self, retry_after: float | None = None, *, count: bool = True) -> float | None:
        """The wait before one more attempt, or ``None`` when the budget is spent.

        ``count=False``: a retry that does not use up an attempt, only time (a request that
        never reached the server costs it nothing, so an outage is waited out up to
        ``max_time``).
        """
        policy = self._policy
        if count and self._counted + 1 >= policy.max_attempts:
            return None
        wait = next(self._waits)
        if retry_after is not None:
            if retry_after > policy.max_retry_after:
                return None
            wait = retry_after
        if time.monotonic() - self._started + wait > policy.max_time:
            return None
        self.retries += 1
        self._counted += count
        return wait
