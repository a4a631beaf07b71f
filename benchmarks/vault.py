"""The encrypted vault: store/retrieve throughput, peak memory of a 200 MiB round trip, and
many small stores at once against one at a time.

Against the sandbox running in its own process (``--print-data-urls``: the client gets its
API, WebSocket, upstream and downstream URLs), one profile provisioned, one storage device
onboarded, the client joined to the WebSocket (``client.acks.wait_joined(10)``):

1. **Throughput** - sequential ``client.vault.store`` then ``client.vault.retrieve`` of
   ``--small-reps`` x 1 KiB and ``--medium-reps`` x 1 MiB random payloads (every retrieved
   payload compared with the original), and one ``--big-mib`` (200) MiB round trip: stored
   from an async generator of 1 MiB chunks (never a 200 MiB ``bytes``), retrieved with
   ``retrieve_to`` into a temporary file, SHA-256 checked afterwards.
2. **Peak memory of the 200 MiB round trip** - measured in a *fresh child process* of this
   script (its own client, same profile), so nothing the parent did counts. The child warms
   up (a 1 KiB and a 4 MiB round trip through the same code paths), runs ``gc.collect()``,
   reads VmHWM (peak RSS) and VmRSS from ``/proc/self/status``, then resets VmHWM to the
   current RSS by writing ``5`` to ``/proc/self/clear_refs`` (Linux >= 4.0; recorded whether
   it worked), does the 200 MiB round trip and reads VmHWM again. Reported: the peak over the
   resting RSS just before the round trip (``VmHWM after - VmRSS before``, the stricter number,
   used for the verdict) and the peak over the child's earlier peak (``VmHWM after - VmHWM
   before``, floored at 0; the only measure when the reset is not available, and then the
   verdict's number). Target: < 64 MiB.
3. **Concurrency** - ``--many`` (500) x 4 KiB payloads stored one at a time (sequential
   baseline), then the same number of new payloads with ``store_many(concurrency=50)``:
   items/s of each and the ratio.

    .venv/bin/python benchmarks/vault.py [--latency 0.01] [--small-reps 200] [--medium-reps 20]
                                         [--big-mib 200] [--many 500] [--concurrency 50]
                                         [--quick] [--strict]

MiB = 2**20 bytes; throughputs are MiB/s of plaintext. Exit status: 0 when the run completed
(1 with ``--strict`` if a target failed), 130 when interrupted; the sandbox process and the
child are stopped in every case.
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import hashlib
import json
import os
import resource
import sys
import tempfile
import time
import uuid
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

from _common import git_revision, machine_info, percentile

from privicore_async import PrivicoreClient
from privicore_async.crypto import DataKey
from privicore_async.results import StoreRequest
from privicore_async.sandbox import SandboxProcess

SCRIPT = Path(__file__).resolve()
RESULTS = SCRIPT.parent / "results" / "vault.json"
MIB = 1 << 20
KIB = 1 << 10
PASSWORD = "bench-vault-pass-1"
MEMORY_LIMIT_MIB = 64.0
CHILD_TIMEOUT = 600.0
CONTEXT = "bench"


# -- memory ------------------------------------------------------------------------------------


def proc_status() -> dict[str, int]:
    """``VmHWM`` and ``VmRSS`` of this process in KiB (``/proc/self/status``, Linux)."""
    out: dict[str, int] = {}
    with open("/proc/self/status") as status:
        for line in status:
            name, _, value = line.partition(":")
            if name in ("VmHWM", "VmRSS"):
                out[name] = int(value.split()[0])
    return out


def reset_peak_rss() -> bool:
    """Reset VmHWM to the current RSS (``/proc/self/clear_refs`` 5); False if refused."""
    try:
        with open("/proc/self/clear_refs", "w") as refs:
            refs.write("5")
    except OSError:
        return False
    return True


def ru_maxrss_kib() -> int:
    """``getrusage(RUSAGE_SELF).ru_maxrss`` (KiB on Linux)."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss


# -- the client --------------------------------------------------------------------------------


def make_client(urls: dict[str, str], username: str) -> PrivicoreClient:
    return PrivicoreClient(
        urls["api_url"],
        ws_url=urls["ws_url"],
        upstream_url=urls["upstream_url"],
        downstream_url=urls["downstream_url"],
        username=username,
        password=PASSWORD,
    )


