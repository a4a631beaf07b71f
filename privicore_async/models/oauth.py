"""Answers of the OAuth application group (wire reference §a11, §b rows 11-18, §c6).

Client secrets, authorization codes, access and refresh tokens never show in a ``repr``.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import attrs

__all__ = [
    "AuthorizationCode",
    "OAuthAppConfiguration",
    "OAuthApplication",
    "OAuthTokens",
    "split_scopes",
]


def split_scopes(value: object) -> tuple[str, ...]:
    """Scope names from a list, or from one comma- or space-separated string."""
    if value is None:
        return ()
    if isinstance(value, str):
        return tuple(part for part in value.replace(",", " ").split() if part)
    if isinstance(value, list | tuple):
        return tuple(str(item) for item in value if str(item).strip())
    return (str(value),)


def _seconds_until(moment: datetime | None, now: datetime | None) -> float | None:
    if moment is None:
        return None
    return (moment - (now or datetime.now(UTC))).total_seconds()


@attrs.frozen
class OAuthAppConfiguration:
    """An application's credentials, readable **once** (a second read is a 422).

    Store ``client_secret`` at the first read: Privicore never shows it again.
    """

    client_id: str
    client_secret: str = attrs.field(repr=False)
    application_id: str | None = None
    redirect_uri: str | None = None
    scopes: Any = None
    """As the server sent it (a list, or one comma-separated string); see :attr:`scope_names`."""
    extra: dict[str, Any] = attrs.field(factory=dict, repr=False)

    @property
    def scope_names(self) -> tuple[str, ...]:
        """The registered scopes as a tuple of names."""
        return split_scopes(self.scopes)


@attrs.frozen
class OAuthApplication:
    """One entry of the profile's OAuth application list (the shape was never recorded)."""

    application_id: str
    name: str | None = None
    redirect_uri: str | None = None
    scopes: Any = None
    extra: dict[str, Any] = attrs.field(factory=dict)

    @property
    def scope_names(self) -> tuple[str, ...]:
        """The registered scopes as a tuple of names."""
        return split_scopes(self.scopes)


@attrs.frozen
class AuthorizationCode:
    """``retrieve-authorization-code``: a short-lived, single-use code for one token pair."""

    authorization_code: str = attrs.field(repr=False)
    client_id: str | None = None
    nonce: str | None = attrs.field(default=None, repr=False)
    expires_at: datetime | None = None
    extra: dict[str, Any] = attrs.field(factory=dict, repr=False)

    def seconds_left(self, now: datetime | None = None) -> float | None:
        """Seconds until the code expires (negative once past); ``None`` if unknown."""
        return _seconds_until(self.expires_at, now)


@attrs.frozen
class OAuthTokens:
    """An OAuth access token and its refresh token (both kept out of ``repr``).

    Refresh with :meth:`privicore_async.resources.OAuth.refresh_access_token`; the answer
    replaces *both* tokens (the old refresh token is rotated out).
    """

    token: str = attrs.field(repr=False)
    refresh_token: str | None = attrs.field(default=None, repr=False)
    expires_at: datetime | None = None
    refresh_token_expires_at: datetime | None = None
    type: str | None = None
    scope: Any = None
    """As the server sent it (``"all"``, a list, ...); see :attr:`scope_names`."""
    client_id: str | None = None
    extra: dict[str, Any] = attrs.field(factory=dict, repr=False)

    @property
    def scope_names(self) -> tuple[str, ...]:
        """The granted scopes as a tuple of names."""
        return split_scopes(self.scope)

    def seconds_left(self, now: datetime | None = None) -> float | None:
        """Seconds until the access token expires (negative once past); ``None`` if unknown."""
        return _seconds_until(self.expires_at, now)

    def refresh_seconds_left(self, now: datetime | None = None) -> float | None:
        """Seconds until the refresh token expires; ``None`` if unknown."""
        return _seconds_until(self.refresh_token_expires_at, now)

    def expired(self, *, margin: float = 0.0, now: datetime | None = None) -> bool:
        """True once the access token is within ``margin`` seconds of its expiry.

        An unknown expiry counts as not expired (the server's 401 will tell).
        """
        left = self.seconds_left(now)
        return left is not None and left <= margin

    def refreshable(self, *, now: datetime | None = None) -> bool:
        """True if there is a refresh token and it has not (knowingly) expired."""
        if not self.refresh_token:
            return False
        left = self.refresh_seconds_left(now)
        return left is None or left > 0
