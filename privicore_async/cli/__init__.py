"""The ``privicore`` console script.

::

    privicore [--api-url URL] [--ws-url URL] [--username NAME] [--json] COMMAND ...
    privicore health | status COMMAND_ID | wait COMMAND_ID [--timeout S]
    privicore devices list | storage list
    privicore sync DEVICE... | --from FILE [--concurrency N] [--timeout S]
    privicore sync --from FILE --run-id ID (--journal PATH | --redis URL) [--status] [...]
    privicore store FILE --key-file K | retrieve TOKEN --key-file K -o OUT | keygen K [--pair]
    privicore worker --redis URL [--concurrency N] [...]
    privicore demo [--devices N] [...] | sandbox [--port P] [...] | --version

:func:`main` takes the arguments (``sys.argv[1:]`` by default) and returns the exit status,
one of :class:`~privicore_async.cli.exits.ExitCode`: every command's expected failures are
turned into a message on stderr and their status here, in one place.
"""

from __future__ import annotations

import argparse
import asyncio
import functools
import logging
import os
import sys
from collections.abc import Callable, Sequence

from .._version import __version__
from ..sandbox import process as sandbox_process
from . import keys, reads, tracking, vault
from . import sync as sync_command
from . import worker as worker_command
from .connection import add_connection_options
from .demo import DemoFailed, DemoOptions, default_offline, run_demo
from .exits import ExitCode, epilog, exit_code_for, failure_message
from .options import at_least
from .output import add_output_options

__all__ = ["build_parser", "main"]

Command = Callable[[argparse.Namespace, list[str]], int]

_ENVIRONMENT = """\
environment:
  PRIVICORE_API_URL, PRIVICORE_WS_URL, PRIVICORE_UPSTREAM_URL, PRIVICORE_DOWNSTREAM_URL and
  PRIVICORE_USERNAME stand in for the options not given; the password comes only from
  PRIVICORE_PASSWORD or, on a terminal, a prompt."""


def main(argv: Sequence[str] | None = None) -> int:
    """Run ``privicore`` with ``argv`` (default ``sys.argv[1:]``); returns the exit status.

    ``--help``, ``--version`` and usage errors return 0 or 2 instead of raising SystemExit.
    A reader that closes the output early (``privicore devices list | head -1``) ends the
    command quietly with status 0.
    """
    args_list = list(sys.argv[1:] if argv is None else argv)
    try:
        status = _dispatch(build_parser(), args_list)
        sys.stdout.flush()  # a closed pipe shows here, not as a traceback at exit
        return status
    except BrokenPipeError:
        _discard_stdout()
        return ExitCode.OK


def _dispatch(parser: argparse.ArgumentParser, argv: list[str]) -> int:
    """Parse and run one command; expected failures become their exit status (.exits)."""
    try:
        args = parser.parse_args(argv)
    except SystemExit as exc:  # argparse's way to end after --help, --version or a bad option
        return _exit_status(exc)
    where: argparse.ArgumentParser = getattr(args, "parser", parser)
    command: Command = args.command
    # The SDK's warnings (an unreachable host being retried, ...) as one line each, named;
    # a no-op where logging is set up already (a caller's, the worker's own).
    logging.basicConfig(level=logging.WARNING, stream=sys.stderr, format="privicore: %(message)s")
    try:
        return int(command(args, argv))
    except SystemExit as exc:  # a command's own usage error (parser.error)
        return _exit_status(exc)
    except BrokenPipeError:
        raise
    except BaseException as exc:
        code = exit_code_for(exc)
        if code is None:  # a bug: keep its traceback
            raise
        _explain(where, exc, code)
        return code


def _explain(where: argparse.ArgumentParser, exc: BaseException, code: ExitCode) -> None:
    """The failure's one line on stderr (after the usage line, for a usage error)."""
    if code is ExitCode.INTERRUPTED:
        print(f"{where.prog}: interrupted", file=sys.stderr)
    elif code is ExitCode.USAGE:
        where.print_usage(sys.stderr)
        print(f"{where.prog}: error: {failure_message(exc)}", file=sys.stderr)
    else:
        print(f"{where.prog}: {failure_message(exc)}", file=sys.stderr)


def _discard_stdout() -> None:
    """Point stdout at /dev/null, so that the flush at exit cannot fail again (the way the
    Python docs recommend for SIGPIPE: Python ignores the signal and raises instead)."""
    try:
        fd = sys.stdout.fileno()
    except (AttributeError, OSError, ValueError):  # not a real file (a test's capture)
        return
    devnull = os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, fd)
    os.close(devnull)


