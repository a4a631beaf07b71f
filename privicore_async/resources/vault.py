"""``client.vault``: store and retrieve encrypted payloads of any size, one call each.

Storing chains §c4: reserve token space → wait for it → temporary token → seal the data
with the caller's :class:`~privicore_async.vault.DataKey` → exchange it (up to
:data:`SMALL_LIMIT` plaintext bytes, as base64) or stream it to the upstream host (larger,
encrypted chunk by chunk so memory stays flat) → configure-file-meta → the permanent token.

Retrieving chains §c5: request-data → the ``X-DPT-CAB-REQUEST-ID`` message on the WebSocket
(inline ciphertext, or a downstream link, after ``STREAM-READY`` when it comes) → decrypt.
Privicore delivers data only that way, so retrieval needs the client's ``ws_url``.
"""

from __future__ import annotations

import asyncio
import builtins
import contextlib
import io
import os
import tempfile
import time
from collections.abc import (
    AsyncGenerator,
    AsyncIterable,
    AsyncIterator,
    Iterable,
    Iterator,
)
from pathlib import Path
from typing import IO, BinaryIO, cast

from ..crypto import DataKey, StreamDecryptor, encrypt, encrypt_stream
from ..errors import InvalidArgumentError, PrivicoreError
from ..results import (
    ProgressCallback,
    Source,
    StoredData,
    StoreMethod,
    StoreOutcome,
    StoreProgress,
    StoreReport,
    StoreRequest,
)
from ._base import Resource, require_text
from .data_tokens import DataTokens

__all__ = ["CHUNK_SIZE", "SMALL_LIMIT", "Vault"]

SMALL_LIMIT = 50_000
"""Largest plaintext sent through exchange-data-for-token (the guides' ~50 KB); above: upload."""
CHUNK_SIZE = 1 << 20
"""Bytes read, encrypted, sent and written at a time."""


def _require_key(key: object) -> DataKey:
    if not isinstance(key, DataKey):
        raise InvalidArgumentError("key", f"must be a DataKey, not {type(key).__name__}")
    return key


async def _read_file(file: IO[bytes]) -> AsyncIterator[bytes]:
    # Blocking reads go to a thread: a 200 MB file must not stall the event loop.
    while chunk := await asyncio.to_thread(file.read, CHUNK_SIZE):
        yield chunk


async def _plaintext(source: Source) -> AsyncGenerator[bytes, None]:
    """The source as chunks: bytes, a path (``str`` is a path), a binary file, async chunks."""
    if isinstance(source, bytes | bytearray | memoryview):
        data = bytes(source)
        for start in range(0, len(data), CHUNK_SIZE):
            yield data[start : start + CHUNK_SIZE]
    elif isinstance(source, str | os.PathLike):
        file = await asyncio.to_thread(open, source, "rb")
        try:
            async for chunk in _read_file(file):
                yield chunk
        finally:
            await asyncio.to_thread(file.close)
    elif isinstance(source, io.IOBase) or hasattr(source, "read"):
        async for chunk in _read_file(cast(IO[bytes], source)):
            yield chunk
    elif isinstance(source, AsyncIterable):
        async for chunk in source:
            if not isinstance(chunk, bytes | bytearray | memoryview):
                raise InvalidArgumentError("data", "an async iterator must yield bytes")
            yield bytes(chunk)
    else:
        raise InvalidArgumentError(
            "data",
            f"must be bytes, a path, a binary file or async bytes, not {type(source).__name__}",
        )


async def _chain(head: Iterable[bytes], rest: AsyncIterator[bytes]) -> AsyncIterator[bytes]:
    for chunk in head:
        yield chunk
    async for chunk in rest:
        yield chunk


def _extension(file_name: str, extension: str | None) -> str:
    if extension is not None:
        return require_text("extension", extension)
    suffix = Path(file_name).suffix.lstrip(".")
    return suffix or "bin"


