"""Utility: server health and one-off command status reads."""

from __future__ import annotations

from ..models import HealthStatus, structure
from ..wire.status import StatusReading
from ._base import Resource, require_text

__all__ = ["Utility"]


class Utility(Resource):
    """``client.utility``."""

    __slots__ = ()

    async def health(self) -> HealthStatus:
        """``GET /health`` (no auth): the server's health, ``status == "ok"`` when healthy."""
        response = await self._client.call("utility.health")
        return structure(response.body, HealthStatus, endpoint="utility.health")

    async def command_status(self, command_id: str) -> StatusReading:
        """One read of ``/request-status/{commandId}`` (``POST {}``; ``GET`` after a 405).

        Returns the state and the server's body; it does not settle any handle. To wait for a
        command use ``client.commands.resume(command_id)`` instead.
        """
        require_text("command_id", command_id, field="commandId")
        return await self._client.command_service.read_status(command_id)
