"""The sandbox's gateway rate limit: a token bucket, 429 with Retry-After when it is empty."""

from __future__ import annotations

import asyncio
import math
import re
import signal
import sys

import aiohttp
import pytest

from privicore_async.cli import build_parser
from privicore_async.sandbox import Sandbox, process
from privicore_async.sandbox.rate_limit import RateLimit, TokenBucket, too_many_requests
from privicore_async.wire.http import parse_retry_after
from tests.sandbox.api import serving

TOO_MANY = {"message": "Too Many Requests"}


class Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


# -- the bucket ----------------------------------------------------------------------------


def test_the_bucket_starts_full_refills_at_its_rate_and_holds_at_most_burst() -> None:
    clock = Clock()
    bucket = TokenBucket(RateLimit(4.0, 2), clock)
    assert [bucket.take(), bucket.take()] == [0.0, 0.0]
    assert bucket.take() == pytest.approx(0.25)  # one token every 250 ms
    clock.now += 0.125
    assert bucket.take() == pytest.approx(0.125)  # half a token so far
    clock.now += 0.125
    assert bucket.take() == 0.0
    clock.now += 60.0  # a long quiet spell fills the bucket, no more
    assert [bucket.take(), bucket.take()] == [0.0, 0.0]
    assert bucket.take() > 0


@pytest.mark.parametrize(
    "limit", [(0, 1), (-1.0, 1), (math.nan, 1), (math.inf, 1), (5, 0), (5, 1.5), (5, True)]
)
def test_a_bad_limit_is_refused(limit: tuple[float, int]) -> None:
    with pytest.raises(ValueError, match="rate_limit"):
        Sandbox(rate_limit=limit)


@pytest.mark.parametrize(
    ("wait", "header"),
    [
        (0.02, "0.02"),
        (0.1 + 0.2, "0.3"),  # float noise is not rounded up to the next millisecond
        (0.0201, "0.021"),  # anything else is: a client waiting that long finds a token
        (1.5, "1.5"),
        (2.0, "2"),
        (1234.5671, "1234.568"),
        (0.0004, "0.001"),  # never 0: that would send the client back into an empty bucket
    ],
)
def test_retry_after_is_the_wait_rounded_up_to_the_millisecond(wait: float, header: str) -> None:
    response = too_many_requests(wait)
    assert (response.status, response.headers["Retry-After"]) == (429, header)
    assert parse_retry_after(header) == pytest.approx(float(header))
    assert float(header) >= wait - 1e-9  # never earlier than the token (but for float noise)


# -- over the wire -------------------------------------------------------------------------


async def test_an_empty_bucket_answers_429_until_it_refills() -> None:
    async with serving(rate_limit=(5, 3)) as api:
        for _ in range(3):
            assert (await api.call("utility.health")).status == 200
        refused = await api.call("utility.health")
        assert (refused.status, refused.body) == (429, TOO_MANY)
        assert refused.headers["Content-Type"].startswith("application/json")
        retry_after = parse_retry_after(refused.headers["Retry-After"])
        assert retry_after is not None
        assert 0 < retry_after <= 0.2  # one token every 200 ms
        assert api.sb.stats.rate_limited == 1
        await asyncio.sleep(retry_after)
        assert (await api.call("utility.health")).status == 200
        # Refused requests never reached a route: only the four served ones are counted.
        assert api.sb.stats.requests["utility.health"] == 4
        assert api.sb.stats.as_dict()["rate_limited"] == 1


async def test_concurrent_requests_get_burst_answers_and_the_rest_429() -> None:
    async with serving(rate_limit=(1, 5)) as api:
        answers = await asyncio.gather(*(api.call("utility.health") for _ in range(20)))
        statuses = sorted(answer.status for answer in answers)
        assert statuses == [200] * 5 + [429] * 15
        assert api.sb.stats.rate_limited == 15


