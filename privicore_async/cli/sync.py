"""``privicore sync``: synchronise storage devices, once here or as a resumable run.

::

    privicore sync DEVICE... | --from FILE [--concurrency N] [--timeout S]
    privicore sync --from FILE --run-id ID --journal PATH
    privicore sync --from FILE --run-id ID --redis URL [--batch N]
    privicore sync --run-id ID (--journal PATH | --redis URL) --status [--from FILE]

Without a run id: ``storage.sync_devices`` here, with no journal. ``--journal``: the same,
journaled into a SQLite file. ``--redis``: the devices are queued in batches for ``privicore
worker`` processes and the run is followed in their Redis journal. Run either of those again
with the same ``--run-id`` to resume; ``--status`` only reads the journal. A run here prints
a progress bar, then the counts (``--json``: one line per device, then a summary line); the
others print the counts (``--json``: one summary document). Exit status: 0 when every device
synchronised, 1 when some did not (or, with ``--status``, are not done yet), 2 on a usage
error (see :mod:`.exits`). Only ``--redis`` imports taskiq and Redis.
"""

from __future__ import annotations

import argparse
import asyncio
import functools
import sys
import time
from collections.abc import Coroutine, Iterable
from pathlib import Path
from typing import Any, TextIO

from ..contrib.progress import RunProgress, progress_of, reopen_run, run_progress
from ..contrib.settings import DEFAULT_NAMESPACE, DEFAULT_QUEUE
from ..journal import CommandJournal, SqliteJournal
from ..results import SyncProgress
from .connection import Connection
from .exits import ExitCode
from .options import at_least
from .output import Output
from .progress import progress_bar
from .run_summary import (
    device_record,
    earlier_sources_line,
    not_succeeded_lines,
    progress_detail,
    progress_of_report,
    report_sources_line,
    run_lines,
    status_of,
    summary_record,
    sync_detail,
)

__all__ = ["add_parser", "read_ids"]


def add_parser(
    commands: argparse._SubParsersAction[argparse.ArgumentParser],
    parents: list[argparse.ArgumentParser],
) -> None:
    """Register ``privicore sync``."""
    sync = commands.add_parser(
        "sync",
        parents=parents,
        help="synchronise storage devices: here, or as a resumable run (here or through workers)",
        description=(
            "Synchronise the DEVICEs (or those listed in FILE). Without --run-id: here, once. "
            "With --run-id ID, as a resumable run: --journal, here, journaled in a SQLite "
            "file; --redis, queued for `privicore worker` processes. Run again with the same "
            "--run-id to resume; --status shows where a run stands without sending anything. "
            "Exit status: 0 all synchronised, 1 some not, 2 usage."
        ),
    )
    sync.add_argument("devices", nargs="*", metavar="DEVICE", help="device ids")
    sync.add_argument(
        "--from",
        dest="source",
        metavar="FILE",
        help="device ids, one per line ('-': standard input)",
    )
    sync.add_argument("--run-id", metavar="ID", help="a resumable run (needs --journal or --redis)")
    where = sync.add_mutually_exclusive_group()
    where.add_argument("--journal", metavar="PATH", help="run here, journaled in this SQLite file")
    where.add_argument("--redis", metavar="URL", help="queue for workers; follow their journal")
    sync.add_argument(
        "--status", action="store_true", help="show where the run stands; send nothing"
    )
    here = sync.add_argument_group("a run here (not --redis)")
    here.add_argument(
        "--concurrency", type=at_least(1, int), default=256, metavar="N", help="(default: 256)"
    )
    here.add_argument(
        "--timeout",
        type=at_least(0.001, float),
        metavar="S",
        help="each device's deadline, from its request (default: the client's, 300)",
    )
    queued = sync.add_argument_group("with --redis")
    queued.add_argument(
        "--batch",
        type=at_least(1, int),
        default=500,
        metavar="N",
        help="devices per batch (default: 500)",
    )
    queued.add_argument(
        "--namespace",
        default=DEFAULT_NAMESPACE,
        metavar="NS",
        help=f"the workers' journal namespace (default: {DEFAULT_NAMESPACE})",
    )
    queued.add_argument(
        "--queue", default=DEFAULT_QUEUE, metavar="Q", help=f"(default: {DEFAULT_QUEUE})"
    )
    queued.add_argument(
        "--poll", type=at_least(0.05, float), default=1.0, metavar="S", help="(default: 1)"
    )
    sync.set_defaults(command=functools.partial(_sync, sync), parser=sync)


