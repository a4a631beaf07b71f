"""Streaming on the wire: ``Transport.stream``, ``PrivicoreClient.stream`` and
``DataTokens.download_stream`` (chunks as they arrive, the error mapping and redaction of
``request``, no retry once the request may have reached the server), and uploads of async
iterables sent with chunked transfer encoding. HTTP is mocked with aioresponses, except where
a header only a real server sees is checked (a tiny aiohttp server on loopback)."""

from __future__ import annotations

import hashlib
import logging
import re
from collections.abc import AsyncIterator
from typing import Any

import aiohttp
import pytest
from aiohttp import web

from privicore_async import PollPolicy, PrivicoreClient, RetryPolicy, errors
from privicore_async.auth import AuthToken
from tests.wire_mock import API, all_calls, mock_http

TOKEN = "T-profile-token"
DOWN = "http://downstream.test"
SECRET = "DS-secret/+="


def make_client(**kwargs: Any) -> PrivicoreClient:
    kwargs.setdefault("token", TOKEN)
    kwargs.setdefault("poll", PollPolicy(initial_delay=0.0, min_interval=0.01, timeout=5))
    kwargs.setdefault("retry", RetryPolicy(max_attempts=3, initial_backoff=0.001))
    kwargs.setdefault("downstream_url", DOWN)
    return PrivicoreClient(api_url=API, **kwargs)


def any_query(base: str, path: str = "/") -> re.Pattern[str]:
    return re.compile(re.escape(base + path) + r"(\?.*)?$")


async def collect(chunks: AsyncIterator[bytes]) -> list[bytes]:
    return [chunk async for chunk in chunks]


async def test_download_stream_yields_the_body_in_chunks() -> None:
    # 100 000 bytes, not UTF-8 (aioresponses feeds the body at once: stay under the reader's
    # high-water mark, which a real connection would simply pause at)
    body = bytes(range(256)) * 390 + bytes(160)
    with mock_http() as m:
        m.get(any_query(DOWN), body=body, content_type="application/octet-stream")
        async with (
            make_client() as c,
            c.data_tokens.download_stream(SECRET, chunk_size=16 * 1024) as chunks,
        ):
            received = await collect(chunks)
    assert b"".join(received) == body
    assert len(received) >= len(body) // (16 * 1024)
    assert all(0 < len(chunk) <= 16 * 1024 for chunk in received)
    assert [method for method, _ in all_calls(m)] == ["GET"]


async def test_download_stream_full_link_and_download_joins_it() -> None:
    body = b"\x00\xff" * 5000
    with mock_http() as m:
        m.get(any_query("http://dl-1.test:8011"), body=body)
        async with make_client(downstream_url=None) as c:
            assert await c.data_tokens.download("http://dl-1.test:8011/?auth=DS-1") == body


@pytest.mark.parametrize(
    ("status", "error"),
    [(401, errors.AuthenticationError), (404, errors.NotFoundError), (503, errors.ServerError)],
)
async def test_download_stream_maps_error_statuses_and_redacts_the_token(
    status: int, error: type[errors.APIError], caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG, logger="privicore_async")
    with mock_http() as m:
        m.get(any_query(DOWN), status=status, payload={"message": "no"})
        async with make_client() as c:
            with pytest.raises(error) as info:
                async with c.data_tokens.download_stream(SECRET) as chunks:
                    await collect(chunks)
    assert info.value.status == status
    assert info.value.body == {"message": "no"}
    assert len(all_calls(m)) == 1  # single-use token: an answered request is final
    for text in (str(info.value), repr(info.value), caplog.text):
        assert SECRET not in text
        assert "DS-secret%2F%2B%3D" not in text


async def test_download_stream_never_repeats_a_request_that_may_have_arrived(
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.DEBUG, logger="privicore_async")
    with mock_http() as m:
        m.get(
            any_query(DOWN),
            exception=aiohttp.ServerDisconnectedError(f"gone {DOWN}/?auth={SECRET}"),
        )
        m.get(any_query(DOWN), body=b"never")
        async with make_client() as c:
            with pytest.raises(errors.TransportError) as info:
                async with c.data_tokens.download_stream(SECRET):
                    pass
    assert len(all_calls(m)) == 1
    assert SECRET not in str(info.value)
    assert SECRET not in caplog.text


async def test_download_stream_repeats_a_request_that_failed_to_connect() -> None:
    with mock_http() as m:
        m.get(any_query(DOWN), exception=aiohttp.ConnectionTimeoutError())
        m.get(any_query(DOWN), body=b"payload")
        async with make_client() as c, c.data_tokens.download_stream(SECRET) as chunks:
            assert b"".join(await collect(chunks)) == b"payload"
    assert len(all_calls(m)) == 2


async def test_download_stream_refuses_bad_arguments_and_sends_nothing() -> None:
    with mock_http() as m:
        async with make_client() as c:
            for link in ("", "DS 1", "https://dl.test/?auth="):
                with pytest.raises(errors.InvalidArgumentError) as info:
                    async with c.data_tokens.download_stream(link):
                        pass
                assert info.value.argument == "link"
            with pytest.raises(errors.InvalidArgumentError) as info:
                async with c.data_tokens.download_stream(SECRET, chunk_size=0):
                    pass
            assert info.value.argument == "chunk_size"
    assert all_calls(m) == []


async def test_client_stream_on_a_token_route_reauthenticates_once_after_a_401() -> None:
    path = "/data-token/list-data-tokens"
    with mock_http() as m:
        m.get(any_query(API, path), status=401, payload={"message": "expired"})
        m.post(API + "/profile/authenticate", payload={"authorizationToken": "T-new"})
        m.get(any_query(API, path), body=b'{"items": []}')
        async with make_client(token="T-old", username="alice", password="pw") as c:
            async with c.stream("data_tokens.list") as chunks:
                assert b"".join(await collect(chunks)) == b'{"items": []}'
            assert c.tokens.current == AuthToken("T-new")
    sent = [
        (call.kwargs.get("headers") or {}).get("X-DPT-AUTHORIZATION")
        for (method, _), recorded in m.requests.items()
        if method == "GET"
        for call in recorded
    ]
    assert sent == ["T-old", "T-new"]


# -- uploads of async iterables: chunked transfer encoding, never buffered ----------------------


async def test_upload_of_an_async_generator_uses_chunked_transfer_encoding() -> None:
    seen: dict[str, Any] = {}

    async def receive(request: web.Request) -> web.Response:
        seen["transfer-encoding"] = request.headers.get("Transfer-Encoding")
        seen["content-length"] = request.headers.get("Content-Length")
        digest = hashlib.sha256()
        async for chunk in request.content.iter_chunked(64 * 1024):
            digest.update(chunk)
        seen["sha256"] = digest.hexdigest()
        return web.json_response({"message": "Stream received"})

    app = web.Application()
    app.router.add_post("/", receive)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    try:
        site = web.TCPSite(runner, "127.0.0.1", 0)
        await site.start()
        port = runner.addresses[0][1]
        block = bytes(range(256)) * 256  # 64 KiB
        expected = hashlib.sha256(block * 16).hexdigest()

        async def body() -> AsyncIterator[bytes]:
            for _ in range(16):
                yield block

        async with make_client(upstream_url=f"http://127.0.0.1:{port}") as c:
            await c.data_tokens.upload("ST-1", body())
    finally:
        await runner.cleanup()
    assert seen == {"transfer-encoding": "chunked", "content-length": None, "sha256": expected}
