"""The commands of one client: one place that turns a 202 into a handle and takes pushed acks.

:class:`CommandService` owns the :class:`~privicore_async.commands.tracker.CommandTracker`,
the status source it reads from, and the mailbox of acks that arrived before their handle.
The client hands it every accepted answer (:meth:`CommandService.accept`); the ack channel
delivers every ack into it (:meth:`CommandService.deliver`); token renewal waits on a 202
through it. A status read outside the schedule goes through :meth:`CommandService.read_status`.

With a :class:`~privicore_async.journal.CommandJournal`, :meth:`CommandService.submit`
records every command as it is sent, accepted and settled (:mod:`.recorder`), and
:meth:`CommandService.resume` picks up a journaled command elsewhere.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Any, Protocol

from ..http.transport import WireResponse
from ..journal.entries import Intent, JournalEntry
from ..journal.protocol import CommandJournal
from ..mailbox import Mailbox
from ..wire.http import extract_command_id
from ..wire.status import CommandStatus, StatusReading
from .policy import PollPolicy
from .recorder import CommandRecorder, deadline_in, new_key
from .response import CommandResponse
from .tracker import CommandHandle, CommandTracker, StatusSource

if TYPE_CHECKING:
    from ..telemetry import Telemetry

__all__ = ["CommandService", "RetryingStatusSource"]


class RetryingStatusSource(StatusSource, Protocol):
    """A status source that can also read with the transport's retries (for callers)."""

    async def fetch(self, command_id: str, *, retry: bool = False) -> StatusReading:
        """One status read; with ``retry``, repeated per the retry table."""
        ...


class CommandService:
    """Accepted commands become tracked handles; pushed acks settle them (see module doc)."""

    def __init__(
        self,
        source: RetryingStatusSource,
        policy: PollPolicy | None = None,
        *,
        journal: CommandJournal | None = None,
        early_acks: int = 10_000,
        early_age: float = 60.0,
        telemetry: Telemetry | None = None,
    ) -> None:
        self.telemetry = telemetry
        """Told which commands a pushed ack settled, for their spans (``None``: no tracing)."""
        self.source = source
        self.tracker = CommandTracker(source, policy)
        self._early: Mailbox[StatusReading] = Mailbox(early_acks, early_age)
        self.recorder = CommandRecorder(journal) if journal is not None else None
        """Writes commands into the journal (``None`` without one)."""

    @property
    def pending(self) -> int:
        """How many commands are tracked now."""
        return self.tracker.pending

    @property
    def early_acks(self) -> int:
        """Acks held for handles that do not exist yet (their 202 is still on its way)."""
        return len(self._early)

    def accept(
        self, kind: str, response: WireResponse, *, timeout: float | None = None
    ) -> CommandHandle:
        """The handle of an accepted command; its id from any place §a4 lists.

        ``kind`` is the route name (the schedule learns per kind); ``timeout`` the command's
        deadline in seconds from now (default ``PollPolicy.timeout``).
        """
        command_id = extract_command_id(response.body, response.headers)
        return self.track(command_id, kind=kind, timeout=timeout, response=response)

    async def submit(
        self,
        kind: str,
        send: Callable[[], Awaitable[WireResponse]],
        *,
        timeout: float | None = None,
        key: str | None = None,
        target: str | None = None,
        run_id: str | None = None,
    ) -> CommandHandle:
        """Send a command with ``send`` and return its handle (:meth:`accept`).

        With a journal the command is recorded under ``key`` (a random one by default) with
        its ``target`` and ``run_id``: the intent before ``send``, the command id before the
        handle is returned, the outcome once it settles.
        """
        if self.recorder is None:
            return self.accept(kind, await send(), timeout=timeout)
        deadline = deadline_in(self.tracker.policy.timeout if timeout is None else timeout)
        intent = Intent(key or new_key(), kind, target, run_id, deadline)

        answers: list[WireResponse] = []  # the 202, for the handle's ``response``

        async def post() -> str | None:
            response = await send()
            answers.append(response)
            return extract_command_id(response.body, response.headers)

        command_id = await self.recorder.send(intent, post)
        handle = self.track(command_id, kind=kind, timeout=timeout, response=answers[0])
        self.recorder.watch(handle, intent.key)
        return handle

    def resume(
        self,
        command_id: str,
        *,
        kind: str | None = None,
        timeout: float | None = None,
        key: str | None = None,
    ) -> CommandHandle:
        """A handle for a command started elsewhere, read at once; its outcome is journaled
        under ``key``."""
        handle = self.track(command_id, kind=kind, timeout=timeout, read_now=True)
        if key is not None and self.recorder is not None:
            self.recorder.watch(handle, key)
        return handle

    async def entries(
        self, *, run_id: str | None = None, unsettled: bool = False
    ) -> list[JournalEntry]:
        """The journal's entries (``[]`` without a journal)."""
        if self.recorder is None:
            return []
        await self.recorder.ready()
        return await self.recorder.journal.entries(run_id=run_id, unsettled=unsettled)

    def track(
        self,
        command_id: str | None,
        *,
        kind: str | None = None,
        timeout: float | None = None,
        read_now: bool = False,
        response: WireResponse | None = None,
    ) -> CommandHandle:
        """A handle for ``command_id`` (the tracked one if there is one); an ack that came
        before it settles it at once. ``response``: the answer that started it."""
        early = None
        if command_id is not None and self.tracker.find(command_id) is None:
            early = self._early.take(command_id)
        return self.tracker.track(
            command_id,
            kind=kind,
            timeout=timeout,
            early=early,
            read_now=read_now,
            response=None if response is None else CommandResponse.of(response),
        )

    async def wait_accepted(self, kind: str, response: WireResponse, timeout: float | None) -> None:
        """Wait until the command a 202 ``response`` accepted has succeeded (or raise)."""
        handle = self.accept(kind, response)
        await handle.wait(timeout=None if timeout is None else max(0.1, timeout))

    async def read_status(self, command_id: str) -> StatusReading:
        """One read of a command's status now (with retries); settles nothing."""
        return await self.source.fetch(command_id, retry=True)

    # -- what the ack channel calls ----------------------------------------------------------

    def deliver(self, command_id: str, status: CommandStatus, body: Any = None) -> None:
        """A pushed ack: it settles its handle, or waits for it if the 202 is still on its way.

        Progress acks (``PENDING``) settle nothing and are dropped.
        """
        if not status.final:
            return
        if self.tracker.settle(command_id, status, body):
            if self.telemetry is not None:
                self.telemetry.acked(command_id)  # before the span ends (a done callback)
        else:
            self._early.put(command_id, StatusReading(status, body))

    def set_acks_live(self, live: bool) -> None:
        """The ack channel joined (polling becomes the safety net) or dropped."""
        self.tracker.set_acks_live(live)

    async def flush(self) -> None:
        """Return once the journal holds every outcome settled so far (no-op without one)."""
        if self.recorder is not None:
            await self.recorder.flush()

    async def close(self) -> None:
        """Stop tracking (pending handles are cancelled, their entries stay resumable), write
        what the journal still has queued and close it. Leaves no task behind."""
        await self.tracker.close()
        if self.recorder is not None:
            await self.recorder.close()
