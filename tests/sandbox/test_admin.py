"""Who may reach the sandbox: the admin token of ``/_sandbox/`` and the loopback-only binding."""

from __future__ import annotations

import asyncio
import logging
import os
import re
import signal
import sys
import warnings
from collections.abc import AsyncIterator, Mapping
from contextlib import asynccontextmanager

import aiohttp
import pytest

from privicore_async import cli
from privicore_async.sandbox import Sandbox, SandboxExposedWarning, process

from .api import Api, serving

REFUSED = {"message": "admin token required"}
TOKEN_LINE = re.compile(r"privicore sandbox admin token (\S+)\n")
LISTENING_LINE = re.compile(r"privicore sandbox listening on (http://\S+)\n")


# -- the admin token -----------------------------------------------------------------------


@pytest.mark.parametrize(
    "headers",
    [
        {},
        {"X-Sandbox-Token": "wrong"},
        {"X-Sandbox-Token": ""},
        {"X-Sandbox-Token": "ünïcode"},
        {"Authorization": "Bearer wrong"},
        {"Authorization": "Bearer"},
        {"X-DPT-AUTHORIZATION": "wrong"},
    ],
    ids=["none", "wrong", "empty", "non-ascii", "wrong-bearer", "empty-bearer", "api-header"],
)
async def test_admin_requests_without_the_token_are_refused_and_change_nothing(
    headers: Mapping[str, str],
) -> None:
    async with serving() as api:
        token = await api.profile()
        device = await api.storage_device(token)
        base = api.sb.api_url + "/_sandbox"
        requests = [
            ("GET", "/stats", None),
            ("GET", "/settled", None),
            ("GET", "/due", None),
            ("POST", "/tokens/expire", None),
            ("POST", f"/devices/{device}/online", {"online": "0"}),
            ("POST", "/latency", {"latency": "5"}),
            ("GET", "/no/such/endpoint", None),  # 401, not 404: nothing about the admin API
            ("GET", "", None),
        ]
        for method, path, data in requests:
            async with api.http.request(method, base + path, headers=headers, data=data) as resp:
                assert (resp.status, await resp.json()) == (401, REFUSED), path
        assert (await api.call("storage.list", token=token)).status == 200  # not expired
        assert api.sb.state.devices[device].online
        assert api.sb.latency != 5


async def test_admin_requests_with_the_token_work_in_either_header() -> None:
    async with serving() as api:
        token = await api.profile()
        base = api.sb.api_url + "/_sandbox"
        by_header = {"X-Sandbox-Token": api.sb.admin_token}
        async with api.http.get(base + "/stats", headers=by_header) as resp:
            assert resp.status == 200
            assert (await resp.json())["requests"]["profile.authenticate"] == 1
        by_bearer = {"Authorization": f"Bearer {api.sb.admin_token}"}
        async with api.http.post(base + "/tokens/expire", headers=by_bearer) as resp:
            assert (resp.status, await resp.json()) == (200, {"expired": 1})
        assert (await api.call("storage.list", token=token)).status == 401


async def test_header_bytes_that_are_not_utf8_are_refused_not_an_error() -> None:
    async with serving() as api:
        reader, writer = await asyncio.open_connection("127.0.0.1", api.sb.port)
        writer.write(
            b"GET /_sandbox/stats HTTP/1.1\r\nHost: sandbox\r\nConnection: close\r\n"
            b"X-Sandbox-Token: \xff\xfe\r\n\r\n"
        )
        answer = await reader.read()
        writer.close()
        await writer.wait_closed()
        assert answer.startswith(b"HTTP/1.1 401 ")
        assert answer.endswith(b'{"message": "admin token required"}')


async def test_a_refused_admin_request_is_not_counted_or_rate_limited() -> None:
    async with serving(rate_limit=(0.5, 1)) as api:
        async with api.http.get(api.sb.api_url + "/_sandbox/nope") as resp:
            assert resp.status == 401
        assert api.sb.stats.rate_limited == 0
        assert (await api.call("utility.health")).status == 200  # the bucket's one token
        assert dict(api.sb.stats.requests) == {"utility.health": 1}