async def generated(size: int, block: bytes, digest: Any) -> AsyncIterator[bytes]:
    """``size`` bytes in chunks of ``len(block)``, each made distinct by its index; hashed."""
    sent = 0
    index = 0
    while sent < size:
        n = min(len(block), size - sent)
        chunk = index.to_bytes(8, "big") + block[8:n]
        digest.update(chunk)
        sent += n
        index += 1
        yield chunk


def file_sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as file:
        while chunk := file.read(MIB):
            digest.update(chunk)
    return digest.hexdigest()


async def big_round_trip(
    client: PrivicoreClient, key: DataKey, size: int, directory: Path, block: bytes
) -> dict[str, Any]:
    """Store ``size`` bytes from a generator, ``retrieve_to`` a file; times and check."""
    digest = hashlib.sha256()
    target = directory / f"out-{size}.bin"
    started = time.perf_counter()
    stored = await client.vault.store(
        generated(size, block, digest), key, context=CONTEXT, file_name="big.bin"
    )
    stored_at = time.perf_counter()
    written = await client.vault.retrieve_to(stored.token, key, target, timeout=600)
    done = time.perf_counter()
    return {
        "size": size,
        "method": stored.method.value if hasattr(stored.method, "value") else str(stored.method),
        "store_s": stored_at - started,
        "retrieve_s": done - stored_at,
        "written": written,
        "target": target,
        "digest": digest.hexdigest(),
    }


# -- the child: the 200 MiB round trip in a fresh process --------------------------------------


async def child_main(config: dict[str, Any]) -> dict[str, Any]:
    size = int(config["size"])
    async with make_client(config["urls"], config["username"]) as client:
        await client.profile.authenticate()
        assert client.acks is not None
        if not await client.acks.wait_joined(10):
            raise RuntimeError("the child's client did not join the WebSocket within 10 s")
        key = DataKey.generate()
        block = os.urandom(MIB)
        with tempfile.TemporaryDirectory(prefix="vault-bench-") as tmp:
            directory = Path(tmp)
            # Warm-up through the same code paths (exchange, upload, download, retrieve_to).
            small = os.urandom(KIB)
            warm = await client.vault.store(small, key, context=CONTEXT, file_name="w.bin")
            if await client.vault.retrieve(warm.token, key) != small:
                raise RuntimeError("warm-up 1 KiB round trip returned other bytes")
            warm_big = await big_round_trip(client, key, 4 * MIB, directory, block)
            warm_big["target"].unlink()
            gc.collect()
            before = proc_status()
            before_ru = ru_maxrss_kib()
            reset = reset_peak_rss()
            after_reset = proc_status()
            result = await big_round_trip(client, key, size, directory, block)
            after = proc_status()
            after_ru = ru_maxrss_kib()
            target: Path = result.pop("target")
            result["sha256_ok"] = await asyncio.to_thread(file_sha256, target)
            result["sha256_ok"] = result["sha256_ok"] == result["digest"]
            result["file_size"] = (await asyncio.to_thread(target.stat)).st_size
    over_rest = (after["VmHWM"] - before["VmRSS"]) / 1024
    over_peak = max(0, after["VmHWM"] - before["VmHWM"]) / 1024
    return {
        **result,
        "vmhwm_before_kib": before["VmHWM"],
        "vmrss_before_kib": before["VmRSS"],
        "hwm_reset": reset,
        "vmhwm_after_reset_kib": after_reset["VmHWM"],
        "vmhwm_after_kib": after["VmHWM"],
        "vmrss_after_kib": after["VmRSS"],
        "ru_maxrss_before_kib": before_ru,
        "ru_maxrss_after_kib": after_ru,
        "peak_over_resting_mib": over_rest,
        "peak_over_previous_peak_mib": over_peak,
        "peak_increase_mib": over_rest if reset else over_peak,
        "pid": os.getpid(),
    }


async def run_child(urls: dict[str, str], username: str, size: int) -> dict[str, Any]:
    config = json.dumps({"urls": urls, "username": username, "size": size})
    proc = await asyncio.create_subprocess_exec(
        sys.executable,
        str(SCRIPT),
        "--child",
        config,
        stdout=asyncio.subprocess.PIPE,
        stdin=asyncio.subprocess.DEVNULL,
    )
    try:
        async with asyncio.timeout(CHILD_TIMEOUT):
            out, _ = await proc.communicate()
    finally:
        if proc.returncode is None:
            proc.kill()
            await proc.wait()
    if proc.returncode != 0:
        raise RuntimeError(f"the round-trip child failed (status {proc.returncode})")
    result: dict[str, Any] = json.loads(out.decode().strip().splitlines()[-1])
    return result


