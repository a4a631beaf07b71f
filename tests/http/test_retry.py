"""http/retry.py: the one retry table, cell by cell, and the retry budget."""

from __future__ import annotations

import itertools

import pytest

from privicore_async import errors
from privicore_async.http import retry as retry_module
from privicore_async.http.retry import (
    Action,
    Outcome,
    RequestKind,
    RetryPolicy,
    decide,
    jittered_waits,
    outcome_of,
)
from privicore_async.http.sender import Failure

READ, WRITE, STREAM, STATUS, RENEWAL, SOCKET = (
    RequestKind.READ,
    RequestKind.WRITE,
    RequestKind.STREAM,
    RequestKind.STATUS_READ,
    RequestKind.RENEWAL,
    RequestKind.SOCKET,
)
R, A, S, L, P, N, G = (
    Action.RETRY,
    Action.REAUTH,
    Action.SWITCH,
    Action.LATER,
    Action.PAUSE,
    Action.NOT_YET,
    Action.GIVE_UP,
)
KINDS = (READ, WRITE, STREAM, STATUS, RENEWAL, SOCKET)

# The table of the module docstring: outcome -> one action per kind, in KINDS order,
# with a fresh token available (can_reauth) and no alternative route.
TABLE: list[tuple[str, Outcome, tuple[Action, ...]]] = [
    ("not sent", Outcome(failure=Failure.NOT_SENT), (R, R, R, L, A, R)),
    ("lost", Outcome(failure=Failure.LOST), (R, G, G, L, A, R)),
    ("garbled", Outcome(failure=Failure.GARBLED), (R, G, G, L, A, R)),
    ("invalid", Outcome(failure=Failure.INVALID), (G, G, G, G, G, G)),
    ("401", Outcome(status=401), (A, A, A, A, A, A)),
    ("404", Outcome(status=404), (G, G, G, N, A, R)),
    ("405", Outcome(status=405), (G, G, G, G, A, R)),
    ("429", Outcome(status=429), (R, G, G, P, A, R)),
    ("502", Outcome(status=502), (R, G, G, L, A, R)),
    ("503", Outcome(status=503), (R, G, G, L, A, R)),
    ("504", Outcome(status=504), (R, G, G, L, A, R)),
    ("500", Outcome(status=500), (G, G, G, L, A, R)),
    ("501", Outcome(status=501), (G, G, G, L, A, R)),
    ("400", Outcome(status=400), (G, G, G, G, A, R)),
    ("403", Outcome(status=403), (G, G, G, G, A, R)),
    ("409", Outcome(status=409), (G, G, G, G, A, R)),
    ("422", Outcome(status=422), (G, G, G, G, A, R)),
]


@pytest.mark.parametrize(
    ("kind", "outcome", "expected"),
    [
        pytest.param(kind, outcome, actions[i], id=f"{label}-{kind.value}")
        for label, outcome, actions in TABLE
        for i, kind in enumerate(KINDS)
    ],
)
def test_the_table(kind: RequestKind, outcome: Outcome, expected: Action) -> None:
    assert decide(kind, outcome, can_reauth=True) is expected


@pytest.mark.parametrize("kind", KINDS)
def test_a_401_without_a_fresh_token(kind: RequestKind) -> None:
    # Nothing to replay with: give up, except the socket, which keeps reconnecting.
    expected = Action.RETRY if kind is SOCKET else Action.GIVE_UP
    assert decide(kind, Outcome(status=401), can_reauth=False) is expected


def test_a_failed_renewal_without_credentials_gives_up() -> None:
    for outcome in (Outcome(status=500), Outcome(failure=Failure.LOST), Outcome(status=401)):
        assert decide(RENEWAL, outcome, can_reauth=False) is Action.GIVE_UP


@pytest.mark.parametrize(
    ("kind", "status"), list(itertools.product((READ, WRITE, STREAM, STATUS), (404, 405)))
)
def test_an_alternative_for_the_status_is_tried(kind: RequestKind, status: int) -> None:
    assert decide(kind, Outcome(status=status), has_alternative=True) is Action.SWITCH


def test_a_401_is_reauth_even_with_an_alternative() -> None:
    assert decide(WRITE, Outcome(status=401), can_reauth=True, has_alternative=True) is A


def test_outcome_of_errors() -> None:
    assert outcome_of(errors.NotFoundError(404, None)) == Outcome(status=404)
    assert outcome_of(errors.RateLimitError(429, None, retry_after=2)) == Outcome(status=429)
    assert outcome_of(errors.TransportError("reset")) == Outcome(failure=Failure.LOST)


def test_jittered_waits_double_up_to_the_maximum() -> None:
    waits = list(itertools.islice(jittered_waits(0.1, 0.8), 8))
    ceilings = [0.1, 0.2, 0.4, 0.8, 0.8, 0.8, 0.8, 0.8]
    assert all(0 <= wait <= ceiling for wait, ceiling in zip(waits, ceilings, strict=True))


class Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def monotonic(self) -> float:
        return self.now


def test_budget_counts_retries_and_time(monkeypatch: pytest.MonkeyPatch) -> None:
    clock = Clock()
    monkeypatch.setattr(retry_module, "time", clock)
    budget = RetryPolicy(max_attempts=3, max_time=10, initial_backoff=1, max_backoff=1).budget()
    assert budget.next_wait() is not None
    assert budget.next_wait() is not None
    assert budget.next_wait() is None  # three attempts in all: two retries
    assert budget.retries == 2

    budget = RetryPolicy(max_attempts=10, max_time=10).budget()
    assert budget.next_wait(retry_after=4.0) == 4.0  # Retry-After replaces the computed wait
    clock.now += 8
    assert budget.next_wait(retry_after=4.0) is None  # it would end past max_time
    assert budget.next_wait(retry_after=61.0) is None  # longer than max_retry_after