async def test_the_caller_may_choose_the_token() -> None:
    async with serving(admin_token="chosen-token") as api:
        assert api.sb.admin_token == "chosen-token"
        url = api.sb.api_url + "/_sandbox/stats"
        async with api.http.get(url, headers={"X-Sandbox-Token": "chosen-token"}) as resp:
            assert resp.status == 200


@pytest.mark.parametrize("token", ["", "two words", "tab\there", "ünïcode"])
def test_a_token_that_cannot_travel_in_a_header_is_refused_without_quoting_it(
    token: str,
) -> None:
    with pytest.raises(ValueError, match="admin_token must be") as refused:
        Sandbox(admin_token=token)
    assert not token or token not in str(refused.value)


def test_the_token_is_random_and_never_in_the_repr() -> None:
    first, second = Sandbox(), Sandbox()
    assert first.admin_token != second.admin_token
    assert len(first.admin_token) >= 32
    assert first.admin_token not in repr(first)
    chosen = Sandbox(admin_token="chosen-token")
    assert "chosen-token" not in repr(chosen)


async def test_the_api_wants_its_own_header_not_the_admin_token() -> None:
    async with serving() as api:
        answer = await api.call("storage.list", token=api.sb.admin_token)
        assert answer.status == 401


# -- binding -------------------------------------------------------------------------------


@pytest.mark.parametrize("host", ["0.0.0.0", "", "::", "192.0.2.7", "example.com", "10.0.0.1"])
def test_a_host_that_is_not_loopback_is_refused(host: str) -> None:
    with pytest.raises(ValueError, match=r"not a loopback address.*allow_remote=True"):
        Sandbox(host=host)


@pytest.mark.parametrize("host", ["127.0.0.1", "127.1.2.3", "::1", "localhost", "LocalHost"])
def test_loopback_hosts_are_accepted_without_a_warning(host: str) -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert Sandbox(host=host).host == host
        assert Sandbox(host=host, allow_remote=True).host == host  # nothing to warn about


async def test_a_loopback_sandbox_starts_without_a_warning() -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        async with Sandbox(host="127.0.0.1"):
            pass


async def test_an_allowed_remote_host_warns_and_logs(caplog: pytest.LogCaptureFixture) -> None:
    sb = Sandbox(host="0.0.0.0", allow_remote=True)
    try:
        with (
            caplog.at_level(logging.WARNING, logger="privicore_async.sandbox"),
            pytest.warns(SandboxExposedWarning, match="reachable from other hosts"),
        ):
            await sb.start()
        assert any("reachable from other hosts" in r.getMessage() for r in caplog.records)
        assert all(sb.admin_token not in r.getMessage() for r in caplog.records)
        async with aiohttp.ClientSession() as http:
            api = Api(sb, http)
            assert (await api.call("utility.health")).status == 200
    finally:
        await sb.close()


def test_the_warning_is_a_user_warning() -> None:
    assert issubclass(SandboxExposedWarning, UserWarning)


# -- the process and the command line ------------------------------------------------------


@asynccontextmanager
async def sandbox_process(
    *argv: str, env: Mapping[str, str] | None = None
) -> AsyncIterator[tuple[str, str]]:
    """``python -m privicore_async.sandbox --port 0 ARGV``: yields its URL and admin token."""
    proc = await asyncio.create_subprocess_exec(
        *(sys.executable, "-m", "privicore_async.sandbox", "--port", "0", *argv),
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
        env={**os.environ, **(env or {})},
    )
    try:
        assert proc.stdout is not None
        listening = (await asyncio.wait_for(proc.stdout.readline(), 15)).decode()
        url = LISTENING_LINE.fullmatch(listening)
        assert url, listening
        token_line = (await asyncio.wait_for(proc.stdout.readline(), 15)).decode()
        token = TOKEN_LINE.fullmatch(token_line)
        assert token, token_line
        yield url.group(1), token.group(1)
        proc.send_signal(signal.SIGTERM)
        out, err = await asyncio.wait_for(proc.communicate(), 15)
    finally:
        if proc.returncode is None:
            proc.kill()
            await proc.wait()
    assert proc.returncode == 0, err.decode()
    assert out == b""  # the token is printed once, on its own line, and nowhere else
    assert token.group(1).encode() not in err


