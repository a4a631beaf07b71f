"""The pytest plugin of :mod:`privicore_async.testing`, used the way a user's project uses it.

Each test writes a user's test module into a fresh directory and runs pytest on it in a new
process, so the plugin loads through its installed ``pytest11`` entry point, as in a project
that merely installed the package. The runs use ``-W error``: an unclosed session or a
"Task was destroyed" reported at teardown fails them. Subprocesses are slow, so each run checks
several things at once.
"""

from __future__ import annotations

import subprocess
import sys
from string import Template

import pytest

from privicore_async.testing import asyncio_fixture_decorator

pytest_plugins = ["pytester"]

INI = """\
[pytest]
asyncio_default_fixture_loop_scope = function
privicore_devices = 4
"""
"""A user's pytest.ini: the ini option sets the run's device count (the command line wins)."""

USER_TESTS = Template("""\
import asyncio
import gc
import json
import socket
from pathlib import Path
from urllib.parse import urlsplit

import pytest
import pytest_asyncio

from privicore_async import CommandStatus, gather

PORTS = Path("ports.txt")


@pytest_asyncio.fixture(autouse=True)
async def nothing_left_running():
    # Autouse: set up before the privicore_* fixtures, so torn down after them.
    yield
    gc.collect()
    left = asyncio.all_tasks() - {asyncio.current_task()}
    assert not left, left


@pytest.fixture
def record_ports(privicore_sandbox):
    with PORTS.open("a") as out:
        for url in (privicore_sandbox.api_url, privicore_sandbox.ws_url,
                    privicore_sandbox.upstream_url, privicore_sandbox.downstream_url):
            out.write(url + "\\n")


$mark
async def test_the_client_syncs_the_seeded_devices(
    privicore_client, privicore_user, privicore_sandbox
):
    assert privicore_sandbox.latency == $latency
    assert len(privicore_user.device_ids) == $devices
    # The PRIVICORE_* variables of the environment point elsewhere: ignored.
    assert privicore_client.api_url == privicore_sandbox.api_url
    assert privicore_client.ws_url == privicore_sandbox.ws_url
    handles = [await privicore_client.storage.sync_device(d) for d in privicore_user.device_ids]
    results = await gather(*handles)
    assert [r.status for r in results] == [CommandStatus.SUCCEEDED] * $devices
    assert privicore_sandbox.stats.commands_succeeded == $devices


@pytest.mark.privicore_sandbox(latency=0.3, devices=5)
class TestTheMarker:
    $mark
    @pytest.mark.privicore_sandbox(users={"alice": "pw-a", "bob": "pw-b"}, devices=1)
    async def test_overrides_the_class_marker_key_by_key(
        self, privicore_sandbox, privicore_user, privicore_client
    ):
        assert privicore_sandbox.latency == 0.3
        assert list(privicore_sandbox.seeded) == ["alice", "bob"]
        assert privicore_user.username == "alice"
        listed = await privicore_client.devices.list()
        assert [d.device_identifier for d in listed] == list(privicore_user.device_ids)
        assert len(privicore_user.device_ids) == 1


$mark
async def test_fails_with_everything_open(record_ports, privicore_client, privicore_sandbox):
    await privicore_client.devices.list()
    privicore_sandbox.inject("profile.authenticate", "slow", delay=5)  # a request in flight
    asyncio.get_running_loop().create_task(privicore_client.devices.list())
    await asyncio.sleep(0.05)
    raise AssertionError("fails on purpose")


$mark
@pytest.mark.privicore_sandbox(users={})
async def test_without_a_seeded_user_gets_no_client(record_ports, privicore_client):
    raise AssertionError("never runs: the client fixture fails")


$mark
@pytest.mark.privicore_sandbox(devcies=2)
async def test_a_misspelt_marker_argument(privicore_sandbox):
    raise AssertionError("never runs")


$mark
@pytest.mark.privicore_sandbox(devices=-1, latency=0.1)
async def test_a_refused_marker_argument(privicore_sandbox):
    raise AssertionError("never runs")


def test_then_every_port_of_those_sandboxes_is_closed():
    urls = PORTS.read_text().split()
    assert len(urls) == 8
    for url in urls:
        parts = urlsplit(url)
        with pytest.raises(ConnectionRefusedError):
            socket.create_connection((parts.hostname, parts.port), timeout=2).close()
""")


