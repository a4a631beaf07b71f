"""telemetry.py: OpenTelemetry spans per request and per command, read from an in-memory exporter.

Each test gives the client its own ``TracerProvider`` (``telemetry=provider``), so nothing
global is set. The spans against a real sandbox are in tests/integration/test_observability.py.
"""

from __future__ import annotations

import asyncio
import json
import subprocess
import sys
from collections.abc import Awaitable, Callable
from typing import Any

import pytest
from opentelemetry.sdk.trace import ReadableSpan, TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.trace import SpanKind, StatusCode

from privicore_async import PollPolicy, PrivicoreClient, RetryPolicy, errors
from privicore_async.http import (
    Failure,
    MemoryReply,
    MemorySender,
    MemorySocket,
    PreparedRequest,
    SendError,
)
from tests.wire_mock import API

TOKEN = "T-otel"
FAST = PollPolicy(initial_delay=0.0, min_interval=0.01, max_interval=0.02, timeout=5)
SUCCEEDED = MemoryReply(200, b'{"command_status": 2}')
PENDING = MemoryReply(200, b'"started"')
JOINED = '{"status": 200, "data": {"channelId": "ch-1"}}'

Handler = Callable[[PreparedRequest], MemoryReply | Awaitable[MemoryReply]]


@pytest.fixture
def exporter() -> InMemorySpanExporter:
    return InMemorySpanExporter()


@pytest.fixture
def provider(exporter: InMemorySpanExporter) -> TracerProvider:
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    return provider


def traced_client(
    provider: TracerProvider, handler: Handler, **kwargs: Any
) -> tuple[PrivicoreClient, MemorySender]:
    sender = MemorySender(handler, sockets=kwargs.pop("sockets", None))
    kwargs.setdefault("token", TOKEN)
    kwargs.setdefault("poll", FAST)
    client = PrivicoreClient(API, sender=sender, telemetry=provider, env=False, **kwargs)
    return client, sender


def named(exporter: InMemorySpanExporter, name: str) -> list[ReadableSpan]:
    return [span for span in exporter.get_finished_spans() if span.name == name]


def command_answers(status_reply: MemoryReply = SUCCEEDED) -> Handler:
    def answer(request: PreparedRequest) -> MemoryReply:
        if request.route == "devices.approve":
            return MemoryReply(202, b'"cmd-1"')
        return status_reply

    return answer


async def ended(exporter: InMemorySpanExporter, name: str) -> ReadableSpan:
    """The span ``name`` once it ended (a command's span ends in a done callback)."""
    for _ in range(200):
        if spans := named(exporter, name):
            return spans[0]
        await asyncio.sleep(0.005)
    raise AssertionError(f"no span {name!r}; got {[s.name for s in exporter.get_finished_spans()]}")


# -- off by default, and without cost --------------------------------------------------------------


def test_telemetry_is_off_by_default_and_never_imports_opentelemetry() -> None:
    code = (
        "import sys\n"
        "from privicore_async import PrivicoreClient\n"
        "from privicore_async.http import MemoryReply, MemorySender\n"
        "c = PrivicoreClient('http://privicore.test', env=False,\n"
        "                    sender=MemorySender(lambda r: MemoryReply()))\n"
        "assert c.telemetry is None and c.transport.telemetry is None\n"
        "print(any(name.startswith('opentelemetry') for name in sys.modules))\n"
    )
    done = subprocess.run(
        [sys.executable, "-W", "error", "-c", code], capture_output=True, text=True, check=True
    )
    assert done.stdout.strip() == "False"


def test_telemetry_true_uses_the_global_provider() -> None:
    client = PrivicoreClient(
        API, sender=MemorySender(lambda r: MemoryReply()), telemetry=True, env=False
    )
    assert client.telemetry is not None


