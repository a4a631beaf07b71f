"""What every resource shares: the client it calls through, and argument checks."""

from __future__ import annotations

from typing import TYPE_CHECKING

from ..arguments import require_int, require_text, require_texts, require_token

if TYPE_CHECKING:
    from ..client import PrivicoreClient

__all__ = ["Resource", "require_int", "require_text", "require_texts", "require_token"]


class Resource:
    """Base of the API groups: each method is one endpoint (or a documented chain of them)."""

    __slots__ = ("_client",)

    def __init__(self, client: PrivicoreClient) -> None:
        self._client = client

    def __repr__(self) -> str:
        return f"<{type(self).__name__} of {self._client!r}>"
