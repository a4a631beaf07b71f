"""Suite-wide check: every route of the table is put on the wire by at least one test.

Every client the suite builds sends through a :class:`~privicore_async.http.RecordingSender`
wrapped around its aiohttp sender, which records the route name of each request. When the
whole suite runs (no ``-k``, no ``-m``, no narrower paths), the session fails if a route was
never requested, whether through aioresponses or the sandbox.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import redis.asyncio

import privicore_async.client as client_module
from privicore_async.http import AiohttpSender, PreparedRequest, RecordingSender
from privicore_async.routes import ROUTES
from tests.redis_server import redis_server
from tests.timeouts import pytest_timeout_cancel_timer, pytest_timeout_set_timer

__all__ = ["pytest_timeout_cancel_timer", "pytest_timeout_set_timer"]  # hooks, found by name

REQUESTED: set[str] = set()
_TESTS = Path(__file__).resolve().parent


def _record(request: PreparedRequest) -> None:
    REQUESTED.add(request.route)


def _recording_sender(**kwargs: Any) -> RecordingSender:
    return RecordingSender(AiohttpSender(**kwargs), _record)


@pytest.fixture(scope="session")
def redis_url() -> Iterator[str]:
    """A real redis-server of this test session (see tests/redis_server.py)."""
    with redis_server() as url:
        yield url


@pytest.fixture
async def redis_clean(redis_url: str) -> str:
    """``redis_url``, emptied before the test (tests share one server)."""
    client = redis.asyncio.Redis.from_url(redis_url)
    try:
        await client.flushall()
    finally:
        await client.aclose()
    return redis_url


@pytest.fixture(autouse=True, scope="session")
def _record_requested_routes() -> Iterator[None]:
    # The client builds its default sender by this name: every client of the suite records.
    original = client_module.AiohttpSender
    client_module.AiohttpSender = _recording_sender  # type: ignore[assignment,misc]
    try:
        yield
    finally:
        client_module.AiohttpSender = original  # type: ignore[misc]


def _whole_suite(config: pytest.Config) -> bool:
    option = config.option
    if option.keyword or option.markexpr or getattr(option, "lf", False):
        return False
    paths = {Path(arg.split("::")[0]).resolve() for arg in config.args}
    return paths == {_TESTS}


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    """Fail a whole-suite run that left some route without any test on the wire."""
    if exitstatus != 0 or not _whole_suite(session.config):
        return
    missing = sorted(name for name in ROUTES if name not in REQUESTED)
    if missing:
        reporter = session.config.pluginmanager.get_plugin("terminalreporter")
        if reporter is not None:
            reporter.write_line(f"routes no test put on the wire: {', '.join(missing)}", red=True)
        session.exitstatus = pytest.ExitCode.TESTS_FAILED
