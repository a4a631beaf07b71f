"""What every resource shares: the client it calls through, and argument checks."""

from __future__ import annotations

from collections.abc import AsyncIterator, Mapping
from contextlib import AbstractAsyncContextManager
from typing import Protocol, Unpack

from ..acks import AckChannel
from ..arguments import require_int, require_text, require_texts, require_token
from ..auth import TokenKeeper
from ..commands import CommandHandle, CommandService
from ..http.transport import CallExtras, Credential, WireResponse

__all__ = [
    "Client",
    "Resource",
    "require_int",
    "require_text",
    "require_texts",
    "require_token",
]


class Client(Protocol):
    """What a resource uses of :class:`~privicore_async.PrivicoreClient` (and nothing more)."""

    @property
    def tokens(self) -> TokenKeeper:
        """The client's token keeper."""
        ...

    @property
    def command_service(self) -> CommandService:
        """Accepted commands, pushed acks and status reads."""
        ...

    @property
    def acks(self) -> AckChannel | None:
        """The WebSocket ack channel, when the client has one."""
        ...

    async def call(
        self,
        name: str,
        args: Mapping[str, object] | None = None,
        *,
        credential: Credential = None,
        **extras: Unpack[CallExtras],
    ) -> WireResponse:
        """Send a synchronous call of route ``name``."""
        ...

    async def command(
        self,
        name: str,
        args: Mapping[str, object] | None = None,
        *,
        timeout: float | None = None,
        key: str | None = None,
        target: str | None = None,
        run_id: str | None = None,
        **extras: Unpack[CallExtras],
    ) -> CommandHandle:
        """Send a command of route ``name`` and return its handle."""
        ...

    def stream(
        self,
        name: str,
        args: Mapping[str, object] | None = None,
        *,
        credential: Credential = None,
        chunk_size: int = 64 * 1024,
        **extras: Unpack[CallExtras],
    ) -> AbstractAsyncContextManager[AsyncIterator[bytes]]:
        """Send a call of route ``name`` and yield its answer's body in chunks."""
        ...


class Resource:
    """Base of the API groups: each method is one endpoint (or a documented chain of them)."""

    __slots__ = ("_client",)

    def __init__(self, client: Client) -> None:
        self._client = client

    def __repr__(self) -> str:
        return f"<{type(self).__name__} of {self._client!r}>"
