"""The sandbox's data token records: reserved spaces, their data, and downstream grants.

A :class:`DataSpace` lives from the settle of ``reserve-token-space`` on. It holds the
temporary (``tmp-``) token, a single-use upstream stream token, the stored ciphertext, and,
once ``configure-file-meta`` promoted it, the permanent (``dtk-``) token and file metadata.
"""

from __future__ import annotations

import secrets
import time
from typing import Any

import attrs

__all__ = ["DataSpace", "DataTokenRegistry", "DownstreamGrant"]


@attrs.define(eq=False)
class DataSpace:
    """A reserved token space and, once filled and promoted, a permanent data token."""

    reservation_id: str  # the reserve-token-space command id
    profile_id: str
    context: str
    meta: str | None
    expires_at: float  # the temporary token's end (ttl minutes after the settle)
    temporary_token: str = attrs.field(factory=lambda: "tmp-" + secrets.token_urlsafe(18))
    stream: str | None = attrs.field(  # single-use upstream auth; None once used
        factory=lambda: "ST-" + secrets.token_urlsafe(24), repr=False
    )
    data: bytes | None = attrs.field(default=None, repr=False)  # ciphertext as received
    token: str | None = None  # the permanent dtk- token
    file_name: str | None = None
    extension: str | None = None
    size: int | None = None
    path: str | None = None
    created_at: float = attrs.field(factory=time.time)
    risk_meta: dict[str, Any] = attrs.field(factory=dict)

    def expired(self, now: float) -> bool:
        """True once the temporary token is past its ttl (a permanent token never expires)."""
        return self.token is None and now >= self.expires_at


@attrs.define(eq=False)
class DownstreamGrant:
    """A settled ``request-data``: a single-use downstream token for the stored bytes."""

    request_id: str
    profile_id: str
    data: bytes = attrs.field(repr=False)
    token: str = attrs.field(factory=lambda: "DS-" + secrets.token_urlsafe(24), repr=False)
    used: bool = False


@attrs.define(eq=False)
class DataTokenRegistry:
    """Every data token record of one sandbox."""

    spaces: dict[str, DataSpace] = attrs.field(factory=dict)  # by reservation id
    temporary: dict[str, DataSpace] = attrs.field(factory=dict, repr=False)  # by tmp- token
    streams: dict[str, DataSpace] = attrs.field(factory=dict, repr=False)  # by stream token
    tokens: dict[str, DataSpace] = attrs.field(factory=dict)  # by dtk- token (live ones)
    requests: dict[str, DownstreamGrant] = attrs.field(factory=dict)  # by request id
    downstream: dict[str, DownstreamGrant] = attrs.field(factory=dict, repr=False)  # by token

    def add_space(self, space: DataSpace) -> None:
        """Record a settled reservation under all its keys."""
        self.spaces[space.reservation_id] = space
        self.temporary[space.temporary_token] = space
        if space.stream is not None:
            self.streams[space.stream] = space

    def fill(self, space: DataSpace, data: bytes) -> None:
        """Store the ciphertext; the space's stream token can no longer be used."""
        space.data = data
        if space.stream is not None:
            self.streams.pop(space.stream, None)
            space.stream = None

    def promote(self, space: DataSpace) -> str:
        """The permanent token of a filled space (made on the first call)."""
        if space.token is None:
            space.token = "dtk-" + secrets.token_urlsafe(18)
            self.tokens[space.token] = space
        return space.token

    def token_of(self, profile_id: str, token: str) -> DataSpace | None:
        """The live permanent token if it exists *and* belongs to ``profile_id``."""
        space = self.tokens.get(token)
        return space if space is not None and space.profile_id == profile_id else None

    def tokens_of(self, profile_id: str) -> list[DataSpace]:
        """The profile's live permanent tokens, oldest first."""
        return [s for s in self.tokens.values() if s.profile_id == profile_id]

    def grant(self, request_id: str, profile_id: str, data: bytes) -> DownstreamGrant:
        """A single-use downstream token for one request."""
        grant = DownstreamGrant(request_id, profile_id, data)
        self.requests[request_id] = grant
        self.downstream[grant.token] = grant
        return grant
