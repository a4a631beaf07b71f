"""raw_response.py: the HTTP answer behind a method's result (client.with_raw_response)."""

from __future__ import annotations

import asyncio
import json
from typing import Any

import pytest

from privicore_async import CommandHandle, PrivicoreClient, errors
from privicore_async.http import MemoryReply, MemorySender, PreparedRequest
from privicore_async.models import Device
from privicore_async.raw_response import RawResponse
from tests.client_helpers import QUIET, TOKEN
from tests.wire_mock import API

DEVICES = [{"deviceIdentifier": "dev-1", "name": "Kitchen"}]


def answer(request: PreparedRequest) -> MemoryReply:
    if request.route == "devices.approve":
        return MemoryReply(202, b'"cmd-1"', {"X-DPT-CAB-REQUEST-ID": "req-202"})
    if request.route == "utility.command_status":
        return MemoryReply(200, b'"started"')
    return MemoryReply(
        200,
        json.dumps(DEVICES).encode(),
        {"Content-Type": "application/json", "x-dpt-cab-request-id": "req-1", "X-Other": "o"},
    )


def memory_client(**kwargs: Any) -> tuple[PrivicoreClient, MemorySender]:
    sender = MemorySender(kwargs.pop("handler", answer))
    client = PrivicoreClient(API, token=TOKEN, poll=QUIET, sender=sender, env=False, **kwargs)
    return client, sender


async def test_a_resource_method_gives_its_answer_and_its_usual_result() -> None:
    client, _ = memory_client()
    async with client:
        raw = await client.with_raw_response(client.devices.list)()
        usual = await client.devices.list()
    assert isinstance(raw, RawResponse)
    assert raw.status == 200
    assert raw.request_id == "req-1"
    assert raw.headers["x-other"] == "o"  # case-insensitive, as sent
    assert raw.route == "devices.list"
    assert raw.parsed == usual
    assert all(isinstance(device, Device) for device in raw.parsed)


async def test_a_command_gives_its_202_and_its_handle() -> None:
    client, _ = memory_client()
    async with client:
        raw = await client.with_raw_response(client.devices.approve)("dev-1")
    assert raw.status == 202
    assert raw.request_id == "req-202"
    assert isinstance(raw.parsed, CommandHandle)
    assert raw.parsed.command_id == "cmd-1"


async def test_plain_calls_and_views_are_wrapped_alike() -> None:
    client, sender = memory_client()
    async with client:
        view = client.with_options(extra_headers={"X-Tenant": "t"})
        raw = await client.with_raw_response(view.call)("devices.list")
        also = await view.with_raw_response(view.devices.list)()
    assert raw.parsed.body == DEVICES  # call() returns the WireResponse itself
    assert also.route == "devices.list"
    assert all(request.headers["X-Tenant"] == "t" for request in sender.requests)


async def test_errors_pass_through_unchanged() -> None:
    client, _ = memory_client(handler=lambda request: MemoryReply(404))
    async with client:
        with pytest.raises(errors.NotFoundError):
            await client.with_raw_response(client.devices.list)()


async def test_a_method_that_sent_nothing_has_no_answer_to_show() -> None:
    client, _ = memory_client()

    async def local() -> int:
        return 1

    async with client:
        with pytest.raises(errors.PrivicoreError, match="no HTTP answer"):
            await client.with_raw_response(local)()


async def test_only_the_wrapped_methods_own_task_is_caught() -> None:
    release = asyncio.Event()

    async def slow(request: PreparedRequest) -> MemoryReply:
        if request.route == "devices.list":
            await release.wait()
            return answer(request)
        return MemoryReply(200, b'{"status": "ok"}', {"x-dpt-cab-request-id": "req-health"})

    client, _ = memory_client(handler=slow)
    async with client:

        async def list_and_meanwhile_health() -> list[Device]:
            # A task started inside the wrapped method copies its context: not caught.
            other = asyncio.create_task(client.call("utility.health"))
            await asyncio.sleep(0)
            devices = await client.devices.list()
            await other
            return devices

        wrapped = asyncio.create_task(client.with_raw_response(list_and_meanwhile_health)())
        await asyncio.sleep(0.01)
        await client.call("utility.health")  # and another task's call meanwhile
        release.set()
        raw = await wrapped
    assert raw.route == "devices.list"
    assert raw.request_id == "req-1"


def test_the_repr_shows_neither_headers_nor_the_result() -> None:
    raw = RawResponse(200, {"Set-Cookie": "s=secret"}, "req-1", "profile.authenticate", "token")
    assert "secret" not in repr(raw)
    assert "token" not in repr(raw).replace("profile.authenticate", "")
    assert "req-1" in repr(raw)
