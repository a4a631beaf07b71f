"""``privicore store FILE`` and ``privicore retrieve TOKEN``: the vault from a shell.

Both take ``--key-file`` (a data key from ``privicore keygen``): ``store`` seals the file with
it and prints the permanent data token to read it back with; ``retrieve`` decrypts into
``-o OUT`` only once the data has authenticated (nothing partial is ever written there). The
key never leaves its file and the process. The data token is printed by ``store`` (it is the
command's result: without the key and a login it reads nothing) and by nothing else.
"""

from __future__ import annotations

import argparse
import asyncio
import functools
import os
import stat
import sys
from collections.abc import AsyncIterator
from pathlib import Path
from typing import BinaryIO

from ..client import PrivicoreClient
from ..crypto import DataKey
from ..errors import DecryptionError
from ..resources.vault import CHUNK_SIZE, SMALL_LIMIT
from .connection import run_with_client
from .exits import CommandFailed, ExitCode
from .keys import read_data_key
from .options import at_least
from .output import Output
from .progress import Progress, progress_bar

__all__ = ["add_parsers"]

DEFAULT_CONTEXT = "default"


def add_parsers(
    commands: argparse._SubParsersAction[argparse.ArgumentParser],
    parents: list[argparse.ArgumentParser],
) -> None:
    """Register ``store`` and ``retrieve``."""
    store = commands.add_parser(
        "store",
        parents=parents,
        help="encrypt a file with your data key and store it; prints its data token",
        description="Seal FILE with the data key in KEY_FILE (AES-256-GCM, on this machine) "
        "and store the ciphertext; prints the permanent data token that `privicore retrieve` "
        "takes. FILE '-' reads standard input (then --name is required).",
    )
    store.add_argument("file", metavar="FILE")
    _key_file_option(store)
    store.add_argument("--name", metavar="NAME", help="the stored file name (default: FILE's)")
    store.add_argument(
        "--context", default=DEFAULT_CONTEXT, metavar="C", help=f"(default: {DEFAULT_CONTEXT})"
    )
    store.add_argument("--path", default="/", metavar="P", help="the folder (default: /)")
    store.add_argument(
        "--timeout", type=at_least(0.001, float), metavar="S", help="for each command awaited"
    )
    store.set_defaults(command=functools.partial(_store, store), parser=store)

    retrieve = commands.add_parser(
        "retrieve",
        parents=parents,
        help="read back and decrypt what `privicore store` stored",
        description="Fetch the data behind TOKEN (over the WebSocket: needs --ws-url or "
        "PRIVICORE_WS_URL), decrypt it with the data key in KEY_FILE and write it to OUT once "
        "it has authenticated. OUT '-' writes to standard output.",
    )
    retrieve.add_argument("token", metavar="TOKEN")
    _key_file_option(retrieve)
    retrieve.add_argument("-o", "--output", required=True, metavar="OUT", help="where to write")
    retrieve.add_argument(
        "--timeout",
        type=at_least(0.001, float),
        default=60.0,
        metavar="S",
        help="for the data to arrive (default: 60)",
    )
    retrieve.set_defaults(command=functools.partial(_retrieve, retrieve), parser=retrieve)


def _key_file_option(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--key-file", "-k", required=True, metavar="KEY_FILE", help="from `privicore keygen`"
    )


# -- store ---------------------------------------------------------------------------------


def _store(parser: argparse.ArgumentParser, args: argparse.Namespace, argv: list[str]) -> int:
    if args.file == "-":
        if not args.name:
            parser.error("--name is required when FILE is '-'")
        size = None
    else:
        try:
            info = os.stat(args.file)
        except OSError as exc:
            parser.error(f"{args.file}: {exc.strerror or exc}")
        if not stat.S_ISREG(info.st_mode):
            parser.error(f"{args.file}: not a regular file")
        size = info.st_size
    key = read_data_key(args.key_file, sys.stderr)
    name = args.name or Path(args.file).name
    return run_with_client(args, functools.partial(_send, args, key, name, size))


async def _send(
    args: argparse.Namespace,
    key: DataKey,
    name: str,
    size: int | None,
    client: PrivicoreClient,
    out: Output,
) -> int:
    # Only a streamed upload takes long enough to be worth a progress bar.
    bar = progress_bar(sys.stderr, "store", size) if size and size > SMALL_LIMIT else None
    try:
        stored = await client.vault.store(
            _chunks(args.file, bar),
            key,
            context=args.context,
            file_name=name,
            path=args.path,
            timeout=args.timeout,
        )
    finally:
        if bar is not None:
            bar.finish()
    if out.json:
        out.document(stored)
    else:
        out.lines(
            f"stored {stored.size:,} bytes of {stored.file_name} ({stored.method.value})",
            f"token: {stored.token}",
        )
    return ExitCode.OK


async def _chunks(file: str, bar: Progress | None) -> AsyncIterator[bytes]:
    """The file's bytes (standard input for ``-``), read off the event loop, counted."""
    stream: BinaryIO = (
        sys.stdin.buffer if file == "-" else await asyncio.to_thread(open, file, "rb")
    )
    done = 0
    try:
        while chunk := await asyncio.to_thread(stream.read, CHUNK_SIZE):
            done += len(chunk)
            if bar is not None:
                bar.update(done)
            yield chunk
    finally:
        if file != "-":
            await asyncio.to_thread(stream.close)


# -- retrieve --------------------------------------------------------------------------------


def _retrieve(parser: argparse.ArgumentParser, args: argparse.Namespace, argv: list[str]) -> int:
    if args.output == "-" and args.json:
        parser.error("--json needs -o FILE: with -o - standard output carries the data")
    if args.output != "-" and not Path(args.output).parent.is_dir():
        parser.error(f"-o {args.output}: no such directory")
    if not (args.ws_url or os.environ.get("PRIVICORE_WS_URL")):
        raise CommandFailed(
            "retrieving needs the WebSocket: give --ws-url or set PRIVICORE_WS_URL",
            ExitCode.USAGE,
        )
    key = read_data_key(args.key_file, sys.stderr)
    return run_with_client(args, functools.partial(_fetch, args, key))


async def _fetch(
    args: argparse.Namespace, key: DataKey, client: PrivicoreClient, out: Output
) -> int:
    destination: str | BinaryIO = sys.stdout.buffer if args.output == "-" else args.output
    try:
        size = await client.vault.retrieve_to(args.token, key, destination, timeout=args.timeout)
    except DecryptionError:
        size = None
    if size is None:  # said here, not as "authentication failed", which reads like a login
        raise CommandFailed("cannot decrypt: not the key it was stored with, or altered data")
    if args.output == "-":  # standard output carries the data, and nothing else
        sys.stdout.buffer.flush()
    elif out.json:
        out.document({"output": args.output, "size": size})
    else:
        out.lines(f"wrote {size:,} bytes to {args.output}")
    return ExitCode.OK