# -- the parent: throughput of small payloads and concurrency ----------------------------------


async def sequential_round_trips(
    client: PrivicoreClient, key: DataKey, size: int, reps: int
) -> dict[str, Any]:
    payloads = [os.urandom(size) for _ in range(reps)]
    tokens: list[str] = []
    store_times: list[float] = []
    started = time.perf_counter()
    for index, data in enumerate(payloads):
        t0 = time.perf_counter()
        stored = await client.vault.store(data, key, context=CONTEXT, file_name=f"s{index}.bin")
        store_times.append(time.perf_counter() - t0)
        tokens.append(stored.token)
    store_s = time.perf_counter() - started
    method = str(getattr(stored.method, "value", stored.method))
    retrieve_times: list[float] = []
    mismatches = 0
    started = time.perf_counter()
    for token, data in zip(tokens, payloads, strict=True):
        t0 = time.perf_counter()
        back = await client.vault.retrieve(token, key)
        retrieve_times.append(time.perf_counter() - t0)
        mismatches += back != data
    retrieve_s = time.perf_counter() - started
    return summarize(
        size, reps, store_s, retrieve_s, store_times, retrieve_times, mismatches, method
    )


def summarize(
    size: int,
    reps: int,
    store_s: float,
    retrieve_s: float,
    store_times: list[float],
    retrieve_times: list[float],
    mismatches: int,
    method: str,
) -> dict[str, Any]:
    total = size * reps / MIB
    return {
        "size": size,
        "reps": reps,
        "method": method,
        "store_s": store_s,
        "retrieve_s": retrieve_s,
        "store_mib_s": total / store_s,
        "retrieve_mib_s": total / retrieve_s,
        "store_ms_p50": percentile(store_times, 50) * 1000,
        "store_ms_p99": percentile(store_times, 99) * 1000,
        "retrieve_ms_p50": percentile(retrieve_times, 50) * 1000,
        "retrieve_ms_p99": percentile(retrieve_times, 99) * 1000,
        "mismatches": mismatches,
    }


async def concurrency_run(
    client: PrivicoreClient, key: DataKey, count: int, concurrency: int
) -> dict[str, Any]:
    size = 4 * KIB
    sequential = [os.urandom(size) for _ in range(count)]
    started = time.perf_counter()
    failed_sequential = 0
    for index, data in enumerate(sequential):
        try:
            await client.vault.store(data, key, context=CONTEXT, file_name=f"q{index}.bin")
        except Exception:  # counted, like store_many does
            failed_sequential += 1
    sequential_s = time.perf_counter() - started
    requests = [
        StoreRequest(os.urandom(size), key, CONTEXT, f"c{index}.bin") for index in range(count)
    ]
    started = time.perf_counter()
    report = await client.vault.store_many(requests, concurrency=concurrency)
    concurrent_s = time.perf_counter() - started
    seq_rate = count / sequential_s
    conc_rate = count / concurrent_s
    return {
        "count": count,
        "size": size,
        "concurrency": concurrency,
        "sequential_s": sequential_s,
        "sequential_items_s": seq_rate,
        "sequential_failed": failed_sequential,
        "concurrent_s": concurrent_s,
        "concurrent_items_s": conc_rate,
        "concurrent_report_elapsed_s": report.elapsed,
        "concurrent_counts": report.counts(),
        "concurrent_errors": [repr(line.error) for line in report.failed[:3]],
        "ratio": conc_rate / seq_rate,
    }


