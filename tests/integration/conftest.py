"""Shared fixtures of the integration tests: a real sandbox on loopback and real clients.

Every test talks HTTP over 127.0.0.1 to an embedded :class:`Sandbox`; nothing is mocked.
Commands settle after ``LATENCY`` seconds and clients poll fast, so a flow of a few commands
takes a fraction of a second. Assertions look at the SDK's answers *and* at what the sandbox
saw (``sb.state``, ``sb.stats``), so a test cannot pass on a request that never arrived.
"""

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import AsyncIterator, Callable
from typing import Any

import aiohttp
import attrs
import pytest
from yarl import URL

from privicore_async import PrivicoreClient
from privicore_async.sandbox import Sandbox
from privicore_async.sandbox.state import DeviceStatus
from privicore_async.testing import clients as testing_clients

LATENCY = 0.05
PASSWORD = "correct horse battery staple"

# The policies the pytest plugin's clients use: fast polls, real retry rules, short waits.
FAST_POLL = testing_clients.FAST_POLL
FAST_RETRY = testing_clients.FAST_RETRY


def make_client(sb: Sandbox, **kwargs: Any) -> PrivicoreClient:
    """A client of ``sb`` with the fast policies (any argument can be overridden)."""
    kwargs.setdefault("poll", FAST_POLL)
    kwargs.setdefault("retry", FAST_RETRY)
    return PrivicoreClient(sb.api_url, **kwargs)


def unique_username(prefix: str = "user") -> str:
    return f"{prefix}-{uuid.uuid4().hex[:12]}"


async def register_profile(sb: Sandbox, username: str, password: str = PASSWORD) -> str:
    """Register a profile through the SDK (no credentials needed); returns its profile id."""
    async with make_client(sb) as anonymous:
        handle = await anonymous.profile.register(username, password)
        await handle
    profile = sb.state.profile_by_username(username)
    assert profile is not None
    return profile.profile_id


async def onboard_storage(client: PrivicoreClient, n: int, prefix: str = "dev") -> list[str]:
    """Onboard ``n`` devices concurrently and give each the storage role; their identifiers."""
    identifiers = await onboard(client, n, prefix)
    handles = await asyncio.gather(*(client.storage.register(i) for i in identifiers))
    await asyncio.gather(*handles)
    return identifiers


async def onboard(client: PrivicoreClient, n: int, prefix: str = "dev") -> list[str]:
    """Onboard (request → approve) ``n`` devices concurrently; their identifiers, in order."""
    return list(await asyncio.gather(*(client.devices.onboard(f"{prefix}-{i}") for i in range(n))))


async def eventually(predicate: Callable[[], bool], timeout: float = 5.0) -> None:
    """Wait until ``predicate()`` holds (checked every 10 ms); fail after ``timeout``."""
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            pytest.fail(f"condition not met within {timeout}s")
        await asyncio.sleep(0.01)


def auth_requests(sb: Sandbox) -> int:
    return sb.stats.requests["profile.authenticate"]


def assert_approved_storage(sb: Sandbox, identifiers: list[str]) -> None:
    for identifier in identifiers:
        device = sb.state.devices[identifier]
        assert device.status is DeviceStatus.APPROVED
        assert device.storage is not None


@attrs.define
class Provisioned:
    """A client logged in as a freshly registered profile, with what the test needs to know."""

    sb: Sandbox
    client: PrivicoreClient
    username: str
    password: str
    profile_id: str


LEGACY_STATUS = pytest.mark.sandbox_options(status_shape="object")
"""For tests that read a rejection's reason by polling: only the legacy status object carries
it (the real server's bare status word does not; there the reason comes with the pushed ack)."""


@pytest.fixture
async def sandbox(request: pytest.FixtureRequest) -> AsyncIterator[Sandbox]:
    """A sandbox with the real server's wire (its defaults), unless the test asks otherwise
    with ``@pytest.mark.sandbox_options(...)``."""
    marker = request.node.get_closest_marker("sandbox_options")
    options: dict[str, Any] = {"latency": LATENCY, "seed": 1, **(marker.kwargs if marker else {})}
    async with Sandbox(**options) as sb:
        yield sb


@pytest.fixture
async def provisioned(sandbox: Sandbox) -> AsyncIterator[Provisioned]:
    username = unique_username()
    profile_id = await register_profile(sandbox, username)
    async with make_client(sandbox, username=username, password=PASSWORD) as client:
        await client.profile.authenticate()
        yield Provisioned(sandbox, client, username, PASSWORD, profile_id)


@pytest.fixture
async def client(provisioned: Provisioned) -> PrivicoreClient:
    return provisioned.client


# -- seeing the requests a client really sent (aiohttp tracing on an injected session) -----


@attrs.frozen
class Sent:
    """One request as the client's session saw it: method, raw path, status (None: no answer)."""

    method: str
    path: str
    status: int | None
    started: float
    ended: float


@attrs.define
class RequestLog:
    """Records every request of a session through ``aiohttp.TraceConfig``."""

    sent: list[Sent] = attrs.field(factory=list)
    _starts: dict[int, float] = attrs.field(factory=dict)

    def trace_config(self) -> aiohttp.TraceConfig:
        config = aiohttp.TraceConfig()
        config.on_request_start.append(self._on_start)
        config.on_request_end.append(self._on_end)
        config.on_request_exception.append(self._on_exception)
        return config

    async def _on_start(self, session: object, ctx: Any, params: Any) -> None:
        self._starts[id(ctx)] = time.monotonic()

    def _add(self, ctx: Any, method: str, url: URL, status: int | None) -> None:
        started = self._starts.pop(id(ctx), time.monotonic())
        self.sent.append(Sent(method, url.raw_path, status, started, time.monotonic()))

    async def _on_end(self, session: object, ctx: Any, params: Any) -> None:
        self._add(ctx, params.method, params.url, params.response.status)

    async def _on_exception(self, session: object, ctx: Any, params: Any) -> None:
        self._add(ctx, params.method, params.url, None)

    def to(self, prefix: str, method: str | None = None) -> list[Sent]:
        return [
            s
            for s in self.sent
            if s.path.startswith(prefix) and (method is None or s.method == method)
        ]


@pytest.fixture
async def traced_session() -> AsyncIterator[tuple[aiohttp.ClientSession, RequestLog]]:
    """An injected session whose requests are recorded; closed by the fixture, not the client."""
    log = RequestLog()
    async with aiohttp.ClientSession(trace_configs=[log.trace_config()]) as session:
        yield session, log


@pytest.fixture(autouse=True)
def _no_credentials_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    """The client falls back to PRIVICORE_* variables: a developer's shell must not leak in."""
    for name in (
        "PRIVICORE_API_URL",
        "PRIVICORE_WS_URL",
        "PRIVICORE_USERNAME",
        "PRIVICORE_PASSWORD",
    ):
        monkeypatch.delenv(name, raising=False)
