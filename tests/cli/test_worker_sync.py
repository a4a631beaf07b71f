"""``privicore sync`` and ``privicore worker`` as OS processes, against the sandbox in this
process (over loopback) and a real redis-server; usage errors in process."""

from __future__ import annotations

import asyncio
import os
import re
import signal
import sys
from pathlib import Path

import pytest
import redis.asyncio

from privicore_async.cli import main
from privicore_async.contrib.streams import GROUP
from privicore_async.sandbox import Sandbox
from tests.contrib.workers import (
    ROOT,
    enqueue,
    eventually,
    start_worker,
    syncs_per_device,
    worker_env,
)
from tests.integration.test_crash_recovery import seed_fleet

UNKNOWN = "unknown-device-0001"
NO_REDIS = (
    "import sys; sys.modules.update(dict.fromkeys(('redis', 'taskiq', 'taskiq_redis')));"
    "from privicore_async.cli import main; raise SystemExit(main(sys.argv[1:]))"
)


async def privicore(
    *argv: str, prelude: tuple[str, ...] = ("-m", "privicore_async.cli")
) -> tuple[int, str, str]:
    """Run the command line in its own process; (exit status, stdout, stderr)."""
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        *prelude,
        *argv,
        cwd=ROOT,
        env=worker_env(),
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    try:
        out, err = await asyncio.wait_for(process.communicate(), 60)
    finally:
        if process.returncode is None:
            process.kill()
            await process.wait()
    assert process.returncode is not None
    return process.returncode, out.decode(), err.decode()


def count(output: str, label: str) -> int:
    """The number on the summary line ``  <label>  <n>``."""
    match = re.search(rf"^  {label} +(\d+)$", output, re.MULTILINE)
    assert match, f"no {label!r} line in:\n{output}"
    return int(match.group(1))


def earlier(output: str) -> tuple[int, int, int]:
    """(skipped, resumed, resubmitted) of the ``earlier attempts`` line."""
    match = re.search(
        r"^earlier attempts: skipped (\d+) .* resumed (\d+) .* resubmitted (\d+) ", output, re.M
    )
    assert match, output
    skipped, resumed, resubmitted = (int(n) for n in match.groups())
    return skipped, resumed, resubmitted


def write_ids(path: Path, ids: list[str]) -> Path:
    path.write_text("\n".join(ids) + "\n\n")
    return path


# -- privicore sync --journal ----------------------------------------------------------------


async def test_sync_here_summarises_resumes_and_shows_status(tmp_path: Path) -> None:
    # The legacy status object: the reasons asserted below are found by polling.
    async with Sandbox(latency=0.05, status_shape="object") as sb:
        username, devices = seed_fleet(sb, 40)
        for device in devices[:2]:
            sb.set_device_online(device, False)
        ids = write_ids(tmp_path / "ids.txt", [*devices, UNKNOWN, devices[5]])  # one repeat
        journal = str(tmp_path / "run.db")
        common = ("--run-id", "r1", "--journal", journal)
        login = ("--api-url", sb.api_url, "--username", username)

        code, out, err = await privicore("sync", "--from", str(ids), *common, *login)
        assert code == 1, err  # some were rejected
        assert (count(out, "succeeded"), count(out, "rejected"), count(out, "failed")) == (38, 3, 0)
        assert "  device.offline: 2\n" in out
        assert "  device.not_found: 1\n" in out
        assert out.startswith("run r1: 41 devices\n")
        assert earlier(out) == (0, 0, 0)
        assert "1 repeated device id(s) left out" in err
        assert err.splitlines()[-1].startswith("sync    [##############################]  41/41")
        assert "correct horse" not in out + err  # the password never shows
        sent = len(sb.state.commands)

        code, out, _ = await privicore("sync", *common, "--status", "--from", str(ids))
        assert code == 1
        assert out.startswith("run r1: 41 devices (from the journal; nothing sent)\n")
        assert (count(out, "succeeded"), count(out, "rejected")) == (38, 3)
        code, out, _ = await privicore("sync", *common, "--status")  # no list: the journal's
        assert (code, count(out, "succeeded")) == (1, 38)

        code, out, _ = await privicore("sync", "--from", str(ids), *common, *login)
        assert code == 1
        assert earlier(out) == (41, 0, 0)  # every device was settled: nothing sent again
        assert len(sb.state.commands) == sent

        good = write_ids(tmp_path / "good.txt", devices[2:])
        code, out, err = await privicore(
            "sync", "--from", str(good), "--run-id", "r2", "--journal", journal, *login
        )
        assert code == 0, out + err
        assert count(out, "succeeded") == 38
        assert re.search(r"^elapsed: [\d.]+ s \([\d.]+ devices/s\)$", out, re.M)
    assert syncs_per_device(sb)[devices[3]] == 2  # once per run


