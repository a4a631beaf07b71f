"""The programs of examples/ run, as a user runs them, against a sandbox.

Each example runs in a fresh interpreter (``-W error``, an empty working directory) with the
environment of the Quick start's ``privicore sandbox --print-env`` (:func:`block_env`), against
a sandbox served by this test's event loop, and must exit as documented with nothing on stderr.
The web service runs as a server process on a free port: the test calls it with aiohttp and
stops it with SIGTERM, as a process manager would.
"""

from __future__ import annotations

import asyncio
import os
import signal
import socket
import sys
from collections.abc import AsyncIterator, Mapping
from pathlib import Path

import aiohttp
import pytest

from privicore_async.crypto import DataKey
from privicore_async.sandbox import Sandbox
from tests.readme.runner import ROOT, Finished, block_env

EXAMPLES = ROOT / "examples"
TIMEOUT = 30.0
"""Seconds one example may run (its interpreter's start included)."""


@pytest.fixture
async def sandbox() -> AsyncIterator[Sandbox]:
    async with Sandbox(latency=0.05, users={"me": "secret"}, devices=3) as sb:
        yield sb


def devices(sb: Sandbox) -> tuple[str, ...]:
    return tuple(sb.seeded["me"].device_ids)


async def run_example(
    name: str,
    *args: str,
    sb: Sandbox,
    cwd: Path,
    stdin: str | None = None,
    env: Mapping[str, str] = {},
) -> Finished:
    argv = [sys.executable, "-W", "error", str(EXAMPLES / name), *args]
    process = await asyncio.create_subprocess_exec(
        *argv,
        cwd=cwd,
        env={**block_env(sb), **env},
        stdin=asyncio.subprocess.DEVNULL if stdin is None else asyncio.subprocess.PIPE,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    data = None if stdin is None else stdin.encode()
    try:
        stdout, stderr = await asyncio.wait_for(process.communicate(data), TIMEOUT)
    except TimeoutError:
        process.kill()
        stdout, stderr = await process.communicate()
        finished = Finished(tuple(argv), -9, stdout.decode(), stderr.decode())
        pytest.fail(f"{name} did not finish within {TIMEOUT} s\n{finished.explain()}")
    assert process.returncode is not None
    return Finished(tuple(argv), process.returncode, stdout.decode(), stderr.decode())


# -- bulk_sync.py ----------------------------------------------------------------------------


async def test_bulk_sync_reports_every_device_and_finishes_its_run(
    sandbox: Sandbox, tmp_path: Path
) -> None:
    offline, *online = devices(sandbox)
    sandbox.set_device_online(offline, False)
    ids = "".join(f"{device}\n" for device in (offline, *online, online[0]))  # a repeat: once
    first = await run_example(
        "bulk_sync.py", "-", "--run-id", "nightly", sb=sandbox, cwd=tmp_path, stdin=ids
    )
    assert first.returncode == 1, first.explain()  # not every device synchronised
    assert not first.stderr, first.explain()
    lines = first.stdout.splitlines()
    assert lines[0] == "run nightly: 3 devices (journal privicore-sync.db)", first.explain()
    assert lines[1].startswith("succeeded 2, rejected 1 (3 devices in "), first.explain()
    assert lines[2] == "lines from: submitted 3", first.explain()
    # The reason comes with a pushed ack: a command that settled before the client's ack channel
    # had joined is found by a status read, which carries none.
    assert lines[3:] in (
        [f"REJECTED {offline} device.offline"],
        [f"REJECTED {offline}"],
    ), first.explain()
    assert (tmp_path / "privicore-sync.db").exists()
    sent = sandbox.stats.requests["storage.sync_device"]

    # The same run again (every device of the profile, as after a crash): nothing is resent,
    # every line comes from the journal.
    again = await run_example(
        "bulk_sync.py", "--all", "--run-id", "nightly", sb=sandbox, cwd=tmp_path
    )
    assert again.returncode == 1, again.explain()
    assert not again.stderr, again.explain()
    assert again.stdout.splitlines()[2:] == ["lines from: journal 3", *lines[3:]], again.explain()
    assert sandbox.stats.requests["storage.sync_device"] == sent


async def test_bulk_sync_exits_0_when_every_device_synchronised(
    sandbox: Sandbox, tmp_path: Path
) -> None:
    (tmp_path / "fleet.txt").write_text("# the fleet\n" + "\n".join(devices(sandbox)) + "\n")
    finished = await run_example("bulk_sync.py", "fleet.txt", sb=sandbox, cwd=tmp_path)
    assert finished.returncode == 0, finished.explain()
    assert not finished.stderr, finished.explain()
    assert "succeeded 3 (3 devices in " in finished.stdout, finished.explain()
    assert sandbox.stats.commands_succeeded == 3


# -- vault_round_trip.py ---------------------------------------------------------------------


@pytest.mark.parametrize(
    ("size", "method"),
    [(120_000, "upload"), (2_000, "exchange")],
    ids=["streamed", "exchanged"],
)
async def test_vault_round_trip_gets_the_same_bytes_back(
    sandbox: Sandbox, tmp_path: Path, size: int, method: str
) -> None:
    original = tmp_path / "report.bin"
    original.write_bytes(os.urandom(size))
    key = DataKey.generate()
    finished = await run_example(
        "vault_round_trip.py",
        original.name,
        sb=sandbox,
        cwd=tmp_path,
        env={"PRIVICORE_DATA_KEY": key.to_hex()},
    )
    assert finished.returncode == 0, finished.explain()
    assert not finished.stderr, finished.explain()
    lines = finished.stdout.splitlines()
    assert lines[0].startswith(f"stored report.bin ({size} bytes, {method}"), finished.explain()
    assert lines[-2:] == [f"retrieved {size} bytes", "the copy is identical"], finished.explain()
    assert key.to_hex() not in finished.stdout  # the key is never printed
    assert os.listdir(tmp_path) == ["report.bin"]  # no copy left behind


# -- web_service.py --------------------------------------------------------------------------


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


async def test_web_service_syncs_devices_with_one_client_and_stops_cleanly(
    sandbox: Sandbox, tmp_path: Path
) -> None:
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    log = tmp_path / "stderr.log"
    with log.open("wb") as stderr:  # a file, not a pipe: the server never blocks on it
        server = await asyncio.create_subprocess_exec(
            sys.executable,
            "-W",
            "error",
            str(EXAMPLES / "web_service.py"),
            "--port",
            str(port),
            "--wait",
            "1.0",
            cwd=tmp_path,
            env=block_env(sandbox),
            stdin=asyncio.subprocess.DEVNULL,
            stdout=asyncio.subprocess.PIPE,
            stderr=stderr,
        )
    assert server.stdout is not None
    try:
        line = await asyncio.wait_for(server.stdout.readline(), TIMEOUT)
        assert f"Running on {base}" in line.decode(), (line, log.read_text())
        offline, online, slow = devices(sandbox)
        async with aiohttp.ClientSession(base) as http:
            async with http.get("/health") as answer:
                assert answer.status == 200

            async with http.post(f"/devices/{online}/sync") as answer:
                assert answer.status == 200, await answer.text()
                synced = await answer.json()
            assert synced["device"] == online
            assert synced["outcome"] == "succeeded"

            sandbox.set_device_online(offline, False)
            async with http.post(f"/devices/{offline}/sync") as answer:
                assert answer.status == 200, await answer.text()
                rejected = await answer.json()
            assert rejected["outcome"] == "rejected"
            # (None when the command settled before the ack channel joined: see bulk_sync.)
            assert rejected["reason"] in ("device.offline", None)

            # Settling takes longer than the service waits: the answer says where to look.
            sandbox.latency = 2.5
            async with http.post(f"/devices/{slow}/sync") as answer:
                assert answer.status == 202, await answer.text()
                pending = await answer.json()
                location = answer.headers["Location"]
            assert pending["outcome"] == "pending"
            assert location == f"/commands/{pending['command_id']}"
            status = "pending"
            for _ in range(100):
                async with http.get(location) as answer:
                    assert answer.status == 200, await answer.text()
                    status = (await answer.json())["status"]
                if status != "pending":
                    break
                await asyncio.sleep(0.1)
            assert status == "succeeded"

            async with http.get(f"/commands/{rejected['command_id']}") as answer:
                # Read by polling, which carries no reason (only a pushed ack does).
                assert await answer.json() == {
                    "command_id": rejected["command_id"],
                    "status": "rejected",
                }
        # One client for the service's whole life: it logged in once for every request.
        assert sandbox.stats.requests["profile.authenticate"] == 1
    finally:
        if server.returncode is None:
            server.send_signal(signal.SIGTERM)
            try:
                await asyncio.wait_for(server.wait(), TIMEOUT)
            except TimeoutError:
                server.kill()
                await server.wait()
    assert server.returncode == 0, f"exit status {server.returncode}\n{log.read_text()}"
    assert not log.read_text().strip(), log.read_text()  # no warning, no unclosed session
