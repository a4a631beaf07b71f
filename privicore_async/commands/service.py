"""The commands of one client: one place that turns a 202 into a handle and takes pushed acks.

:class:`CommandService` owns the :class:`~privicore_async.commands.tracker.CommandTracker`,
the status source it reads from, and the mailbox of acks that arrived before their handle.
The client hands it every accepted answer (:meth:`CommandService.accept`); the ack channel
delivers every ack into it (:meth:`CommandService.deliver`); token renewal waits on a 202
through it. A status read outside the schedule goes through :meth:`CommandService.read_status`.
"""

from __future__ import annotations

from typing import Any, Protocol

from ..http.transport import WireResponse
from ..mailbox import Mailbox
from ..wire.http import extract_command_id
from ..wire.status import CommandStatus, StatusReading
from .policy import PollPolicy
from .tracker import CommandHandle, CommandTracker, StatusSource

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
        early_acks: int = 10_000,
        early_age: float = 60.0,
    ) -> None:
        self.source = source
        self.tracker = CommandTracker(source, policy)
        self._early: Mailbox[StatusReading] = Mailbox(early_acks, early_age)

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
        return self.track(command_id, kind=kind, timeout=timeout)

    def track(
        self, command_id: str | None, *, kind: str | None = None, timeout: float | None = None
    ) -> CommandHandle:
        """A handle for ``command_id`` (the tracked one if there is one); an ack that came
        before it settles it at once."""
        early = None
        if command_id is not None and self.tracker.find(command_id) is None:
            early = self._early.take(command_id)
        return self.tracker.track(command_id, kind=kind, timeout=timeout, early=early)

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
        if not self.tracker.settle(command_id, status, body):
            self._early.put(command_id, StatusReading(status, body))

    def set_acks_live(self, live: bool) -> None:
        """The ack channel joined (polling becomes the safety net) or dropped."""
        self.tracker.set_acks_live(live)

    async def close(self) -> None:
        """Stop tracking; pending handles are cancelled. Leaves no task behind."""
        await self.tracker.close()
