"""``privicore sync``: a resumable fleet sync, in this process or through queued workers.

::

    privicore sync --from FILE --run-id ID --journal PATH [--api-url URL --username U]
    privicore sync --from FILE --run-id ID --redis URL [--batch N]
    privicore sync --run-id ID (--journal PATH | --redis URL) --status [--from FILE]

``--journal``: ``storage.sync_devices`` here, journaled into a SQLite file, with a progress
line. ``--redis``: the devices are queued in batches for ``privicore worker`` processes and
the run is followed in their Redis journal. Run either again with the same ``--run-id`` to
resume. ``--status`` only reads the journal. Exit status: 0 when every device synchronised,
1 when some did not (or, with ``--status``, are not done yet), 2 on a usage error. The
password comes from ``PRIVICORE_PASSWORD``. Only ``--redis`` imports taskiq and Redis.
"""

from __future__ import annotations

import argparse
import asyncio
import functools
import os
import sys
import time
from collections.abc import Coroutine
from pathlib import Path
from typing import Any, TextIO

from ..client import PrivicoreClient
from ..contrib.progress import RunProgress, progress_of, reopen_run, run_progress
from ..contrib.settings import DEFAULT_NAMESPACE, DEFAULT_QUEUE
from ..errors import PrivicoreError
from ..journal import CommandJournal, SqliteJournal
from .options import at_least
from .progress import ProgressLine
from .run_summary import (
    earlier_sources_line,
    progress_detail,
    progress_of_report,
    report_sources_line,
    run_lines,
    status_of,
    sync_detail,
)

__all__ = ["INTERRUPTED", "add_parser", "read_ids"]

INTERRUPTED = 130
"""The exit status after Ctrl-C (128 + SIGINT)."""


