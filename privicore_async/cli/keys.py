"""Key files and ``privicore keygen``.

A key file is a small JSON document written with mode 0600: ``{"type": "privicore-data-key",
"key": HEX}`` (a :class:`~privicore_async.crypto.DataKey`, which seals what ``privicore
store`` sends) or ``{"type": "privicore-key-pair", "private_key": HEX, "signed_public_key":
HEX}`` (an X25519 :class:`~privicore_async.crypto.KeyPair`, for ``public_keys.register``).
A file holding only the 64 hex characters of ``DataKey.to_hex()`` is read as a data key too.
The key material goes into the file and nowhere else: no command prints it.
"""

from __future__ import annotations

import argparse
import contextlib
import functools
import json
import os
import stat
import sys
import tempfile
from pathlib import Path
from typing import TextIO

from ..crypto import DataKey, KeyPair
from .exits import CommandFailed, ExitCode
from .output import Output

__all__ = ["DATA_KEY", "KEY_PAIR", "add_parser", "read_data_key", "write_key_file"]

DATA_KEY = "privicore-data-key"
KEY_PAIR = "privicore-key-pair"
_MODE = 0o600


def add_parser(
    commands: argparse._SubParsersAction[argparse.ArgumentParser],
    parents: list[argparse.ArgumentParser],
) -> None:
    """Register ``privicore keygen``."""
    keygen = commands.add_parser(
        "keygen",
        parents=parents,
        help="write a new data key (or key pair) to a file only you can read",
        description=(
            "Write a new random AES-256 data key (for `privicore store` and `privicore "
            "retrieve`) or, with --pair, an X25519 key pair to KEY_FILE with mode 0600. The key "
            "is never printed. Keep the file safe: without it stored data cannot be read back."
        ),
    )
    keygen.add_argument("key_file", metavar="KEY_FILE", help="where to write the key")
    keygen.add_argument(
        "--pair",
        action="store_true",
        help="an X25519 key pair (its signed public key is printed) instead of a data key",
    )
    keygen.add_argument("--force", action="store_true", help="replace an existing KEY_FILE")
    keygen.set_defaults(command=functools.partial(_keygen, keygen), parser=keygen)


def _keygen(parser: argparse.ArgumentParser, args: argparse.Namespace, argv: list[str]) -> int:
    path = Path(args.key_file)
    out = Output(sys.stdout, json_mode=args.json)
    result: dict[str, object] = {"key_file": str(path), "mode": f"{_MODE:04o}"}
    if args.pair:
        pair = KeyPair.generate()
        document = {
            "type": KEY_PAIR,
            "private_key": pair.private_hex(),
            "signed_public_key": pair.signed_public_key,
        }
        result |= {"type": KEY_PAIR, "signed_public_key": pair.signed_public_key}
    else:
        document = {"type": DATA_KEY, "key": DataKey.generate().to_hex()}
        result |= {"type": DATA_KEY}
    write_key_file(path, json.dumps(document) + "\n", force=args.force)
    if out.json:
        out.document(result)
    elif args.pair:
        out.lines(
            f"wrote a new X25519 key pair to {path} (mode {_MODE:04o})",
            f"signed public key: {result['signed_public_key']}",
        )
    else:
        out.lines(
            f"wrote a new data key to {path} (mode {_MODE:04o}); keep it safe: without it "
            "the data stored with it cannot be read back"
        )
    return ExitCode.OK


def write_key_file(path: Path, text: str, *, force: bool) -> None:
    """Write ``text`` to ``path`` with mode 0600, refusing an existing file unless ``force``.

    The file never exists with other permissions, not even for a moment: a new file is created
    0600; a replaced one is written to a 0600 scratch file beside it, then renamed over it.
    """
    if not force:
        try:
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, _MODE)
        except FileExistsError:
            raise CommandFailed(f"{path} exists: --force replaces it") from None
        _write_all(fd, text)
        return
    fd, scratch = tempfile.mkstemp(dir=path.parent, prefix=".privicore-key-")
    try:
        _write_all(fd, text)
        os.replace(scratch, path)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(scratch)
        raise


def _write_all(fd: int, text: str) -> None:
    with os.fdopen(fd, "w", encoding="utf-8") as file:
        os.fchmod(file.fileno(), _MODE)  # exactly 0600, whatever the umask
        file.write(text)
        file.flush()
        os.fsync(file.fileno())


def read_data_key(path: str, err: TextIO) -> DataKey:
    """The data key in the key file at ``path``; a usage error (exit 2) if there is none.

    Warns on ``err`` when other users may read the file.
    """
    try:
        text = Path(path).read_text(encoding="utf-8").strip()
        mode = os.stat(path).st_mode
    except (OSError, UnicodeDecodeError) as exc:
        reason = exc.strerror if isinstance(exc, OSError) and exc.strerror else "not a key file"
        raise CommandFailed(f"--key-file {path}: {reason}", ExitCode.USAGE) from None
    if mode & (stat.S_IRWXG | stat.S_IRWXO):
        print(
            f"privicore: warning: {path} can be read by other users (chmod 600 {path})",
            file=err,
            flush=True,
        )
    hex_key = _data_key_hex(text, path)
    try:
        return DataKey.from_hex(hex_key)
    except ValueError:
        raise CommandFailed(
            f"--key-file {path}: the key is not 64 hex characters", ExitCode.USAGE
        ) from None


def _data_key_hex(text: str, path: str) -> str:
    if not text.startswith("{"):
        return text  # a bare DataKey.to_hex()
    try:
        document = json.loads(text)
    except ValueError:
        document = None
    kind = document.get("type") if isinstance(document, dict) else None
    if kind == KEY_PAIR:
        raise CommandFailed(
            f"--key-file {path} holds a key pair, not a data key (privicore keygen makes one)",
            ExitCode.USAGE,
        )
    key = document.get("key") if isinstance(document, dict) else None
    if kind != DATA_KEY or not isinstance(key, str):
        raise CommandFailed(f"--key-file {path}: not a privicore key file", ExitCode.USAGE)
    return key