def read_ids(stream: Iterable[str]) -> tuple[list[str], int]:
    """Device ids, one per line (blank lines skipped), each once; and how many repeats."""
    seen: dict[str, None] = {}
    lines = 0
    for line in stream:
        identifier = line.strip()
        if identifier:
            lines += 1
            seen.setdefault(identifier)
    return list(seen), lines - len(seen)


def _sync(parser: argparse.ArgumentParser, args: argparse.Namespace, argv: list[str]) -> int:
    journaled = args.journal is not None or args.redis is not None
    if args.run_id is None and journaled:
        parser.error("--journal and --redis need --run-id")
    if args.run_id is not None and not journaled:
        parser.error("--run-id needs --journal PATH or --redis URL")
    if args.run_id is not None and not args.run_id.strip():
        parser.error("--run-id must not be blank")
    if args.status and not journaled:
        parser.error("--status needs --run-id and --journal or --redis")
    ids = _ids(parser, args)
    out = Output(sys.stdout, json_mode=args.json)
    if args.status:
        if args.journal is not None and not Path(args.journal).is_file():
            # Opening it would create an empty journal: a status must change nothing.
            print(f"privicore sync: no journal at {args.journal}", file=sys.stderr)
            return ExitCode.FAILED
        return _run(_status(args, ids, out))
    if ids is None:
        parser.error("give device ids, or --from FILE")
    if args.redis is None:
        connection = Connection.from_args(args)
        return _run(
            _sync_here(args, connection, ids, out, sys.stderr),
            interrupted="; run it again with the same --run-id to resume" if journaled else "",
        )
    return _run(
        _sync_queued(args, ids, out, sys.stderr),
        interrupted=(
            "; the queued batches stay with the workers (--status shows where the run stands; "
            "run it again with the same --run-id to follow it)"
        ),
    )


def _ids(parser: argparse.ArgumentParser, args: argparse.Namespace) -> list[str] | None:
    if args.devices and args.source is not None:
        parser.error("give device ids or --from FILE, not both")
    if args.devices:
        ids, repeats = read_ids(args.devices)
    elif args.source is None:
        return None
    else:
        try:
            if args.source == "-":
                ids, repeats = read_ids(sys.stdin)
            else:
                with open(args.source, encoding="utf-8") as stream:
                    ids, repeats = read_ids(stream)
        except OSError as exc:
            parser.error(f"--from {args.source}: {exc.strerror or exc}")
        if not ids:
            parser.error(f"--from {args.source}: no device ids")
    if repeats:
        print(f"privicore sync: {repeats} repeated device id(s) left out", file=sys.stderr)
    return ids


def _run(coroutine: Coroutine[Any, Any, int], *, interrupted: str = "") -> int:
    """Run the command's coroutine. Ctrl-C says how to go on; other failures are left to
    the exit-status table (:mod:`.exits`)."""
    try:
        return asyncio.run(coroutine)
    except KeyboardInterrupt:
        print(f"privicore sync: interrupted{interrupted}", file=sys.stderr)
        return ExitCode.INTERRUPTED
    except ImportError as exc:
        print(f"privicore sync: {exc} (pip install 'privicore-async[redis]')", file=sys.stderr)
        return ExitCode.FAILED
    except ValueError as exc:  # a malformed Redis URL, ...
        print(f"privicore sync: {exc}", file=sys.stderr)
        return ExitCode.FAILED


async def _sync_here(
    args: argparse.Namespace, connection: Connection, ids: list[str], out: Output, err: TextIO
) -> int:
    """The whole run in this process: journaled in SQLite with ``--journal``."""
    journal = None if args.journal is None else SqliteJournal(args.journal)
    bar = None if out.json else progress_bar(err, "sync", len(ids))

    def show(progress: SyncProgress) -> None:
        if bar is not None:
            bar.update(progress.done, sync_detail(progress))

    started = time.monotonic()
    try:
        async with connection.open(journal=journal) as client:
            report = await client.storage.sync_devices(
                ids,
                run_id=args.run_id,
                concurrency=args.concurrency,
                timeout=args.timeout,
                on_progress=show,
            )
    finally:
        if bar is not None:
            bar.finish()
    seconds = time.monotonic() - started
    progress = progress_of_report(report)
    if out.json:
        for line in report.outcomes:
            out.record(device_record(line))
        out.record(summary_record(args.run_id, progress, seconds=seconds))
        return status_of(progress)
    title = "sync" if args.run_id is None else f"run {args.run_id}"
    out.lines(*run_lines(title, progress), *not_succeeded_lines(report))
    if args.run_id is not None:
        out.lines(report_sources_line(report))
    out.lines(_elapsed_line(len(ids), seconds))
    return status_of(progress)


