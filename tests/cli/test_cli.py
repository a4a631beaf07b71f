"""The ``privicore`` console script: the demo end to end, the sandbox subcommand, the parts.

The demo runs its own event loop (``asyncio.run``), so in-process runs are plain sync tests;
the console script itself runs as a subprocess from the venv's ``bin``.
"""

from __future__ import annotations

import asyncio
import re
import signal
import socket
import subprocess
import sys
from pathlib import Path

import aiohttp
import pytest

from privicore_async import __version__
from privicore_async.cli import main
from privicore_async.cli.demo import UNKNOWN_DEVICE, default_offline
from privicore_async.cli.progress import ProgressLine
from privicore_async.cli.summary import SUCCEEDS, DemoRun, summary_lines, unexpected
from privicore_async.errors import TransportError
from privicore_async.resources.devices import Devices
from privicore_async.results import DeviceSyncOutcome, SyncOutcome, SyncReport
from privicore_async.sandbox import Sandbox

PRIVICORE = Path(sys.executable).parent / "privicore"
PASSWORD = "demo-password-never-shown-4f1c"


def count(output: str, label: str) -> int:
    """The number on the summary line ``  <label>  <n>``."""
    match = re.search(rf"^  {label} +(\d+)$", output, re.MULTILINE)
    assert match, f"no {label!r} line in:\n{output}"
    return int(match.group(1))


def assert_demo_summary(output: str, devices: int, offline: int) -> None:
    assert count(output, "succeeded") == devices - offline
    assert count(output, "rejected") == offline + 1
    assert count(output, "timed out") == 0
    assert count(output, "failed") == 0
    assert f"  device.offline: {offline}\n" in output
    assert "  device.not_found: 1\n" in output
    assert re.search(r"^throughput: \d+ devices in [\d.]+ s = [\d.]+ devices/s$", output, re.M)
    assert re.search(r"^status requests per command: [\d.]+ \(\d+ status requests", output, re.M)
    assert re.search(r"^wall time: [\d.]+ s", output, re.M)
    assert "result: as expected" in output


# -- the demo, in process ------------------------------------------------------------------


