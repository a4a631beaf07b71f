"""Running the sandbox as its own process: ``python -m privicore_async.sandbox``.

Benchmarks run it apart from the client so the server's work does not share the client's
core. It prints one ``privicore sandbox listening on URL`` line (flushed, for a parent process
to read), then ``privicore sandbox admin token TOKEN`` (what the ``/_sandbox/`` admin endpoints
require; random unless ``--admin-token`` or ``$PRIVICORE_SANDBOX_ADMIN_TOKEN`` fixes it; the
only place the token is ever printed), with ``--print-ws-url`` then one ``privicore sandbox
websocket on ws://HOST:PORT`` line (the ack channel, on its own port), with
``--print-data-urls`` then ``privicore sandbox upstream on http://...`` and ``privicore sandbox
downstream on http://...`` (the data hosts), one ``privicore sandbox seeded user NAME: devices
ID ...`` line per ``--user``, and serves until SIGINT or SIGTERM. With ``--print-env`` the
output is a shell file: ``export PRIVICORE_...=`` lines (see :func:`env_lines`) and the lines
above as comments. It listens on
loopback only, unless ``--allow-remote`` (then it warns).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import shlex
import signal
import sys
from collections.abc import Sequence
from typing import Any, Literal

from .config import ID_SHAPES, REAUTHORIZE_MODES, STATUS_METHODS, STATUS_SHAPES
from .faults import Faults
from .server import Sandbox

__all__ = ["ADMIN_TOKEN_ENV", "env_lines", "from_args", "main", "parser", "serve"]

LISTENING = "privicore sandbox listening on"
ADMIN_TOKEN = "privicore sandbox admin token"
WS_LISTENING = "privicore sandbox websocket on"
UPSTREAM_LISTENING = "privicore sandbox upstream on"
DOWNSTREAM_LISTENING = "privicore sandbox downstream on"
SEEDED = "privicore sandbox seeded user"
ADMIN_TOKEN_ENV = "PRIVICORE_SANDBOX_ADMIN_TOKEN"


async def serve(host: str = "127.0.0.1", port: int = 9009, **sandbox_kwargs: Any) -> None:
    """Run a :class:`Sandbox` until SIGINT/SIGTERM (or until cancelled), then close it."""
    await _run_until_signalled(Sandbox(host=host, port=port, **sandbox_kwargs))


def env_lines(sandbox: Sandbox) -> list[str]:
    """``export NAME=VALUE`` lines that point a client (and ``privicore``) at ``sandbox``.

    The URLs, the first seeded user's credentials, its device ids (space-separated, in
    ``PRIVICORE_DEVICE_IDS``) and the admin token; values are shell-quoted.
    """
    values = {
        "PRIVICORE_API_URL": sandbox.api_url,
        "PRIVICORE_WS_URL": sandbox.ws_url,
        "PRIVICORE_UPSTREAM_URL": sandbox.upstream_url,
        "PRIVICORE_DOWNSTREAM_URL": sandbox.downstream_url,
    }
    if sandbox.seeded:
        user = next(iter(sandbox.seeded.values()))
        values["PRIVICORE_USERNAME"] = user.username
        values["PRIVICORE_PASSWORD"] = user.password
        values["PRIVICORE_DEVICE_IDS"] = " ".join(user.device_ids)
    values[ADMIN_TOKEN_ENV] = sandbox.admin_token
    return [f"export {name}={shlex.quote(value)}" for name, value in values.items()]


_ALTERNATIVE_ROUTES: dict[str, bool | Literal["only"]] = {"off": False, "on": True, "only": "only"}


def _parse_user(text: str) -> tuple[str, str]:
    username, colon, password = text.partition(":")
    if not colon or not username or not password:
        raise argparse.ArgumentTypeError("expected USERNAME:PASSWORD")
    return username, password


async def _run_until_signalled(
    sandbox: Sandbox,
    *,
    print_ws_url: bool = False,
    print_data_urls: bool = False,
    print_env: bool = False,
) -> None:
    loop = asyncio.get_running_loop()
    stop = asyncio.Event()
    handled: list[signal.Signals] = []
    for signum in (signal.SIGINT, signal.SIGTERM):
        # Not every loop supports signal handlers (Windows); there Ctrl-C cancels run().
        with contextlib.suppress(NotImplementedError, RuntimeError):
            loop.add_signal_handler(signum, stop.set)
            handled.append(signum)
    try:
        async with sandbox:
            # With --print-env every line is shell (the others become comments), so the output
            # can be saved and sourced as it is.
            note = "# " if print_env else ""
            print(f"{note}{LISTENING} {sandbox.api_url}", flush=True)
            if not print_env:
                # For the operator or parent process; the one place the token is ever printed
                # (--print-env prints it as an export line instead).
                print(f"{ADMIN_TOKEN} {sandbox.admin_token}", flush=True)
            if print_ws_url:
                print(f"{note}{WS_LISTENING} {sandbox.ws_url}", flush=True)
            if print_data_urls:
                print(f"{note}{UPSTREAM_LISTENING} {sandbox.upstream_url}", flush=True)
                print(f"{note}{DOWNSTREAM_LISTENING} {sandbox.downstream_url}", flush=True)
            for user in sandbox.seeded.values():
                devices = " ".join(user.device_ids) or "(none)"
                print(f"{note}{SEEDED} {user.username}: devices {devices}", flush=True)
            if print_env:
                print("\n".join(env_lines(sandbox)), flush=True)
            await stop.wait()
    finally:
        for signum in handled:
            loop.remove_signal_handler(signum)


def parser(prog: str = "python -m privicore_async.sandbox") -> argparse.ArgumentParser:
    """The command-line options (shared with the ``privicore sandbox`` subcommand)."""
    p = argparse.ArgumentParser(
        prog=prog,
        description="Run the Privicore sandbox (an in-memory Privicore server) on loopback.",
    )
    p.add_argument("--host", default="127.0.0.1", help="a loopback address unless --allow-remote")
    p.add_argument(
        "--allow-remote",
        action="store_true",
        help="allow a --host other hosts can reach (the sandbox has no real security)",
    )
    p.add_argument(
        "--admin-token",
        default=None,
        metavar="TOKEN",
        help=f"the token the /_sandbox/ admin endpoints require (default: ${ADMIN_TOKEN_ENV}, "
        "else random; printed at start either way)",
    )
    p.add_argument("--port", type=int, default=9009, help="0 picks a free port")
    p.add_argument("--latency", type=float, default=0.2, help="seconds until a command settles")
    p.add_argument("--jitter", type=float, default=0.0, help="extra random settle delay bound")
    p.add_argument("--seed", type=int, default=0)
    # Defaults: the real server's wire (wire reference §a4b); the rest is opt-in variety.
    p.add_argument(
        "--id-shape",
        choices=(*ID_SHAPES, "mixed"),
        default="json-string",
        help="how a 202 body carries the command id (default: json-string, as the real server)",
    )
    p.add_argument(
        "--id-header",
        action="store_true",
        help="also send the command id in an x-dpt-cab-id header on every 202",
    )
    p.add_argument(
        "--status-shape",
        choices=(*STATUS_SHAPES, "mixed"),
        default="string",
        help="how /request-status answers (default: string, a bare status word)",
    )
    p.add_argument(
        "--ws-progress-interval",
        type=float,
        default=None,
        metavar="SECONDS",
        help="also push progress acks (command_status 1) on accept and every SECONDS "
        "(default: settle acks only, as the real server)",
    )
    p.add_argument(
        "--status-methods", default=",".join(STATUS_METHODS), help="e.g. POST,GET or POST"
    )
    p.add_argument(
        "--alternative-routes",
        choices=("off", "on", "only"),
        default="off",
        help="serve the route table's documented second choices too (on) or instead of the "
        "first choices (only), for testing a client's fallback (default: off)",
    )
    p.add_argument("--token-ttl", type=float, default=3600.0)
    p.add_argument("--reauthorize-mode", choices=REAUTHORIZE_MODES, default="sync")
    p.add_argument(
        "--print-ws-url",
        action="store_true",
        help="also print a 'privicore sandbox websocket on ws://HOST:PORT' line",
    )
    p.add_argument(
        "--print-data-urls",
        action="store_true",
        help="also print the upstream and downstream data hosts' 'http://HOST:PORT' lines",
    )
    seed = p.add_argument_group("seed data (ready to log in and sync at once)")
    seed.add_argument(
        "--user",
        action="append",
        type=_parse_user,
        default=[],
        metavar="USERNAME:PASSWORD",
        help="register this user at start (repeatable)",
    )
    seed.add_argument(
        "--devices",
        type=int,
        default=0,
        metavar="N",
        help="give each --user N approved, online storage devices (their ids are printed)",
    )
    seed.add_argument(
        "--print-env",
        action="store_true",
        help="print 'export PRIVICORE_...=' lines (URLs, the first user's credentials and "
        "device ids, the admin token) for another shell; the other lines become comments",
    )
    limit = p.add_argument_group("rate limit (a token bucket in front of every API request)")
    limit.add_argument(
        "--rate-limit",
        type=float,
        default=None,
        metavar="RATE",
        help="requests per second; beyond it: 429 with Retry-After (default: no limit)",
    )
    limit.add_argument(
        "--burst",
        type=int,
        default=None,
        metavar="N",
        help="the bucket's size: requests allowed at once (default: 1; needs --rate-limit)",
    )
    faults = p.add_argument_group("fault injection (probabilities per request)")
    faults.add_argument("--error-rate", type=float, default=0.0)
    faults.add_argument("--reset-rate", type=float, default=0.0)
    faults.add_argument("--rate-limit-rate", type=float, default=0.0)
    faults.add_argument("--retry-after", type=float, default=1.0)
    faults.add_argument("--slow-rate", type=float, default=0.0)
    faults.add_argument("--slow-delay", type=float, default=1.0)
    faults.add_argument("--lost-rate", type=float, default=0.0)
    faults.add_argument(
        "--fault-routes", default=None, help="comma-separated route names (default: all)"
    )
    return p


def main(
    argv: Sequence[str] | None = None, *, prog: str = "python -m privicore_async.sandbox"
) -> int:
    """Parse ``argv``, serve until a signal, return the exit status (0 on a clean stop)."""
    args = parser(prog).parse_args(argv)
    sandbox = from_args(args, prog)
    try:
        asyncio.run(
            _run_until_signalled(
                sandbox,
                print_ws_url=args.print_ws_url,
                print_data_urls=args.print_data_urls,
                print_env=args.print_env,
            )
        )
    except KeyboardInterrupt:
        pass
    except OSError as exc:  # the port is taken, the host is not local, ...
        print(f"privicore sandbox: cannot listen: {exc}", file=sys.stderr)
        return 1
    return 0


def from_args(args: argparse.Namespace, prog: str = "python -m privicore_async.sandbox") -> Sandbox:
    """The (not yet started) :class:`Sandbox` that parsed options describe.

    A bad combination exits with a usage error (status 2), as argparse does.
    """
    if args.burst is not None and args.rate_limit is None:
        parser(prog).error("--burst needs --rate-limit")
    burst = 1 if args.burst is None else args.burst
    rate_limit = None if args.rate_limit is None else (args.rate_limit, burst)
    # Read here, not as the option's default, so --help never shows a token. Empty means unset.
    admin_token = args.admin_token
    if admin_token is None:
        admin_token = os.environ.get(ADMIN_TOKEN_ENV) or None
    try:
        # Built before the loop starts, so a bad option is a usage error, not a traceback.
        sandbox = Sandbox(
            host=args.host,
            port=args.port,
            allow_remote=args.allow_remote,
            admin_token=admin_token,
            users=dict(args.user) or None,
            devices=args.devices,
            latency=args.latency,
            jitter=args.jitter,
            seed=args.seed,
            id_shape=args.id_shape,
            id_header=args.id_header,
            status_shape=args.status_shape,
            ws_progress_interval=args.ws_progress_interval,
            status_methods=tuple(m.strip() for m in args.status_methods.split(",") if m.strip()),
            token_ttl=args.token_ttl,
            reauthorize_mode=args.reauthorize_mode,
            alternative_routes=_ALTERNATIVE_ROUTES[args.alternative_routes],
            rate_limit=rate_limit,
            faults=Faults(
                error_rate=args.error_rate,
                reset_rate=args.reset_rate,
                rate_limit_rate=args.rate_limit_rate,
                retry_after=args.retry_after,
                slow_rate=args.slow_rate,
                slow_delay=args.slow_delay,
                lost_rate=args.lost_rate,
                routes=args.fault_routes.split(",") if args.fault_routes else None,
                seed=args.seed,
            ),
        )
    except ValueError as exc:
        parser(prog).error(str(exc))
    return sandbox
