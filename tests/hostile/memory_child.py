"""Peak memory of hostile answers, in a process of its own (Linux ``/proc``):
``python -m tests.hostile.memory_child API_URL SCENARIO...``.

For each scenario the child makes one call against the :class:`~tests.hostile.server.
HostileServer` at ``API_URL`` and prints one JSON line: the exception's type name (``error``),
the call's duration (``elapsed``, s), how many commands the client tracks afterwards, and the
peak RSS growth during the call (``growth_kib``): ``VmHWM`` after the call minus ``VmRSS``
just before it, the peak having been reset to the current RSS by writing ``5`` to
``/proc/self/clear_refs`` (as ``benchmarks/vault.py`` does; ``reset`` says whether that
worked). When the reset is refused, the growth is ``VmHWM`` after minus ``VmHWM`` before,
floored at 0. Before measuring, the client makes normal calls through the same code paths, so
imports and the connection pool are not counted.

Scenarios: ``status-chunked`` / ``status-length`` read a status answered with 100 MiB
(``client.utility.command_status``); ``accepted-chunked`` / ``accepted-length`` send a command
whose 202 carries 100 MiB (``client.storage.sync_device``).
"""

from __future__ import annotations

import asyncio
import gc
import json
import sys
import time

from privicore_async import PrivicoreClient

TOKEN = "hostile-memory-token-0001"


def proc_status() -> dict[str, int]:
    """``VmHWM`` and ``VmRSS`` of this process in KiB."""
    out: dict[str, int] = {}
    with open("/proc/self/status") as status:
        for line in status:
            name, _, value = line.partition(":")
            if name in ("VmHWM", "VmRSS"):
                out[name] = int(value.split()[0])
    return out


def reset_peak_rss() -> bool:
    """Reset VmHWM to the current RSS; False if the kernel refused."""
    try:
        with open("/proc/self/clear_refs", "w") as refs:
            refs.write("5")
    except OSError:
        return False
    return True


async def call(client: PrivicoreClient, scenario: str) -> None:
    what, framing = scenario.split("-")
    if what == "status":
        await client.utility.command_status(f"huge-{framing}")
    else:
        await client.storage.sync_device(f"huge-{framing}")


async def main(url: str, scenarios: list[str]) -> None:
    async with PrivicoreClient(url, token=TOKEN) as client:
        # Warm up: a normal status answer and a normal (bodiless) 202, same code paths.
        for _ in range(3):
            await client.utility.command_status("done-warmup")
            await client.storage.sync_device("empty")
        for scenario in scenarios:
            gc.collect()
            before = proc_status()
            reset = reset_peak_rss()
            error = None
            started = time.monotonic()
            try:
                await call(client, scenario)
            except Exception as exc:
                error = type(exc).__name__
            elapsed = time.monotonic() - started
            after = proc_status()
            if reset:
                growth = after["VmHWM"] - before["VmRSS"]
            else:
                growth = max(0, after["VmHWM"] - before["VmHWM"])
            line = {
                "scenario": scenario,
                "error": error,
                "elapsed": elapsed,
                "tracked": client.commands.tracked,
                "growth_kib": growth,
                "reset": reset,
                "rss_before_kib": before["VmRSS"],
            }
            print(json.dumps(line), flush=True)


if __name__ == "__main__":
    asyncio.run(main(sys.argv[1], sys.argv[2:]))