class Vault(Resource):
    """``client.vault``."""

    __slots__ = ()

    # -- store ---------------------------------------------------------------------------------

    async def store(
        self,
        data: Source,
        key: DataKey,
        *,
        context: str,
        file_name: str,
        extension: str | None = None,
        path: str = "/",
        ttl: int | None = None,
        timeout: float | None = None,
    ) -> StoredData:
        """Encrypt ``data`` with ``key`` and store it; returns the permanent token and size.

        ``data``: bytes, a file path (``str`` or ``PathLike``), a binary file object or an
        async iterator of bytes. Up to :data:`SMALL_LIMIT` plaintext bytes go through
        exchange-data-for-token; more are encrypted and streamed to the upstream host chunk
        by chunk (set ``PrivicoreClient(upstream_url=...)`` if the server hands out bare
        stream tokens). ``extension`` defaults to the file name's suffix. ``ttl`` (minutes)
        bounds the reservation; ``timeout`` each awaited command. Chains five endpoints.
        """
        key = _require_key(key)
        require_text("context", context)
        require_text("file_name", file_name, field="fileName")
        require_text("path", path)
        ext = _extension(file_name, extension)
        tokens = DataTokens(self._client)
        source = _plaintext(data)
        try:
            head: builtins.list[bytes] = []
            size = 0
            async for chunk in source:
                head.append(chunk)
                size += len(chunk)
                if size > SMALL_LIMIT:
                    break
            reserved = await tokens.reserve_token_space(context, ttl=ttl, timeout=timeout)
            temporary = await tokens.retrieve_temporary_token(reserved, timeout=timeout)
            if size <= SMALL_LIMIT:
                method = StoreMethod.EXCHANGE
                wire = encrypt(key, b"".join(head))
                await (await tokens.exchange(temporary, wire, timeout=timeout)).wait(timeout)
            else:
                method = StoreMethod.UPLOAD
                counted = _Counted(_chain(head, source))
                await tokens.upload(temporary, encrypt_stream(key, counted))
                size = counted.size
        finally:
            await source.aclose()
        permanent = await tokens.configure_file_meta(
            temporary, file_name=file_name, extension=ext, context=context, size=size, path=path
        )
        return StoredData(permanent, size, context, file_name, ext, path, method)

    async def store_many(
        self,
        items: Iterable[StoreRequest],
        *,
        concurrency: int = 32,
        on_progress: ProgressCallback[StoreProgress] | None = None,
        timeout: float | None = None,
    ) -> StoreReport:
        """Store many payloads, ``concurrency`` at a time; one line per item, never raising
        for one item's failure. ``on_progress(StoreProgress)`` is called after each item
        (``done``, ``total``, ``stored``, ``failed``), like ``sync_devices``' callback.
        """
        if concurrency < 1:
            raise ValueError("concurrency must be at least 1")
        requests = builtins.list(items)
        outcomes: builtins.list[StoreOutcome | None] = [None] * len(requests)
        work: Iterator[tuple[int, StoreRequest]] = iter(enumerate(requests))
        done = failed = 0
        started = time.monotonic()

        async def worker() -> None:
            nonlocal done, failed
            for index, item in work:
                try:
                    stored = await self.store(
                        item.data,
                        item.key,
                        context=item.context,
                        file_name=item.file_name,
                        extension=item.extension,
                        path=item.path,
                        ttl=item.ttl,
                        timeout=timeout,
                    )
                    outcomes[index] = StoreOutcome(index, item.file_name, stored)
                except (PrivicoreError, ValueError, OSError) as exc:
                    outcomes[index] = StoreOutcome(index, item.file_name, None, exc)
                    failed += 1
                done += 1
                if on_progress is not None:
                    on_progress(StoreProgress(len(requests), done, done - failed, failed))

        async with asyncio.TaskGroup() as group:
            for _ in range(min(concurrency, len(requests))):
                group.create_task(worker())
        lines = tuple(line for line in outcomes if line is not None)
        return StoreReport(lines, time.monotonic() - started)

    # -- retrieve ------------------------------------------------------------------------------

    async def retrieve(self, token: str, key: DataKey, *, timeout: float | None = 60.0) -> bytes:
        """The plaintext behind a permanent token, decrypted and authenticated.

        :class:`~privicore_async.errors.DecryptionError` for a wrong key or altered data.
        Needs the client's ``ws_url``: the data arrives as a pushed message.
        """
        opener = StreamDecryptor(_require_key(key))
        parts: builtins.list[bytes] = []
        async with contextlib.aclosing(
            DataTokens(self._client).receive_data(token, timeout=timeout)
        ) as chunks:
            async for chunk in chunks:
                parts.append(opener.update(chunk))
        parts.append(opener.finalize())
        return b"".join(parts)

    async def retrieve_to(
        self,
        token: str,
        key: DataKey,
        destination: str | os.PathLike[str] | BinaryIO,
        *,
        timeout: float | None = 60.0,
    ) -> int:
        """Decrypt the data behind ``token`` into a file path or binary file; returns its size.

        Memory stays flat (one chunk at a time). The plaintext goes to a temporary file first
        and reaches ``destination`` only once the GCM tag has been verified: on a
        :class:`~privicore_async.errors.DecryptionError` (or any failure) nothing partial is
        written there.
        """
        key = _require_key(key)
        if isinstance(destination, str | os.PathLike):
            target = Path(destination)
            scratch = await asyncio.to_thread(
                tempfile.NamedTemporaryFile,
                mode="w+b",
                dir=target.parent,
                prefix=".privicore-",
                delete=False,
            )
            try:
                size = await self._decrypt_into(token, key, scratch, timeout)
                await asyncio.to_thread(scratch.close)
                await asyncio.to_thread(os.replace, scratch.name, target)
            except BaseException:
                await asyncio.to_thread(scratch.close)
                await asyncio.to_thread(_unlink_quietly, scratch.name)
                raise
            return size
        scratch_file = await asyncio.to_thread(tempfile.TemporaryFile)
        try:
            size = await self._decrypt_into(token, key, scratch_file, timeout)
            await asyncio.to_thread(scratch_file.seek, 0)
            async for chunk in _read_file(scratch_file):
                await asyncio.to_thread(destination.write, chunk)
        finally:
            await asyncio.to_thread(scratch_file.close)
        return size

    async def _decrypt_into(
        self, token: str, key: DataKey, file: IO[bytes], timeout: float | None
    ) -> int:
        opener = StreamDecryptor(key)

        def decrypt_and_write(ciphertext: bytes) -> None:
            file.write(opener.update(ciphertext))

        # Ciphertext is gathered into batches of about CHUNK_SIZE, and each batch is decrypted
        # and written in a worker thread while the next one arrives: one thread hop per MiB,
        # and the loop keeps reading the socket meanwhile. One batch at a time, in order.
        batch: builtins.list[bytes] = []
        batched = 0
        writing: asyncio.Future[None] | None = None
        try:
            async with contextlib.aclosing(
                DataTokens(self._client).receive_data(token, timeout=timeout, chunk_size=CHUNK_SIZE)
            ) as chunks:
                async for chunk in chunks:
                    batch.append(chunk)
                    batched += len(chunk)
                    if batched >= CHUNK_SIZE:
                        if writing is not None:
                            await writing
                        data, batch, batched = b"".join(batch), [], 0
                        writing = asyncio.ensure_future(asyncio.to_thread(decrypt_and_write, data))
            if writing is not None:
                await writing
            await asyncio.to_thread(decrypt_and_write, b"".join(batch))
        finally:
            if writing is not None:
                if not writing.done():
                    # A thread cannot be stopped: the file is not closed under its feet.
                    await asyncio.wait([writing])
                if not writing.cancelled():
                    writing.exception()  # seen: the error already on its way wins
        rest = opener.finalize()  # DecryptionError here: the caller discards the file
        if rest:
            await asyncio.to_thread(file.write, rest)
        await asyncio.to_thread(file.flush)
        return opener.size + len(rest)


def _unlink_quietly(name: str) -> None:
    with contextlib.suppress(FileNotFoundError):
        os.unlink(name)


class _Counted:
    """Counts the plaintext bytes flowing to the encryptor (an async iterator's size)."""

    def __init__(self, source: AsyncIterator[bytes]) -> None:
        self._source = source
        self.size = 0

    def __aiter__(self) -> AsyncIterator[bytes]:
        return self._count()

    async def _count(self) -> AsyncIterator[bytes]:
        async for chunk in self._source:
            self.size += len(chunk)
            yield chunk
