"""``privicore worker``: take sync batches from a Redis queue until SIGTERM or SIGINT.

The first signal stops it gracefully: no new batch is taken, the running ones finish, and it
exits 0. A second signal stops it hard: running batches are cancelled and handed back to the
queue (another worker resumes them from the journal), and it exits 130. The password is read
from ``PRIVICORE_PASSWORD`` only, never from a flag (flags show in ``ps``). taskiq and Redis
(the ``redis`` extra) are imported only when the command runs.
"""

from __future__ import annotations

import argparse
import asyncio
import functools
import logging
import signal
import sys
from typing import TYPE_CHECKING, TextIO

from ..contrib.settings import DEFAULT_NAMESPACE, DEFAULT_QUEUE, WorkerSettings
from .connection import add_connection_options
from .exits import ExitCode
from .options import at_least

if TYPE_CHECKING:
    from collections.abc import Callable

__all__ = ["HARD_STOP", "add_parser"]

HARD_STOP = ExitCode.INTERRUPTED
"""The exit status after a second signal stopped the worker hard (128 + SIGINT)."""

_SIGNALS = (signal.SIGTERM, signal.SIGINT)


def add_parser(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Register ``privicore worker``."""
    worker = commands.add_parser(
        "worker",
        help="run fleet-sync batches queued on Redis (until SIGTERM/SIGINT)",
        description=(
            "Take sync batches queued by `privicore sync --redis` and run them with one "
            "long-lived client, journaling into Redis. The password comes from "
            "PRIVICORE_PASSWORD. SIGTERM/SIGINT: finish the running batches and exit 0; a "
            "second signal: hand them back to the queue and exit 130."
        ),
    )
    worker.add_argument(
        "--redis",
        metavar="URL",
        help="queue, journal and rate limit (default: $PRIVICORE_REDIS_URL)",
    )
    add_connection_options(worker, only=("--api-url", "--ws-url", "--username"), repeated=True)
    worker.add_argument(
        "--concurrency",
        type=at_least(1, int),
        default=256,
        metavar="N",
        help="commands in flight per batch (default: 256)",
    )
    worker.add_argument(
        "--batches",
        type=at_least(1, int),
        default=1,
        metavar="K",
        help="batches run at once (default: 1)",
    )
    worker.add_argument(
        "--rate-limit",
        type=at_least(0.001, float),
        metavar="R",
        help="requests per second for all workers together (default: $PRIVICORE_RATE_LIMIT)",
    )
    worker.add_argument(
        "--burst", type=at_least(1, int), metavar="B", help="with --rate-limit (default: 1)"
    )
    worker.add_argument(
        "--namespace", metavar="NS", help=f"journal namespace (default: {DEFAULT_NAMESPACE})"
    )
    worker.add_argument("--queue", metavar="Q", help=f"(default: {DEFAULT_QUEUE})")
    worker.add_argument(
        "--idle-timeout",
        type=at_least(0.1, float),
        default=60.0,
        metavar="S",
        help="a dead worker's batch is taken over after S seconds (default: 60)",
    )
    worker.add_argument(
        "--grace",
        type=at_least(0.1, float),
        default=30.0,
        metavar="S",
        help="on a stop, wait up to S seconds for running batches (default: 30)",
    )
    worker.set_defaults(command=functools.partial(_worker, worker), parser=worker)


def _worker(parser: argparse.ArgumentParser, args: argparse.Namespace, argv: list[str]) -> int:
    if args.burst is not None and args.rate_limit is None:
        parser.error("--burst needs --rate-limit")
    rate_limit = None
    if args.rate_limit is not None:
        rate_limit = (args.rate_limit, args.burst or 1)
    try:
        settings = WorkerSettings.from_env(
            api_url=args.api_url,
            redis_url=args.redis,
            ws_url=args.ws_url,
            username=args.username,
            namespace=args.namespace,
            queue=args.queue,
            rate_limit=rate_limit,
            concurrency=args.concurrency,
            batches=args.batches,
            idle_timeout=args.idle_timeout,
            grace=args.grace,
        )
    except ValueError as exc:
        parser.error(str(exc))
    logging.basicConfig(
        level=logging.INFO,
        stream=sys.stderr,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
        force=True,  # replaces the command line's terse default (privicore_async.cli)
    )
    try:
        return asyncio.run(_serve(settings, sys.stdout))
    except ImportError as exc:
        print(f"privicore worker: {exc} (pip install 'privicore-async[redis]')", file=sys.stderr)
        return ExitCode.FAILED
    # Other failures (refused credentials, an unreachable API, ...) get their status from the
    # one table in .exits, like every command's.


async def _serve(settings: WorkerSettings, out: TextIO) -> int:
    """Run the worker with signal handlers; the exit status."""
    from ..contrib.worker import run_worker  # needs taskiq and redis: only here

    loop = asyncio.get_running_loop()
    stop = asyncio.Event()
    main = asyncio.current_task()
    assert main is not None
    received: list[int] = []

    def on_signal(number: int) -> None:
        received.append(number)
        if len(received) == 1:
            _say(out, "privicore worker: stopping (a second signal hands running batches back)")
            stop.set()
        elif len(received) == 2:
            main.cancel()

    for number in _SIGNALS:
        loop.add_signal_handler(number, on_signal, number)
    try:
        await run_worker(settings, stop=stop, on_ready=_ready(settings, out))
    except asyncio.CancelledError:
        if len(received) < 2:
            raise
        main.uncancel()
        _say(out, "privicore worker: stopped hard; unfinished batches went back to the queue")
        return HARD_STOP
    finally:
        for number in _SIGNALS:
            loop.remove_signal_handler(number)
    _say(out, "privicore worker: stopped")
    return ExitCode.OK


def _ready(settings: WorkerSettings, out: TextIO) -> Callable[[str], None]:
    def ready(consumer: str) -> None:
        # Neither the Redis URL nor the password: either may hold a secret.
        _say(
            out,
            f"privicore worker: ready as {consumer} on queue {settings.queue} "
            f"(journal {settings.namespace}, API {settings.api_url})",
        )

    return ready


def _say(out: TextIO, line: str) -> None:
    print(line, file=out, flush=True)
