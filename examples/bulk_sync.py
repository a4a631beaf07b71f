"""A bulk sync worker: synchronise many storage devices in one crash-safe run, print the report.

    python examples/bulk_sync.py devices.txt     # one device id per line ('#' starts a comment)
    python examples/bulk_sync.py - < devices.txt # the same ids on standard input
    python examples/bulk_sync.py --all           # every storage device of the profile

Every command is written to a journal (an SQLite file, ``--journal``) before it is sent, with
its command id once accepted and with its outcome once settled. The run has an id
(``--run-id``, printed first): if the process dies, even by ``kill -9``, run the same command
with the same ``--run-id`` and it finishes that run. Devices already settled are skipped,
accepted ones are waited for (not sent again), and those in doubt (maybe sent) are sent again,
which is safe for a sync.

Where and who come from the ``PRIVICORE_*`` variables (``PRIVICORE_API_URL``,
``PRIVICORE_WS_URL``, ``PRIVICORE_USERNAME``, ``PRIVICORE_PASSWORD``, ...), as the README's
Quick start sets them. Exit status: 0 when every device synchronised, 1 when some did not
(their lines are printed), 2 for a usage error.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
from collections.abc import Sequence
from datetime import UTC, datetime

from privicore_async import PrivicoreClient
from privicore_async.journal import SqliteJournal
from privicore_async.results import SyncOutcome, SyncProgress, SyncReport


def read_ids(source: str) -> list[str]:
    """Device ids from a file (``-``: standard input), one per line, each once, in order."""
    if source == "-":
        lines = sys.stdin.read().splitlines()
    else:
        with open(source, encoding="utf-8") as file:
            lines = file.read().splitlines()
    ids = (line.split("#", 1)[0].strip() for line in lines)
    return list(dict.fromkeys(device_id for device_id in ids if device_id))


def show_progress(progress: SyncProgress) -> None:
    """One overwritten line on a terminal, nothing when standard error is a file or a pipe."""
    if sys.stderr.isatty():
        print(f"\r{progress.done}/{progress.total} devices", end="", file=sys.stderr, flush=True)


def print_report(report: SyncReport) -> None:
    counts = report.counts()
    print(
        ", ".join(f"{outcome.value} {count}" for outcome, count in counts.items() if count)
        + f" ({len(report.outcomes)} devices in {report.elapsed:.2f} s)"
    )
    print("lines from:", ", ".join(f"{s.value} {n}" for s, n in report.sources().items() if n))
    for line in report.outcomes:
        if line.outcome is not SyncOutcome.SUCCEEDED:
            detail = line.reason if line.reason is not None else ""
            print(f"{line.outcome.value.upper()} {line.device_identifier} {detail}".rstrip())


async def run(args: argparse.Namespace) -> int:
    async with PrivicoreClient(journal=SqliteJournal(args.journal)) as client:
        if args.all:
            device_ids = [device.device_identifier for device in await client.storage.list()]
        else:
            device_ids = read_ids(args.source)
        print(f"run {args.run_id}: {len(device_ids)} devices (journal {args.journal})", flush=True)
        report = await client.storage.sync_devices(
            device_ids,
            run_id=args.run_id,
            concurrency=args.concurrency,
            timeout=args.timeout,
            on_progress=show_progress,
        )
    if sys.stderr.isatty():
        print(file=sys.stderr)  # end the progress line
    print_report(report)
    return 0 if len(report.succeeded) == len(report.outcomes) else 1


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Synchronise many Privicore storage devices.")
    source = parser.add_mutually_exclusive_group(required=True)
    source.add_argument("source", nargs="?", help="file of device ids, one per line; - for stdin")
    source.add_argument("--all", action="store_true", help="every storage device of the profile")
    parser.add_argument("--journal", default="privicore-sync.db", help="the SQLite journal file")
    parser.add_argument(
        "--run-id",
        default=f"sync-{datetime.now(UTC):%Y%m%dT%H%M%SZ}",
        help="the run to start, or to finish after a crash (default: a new one)",
    )
    parser.add_argument("--concurrency", type=int, default=256, help="commands outstanding")
    parser.add_argument("--timeout", type=float, default=120.0, help="seconds per command")
    args = parser.parse_args(argv)
    return asyncio.run(run(args))


if __name__ == "__main__":
    sys.exit(main())
