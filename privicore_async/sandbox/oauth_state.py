"""The sandbox's OAuth records: applications, authorization requests and issued grants."""

from __future__ import annotations

import secrets
import time
import uuid

import attrs

__all__ = [
    "ACCESS_TOKEN_TTL",
    "CODE_TTL",
    "REFRESH_TOKEN_TTL",
    "Application",
    "Authorization",
    "Grant",
    "OAuthRegistry",
]

CODE_TTL = 60.0
ACCESS_TOKEN_TTL = 3600.0
REFRESH_TOKEN_TTL = 30 * 24 * 3600.0


@attrs.define(eq=False)
class Application:
    """A registered OAuth application (its id is the register command id)."""

    application_id: str
    profile_id: str
    name: str
    redirect_uri: str
    scopes: list[str]
    client_id: str = attrs.field(factory=lambda: str(uuid.uuid4()))
    client_secret: str = attrs.field(factory=lambda: secrets.token_urlsafe(32), repr=False)
    configuration_read: bool = False


@attrs.define(eq=False)
class Authorization:
    """A settled request-authorization-code command, and the code issued for it."""

    request_id: str
    client_id: str
    profile_id: str
    nonce: str = attrs.field(repr=False)
    scopes: list[str]
    code: str | None = attrs.field(default=None, repr=False)
    code_expires_at: float = 0.0
    code_used: bool = False


@attrs.define(eq=False)
class Grant:
    """An issued access token and its refresh token."""

    client_id: str
    profile_id: str
    scopes: list[str]
    token: str = attrs.field(repr=False)
    refresh_token: str = attrs.field(repr=False)
    expires_at: float
    refresh_expires_at: float


@attrs.define(eq=False)
class OAuthRegistry:
    """Every OAuth record of one sandbox."""

    applications: dict[str, Application] = attrs.field(factory=dict)  # by application id
    by_client: dict[str, Application] = attrs.field(factory=dict)  # by client id
    authorizations: dict[str, Authorization] = attrs.field(factory=dict)  # by request id
    codes: dict[str, Authorization] = attrs.field(factory=dict, repr=False)  # by code
    grants: dict[str, Grant] = attrs.field(factory=dict, repr=False)  # by access token

    def issue(self, client_id: str, profile_id: str, scopes: list[str]) -> Grant:
        """A fresh token pair."""
        now = time.time()
        grant = Grant(
            client_id,
            profile_id,
            scopes,
            "OA-" + secrets.token_urlsafe(32),
            "OR-" + secrets.token_urlsafe(32),
            now + ACCESS_TOKEN_TTL,
            now + REFRESH_TOKEN_TTL,
        )
        self.grants[grant.token] = grant
        return grant
