"""Polling matrix: the SDK's poller, a naive fixed-interval poller and an oracle, cell by cell.

One sandbox child process; for every cell of workload x latency x jitter, three pollers run
back to back on the same devices (order rotated from cell to cell, 0.5 s of quiet between runs):

* **SDK** - a fresh ``PrivicoreClient`` with the default ``PollPolicy()`` and no WebSocket;
  ``storage.sync_device`` per command, the outcome time taken in a done-callback.
* **naive** - plain aiohttp, one task per command: ``POST /storage/sync-device``, then
  ``POST /request-status/{id}`` at once and every 0.5 s until the command is final.
* **oracle** - the physical limit: plain aiohttp; as soon as a command's 202 is back it asks
  the sandbox when the command will settle (``GET /_sandbox/due``) and reads its status once,
  at that time (+1 ms); if the read still says pending (clock resolution, a busy sandbox) it
  reads again every 5 ms.

Workloads (``storage.sync_device`` on pre-onboarded storage devices of one profile): ``burst``
(2,000 at once), ``gated`` (2,000 through an ``asyncio.Semaphore(100)`` held until each
settles), ``steady`` (20/s for 15 s), ``bursts`` (100 every second for 15 s); latency 0.05,
0.2, 2 and 10 s; jitter 0 or 50 % (a command settles ``latency + uniform(0, jitter x latency)``
after it was accepted). Per poller and cell: status reads per command (client count and the
sandbox's), detection lag p50/p99 (time the poller learned the outcome - the sandbox's
``settled_at``), client CPU per command.

Then separate checks (numbers with PASS/FAIL): status reads per second with pushed acks and
50,000 pending commands; the worst event-loop stall while 50,000 commands are tracked and
settle; submit and status-read throughput against a bare aiohttp loop; ``vault.retrieve_to``
against a bare aiohttp download.

    .venv/bin/python benchmarks/polling_matrix.py [--quick] [--cells PATTERNS] [--rounds R]
                                                  [--checks NAMES] [--strict]

Exit status: 0 when the run completed (1 with ``--strict`` if a target failed), 130 when
interrupted (the sandbox process is stopped in every case).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import fnmatch
import gc
import json
import math
import os
import signal
import statistics
import sys
import tempfile
import time
import types
import uuid
from collections import Counter
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Protocol

import aiohttp
from _common import git_revision, machine_info, percentile
from bulk_sync import fetch_token, post_sync, setup_devices, status_code

from privicore_async import CommandHandle, PollPolicy, PrivicoreClient
from privicore_async.crypto import DataKey
from privicore_async.errors import PrivicoreError
from privicore_async.sandbox import SandboxAdmin, SandboxProcess

RESULTS = Path(__file__).resolve().parent / "results" / "polling_matrix.json"

NAIVE_INTERVAL = 0.5  # the naive poller's fixed interval (the reference client's value)
ORACLE_EPSILON = 0.001  # the oracle reads this long after the due time
ORACLE_RETRY = 0.005  # and again this often while the read still says pending
GATE = 100  # the gated workload's semaphore
CONNECTIONS = 100  # concurrency of the throughput checks (the SDK's and aiohttp's pool)
COOLDOWN = 0.5  # seconds of quiet before every measured run
SETUP_LATENCY = 0.01
PASSWORD = "bench-matrix-pass-1"
DEFAULT_TARGET_LAG = 0.1  # used when PollPolicy has no target_lag
STALL_TICK = 0.005  # the stall probe sleeps this long in a loop
STALL_LIMIT = 0.050
WS_READS_PER_S_LIMIT = 20.0
SUBMIT_RATIO_LIMIT = 0.9
READ_RATIO_LIMIT = 0.95
VAULT_RATIO_LIMIT = 0.8
THROUGHPUT_LATENCY = 3600.0  # nothing submitted by the throughput check settles during the run
FALLBACK_SUBMIT_RATE = 800.0  # commands/s, when the throughput check did not run
MIB = 1 << 20

PENDING_CODE = 1  # command_status 1 = started (wire reference §a5)
OUTCOME_BY_CODE = {2: "succeeded", 3: "rejected"}
POLLERS = ("sdk", "naive", "oracle")
LABELS = {"sdk": "SDK", "naive": "naive", "oracle": "oracle"}
CHECKS = ("throughput", "vault", "stall", "ws")


# -- configuration ------------------------------------------------------------------------------


@dataclass(frozen=True)
class Scale:
    """Sizes of one run (the default or ``--quick``)."""

    devices: int
    burst: int
    gated: int
    steady_rate: int
    steady_seconds: int
    bursts_size: int
    bursts_seconds: int
    latencies: tuple[float, ...]
    jitters: tuple[float, ...]
    workloads: tuple[str, ...]
    pending: int  # commands of the stall and WebSocket checks
    ws_window: float
    throughput_requests: int
    throughput_rounds: int
    vault_mib: int
    vault_rounds: int


FULL = Scale(
    devices=2000,
    burst=2000,
    gated=2000,
    steady_rate=20,
    steady_seconds=15,
    bursts_size=100,
    bursts_seconds=15,
    latencies=(0.05, 0.2, 2.0, 10.0),
    jitters=(0.0, 0.5),
    workloads=("burst", "gated", "steady", "bursts"),
    pending=50_000,
    ws_window=20.0,
    throughput_requests=5000,
    throughput_rounds=3,
    vault_mib=100,
    vault_rounds=3,
)
QUICK = Scale(
    devices=500,
    burst=500,
    gated=500,
    steady_rate=20,
    steady_seconds=5,
    bursts_size=100,
    bursts_seconds=5,
    latencies=(0.05, 0.2, 2.0),
    jitters=(0.0, 0.5),
    workloads=("burst", "steady"),
    pending=10_000,
    ws_window=20.0,
    throughput_requests=2000,
    throughput_rounds=2,
    vault_mib=32,
    vault_rounds=2,
)


@dataclass(frozen=True)
class Workload:
    """When each command is submitted (seconds from the run's start) and whether it is gated."""

    name: str
    offsets: tuple[float, ...]
    gate: int | None = None  # commands in flight at once, each slot held until it settles

    @property
    def commands(self) -> int:
        return len(self.offsets)

    @property
    def span(self) -> float:
        return self.offsets[-1] if self.offsets else 0.0


def make_workloads(scale: Scale) -> dict[str, Workload]:
    steady = scale.steady_rate * scale.steady_seconds
    return {
        "burst": Workload("burst", (0.0,) * scale.burst),
        "gated": Workload("gated", (0.0,) * scale.gated, gate=GATE),
        "steady": Workload("steady", tuple(i / scale.steady_rate for i in range(steady))),
        "bursts": Workload(
            "bursts",
            tuple(
                float(second)
                for second in range(scale.bursts_seconds)
                for _ in range(scale.bursts_size)
            ),
        ),
    }


@dataclass(frozen=True)
class Cell:
    workload: Workload
    latency: float
    jitter_ratio: float

    @property
    def id(self) -> str:
        return f"{self.workload.name}-{self.latency:g}-j{round(self.jitter_ratio * 100)}"

    @property
    def jitter(self) -> float:
        """The sandbox's jitter in seconds (the upper bound of the uniform extra delay)."""
        return round(self.latency * self.jitter_ratio, 6)

    def describe(self) -> dict[str, Any]:
        w = self.workload
        return {
            "workload": w.name,
            "commands": w.commands,
            "gate": w.gate,
            "span_s": w.span,
            "latency": self.latency,
            "jitter_ratio": self.jitter_ratio,
            "jitter_s": self.jitter,
        }


def make_cells(scale: Scale, patterns: Sequence[str]) -> list[Cell]:
    workloads = make_workloads(scale)
    cells = [
        Cell(workloads[name], latency, jitter)
        for name in scale.workloads
        for latency in scale.latencies
        for jitter in scale.jitters
    ]
    if patterns:
        cells = [c for c in cells if any(fnmatch.fnmatchcase(c.id, p) for p in patterns)]
    return cells


def target_lag() -> float:
    """The SDK's own lag target if its policy has one, else 0.1 s."""
    value = getattr(PollPolicy(), "target_lag", None)
    return float(value) if isinstance(value, int | float) else DEFAULT_TARGET_LAG


@dataclass
class Env:
    """What every measured run needs: the sandbox's URLs, its admin API, a profile's devices."""

    api_url: str
    ws_url: str
    upstream_url: str
    downstream_url: str
    admin: SandboxAdmin
    username: str
    devices: list[str]
    spare_username: str = ""  # a second profile for the throughput check
    spare_devices: list[str] = field(default_factory=list)


# -- one run's observations ---------------------------------------------------------------------


class Run:
    """What one poller observed in one cell: per command id, submit/learn times and reads."""

    def __init__(self, poller: str, cell: str, round_no: int, commands: int) -> None:
        self.poller = poller
        self.cell = cell
        self.round = round_no
        self.commands = commands
        self.started = 0.0
        self.cpu = 0.0
        self.submitted: dict[str, float] = {}
        self.learned: dict[str, float] = {}
        self.reads: dict[str, int] = {}
        self.outcomes: Counter[str] = Counter()
        self.failures: list[str] = []
        self.notes: Counter[str] = Counter()
        self.unfinished = 0
        self.sandbox_reads = 0
        self._left = commands
        self.all_done: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        if commands == 0:
            self.all_done.set_result(None)

    def learn(self, command_id: str, reads: int, outcome: str) -> None:
        self.learned[command_id] = time.time()
        self.reads[command_id] = reads
        self.outcomes[outcome] += 1
        self._finished()

    def fail(self, error: BaseException) -> None:
        self.failures.append(f"{type(error).__name__}: {error}")
        self._finished()

    def on_handle_done(self, handle: CommandHandle) -> None:
        """A done-callback of the SDK's handles."""
        if handle.cancelled():  # the client closed after a run timed out: not an outcome
            return
        error = handle.exception()
        outcome = handle.status.value if error is None else type(error).__name__
        self.learn(handle.command_id or "", handle.polls, outcome)

    def _finished(self) -> None:
        self._left -= 1
        if self._left == 0 and not self.all_done.done():
            self.all_done.set_result(None)

    def summary(self, settled: dict[str, float]) -> dict[str, Any]:
        n = max(1, self.commands)
        lags = [at - settled[cid] for cid, at in self.learned.items() if cid in settled]
        reads = Counter(self.reads.values())
        return {
            "poller": self.poller,
            "cell": self.cell,
            "round": self.round,
            "commands": self.commands,
            "outcomes": dict(self.outcomes),
            "failures": len(self.failures),
            "failure_examples": self.failures[:3],
            "unfinished": self.unfinished,
            "wall_s": max(self.learned.values(), default=self.started) - self.started,
            "submit_s": max(self.submitted.values(), default=self.started) - self.started,
            "reads_per_cmd_client": sum(self.reads.values()) / n,
            "reads_per_cmd_sandbox": self.sandbox_reads / n,
            "lag_matched": len(lags),
            "lag_p50_ms": percentile(lags, 50) * 1000,
            "lag_p90_ms": percentile(lags, 90) * 1000,
            "lag_p99_ms": percentile(lags, 99) * 1000,
            "lag_max_ms": max(lags, default=math.nan) * 1000,
            "cpu_per_cmd_us": self.cpu / n * 1e6,
            "reads_histogram": {str(k): reads[k] for k in sorted(reads)},
            "notes": dict(self.notes),
        }


# -- plain aiohttp requests (the naive poller, the oracle, the bare loops) ----------------------


async def read_code(session: aiohttp.ClientSession, api_url: str, command_id: str) -> int:
    """``POST /request-status/{id}`` with ``{}``: the ``command_status`` code of its word."""
    async with session.post(f"{api_url}/request-status/{command_id}", json={}) as response:
        body = await response.json()
    return status_code(body)


# -- the three pollers --------------------------------------------------------------------------


class Poller(Protocol):
    async def one(self, device: str, run: Run, hold: bool) -> None:
        """Submit one command. Its outcome reaches ``run`` (``learn``) once known; with
        ``hold`` (a gated workload) return only then."""
        ...


class SdkPoller:
    def __init__(self, client: PrivicoreClient) -> None:
        self._client = client

    async def one(self, device: str, run: Run, hold: bool) -> None:
        handle = await self._client.storage.sync_device(device)
        # Same step as the handle is returned: nothing can settle it in between.
        handle.add_done_callback(run.on_handle_done)
        run.submitted[handle.command_id or ""] = time.time()
        if hold:
            with contextlib.suppress(PrivicoreError):  # the done-callback recorded it
                await handle.wait()


class NaivePoller:
    def __init__(self, session: aiohttp.ClientSession, api_url: str, token: str) -> None:
        self._session = session
        self._api_url = api_url
        self._token = token

    async def one(self, device: str, run: Run, hold: bool) -> None:
        command_id = await post_sync(self._session, self._api_url, self._token, device)
        run.submitted[command_id] = time.time()
        reads = 0
        while True:
            code = await read_code(self._session, self._api_url, command_id)
            reads += 1
            if code != PENDING_CODE:
                run.learn(command_id, reads, OUTCOME_BY_CODE.get(code, "other"))
                return
            await asyncio.sleep(NAIVE_INTERVAL)


class DueWatcher:
    """Learns when each command will settle from ``GET /_sandbox/due``.

    An id is asked about only after its 202 came back, so the command was pending when the
    sandbox answered it, unless it had settled already: an id missing from the answer has
    settled (``None``). Ids that arrive while a request is out go in the next one.
    """

    def __init__(self, admin: SandboxAdmin) -> None:
        self._admin = admin
        self._waiting: dict[str, asyncio.Future[float | None]] = {}
        self._wake = asyncio.Event()
        self._task: asyncio.Task[None] | None = None
        self.requests = 0

    async def due_of(self, command_id: str) -> float | None:
        future: asyncio.Future[float | None] = asyncio.get_running_loop().create_future()
        self._waiting[command_id] = future
        self._wake.set()
        return await future

    def start(self) -> None:
        self._task = asyncio.create_task(self._run())

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task

    async def _run(self) -> None:
        while True:
            await self._wake.wait()
            self._wake.clear()
            asked, self._waiting = self._waiting, {}
            try:
                due = await self._admin.due()
            except Exception as exc:
                for future in asked.values():
                    future.set_exception(exc)
                continue
            self.requests += 1
            for command_id, future in asked.items():
                if not future.done():
                    future.set_result(due.get(command_id))


class OraclePoller:
    def __init__(
        self, session: aiohttp.ClientSession, api_url: str, token: str, watcher: DueWatcher
    ) -> None:
        self._session = session
        self._api_url = api_url
        self._token = token
        self._watcher = watcher

    async def one(self, device: str, run: Run, hold: bool) -> None:
        command_id = await post_sync(self._session, self._api_url, self._token, device)
        run.submitted[command_id] = time.time()
        due = await self._watcher.due_of(command_id)
        if due is None:
            run.notes["settled_before_due_known"] += 1
        when = time.time() if due is None else due + ORACLE_EPSILON
        reads = 0
        while True:
            delay = when - time.time()
            if delay > 0:
                await asyncio.sleep(delay)
            code = await read_code(self._session, self._api_url, command_id)
            reads += 1
            if code != PENDING_CODE:
                run.notes["reads_after_the_first"] += reads - 1
                run.learn(command_id, reads, OUTCOME_BY_CODE.get(code, "other"))
                return
            when = time.time() + ORACLE_RETRY


@contextlib.asynccontextmanager
async def sdk_poller(env: Env) -> AsyncIterator[Poller]:
    async with PrivicoreClient(env.api_url, username=env.username, password=PASSWORD) as client:
        await client.profile.authenticate()  # the others hold their token beforehand too
        yield SdkPoller(client)


@contextlib.asynccontextmanager
async def naive_poller(env: Env) -> AsyncIterator[Poller]:
    token = await fetch_token(env.api_url, env.username, PASSWORD)
    async with aiohttp.ClientSession() as session:  # aiohttp's default: 100 connections
        yield NaivePoller(session, env.api_url, token)


@contextlib.asynccontextmanager
async def oracle_poller(env: Env) -> AsyncIterator[Poller]:
    token = await fetch_token(env.api_url, env.username, PASSWORD)
    watcher = DueWatcher(env.admin)  # on the admin session: it takes none of the 100 slots
    async with aiohttp.ClientSession() as session:
        watcher.start()
        try:
            yield OraclePoller(session, env.api_url, token, watcher)
        finally:
            await watcher.stop()


POLLER_FACTORIES: dict[str, Callable[[Env], contextlib.AbstractAsyncContextManager[Poller]]] = {
    "sdk": sdk_poller,
    "naive": naive_poller,
    "oracle": oracle_poller,
}


# -- driving a workload -------------------------------------------------------------------------


async def one_command(
    poller: Poller, device: str, run: Run, gate: asyncio.Semaphore | None
) -> None:
    try:
        if gate is None:
            await poller.one(device, run, hold=False)
        else:
            async with gate:
                await poller.one(device, run, hold=True)
    except Exception as exc:
        run.fail(exc)


async def drive(
    poller: Poller, workload: Workload, devices: Sequence[str], run: Run, timeout: float
) -> None:
    """Submit each command at its offset (a task each); return once every outcome is known."""
    loop = asyncio.get_running_loop()
    gate = asyncio.Semaphore(workload.gate) if workload.gate else None
    tasks: set[asyncio.Task[None]] = set()
    start = loop.time()
    try:
        for index, offset in enumerate(workload.offsets):
            delay = start + offset - loop.time()
            if delay > 0:
                await asyncio.sleep(delay)
            device = devices[index % len(devices)]
            task = asyncio.create_task(one_command(poller, device, run, gate))
            tasks.add(task)
            task.add_done_callback(tasks.discard)
        try:
            await asyncio.wait_for(asyncio.shield(run.all_done), timeout)
        except TimeoutError:
            run.unfinished = run.commands - len(run.learned) - len(run.failures)
    finally:
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)


