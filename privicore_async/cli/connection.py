"""Where a command connects and as whom: the connection options, the password, the client.

The options (:func:`add_connection_options`) go before the command (``privicore --api-url URL
devices list``) and may be repeated after it, where they win. Each one not given falls back to
its ``PRIVICORE_*`` variable: that is :class:`~privicore_async.PrivicoreClient`'s own
fallback, so the command line and the library read the environment the same way. The password
is never an option (options show in ``ps``): it comes from ``PRIVICORE_PASSWORD``, or from a
prompt when standard input is a terminal.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import getpass
import os
import sys
from collections.abc import AsyncIterator, Awaitable, Callable, Collection, Mapping
from typing import TextIO

import attrs

from ..client import PrivicoreClient
from ..http import RetryPolicy
from ..journal import CommandJournal
from .exits import CommandFailed, ExitCode
from .options import at_least
from .output import Output, isatty

__all__ = ["DEFAULT_RETRY_TIME", "Connection", "add_connection_options", "run_with_client"]

DEFAULT_RETRY_TIME = 5.0
"""Seconds a request that gets no answer is retried before the command gives up (exit 4).

Shorter than the library's 30 s: at a prompt, a mistyped URL should say so at once."""

_ENDPOINTS = (
    ("--api-url", "PRIVICORE_API_URL", "the REST API"),
    ("--ws-url", "PRIVICORE_WS_URL", "pushed command outcomes (else polling); retrieve needs it"),
    ("--upstream-url", "PRIVICORE_UPSTREAM_URL", "the data host large uploads go to"),
    ("--downstream-url", "PRIVICORE_DOWNSTREAM_URL", "the data host downloads come from"),
)
_USERNAME_HELP = (
    "the profile to log in as (default: $PRIVICORE_USERNAME); the password comes from "
    "$PRIVICORE_PASSWORD or a prompt, never from an option"
)
_RETRY_HELP = (
    "seconds to keep retrying a request that gets no answer before giving up with status 4 "
    f"(default: {DEFAULT_RETRY_TIME:g}; 0: no retries)"
)


def add_connection_options(
    parser: argparse.ArgumentParser,
    *,
    only: Collection[str] | None = None,
    repeated: bool = False,
) -> None:
    """Add the connection options (``only`` these flags, when given) to ``parser``.

    ``repeated``: the options of a subcommand, repeating the global ones. Their default is
    "not given" (``argparse.SUPPRESS``), so that the value given before the subcommand is kept
    unless the option is given again after it.
    """

    def wanted(flag: str) -> bool:
        return only is None or flag in only

    def default(value: object) -> object:
        return argparse.SUPPRESS if repeated else value

    where = "may also come before the command" if repeated else "may also follow the command"
    group = parser.add_argument_group(f"connection ({where})")
    for flag, variable, text in _ENDPOINTS:
        if wanted(flag):
            group.add_argument(
                flag, metavar="URL", default=default(None), help=f"{text} (default: ${variable})"
            )
    if wanted("--username"):
        group.add_argument("--username", metavar="NAME", default=default(None), help=_USERNAME_HELP)
    if wanted("--retry-time"):
        group.add_argument(
            "--retry-time",
            type=at_least(0.0, float),
            default=default(DEFAULT_RETRY_TIME),
            metavar="S",
            help=_RETRY_HELP,
        )


@attrs.frozen
class Connection:
    """The resolved connection options of one command (``None``: the environment's value)."""

    api_url: str | None
    ws_url: str | None = None
    upstream_url: str | None = None
    downstream_url: str | None = None
    username: str | None = None
    password: str | None = attrs.field(default=None, repr=False)
    retry_time: float = DEFAULT_RETRY_TIME
    login: bool = True
    """Log in before the command's work, so that refused credentials fail it at once."""

    @classmethod
    def from_args(
        cls,
        args: argparse.Namespace,
        *,
        login: bool = True,
        environ: Mapping[str, str] | None = None,
        stdin: TextIO | None = None,
    ) -> Connection:
        """The options of ``args``; with ``login``, the username and password too.

        Raises :class:`CommandFailed` (exit status 2 or 3) when there is no API URL, or no
        username or password to log in with. Asks for the password on the terminal when
        ``PRIVICORE_PASSWORD`` is not set and standard input is a terminal.
        """
        env = os.environ if environ is None else environ
        if not (args.api_url or env.get("PRIVICORE_API_URL")):
            raise CommandFailed(
                "no API URL: give --api-url or set PRIVICORE_API_URL", ExitCode.USAGE
            )
        username = password = None
        if login:
            terminal = sys.stdin if stdin is None else stdin
            username, password = _credentials(args.username, env, terminal)
        return cls(
            api_url=args.api_url,
            ws_url=args.ws_url,
            upstream_url=args.upstream_url,
            downstream_url=args.downstream_url,
            username=username,
            password=password,
            retry_time=args.retry_time,
            login=login,
        )

    def client(self, *, journal: CommandJournal | None = None) -> PrivicoreClient:
        """A new client with these options (build it inside the running event loop)."""
        return PrivicoreClient(
            self.api_url,
            ws_url=self.ws_url,
            upstream_url=self.upstream_url,
            downstream_url=self.downstream_url,
            username=self.username,
            password=self.password,
            retry=_retry_policy(self.retry_time),
            journal=journal,
        )

    @contextlib.asynccontextmanager
    async def open(
        self, *, journal: CommandJournal | None = None
    ) -> AsyncIterator[PrivicoreClient]:
        """An open client for the command's work, logged in first (unless ``login`` is off)."""
        client = self.client(journal=journal)
        if not self.login:
            # Entering the client starts the ack channel, and joining it logs in: a command
            # that needs no login (health) must not log in as a side effect.
            try:
                yield client
            finally:
                await client.close()
            return
        async with client:
            await client.tokens.token()  # AuthenticationError (exit 3) before any work
            yield client


Work = Callable[[PrivicoreClient, Output], Awaitable[int]]
"""A command's work with an open client and its output; returns the exit status."""


def run_with_client(args: argparse.Namespace, work: Work, *, login: bool = True) -> int:
    """Resolve the connection of ``args``, then run ``work`` on a fresh event loop with an
    open client (logged in first, with ``login``); returns its exit status."""
    connection = Connection.from_args(args, login=login)
    out = Output(sys.stdout, json_mode=args.json)

    async def main() -> int:
        async with connection.open() as client:
            return await work(client, out)

    return asyncio.run(main())


def _credentials(given: str | None, env: Mapping[str, str], stdin: TextIO) -> tuple[str, str]:
    username = given or env.get("PRIVICORE_USERNAME")
    if not username:
        raise CommandFailed(
            "no username: give --username or set PRIVICORE_USERNAME", ExitCode.AUTHENTICATION
        )
    password = env.get("PRIVICORE_PASSWORD")
    if password:
        return username, password
    if not isatty(stdin):
        raise CommandFailed(
            "no password: set PRIVICORE_PASSWORD (or run in a terminal to be asked for it; it "
            "is never taken from an option)",
            ExitCode.AUTHENTICATION,
        )
    try:
        password = getpass.getpass(f"Password for {username}: ")
    except EOFError:
        password = ""
    if not password:
        raise CommandFailed("no password given", ExitCode.AUTHENTICATION)
    return username, password


def _retry_policy(seconds: float) -> RetryPolicy:
    if seconds <= 0:
        return RetryPolicy(max_attempts=1, max_time=1e-3)
    return RetryPolicy(max_time=seconds)