async def test_sync_counts_reasonless_rejections_on_the_real_wire(tmp_path: Path) -> None:
    # The real status endpoint answers a bare "rejected": polled rejections carry no reason.
    async with Sandbox(latency=0.02) as sb:
        username, devices = seed_fleet(sb, 4)
        sb.set_device_online(devices[0], False)
        ids = write_ids(tmp_path / "ids.txt", [*devices, UNKNOWN])
        login = ("--api-url", sb.api_url, "--username", username)
        journal = ("--run-id", "r1", "--journal", str(tmp_path / "run.db"))
        code, out, err = await privicore("sync", "--from", str(ids), *journal, *login)
    assert code == 1, err
    assert (count(out, "succeeded"), count(out, "rejected")) == (3, 2)
    assert "  (no reason given): 2\n" in out
    assert "None" not in out


async def test_sync_here_needs_no_redis_or_taskiq(tmp_path: Path) -> None:
    async with Sandbox(latency=0.02) as sb:
        username, devices = seed_fleet(sb, 5)
        ids = write_ids(tmp_path / "ids.txt", devices)
        argv = (
            "sync",
            "--from",
            str(ids),
            "--run-id",
            "plain",
            "--journal",
            str(tmp_path / "j.db"),
        )
        code, out, err = await privicore(
            *argv, "--api-url", sb.api_url, "--username", username, prelude=("-c", NO_REDIS)
        )
    assert code == 0, err
    assert count(out, "succeeded") == 5


async def test_status_of_a_missing_journal_creates_nothing(tmp_path: Path) -> None:
    missing = tmp_path / "nope.db"
    code, _, err = await privicore("sync", "--run-id", "r", "--journal", str(missing), "--status")
    assert code == 1
    assert f"no journal at {missing}" in err
    assert not missing.exists()


# -- privicore sync --redis and privicore worker ---------------------------------------------


async def test_sync_through_a_worker_then_status_and_rerun(
    redis_clean: str, tmp_path: Path
) -> None:
    async with Sandbox(latency=0.05) as sb:
        username, devices = seed_fleet(sb, 60)
        ids = write_ids(tmp_path / "ids.txt", devices)
        queued = ("--run-id", "q1", "--redis", redis_clean)
        limit = ("--rate-limit", "2000", "--burst", "100")  # one limit for all workers, in Redis
        worker = await start_worker(sb, username, redis_clean, tmp_path / "worker.log", *limit)
        try:
            code, out, err = await privicore(
                "sync", "--from", str(ids), *queued, "--batch", "20", "--poll", "0.05"
            )
            assert code == 0, out + err
            assert "queued 3 batch(es) of up to 20 devices on privicore-sync\n" in out
            assert count(out, "succeeded") == 60
            assert earlier(out) == (0, 0, 0)
            assert err.splitlines()[-1].startswith(
                "sync    [##############################]  60/60"
            )

            code, out, _ = await privicore("sync", *queued, "--status")
            assert (code, count(out, "succeeded")) == (0, 60)

            code, out, _ = await privicore("sync", "--from", str(ids), *queued, "--poll", "0.05")
            assert code == 0
            assert earlier(out) == (60, 0, 0)
            assert await worker.stop(signal.SIGTERM) == 0
        finally:
            if worker.process.returncode is None:
                worker.process.kill()
                await worker.process.wait()
    assert syncs_per_device(sb) == dict.fromkeys(devices, 1)  # the re-run sent nothing


async def test_a_run_still_queued_is_followed_not_queued_again(
    redis_clean: str, tmp_path: Path
) -> None:
    async with Sandbox(latency=0.05) as sb:
        username, devices = seed_fleet(sb, 20)
        ids = write_ids(tmp_path / "ids.txt", devices)
        await enqueue(redis_clean, devices, "again", batch=10)  # a coordinator was interrupted
        argv = ["sync", "--from", str(ids), "--run-id", "again", "--redis", redis_clean]
        coordinator = await asyncio.create_subprocess_exec(
            sys.executable,
            *("-m", "privicore_async.cli", *argv, "--poll", "0.05"),
            cwd=ROOT,
            env=worker_env(),
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.PIPE,
        )
        try:
            assert coordinator.stdout is not None
            first = await asyncio.wait_for(coordinator.stdout.readline(), 30)
            assert first == b"run again is still queued: following it, not queueing it again\n"
            worker = await start_worker(sb, username, redis_clean, tmp_path / "worker.log")
            try:
                out, _ = await asyncio.wait_for(coordinator.communicate(), 60)
            finally:
                worker.process.kill()
                await worker.process.wait()
        finally:
            if coordinator.returncode is None:
                coordinator.kill()
                await coordinator.wait()
    assert coordinator.returncode == 0
    assert count(out.decode(), "succeeded") == 20
    assert syncs_per_device(sb) == dict.fromkeys(devices, 1)  # the run was queued once


