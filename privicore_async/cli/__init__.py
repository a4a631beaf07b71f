"""The ``privicore`` console script.

::

    privicore demo [--devices N] [--latency S] [--jitter S] [--offline K] [--seed X]
    privicore sandbox [--host H] [--port P] [...]
    privicore sync --from FILE --run-id ID (--journal PATH | --redis URL) [--status] [...]
    privicore worker --redis URL [--api-url URL --username U] [--concurrency N] [...]
    privicore --version

:func:`main` takes the arguments (``sys.argv[1:]`` by default) and returns the exit status.
"""

from __future__ import annotations

import argparse
import asyncio
import functools
import sys
from collections.abc import Callable, Sequence

from .. import __version__
from ..sandbox import process as sandbox_process
from . import sync as sync_command
from . import worker as worker_command
from .demo import DemoFailed, DemoOptions, default_offline, run_demo

__all__ = ["build_parser", "main"]

INTERRUPTED = 130
"""The exit status after Ctrl-C (128 + SIGINT), as shells report it."""

Command = Callable[[argparse.Namespace, list[str]], int]


def main(argv: Sequence[str] | None = None) -> int:
    """Run ``privicore`` with ``argv`` (default ``sys.argv[1:]``); returns the exit status.

    ``--help``, ``--version`` and usage errors return 0 or 2 instead of raising SystemExit.
    """
    args_list = list(sys.argv[1:] if argv is None else argv)
    parser = build_parser()
    try:
        args = parser.parse_args(args_list)
        command: Command = args.command
        return command(args, args_list)
    except SystemExit as exc:  # argparse's way to end after --help, --version or a bad option
        return _exit_status(exc)


def build_parser() -> argparse.ArgumentParser:
    """The ``privicore`` parser and its subcommands."""
    parser = argparse.ArgumentParser(
        prog="privicore",
        description=(
            "The privicore-async command line: a demo, the embedded sandbox, resumable fleet "
            "syncs and the workers that run them."
        ),
    )
    parser.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    commands = parser.add_subparsers(title="commands", metavar="COMMAND", required=True)
    _add_demo(commands)
    _add_sandbox(commands)
    sync_command.add_parser(commands)
    worker_command.add_parser(commands)
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
        "--devices", type=_at_least(1, int), default=200, metavar="N", help="(default: 200)"
    )
    demo.add_argument(
        "--latency",
        type=_at_least(0, float),
        default=0.2,
        metavar="S",
        help="seconds until a command settles (default: 0.2)",
    )
    demo.add_argument(
        "--jitter",
        type=_at_least(0, float),
        default=0.0,
        metavar="S",
        help="random extra settle delay, up to S seconds (default: 0)",
    )
    demo.add_argument(
        "--offline",
        type=_at_least(0, int),
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
    demo.set_defaults(command=functools.partial(_demo, demo))


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
    sandbox.set_defaults(command=_sandbox)


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
        return INTERRUPTED
    except (DemoFailed, OSError) as exc:
        print(f"privicore demo: {exc}", file=sys.stderr)
        return 1


def _sandbox(args: argparse.Namespace, argv: list[str]) -> int:
    """``privicore sandbox``: hand everything after the word to the sandbox's own main."""
    return sandbox_process.main(argv[argv.index("sandbox") + 1 :], prog="privicore sandbox")


def _at_least(minimum: float, kind: Callable[[str], float]) -> Callable[[str], float]:
    """An argparse ``type`` that parses with ``kind`` and refuses values below ``minimum``."""

    def parse(text: str) -> float:
        value = kind(text)
        if value < minimum:
            raise argparse.ArgumentTypeError(f"must be at least {minimum:g}, not {text}")
        return value

    parse.__name__ = kind.__name__  # argparse names the type in "invalid int value" errors
    return parse


def _exit_status(exc: SystemExit) -> int:
    if exc.code is None:
        return 0
    if isinstance(exc.code, int):
        return exc.code
    print(exc.code, file=sys.stderr)
    return 1