async def parent_main(sb: SandboxProcess, args: argparse.Namespace) -> dict[str, Any]:
    urls = {
        "api_url": sb.api_url or "",
        "ws_url": sb.ws_url or "",
        "upstream_url": sb.upstream_url or "",
        "downstream_url": sb.downstream_url or "",
    }
    username = f"bench-vault-{uuid.uuid4().hex[:12]}"
    results: dict[str, Any] = {}
    async with make_client(urls, username) as client:
        t0 = time.perf_counter()
        await client.profile.provision(username, PASSWORD)
        device = await client.devices.onboard("bench-vault-dev-0")
        await (await client.storage.register(device)).wait(30)
        assert client.acks is not None
        if not await client.acks.wait_joined(10):
            raise RuntimeError("the client did not join the WebSocket within 10 s")
        results["setup_s"] = time.perf_counter() - t0
        key = DataKey.generate()
        # warm-up, not measured
        await sequential_round_trips(client, key, KIB, 5)
        throughput = []
        for size, reps in ((KIB, args.small_reps), (MIB, args.medium_reps)):
            row = await sequential_round_trips(client, key, size, reps)
            print(
                f"  {size // KIB:>6} KiB x {reps:<4}: store {row['store_s']:.2f} s, "
                f"retrieve {row['retrieve_s']:.2f} s, mismatches {row['mismatches']}",
                flush=True,
            )
            throughput.append(row)
        results["throughput"] = throughput
        print(f"  {args.big_mib} MiB round trip in a fresh child process ...", flush=True)
        big = await run_child(urls, username, args.big_mib * MIB)
        results["big"] = big
        print(
            f"  {args.big_mib} MiB: store {big['store_s']:.2f} s, retrieve_to "
            f"{big['retrieve_s']:.2f} s, peak RSS +{big['peak_increase_mib']:.1f} MiB",
            flush=True,
        )
        results["concurrency"] = await concurrency_run(client, key, args.many, args.concurrency)
    return results


# -- output ------------------------------------------------------------------------------------


def report(results: dict[str, Any], args: argparse.Namespace) -> list[dict[str, Any]]:
    big = results["big"]
    big_mib = big["size"] / MIB
    print()
    print(
        f"vault throughput, sandbox latency {args.latency} s, sequential (one operation at a time)"
    )
    print("-" * 96)
    print(
        f"{'payload':>12} {'reps':>5} {'path':>9} {'store s':>9} {'store MiB/s':>12} "
        f"{'p50 ms':>8} {'retr. s':>9} {'retr. MiB/s':>12} {'p50 ms':>8}"
    )
    for row in results["throughput"]:
        label = f"{row['size'] // KIB} KiB" if row["size"] < MIB else f"{row['size'] // MIB} MiB"
        print(
            f"{label:>12} {row['reps']:>5} {row['method']:>9} {row['store_s']:>9.2f} "
            f"{row['store_mib_s']:>12.3f} {row['store_ms_p50']:>8.1f} {row['retrieve_s']:>9.2f} "
            f"{row['retrieve_mib_s']:>12.3f} {row['retrieve_ms_p50']:>8.1f}"
        )
    print(
        f"{f'{big_mib:.0f} MiB':>12} {1:>5} {big['method']:>9} {big['store_s']:>9.2f} "
        f"{big_mib / big['store_s']:>12.1f} {'':>8} {big['retrieve_s']:>9.2f} "
        f"{big_mib / big['retrieve_s']:>12.1f}   (retrieve_to a file, child process)"
    )
    print()
    print(f"peak memory, {big_mib:.0f} MiB round trip (fresh child process, /proc/self/status):")
    mib = {name: big[name] / 1024 for name in big if name.endswith("_kib")}
    print(
        f"  before: VmRSS {mib['vmrss_before_kib']:.1f} MiB, VmHWM {mib['vmhwm_before_kib']:.1f}"
        f" MiB; VmHWM reset to RSS: {'yes' if big['hwm_reset'] else 'no'}"
        f" ({mib['vmhwm_after_reset_kib']:.1f} MiB)"
    )
    print(
        f"  after:  VmHWM {mib['vmhwm_after_kib']:.1f} MiB, VmRSS {mib['vmrss_after_kib']:.1f} MiB"
        f" (ru_maxrss {mib['ru_maxrss_before_kib']:.1f} -> {mib['ru_maxrss_after_kib']:.1f} MiB)"
    )
    print(
        f"  peak over resting RSS before: +{big['peak_over_resting_mib']:.1f} MiB; "
        f"over the earlier peak: +{big['peak_over_previous_peak_mib']:.1f} MiB"
    )
    conc = results["concurrency"]
    print()
    print(f"{conc['count']} x 4 KiB stores:")
    print(
        f"  sequential     {conc['sequential_s']:7.2f} s  {conc['sequential_items_s']:8.1f} items/s"
        f"  (failed {conc['sequential_failed']})"
    )
    print(
        f"  store_many({conc['concurrency']}) {conc['concurrent_s']:7.2f} s  "
        f"{conc['concurrent_items_s']:8.1f} items/s  {conc['concurrent_counts']}"
    )
    print(f"  ratio concurrent / sequential: {conc['ratio']:.1f}x")
    print()
    checks = [
        check(
            f"peak RSS increase of the {big_mib:.0f} MiB round trip < {MEMORY_LIMIT_MIB:.0f} MiB"
            + (" (over resting RSS)" if big["hwm_reset"] else " (over the earlier peak)"),
            big["peak_increase_mib"],
            MEMORY_LIMIT_MIB,
            big["peak_increase_mib"] < MEMORY_LIMIT_MIB,
            "MiB",
        ),
        check(
            f"{big_mib:.0f} MiB round trip intact (size and SHA-256)",
            float(big["file_size"]),
            float(big["size"]),
            bool(big["sha256_ok"]) and big["file_size"] == big["size"] == big["written"],
            "bytes",
        ),
        check(
            "small payloads retrieved intact (mismatches)",
            float(sum(row["mismatches"] for row in results["throughput"])),
            0.0,
            all(row["mismatches"] == 0 for row in results["throughput"]),
            "",
        ),
        check(
            "every 4 KiB store succeeded (failures, both runs)",
            float(conc["sequential_failed"] + conc["concurrent_counts"]["failed"]),
            0.0,
            conc["sequential_failed"] == 0 and conc["concurrent_counts"]["failed"] == 0,
            "",
        ),
    ]
    for item in checks:
        verdict = "PASS" if item["pass"] else "FAIL"
        print(f"{verdict}  {item['name']}: {item['value']:.2f}, limit {item['limit']:.2f}")
    return checks


