"""Suite-wide check: every route of the table is put on the wire by at least one test.

Every request the SDK makes goes through ``Transport.request`` or ``Transport.stream``; a
session fixture records the route name of each. When the whole suite runs (no ``-k``, no
``-m``, no narrower paths), the session fails if a route outside the groups still listed in
``tests/test_coverage.py``'s ``NOT_YET`` was never requested, whether through aioresponses or
the sandbox.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from privicore_async.routes import ROUTES
from privicore_async.transport import Transport

REQUESTED: set[str] = set()
_TESTS = Path(__file__).resolve().parent


@pytest.fixture(autouse=True, scope="session")
def _record_requested_routes() -> Iterator[None]:
    original = Transport.request
    original_stream = Transport.stream

    async def recording(self: Transport, route: Any, **kwargs: Any) -> Any:
        REQUESTED.add(route.name)
        return await original(self, route, **kwargs)

    def recording_stream(self: Transport, route: Any, **kwargs: Any) -> Any:
        REQUESTED.add(route.name)
        return original_stream(self, route, **kwargs)

    Transport.request = recording  # type: ignore[method-assign]
    Transport.stream = recording_stream  # type: ignore[method-assign]
    try:
        yield
    finally:
        Transport.request = original  # type: ignore[method-assign]
        Transport.stream = original_stream  # type: ignore[method-assign]


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
    from test_coverage import NOT_YET  # the groups still to be built

    missing = sorted(
        name for name in ROUTES if name.split(".")[0] not in NOT_YET and name not in REQUESTED
    )
    if missing:
        reporter = session.config.pluginmanager.get_plugin("terminalreporter")
        if reporter is not None:
            reporter.write_line(f"routes no test put on the wire: {', '.join(missing)}", red=True)
        session.exitstatus = pytest.ExitCode.TESTS_FAILED
