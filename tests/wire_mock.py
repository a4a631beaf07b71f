"""Helpers for the aioresponses-based unit tests: a compatible mock, and readers of recorded calls.

aioresponses 0.7.9 (the newest release) builds ``aiohttp.ClientResponse`` without the
``stream_writer`` argument that aiohttp 3.14 made required, so every mocked answer fails with a
``TypeError`` (pnuckowski/aioresponses#289, fix proposed in #288). :func:`mock_http` patches in
a response class that supplies it, only when the installed aiohttp needs it, and undoes the
patch afterwards.
"""

from __future__ import annotations

import contextlib
import inspect
import json
from collections.abc import Iterator
from types import SimpleNamespace
from typing import Any
from urllib.parse import parse_qsl

import aioresponses.core as aioresponses_core
from aiohttp import ClientResponse
from aioresponses import aioresponses
from yarl import URL

API = "http://privicore.test"

_NEEDS_STREAM_WRITER = "stream_writer" in inspect.signature(ClientResponse.__init__).parameters


class _CompatResponse(ClientResponse):
    def __init__(self, method: str, url: URL, **kwargs: Any) -> None:
        # The request was "already sent" (writer=None): only output_size is read from it.
        kwargs.setdefault("stream_writer", SimpleNamespace(output_size=0))
        super().__init__(method, url, **kwargs)


@contextlib.contextmanager
def mock_http() -> Iterator[aioresponses]:
    """``aioresponses()`` that works with the installed aiohttp."""
    original = aioresponses_core.ClientResponse
    if _NEEDS_STREAM_WRITER:
        aioresponses_core.ClientResponse = _CompatResponse  # type: ignore[misc]
    try:
        with aioresponses() as mocked:
            yield mocked
    finally:
        aioresponses_core.ClientResponse = original  # type: ignore[misc]


def url(path: str, base: str = API) -> URL:
    """The key aioresponses records a request under (``path`` already percent-encoded)."""
    return URL(base + path, encoded=True)


def calls(mocked: aioresponses, method: str, path: str, base: str = API) -> list[Any]:
    """The recorded calls of one method and (encoded) path, possibly with a query string."""
    return list(mocked.requests.get((method, url(path, base)), []))


def all_calls(mocked: aioresponses) -> list[tuple[str, str]]:
    """(method, raw path + query) of every recorded request, one entry per call."""
    return [
        (method, target.raw_path_qs)
        for (method, target), recorded in mocked.requests.items()
        for _ in recorded
    ]


def count(mocked: aioresponses, method: str, path: str, base: str = API) -> int:
    return len(calls(mocked, method, path, base))


def raw_body(call: Any) -> bytes | None:
    """The request body as bytes (the transport sends bytes or an aiohttp BytesPayload)."""
    data = call.kwargs.get("data")
    if data is None or isinstance(data, bytes):
        return data
    value = getattr(data, "_value", None)
    if isinstance(value, bytes):
        return value
    raise AssertionError(f"unexpected request body {data!r}")


def form(call: Any) -> dict[str, str]:
    """The form-urlencoded body as a dict (asserts no key repeats)."""
    body = raw_body(call)
    assert body is not None, "expected a form body"
    pairs = parse_qsl(body.decode(), keep_blank_values=True, strict_parsing=bool(body))
    result = dict(pairs)
    assert len(result) == len(pairs), f"repeated form keys in {pairs}"
    return result


def json_body(call: Any) -> Any:
    body = raw_body(call)
    assert body is not None, "expected a JSON body"
    return json.loads(body)


def headers(call: Any) -> dict[str, str]:
    """The request headers, keys lower-cased."""
    return {str(k).lower(): str(v) for k, v in (call.kwargs.get("headers") or {}).items()}