def check(name: str, value: float, limit: float, ok: bool, unit: str) -> dict[str, Any]:
    return {"name": name, "value": value, "limit": limit, "unit": unit, "pass": ok}


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0] if __doc__ else None)
    p.add_argument("--latency", type=float, default=0.01, help="sandbox command latency (s)")
    p.add_argument("--small-reps", type=int, default=200)
    p.add_argument("--medium-reps", type=int, default=20)
    p.add_argument("--big-mib", type=int, default=200)
    p.add_argument("--many", type=int, default=500)
    p.add_argument("--concurrency", type=int, default=50)
    p.add_argument("--quick", action="store_true", help="20 x 1 KiB, 5 x 1 MiB, 32 MiB, 100")
    p.add_argument("--strict", action="store_true", help="exit 1 if a target failed")
    p.add_argument("--child", default=None, help=argparse.SUPPRESS)
    args = p.parse_args(argv)
    if args.quick:
        args.small_reps, args.medium_reps, args.big_mib, args.many = 20, 5, 32, 100
    return args


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    if args.child is not None:
        print(json.dumps(asyncio.run(child_main(json.loads(args.child)))), flush=True)
        return 0
    machine = machine_info()
    machine["sdk_commit"] = git_revision(Path(__file__).resolve().parent.parent)
    print(
        f"vault benchmark: {machine['date']}, {machine['nproc']} CPU(s), Python "
        f"{machine['python']}, aiohttp {machine['aiohttp']}, SDK {machine['sdk_commit']}",
        flush=True,
    )
    started = time.perf_counter()
    try:
        with SandboxProcess(latency=args.latency) as sb:
            results = asyncio.run(parent_main(sb, args))
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130
    checks = report(results, args)
    out = {
        "machine": machine,
        "config": {
            "latency": args.latency,
            "small_reps": args.small_reps,
            "medium_reps": args.medium_reps,
            "big_mib": args.big_mib,
            "many": args.many,
            "concurrency": args.concurrency,
            "argv": sys.argv,
        },
        "elapsed_s": time.perf_counter() - started,
        **results,
        "checks": checks,
    }
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(json.dumps(out, indent=2, default=str) + "\n")
    print(f"\nwritten {RESULTS} ({out['elapsed_s']:.0f} s in all)")
    failed = [item for item in checks if not item["pass"]]
    return 1 if args.strict and failed else 0


if __name__ == "__main__":
    raise SystemExit(main())
