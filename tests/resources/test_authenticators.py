"""resources/authenticators.py and models/voting.py: every verified-authenticator endpoint pinned
on the wire (method, path, token header, content type, exact form or JSON body), the answers'
shapes, and argument checks that send nothing. HTTP is mocked with aioresponses."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

import pytest

from privicore_async import PollPolicy, PrivicoreClient, RetryPolicy, errors
from privicore_async.models import (
    Authenticator,
    QuorumStrategy,
    VotingConfiguration,
    VotingStrategy,
)
from privicore_async.resources import Authenticators
from privicore_async.routes import ROUTES
from tests.wire_mock import API, all_calls, calls, form, headers, json_body, mock_http

TOKEN = "T-profile-token"
FORM_CT = "application/x-www-form-urlencoded"
JSON_CT = "application/json"
PREFIX = "/verified-authenticator"


def make_client(**kwargs: Any) -> PrivicoreClient:
    kwargs.setdefault("token", TOKEN)
    kwargs.setdefault("poll", PollPolicy(initial_delay=0.0, min_interval=0.01, timeout=5))
    kwargs.setdefault("retry", RetryPolicy(max_attempts=2, initial_backoff=0.001))
    return PrivicoreClient(api_url=API, **kwargs)


Invoke = Callable[[PrivicoreClient], Awaitable[Any]]


async def sent_command(path: str, invoke: Invoke) -> Any:
    """Run one command against a mocked 202 + succeeded status; the recorded request."""
    with mock_http() as m:
        m.post(API + path, status=202, payload={"commandId": "cmd-1"})
        m.post(API + "/request-status/cmd-1", payload="succeeded")
        async with make_client() as c:
            handle = await invoke(c)
            result = await handle
    assert (handle.command_id, result.command_id) == ("cmd-1", "cmd-1")
    (call,) = calls(m, "POST", path)
    sent = headers(call)
    assert sent["x-dpt-authorization"] == TOKEN
    assert "authorization" not in sent
    return call


def assert_form(call: Any, expected: dict[str, str]) -> None:
    assert headers(call)["content-type"] == FORM_CT
    assert form(call) == expected


def assert_json(call: Any, expected: dict[str, Any]) -> None:
    assert headers(call)["content-type"] == JSON_CT
    assert json_body(call) == expected


async def refused(invoke: Invoke) -> errors.InvalidArgumentError:
    """The InvalidArgumentError ``invoke`` raises, after checking nothing was sent."""
    with mock_http() as m:
        async with make_client() as c:
            with pytest.raises(errors.InvalidArgumentError) as info:
                await invoke(c)
    assert all_calls(m) == []
    return info.value


async def answered(method: str, path: str, payload: Any, invoke: Invoke) -> Any:
    """Run one sync call against a mocked answer; (result, recorded request)."""
    with mock_http() as m:
        m.add(API + path, method, payload=payload)
        async with make_client() as c:
            result = await invoke(c)
    (call,) = calls(m, method, path)
    assert headers(call)["x-dpt-authorization"] == TOKEN
    assert "data" not in call.kwargs
    return result


# -- authenticator roles ------------------------------------------------------------------------


@pytest.mark.parametrize(("method", "path"), [("register", "/register"), ("remove", "/remove")])
async def test_register_and_remove_post_the_device_identifier(method: str, path: str) -> None:
    call = await sent_command(PREFIX + path, lambda c: getattr(c.authenticators, method)("dev 1/x"))
    assert_form(call, {"deviceIdentifier": "dev 1/x"})


@pytest.mark.parametrize("method", ["register", "remove"])
@pytest.mark.parametrize("value", ["", "  ", None, 5])
async def test_register_and_remove_refuse_a_bad_identifier(method: str, value: Any) -> None:
    error = await refused(lambda c: getattr(c.authenticators, method)(value))
    assert error.argument == "device_identifier"
    assert error.errors == {"deviceIdentifier": [str(error).split(": ", 1)[1]]}


@pytest.mark.parametrize(
    "answer",
    [
        [{"deviceIdentifier": "d-1", "name": "phone", "registeredAt": "2026-01-02T03:04:05+00:00"}],
        {"items": [{"deviceIdentifier": "d-1", "name": "phone", "since": 1}]},
        ["d-1"],
    ],
)
async def test_list_accepts_records_items_or_identifiers(answer: Any) -> None:
    (authenticator,) = await answered(
        "GET", PREFIX + "/list-verified-authenticators", answer, lambda c: c.authenticators.list()
    )
    assert isinstance(authenticator, Authenticator)
    assert authenticator.device_identifier == "d-1"


async def test_list_keeps_unknown_keys_and_parses_times() -> None:
    answer = [{"deviceIdentifier": "d-1", "registeredAt": "2026-01-02T03:04:05+00:00", "x": 1}]
    (authenticator,) = await answered(
        "GET", PREFIX + "/list-verified-authenticators", answer, lambda c: c.authenticators.list()
    )
    assert authenticator.registered_at is not None
    assert authenticator.registered_at.year == 2026
    assert authenticator.extra == {"x": 1}


@pytest.mark.parametrize("answer", [{"meta": {}}, [{"name": "no id"}], "text"])
async def test_list_of_something_else_is_a_protocol_error(answer: Any) -> None:
    with pytest.raises(errors.ProtocolError, match=r"authenticators\.list"):
        await answered(
            "GET",
            PREFIX + "/list-verified-authenticators",
            answer,
            lambda c: c.authenticators.list(),
        )


async def test_retrieve_voting_strategy_reads_the_snake_case_params() -> None:
    answer = {
        "strategy": "consensus",
        "strategy_params": 51,
        "timeLimit": 60,
        "numberOfAttempts": 3,
        "quorumSize": 2,
        "updatedBy": "p-1",
    }
    strategy = await answered(
        "GET",
        PREFIX + "/retrieve-voting-strategy",
        answer,
        lambda c: c.authenticators.retrieve_voting_strategy(),
    )
    assert isinstance(strategy, VotingStrategy)
    assert (strategy.strategy, strategy.strategy_params, strategy.quorum_size) == (
        "consensus",
        51,
        2,
    )
    assert strategy.worst_case_seconds == 180
    assert strategy.extra == {"updatedBy": "p-1"}


@pytest.mark.parametrize("status", [404, 405])
async def test_retrieve_voting_strategy_falls_back_to_the_guide_path(status: int) -> None:
    guide = PREFIX + "/retrieve-strategy"
    with mock_http() as m:
        m.get(API + PREFIX + "/retrieve-voting-strategy", status=status, repeat=True)
        m.get(API + guide, payload={"strategy": "affirmative", "strategy_params": 1}, repeat=True)
        async with make_client() as c:
            for _ in range(2):
                strategy = await c.authenticators.retrieve_voting_strategy()
                assert (strategy.strategy, strategy.strategy_params) == ("affirmative", 1)
    (first, _) = calls(m, "GET", guide)
    assert headers(first)["x-dpt-authorization"] == TOKEN
    assert "data" not in first.kwargs
    # A 405 keeps the client on the guide's path; a 404 proves nothing and is not remembered.
    tried = calls(m, "GET", PREFIX + "/retrieve-voting-strategy")
    assert len(tried) == (1 if status == 405 else 2)


async def test_retrieve_voting_strategy_refuses_a_non_object() -> None:
    with pytest.raises(errors.ProtocolError, match="retrieve_voting_strategy"):
        await answered(
            "GET",
            PREFIX + "/retrieve-voting-strategy",
            ["consensus"],
            lambda c: c.authenticators.retrieve_voting_strategy(),
        )


# -- profile-wide settings (form) ---------------------------------------------------------------


@pytest.mark.parametrize(
    ("invoke", "path", "expected"),
    [
        (lambda c: c.authenticators.set_quorum_size(3), "/set-quorum-size", {"quorumSize": "3"}),
        (
            lambda c: c.authenticators.set_voting_time_limit(90),
            "/set-voting-time-limit",
            {"timeLimit": "90"},
        ),
        (
            lambda c: c.authenticators.set_maximum_voting_attempts(2),
            "/set-maximum-voting-attempts",
            {"numberOfAttempts": "2"},
        ),
        (
            lambda c: c.authenticators.set_quorum_strategy("minimum_percentage", 75),
            "/set-quorum-strategy",
            {"strategy": "minimum_percentage", "strategy_params": "75"},
        ),
        (
            lambda c: c.authenticators.set_quorum_strategy(QuorumStrategy.UNANIMOUS),
            "/set-quorum-strategy",
            {"strategy": "unanimous", "strategy_params": "100"},
        ),
        (
            lambda c: c.authenticators.set_quorum_strategy("consensus"),
            "/set-quorum-strategy",
            {"strategy": "consensus", "strategy_params": "51"},
        ),
        (
            lambda c: c.authenticators.set_quorum_strategy("affirmative", 0),
            "/set-quorum-strategy",
            {"strategy": "affirmative", "strategy_params": "0"},
        ),
    ],
)
async def test_settings_are_form_commands(
    invoke: Invoke, path: str, expected: dict[str, str]
) -> None:
    assert_form(await sent_command(PREFIX + path, invoke), expected)


@pytest.mark.parametrize(
    ("invoke", "argument", "field"),
    [
        (lambda c: c.authenticators.set_quorum_size(0), "quorum_size", "quorumSize"),
        (lambda c: c.authenticators.set_quorum_size("3"), "quorum_size", "quorumSize"),
        (lambda c: c.authenticators.set_quorum_size(True), "quorum_size", "quorumSize"),
        (lambda c: c.authenticators.set_voting_time_limit(0), "time_limit", "timeLimit"),
        (lambda c: c.authenticators.set_voting_time_limit(1.5), "time_limit", "timeLimit"),
        (
            lambda c: c.authenticators.set_maximum_voting_attempts(0),
            "number_of_attempts",
            "numberOfAttempts",
        ),
        (lambda c: c.authenticators.set_quorum_strategy("dictator"), "strategy", "strategy"),
        (lambda c: c.authenticators.set_quorum_strategy(""), "strategy", "strategy"),
        (
            lambda c: c.authenticators.set_quorum_strategy("minimum_percentage"),
            "strategy_params",
            "strategy_params",
        ),
        (
            lambda c: c.authenticators.set_quorum_strategy("consensus", 101),
            "strategy_params",
            "strategy_params",
        ),
        (
            lambda c: c.authenticators.set_quorum_strategy("consensus", -1),
            "strategy_params",
            "strategy_params",
        ),
    ],
)
async def test_settings_refuse_bad_values(invoke: Invoke, argument: str, field: str) -> None:
    error = await refused(invoke)
    assert error.argument == argument
    assert list(error.errors) == [field]


# -- voting configurations (JSON) ---------------------------------------------------------------

REGISTER = PREFIX + "/voting-configuration/register"
UPDATE = PREFIX + "/voting-configuration/update"


async def test_register_voting_configuration_sends_json_types() -> None:
    call = await sent_command(
        REGISTER,
        lambda c: c.authenticators.register_voting_configuration("board", "unanimous", 60),
    )
    assert_json(
        call, {"name": "board", "strategy": "unanimous", "timeLimit": 60, "deviceIdentifiers": []}
    )


async def test_register_voting_configuration_with_devices_and_percentage() -> None:
    call = await sent_command(
        REGISTER,
        lambda c: c.authenticators.register_voting_configuration(
            "board",
            QuorumStrategy.MINIMUM_PERCENTAGE,
            30,
            device_identifiers=("d-1", "d-2"),
            percentage_required=66,
        ),
    )
    assert_json(
        call,
        {
            "name": "board",
            "strategy": "minimum_percentage",
            "timeLimit": 30,
            "deviceIdentifiers": ["d-1", "d-2"],
            "percentageRequired": 66,
        },
    )


@pytest.mark.parametrize(
    ("kwargs", "argument", "field"),
    [
        ({"name": " "}, "name", "name"),
        ({"strategy": "majority"}, "strategy", "strategy"),
        ({"time_limit": 0}, "time_limit", "timeLimit"),
        ({"time_limit": "60"}, "time_limit", "timeLimit"),
        ({"device_identifiers": "d-1"}, "device_identifiers", "deviceIdentifiers"),
        ({"device_identifiers": ["d-1", ""]}, "device_identifiers", "deviceIdentifiers"),
        ({"device_identifiers": ["d-1", "d-1"]}, "device_identifiers", "deviceIdentifiers"),
        ({"percentage_required": 50}, "percentage_required", "percentageRequired"),
        (
            {"strategy": "minimum_percentage"},
            "percentage_required",
            "percentageRequired",
        ),
        (
            {"strategy": "minimum_percentage", "percentage_required": 0},
            "percentage_required",
            "percentageRequired",
        ),
    ],
)
async def test_register_voting_configuration_refuses_bad_input(
    kwargs: dict[str, Any], argument: str, field: str
) -> None:
    arguments: dict[str, Any] = {"name": "board", "strategy": "unanimous", "time_limit": 60}
    arguments.update(kwargs)
    error = await refused(lambda c: c.authenticators.register_voting_configuration(**arguments))
    assert error.argument == argument
    assert list(error.errors) == [field]


async def test_update_voting_configuration_sends_only_the_changes() -> None:
    call = await sent_command(
        UPDATE,
        lambda c: c.authenticators.update_voting_configuration(
            "board", time_limit=45, device_identifiers=[]
        ),
    )
    assert_json(call, {"configurationId": "board", "timeLimit": 45, "deviceIdentifiers": []})


async def test_update_voting_configuration_with_every_field() -> None:
    call = await sent_command(
        UPDATE,
        lambda c: c.authenticators.update_voting_configuration(
            "board",
            name="board 2",
            strategy="minimum_percentage",
            time_limit=10,
            device_identifiers=["d-1"],
            percentage_required=80,
        ),
    )
    assert_json(
        call,
        {
            "configurationId": "board",
            "name": "board 2",
            "strategy": "minimum_percentage",
            "timeLimit": 10,
            "deviceIdentifiers": ["d-1"],
            "percentageRequired": 80,
        },
    )


@pytest.mark.parametrize(
    ("kwargs", "argument"),
    [
        ({}, "configuration_id"),
        ({"configuration_id": ""}, "configuration_id"),
        ({"name": ""}, "name"),
        ({"strategy": "x"}, "strategy"),
        ({"time_limit": -5}, "time_limit"),
        ({"strategy": "consensus", "percentage_required": 60}, "percentage_required"),
        ({"percentage_required": 101}, "percentage_required"),
    ],
)
async def test_update_voting_configuration_refuses_bad_or_empty_updates(
    kwargs: dict[str, Any], argument: str
) -> None:
    arguments: dict[str, Any] = {"configuration_id": "board"}
    arguments.update(kwargs)
    error = await refused(lambda c: c.authenticators.update_voting_configuration(**arguments))
    assert error.argument == argument
    if not kwargs:
        assert "nothing to update" in str(error)


CONFIGURATION = {
    "configurationId": "board",
    "name": "board",
    "strategy": "minimum_percentage",
    "timeLimit": 60,
    "deviceIdentifiers": ["d-1"],
    "percentageRequired": 60,
    "createdAt": "2026-01-02T03:04:05+00:00",
    "owner": "p-1",
}


async def test_delete_voting_configuration_posts_the_id_as_json() -> None:
    call = await sent_command(
        PREFIX + "/voting-configuration/delete",
        lambda c: c.authenticators.delete_voting_configuration("board/2"),
    )
    assert_json(call, {"configurationId": "board/2"})


@pytest.mark.parametrize("value", ["", "  ", None, 5])
async def test_delete_voting_configuration_refuses_a_bad_id(value: Any) -> None:
    error = await refused(lambda c: c.authenticators.delete_voting_configuration(value))
    assert (error.argument, list(error.errors)) == ("configuration_id", ["configurationId"])


async def test_delete_voting_configuration_of_an_unknown_one_is_not_found() -> None:
    with mock_http() as m:
        m.post(API + PREFIX + "/voting-configuration/delete", status=404, payload={"message": "x"})
        async with make_client() as c:
            with pytest.raises(errors.NotFoundError):
                await c.authenticators.delete_voting_configuration("board")
    assert all_calls(m) == [("POST", PREFIX + "/voting-configuration/delete")]


def test_delete_voting_configuration_says_it_is_not_in_the_seed() -> None:
    route = ROUTES["authenticators.delete_voting_configuration"]
    assert not route.seed
    assert route.inferred
    doc = " ".join((Authenticators.delete_voting_configuration.__doc__ or "").split())
    assert "Not in the seed" in doc
    assert "§b3" in doc


@pytest.mark.parametrize("answer", [[CONFIGURATION], {"items": [CONFIGURATION]}])
async def test_list_voting_configurations(answer: Any) -> None:
    (configuration,) = await answered(
        "GET",
        PREFIX + "/voting-configuration/list",
        answer,
        lambda c: c.authenticators.list_voting_configurations(),
    )
    assert isinstance(configuration, VotingConfiguration)
    assert (configuration.identifier, configuration.percentage_required) == ("board", 60)
    assert configuration.device_identifiers == ["d-1"]
    assert configuration.extra == {"owner": "p-1"}


async def test_retrieve_voting_configuration_quotes_the_id_into_one_segment() -> None:
    path = PREFIX + "/voting-configuration/retrieve/board%2F2%20%3F"
    answer = {"name": "board/2 ?", "strategy": "unanimous"}
    configuration = await answered(
        "GET", path, answer, lambda c: c.authenticators.retrieve_voting_configuration("board/2 ?")
    )
    assert configuration.identifier == "board/2 ?"
    assert configuration.device_identifiers == []


async def test_retrieve_voting_configuration_errors() -> None:
    path = PREFIX + "/voting-configuration/retrieve/x"
    with pytest.raises(errors.ProtocolError, match="name"):
        await answered(
            "GET",
            path,
            {"strategy": "unanimous"},
            lambda c: c.authenticators.retrieve_voting_configuration("x"),
        )
    with mock_http() as m:
        m.get(API + path, status=404, payload={"message": "Record not found"})
        async with make_client() as c:
            with pytest.raises(errors.NotFoundError):
                await c.authenticators.retrieve_voting_configuration("x")
    error = await refused(lambda c: c.authenticators.retrieve_voting_configuration(""))
    assert list(error.errors) == ["configurationId"]


# -- inferred routes say so ---------------------------------------------------------------------


def test_inferred_routes_document_it() -> None:
    for name, route in ROUTES.items():
        if not name.startswith("authenticators."):
            continue
        doc = getattr(Authenticators, name.split(".", 1)[1]).__doc__ or ""
        assert route.path.split("{")[0].rstrip("/") in doc, name
        if route.inferred:
            assert "inferred" in doc, name
            assert "PrivicoreClient(routes=" in doc, name


async def test_a_corrected_inferred_path_is_used() -> None:
    with mock_http() as m:
        m.get(API + "/verified-authenticator/list", payload=[])
        async with make_client(
            routes={"authenticators.list": ("GET", "/verified-authenticator/list")}
        ) as c:
            assert await c.authenticators.list() == []
    assert all_calls(m) == [("GET", "/verified-authenticator/list")]