def run_timeout(cell: Cell) -> float:
    """Generous: a run that takes longer is recorded as unfinished, not waited for."""
    w = cell.workload
    cycle = cell.latency * (1 + cell.jitter_ratio) + NAIVE_INTERVAL + 2.0
    rounds = math.ceil(w.commands / w.gate) if w.gate else 1
    return w.span + rounds * cycle + 60.0


async def measure(env: Env, cell: Cell, poller_name: str, round_no: int) -> dict[str, Any]:
    """One poller through one cell, between two reads of the sandbox's counters."""
    await asyncio.sleep(COOLDOWN)
    run = Run(poller_name, cell.id, round_no, cell.workload.commands)
    async with POLLER_FACTORIES[poller_name](env) as poller:
        before = await env.admin.stats()
        gc.collect()
        cpu0 = time.process_time()
        run.started = time.time()
        await drive(poller, cell.workload, env.devices, run, run_timeout(cell))
        run.cpu = time.process_time() - cpu0
    after = await env.admin.stats()
    run.sandbox_reads = after["status_requests"] - before["status_requests"]
    return run.summary(await env.admin.settled())


# -- the matrix ---------------------------------------------------------------------------------

SUMMARY_KEYS = (
    "wall_s",
    "submit_s",
    "reads_per_cmd_client",
    "reads_per_cmd_sandbox",
    "lag_p50_ms",
    "lag_p90_ms",
    "lag_p99_ms",
    "lag_max_ms",
    "cpu_per_cmd_us",
    "failures",
    "unfinished",
)


