"""Bulk device synchronisation: the SDK's tracker against a task-per-command polling baseline.

N ``storage/sync-device`` commands (default 2,000) against the sandbox running in its own
process, at each command latency (default 0.2 s and 2 s, jitter 10 % of the latency), in
the same run:

* **SDK** - a fresh ``PrivicoreClient(api_url, username=, password=)`` per run;
  ``storage.sync_device`` for every device fired at once, each handle's outcome time taken in
  a done-callback (``handle.add_done_callback``).
* **SDK + WebSocket** - the same, with ``ws_url=`` the sandbox's ack channel: the client joins
  it (``client.acks.wait_joined(10)``) before the clock starts and pushed acks settle the
  handles; polling is only the safety net.
* **baseline** - what the public reference client does: one asyncio task per command, a
  plain aiohttp ``POST /storage/sync-device``, the id from the ``x-dpt-cab-id`` header, a
  status request (``POST /request-status/{id}``, body ``{}``) at once, then one every 0.5 s
  until the command is no longer pending.

Measured per run: wall time (first submit -> last outcome known), status requests per command
(counted client-side and cross-checked with the sandbox's counter), detection lag (time the
client learned the outcome - time the sandbox settled the command, both ``time.time()`` on
this machine) and client CPU per command (``time.process_time()`` of this process; the sandbox
is another process). Then Python memory per pending handle/task with ``tracemalloc``.

Setup (not measured): one profile and N onboarded storage devices, reused by every run.

    .venv/bin/python benchmarks/bulk_sync.py [--commands N] [--latencies 0.2,2] [--rounds R]
                                             [--quick] [--no-diagnostics] [--strict]
                                             [--poll-concurrency N]

Exit status: 0 when the run completed (1 with ``--strict`` if a target failed), 130 when
interrupted (the sandbox process is stopped in every case).
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import json
import signal
import statistics
import sys
import time
import tracemalloc
import types
import uuid
from collections import Counter
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import aiohttp
from _common import git_revision, machine_info, percentile

from privicore_async import CommandHandle, PollPolicy, PrivicoreClient
from privicore_async.sandbox import SandboxAdmin, SandboxProcess

RESULTS = Path(__file__).resolve().parent / "results" / "bulk_sync.json"

BASELINE_INTERVAL = 0.5  # seconds between the baseline's polls (the reference client's value)
JITTER_RATIO = 0.1  # sandbox jitter = 10 % of the latency (uniform extra delay in [0, j])
SETUP_LATENCY = 0.01  # command latency while onboarding devices (not measured)
SETUP_CONCURRENCY = 200
MEMORY_HANDLES = 10_000
COOLDOWN = 0.5  # seconds of quiet between measured runs
RUN_TIMEOUT = 120.0  # a run that takes longer than this is a failure, not a hang

AUTH_HEADER = "X-DPT-AUTHORIZATION"
PENDING_CODE = 1  # command_status 1 = started (wire reference §a5)
# The status endpoint answers a bare word (wire reference §a4b); its code per §a5.
CODE_BY_WORD = {"started": 1, "succeeded": 2, "rejected": 3}


def status_code(body: object) -> int:
    """The ``command_status`` code of a status answer: a bare word (the real wire)."""
    if not isinstance(body, str) or body not in CODE_BY_WORD:
        raise RuntimeError(f"unexpected status answer {body!r}")
    return CODE_BY_WORD[body]


# -- the baseline: one task per command ---------------------------------------------------------


class BaselineRecord:
    """What one baseline command learned (kept minimal: a few floats and an int)."""

    __slots__ = ("command_id", "learned_at", "outcome", "polls", "submitted_at")

    def __init__(self) -> None:
        self.command_id: str | None = None
        self.submitted_at = 0.0
        self.learned_at = 0.0
        self.polls = 0
        self.outcome: int | None = None


async def post_sync(session: aiohttp.ClientSession, api_url: str, token: str, device: str) -> str:
    """Plain aiohttp ``POST /storage/sync-device``; the command id is the 202's body, a bare
    JSON string (the reference client's submit, also the naive poller's and the oracle's)."""
    async with session.post(
        f"{api_url}/storage/sync-device",
        data={"deviceIdentifier": device},
        headers={AUTH_HEADER: token},
    ) as response:
        body = await response.read()
        if response.status != 202:
            raise RuntimeError(f"sync-device answered {response.status}")
        command_id = json.loads(body)
        if not isinstance(command_id, str):
            raise RuntimeError(f"sync-device answered {body[:80]!r}, not a command id")
        return command_id


async def baseline_command(
    session: aiohttp.ClientSession,
    api_url: str,
    token: str,
    record: BaselineRecord,
    *,
    device_identifier: str | None = None,
    command_id: str | None = None,
    interval: float = BASELINE_INTERVAL,
    poll_first: bool = True,
) -> None:
    """The reference client's loop: submit, poll at once, then every ``interval`` s.

    With ``command_id`` given the submit is skipped (the memory benchmark uses that, with
    ``poll_first=False`` and a long interval, for tasks that sleep in their poll loop).
    """
    if command_id is None:
        command_id = await post_sync(session, api_url, token, device_identifier)
        record.submitted_at = time.time()
    record.command_id = command_id
    if not poll_first:
        await asyncio.sleep(interval)
    while True:
        async with session.post(f"{api_url}/request-status/{command_id}", json={}) as response:
            body = await response.json()
        record.polls += 1
        code = status_code(body)
        if code != PENDING_CODE:
            record.learned_at = time.time()
            record.outcome = code
            return
        await asyncio.sleep(interval)


# -- one measured run ---------------------------------------------------------------------------


class Run:
    """The raw observations of one run (SDK, SDK + WebSocket or baseline) at one latency."""

    def __init__(self, kind: str, latency: float, round_no: int) -> None:
        self.kind = kind
        self.latency = latency
        self.round = round_no
        self.started = 0.0
        self.last_submitted = 0.0
        self.cpu = 0.0
        self.submitted: dict[str, float] = {}  # command id -> wall time its 202 came back
        self.learned: dict[str, float] = {}  # command id -> wall time the client knew
        self.polls: dict[str, int] = {}  # command id -> status requests (client-side)
        self.outcomes: Counter[str] = Counter()
        self.failures: list[str] = []
        self.sandbox_status_requests = 0
        self.sandbox_requests_total = 0
        self.sandbox_acks_sent = 0  # WebSocket acks (progress and settle) the sandbox sent
        self.settled: dict[str, float] = {}
        self.trace: dict[str, list[tuple[float, float]]] | None = None  # diagnostics only

    def summary(self, commands: int) -> dict[str, Any]:
        """Numbers for the table and the JSON."""
        lags = [
            self.learned[cid] - self.settled[cid] for cid in self.learned if cid in self.settled
        ]
        wall = max(self.learned.values(), default=self.started) - self.started
        client_polls = sum(self.polls.values())
        poll_counts = Counter(self.polls.values())
        out: dict[str, Any] = {
            "kind": self.kind,
            "latency": self.latency,
            "round": self.round,
            "commands": commands,
            "outcomes": dict(self.outcomes),
            "failures": len(self.failures),
            "failure_examples": self.failures[:3],
            "wall_s": wall,
            "submit_s": self.last_submitted - self.started,
            "status_per_cmd_client": client_polls / commands,
            "status_per_cmd_sandbox": self.sandbox_status_requests / commands,
            "sandbox_requests_total": self.sandbox_requests_total,
            "ws_acks_per_cmd_sandbox": self.sandbox_acks_sent / commands,
            "lag_matched": len(lags),
            "lag_p50_ms": percentile(lags, 50) * 1000,
            "lag_p90_ms": percentile(lags, 90) * 1000,
            "lag_p99_ms": percentile(lags, 99) * 1000,
            "lag_max_ms": max(lags, default=float("nan")) * 1000,
            "lag_min_ms": min(lags, default=float("nan")) * 1000,
            "cpu_per_cmd_us": self.cpu / commands * 1e6,
            "polls_histogram": {str(k): poll_counts[k] for k in sorted(poll_counts)},
        }
        settle_age = [
            self.settled[cid] - self.submitted[cid] for cid in self.submitted if cid in self.settled
        ]
        out["settle_age_p50_ms"] = percentile(settle_age, 50) * 1000
        if self.trace is not None:
            out["diagnostics"] = self._diagnostics()
        return out

    def _diagnostics(self) -> dict[str, Any]:
        """When the SDK's status requests happened relative to submission and settlement."""
        assert self.trace is not None
        first_age: list[float] = []
        first_vs_settle: list[float] = []
        early: list[int] = []
        after_settle: list[int] = []
        rtt: list[float] = []
        for cid, requests in self.trace.items():
            if cid not in self.submitted or cid not in self.settled:
                continue
            submitted, settled = self.submitted[cid], self.settled[cid]
            starts = sorted(start for start, _ in requests)
            first_age.append(starts[0] - submitted)
            first_vs_settle.append(starts[0] - settled)
            early.append(sum(1 for s in starts if s < settled))
            after_settle.append(sum(1 for s in starts if s >= settled))
            rtt.extend(end - start for start, end in requests)
        pct = (10, 50, 90, 99)
        spread = (1, 50, 99)
        arrivals = [self.submitted[cid] - self.started for cid in self.trace]
        first_reads = [min(s for s, _ in reqs) - self.started for reqs in self.trace.values()]
        all_reads = sorted(s for reqs in self.trace.values() for s, _ in reqs)
        burst = percentile(first_reads, 99) - percentile(first_reads, 1)
        return {
            "accepted_since_start_ms": {f"p{q}": percentile(arrivals, q) * 1000 for q in spread},
            "first_read_since_start_ms": {
                f"p{q}": percentile(first_reads, q) * 1000 for q in spread
            },
            "first_reads_per_s_p1_to_p99": (
                0.98 * len(first_reads) / burst if burst > 0 else float("nan")
            ),
            "status_reads": len(all_reads),
            "first_poll_age_ms": {f"p{q}": percentile(first_age, q) * 1000 for q in pct},
            "first_poll_minus_settle_ms": {
                f"p{q}": percentile(first_vs_settle, q) * 1000 for q in pct
            },
            "first_poll_after_settle_fraction": (
                sum(1 for d in first_vs_settle if d >= 0) / max(1, len(first_vs_settle))
            ),
            "polls_before_settle_mean": statistics.fmean(early) if early else float("nan"),
            "polls_before_settle_histogram": dict(sorted(Counter(early).items())),
            "polls_after_settle_mean": (
                statistics.fmean(after_settle) if after_settle else float("nan")
            ),
            "status_rtt_ms": {f"p{q}": percentile(rtt, q) * 1000 for q in pct},
        }


def _status_tracer(trace: dict[str, list[tuple[float, float]]]) -> aiohttp.TraceConfig:
    """Records (start, end) wall times of every status request, by command id."""

    async def on_start(
        session: aiohttp.ClientSession,
        ctx: types.SimpleNamespace,
        params: aiohttp.TraceRequestStartParams,
    ) -> None:
        ctx.start = time.time()

    async def on_end(
        session: aiohttp.ClientSession,
        ctx: types.SimpleNamespace,
        params: aiohttp.TraceRequestEndParams,
    ) -> None:
        path = params.url.path
        if path.startswith("/request-status/"):
            cid = path.rsplit("/", 1)[1]
            trace.setdefault(cid, []).append((ctx.start, time.time()))

    config = aiohttp.TraceConfig()
    config.on_request_start.append(on_start)
    config.on_request_end.append(on_end)
    return config


async def run_sdk(
    api_url: str,
    username: str,
    password: str,
    devices: Sequence[str],
    run: Run,
    *,
    poll: PollPolicy | None = None,
    traced: bool = False,
    ws_url: str | None = None,
) -> None:
    """All devices through ``storage.sync_device`` at once; outcome times from callbacks.

    With ``ws_url`` the client joins the ack channel before the clock starts.
    """
    session: aiohttp.ClientSession | None = None
    if traced:
        run.trace = {}
        session = aiohttp.ClientSession(
            connector=aiohttp.TCPConnector(limit=100),  # the client's own default
            trace_configs=[_status_tracer(run.trace)],
        )
    loop = asyncio.get_running_loop()
    all_done = loop.create_future()
    remaining = len(devices)
    try:
        async with PrivicoreClient(
            api_url, ws_url=ws_url, username=username, password=password, session=session, poll=poll
        ) as client:
            await client.profile.authenticate()  # the baseline holds its token beforehand too
            if ws_url is not None:
                assert client.acks is not None
                if not await client.acks.wait_joined(10):
                    raise RuntimeError(f"the ack channel {ws_url} did not join within 10 s")

            def count_one() -> None:
                nonlocal remaining
                remaining -= 1
                if remaining == 0 and not all_done.done():
                    all_done.set_result(None)

            def on_done(handle: CommandHandle) -> None:
                run.learned[handle.command_id or ""] = time.time()
                error = handle.exception()
                run.outcomes[handle.status.value if error is None else type(error).__name__] += 1
                count_one()

            handles: list[CommandHandle] = []

            async def fire(device: str) -> None:
                try:
                    handle = await client.storage.sync_device(device)
                except Exception as exc:
                    run.failures.append(f"{type(exc).__name__}: {exc}")
                    count_one()
                    return
                # Same step as track(): nothing can settle the handle in between.
                handle.add_done_callback(on_done)
                handles.append(handle)
                run.submitted[handle.command_id or ""] = time.time()

            gc.collect()
            cpu0 = time.process_time()
            run.started = time.time()
            await asyncio.gather(*(fire(device) for device in devices))
            run.last_submitted = time.time()
            await asyncio.wait_for(all_done, RUN_TIMEOUT)
            run.cpu = time.process_time() - cpu0
            for handle in handles:
                run.polls[handle.command_id or ""] = handle.polls
    finally:
        if session is not None:
            await session.close()


async def run_baseline(api_url: str, token: str, devices: Sequence[str], run: Run) -> None:
    """One task per device: submit, poll at once, then every 0.5 s."""
    records = [BaselineRecord() for _ in devices]
    async with aiohttp.ClientSession() as session:  # aiohttp's default: 100 connections
        gc.collect()
        cpu0 = time.process_time()
        run.started = time.time()
        tasks = [
            asyncio.create_task(
                baseline_command(session, api_url, token, record, device_identifier=device)
            )
            for device, record in zip(devices, records, strict=True)
        ]
        try:
            _, late = await asyncio.wait(tasks, timeout=RUN_TIMEOUT)
            run.cpu = time.process_time() - cpu0
        finally:
            for task in tasks:
                task.cancel()  # no-op for the finished ones
            results = await asyncio.gather(*tasks, return_exceptions=True)
        if late:
            raise TimeoutError(f"{len(late)} baseline commands unfinished after {RUN_TIMEOUT}s")
    for record, result in zip(records, results, strict=True):
        if isinstance(result, BaseException):
            run.failures.append(f"{type(result).__name__}: {result}")
        if record.command_id is None:
            continue
        run.submitted[record.command_id] = record.submitted_at
        run.polls[record.command_id] = record.polls
        if record.outcome is not None:
            run.learned[record.command_id] = record.learned_at
            run.outcomes[{2: "succeeded", 3: "rejected"}.get(record.outcome, "other")] += 1
    run.last_submitted = max(run.submitted.values(), default=run.started)


async def measured(
    admin: SandboxAdmin, runner: Callable[[Run], Any], run: Run, commands: int
) -> dict[str, Any]:
    """Run one benchmark between two reads of the sandbox counters; return its summary."""
    before = await admin.stats()
    await runner(run)
    after = await admin.stats()
    run.sandbox_status_requests = after["status_requests"] - before["status_requests"]
    run.sandbox_requests_total = after["requests_total"] - before["requests_total"]
    run.sandbox_acks_sent = after["ws"]["acks_sent"] - before["ws"]["acks_sent"]
    run.settled = await admin.settled()
    summary = run.summary(commands)
    run.settled = {}
    return summary


# -- setup (not measured) -----------------------------------------------------------------------


async def setup_devices(api_url: str, username: str, password: str, count: int) -> list[str]:
    """Register a profile and onboard ``count`` storage devices through the SDK."""
    async with PrivicoreClient(api_url, username=username, password=password) as client:
        await (await client.profile.register(username, password))
        slots = asyncio.Semaphore(SETUP_CONCURRENCY)

        async def onboard(i: int) -> str:
            async with slots:
                identifier = await client.devices.onboard(f"bench-storage-{i}")
                await (await client.storage.register(identifier))
                return identifier

        devices = list(await asyncio.gather(*(onboard(i) for i in range(count))))
        registered = {d.device_identifier for d in await client.storage.list()}
        missing = set(devices) - registered
        if missing:
            raise RuntimeError(f"{len(missing)} devices did not become storage devices")
        return devices


async def fetch_token(api_url: str, username: str, password: str) -> str:
    """The baseline's token, from a plain ``POST /profile/authenticate``."""
    async with (
        aiohttp.ClientSession() as session,
        session.post(
            f"{api_url}/profile/authenticate", data={"username": username, "password": password}
        ) as response,
    ):
        response.raise_for_status()
        token: str = (await response.json())["authorizationToken"]
        return token


# -- memory per pending handle ------------------------------------------------------------------


def _traced_now() -> int:
    gc.collect()
    return tracemalloc.get_traced_memory()[0]


async def memory_sdk(count: int) -> float:
    """Bytes per pending SDK handle: ``tracker.track`` with a first poll far in the future."""
    ids = [f"id-{i}" for i in range(count)]  # the ids are the caller's, on both sides
    policy = PollPolicy(initial_delay=3600.0, timeout=7200.0)
    async with PrivicoreClient("http://127.0.0.1:9", poll=policy) as client:
        # Warm-up: the first handle starts the scheduler task, which is not per-handle cost.
        client.tracker.track("warm-up", kind="storage.sync_device")
        await asyncio.sleep(0)
        tracemalloc.start()
        try:
            before = _traced_now()
            handles = [client.tracker.track(cid, kind="storage.sync_device") for cid in ids]
            await asyncio.sleep(0)
            await asyncio.sleep(0)
            after = _traced_now()
        finally:
            tracemalloc.stop()
        if client.tracker.pending != count + 1 or any(h.polls for h in handles):
            raise RuntimeError("memory benchmark: handles were not all pending and unpolled")
        del handles
    return (after - before) / count


async def memory_baseline(count: int) -> float:
    """Bytes per pending baseline task, each asleep in its poll loop.

    The ids and the benchmark's result records are made before the first reading: the task,
    its coroutine frame, its sleep future and timer are what is counted.
    """
    ids = [f"id-{i}" for i in range(count)]
    records = [BaselineRecord() for _ in ids]
    async with aiohttp.ClientSession() as session:
        warm = asyncio.create_task(
            baseline_command(
                session,
                "http://127.0.0.1:9",
                "t",
                BaselineRecord(),
                command_id="warm-up",
                interval=3600.0,
                poll_first=False,
            )
        )
        await asyncio.sleep(0)
        tracemalloc.start()
        try:
            before = _traced_now()
            tasks = [
                asyncio.create_task(
                    baseline_command(
                        session,
                        "http://127.0.0.1:9",
                        "t",
                        record,
                        command_id=cid,
                        interval=3600.0,
                        poll_first=False,
                    )
                )
                for cid, record in zip(ids, records, strict=True)
            ]
            await asyncio.sleep(0)  # every task runs up to its first sleep
            await asyncio.sleep(0)
            after = _traced_now()
        finally:
            tracemalloc.stop()
        for task in [warm, *tasks]:
            task.cancel()
        await asyncio.gather(warm, *tasks, return_exceptions=True)
    return (after - before) / count


# -- report -------------------------------------------------------------------------------------

ROWS: list[tuple[str, str, str]] = [
    # (label, summary key, format)
    ("wall time, first submit -> last outcome (s)", "wall_s", "{:.2f}"),
    ("  of which submitting all (s)", "submit_s", "{:.2f}"),
    ("status requests / command (client count)", "status_per_cmd_client", "{:.2f}"),
    ("status requests / command (sandbox count)", "status_per_cmd_sandbox", "{:.2f}"),
    ("detection lag p50 (ms)", "lag_p50_ms", "{:.0f}"),
    ("detection lag p90 (ms)", "lag_p90_ms", "{:.0f}"),
    ("detection lag p99 (ms)", "lag_p99_ms", "{:.0f}"),
    ("detection lag max (ms)", "lag_max_ms", "{:.0f}"),
    ("client CPU / command (us)", "cpu_per_cmd_us", "{:.0f}"),
    ("WebSocket acks sent / command (sandbox count)", "ws_acks_per_cmd_sandbox", "{:.2f}"),
]

KINDS = ("sdk", "sdk-ws", "baseline")
LABELS = {"sdk": "SDK", "sdk-ws": "SDK+WS", "baseline": "baseline"}


def median_summary(runs: list[dict[str, Any]]) -> dict[str, float]:
    """Per metric, the median over rounds."""
    return {key: statistics.median(run[key] for run in runs) for _, key, _ in ROWS}


def _ratio(a: float, b: float) -> float:
    return a / b if b else float("nan")


def print_latency_table(
    latency: float,
    jitter: float,
    commands: int,
    rounds: int,
    sdk: dict[str, float],
    ws: dict[str, float],
    base: dict[str, float],
) -> None:
    title = (
        f"latency {latency:g} s + uniform(0, {jitter:g}) s jitter, {commands} commands, "
        f"median of {rounds} round(s)"
    )
    print(f"\n{title}\n" + "-" * len(title))
    print(f"{'metric':47} {'SDK':>8} {'SDK+WS':>8} {'baseline':>8} {'SDK/base':>8} {'WS/SDK':>7}")
    for label, key, fmt in ROWS:
        cells = " ".join(f"{fmt.format(x[key]):>8}" for x in (sdk, ws, base))
        print(
            f"{label:47} {cells} {_ratio(sdk[key], base[key]):>8.2f}"
            f" {_ratio(ws[key], sdk[key]):>7.2f}"
        )


def print_histograms(runs: dict[str, list[dict[str, Any]]]) -> None:
    for kind in KINDS:
        histogram = runs[kind][0]["polls_histogram"]
        cells = ", ".join(f"{k}:{v}" for k, v in histogram.items())
        print(f"  polls per command, {LABELS[kind]} (round 1): {cells}")


def print_diagnostics(diag: dict[str, Any]) -> None:
    def fmt(d: dict[str, float]) -> str:
        return " ".join(f"{k}={v:.0f}" for k, v in d.items())

    print("  SDK poll timeline (diagnostic run, traced session, not in PASS/FAIL):")
    print(f"    first poll, age since 202 (ms):       {fmt(diag['first_poll_age_ms'])}")
    print(f"    first poll minus settle time (ms):    {fmt(diag['first_poll_minus_settle_ms'])}")
    print(
        f"    first poll already after settle:      "
        f"{diag['first_poll_after_settle_fraction']:.1%} of commands"
    )
    hist = ", ".join(f"{k}:{v}" for k, v in diag["polls_before_settle_histogram"].items())
    print(
        f"    polls before settle: mean {diag['polls_before_settle_mean']:.2f} ({hist}); "
        f"after settle: mean {diag['polls_after_settle_mean']:.2f}"
    )
    print(f"    status request round trip (ms):       {fmt(diag['status_rtt_ms'])}")
    print(
        f"    202s arrived, since run start (ms):   {fmt(diag['accepted_since_start_ms'])}\n"
        f"    first reads, since run start (ms):    {fmt(diag['first_read_since_start_ms'])}"
        f" ({diag['first_reads_per_s_p1_to_p99']:.0f} first reads/s between p1 and p99)"
    )


def judge(
    per_latency: dict[str, dict[str, Any]], mem_sdk: float, mem_base: float
) -> list[dict[str, Any]]:
    """The targets, each with its numbers and PASS/FAIL."""
    checks: list[dict[str, Any]] = []
    for latency, data in per_latency.items():
        sdk, base, ws = data["sdk_median"], data["baseline_median"], data["sdk-ws_median"]
        checks += [
            {
                "target": f"[{latency} s] SDK status requests/command <= baseline's",
                "sdk": sdk["status_per_cmd_client"],
                "limit": base["status_per_cmd_client"],
                "pass": sdk["status_per_cmd_client"] <= base["status_per_cmd_client"],
            },
            {
                "target": f"[{latency} s] SDK detection lag p50 <= 1/2 baseline's (ms)",
                "sdk": sdk["lag_p50_ms"],
                "limit": base["lag_p50_ms"] / 2,
                "pass": sdk["lag_p50_ms"] <= base["lag_p50_ms"] / 2,
            },
            {
                "target": f"[{latency} s] SDK detection lag p99 <= 1/2 baseline's (ms)",
                "sdk": sdk["lag_p99_ms"],
                "limit": base["lag_p99_ms"] / 2,
                "pass": sdk["lag_p99_ms"] <= base["lag_p99_ms"] / 2,
            },
            {
                "target": f"[{latency} s] SDK client CPU/command <= 1.2x baseline's (us)",
                "sdk": sdk["cpu_per_cmd_us"],
                "limit": base["cpu_per_cmd_us"] * 1.2,
                "pass": sdk["cpu_per_cmd_us"] <= base["cpu_per_cmd_us"] * 1.2,
            },
        ]
        # WebSocket targets. Status requests: the larger of the client's and the sandbox's
        # count. Wall time: per round against the polling SDK run of the same round; the
        # median of those ratios is judged, and how many rounds held is shown.
        ws_status = max(ws["status_per_cmd_client"], ws["status_per_cmd_sandbox"])
        wall_ratios = [
            w["wall_s"] / p["wall_s"]
            for w, p in zip(data["sdk-ws_runs"], data["sdk_runs"], strict=True)
        ]
        held = sum(1 for r in wall_ratios if r <= 1.0)
        checks += [
            {
                "who": "WS",
                "target": f"[{latency} s] WS status requests/command < 0.1",
                "sdk": ws_status,
                "limit": 0.1,
                "pass": ws_status < 0.1,
            },
            {
                "who": "WS",
                "target": f"[{latency} s] WS detection lag p50 < 20 ms",
                "sdk": ws["lag_p50_ms"],
                "limit": 20.0,
                "pass": ws["lag_p50_ms"] < 20.0,
            },
            {
                "who": "WS",
                "target": f"[{latency} s] WS detection lag p99 < 100 ms",
                "sdk": ws["lag_p99_ms"],
                "limit": 100.0,
                "pass": ws["lag_p99_ms"] < 100.0,
            },
            {
                "who": "WS",
                "target": (
                    f"[{latency} s] WS wall / SDK polling wall (same round, median) <= 1"
                    f" ({held}/{len(wall_ratios)} rounds held)"
                ),
                "sdk": statistics.median(wall_ratios),
                "limit": 1.0,
                "pass": statistics.median(wall_ratios) <= 1.0,
                "per_round": wall_ratios,
            },
        ]
    checks.append(
        {
            "target": "memory per pending SDK handle < 4 KiB (bytes)",
            "sdk": mem_sdk,
            "limit": 4096,
            "pass": mem_sdk < 4096,
            "baseline": mem_base,
        }
    )
    return checks


# -- main ---------------------------------------------------------------------------------------


async def bench(
    api_url: str, ws_url: str, admin_token: str | None, args: argparse.Namespace
) -> dict[str, Any]:
    # Inside the loop SIGTERM cancels the run, so every session and client closes normally.
    main_task = asyncio.current_task()
    assert main_task is not None
    asyncio.get_running_loop().add_signal_handler(signal.SIGTERM, main_task.cancel)
    username, password = f"bench-{uuid.uuid4().hex[:8]}", "bench-password-1"
    async with aiohttp.ClientSession() as admin_session:
        admin = SandboxAdmin(api_url, admin_token or "", session=admin_session)
        await admin.set_latency(SETUP_LATENCY, 0.0)
        t0 = time.monotonic()
        devices = await setup_devices(api_url, username, password, args.commands)
        setup_s = time.monotonic() - t0
        print(f"setup: profile + {len(devices)} storage devices onboarded in {setup_s:.1f} s")
        token = await fetch_token(api_url, username, password)

        per_latency: dict[str, dict[str, Any]] = {}
        for li, latency in enumerate(args.latencies):
            jitter = round(latency * JITTER_RATIO, 6)
            await admin.set_latency(latency, jitter)
            runs: dict[str, list[dict[str, Any]]] = {kind: [] for kind in KINDS}
            for r in range(args.rounds):
                shift = (r + li) % len(KINDS)  # rotate the order between rounds and latencies
                order = KINDS[shift:] + KINDS[:shift]
                for kind in order:
                    await asyncio.sleep(COOLDOWN)
                    run = Run(kind, latency, r + 1)
                    if kind == "sdk":

                        async def runner(run: Run) -> None:
                            await run_sdk(api_url, username, password, devices, run, poll=args.poll)
                    elif kind == "sdk-ws":

                        async def runner(run: Run) -> None:
                            await run_sdk(
                                api_url,
                                username,
                                password,
                                devices,
                                run,
                                poll=args.poll,
                                ws_url=ws_url,
                            )
                    else:

                        async def runner(run: Run) -> None:
                            await run_baseline(api_url, token, devices, run)

                    summary = await measured(admin, runner, run, len(devices))
                    runs[kind].append(summary)
                    print(
                        f"  latency {latency:g}s round {r + 1} {LABELS[kind]:8}: "
                        f"wall {summary['wall_s']:.2f}s, "
                        f"{summary['status_per_cmd_client']:.2f} status/cmd, "
                        f"lag p50 {summary['lag_p50_ms']:.0f} ms "
                        f"p99 {summary['lag_p99_ms']:.0f} ms, "
                        f"cpu {summary['cpu_per_cmd_us']:.0f} us/cmd, "
                        f"{summary['ws_acks_per_cmd_sandbox']:.2f} ws acks/cmd, "
                        f"outcomes {summary['outcomes']}"
                    )
            diagnostics = None
            if args.diagnostics:
                await asyncio.sleep(COOLDOWN)
                run = Run("sdk-traced", latency, 0)

                async def traced(run: Run) -> None:
                    await run_sdk(
                        api_url, username, password, devices, run, poll=args.poll, traced=True
                    )

                diag_summary = await measured(admin, traced, run, len(devices))
                diagnostics = diag_summary
            per_latency[f"{latency:g}"] = {
                "latency": latency,
                "jitter": jitter,
                "sdk_runs": runs["sdk"],
                "sdk-ws_runs": runs["sdk-ws"],
                "baseline_runs": runs["baseline"],
                "sdk_median": median_summary(runs["sdk"]),
                "sdk-ws_median": median_summary(runs["sdk-ws"]),
                "baseline_median": median_summary(runs["baseline"]),
                "sdk_diagnostic_run": diagnostics,
            }

    mem_sdk = await memory_sdk(MEMORY_HANDLES)
    mem_base = await memory_baseline(MEMORY_HANDLES)
    leftover = asyncio.all_tasks() - {asyncio.current_task()}
    if leftover:
        print(f"warning: {len(leftover)} task(s) still running: {list(leftover)[:3]}")
    return {
        "setup_s": setup_s,
        "per_latency": per_latency,
        "memory": {
            "handles": MEMORY_HANDLES,
            "sdk_bytes_per_pending_handle": mem_sdk,
            "baseline_bytes_per_pending_task": mem_base,
        },
    }


def report(result: dict[str, Any], args: argparse.Namespace) -> bool:
    for data in result["per_latency"].values():
        print_latency_table(
            data["latency"],
            data["jitter"],
            args.commands,
            args.rounds,
            data["sdk_median"],
            data["sdk-ws_median"],
            data["baseline_median"],
        )
        print_histograms({kind: data[f"{kind}_runs"] for kind in KINDS})
        if data["sdk_diagnostic_run"] is not None:
            print_diagnostics(data["sdk_diagnostic_run"]["diagnostics"])
    memory = result["memory"]
    sdk_b, base_b = (
        memory["sdk_bytes_per_pending_handle"],
        memory["baseline_bytes_per_pending_task"],
    )
    print(f"\nmemory, {memory['handles']} pending (tracemalloc, traced bytes after - before):")
    print(f"  SDK handle {sdk_b:.0f} B, baseline task {base_b:.0f} B, ratio {sdk_b / base_b:.2f}")
    checks = judge(result["per_latency"], sdk_b, base_b)
    result["checks"] = checks
    print()
    for check in checks:
        verdict = "PASS" if check["pass"] else "FAIL"
        who = check.get("who", "SDK")
        print(f"{verdict}  {check['target']}: {who} {check['sdk']:.2f}, limit {check['limit']:.2f}")
    return all(check["pass"] for check in checks)


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--commands", type=int, default=2000, help="sync commands per run")
    p.add_argument("--latencies", default="0.2,2", help="command latencies in seconds")
    p.add_argument(
        "--rounds", type=int, default=1, help="SDK, SDK+WS and baseline runs per latency"
    )
    p.add_argument("--quick", action="store_true", help="200 commands (smoke test)")
    p.add_argument("--strict", action="store_true", help="exit 1 when a target fails")
    p.add_argument(
        "--poll-concurrency",
        type=int,
        default=None,
        help="exploration only: PollPolicy(concurrency=N) for the SDK (default: the SDK's)",
    )
    p.add_argument(
        "--no-diagnostics",
        dest="diagnostics",
        action="store_false",
        help="skip the extra traced SDK run per latency",
    )
    args = p.parse_args(argv)
    if args.quick:
        args.commands = 200
    args.latencies = [float(x) for x in args.latencies.split(",") if x.strip()]
    args.poll = (
        None if args.poll_concurrency is None else PollPolicy(concurrency=args.poll_concurrency)
    )
    if args.commands < 1 or args.rounds < 1 or not args.latencies:
        p.error("--commands and --rounds must be >= 1 and --latencies non-empty")
    return args


def _terminate(signum: int, frame: types.FrameType | None) -> None:
    # SIGTERM unwinds like Ctrl-C, so the sandbox child is stopped by its context manager.
    raise SystemExit(128 + signum)


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    signal.signal(signal.SIGTERM, _terminate)
    started = time.monotonic()
    info = machine_info()
    info["sdk_commit"] = git_revision(Path(__file__).resolve().parent.parent)
    print(
        f"bulk_sync: {args.commands} commands, latencies {args.latencies} s "
        f"(jitter {JITTER_RATIO:.0%} of latency), {args.rounds} round(s); "
        f"python {info['python']}, nproc {info['nproc']}, {info['date']}, "
        f"SDK at {info['sdk_commit']}" + ("" if args.poll is None else f", SDK with {args.poll!r}")
    )
    try:
        with SandboxProcess(latency=SETUP_LATENCY) as sandbox:
            assert sandbox.api_url is not None
            assert sandbox.ws_url is not None
            print(
                f"sandbox: pid {sandbox.proc.pid if sandbox.proc else '?'} at {sandbox.api_url}, "
                f"ack channel {sandbox.ws_url}"
            )
            result = asyncio.run(bench(sandbox.api_url, sandbox.ws_url, sandbox.admin_token, args))
    except (KeyboardInterrupt, asyncio.CancelledError, SystemExit):
        print("interrupted; the sandbox process was stopped", file=sys.stderr)
        return 130
    ok = report(result, args)
    elapsed = time.monotonic() - started
    document = {
        "benchmark": "bulk_sync",
        "machine": info,
        "config": {
            "commands": args.commands,
            "latencies": args.latencies,
            "jitter_ratio": JITTER_RATIO,
            "rounds": args.rounds,
            "baseline_interval_s": BASELINE_INTERVAL,
            "connections": 100,
            "sdk_poll_policy": repr(args.poll or PollPolicy()),
        },
        "elapsed_s": elapsed,
        **result,
    }
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(json.dumps(document, indent=2, default=str) + "\n")
    print(f"\nwrote {RESULTS} (whole run {elapsed:.0f} s)")
    return 0 if ok or not args.strict else 1


if __name__ == "__main__":
    sys.exit(main())
