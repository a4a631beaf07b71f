"""A vault round trip: encrypt and store a file, retrieve it, and compare it with the original.

    python examples/vault_round_trip.py report.pdf

The file is sealed on this machine with AES-256-GCM before it leaves (Privicore stores only
ciphertext) and opened again here after it comes back; any size works with flat memory (more
than 50,000 bytes are streamed chunk by chunk). The data key is ``PRIVICORE_DATA_KEY`` (64 hex
digits) when set, else a fresh one for this run: data stored under a key you did not keep
(``key.to_hex()``, somewhere safe) can never be read again. The key is never printed.

Where and who come from the ``PRIVICORE_*`` variables (``PRIVICORE_API_URL``,
``PRIVICORE_WS_URL`` (retrieving needs the WebSocket), ``PRIVICORE_UPSTREAM_URL``,
``PRIVICORE_DOWNSTREAM_URL``, ``PRIVICORE_USERNAME``, ``PRIVICORE_PASSWORD``), as the README's
Quick start sets them. Exit status: 0 when the copy is identical, 1 when it is not.
"""

from __future__ import annotations

import argparse
import asyncio
import filecmp
import os
import sys
import tempfile
from collections.abc import Sequence
from pathlib import Path

from privicore_async import PrivicoreClient
from privicore_async.crypto import DataKey

KEY_ENV = "PRIVICORE_DATA_KEY"


def data_key() -> DataKey:
    """The key from ``PRIVICORE_DATA_KEY``, or a new one (then only this run can read)."""
    text = os.environ.get(KEY_ENV, "")
    return DataKey.from_hex(text) if text else DataKey.generate()


async def round_trip(original: Path, copy: Path, key: DataKey, *, context: str) -> None:
    """Store ``original`` sealed with ``key``, then read it back into ``copy``."""
    async with PrivicoreClient() as client:
        stored = await client.vault.store(original, key, context=context, file_name=original.name)
        print(f"stored {stored.file_name} ({stored.size} bytes, {stored.method.value})")
        print(f"token {stored.token}")  # keep it, with the key, to read the data back
        # Written to a scratch file and moved to `copy` only once it has authenticated.
        size = await client.vault.retrieve_to(stored.token, key, copy)
    print(f"retrieved {size} bytes")


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Store a file in the vault and read it back.")
    parser.add_argument("file", type=Path, help="the file to store")
    parser.add_argument("--context", default="examples", help="the data's context label")
    args = parser.parse_args(argv)
    if not args.file.is_file():
        parser.error(f"{args.file}: no such file")
    with tempfile.TemporaryDirectory() as scratch:
        copy = Path(scratch, args.file.name)
        asyncio.run(round_trip(args.file, copy, data_key(), context=args.context))
        identical = filecmp.cmp(args.file, copy, shallow=False)
    print("the copy is identical" if identical else "the copy DIFFERS from the original")
    return 0 if identical else 1


if __name__ == "__main__":
    sys.exit(main())