def median_summary(runs: list[dict[str, Any]]) -> dict[str, float]:
    return {key: statistics.median(run[key] for run in runs) for key in SUMMARY_KEYS}


def rotated(items: Sequence[Any], shift: int) -> list[Any]:
    shift %= max(1, len(items))
    return [*items[shift:], *items[:shift]]


async def run_matrix(env: Env, cells: list[Cell], rounds: int) -> dict[str, dict[str, Any]]:
    results: dict[str, dict[str, Any]] = {
        cell.id: {**cell.describe(), "runs": {name: [] for name in POLLERS}} for cell in cells
    }
    turn = 0
    for round_no in range(1, rounds + 1):
        for cell in rotated(cells, round_no - 1):
            await env.admin.set_latency(cell.latency, cell.jitter)
            for name in rotated(POLLERS, turn):
                summary = await measure(env, cell, name, round_no)
                results[cell.id]["runs"][name].append(summary)
                print_run_line(summary)
            turn += 1
    lag_limit = target_lag()
    for cell in cells:
        data = results[cell.id]
        data["median"] = {name: median_summary(data["runs"][name]) for name in POLLERS}
        data["verdict"] = judge_cell(cell, data["median"], lag_limit)
    return results


def judge_cell(cell: Cell, median: dict[str, dict[str, float]], lag_limit: float) -> dict[str, Any]:
    """The per-cell targets: SDK against naive (medians over rounds)."""
    sdk, naive = median["sdk"], median["naive"]
    p50_limit = max(naive["lag_p50_ms"] / 2, lag_limit * 1000)
    checks = [
        ("reads", sdk["reads_per_cmd_client"], naive["reads_per_cmd_client"], "reads/cmd", 2),
        ("p50", sdk["lag_p50_ms"], p50_limit, "lag p50 ms", 0),
        ("p99", sdk["lag_p99_ms"], naive["lag_p99_ms"], "lag p99 ms", 0),
    ]
    if cell.workload.name == "steady" and cell.jitter_ratio == 0:
        checks.append(("reads<=1.3", sdk["reads_per_cmd_client"], 1.3, "reads/cmd", 2))
    out: list[dict[str, Any]] = []
    reasons: list[str] = []
    for name, value, limit, label, digits in checks:
        ok = value <= limit  # nan (no lag measured) fails
        out.append({"check": name, "sdk": value, "limit": limit, "pass": ok})
        if not ok:
            reasons.append(f"{label} {value:.{digits}f} > {limit:.{digits}f}")
    failed = [c["check"] for c in out if not c["pass"]]
    errors = sdk["failures"] + sdk["unfinished"]
    if errors:
        reasons.append(f"{errors:g} SDK commands failed or unfinished")
        failed.append("errors")
    return {
        "pass": not reasons,
        "reasons": reasons,
        "short": ",".join(failed),
        "checks": out,
        "lag_target_s": lag_limit,
    }