async def stats_status(url: str, headers: Mapping[str, str]) -> int:
    async with (
        aiohttp.ClientSession() as http,
        http.get(url + "/_sandbox/stats", headers=headers) as resp,
    ):
        return resp.status


async def test_the_process_prints_a_random_token_that_opens_the_admin_endpoints() -> None:
    env = {process.ADMIN_TOKEN_ENV: ""}  # empty: as if unset
    async with sandbox_process(env=env) as (url, token):
        assert len(token) >= 32
        assert await stats_status(url, {}) == 401
        assert await stats_status(url, {"X-Sandbox-Token": token}) == 200


async def test_the_process_honours_admin_token() -> None:
    env = {process.ADMIN_TOKEN_ENV: "from-the-environment"}
    async with sandbox_process("--admin-token", "fixed-token", env=env) as (url, token):
        assert token == "fixed-token"  # the option wins over the environment
        assert await stats_status(url, {"Authorization": "Bearer fixed-token"}) == 200
        assert await stats_status(url, {"X-Sandbox-Token": "from-the-environment"}) == 401


async def test_the_process_takes_the_token_from_the_environment() -> None:
    env = {process.ADMIN_TOKEN_ENV: "from-the-environment"}
    async with sandbox_process(env=env) as (url, token):
        assert token == "from-the-environment"
        assert await stats_status(url, {"X-Sandbox-Token": token}) == 200


def test_help_never_shows_a_token(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(process.ADMIN_TOKEN_ENV, "secret-from-env")
    assert "secret-from-env" not in process.parser().format_help()
    assert "--admin-token" in process.parser().format_help()


def test_a_bad_admin_token_is_a_usage_error_that_does_not_quote_it(
    capsys: pytest.CaptureFixture[str],
) -> None:
    with pytest.raises(SystemExit) as exited:
        process.main(["--admin-token", "has a space"])
    assert exited.value.code == 2
    err = capsys.readouterr().err
    assert "admin_token must be" in err
    assert "has a space" not in err


@pytest.mark.parametrize("prog", ["process", "cli"])
def test_the_command_lines_refuse_a_remote_host(
    prog: str, capsys: pytest.CaptureFixture[str]
) -> None:
    argv = ["--host", "0.0.0.0", "--port", "0"]
    if prog == "cli":
        assert cli.main(["sandbox", *argv]) == 2
    else:
        with pytest.raises(SystemExit) as exited:
            process.main(argv)
        assert exited.value.code == 2
    out, err = capsys.readouterr()
    assert out == ""
    assert "refusing to listen on '0.0.0.0'" in err
    assert "--allow-remote" in err


async def test_the_process_listens_remotely_with_allow_remote_and_warns() -> None:
    proc = await asyncio.create_subprocess_exec(
        *(sys.executable, "-m", "privicore_async.sandbox", "--port", "0"),
        *("--host", "0.0.0.0", "--allow-remote"),
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    try:
        assert proc.stdout is not None
        line = (await asyncio.wait_for(proc.stdout.readline(), 15)).decode()
        assert re.fullmatch(r"privicore sandbox listening on http://0\.0\.0\.0:\d+\n", line), line
        token_line = (await asyncio.wait_for(proc.stdout.readline(), 15)).decode()
        assert TOKEN_LINE.fullmatch(token_line), token_line
        proc.send_signal(signal.SIGTERM)
        _, err = await asyncio.wait_for(proc.communicate(), 15)
    finally:
        if proc.returncode is None:
            proc.kill()
            await proc.wait()
    assert proc.returncode == 0, err.decode()
    text = err.decode()
    assert "SandboxExposedWarning" in text
    assert "reachable from other hosts" in text
    assert "no real security" in text
