"""Writing commands into a journal as they are sent, accepted and settled.

:class:`CommandRecorder` wraps one command's request: the *intent* is durable before the
request leaves, the *acceptance* (command id) before the handle is handed out, and the
*settlement* is written when the handle settles. What a failed request means for the journal
follows from what is known: an answered error or a connection that never reached the server
means the command did not start (settled as ``FAILED``); anything else (a lost connection, a
cancellation, a crash) leaves the entry *in doubt*.

Settlements are written by one writer task that runs only while there are some to write; the
journal group-commits them. A handle cancelled because the client closes is not settled: its
command is still running on the server and the entry stays resumable.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
import uuid
from collections.abc import Awaitable, Callable
from typing import Any

from .. import errors
from .._json import JSON
from ..journal.entries import Intent, Outcome
from ..journal.protocol import CommandJournal
from .tracker import CommandHandle

__all__ = ["CommandRecorder", "deadline_in", "new_key", "outcome_of_handle"]

logger = logging.getLogger("privicore_async.commands")


def outcome_of_handle(handle: CommandHandle) -> tuple[Outcome, JSON] | None:
    """How a settled handle ended, for the journal; ``None`` when it was only cancelled (or
    the client closed: the command runs on, its entry stays resumable)."""
    if handle.cancelled():
        return None
    error = handle.exception()
    if error is None:
        return (Outcome.SUCCEEDED if handle.has_id else Outcome.ACCEPTED), handle.body
    if isinstance(error, errors.CommandRejected):
        return Outcome.REJECTED, error.reason
    if isinstance(error, errors.CommandTimeout):
        return Outcome.TIMED_OUT, None
    return Outcome.FAILED, str(error)


class CommandRecorder:
    """Records one client's commands in a :class:`~privicore_async.journal.CommandJournal`."""

    def __init__(self, journal: CommandJournal) -> None:
        self.journal = journal
        self._opened: asyncio.Future[None] | None = None
        self._settlements: list[tuple[str, Outcome, Any]] = []
        self._writer: asyncio.Task[None] | None = None

    async def ready(self) -> None:
        """Open the journal once, whoever comes first; the others wait for the same opening."""
        opened = self._opened
        if opened is not None and opened.done() and opened.exception() is None:
            return  # the usual case, once per command: no shield, no future
        if self._opened is None:
            self._opened = asyncio.get_running_loop().create_future()
            try:
                await self.journal.open()
            except BaseException as exc:
                self._opened.set_exception(exc)
                self._opened.exception()  # retrieved: every caller sees it raised
                self._opened = None
                raise
            self._opened.set_result(None)
        await asyncio.shield(self._opened)

    async def send(
        self,
        intent: Intent,
        send: Callable[[], Awaitable[str | None]],
    ) -> str | None:
        """Journal ``intent``, run ``send`` (which returns the accepted command id), journal
        the acceptance; returns the id. A refused request is settled as ``FAILED``."""
        await self.ready()
        await self.journal.intend(intent)
        try:
            command_id = await send()
        except errors.APIError as exc:
            await self._settle_now(intent.key, exc)
            raise
        except errors.TransportError as exc:
            if not exc.may_have_arrived:
                await self._settle_now(intent.key, exc)
            raise  # otherwise in doubt: the command may have started
        await self.journal.accept(intent.key, command_id)
        return command_id

    async def _settle_now(self, key: str, error: errors.PrivicoreError) -> None:
        with contextlib.suppress(errors.PrivicoreError):  # the request's own error matters more
            await self.journal.settle(key, Outcome.FAILED, str(error))

    def watch(self, handle: CommandHandle, key: str) -> None:
        """Write ``handle``'s outcome under ``key`` once it settles."""
        if not handle.has_id:
            return  # a 202 with no id: the acceptance already settled the entry
        if handle.done():
            self._settled(key, handle)
        else:
            handle.add_done_callback(lambda done: self._settled(key, done))

    def _settled(self, key: str, handle: CommandHandle) -> None:
        outcome = outcome_of_handle(handle)
        if outcome is None:
            return
        self._settlements.append((key, *outcome))
        if self._writer is None or self._writer.done():
            self._writer = asyncio.get_running_loop().create_task(
                self._write(), name="privicore-journal-writer"
            )

    async def _write(self) -> None:
        await self.ready()
        while self._settlements:
            batch, self._settlements = self._settlements, []
            try:
                await self.journal.settle_many(batch)
            except errors.PrivicoreError as exc:  # they stay accepted: a later run resumes them
                logger.warning("journal: %d settlement(s) not written: %s", len(batch), exc)

    async def flush(self) -> None:
        """Return once every settlement seen so far is written."""
        await asyncio.sleep(0)  # done-callbacks scheduled just before run first
        if self._writer is not None:
            await self._writer
        if self._settlements:
            await self._write()

    async def close(self) -> None:
        """Write the settlements still queued, then close the journal."""
        await self.flush()
        if self._opened is not None:
            await self.journal.close()


def new_key() -> str:
    """A journal key for a command whose caller gave none."""
    return uuid.uuid4().hex


def deadline_in(seconds: float) -> float:
    """The wall-clock deadline ``seconds`` from now (journals outlive monotonic clocks)."""
    return time.time() + seconds