# -- separate checks: helpers -------------------------------------------------------------------


async def run_jobs(job: Callable[[int], Awaitable[None]], count: int, concurrency: int) -> float:
    """``job(i)`` for every ``i < count`` on ``concurrency`` workers; the seconds it took."""
    indices = iter(range(count))

    async def worker() -> None:
        for index in indices:
            await job(index)

    started = time.perf_counter()
    await asyncio.gather(*(worker() for _ in range(concurrency)))
    return time.perf_counter() - started


async def rate_of(job: Callable[[int], Awaitable[None]], count: int) -> tuple[float, float]:
    """Requests/s of ``job`` on ``CONNECTIONS`` workers, and client CPU (us) per request."""
    gc.collect()
    cpu0 = time.process_time()
    elapsed = await run_jobs(job, count, CONNECTIONS)
    return count / elapsed, (time.process_time() - cpu0) / count * 1e6


class StallMonitor:
    """A task that sleeps 5 ms in a loop and records how late each wake-up is, per phase,
    plus the longest garbage collections (``gc.callbacks``) and the peak of ``probe()``."""

    def __init__(self, probe: Callable[[], int] | None = None) -> None:
        self.phase = "start"
        self.worst: dict[str, float] = {}
        self.late: list[float] = []
        self.gc_worst = 0.0
        self.peak = 0
        self._probe = probe
        self._gc_started = 0.0

    @contextlib.asynccontextmanager
    async def running(self) -> AsyncIterator[StallMonitor]:
        gc.callbacks.append(self._on_gc)
        task = asyncio.create_task(self._run())
        try:
            yield self
        finally:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
            gc.callbacks.remove(self._on_gc)

    async def _run(self) -> None:
        loop = asyncio.get_running_loop()
        while True:
            before = loop.time()
            await asyncio.sleep(STALL_TICK)
            late = loop.time() - before - STALL_TICK
            self.late.append(late)
            self.worst[self.phase] = max(self.worst.get(self.phase, 0.0), late)
            if self._probe is not None:
                self.peak = max(self.peak, self._probe())

    def _on_gc(self, phase: str, info: dict[str, int]) -> None:
        if phase == "start":
            self._gc_started = time.perf_counter()
        else:
            self.gc_worst = max(self.gc_worst, time.perf_counter() - self._gc_started)

    def report(self) -> dict[str, Any]:
        return {
            "worst_ms": max(self.worst.values(), default=0.0) * 1000,
            "worst_by_phase_ms": {k: v * 1000 for k, v in self.worst.items()},
            "p99_ms": percentile(self.late, 99) * 1000,
            "over_limit": sum(1 for x in self.late if x > STALL_LIMIT),
            "ticks": len(self.late),
            "gc_worst_ms": self.gc_worst * 1000,
        }


class Countdown:
    """A future that completes after ``n`` calls of :meth:`one` (a done-callback)."""

    def __init__(self, n: int, on_first: Callable[[], None] | None = None) -> None:
        self.left = n
        self.future: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._on_first = on_first

    def one(self, handle: CommandHandle) -> None:
        if self._on_first is not None:
            self._on_first()
            self._on_first = None
        self.left -= 1
        if self.left <= 0 and not self.future.done():
            self.future.set_result(None)


def check(name: str, value: float, limit: float, ok: bool, **detail: Any) -> dict[str, Any]:
    return {"check": name, "value": value, "limit": limit, "pass": ok, **detail}


# -- separate checks: throughput ----------------------------------------------------------------


async def sdk_rates(env: Env, count: int) -> dict[str, float]:
    """Requests/s of ``storage.sync_device`` and of ``command_service.read_status``."""
    devices = env.spare_devices
    async with PrivicoreClient(
        env.api_url, username=env.spare_username, password=PASSWORD
    ) as client:
        await client.profile.authenticate()
        ids: list[str] = []

        async def submit(i: int) -> None:
            handle = await client.storage.sync_device(devices[i % len(devices)])
            ids.append(handle.command_id or "")

        async def read(i: int) -> None:
            await client.command_service.read_status(ids[i])

        before = await env.admin.stats()
        submit_rate, submit_cpu = await rate_of(submit, count)
        after = await env.admin.stats()
        read_rate, read_cpu = await rate_of(read, count)
    return {
        "submit": submit_rate,
        "submit_cpu_us": submit_cpu,
        "read": read_rate,
        "read_cpu_us": read_cpu,
        "tracker_reads": after["status_requests"] - before["status_requests"],
    }