def add_parser(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Register ``privicore sync``."""
    sync = commands.add_parser(
        "sync",
        help="synchronise a fleet of storage devices, resumably (here or through workers)",
        description=(
            "Synchronise the devices listed in FILE as run ID. --journal: here, journaled in a "
            "SQLite file; --redis: queued for `privicore worker` processes. Run again with the "
            "same --run-id to resume; --status shows where a run stands without sending "
            "anything. Exit status: 0 all synchronised, 1 some not, 2 usage."
        ),
    )
    sync.add_argument(
        "--from",
        dest="source",
        metavar="FILE",
        help="device ids, one per line ('-': standard input)",
    )
    sync.add_argument("--run-id", required=True, metavar="ID")
    where = sync.add_mutually_exclusive_group(required=True)
    where.add_argument("--journal", metavar="PATH", help="run here, journaled in this SQLite file")
    where.add_argument("--redis", metavar="URL", help="queue for workers; follow their journal")
    sync.add_argument(
        "--status", action="store_true", help="show where the run stands; send nothing"
    )
    here = sync.add_argument_group("with --journal")
    here.add_argument("--api-url", metavar="URL", help="(default: $PRIVICORE_API_URL)")
    here.add_argument("--ws-url", metavar="URL", help="pushed acks (default: $PRIVICORE_WS_URL)")
    here.add_argument("--username", metavar="U", help="(default: $PRIVICORE_USERNAME)")
    here.add_argument(
        "--concurrency", type=at_least(1, int), default=256, metavar="N", help="(default: 256)"
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
    sync.set_defaults(command=functools.partial(_sync, sync))


def read_ids(stream: TextIO) -> tuple[list[str], int]:
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
    if not args.run_id.strip():
        parser.error("--run-id must not be blank")
    ids = _ids(parser, args)
    if args.status:
        if args.journal is not None and not Path(args.journal).is_file():
            # Opening it would create an empty journal: a status must change nothing.
            print(f"privicore sync: no journal at {args.journal}", file=sys.stderr)
            return 1
        return _run(_status(args, ids, sys.stdout))
    if ids is None:
        parser.error("--from FILE is required (unless --status)")
    if args.journal is not None:
        api_url = args.api_url or os.environ.get("PRIVICORE_API_URL")
        if not api_url:
            parser.error("--api-url (or PRIVICORE_API_URL) is required with --journal")
        return _run(
            _sync_here(args, api_url, ids, sys.stdout, sys.stderr),
            interrupted="; run it again with the same --run-id to resume",
        )
    return _run(
        _sync_queued(args, ids, sys.stdout, sys.stderr),
        interrupted=(
            "; the queued batches stay with the workers (--status shows where the run stands; "
            "run it again with the same --run-id to follow it)"
        ),
    )


def _ids(parser: argparse.ArgumentParser, args: argparse.Namespace) -> list[str] | None:
    if args.source is None:
        return None
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
    """Run the command's coroutine; Ctrl-C and errors become an exit status and a message."""
    try:
        return asyncio.run(coroutine)
    except KeyboardInterrupt:
        print(f"privicore sync: interrupted{interrupted}", file=sys.stderr)
        return INTERRUPTED
    except ImportError as exc:
        print(f"privicore sync: {exc} (pip install 'privicore-async[redis]')", file=sys.stderr)
        return 1
    except (PrivicoreError, OSError, ValueError) as exc:
        print(f"privicore sync: {exc}", file=sys.stderr)
        return 1


async def _sync_here(
    args: argparse.Namespace, api_url: str, ids: list[str], out: TextIO, err: TextIO
) -> int:
    """The whole run in this process, journaled in SQLite."""
    bar = ProgressLine(err, "sync", len(ids))
    started = time.monotonic()
    try:
        async with PrivicoreClient(
            api_url,
            ws_url=args.ws_url,
            username=args.username,
            journal=SqliteJournal(args.journal),
        ) as client:
            report = await client.storage.sync_devices(
                ids,
                run_id=args.run_id,
                concurrency=args.concurrency,
                on_progress=lambda progress: bar.update(progress.done, sync_detail(progress)),
            )
    finally:
        bar.finish()
    progress = progress_of_report(report)
    _print(out, *run_lines(args.run_id, progress), report_sources_line(report))
    _print(out, _elapsed_line(len(ids), time.monotonic() - started))
    return status_of(progress)


async def _sync_queued(args: argparse.Namespace, ids: list[str], out: TextIO, err: TextIO) -> int:
    """Queue the run for workers, then follow it in their journal until every device settled.

    If batches of the run are still queued (an earlier coordinator was interrupted), they are
    followed, not queued again: two workers on the same devices at once would sync some twice.
    """
    from ..contrib.taskiq import enqueue_sync, make_broker, run_is_queued, wait_for_run
    from ..journal.redis import RedisJournal  # taskiq and redis: only here

    started = time.monotonic()
    devices = set(ids)
    journal = RedisJournal(args.redis, args.namespace)
    broker = make_broker(args.redis, queue=args.queue)
    await journal.open()
    try:
        await broker.startup()
        earlier = await run_progress(journal, args.run_id, len(ids), devices=devices)
        following = await run_is_queued(broker, args.run_id)
        if following:
            _print(out, f"run {args.run_id} is still queued: following it, not queueing it again")
        else:
            await reopen_run(journal, args.run_id, devices=devices)
            batches = await enqueue_sync(broker, ids, run_id=args.run_id, batch=args.batch)
            _print(out, f"queued {batches} batch(es) of up to {args.batch} devices on {args.queue}")
        bar = ProgressLine(err, "sync", len(ids))

        def show(progress: RunProgress) -> None:
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
            bar.finish()
    finally:
        await broker.shutdown()
        await journal.close()
    _print(out, *run_lines(args.run_id, final))
    if not following:
        _print(out, earlier_sources_line(earlier))
    if not final.done:
        _print(
            out,
            f"{final.total - final.settled} device(s) not settled and no batch of the run left "
            f"in the queue (batches that never finished are in {broker.dead_letters}): run it "
            f"again to retry them",
        )
    _print(out, _elapsed_line(len(ids), time.monotonic() - started))
    return status_of(final)


async def _status(args: argparse.Namespace, ids: list[str] | None, out: TextIO) -> int:
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
    _print(out, *run_lines(args.run_id, progress, heading=" (from the journal; nothing sent)"))
    return status_of(progress)


def _entries_total(progress: RunProgress) -> int:
    return progress.settled + progress.accepted + progress.in_doubt


def _elapsed_line(devices: int, seconds: float) -> str:
    rate = devices / seconds if seconds > 0 else 0.0
    return f"elapsed: {seconds:.2f} s ({rate:.1f} devices/s)"


def _print(out: TextIO, *lines: str) -> None:
    for line in lines:
        print(line, file=out)
    out.flush()
