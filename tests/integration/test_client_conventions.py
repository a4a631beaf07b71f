"""Client conventions against the sandbox over loopback: views (with_options), per-call
timeouts, the User-Agent on every request and WebSocket handshake (an injected session too),
aiohttp's trace_configs, and OpenTelemetry spans read from the SDK's in-memory exporter."""

from __future__ import annotations

import asyncio
from typing import Any

import aiohttp
import attrs
import pytest
from opentelemetry.sdk.trace import ReadableSpan, TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

from privicore_async import RetryPolicy, errors
from privicore_async.http.aiohttp_sender import USER_AGENT
from privicore_async.sandbox import Faults, Sandbox

from .conftest import PASSWORD, Provisioned, make_client, onboard, register_profile, unique_username


@attrs.define
class HeaderLog:
    """Every request a session sent (WebSocket upgrades included), with its real headers."""

    sent: list[tuple[str, str, dict[str, str]]] = attrs.field(factory=list)

    def trace_config(self) -> aiohttp.TraceConfig:
        config = aiohttp.TraceConfig()
        config.on_request_headers_sent.append(self._on_headers_sent)
        return config

    async def _on_headers_sent(self, session: object, ctx: object, params: Any) -> None:
        self.sent.append((params.method, params.url.path, dict(params.headers)))


async def new_profile(sb: Sandbox) -> str:
    username = unique_username()
    await register_profile(sb, username)
    return username


# -- the User-Agent, and trace_configs -------------------------------------------------------------


async def test_an_injected_session_sends_the_user_agent_also_on_the_ws_handshake(
    sandbox: Sandbox,
) -> None:
    username = await new_profile(sandbox)
    log = HeaderLog()
    async with aiohttp.ClientSession(
        headers={"User-Agent": "the-app/1.0"}, trace_configs=[log.trace_config()]
    ) as session:
        async with make_client(
            sandbox, username=username, password=PASSWORD, ws_url=sandbox.ws_url, session=session
        ) as client:
            assert client.acks is not None
            assert await client.acks.wait_joined(5.0)
            await onboard(client, 1)
        assert not session.closed
    paths = {path for _, path, _ in log.sent}
    assert "/profile/authenticate" in paths
    assert any(headers.get("Upgrade", "").lower() == "websocket" for _, _, headers in log.sent)
    for method, path, headers in log.sent:
        assert headers["User-Agent"] == USER_AGENT, (method, path)


async def test_trace_configs_reach_the_session_the_client_opens(provisioned: Provisioned) -> None:
    log = HeaderLog()
    sb = provisioned.sb
    async with make_client(
        sb,
        username=provisioned.username,
        password=PASSWORD,
        ws_url=sb.ws_url,
        trace_configs=[log.trace_config()],
    ) as client:
        assert client.acks is not None
        assert await client.acks.wait_joined(5.0)
        await client.profile.retrieve_profile_id()
    methods_paths = [(method, path) for method, path, _ in log.sent]
    assert ("POST", "/profile/authenticate") in methods_paths
    assert ("GET", "/profile/retrieve-profile-id") in methods_paths
    handshakes = [h for _, _, h in log.sent if h.get("Upgrade", "").lower() == "websocket"]
    assert len(handshakes) == 1
    assert handshakes[0]["User-Agent"] == USER_AGENT


# -- views and per-call timeouts -------------------------------------------------------------------


async def test_a_view_sends_its_headers_and_shares_the_clients_login(sandbox: Sandbox) -> None:
    username = await new_profile(sandbox)
    log = HeaderLog()
    async with aiohttp.ClientSession(trace_configs=[log.trace_config()]) as session:
        async with make_client(
            sandbox, username=username, password=PASSWORD, session=session
        ) as client:
            view = client.with_options(extra_headers={"X-Tenant": "acme"})
            identifiers = await onboard(view, 2)
            await client.profile.retrieve_profile_id()
            assert client.tokens.authentications == 1  # one login for client and view
        assert not session.closed
    assert sandbox.stats.requests["profile.authenticate"] == 1
    tenant = [(path, headers.get("X-Tenant")) for _, path, headers in log.sent]
    assert ("/device/approve-device", "acme") in tenant
    assert ("/profile/retrieve-profile-id", None) in tenant
    for identifier in identifiers:
        assert sandbox.state.devices[identifier].status.value == "approved"


SLOW_HEALTH = pytest.mark.sandbox_options(
    faults=Faults(slow_rate=1.0, slow_delay=0.5, routes={"utility.health"})
)


@SLOW_HEALTH
async def test_a_per_call_timeout_and_a_views_timeout_are_read_timeouts(sandbox: Sandbox) -> None:
    once = RetryPolicy(max_attempts=1)
    async with make_client(sandbox, retry=once) as client:
        with pytest.raises(errors.ReadTimeout) as per_call:
            await client.call("utility.health", timeout=0.1)
        with pytest.raises(errors.ReadTimeout):
            await client.with_options(timeout=0.1).utility.health()
        health = await client.utility.health()  # the client's own timeouts: it waits
    assert health.status
    assert per_call.value.may_have_arrived
    assert isinstance(per_call.value.__cause__, TimeoutError)


# -- OpenTelemetry spans ---------------------------------------------------------------------------


def spans_named(exporter: InMemorySpanExporter, prefix: str) -> list[ReadableSpan]:
    return [span for span in exporter.get_finished_spans() if span.name.startswith(prefix)]


@pytest.mark.parametrize("acks", [True, False], ids=["ack", "poll"])
async def test_command_spans_say_how_each_command_settled(sandbox: Sandbox, acks: bool) -> None:
    username = await new_profile(sandbox)
    exporter = InMemorySpanExporter()
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    async with make_client(
        sandbox,
        username=username,
        password=PASSWORD,
        ws_url=sandbox.ws_url if acks else None,
        telemetry=provider,
    ) as client:
        if acks:
            assert client.acks is not None
            assert await client.acks.wait_joined(5.0)
        (identifier,) = await onboard(client, 1)
        await asyncio.sleep(0.05)  # the last command's span ends in a done callback
    commands = spans_named(exporter, "command ")
    assert [span.name for span in commands] == [
        "command devices.request_unique_identifier",
        "command devices.approve",
    ]
    for span in commands:
        attributes = dict(span.attributes or {})
        assert attributes["privicore.command.outcome"] == "succeeded"
        assert attributes["privicore.command.id"] in sandbox.state.commands
        if acks:
            assert attributes["privicore.command.settled_by"] == "ack"
        else:
            assert attributes["privicore.command.settled_by"] == "poll"
            assert attributes["privicore.command.polls"] >= 1
    requests = spans_named(exporter, "POST ") + spans_named(exporter, "GET ")
    assert {span.attributes["privicore.route"] for span in requests if span.attributes} >= {
        "profile.authenticate",
        "devices.request_unique_identifier",
        "devices.approve",
    }
    assert all(
        (span.attributes or {}).get("http.response.status_code") in (200, 202) for span in requests
    )
    assert identifier in sandbox.state.devices