def test_telemetry_without_opentelemetry_installed_says_what_to_install(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setitem(sys.modules, "opentelemetry", None)  # import fails as if not installed
    with pytest.raises(errors.InvalidArgumentError, match=r"privicore-async\[otel\]"):
        PrivicoreClient(API, sender=MemorySender(lambda r: MemoryReply()), telemetry=True)


# -- one span per HTTP request ---------------------------------------------------------------------


async def test_a_request_span_names_method_route_and_status(
    provider: TracerProvider, exporter: InMemorySpanExporter
) -> None:
    client, _ = traced_client(provider, lambda request: MemoryReply(200, b"[]"))
    async with client:
        await client.devices.list()
    (span,) = named(exporter, "GET devices.list")
    assert span.kind is SpanKind.CLIENT
    assert dict(span.attributes or {}) == {
        "http.request.method": "GET",
        "privicore.route": "devices.list",
        "url.template": "/device/retrieve-profile-devices",
        "server.address": "privicore.test",
        "http.response.status_code": 200,
    }
    assert span.status.status_code is StatusCode.UNSET


async def test_each_attempt_is_a_span_and_failures_say_why(
    provider: TracerProvider, exporter: InMemorySpanExporter
) -> None:
    answers = iter([MemoryReply(503), None, MemoryReply(200, b"[]")])

    def flaky(request: PreparedRequest) -> MemoryReply:
        answer = next(answers)
        if answer is None:
            raise SendError(Failure.LOST, "reset")
        return answer

    retry = RetryPolicy(max_attempts=3, initial_backoff=0.001, max_backoff=0.001)
    client, _ = traced_client(provider, flaky, retry=retry)
    async with client:
        await client.devices.list()
    first, second, third = named(exporter, "GET devices.list")
    assert first.attributes is not None
    assert first.attributes["error.type"] == "503"
    assert first.status.status_code is StatusCode.ERROR
    assert second.attributes == {**second.attributes, "error.type": "SendError"}
    assert "http.response.status_code" not in (second.attributes or {})
    assert (third.attributes or {})["http.request.resend_count"] == 2
    assert "error.type" not in (third.attributes or {})


async def test_no_span_ever_shows_a_token_or_the_query(
    provider: TracerProvider, exporter: InMemorySpanExporter
) -> None:
    client, _ = traced_client(
        provider, lambda request: MemoryReply(200, b"data"), downstream_url="http://down.test"
    )
    download = client.stream("data_tokens.download", credential="dl-SECRET-1")
    async with client, download as chunks:
        _ = [chunk async for chunk in chunks]
    text = json.dumps([json.loads(span.to_json()) for span in exporter.get_finished_spans()])
    assert "SECRET" not in text
    assert TOKEN not in text
    (span,) = named(exporter, "GET data_tokens.download")
    assert (span.attributes or {})["server.address"] == "down.test"


# -- one span per command --------------------------------------------------------------------------


async def test_a_polled_command_from_submission_to_settling(
    provider: TracerProvider, exporter: InMemorySpanExporter
) -> None:
    client, _ = traced_client(provider, command_answers())
    async with client:
        result = await (await client.devices.approve("dev-1"))
    span = await ended(exporter, "command devices.approve")
    assert dict(span.attributes or {}) == {
        "privicore.route": "devices.approve",
        "privicore.command.id": "cmd-1",
        "privicore.command.polls": result.polls,
        "privicore.command.settled_by": "poll",
        "privicore.command.outcome": "succeeded",
    }
    assert result.polls >= 1
    (submission,) = named(exporter, "POST devices.approve")
    reads = named(exporter, "POST utility.command_status")
    assert len(reads) == result.polls
    for child in (submission, *reads):
        assert child.parent is not None
        assert child.parent.span_id == span.context.span_id


async def test_a_command_settled_by_its_ack(
    provider: TracerProvider, exporter: InMemorySpanExporter
) -> None:
    socket = MemorySocket()
    socket.push(JOINED)
    client, _ = traced_client(
        provider,
        command_answers(PENDING),
        ws_url="ws://privicore.test/ws",
        sockets=lambda url: socket,
    )
    async with client:
        assert client.acks is not None
        assert await client.acks.wait_joined(1.0)
        handle = await client.devices.approve("dev-1")
        socket.push('{"data": {"type": "X-DPT-CAB-ID", "id": "cmd-1", "command_status": 2}}')
        await handle
    span = await ended(exporter, "command devices.approve")
    assert (span.attributes or {})["privicore.command.settled_by"] == "ack"
    assert (span.attributes or {})["privicore.command.outcome"] == "succeeded"


async def test_an_ack_that_beat_its_202(
    provider: TracerProvider, exporter: InMemorySpanExporter
) -> None:
    socket = MemorySocket()
    socket.push(JOINED)

    async def answer(request: PreparedRequest) -> MemoryReply:
        if request.route == "devices.approve":
            socket.push('{"data": {"type": "X-DPT-CAB-ID", "id": "cmd-1", "command_status": 2}}')
            await asyncio.sleep(0.05)  # the ack is read (and kept) before the 202 comes back
            return MemoryReply(202, b'"cmd-1"')
        return PENDING

    client, _ = traced_client(
        provider, answer, ws_url="ws://privicore.test/ws", sockets=lambda u: socket
    )
    async with client:
        assert client.acks is not None
        assert await client.acks.wait_joined(1.0)
        handle = await client.devices.approve("dev-1")
        assert handle.done()
    span = await ended(exporter, "command devices.approve")
    assert (span.attributes or {})["privicore.command.settled_by"] == "ack"
    assert (span.attributes or {})["privicore.command.polls"] == 0


@pytest.mark.parametrize(
    ("status_reply", "outcome", "error_type"),
    [
        (MemoryReply(200, b'{"command_status": 3, "body": "no"}'), "rejected", "CommandRejected"),
        (PENDING, "timeout", "CommandTimeout"),
    ],
)
async def test_a_command_that_fails(
    provider: TracerProvider,
    exporter: InMemorySpanExporter,
    status_reply: MemoryReply,
    outcome: str,
    error_type: str,
) -> None:
    client, _ = traced_client(provider, command_answers(status_reply))
    async with client:
        handle = await client.devices.approve("dev-1", timeout=0.1)
        with pytest.raises(errors.CommandError):
            await handle
    span = await ended(exporter, "command devices.approve")
    attributes = dict(span.attributes or {})
    assert attributes["privicore.command.outcome"] == outcome
    assert attributes["error.type"] == error_type
    assert span.status.status_code is StatusCode.ERROR
    assert ("privicore.command.settled_by" in attributes) is (outcome == "rejected")


async def test_a_submission_that_fails_ends_its_span_at_once(
    provider: TracerProvider, exporter: InMemorySpanExporter
) -> None:
    client, _ = traced_client(provider, lambda request: MemoryReply(503))
    async with client:
        with pytest.raises(errors.ServerError):
            await client.devices.approve("dev-1")
    span = await ended(exporter, "command devices.approve")
    assert (span.attributes or {})["privicore.command.outcome"] == "failed"
    assert (span.attributes or {})["error.type"] == "ServerError"
    assert "privicore.command.id" not in (span.attributes or {})


async def test_a_command_cancelled_or_left_at_close(
    provider: TracerProvider, exporter: InMemorySpanExporter
) -> None:
    def answer(request: PreparedRequest) -> MemoryReply:
        if request.route in ("devices.approve", "devices.reject"):
            return MemoryReply(202, f'"{request.route}"'.encode())
        return PENDING

    client, _ = traced_client(provider, answer)
    async with client:
        cancelled = await client.devices.approve("dev-1")
        await client.devices.reject("dev-2")
        cancelled.cancel()
    approve = await ended(exporter, "command devices.approve")
    reject = await ended(exporter, "command devices.reject")
    assert (approve.attributes or {})["privicore.command.outcome"] == "cancelled"
    assert (reject.attributes or {})["privicore.command.outcome"] == "closed"