async def bare_rates(env: Env, count: int) -> dict[str, float]:
    """The same with plain aiohttp (default connector: 100 connections)."""
    devices = env.spare_devices
    token = await fetch_token(env.api_url, env.spare_username, PASSWORD)
    async with aiohttp.ClientSession() as session:
        ids: list[str] = []

        async def submit(i: int) -> None:
            ids.append(await post_sync(session, env.api_url, token, devices[i % len(devices)]))

        async def read(i: int) -> None:
            await read_code(session, env.api_url, ids[i])

        submit_rate, submit_cpu = await rate_of(submit, count)
        read_rate, read_cpu = await rate_of(read, count)
    return {
        "submit": submit_rate,
        "submit_cpu_us": submit_cpu,
        "read": read_rate,
        "read_cpu_us": read_cpu,
        "tracker_reads": 0,
    }


async def throughput_check(env: Env, scale: Scale) -> dict[str, Any]:
    await env.admin.set_latency(THROUGHPUT_LATENCY, 0.0)
    count = scale.throughput_requests
    runs: dict[str, list[dict[str, float]]] = {"sdk": [], "bare": []}
    for round_no in range(scale.throughput_rounds):
        for who in rotated(("bare", "sdk"), round_no):
            await asyncio.sleep(COOLDOWN)
            rates = await (sdk_rates if who == "sdk" else bare_rates)(env, count)
            runs[who].append(rates)
            print(
                f"  throughput round {round_no + 1} {who:4}: "
                f"submit {rates['submit']:5.0f}/s ({rates['submit_cpu_us']:3.0f} us cpu/req), "
                f"read {rates['read']:5.0f}/s ({rates['read_cpu_us']:3.0f} us cpu/req)"
                + (f", {rates['tracker_reads']:.0f} tracker reads" if who == "sdk" else ""),
                flush=True,
            )
    keys = ("submit", "submit_cpu_us", "read", "read_cpu_us")
    med = {who: {k: statistics.median(r[k] for r in runs[who]) for k in keys} for who in runs}
    submit_ratio = med["sdk"]["submit"] / med["bare"]["submit"]
    read_ratio = med["sdk"]["read"] / med["bare"]["read"]
    detail = {"requests": count, "concurrency": CONNECTIONS, "runs": runs, "median": med}
    return {
        "detail": detail,
        "checks": [
            check(
                "submit throughput SDK / bare aiohttp",
                submit_ratio,
                SUBMIT_RATIO_LIMIT,
                submit_ratio >= SUBMIT_RATIO_LIMIT,
                sdk=med["sdk"]["submit"],
                bare=med["bare"]["submit"],
                unit="requests/s",
                cpu_us={"sdk": med["sdk"]["submit_cpu_us"], "bare": med["bare"]["submit_cpu_us"]},
            ),
            check(
                "status-read throughput SDK / bare aiohttp",
                read_ratio,
                READ_RATIO_LIMIT,
                read_ratio >= READ_RATIO_LIMIT,
                sdk=med["sdk"]["read"],
                bare=med["bare"]["read"],
                unit="requests/s",
                cpu_us={"sdk": med["sdk"]["read_cpu_us"], "bare": med["bare"]["read_cpu_us"]},
            ),
        ],
    }


# -- separate checks: vault retrieve_to ---------------------------------------------------------


async def chunks_of(size: int) -> AsyncIterator[bytes]:
    block = os.urandom(MIB)
    for index in range(0, size, MIB):
        yield index.to_bytes(8, "big") + block[8 : min(MIB, size - index)]


async def downstream_link(client: PrivicoreClient, token: str, downstream_url: str) -> str:
    """A fresh single-use download link for ``token`` (request-data, then the pushed answer)."""
    assert client.acks is not None
    request = await client.data_tokens.request_data(token)
    message = await client.acks.wait_request(request.request_id, timeout=30)
    body = str(message.body)
    return body if body.startswith(("http://", "https://")) else f"{downstream_url}/?auth={body}"


async def bare_download(session: aiohttp.ClientSession, link: str, target: Path) -> int:
    """``GET`` the link, writing 1 MiB chunks to a file (off the loop, like the SDK)."""
    size = 0
    file = await asyncio.to_thread(target.open, "wb")
    try:
        async with session.get(link) as response:
            response.raise_for_status()
            async for chunk in response.content.iter_chunked(MIB):
                await asyncio.to_thread(file.write, chunk)
                size += len(chunk)
    finally:
        await asyncio.to_thread(file.close)
    return size


def vault_client(env: Env, username: str) -> PrivicoreClient:
    return PrivicoreClient(
        env.api_url,
        ws_url=env.ws_url,
        upstream_url=env.upstream_url,
        downstream_url=env.downstream_url,
        username=username,
        password=PASSWORD,
    )


async def vault_check(env: Env, scale: Scale) -> dict[str, Any]:
    await env.admin.set_latency(SETUP_LATENCY, 0.0)
    size = scale.vault_mib * MIB
    username = f"bench-vault-{uuid.uuid4().hex[:8]}"
    runs: dict[str, list[float]] = {"sdk": [], "bare": []}
    async with vault_client(env, username) as client, aiohttp.ClientSession() as session:
        await client.profile.provision(username, PASSWORD)
        device = await client.devices.onboard("bench-matrix-vault-0")
        await (await client.storage.register(device)).wait(30)
        assert client.acks is not None
        if not await client.acks.wait_joined(10):
            raise RuntimeError("the vault client did not join the WebSocket within 10 s")
        key = DataKey.generate()
        stored = await client.vault.store(chunks_of(size), key, context="bench", file_name="b")
        with tempfile.TemporaryDirectory(prefix="polling-matrix-") as tmp:
            target = Path(tmp) / "out.bin"

            async def sdk_once() -> float:
                started = time.perf_counter()
                written = await client.vault.retrieve_to(stored.token, key, target, timeout=600)
                elapsed = time.perf_counter() - started
                if written != size:
                    raise RuntimeError(f"retrieve_to wrote {written} bytes, not {size}")
                return written / MIB / elapsed

            async def bare_once() -> float:
                link = await downstream_link(client, stored.token, env.downstream_url)
                started = time.perf_counter()
                got = await bare_download(session, link, target)
                return got / MIB / (time.perf_counter() - started)

            await sdk_once()  # warm-up, not measured
            await bare_once()
            for round_no in range(scale.vault_rounds):
                for who in rotated(("bare", "sdk"), round_no):
                    await asyncio.sleep(COOLDOWN)
                    gc.collect()
                    runs[who].append(await (sdk_once if who == "sdk" else bare_once)())
                    print(f"  vault round {round_no + 1} {who:4}: {runs[who][-1]:.0f} MiB/s")
    sdk, bare = statistics.median(runs["sdk"]), statistics.median(runs["bare"])
    return {
        "detail": {"mib": scale.vault_mib, "runs_mib_s": runs},
        "checks": [
            check(
                "vault.retrieve_to / bare aiohttp GET to a file",
                sdk / bare,
                VAULT_RATIO_LIMIT,
                sdk / bare >= VAULT_RATIO_LIMIT,
                sdk=sdk,
                bare=bare,
                unit="MiB/s",
            )
        ],
    }