async def test_by_default_there_is_no_limit() -> None:
    async with serving() as api:
        assert api.sb.rate_limit is None
        answers = await asyncio.gather(*(api.call("utility.health") for _ in range(50)))
        assert {answer.status for answer in answers} == {200}
        assert api.sb.stats.rate_limited == 0


async def test_every_api_request_takes_a_token_but_the_admin_endpoints_do_not() -> None:
    async with serving(rate_limit=(0.5, 1)) as api:
        assert (await api.call("utility.health")).status == 200
        async with api.http.get(api.sb.api_url + "/no/such/path") as unknown:
            assert unknown.status == 429  # the gateway answers before routing
        assert (await api.call("profile.authenticate", {"username": "x"})).status == 429
        admin = {"X-Sandbox-Token": api.sb.admin_token}
        async with api.http.get(api.sb.api_url + "/_sandbox/stats", headers=admin) as stats:
            assert stats.status == 200
            assert (await stats.json())["rate_limited"] == 2


async def test_a_refused_request_meets_no_fault() -> None:
    async with serving(rate_limit=(20, 1)) as api:
        api.sb.inject("utility.health", "error")
        assert (await api.call("utility.health")).status == 503  # the first token
        api.sb.inject("utility.health", "error")
        refused = await api.call("utility.health")
        assert refused.status == 429
        await asyncio.sleep(parse_retry_after(refused.headers["Retry-After"]) or 0)
        assert (await api.call("utility.health")).status == 503  # the fault still waited
        assert api.sb.stats.faults["error"] == 2


# -- the command line ----------------------------------------------------------------------


def test_the_command_lines_take_rate_limit_and_burst() -> None:
    args = process.parser().parse_args(["--rate-limit", "12.5", "--burst", "4"])
    assert (args.rate_limit, args.burst) == (12.5, 4)
    args = build_parser().parse_args(["sandbox", "--rate-limit", "3"])
    assert (args.rate_limit, args.burst) == (3.0, None)


@pytest.mark.parametrize(
    ("argv", "error"),
    [
        (["--burst", "2"], "--burst needs --rate-limit"),
        (["--rate-limit", "0"], "rate must be a finite number > 0"),
        (["--rate-limit", "5", "--burst", "0"], "burst must be an integer >= 1"),
    ],
)
def test_bad_rate_limit_options_are_usage_errors(
    argv: list[str], error: str, capsys: pytest.CaptureFixture[str]
) -> None:
    with pytest.raises(SystemExit) as exited:
        process.main(argv)
    assert exited.value.code == 2
    assert error in capsys.readouterr().err


async def test_the_sandbox_process_limits_its_api() -> None:
    proc = await asyncio.create_subprocess_exec(
        *(sys.executable, "-m", "privicore_async.sandbox", "--port", "0"),
        *("--rate-limit", "0.5", "--burst", "1"),
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    try:
        assert proc.stdout is not None
        line = (await asyncio.wait_for(proc.stdout.readline(), 15)).decode()
        match = re.fullmatch(r"privicore sandbox listening on (http://127\.0\.0\.1:\d+)\n", line)
        assert match, line
        url = match.group(1)
        token_line = (await asyncio.wait_for(proc.stdout.readline(), 15)).decode()
        admin = {
            "X-Sandbox-Token": token_line.removeprefix("privicore sandbox admin token ").strip()
        }
        async with aiohttp.ClientSession() as http:
            async with http.get(url + "/health") as served:
                assert served.status == 200
            async with http.get(url + "/health") as refused:
                assert (refused.status, await refused.json()) == (429, TOO_MANY)
                assert 0 < float(refused.headers["Retry-After"]) <= 2
            async with http.get(url + "/_sandbox/stats", headers=admin) as stats:
                assert (await stats.json())["rate_limited"] == 1
        proc.send_signal(signal.SIGTERM)
        _, err = await asyncio.wait_for(proc.communicate(), 15)
    finally:
        if proc.returncode is None:
            proc.kill()
            await proc.wait()
    assert proc.returncode == 0, err.decode()