async def _sync_queued(args: argparse.Namespace, ids: list[str], out: Output, err: TextIO) -> int:
    """Queue the run for workers, then follow it in their journal until every device settled.

    If batches of the run are still queued (an earlier coordinator was interrupted), they are
    followed, not queued again: two workers on the same devices at once would sync some twice.
    """
    from ..contrib.taskiq import enqueue_sync, make_broker, run_is_queued, wait_for_run
    from ..journal.redis import RedisJournal  # taskiq and redis: only here

    started = time.monotonic()
    devices = set(ids)
    # What the coordinator does is news for a person; with --json it goes to stderr.
    say = functools.partial(_say, err) if out.json else out.lines
    journal = RedisJournal(args.redis, args.namespace)
    broker = make_broker(args.redis, queue=args.queue)
    await journal.open()
    try:
        await broker.startup()
        earlier = await run_progress(journal, args.run_id, len(ids), devices=devices)
        following = await run_is_queued(broker, args.run_id)
        if following:
            say(f"run {args.run_id} is still queued: following it, not queueing it again")
        else:
            await reopen_run(journal, args.run_id, devices=devices)
            batches = await enqueue_sync(broker, ids, run_id=args.run_id, batch=args.batch)
            say(f"queued {batches} batch(es) of up to {args.batch} devices on {args.queue}")
        bar = None if out.json else progress_bar(err, "sync", len(ids))

        def show(progress: RunProgress) -> None:
            if bar is not None:
                bar.update(progress.settled, progress_detail(progress))

        async def still_queued() -> bool:
            return await run_is_queued(broker, args.run_id)

        try:
            final = await wait_for_run(
                journal,
                args.run_id,
                len(ids),
                devices=devices,
                on_progress=show,
                poll=args.poll,
                still_queued=still_queued,
            )
        finally:
            if bar is not None:
                bar.finish()
    finally:
        await broker.shutdown()
        await journal.close()
    seconds = time.monotonic() - started
    unsettled = (
        f"{final.total - final.settled} device(s) not settled and no batch of the run left "
        f"in the queue (batches that never finished are in {broker.dead_letters}): run it "
        f"again to retry them"
    )
    if out.json:
        out.document(summary_record(args.run_id, final, seconds=seconds))
        if not final.done:
            say(unsettled)
        return status_of(final)
    out.lines(*run_lines(f"run {args.run_id}", final))
    if not following:
        out.lines(earlier_sources_line(earlier))
    if not final.done:
        out.lines(unsettled)
    out.lines(_elapsed_line(len(ids), seconds))
    return status_of(final)


async def _status(args: argparse.Namespace, ids: list[str] | None, out: Output) -> int:
    """Where the run stands in its journal; nothing is sent."""
    journal: CommandJournal
    if args.journal is not None:
        journal = SqliteJournal(args.journal)
    else:
        from ..journal.redis import RedisJournal  # redis: only here

        journal = RedisJournal(args.redis, args.namespace)
    await journal.open()
    try:
        entries = await journal.entries(run_id=args.run_id)
    finally:
        await journal.close()
    if ids is None:  # no list: the run is what the journal holds
        progress = progress_of(entries, 0)
        progress = progress_of(entries, _entries_total(progress))
    else:
        progress = progress_of(entries, len(ids), devices=set(ids))
    if out.json:
        out.document(summary_record(args.run_id, progress))
    else:
        heading = " (from the journal; nothing sent)"
        out.lines(*run_lines(f"run {args.run_id}", progress, heading=heading))
    return status_of(progress)


def _entries_total(progress: RunProgress) -> int:
    return progress.settled + progress.accepted + progress.in_doubt


def _elapsed_line(devices: int, seconds: float) -> str:
    rate = devices / seconds if seconds > 0 else 0.0
    return f"elapsed: {seconds:.2f} s ({rate:.1f} devices/s)"


def _say(err: TextIO, line: str) -> None:
    print(f"privicore sync: {line}", file=err, flush=True)