# -- separate checks: stall and pushed acks at many pending commands ----------------------------


async def stall_check(env: Env, scale: Scale, submit_rate: float) -> dict[str, Any]:
    """``pending`` commands tracked by a polling SDK; they all settle after the last submit.

    The latency is set from the measured submit rate so the last command is accepted before
    the first one settles: the tracker then holds every command at once, and they settle at
    the pace they were accepted (one sandbox timer), while the probe measures the loop.
    """
    n = scale.pending
    latency = round(n / submit_rate * 1.2 + 2.0, 1)
    await env.admin.set_latency(latency, 0.0)
    await asyncio.sleep(COOLDOWN)
    ids: list[str] = []
    async with PrivicoreClient(env.api_url, username=env.username, password=PASSWORD) as client:
        await client.profile.authenticate()
        monitor = StallMonitor(lambda: client.tracker.pending)

        def first_settled() -> None:
            monitor.phase = "settling"

        countdown = Countdown(n, first_settled)

        async def submit(i: int) -> None:
            handle = await client.storage.sync_device(env.devices[i % len(env.devices)])
            handle.add_done_callback(countdown.one)
            ids.append(handle.command_id or "")

        gc.collect()
        async with monitor.running():
            monitor.phase = "submitting"
            started = time.time()
            submit_s = await run_jobs(submit, n, CONNECTIONS)
            if monitor.phase == "submitting":
                monitor.phase = "all tracked"
            await asyncio.wait_for(countdown.future, latency + submit_s + 300)
            done_s = time.time() - started
    settled = await env.admin.settled()
    times = sorted(settled[cid] - started for cid in ids if cid in settled)
    stall = monitor.report()
    detail = {
        "commands": n,
        "latency_s": latency,
        "submit_s": submit_s,
        "all_known_s": done_s,
        "peak_tracked": monitor.peak,
        "settled_from_s": times[0] if times else math.nan,
        "settled_to_s": times[-1] if times else math.nan,
        **stall,
    }
    return {
        "detail": detail,
        "checks": [
            check(
                f"worst event-loop stall, {n:,} commands tracked (ms)",
                stall["worst_ms"],
                STALL_LIMIT * 1000,
                stall["worst_ms"] <= STALL_LIMIT * 1000,
            )
        ],
    }


async def ws_check(env: Env, scale: Scale, submit_rate: float) -> dict[str, Any]:
    """Pushed acks live and ``pending`` commands that do not settle: status reads per second."""
    n, window = scale.pending, scale.ws_window
    latency = max(120.0, round(n / submit_rate * 2 + window + 30))
    await env.admin.set_latency(latency, 0.0)
    await asyncio.sleep(COOLDOWN)
    handles: list[CommandHandle] = []
    async with PrivicoreClient(
        env.api_url, ws_url=env.ws_url, username=env.username, password=PASSWORD
    ) as client:
        await client.profile.authenticate()
        assert client.acks is not None
        if not await client.acks.wait_joined(10):
            raise RuntimeError(f"the ack channel {env.ws_url} did not join within 10 s")

        async def submit(i: int) -> None:
            handles.append(await client.storage.sync_device(env.devices[i % len(env.devices)]))

        async def counters() -> dict[str, float]:
            stats = await env.admin.stats()
            return {
                "sandbox": stats["status_requests"],
                "client": sum(h.polls for h in handles),
                "acks": stats["ws"]["acks_sent"],
                "at": time.time(),
            }

        submit_s = await run_jobs(submit, n, CONNECTIONS)
        monitor = StallMonitor(lambda: client.tracker.pending)
        before = await counters()
        async with monitor.running():
            await asyncio.sleep(window)
        after = await counters()
        joined = client.acks.joined
        settled = sum(1 for h in handles if h.done())
    delta = {key: after[key] - before[key] for key in after}
    per_s = max(delta["sandbox"], delta["client"]) / delta["at"]
    detail = {
        "commands": n,
        "latency_s": latency,
        "submit_s": submit_s,
        "window_s": delta["at"],
        "status_reads_sandbox": delta["sandbox"],
        "status_reads_client": delta["client"],
        "ws_acks_sent_per_s": delta["acks"] / delta["at"],
        "still_joined": joined,
        "settled_in_client": settled,
        "stall": monitor.report(),
    }
    return {
        "detail": detail,
        "checks": [
            check(
                f"status reads/s with acks live, {n:,} pending",
                per_s,
                WS_READS_PER_S_LIMIT,
                per_s <= WS_READS_PER_S_LIMIT,
            )
        ],
    }


async def run_checks(env: Env, scale: Scale, names: Sequence[str]) -> dict[str, Any]:
    """The separate checks, in an order that keeps each one's leftovers out of the next."""
    out: dict[str, Any] = {}
    submit_rate = FALLBACK_SUBMIT_RATE
    if "throughput" in names:
        print("\nthroughput (SDK vs bare aiohttp, same concurrency):", flush=True)
        out["throughput"] = await guarded("throughput", throughput_check(env, scale))
        if "median" in out["throughput"]["detail"]:
            submit_rate = out["throughput"]["detail"]["median"]["sdk"]["submit"]
    if "vault" in names:
        print("\nvault.retrieve_to vs a bare download:", flush=True)
        out["vault"] = await guarded("vault", vault_check(env, scale))
    if "stall" in names:
        print(f"\nevent-loop stall, {scale.pending:,} commands (polling SDK):", flush=True)
        out["stall"] = await guarded("stall", stall_check(env, scale, submit_rate))
    if "ws" in names:  # last: its commands stay pending in the sandbox
        print(f"\nstatus reads with acks live, {scale.pending:,} pending:", flush=True)
        out["ws"] = await guarded("ws", ws_check(env, scale, submit_rate))
    return out


async def guarded(name: str, run: Awaitable[dict[str, Any]]) -> dict[str, Any]:
    """A check that raises is a FAIL with the error, and the run goes on."""
    try:
        return await run
    except Exception as exc:
        error = f"{type(exc).__name__}: {exc}"
        print(f"  {name} check failed: {error}", flush=True)
        return {"detail": {"error": error}, "checks": [check(name, math.nan, math.nan, False)]}


