"""``client.commands``: commands started elsewhere, and what the journal still waits for."""

from __future__ import annotations

from ..arguments import require_seconds
from ..commands import CommandHandle
from ..errors import InvalidArgumentError, ProtocolError
from ..journal.entries import EntryState, JournalEntry
from ..results import Recovery
from ..wire.http import checked_id
from ._base import Resource, require_text

__all__ = ["Commands"]


class Commands(Resource):
    """``client.commands``."""

    __slots__ = ()

    def resume(
        self,
        command_id: str,
        *,
        kind: str | None = None,
        timeout: float | None = None,
        key: str | None = None,
    ) -> CommandHandle:
        """A handle for a command started elsewhere (another process, before a restart).

        Only the id is needed; the tracker polls it like any other. If this client already
        tracks that id, the existing handle is returned. ``kind`` (a route name such as
        ``"storage.sync_device"``) lets the tracker reuse what it learned about such commands;
        ``key`` is its journal entry, where the outcome is written when it settles.
        """
        require_text("command_id", command_id, field="commandId")
        try:
            checked_id(command_id, "command_id")
        except ProtocolError:
            raise InvalidArgumentError(
                "command_id", "is not a command id (1-256 printable characters, no spaces)"
            ) from None
        require_seconds("timeout", timeout)
        return self._client.command_service.resume(command_id, kind=kind, timeout=timeout, key=key)

    @property
    def tracked(self) -> int:
        """How many commands this client is tracking now."""
        return self._client.command_service.pending

    async def pending(self, *, run_id: str | None = None) -> list[JournalEntry]:
        """The journal's unsettled entries (of one run), oldest first.

        Accepted ones have a command id to resume; in-doubt ones (``entry.in_doubt``) were
        about to be sent, or sent, when their process stopped. Without a journal: ``[]``.
        """
        return await self._client.command_service.entries(run_id=run_id, unsettled=True)

    async def recover(self, *, run_id: str | None = None, timeout: float | None = None) -> Recovery:
        """Handles for every unsettled accepted entry of the journal, and the in-doubt ones.

        Each handle's outcome is written back to its entry when it settles. In-doubt entries
        are reported, not resent: whether to send them again is the caller's call (a device
        sync is safe to repeat; ``storage.sync_devices(run_id=...)`` does it for you).
        """
        handles: list[CommandHandle] = []
        in_doubt: list[JournalEntry] = []
        for entry in await self.pending(run_id=run_id):
            if entry.state is EntryState.ACCEPTED and entry.command_id is not None:
                handles.append(
                    self.resume(entry.command_id, kind=entry.kind, timeout=timeout, key=entry.key)
                )
            else:
                in_doubt.append(entry)
        return Recovery(tuple(handles), tuple(in_doubt))