@pytest.mark.parametrize(
    ("mode", "options", "latency", "devices"),
    [
        # The command line wins over the ini file's privicore_devices = 4.
        ("strict", ["--privicore-latency", "0.02", "--privicore-devices", "2"], 0.02, 2),
        ("auto", [], 0.05, 4),  # the ini option over the plugin's default (3)
    ],
    ids=["strict-command-line", "auto-ini"],
)
def test_a_users_tests_run_against_a_fresh_sandbox_each(
    pytester: pytest.Pytester,
    monkeypatch: pytest.MonkeyPatch,
    mode: str,
    options: list[str],
    latency: float,
    devices: int,
) -> None:
    for name in ("API_URL", "UPSTREAM_URL", "DOWNSTREAM_URL"):
        monkeypatch.setenv(f"PRIVICORE_{name}", "http://elsewhere.invalid")
    monkeypatch.setenv("PRIVICORE_WS_URL", "ws://elsewhere.invalid")
    monkeypatch.setenv("PRIVICORE_USERNAME", "someone-else")
    monkeypatch.setenv("PRIVICORE_PASSWORD", "not-the-sandbox-password")
    pytester.makeini(INI)
    # In auto mode the user's async tests carry no marker at all.
    mark = "@pytest.mark.asyncio" if mode == "strict" else ""
    pytester.makepyfile(
        test_user=USER_TESTS.substitute(mark=mark, latency=latency, devices=devices)
    )
    result = pytester.runpytest_subprocess(
        "-W", "error", "-p", "no:cacheprovider", "--strict-markers", "-o",
        f"asyncio_mode={mode}", *options, timeout=60,
    )  # fmt: skip
    result.assert_outcomes(passed=3, failed=1, errors=3)
    result.stdout.fnmatch_lines_random(
        [
            "*AssertionError: fails on purpose*",
            "*privicore_user: this test's sandbox seeds no user*",
            "*@pytest.mark.privicore_sandbox: Sandbox takes no argument 'devcies'*",
            "*@pytest.mark.privicore_sandbox(devices=-1): bad argument 'devices': "
            "ValueError: devices: a count >= 0, not -1*",
        ]
    )
    result.stdout.no_fnmatch_line("*never runs*")
    result.stdout.no_fnmatch_line("*at teardown*")  # nothing_left_running found nothing


def test_the_plugin_loads_quietly_without_pytest_asyncio(pytester: pytest.Pytester) -> None:
    # The working directory comes first on the subprocess's import path: this module hides
    # the installed pytest-asyncio from the plugin; -p no:asyncio keeps pytest from loading it.
    pytester.makepyfile(pytest_asyncio="raise ImportError('pytest-asyncio is not installed')")
    pytester.makepyfile(
        test_user="""
        import sys

        def test_the_plugin_is_loaded_and_cheap(pytestconfig):
            assert pytestconfig.pluginmanager.has_plugin("privicore")
            assert "privicore_async.sandbox" not in sys.modules  # imported on first use only

        def test_a_fixture_says_what_to_install(privicore_client):
            raise AssertionError("never runs")
        """
    )
    result = pytester.runpytest_subprocess(
        "-W", "error", "-p", "no:cacheprovider", "-p", "no:asyncio", "--strict-markers",
        timeout=60,
    )  # fmt: skip
    result.assert_outcomes(passed=1, errors=1)
    result.stdout.fnmatch_lines(
        ["*need the pytest-asyncio plugin: pip install pytest-asyncio*'privicore-async[[]test]'*"]
    )
    result.stdout.no_fnmatch_line("*never runs*")


def test_without_pytest_asyncio_the_fixtures_are_plain_pytest_fixtures(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setitem(sys.modules, "pytest_asyncio", None)  # import now raises ImportError
    assert asyncio_fixture_decorator() is pytest.fixture


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--privicore-latency=-1"], "--privicore-latency: a number of seconds >= 0, not '-1'"),
        (["--privicore-devices", "two"], "--privicore-devices: a whole number >= 0, not 'two'"),
        (["-o", "privicore_latency=nan"], "ini option privicore_latency: a number of seconds*"),
    ],
    ids=["negative-latency", "word-for-devices", "nan-latency-in-ini"],
)
def test_a_bad_option_value_is_a_usage_error_naming_it(
    pytester: pytest.Pytester, args: list[str], message: str
) -> None:
    pytester.makeini(INI)
    result = pytester.runpytest("-p", "no:cacheprovider", *args)  # in-process: no test runs
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines([f"ERROR: {message}"])


def test_loading_the_plugin_imports_neither_the_client_nor_aiohttp() -> None:
    # pytest loads the plugin into every run of an environment that has the package.
    code = (
        "import sys, privicore_async.testing as t, privicore_async as p\n"
        "heavy = ('aiohttp', 'cryptography', 'privicore_async.client')\n"
        "heavy = [m for m in heavy if m in sys.modules]\n"
        "assert not heavy, heavy\n"
        "assert callable(t.sandbox_client) and p.PrivicoreClient.__name__ == 'PrivicoreClient'\n"
        "assert 'aiohttp' in sys.modules\n"
        "assert 'PrivicoreClient' in dir(p)\n"
    )
    done = subprocess.run(
        [sys.executable, "-W", "error", "-c", code], capture_output=True, text=True
    )
    assert done.returncode == 0, done.stderr
