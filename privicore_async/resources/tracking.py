"""``client.commands``: handles for commands started elsewhere."""

from __future__ import annotations

from ..commands import CommandHandle
from ._base import Resource, require_text

__all__ = ["Commands"]


class Commands(Resource):
    """``client.commands``."""

    __slots__ = ()

    def resume(
        self, command_id: str, *, kind: str | None = None, timeout: float | None = None
    ) -> CommandHandle:
        """A handle for a command started elsewhere (another process, before a restart).

        Only the id is needed; the tracker polls it like any other. If this client already
        tracks that id, the existing handle is returned. ``kind`` (a route name such as
        ``"storage.sync_device"``) lets the tracker reuse what it learned about such commands.
        """
        require_text("command_id", command_id, field="commandId")
        return self._client.command_service.track(command_id, kind=kind, timeout=timeout)

    @property
    def pending(self) -> int:
        """How many commands this client is tracking now."""
        return self._client.command_service.pending
