"""Where the tracker reads statuses from: ``/request-status/{id}`` over the transport."""

from __future__ import annotations

from .. import errors
from ..http.retry import RequestKind
from ..http.transport import Transport
from ..routes import Route
from ..wire.http import parse_command_status
from ..wire.status import StatusReading

__all__ = ["HttpStatusSource"]


class HttpStatusSource:
    """Reads ``/request-status/{id}`` through the transport (which knows its GET alternative)."""

    def __init__(self, transport: Transport, route: Route) -> None:
        self._transport = transport
        self._route = route

    @property
    def method(self) -> str:
        """The method in use now (``POST`` until a 405 said otherwise)."""
        return self._transport.route_in_use(self._route).method

    async def fetch(self, command_id: str, *, retry: bool = False) -> StatusReading:
        """One status read of ``command_id``: a single attempt, or with retries if ``retry``."""
        response = await self._transport.request(
            self._route,
            path={"commandId": command_id},
            kind=RequestKind.READ if retry else RequestKind.STATUS_READ,
        )
        try:
            return parse_command_status(response.body)
        except errors.ProtocolError as exc:
            problem = errors.ProtocolError(f"command {command_id}: {exc}")
        raise problem
