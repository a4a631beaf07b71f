"""A pytest plugin: test your own code against an embedded Privicore sandbox.

Installed with the package (entry point ``pytest11: privicore``), so there is nothing to
enable. Fixtures, each fresh per test and closed after it, even when the test fails:

- ``privicore_sandbox``: a started :class:`~privicore_async.sandbox.Sandbox` on loopback with
  one seeded user and three approved, online storage devices;
- ``privicore_user``: that user (a :class:`~privicore_async.sandbox.seeding.SeededUser`:
  ``username``, ``password``, ``profile_id``, ``device_ids``), the first of ``users=``;
- ``privicore_client``: a :class:`~privicore_async.PrivicoreClient` logged in as that user,
  given every URL explicitly (no ``PRIVICORE_*`` variable redirects it), with fast polls.

``@pytest.mark.privicore_sandbox(**kwargs)`` gives a test (class, module) other ``Sandbox``
keywords, e.g. ``latency=0.5``, ``devices=10``, ``users={"a": "pw"}``, ``faults=Faults(...)``;
``--privicore-latency SECONDS`` and ``--privicore-devices N`` (or the ini options
``privicore_latency``, ``privicore_devices``) change the run's defaults. The marker wins over
the options, the options over the defaults (:mod:`.options`, :mod:`.marker`).

The fixtures are async and need pytest-asyncio (the ``test`` extra); they work in its strict
and auto modes and run in the event loop ``asyncio_default_fixture_loop_scope`` selects, which
must be the loop of your tests (``function`` for both is the default). Without pytest-asyncio
the plugin still loads, silently; a test that asks for a fixture fails saying what to install.
"""

from __future__ import annotations

import sys
from collections.abc import AsyncIterator, Callable
from typing import TYPE_CHECKING, Any, TypeVar, cast

import pytest

from .marker import MARKER, MARKER_HELP, build_sandbox, marked_kwargs
from .options import RUN_DEFAULTS, add_options, read_run_defaults

if TYPE_CHECKING:
    from ..client import PrivicoreClient
    from ..sandbox import Sandbox
    from ..sandbox.seeding import SeededUser

__all__ = [
    "FAST_POLL",
    "FAST_RETRY",
    "NEEDS_PYTEST_ASYNCIO",
    "privicore_client",
    "privicore_sandbox",
    "privicore_user",
    "sandbox_client",
]

NEEDS_PYTEST_ASYNCIO = (
    "the privicore_* fixtures are async and need the pytest-asyncio plugin: "
    "pip install pytest-asyncio (or the test extra: pip install 'privicore-async[test]')"
)

_Fixture = TypeVar("_Fixture", bound=Callable[..., object])


def pytest_addoption(parser: pytest.Parser) -> None:
    """Add ``--privicore-latency``/``--privicore-devices`` and their ini options."""
    add_options(parser)


def pytest_configure(config: pytest.Config) -> None:
    """Register the marker (``--strict-markers`` runs accept it); read the run's defaults."""
    config.addinivalue_line("markers", MARKER_HELP)
    config.stash[RUN_DEFAULTS] = read_run_defaults(config)


def asyncio_fixture_decorator() -> Callable[[_Fixture], _Fixture]:
    """``pytest_asyncio.fixture``, or ``pytest.fixture`` when pytest-asyncio is not importable.

    The plugin is loaded into every pytest run where the package is installed, so it must load
    without pytest-asyncio; its fixtures then fail at setup (``_privicore_needs_asyncio``).
    """
    try:
        import pytest_asyncio
    except ImportError:
        return cast("Callable[[_Fixture], _Fixture]", pytest.fixture)
    return cast("Callable[[_Fixture], _Fixture]", pytest_asyncio.fixture)


def asyncio_plugin_active(config: pytest.Config) -> bool:
    """True when pytest-asyncio's plugin runs in this session (installed and not ``-p no:``)."""
    plugin = sys.modules.get("pytest_asyncio.plugin")
    return plugin is not None and config.pluginmanager.is_registered(plugin)


_asyncio_fixture = asyncio_fixture_decorator()


@pytest.fixture
def _privicore_needs_asyncio(request: pytest.FixtureRequest) -> None:
    # Set up before the async fixtures that need it: without pytest-asyncio they would never
    # run, and pytest's own message would not say what to install.
    if not asyncio_plugin_active(request.config):
        pytest.fail(NEEDS_PYTEST_ASYNCIO, pytrace=False)


@_asyncio_fixture
async def privicore_sandbox(
    request: pytest.FixtureRequest, _privicore_needs_asyncio: None
) -> AsyncIterator[Sandbox]:
    """A started in-process Privicore sandbox, closed after the test.

    One seeded user (``privicore_user``) with three approved, online storage devices and a
    latency of 0.05 s, unless ``@pytest.mark.privicore_sandbox(...)`` or the
    ``--privicore-*`` options say otherwise.
    """
    defaults = request.config.stash[RUN_DEFAULTS].sandbox_kwargs()
    sandbox = build_sandbox(defaults, marked_kwargs(request.node))
    try:
        await sandbox.start()
        yield sandbox
    finally:
        await sandbox.close()  # also after a failed start: it stops what did start


@pytest.fixture
def privicore_user(privicore_sandbox: Sandbox) -> SeededUser:
    """The sandbox's seeded user (the first of ``users=``): username, password, device ids."""
    users = list(privicore_sandbox.seeded.values())
    if not users:
        pytest.fail(
            f"privicore_user: this test's sandbox seeds no user "
            f"(its @pytest.mark.{MARKER} gives users={{}} or None)",
            pytrace=False,
        )
    return users[0]


@_asyncio_fixture
async def privicore_client(
    privicore_sandbox: Sandbox, privicore_user: SeededUser
) -> AsyncIterator[PrivicoreClient]:
    """A client of ``privicore_sandbox`` logged in as ``privicore_user``, closed after the test.

    Every URL (API, WebSocket, upstream, downstream) and credential is explicit, so a
    ``PRIVICORE_*`` environment never redirects it; it polls every 10-100 ms and gives a
    command 10 s. Build more clients with :func:`sandbox_client`.
    """
    # Imported here, not with the plugin, which pytest loads into every run (see __getattr__).
    from .clients import sandbox_client

    async with sandbox_client(privicore_sandbox, privicore_user) as client:
        yield client


def __getattr__(name: str) -> Any:
    # The client helpers import the whole client: only on first use, so that merely having
    # the package installed costs a pytest run nothing measurable.
    if name in ("FAST_POLL", "FAST_RETRY", "sandbox_client"):
        from . import clients

        return getattr(clients, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