def test_demo_in_process(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr("privicore_async.cli.demo.secrets.token_urlsafe", lambda n: PASSWORD)
    assert main(["demo", "--devices", "30", "--latency", "0.05"]) == 0
    out, err = capsys.readouterr()
    assert_demo_summary(out, devices=30, offline=default_offline(30))
    assert "onboarded 30 storage devices" in out
    # stderr is not a terminal here: a few plain progress lines, ending with the totals.
    assert "\r" not in err
    assert err.splitlines()[-1].startswith("sync    [")
    assert err.splitlines()[-1].endswith("31/31  ok 29  rejected 2  timed out 0  failed 0")
    assert PASSWORD not in out + err


def test_demo_settles_by_pushed_acks_unless_polling(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["demo", "--devices", "20", "--latency", "0.05"]) == 0
    out, _ = capsys.readouterr()
    assert "command outcomes: pushed acks (WebSocket)" in out
    assert "status requests per command: 0.00 (0 status requests for 21 sync commands)" in out
    assert "vault: encrypted 360,000 bytes with AES-256-GCM" in out
    assert "identical (sha256 match)" in out
    assert main(["demo", "--devices", "20", "--latency", "0.05", "--polling"]) == 0
    out, _ = capsys.readouterr()
    assert "command outcomes: status polling" in out
    assert "vault: skipped (retrieving data needs the WebSocket" in out
    assert "status requests per command: 0.00" not in out


def test_demo_options_pick_offline_devices(capsys: pytest.CaptureFixture[str]) -> None:
    argv = ["demo", "--devices", "12", "--latency", "0.02", "--jitter", "0.02"]
    assert main([*argv, "--offline", "4", "--seed", "3"]) == 0
    assert_demo_summary(capsys.readouterr().out, devices=12, offline=4)


def test_demo_exits_1_when_devices_end_otherwise(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    # The offline switch is broken: the "offline" devices synchronise instead.
    monkeypatch.setattr(Sandbox, "set_device_online", lambda self, device, online: None)
    assert main(["demo", "--devices", "10", "--latency", "0.02", "--offline", "2"]) == 1
    out = capsys.readouterr().out
    assert count(out, "succeeded") == 10
    assert "result: NOT as expected (2 devices ended otherwise)" in out
    assert "expected device.offline, got succeeded" in out


def test_demo_reports_a_failed_step(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    async def broken(self: Devices, name: str, *, timeout: float | None = None) -> str:
        raise TransportError("connection reset")

    monkeypatch.setattr(Devices, "onboard", broken)
    assert main(["demo", "--devices", "5", "--latency", "0.01"]) == 1
    out, err = capsys.readouterr()
    assert "privicore demo: onboarding failed: connection reset" in err
    assert "Traceback" not in err
    assert "result:" not in out


@pytest.mark.parametrize(
    "argv",
    [
        [],
        ["demo", "--devices", "0"],
        ["demo", "--latency", "-1"],
        ["demo", "--offline", "4", "--devices", "3"],
    ],
)
def test_usage_errors_exit_2(argv: list[str], capsys: pytest.CaptureFixture[str]) -> None:
    assert main(argv) == 2
    assert "usage: privicore" in capsys.readouterr().err


def test_help_and_version_return_0(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["--version"]) == 0
    assert capsys.readouterr().out == f"privicore {__version__}\n"
    assert main(["demo", "--help"]) == 0
    assert "--offline K" in capsys.readouterr().out
    # The sandbox subcommand shows the sandbox's own options.
    assert main(["sandbox", "--help"]) == 0
    help_text = capsys.readouterr().out
    assert help_text.startswith("usage: privicore sandbox")
    assert "--fault-routes" in help_text


# -- the console script --------------------------------------------------------------------


def test_console_script_demo() -> None:
    done = subprocess.run(
        [PRIVICORE, "demo", "--devices", "20", "--latency", "0.05"],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    assert_demo_summary(done.stdout, devices=20, offline=1)
    assert done.stdout.startswith("privicore demo: sandbox on http://127.0.0.1:")
    assert "Traceback" not in done.stderr


def test_console_script_version() -> None:
    done = subprocess.run(
        [PRIVICORE, "--version"], capture_output=True, text=True, timeout=30, check=False
    )
    assert (done.returncode, done.stdout) == (0, f"privicore {__version__}\n")


async def test_ctrl_c_stops_the_demo_cleanly() -> None:
    proc = await asyncio.create_subprocess_exec(
        PRIVICORE,
        *("demo", "--devices", "200", "--latency", "0.5"),
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    assert proc.stdout is not None
    try:
        header = await asyncio.wait_for(proc.stdout.readline(), 15)
        assert header.startswith(b"privicore demo: sandbox on")
        await asyncio.sleep(0.3)  # onboarding is under way
        proc.send_signal(signal.SIGINT)
        out, err = await asyncio.wait_for(proc.communicate(), 15)
    finally:
        if proc.returncode is None:
            proc.kill()
            await proc.wait()
    assert proc.returncode == 130
    assert err.decode().splitlines()[-1] == "privicore demo: interrupted"
    assert b"Traceback" not in err
    assert b"result:" not in out


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


async def test_sandbox_subcommand_serves_until_sigint() -> None:
    port = free_port()
    proc = await asyncio.create_subprocess_exec(
        PRIVICORE,
        *("sandbox", "--port", str(port), "--latency", "0.01"),
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    assert proc.stdout is not None
    try:
        line = (await asyncio.wait_for(proc.stdout.readline(), 15)).decode()
        assert line == f"privicore sandbox listening on http://127.0.0.1:{port}\n"
        async with (
            aiohttp.ClientSession() as http,
            http.get(f"http://127.0.0.1:{port}/health") as answer,
        ):
            assert answer.status == 200
            assert await answer.json() == {"status": "ok"}
        proc.send_signal(signal.SIGINT)
        _, err = await asyncio.wait_for(proc.communicate(), 15)
    finally:
        if proc.returncode is None:
            proc.kill()
            await proc.wait()
    assert proc.returncode == 0
    assert err == b""


# -- the progress line ---------------------------------------------------------------------


class Terminal:
    """A stream that says it is a terminal and keeps what was written."""

    def __init__(self, tty: bool) -> None:
        self.text = ""
        self.tty = tty

    def write(self, text: str) -> int:
        self.text += text
        return len(text)

    def flush(self) -> None:
        pass

    def isatty(self) -> bool:
        return self.tty


class Clock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def test_progress_redraws_in_place_at_most_20_times_a_second() -> None:
    stream, clock = Terminal(tty=True), Clock()
    line = ProgressLine(stream, "sync", 1000, clock=clock)  # type: ignore[arg-type]
    for done in range(1, 1001):
        clock.now = done * 0.001  # 1000 updates in one second
        line.update(done, f"ok {done}")
    line.finish()
    line.finish()
    draws = stream.text.split("\r")[1:]
    assert 20 <= len(draws) <= 22
    assert draws[0].startswith("sync    [..............................]     1/1000  ok 1")
    assert draws[-1] == "sync    [##############################]  1000/1000  ok 1000\n"
    assert stream.text.count("\n") == 1


def test_progress_pads_a_shorter_line_over_a_longer_one() -> None:
    stream, clock = Terminal(tty=True), Clock()
    line = ProgressLine(stream, "sync", 10, clock=clock)  # type: ignore[arg-type]
    line.update(1, "a long detail")
    clock.now = 1.0
    line.update(2, "short")
    assert stream.text.split("\r")[-1].endswith("2/10  short" + " " * 8)


def test_progress_prints_a_few_plain_lines_off_a_terminal() -> None:
    stream = Terminal(tty=False)
    line = ProgressLine(stream, "onboard", 200)  # type: ignore[arg-type]
    for done in range(1, 201):
        line.update(done)
    line.finish()
    assert [row.split()[-1] for row in stream.text.splitlines()] == [
        "50/200",
        "100/200",
        "150/200",
        "200/200",
    ]


def test_progress_finish_shows_where_an_interrupted_task_stopped() -> None:
    stream = Terminal(tty=False)
    line = ProgressLine(stream, "sync", 100)  # type: ignore[arg-type]
    line.update(7)
    line.finish()
    assert stream.text == "sync    [##............................]    7/100\n"


# -- the summary ---------------------------------------------------------------------------


def test_unexpected_names_each_device_that_ended_otherwise() -> None:
    expected = {
        "a": SUCCEEDS,
        "b": "device.offline",
        UNKNOWN_DEVICE: "device.not_found",
        "c": SUCCEEDS,
    }
    report = SyncReport(
        (
            DeviceSyncOutcome("a", SyncOutcome.SUCCEEDED, "1"),
            DeviceSyncOutcome("b", SyncOutcome.TIMED_OUT, "2"),
            DeviceSyncOutcome(UNKNOWN_DEVICE, SyncOutcome.REJECTED, "3", "device.not_found"),
        ),
        elapsed=0.5,
    )
    assert unexpected(expected, report) == [
        "b: expected device.offline, got timed out",
        "c: no outcome reported",
    ]
    lines = summary_lines(DemoRun(expected, report, status_requests=6, commands=3, wall_time=1))
    assert "  timed out  1" in lines
    assert "  device.not_found: 1" in lines
    assert "throughput: 3 devices in 0.50 s = 6.0 devices/s" in lines
    assert "status requests per command: 2.00 (6 status requests for 3 sync commands)" in lines
    assert "result: NOT as expected (2 devices ended otherwise)" in lines