async def consumers(redis_url: str) -> list[str]:
    client = redis.asyncio.Redis.from_url(redis_url, decode_responses=True)
    try:
        return [c["name"] for c in await client.xinfo_consumers("privicore-sync", GROUP)]
    finally:
        await client.aclose()


@pytest.mark.parametrize("signum", [signal.SIGTERM, signal.SIGINT])
async def test_a_worker_stops_cleanly_on_a_signal(
    redis_clean: str, tmp_path: Path, signum: signal.Signals
) -> None:
    async with Sandbox(latency=0.05) as sb:
        username, devices = seed_fleet(sb, 1)
        worker = await start_worker(sb, username, redis_clean, tmp_path / "worker.log")
        try:
            await enqueue(redis_clean, devices, "one", batch=1)
            await eventually(lambda: worker.batches_done() == 1, 15, "the batch ran")
            assert worker.consumer in await consumers(redis_clean)
            assert await worker.stop(signum) == 0
        finally:
            if worker.process.returncode is None:
                worker.process.kill()
                await worker.process.wait()
        assert worker.process.stdout is not None
        rest = (await worker.process.stdout.read()).decode()
    assert rest.splitlines()[-1] == "privicore worker: stopped"
    assert "Traceback" not in worker.log_text()
    assert worker.consumer not in await consumers(redis_clean)  # it left the group


async def test_a_second_signal_hands_the_running_batch_back(
    redis_clean: str, tmp_path: Path
) -> None:
    async with Sandbox(latency=30) as sb:  # the batch cannot finish while the test runs
        username, devices = seed_fleet(sb, 10)
        worker = await start_worker(sb, username, redis_clean, tmp_path / "worker.log")
        try:
            await enqueue(redis_clean, devices, "hard", batch=10)
            await eventually(lambda: len(syncs_per_device(sb)) == 10, 15, "the batch was sent")
            worker.process.send_signal(signal.SIGTERM)  # graceful: waits for the batch...
            assert worker.process.stdout is not None
            line = await asyncio.wait_for(worker.process.stdout.readline(), 10)
            assert line.startswith(b"privicore worker: stopping")
            assert await worker.stop(signal.SIGTERM) == 130  # ...the second one does not
        finally:
            if worker.process.returncode is None:
                worker.process.kill()
                await worker.process.wait()
        rest = (await worker.process.stdout.read()).decode()
    assert "unfinished batches went back to the queue" in rest
    client = redis.asyncio.Redis.from_url(redis_clean)
    try:
        [pending] = await client.xpending_range("privicore-sync", GROUP, "-", "+", 10)
    finally:
        await client.aclose()
    assert pending["time_since_delivered"] >= 60_000  # handed back: takeable at once


# -- usage -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "argv",
    [
        ["sync", "--run-id", "x", "--journal", "j.db"],  # no --from, no --status
        ["sync", "--from", "ids.txt", "--run-id", "x"],  # neither --journal nor --redis
        ["sync", "--from", "ids.txt", "--run-id", "x", "--journal", "j", "--redis", "r"],
        ["sync", "--from", "ids.txt", "--run-id", " ", "--journal", "j.db"],
        ["sync", "--from", "missing.txt", "--run-id", "x", "--journal", "j.db"],
        ["sync", "--from", "ids.txt", "--run-id", "x", "--journal", "j.db"],  # no API URL
        ["sync", "--from", "ids.txt", "--run-id", "x", "--redis", "r", "--batch", "0"],
        ["worker", "--redis", "redis://r", "--api-url", "http://a", "--burst", "3"],
        ["worker", "--redis", "redis://r", "--api-url", "http://a", "--password", "x"],
        ["worker", "--redis", "redis://r"],  # no API URL
        ["worker", "--api-url", "http://a"],  # no Redis
    ],
)
def test_usage_errors_exit_2(
    argv: list[str],
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    for name in [n for n in os.environ if n.startswith("PRIVICORE_")]:
        monkeypatch.delenv(name)
    monkeypatch.chdir(tmp_path)
    (tmp_path / "ids.txt").write_text("dev-1\n")
    assert main(argv) == 2
    assert "usage: privicore" in capsys.readouterr().err
    assert not (tmp_path / "j.db").exists()