def build_parser() -> argparse.ArgumentParser:
    """The ``privicore`` parser and its subcommands."""
    parser = argparse.ArgumentParser(
        prog="privicore",
        description=(
            "The privicore-async command line: talk to a Privicore API (health, command\n"
            "status, devices, fleet syncs, the encrypted vault), run sync workers, the\n"
            "embedded sandbox and a demo. `privicore COMMAND --help` tells more."
        ),
        epilog=f"{_ENVIRONMENT}\n\n{epilog()}",
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    add_connection_options(parser)
    add_output_options(parser)
    # Each command repeats the global options, so they may come after its name too.
    output = argparse.ArgumentParser(add_help=False)
    add_output_options(output, repeated=True)
    connection = argparse.ArgumentParser(add_help=False)
    add_connection_options(connection, repeated=True)
    commands = parser.add_subparsers(title="commands", metavar="COMMAND", required=True)
    reads.add_parsers(commands, [output, connection])
    tracking.add_parsers(commands, [output, connection])
    sync_command.add_parser(commands, [output, connection])
    vault.add_parsers(commands, [output, connection])
    keys.add_parser(commands, [output])
    worker_command.add_parser(commands)
    _add_demo(commands)
    _add_sandbox(commands)
    return parser


def _add_demo(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    demo = commands.add_parser(
        "demo",
        help="onboard and synchronise storage devices on an embedded sandbox",
        description=(
            "Start an embedded sandbox, register a profile, onboard N storage devices, take "
            "some offline, add one unknown id, and synchronise them all concurrently. Exits 0 "
            "when every online device synchronised and every offline or unknown one was "
            "rejected, 1 otherwise."
        ),
    )
    demo.add_argument(
        "--devices", type=at_least(1, int), default=200, metavar="N", help="(default: 200)"
    )
    demo.add_argument(
        "--latency",
        type=at_least(0.0, float),
        default=0.2,
        metavar="S",
        help="seconds until a command settles (default: 0.2)",
    )
    demo.add_argument(
        "--jitter",
        type=at_least(0.0, float),
        default=0.0,
        metavar="S",
        help="random extra settle delay, up to S seconds (default: 0)",
    )
    demo.add_argument(
        "--offline",
        type=at_least(0, int),
        default=None,
        metavar="K",
        help=f"devices taken offline (default: about 3 %%, at least 1: {default_offline(200)} "
        "of 200)",
    )
    demo.add_argument("--seed", type=int, default=0, metavar="X", help="(default: 0)")
    demo.add_argument(
        "--polling",
        action="store_true",
        help="settle commands by status polling only (default: pushed acks on the WebSocket)",
    )
    demo.set_defaults(command=functools.partial(_demo, demo), parser=demo)


def _add_sandbox(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    # The options are the sandbox's own (one place); this parser only shows and checks them,
    # then the arguments go to the sandbox's main unchanged.
    sandbox = commands.add_parser(
        "sandbox",
        parents=[sandbox_process.parser()],
        add_help=False,  # the parent brings its own -h
        help="serve the sandbox (an in-memory Privicore server) until interrupted",
        description=sandbox_process.parser().description,
    )
    sandbox.set_defaults(command=_sandbox, parser=sandbox)


def _demo(parser: argparse.ArgumentParser, args: argparse.Namespace, argv: list[str]) -> int:
    """``privicore demo``: run it on a fresh event loop; Ctrl-C exits 130 after cleaning up."""
    if args.offline is not None and args.offline > args.devices:
        parser.error(f"--offline {args.offline} exceeds --devices {args.devices}")
    options = DemoOptions(
        devices=args.devices,
        latency=args.latency,
        jitter=args.jitter,
        offline=args.offline,
        seed=args.seed,
        websocket=not args.polling,
    )
    try:
        # On Ctrl-C asyncio.run cancels the demo (closing client and sandbox), then raises.
        return asyncio.run(run_demo(options, sys.stdout, sys.stderr))
    except KeyboardInterrupt:
        print("privicore demo: interrupted", file=sys.stderr)
        return ExitCode.INTERRUPTED
    except (DemoFailed, OSError) as exc:
        print(f"privicore demo: {exc}", file=sys.stderr)
        return ExitCode.FAILED


def _sandbox(args: argparse.Namespace, argv: list[str]) -> int:
    """``privicore sandbox``: hand everything after the word to the sandbox's own main."""
    return sandbox_process.main(argv[argv.index("sandbox") + 1 :], prog="privicore sandbox")


def _exit_status(exc: SystemExit) -> int:
    if exc.code is None:
        return 0
    if isinstance(exc.code, int):
        return exc.code
    print(exc.code, file=sys.stderr)
    return 1
