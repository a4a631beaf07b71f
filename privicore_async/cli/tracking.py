"""``privicore status COMMAND_ID`` (one read) and ``privicore wait COMMAND_ID`` (until settled).

Both print the same shape: the command id, its state (``pending``, ``succeeded``,
``rejected``) and the server's body (the rejection reason, for one). ``wait`` reads once
first, so that an unreachable API or refused credentials fail at once (the tracker would
only read again later), then follows the command with
:meth:`~privicore_async.resources.tracking.Commands.resume` until it settles or ``--timeout``
passes. Exit status: 1 for a rejected command (and for ``wait``, one still pending at the
timeout), else 0.
"""

from __future__ import annotations

import argparse
import functools
import json
import time

from ..client import PrivicoreClient
from ..errors import CommandRejected, CommandTimeout, NotFoundError
from ..wire.status import CommandStatus, StatusReading
from .connection import run_with_client
from .exits import CommandFailed, ExitCode
from .options import at_least
from .output import Output

__all__ = ["add_parsers"]


def add_parsers(
    commands: argparse._SubParsersAction[argparse.ArgumentParser],
    parents: list[argparse.ArgumentParser],
) -> None:
    """Register ``status`` and ``wait``."""
    status = commands.add_parser(
        "status",
        parents=parents,
        help="read a command's state once",
        description="Read the state of command COMMAND_ID once. Exit status 1 if it was "
        "rejected, else 0.",
    )
    status.add_argument("command_id", metavar="COMMAND_ID")
    status.set_defaults(command=_status, parser=status)
    wait = commands.add_parser(
        "wait",
        parents=parents,
        help="wait until a command settles",
        description="Follow command COMMAND_ID (started anywhere) until it succeeds or is "
        "rejected. Exit status 0 when it succeeded, 1 when it was rejected or is still pending "
        "after --timeout.",
    )
    wait.add_argument("command_id", metavar="COMMAND_ID")
    wait.add_argument(
        "--timeout",
        type=at_least(0.001, float),
        metavar="S",
        help="give up after S seconds (default: the client's, 300)",
    )
    wait.set_defaults(command=_wait, parser=wait)


def _status(args: argparse.Namespace, argv: list[str]) -> int:
    return run_with_client(args, functools.partial(_read_once, args.command_id))


async def _read_once(command_id: str, client: PrivicoreClient, out: Output) -> int:
    try:
        reading = await client.utility.command_status(command_id)
    except NotFoundError:
        reading = None
    if reading is None:  # raised outside the except: the 404's text adds nothing
        raise CommandFailed(f"command {command_id}: not found (the server does not know it)")
    _show(out, {"command_id": command_id, "status": reading.status, "body": reading.body})
    return _exit_status(reading.status)


def _wait(args: argparse.Namespace, argv: list[str]) -> int:
    return run_with_client(args, functools.partial(_follow, args.command_id, args.timeout))


async def _follow(
    command_id: str, timeout: float | None, client: PrivicoreClient, out: Output
) -> int:
    started = time.monotonic()
    reading: StatusReading | None
    try:
        reading = await client.utility.command_status(command_id)
    except NotFoundError:
        reading = None  # maybe not visible yet: the tracker gives a new id its grace period
    timed_out = False
    if reading is None or not reading.status.final:
        left = None if timeout is None else max(timeout - (time.monotonic() - started), 0.001)
        handle = client.commands.resume(command_id, timeout=left)
        try:
            result = await handle
            reading = StatusReading(result.status, result.body)
        except CommandRejected as exc:
            reading = StatusReading(CommandStatus.REJECTED, exc.reason)
        except CommandTimeout:
            reading = StatusReading(CommandStatus.PENDING)
            timed_out = True
    seconds = time.monotonic() - started
    _show(
        out,
        {
            "command_id": command_id,
            "status": reading.status,
            "body": reading.body,
            "timed_out": timed_out,
            "seconds": round(seconds, 3),
        },
    )
    return ExitCode.FAILED if timed_out else _exit_status(reading.status)


def _show(out: Output, result: dict[str, object]) -> None:
    if out.json:
        out.document(result)
        return
    status = result["status"]
    assert isinstance(status, CommandStatus)
    line = f"command {result['command_id']}: {status.value}"
    if result.get("timed_out"):
        line += f" (not settled after {result['seconds']:.1f} s)"
    body = result["body"]
    if body not in (None, "", {}, []):
        line += f": {body if isinstance(body, str) else json.dumps(body, default=str)}"
    out.lines(line)


def _exit_status(status: CommandStatus) -> int:
    return ExitCode.FAILED if status is CommandStatus.REJECTED else ExitCode.OK
