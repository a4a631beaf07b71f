"""The client's authorization token: obtained, kept fresh, and recovered after a 401.

With a username and password the keeper authenticates on first use, reauthorizes shortly
before ``expiresAt``, and after a 401 authenticates once and lets the caller replay once.
Concurrent callers share one flight: five hundred calls that meet the same expired token cause
one ``/profile/authenticate``, not five hundred, and share its failure too.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from typing import Protocol

from . import errors
from .http.retry import Action, RequestKind, decide, outcome_of
from .http.transport import Transport, WireResponse
from .models.profile import AuthToken
from .routes import RouteTable
from .wire.http import parse_token

__all__ = ["TokenKeeper"]

logger = logging.getLogger("privicore_async")

TokenListener = Callable[[AuthToken], object]


class AcceptedCommands(Protocol):
    """Where a renewal answered with 202 waits for its command (the client's CommandService)."""

    async def wait_accepted(self, kind: str, response: WireResponse, timeout: float | None) -> None:
        """Wait until the command ``response`` accepted has succeeded (or raise)."""
        ...


class TokenKeeper:
    """Holds the current :class:`AuthToken` and the credentials to get a new one."""

    def __init__(
        self,
        transport: Transport,
        routes: RouteTable,
        *,
        username: str | None,
        password: str | None,
        token: str | None,
        refresh_margin: float = 60.0,
        reauthorize_ttl: int = 3600,
        commands: AcceptedCommands | None = None,
    ) -> None:
        self._transport = transport
        self._routes = routes
        self.username = username
        self._password = password
        self.current: AuthToken | None = AuthToken(token) if token else None
        self.refresh_margin = refresh_margin
        self.reauthorize_ttl = reauthorize_ttl
        self._commands = commands
        self._flight: asyncio.Future[AuthToken] | None = None  # the login or renewal under way
        self._listeners: list[TokenListener] = []
        self.authentications = 0
        """How many times the keeper authenticated (observable in tests and logs)."""

    def __repr__(self) -> str:
        state = "with token" if self.current else "no token"
        return f"<TokenKeeper username={self.username!r} {state}>"

    @property
    def can_authenticate(self) -> bool:
        """True when username and password are known."""
        return bool(self.username and self._password)

    def _credentials(self) -> tuple[str, str]:
        if not (self.username and self._password):
            raise errors.AuthenticationError(
                401, "no username/password configured; nothing was sent"
            )
        return self.username, self._password

    def password_changed(self, old: str, new: str) -> None:
        """The profile's password changed from ``old`` to ``new``: log in with ``new`` later.

        Ignored unless ``old`` is the configured password (it was another profile's change).
        """
        if self._password is not None and self._password == old:
            self._password = new

    async def authenticate_configured(self) -> AuthToken:
        """Authenticate with the configured username and password."""
        return await self.authenticate(*self._credentials())

    def on_change(self, listener: TokenListener) -> None:
        """Call ``listener(token)`` whenever the token is replaced (the ack channel re-joins)."""
        self._listeners.append(listener)

    def adopt(self, token: AuthToken) -> None:
        """Make ``token`` the current one."""
        self.current = token
        for listener in self._listeners:
            listener(token)

    def forget(self) -> None:
        """Drop the current token (after a revoke)."""
        self.current = None

    async def token(self) -> str:
        """A usable token: authenticating or reauthorizing first when needed."""
        current = self.current
        if current is None:
            if not self.can_authenticate:
                raise errors.AuthenticationError(
                    401, "no token and no username/password configured; nothing was sent"
                )
            return (await self._authenticate_once(None)).authorization_token
        left = current.seconds_left()
        if left is not None and left < self.refresh_margin:
            if left > 0 and self._flight is not None:
                # Someone is already renewing it and it still works: do not queue behind them.
                return current.authorization_token
            return (await self._refresh_once(current)).authorization_token
        return current.authorization_token

    async def recover(self, failed: str) -> bool:
        """After a 401 with token ``failed``: get a new token once. False if that is impossible."""
        if not self.can_authenticate:
            return False
        current = self.current
        if current is not None and current.authorization_token != failed:
            return True  # someone else already replaced it
        await self._authenticate_once(current)
        return True

    async def authenticate(self, username: str, password: str) -> AuthToken:
        """``POST /profile/authenticate`` with the given credentials; adopts the token."""
        route = self._routes["profile.authenticate"]
        response = await self._transport.request(
            route, fields={"username": username, "password": password}
        )
        token = parse_token(response.body, endpoint=route.name)
        self.authentications += 1
        self.adopt(token)
        return token

    async def _single_flight(
        self, stale: AuthToken | None, renew: Callable[[], Awaitable[AuthToken]]
    ) -> AuthToken:
        """Run ``renew`` once for everyone who holds ``stale``; all share its outcome.

        Waiters get the same token, or the same error: twenty callers whose password is
        wrong cause one failed login, not twenty (which could lock the account).
        """
        if self.current is not None and self.current is not stale:
            return self.current
        if self._flight is not None:
            return await asyncio.shield(self._flight)
        flight: asyncio.Future[AuthToken] = asyncio.get_running_loop().create_future()
        self._flight = flight
        try:
            token = await renew()
        except BaseException as exc:
            if isinstance(exc, asyncio.CancelledError):
                flight.cancel()
            else:
                flight.set_exception(exc)
                flight.exception()  # mark retrieved: nobody else may be waiting
            raise
        else:
            flight.set_result(token)
            return token
        finally:
            self._flight = None

    async def _authenticate_once(self, stale: AuthToken | None) -> AuthToken:
        async def login() -> AuthToken:
            logger.info("authenticating as %s", self.username)
            return await self.authenticate(*self._credentials())

        return await self._single_flight(stale, login)

    async def _refresh_once(self, stale: AuthToken) -> AuthToken:
        async def renew() -> AuthToken:
            try:
                return await self.reauthorize(stale.authorization_token, self.reauthorize_ttl)
            except errors.PrivicoreError as exc:
                action = decide(
                    RequestKind.RENEWAL, outcome_of(exc), can_reauth=self.can_authenticate
                )
                if action is not Action.REAUTH:
                    raise
                logger.info("reauthorize failed (%s); authenticating again", type(exc).__name__)
            return await self.authenticate(*self._credentials())

        return await self._single_flight(stale, renew)

    async def reauthorize(self, token: str, ttl: int) -> AuthToken:
        """``POST /profile/reauthorize-authorization-token``; handles its 200 and 202 answers.

        A 200 carries the new token. A 202 carries a command id: once it settles the same
        token lives longer, and the new expiry is read from the expiry endpoint.
        """
        route = self._routes["profile.reauthorize"]
        response = await self._transport.request(route, fields={"ttl": ttl}, credential=token)
        if response.status == 202:
            if self._commands is not None:
                # Never wait for the renewal longer than the old token lives.
                left = self.current.seconds_left() if self.current else None
                await self._commands.wait_accepted(route.name, response, left)
            expiry = await self._transport.request(
                self._routes["profile.token_expiry"], credential=token
            )
            renewed = parse_token(
                {"authorizationToken": token, **_as_dict(expiry.body)}, endpoint=route.name
            )
        else:
            renewed = parse_token(response.body, endpoint=route.name)
        self.adopt(renewed)
        return renewed


def _as_dict(body: object) -> dict[str, object]:
    if isinstance(body, dict):
        return {str(k): v for k, v in body.items()}
    raise errors.ProtocolError(f"profile.token_expiry: expected an object, got {body!r:.80}")