# -- report -------------------------------------------------------------------------------------


def print_run_line(s: dict[str, Any]) -> None:
    print(
        f"  {s['cell']:16} r{s['round']} {LABELS[s['poller']]:6}: "
        f"wall {s['wall_s']:6.2f} s, reads/cmd {s['reads_per_cmd_client']:5.2f}, "
        f"lag p50 {s['lag_p50_ms']:6.0f} p99 {s['lag_p99_ms']:6.0f} ms, "
        f"cpu {s['cpu_per_cmd_us']:5.0f} us/cmd, outcomes {s['outcomes']}"
        + (f", failures {s['failures']}" if s["failures"] else "")
        + (f", unfinished {s['unfinished']}" if s["unfinished"] else ""),
        flush=True,
    )


def print_cell_table(matrix: dict[str, dict[str, Any]], rounds: int) -> None:
    title = f"per cell, median of {rounds} round(s)"
    print(f"\n{title}\n" + "-" * len(title))
    print(
        f"{'cell':16} {'poller':6} {'reads/cmd':>9} {'(sandbox)':>9} {'lag p50':>8} "
        f"{'p99 ms':>7} {'cpu us/cmd':>10} {'wall s':>7}"
    )
    for cell_id, data in matrix.items():
        for i, name in enumerate(POLLERS):
            m = data["median"][name]
            print(
                f"{cell_id if i == 0 else '':16} {LABELS[name]:6} "
                f"{m['reads_per_cmd_client']:9.2f} {m['reads_per_cmd_sandbox']:9.2f} "
                f"{m['lag_p50_ms']:8.0f} {m['lag_p99_ms']:7.0f} {m['cpu_per_cmd_us']:10.0f} "
                f"{m['wall_s']:7.2f}"
            )


def print_verdict_matrix(matrix: dict[str, dict[str, Any]]) -> None:
    cells = list(matrix.values())
    jitters = sorted({c["jitter_ratio"] for c in cells})
    print(
        f"\nSDK vs naive per cell (reads <= naive; lag p50 <= max(naive/2, "
        f"{target_lag() * 1000:.0f} ms); p99 <= naive; steady at jitter 0: reads <= 1.3)"
    )
    rows: dict[tuple[str, float], dict[float, str]] = {}
    for c in cells:
        v = c["verdict"]
        text = "PASS" if v["pass"] else f"FAIL {v['short']}"
        rows.setdefault((c["workload"], c["latency"]), {})[c["jitter_ratio"]] = text
    width = max(len(t) for by_jitter in rows.values() for t in by_jitter.values()) + 3
    print(
        f"{'workload':9} {'latency':>8}  "
        + "".join(f"{f'jitter {j:.0%}':{width}}" for j in jitters)
    )
    for (workload, latency), by_jitter in rows.items():
        texts = (by_jitter.get(j, "-") for j in jitters)
        print(f"{workload:9} {latency:>7g}s  " + "".join(f"{t:{width}}" for t in texts))
    failed = [(cid, d["verdict"]) for cid, d in matrix.items() if not d["verdict"]["pass"]]
    for cell_id, verdict in failed:
        print(f"  FAIL {cell_id}: " + "; ".join(verdict["reasons"]))
    print(f"cells passed: {len(matrix) - len(failed)}/{len(matrix)}")


def print_checks(checks: dict[str, Any]) -> None:
    if not checks:
        return
    print("\nseparate checks")
    for name, result in checks.items():
        for c in result["checks"]:
            extra = (
                f" (SDK {c['sdk']:.0f}, bare {c['bare']:.0f} {c['unit']})" if "unit" in c else ""
            )
            if "cpu_us" in c:
                extra += f"; client CPU/request SDK {c['cpu_us']['sdk']:.0f} us, bare " + (
                    f"{c['cpu_us']['bare']:.0f} us"
                )
            limit_op = ">=" if name in ("throughput", "vault") else "<="
            verdict = "PASS" if c["pass"] else "FAIL"
            print(
                f"{verdict}  {c['check']}: {c['value']:.2f} (limit {limit_op} {c['limit']:g})"
                + extra
            )
        detail = result["detail"]
        if "error" in detail:
            print(f"      error: {detail['error']}")
        elif name == "stall":
            print(
                f"      latency {detail['latency_s']} s; submitted in {detail['submit_s']:.1f} s; "
                f"peak tracked {detail['peak_tracked']:,}; settled at "
                f"{detail['settled_from_s']:.1f}-{detail['settled_to_s']:.1f} s; "
                f"all known at {detail['all_known_s']:.1f} s; worst stall by phase (ms) "
                + ", ".join(f"{k} {v:.0f}" for k, v in detail["worst_by_phase_ms"].items())
                + f"; p99 {detail['p99_ms']:.1f} ms; {detail['over_limit']} ticks over "
                f"{STALL_LIMIT * 1000:.0f} ms; longest gc {detail['gc_worst_ms']:.0f} ms"
            )
        elif name == "ws":
            print(
                f"      {detail['status_reads_sandbox']} reads (sandbox count), "
                f"{detail['status_reads_client']} (client) in {detail['window_s']:.1f} s, "
                f"after submitting in {detail['submit_s']:.1f} s; "
                f"{detail['ws_acks_sent_per_s']:.0f} acks/s pushed; "
                f"joined: {detail['still_joined']}; worst stall "
                f"{detail['stall']['worst_ms']:.0f} ms"
            )


def all_passed(matrix: dict[str, dict[str, Any]], checks: dict[str, Any]) -> bool:
    cells_ok = all(d["verdict"]["pass"] for d in matrix.values())
    return cells_ok and all(c["pass"] for r in checks.values() for c in r["checks"])


def estimate_seconds(
    cells: Sequence[Cell], rounds: int, scale: Scale, checks: Sequence[str]
) -> float:
    """A rough forecast of the run time (for the start line; the end line has the truth)."""
    total = 0.0
    for cell in cells:
        w = cell.workload
        settle = cell.latency * (1 + cell.jitter_ratio / 2)
        naive_settle = math.ceil(settle / NAIVE_INTERVAL) * NAIVE_INTERVAL
        for poll_done in (settle + 0.2, naive_settle, settle):
            if w.gate:
                body = math.ceil(w.commands / w.gate) * (poll_done + 0.05)
            else:
                body = max(w.span, w.commands / FALLBACK_SUBMIT_RATE) + poll_done
            total += body + COOLDOWN + 0.5
    total *= rounds
    pending_submit = scale.pending / 1500
    check_time = {
        "throughput": scale.throughput_rounds * 2 * scale.throughput_requests * 2 / 1500,
        "vault": 2 + scale.vault_rounds * 2 * scale.vault_mib / 150,
        "stall": pending_submit * 2.2 + 3,
        "ws": pending_submit + scale.ws_window + 3,
    }
    return total + sum(check_time[name] for name in checks) + scale.devices / 500


