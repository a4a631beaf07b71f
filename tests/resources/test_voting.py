"""resources/voting.py: voting.create and voting.check_pool_status pinned on the wire (method,
path quoting, token header, exact JSON body), the pool answer's parsing, and argument checks
that send nothing; plus the sandbox engine's gate (hold, release, expiry) behind voting policies."""

from __future__ import annotations

import asyncio
import random
from typing import Any

import pytest

from privicore_async import errors
from privicore_async.models import VotingPool
from privicore_async.resources import Voting
from privicore_async.routes import ROUTES
from privicore_async.sandbox.engine import CommandEngine, CommandState, Hold, Outcome
from privicore_async.sandbox.stats import SandboxStats
from tests.resources.test_authenticators import (
    answered,
    assert_json,
    make_client,
    refused,
    sent_command,
)
from tests.wire_mock import API, mock_http


async def test_create_with_everything() -> None:
    call = await sent_command(
        "/voting/create",
        lambda c: c.voting.create(
            configuration_id="board", device_identifiers=("d-1", "d-2"), description="release"
        ),
    )
    assert_json(
        call,
        {"configurationId": "board", "deviceIdentifiers": ["d-1", "d-2"], "description": "release"},
    )


async def test_create_sends_only_what_is_given() -> None:
    call = await sent_command("/voting/create", lambda c: c.voting.create())
    assert_json(call, {})
    call = await sent_command("/voting/create", lambda c: c.voting.create(device_identifiers=[]))
    assert_json(call, {"deviceIdentifiers": []})


@pytest.mark.parametrize(
    ("kwargs", "argument", "field"),
    [
        ({"configuration_id": ""}, "configuration_id", "configurationId"),
        ({"device_identifiers": "d-1"}, "device_identifiers", "deviceIdentifiers"),
        ({"device_identifiers": [None]}, "device_identifiers", "deviceIdentifiers"),
        ({"description": "  "}, "description", "description"),
    ],
)
async def test_create_refuses_bad_input(kwargs: dict[str, Any], argument: str, field: str) -> None:
    error = await refused(lambda c: c.voting.create(**kwargs))
    assert error.argument == argument
    assert list(error.errors) == [field]


def test_create_says_its_path_and_pool_id_are_inferred() -> None:
    doc = Voting.create.__doc__ or ""
    assert ROUTES["voting.create"].inferred
    assert "/voting/create" in doc
    assert "inferred" in doc
    assert "PrivicoreClient(routes=" in doc
    assert "pool id is the handle's ``command_id``" in " ".join(doc.split())


async def test_check_pool_status_quotes_the_pool_id() -> None:
    answer = {
        "poolId": "p/1 ?",
        "status": "open",
        "description": "release",
        "approvals": 1,
        "rejections": 0,
        "required": 2,
        "votes": [{"deviceIdentifier": "d-1", "approve": True}],
        "expiresAt": "2026-01-02T03:04:05+00:00",
        "eligible": ["d-1", "d-2"],
    }
    pool = await answered(
        "GET",
        "/voting/check-pool-status/p%2F1%20%3F",
        answer,
        lambda c: c.voting.check_pool_status("p/1 ?"),
    )
    assert isinstance(pool, VotingPool)
    assert pool.open
    assert (pool.pool_id, pool.approvals, pool.required) == ("p/1 ?", 1, 2)
    assert pool.votes == [{"deviceIdentifier": "d-1", "approve": True}]
    assert pool.expires_at is not None
    assert pool.extra == {"eligible": ["d-1", "d-2"]}


async def test_check_pool_status_minimal_and_decided() -> None:
    pool = await answered(
        "GET",
        "/voting/check-pool-status/p-1",
        {"poolId": "p-1", "status": "approved"},
        lambda c: c.voting.check_pool_status("p-1"),
    )
    assert not pool.open
    assert pool.votes == []


@pytest.mark.parametrize("answer", [{"status": "open"}, "open", ["p-1", "open"]])
async def test_check_pool_status_refuses_other_shapes(answer: Any) -> None:
    with pytest.raises(errors.ProtocolError, match=r"voting\.check_pool_status"):
        await answered(
            "GET",
            "/voting/check-pool-status/p-1",
            answer,
            lambda c: c.voting.check_pool_status("p-1"),
        )


async def test_check_pool_status_unknown_pool_and_bad_input() -> None:
    with mock_http() as m:
        m.get(API + "/voting/check-pool-status/p-1", status=404, payload={"message": "x"})
        async with make_client() as c:
            with pytest.raises(errors.NotFoundError):
                await c.voting.check_pool_status("p-1")
    error = await refused(lambda c: c.voting.check_pool_status(""))
    assert (error.argument, list(error.errors)) == ("pool_id", ["poolId"])


async def test_cancel_pool_posts_the_pool_id_as_json() -> None:
    call = await sent_command("/voting/cancel-pool", lambda c: c.voting.cancel_pool("p/1 ?"))
    assert_json(call, {"poolId": "p/1 ?"})


async def test_cancel_pool_of_an_unknown_pool_is_not_found() -> None:
    with mock_http() as m:
        m.post(API + "/voting/cancel-pool", status=404, payload={"message": "x"})
        async with make_client() as c:
            with pytest.raises(errors.NotFoundError):
                await c.voting.cancel_pool("p-1")


@pytest.mark.parametrize("value", ["", "  ", None, 5])
async def test_cancel_pool_refuses_a_bad_pool_id(value: Any) -> None:
    error = await refused(lambda c: c.voting.cancel_pool(value))
    assert (error.argument, list(error.errors)) == ("pool_id", ["poolId"])


def test_cancel_pool_says_it_is_not_in_the_seed() -> None:
    route = ROUTES["voting.cancel_pool"]
    assert not route.seed
    assert route.inferred
    doc = " ".join((Voting.cancel_pool.__doc__ or "").split())
    assert "/voting/cancel-pool" in doc
    assert "Not in the seed" in doc
    assert "inferred" in doc
    assert "PrivicoreClient(routes=" in doc


# -- the sandbox's one gating mechanism (CommandEngine.gate / release) ---------------------------


async def test_engine_gate_holds_until_release_or_expiry() -> None:
    engine = CommandEngine({}, SandboxStats(), latency=0.0, jitter=0.0, rng=random.Random(0))
    ran: list[str] = []

    def rule(command: Any) -> Outcome:
        ran.append(command.route)
        return Outcome.success()

    engine.gate = lambda c: (
        Hold(0.05, lambda _c: Outcome.reject("vote.timeout")) if c.route != "free" else None
    )
    try:
        free = engine.accept("free", "p", rule)
        held = engine.accept("held", "p", rule)
        expiring = engine.accept("expiring", "p", rule)
        assert (free.held, held.held, engine.pending) == (False, True, 3)
        await asyncio.sleep(0.01)
        assert free.state is CommandState.SUCCEEDED
        assert not held.settled
        assert engine.release(held)  # by its own rule
        assert (held.state, ran, engine.pending) == (CommandState.SUCCEEDED, ["free", "held"], 1)
        assert not engine.release(held)  # already settled
        assert not engine.release(free)  # never held
        await asyncio.sleep(0.1)
        assert (expiring.state, expiring.body) == (CommandState.REJECTED, "vote.timeout")
        assert "expiring" not in ran
        denied = engine.accept("denied", "p", rule)
        assert engine.release(denied, Outcome.reject("vote.denied"))
        assert (denied.state, denied.body) == (CommandState.REJECTED, "vote.denied")
    finally:
        engine.close()
