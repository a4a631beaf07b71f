"""resources/policies.py and the policy models: every policy endpoint pinned on the wire (method,
path and its quoting, token header, content type, exact form or JSON body), the template
object's parsing, retrieve's 404 retries, and argument checks that send nothing."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from privicore_async import errors
from privicore_async.models import Policy, PolicyEvent, PolicyTemplate
from privicore_async.resources import Policies
from privicore_async.routes import ROUTES
from tests.resources.test_authenticators import (
    Invoke,
    answered,
    assert_form,
    assert_json,
    make_client,
    refused,
    sent_command,
)
from tests.wire_mock import API, all_calls, calls, json_body, mock_http

TEMPLATES = {
    "tpl-1": {
        "name": "Device management",
        "description": "Vote on devices",
        "events": {
            "evt-1": {"device.approve": "Approve a device"},
            "evt-2": {"device.remove": "Remove a device"},
        },
        "configuration": ["reason"],
        "votingAttributes": ["strategy", "timeLimit"],
        "version": 3,
    },
    "tpl-2": {"name": "Bare", "events": {}},
}

POLICY = {
    "id": "pol-1",
    "name": "four eyes",
    "policyTemplateId": "tpl-1",
    "applyingEventIds": ["evt-1"],
    "configuration": {"reason": "x"},
    "votingConfigurationId": "board",
    "active": False,
    "createdAt": "2026-01-02T03:04:05+00:00",
    "owner": "p-1",
}


# -- templates ------------------------------------------------------------------------------------


async def test_list_templates_keys_templates_and_events_by_id() -> None:
    templates = await answered(
        "GET", "/policy/list-policy-templates", TEMPLATES, lambda c: c.policies.list_templates()
    )
    assert list(templates) == ["tpl-1", "tpl-2"]
    template = templates["tpl-1"]
    assert isinstance(template, PolicyTemplate)
    assert (template.template_id, template.name, template.description) == (
        "tpl-1",
        "Device management",
        "Vote on devices",
    )
    assert template.events == {
        "evt-1": PolicyEvent("evt-1", "device.approve", "Approve a device"),
        "evt-2": PolicyEvent("evt-2", "device.remove", "Remove a device"),
    }
    assert template.configuration == ["reason"]
    assert template.voting_attributes == ["strategy", "timeLimit"]
    assert template.extra == {"version": 3}
    assert template.event_by_name("Remove a device") == template.events["evt-2"]
    assert template.event_by_name("nothing") is None
    assert templates["tpl-2"].events == {}


async def test_list_templates_tolerates_plain_label_events() -> None:
    templates = await answered(
        "GET",
        "/policy/list-policy-templates",
        {"7": {"events": {"12": "Approve device"}}},
        lambda c: c.policies.list_templates(),
    )
    assert templates["7"].events["12"] == PolicyEvent("12", "Approve device", "Approve device")


@pytest.mark.parametrize(
    "answer",
    [
        [{"name": "Device management", "events": {"approve": 1}}],  # the stale docset shape
        {"tpl-1": "not an object"},
        {"tpl-1": {"events": {"evt-1": 5}}},
        {"tpl-1": {"events": ["evt-1"]}},
    ],
)
async def test_list_templates_refuses_other_shapes(answer: Any) -> None:
    with pytest.raises(errors.ProtocolError, match=r"policies\.list_templates"):
        await answered(
            "GET", "/policy/list-policy-templates", answer, lambda c: c.policies.list_templates()
        )


# -- register -------------------------------------------------------------------------------------


async def test_register_sends_the_voting_configuration_as_voting_configuration_id() -> None:
    call = await sent_command(
        "/policy/register",
        lambda c: c.policies.register(
            "four eyes",
            "tpl-1",
            ("evt-1", "evt-2"),
            {"reason": "x", "level": 2},
            voting_configuration_id="board",
        ),
    )
    # Only the key public clients send (§b2); configurationId is opt-in.
    assert_json(
        call,
        {
            "name": "four eyes",
            "policyTemplateId": "tpl-1",
            "applyingEventIds": ["evt-1", "evt-2"],
            "configuration": {"reason": "x", "level": 2},
            "votingConfigurationId": "board",
        },
    )


async def test_register_also_sends_configuration_id_when_asked() -> None:
    call = await sent_command(
        "/policy/register",
        lambda c: c.policies.register(
            "four eyes",
            "tpl-1",
            ["evt-1"],
            {"reason": "x"},
            voting_configuration_id="board",
            also_configuration_id=True,
        ),
    )
    assert_json(
        call,
        {
            "name": "four eyes",
            "policyTemplateId": "tpl-1",
            "applyingEventIds": ["evt-1"],
            "configuration": {"reason": "x"},
            "votingConfigurationId": "board",
            "configurationId": "board",
        },
    )
    # Without a voting configuration there is nothing to send under either key.
    call = await sent_command(
        "/policy/register",
        lambda c: c.policies.register(
            "p", "tpl-1", ["evt-1"], {"reason": "x"}, also_configuration_id=True
        ),
    )
    assert "configurationId" not in json_body(call)
    assert "votingConfigurationId" not in json_body(call)


def test_register_says_why_configuration_id_is_opt_in() -> None:
    doc = " ".join((Policies.register.__doc__ or "").split())
    assert "also_configuration_id=True" in doc
    assert "§b2" in doc
    # The parameter stays in the route (endpoints.json lists it), optional.
    (param,) = [p for p in ROUTES["policies.register"].params if p.name == "configurationId"]
    assert not param.required


async def test_register_without_voting_configuration_sends_neither_key() -> None:
    call = await sent_command(
        "/policy/register",
        lambda c: c.policies.register("p", "tpl-1", ["evt-1"], {"reason": "x"}),
    )
    assert_json(
        call,
        {
            "name": "p",
            "policyTemplateId": "tpl-1",
            "applyingEventIds": ["evt-1"],
            "configuration": {"reason": "x"},
        },
    )


@pytest.mark.parametrize(
    ("kwargs", "argument", "field"),
    [
        ({"name": ""}, "name", "name"),
        ({"template_id": " "}, "template_id", "policyTemplateId"),
        ({"event_ids": []}, "event_ids", "applyingEventIds"),
        ({"event_ids": "evt-1"}, "event_ids", "applyingEventIds"),
        ({"event_ids": ["evt-1", ""]}, "event_ids", "applyingEventIds"),
        ({"configuration": {}}, "configuration", "configuration"),
        ({"configuration": [("reason", "x")]}, "configuration", "configuration"),
        (
            {"voting_configuration_id": ""},
            "voting_configuration_id",
            "votingConfigurationId",
        ),
    ],
)
async def test_register_refuses_bad_input(
    kwargs: dict[str, Any], argument: str, field: str
) -> None:
    arguments: dict[str, Any] = {
        "name": "p",
        "template_id": "tpl-1",
        "event_ids": ["evt-1"],
        "configuration": {"reason": "x"},
    }
    arguments.update(kwargs)
    error = await refused(lambda c: c.policies.register(**arguments))
    assert error.argument == argument
    assert list(error.errors) == [field]


# -- lists and retrieve ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("list_active", "/policy/list-active-policies"),
        ("list_inactive", "/policy/list-inactive-policies"),
        ("list", "/policy/list-policies"),
    ],
)
@pytest.mark.parametrize("wrap", [False, True])
async def test_lists(method: str, path: str, wrap: bool) -> None:
    answer: Any = {"items": [POLICY]} if wrap else [POLICY]
    (policy,) = await answered("GET", path, answer, lambda c: getattr(c.policies, method)())
    assert isinstance(policy, Policy)
    assert (policy.policy_id, policy.name, policy.active) == ("pol-1", "four eyes", False)
    assert policy.applying_event_ids == ["evt-1"]
    assert policy.voting_configuration_id == "board"
    assert policy.extra == {"owner": "p-1"}


async def test_a_policy_without_id_is_a_protocol_error() -> None:
    with pytest.raises(errors.ProtocolError, match="'id'"):
        await answered("GET", "/policy/list-policies", [{"name": "x"}], lambda c: c.policies.list())


async def test_retrieve_quotes_the_name_into_one_segment() -> None:
    policy = await answered(
        "GET",
        "/policy/retrieve-policy/four%20eyes%2F..%3F",
        {"id": "pol-1"},
        lambda c: c.policies.retrieve("four eyes/..?"),
    )
    assert policy == Policy("pol-1")


async def test_retrieve_asks_once_by_default() -> None:
    path = "/policy/retrieve-policy/p"
    with mock_http() as m:
        m.get(API + path, status=404, payload={"message": "Record not found"}, repeat=True)
        async with make_client() as c:
            with pytest.raises(errors.NotFoundError):
                await c.policies.retrieve("p")
    assert len(calls(m, "GET", path)) == 1


async def test_retrieve_retries_404_with_backoff_until_visible() -> None:
    path = "/policy/retrieve-policy/p"
    sleeps: list[float] = []
    real_sleep = asyncio.sleep

    async def fake_sleep(seconds: float) -> None:
        sleeps.append(seconds)
        await real_sleep(0)

    with mock_http() as m:
        for _ in range(3):
            m.get(API + path, status=404, payload={"message": "Record not found"})
        m.get(API + path, payload=POLICY)
        async with make_client() as c:
            with pytest.MonkeyPatch.context() as patch:
                patch.setattr("privicore_async.resources.policies.asyncio.sleep", fake_sleep)
                policy = await c.policies.retrieve("p", wait=5)
    assert policy.policy_id == "pol-1"
    assert len(calls(m, "GET", path)) == 4
    assert sleeps == [0.2, 0.4, 0.8]


async def test_retrieve_gives_up_at_the_deadline_and_other_errors_pass() -> None:
    path = "/policy/retrieve-policy/p"
    with mock_http() as m:
        m.get(API + path, status=404, payload={"message": "Record not found"}, repeat=True)
        async with make_client() as c:
            started = asyncio.get_running_loop().time()
            with pytest.raises(errors.NotFoundError):
                await c.policies.retrieve("p", wait=0.3)
            elapsed = asyncio.get_running_loop().time() - started
    assert 0.3 <= elapsed < 1.0
    assert len(calls(m, "GET", path)) == 3  # at 0, 0.2 and 0.3 (the deadline)
    with mock_http() as m:
        m.get(API + path, status=403, payload={"message": "Forbidden"})
        async with make_client() as c:
            with pytest.raises(errors.PermissionDeniedError):
                await c.policies.retrieve("p", wait=5)
    assert len(calls(m, "GET", path)) == 1


@pytest.mark.parametrize(("name", "wait"), [("", 0), ("p", -1), ("p", "5"), ("p", True)])
async def test_retrieve_refuses_bad_input(name: str, wait: Any) -> None:
    error = await refused(lambda c: c.policies.retrieve(name, wait=wait))
    assert error.argument == ("name" if not name else "wait")


# -- activate / deactivate / delete ---------------------------------------------------------------


@pytest.mark.parametrize("method", ["activate", "deactivate", "delete"])
async def test_policy_commands_post_the_policy_id(method: str) -> None:
    invoke: Invoke = lambda c: getattr(c.policies, method)("pol-1")  # noqa: E731
    call = await sent_command(f"/policy/{method}", invoke)
    assert_form(call, {"policyId": "pol-1"})


@pytest.mark.parametrize("method", ["activate", "deactivate", "delete"])
@pytest.mark.parametrize("value", ["", " ", None])
async def test_policy_commands_refuse_a_blank_id(method: str, value: Any) -> None:
    error = await refused(lambda c: getattr(c.policies, method)(value))
    assert error.argument == "policy_id"
    assert list(error.errors) == ["policyId"]


def test_inferred_routes_document_it() -> None:
    for name, route in ROUTES.items():
        if not name.startswith("policies."):
            continue
        doc = getattr(Policies, name.split(".", 1)[1]).__doc__ or ""
        assert route.path.split("{")[0].rstrip("/") in doc, name
        if route.inferred:
            assert "inferred" in doc, name
            assert "PrivicoreClient(routes=" in doc, name


async def test_nothing_but_the_call_is_sent() -> None:
    with mock_http() as m:
        m.get(API + "/policy/list-policies", payload=[])
        async with make_client() as c:
            assert await c.policies.list() == []
    assert all_calls(m) == [("GET", "/policy/list-policies")]