# -- main ---------------------------------------------------------------------------------------


async def setup(sandbox: SandboxProcess, admin: SandboxAdmin, scale: Scale) -> Env:
    assert sandbox.api_url is not None
    assert sandbox.ws_url is not None
    await admin.set_latency(SETUP_LATENCY, 0.0)
    main_user = f"bench-matrix-{uuid.uuid4().hex[:8]}"
    spare_user = f"bench-matrix-tp-{uuid.uuid4().hex[:8]}"
    return Env(
        api_url=sandbox.api_url,
        ws_url=sandbox.ws_url,
        upstream_url=sandbox.upstream_url or "",
        downstream_url=sandbox.downstream_url or "",
        admin=admin,
        username=main_user,
        devices=await setup_devices(sandbox.api_url, main_user, PASSWORD, scale.devices),
        spare_username=spare_user,
        spare_devices=await setup_devices(sandbox.api_url, spare_user, PASSWORD, 20),
    )


async def bench(sandbox: SandboxProcess, args: argparse.Namespace) -> dict[str, Any]:
    # Inside the loop SIGTERM cancels the run, so every session and client closes normally.
    main_task = asyncio.current_task()
    assert main_task is not None
    asyncio.get_running_loop().add_signal_handler(signal.SIGTERM, main_task.cancel)
    async with aiohttp.ClientSession() as admin_session:
        admin = SandboxAdmin(sandbox.api_url, sandbox.admin_token, session=admin_session)
        t0 = time.monotonic()
        env = await setup(sandbox, admin, args.scale)
        setup_s = time.monotonic() - t0
        print(f"setup: 2 profiles, {len(env.devices)} + 20 storage devices in {setup_s:.1f} s")
        t0 = time.monotonic()
        matrix = await run_matrix(env, args.cells, args.rounds)
        matrix_s = time.monotonic() - t0
        t0 = time.monotonic()
        checks = await run_checks(env, args.scale, args.checks)
        checks_s = time.monotonic() - t0
    return {
        "setup_s": setup_s,
        "matrix_s": matrix_s,
        "checks_s": checks_s,
        "cells": matrix,
        "checks": checks,
    }


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=(__doc__ or "").split("\n\n")[0])
    p.add_argument("--quick", action="store_true", help="a reduced matrix (~3 minutes)")
    p.add_argument(
        "--cells",
        default="",
        help="comma-separated glob patterns of cell ids, e.g. 'burst-*,steady-2-j0' "
        "(ids: WORKLOAD-LATENCY-jJITTER%%)",
    )
    p.add_argument("--rounds", type=int, default=1, help="runs of each cell (medians)")
    p.add_argument(
        "--checks",
        default="all",
        help=f"separate checks to run: 'all', 'none' or a comma list of {','.join(CHECKS)}",
    )
    p.add_argument("--strict", action="store_true", help="exit 1 when a target fails")
    args = p.parse_args(argv)
    args.scale = QUICK if args.quick else FULL
    patterns = [x.strip() for x in args.cells.split(",") if x.strip()]
    args.cells = make_cells(args.scale, patterns)
    if args.checks == "all":
        args.checks = list(CHECKS)
    elif args.checks == "none":
        args.checks = []
    else:
        args.checks = [x.strip() for x in args.checks.split(",") if x.strip()]
        unknown = set(args.checks) - set(CHECKS)
        if unknown:
            p.error(f"unknown checks {sorted(unknown)}; choose from {CHECKS}")
    if args.rounds < 1:
        p.error("--rounds must be >= 1")
    if not args.cells and not args.checks:
        p.error("nothing to run: no cell matches --cells and --checks is none")
    return args


def duration(seconds: float) -> str:
    return f"{seconds:.0f} s" if seconds < 120 else f"{seconds / 60:.0f} min"


def _terminate(signum: int, frame: types.FrameType | None) -> None:
    # SIGTERM unwinds like Ctrl-C, so the sandbox child is stopped by its context manager.
    raise SystemExit(128 + signum)


def config_of(args: argparse.Namespace) -> dict[str, Any]:
    return {
        "quick": args.quick,
        "rounds": args.rounds,
        "cells": [cell.id for cell in args.cells],
        "checks": args.checks,
        "scale": asdict(args.scale),
        "naive_interval_s": NAIVE_INTERVAL,
        "oracle_epsilon_s": ORACLE_EPSILON,
        "oracle_retry_s": ORACLE_RETRY,
        "gate": GATE,
        "target_lag_s": target_lag(),
        "sdk_poll_policy": repr(PollPolicy()),
        "argv": sys.argv[1:],
    }


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    signal.signal(signal.SIGTERM, _terminate)
    started = time.monotonic()
    info = machine_info()
    info["sdk_commit"] = git_revision(Path(__file__).resolve().parent.parent)
    forecast = estimate_seconds(args.cells, args.rounds, args.scale, args.checks)
    print(
        f"polling_matrix: {len(args.cells)} cells x {len(POLLERS)} pollers, "
        f"{args.rounds} round(s), checks {args.checks or 'none'}; forecast ~{duration(forecast)}; "
        f"python {info['python']}, nproc {info['nproc']}, {info['date']}, "
        f"SDK at {info['sdk_commit']}",
        flush=True,
    )
    try:
        with SandboxProcess(latency=SETUP_LATENCY) as sandbox:
            pid = sandbox.proc.pid if sandbox.proc else "?"
            print(f"sandbox: pid {pid} at {sandbox.api_url}, ack channel {sandbox.ws_url}")
            result = asyncio.run(bench(sandbox, args))
    except (KeyboardInterrupt, asyncio.CancelledError, SystemExit):
        print("interrupted; the sandbox process was stopped", file=sys.stderr)
        return 130
    if result["cells"]:
        print_cell_table(result["cells"], args.rounds)
        print_verdict_matrix(result["cells"])
    print_checks(result["checks"])
    elapsed = time.monotonic() - started
    document = {
        "benchmark": "polling_matrix",
        "machine": info,
        "config": config_of(args),
        "elapsed_s": elapsed,
        **result,
    }
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(json.dumps(document, indent=2, default=str) + "\n")
    print(
        f"\nwrote {RESULTS} (whole run {elapsed:.0f} s: setup {result['setup_s']:.0f} s, "
        f"matrix {result['matrix_s']:.0f} s, checks {result['checks_s']:.0f} s)"
    )
    ok = all_passed(result["cells"], result["checks"])
    return 0 if ok or not args.strict else 1


if __name__ == "__main__":
    sys.exit(main())
