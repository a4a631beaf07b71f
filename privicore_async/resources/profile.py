"""Profile: registration, authentication and the authorization token's lifetime."""

from __future__ import annotations

from datetime import datetime

from ..commands import CommandHandle
from ..crypto import KeyPair
from ..errors import ProtocolError
from ..models import AuthToken, QrToken, structure
from ..models.converter import parse_datetime
from ..results import ProvisionedProfile
from ._base import Resource, require_int, require_text
from .public_keys import PublicKeys

__all__ = ["Profile"]


class Profile(Resource):
    """``client.profile``."""

    __slots__ = ()

    async def register(
        self, username: str, password: str, *, timeout: float | None = None
    ) -> CommandHandle:
        """``POST /profile/register-profile`` (no auth): a handle that settles once it exists.

        A taken username is a :class:`~privicore_async.errors.ConflictError` (409).
        """
        args = {"username": username, "password": password}
        return await self._client.command("profile.register", args, timeout=timeout)

    async def provision(
        self,
        username: str,
        password: str,
        *,
        key_pair: KeyPair | None = None,
        timeout: float | None = None,
    ) -> ProvisionedProfile:
        """Create a ready profile: register → wait → authenticate → register a signed key → wait.

        Runs wire reference §c1. The X25519 pair is generated locally unless ``key_pair`` is
        given; only its signed public key is sent. The client then holds the new token.
        Chains four endpoints.
        """
        pair = key_pair or KeyPair.generate()
        await (await self.register(username, password, timeout=timeout)).wait(timeout)
        token = await self.authenticate(username, password)
        signed = pair.signed_public_key
        await (await PublicKeys(self._client).register(signed, timeout=timeout)).wait(timeout)
        return ProvisionedProfile(username, token, pair, signed)

    async def authenticate(
        self, username: str | None = None, password: str | None = None
    ) -> AuthToken:
        """``POST /profile/authenticate``; the client then uses the returned token.

        Without arguments the client's configured credentials are used.
        """
        keeper = self._client.tokens
        if username is None and password is None:
            return await keeper.authenticate_configured()
        return await keeper.authenticate(
            require_text("username", username), require_text("password", password)
        )

    async def retrieve_profile_id(self) -> str:
        """``GET /profile/retrieve-profile-id``: the id of the authenticated profile."""
        response = await self._client.call("profile.retrieve_profile_id")
        body = response.body
        if isinstance(body, dict) and isinstance(body.get("profileId"), str):
            return str(body["profileId"])
        if isinstance(body, str) and body.strip():
            return body.strip()
        raise ProtocolError(f"profile.retrieve_profile_id: no profileId in {body!r:.80}")

    async def change_password(
        self, current_password: str, new_password: str, *, timeout: float | None = None
    ) -> CommandHandle:
        """``POST /profile/change-password``: a handle that settles once the password changed.

        A wrong ``current_password`` shows as a rejected command. Tokens already issued stay
        valid (wire reference §a7); revoke explicitly if the old session must end. When the
        client was configured with the password being changed, it logs in with the new one
        from the moment the change succeeds.
        """
        args = {"current_password": current_password, "new_password": new_password}
        handle = await self._client.command("profile.change_password", args, timeout=timeout)
        tokens = self._client.tokens

        def remember(done: CommandHandle) -> None:
            if done.exception() is None:
                tokens.password_changed(current_password, new_password)

        handle.add_done_callback(remember)
        return handle

    async def generate_qr_token(self) -> QrToken:
        """``POST /profile/generate-token-qr`` (empty form body): a short-lived QR login token."""
        response = await self._client.call("profile.generate_qr_token")
        return structure(response.body, QrToken, endpoint="profile.generate_qr_token")

    async def token_expiry(self) -> datetime:
        """``POST /profile/authorization-token/expiry``: when the current token stops working."""
        response = await self._client.call("profile.token_expiry")
        body = response.body
        value = body.get("expiresAt") if isinstance(body, dict) else body
        try:
            return parse_datetime(value)
        except ValueError:
            raise ProtocolError(f"profile.token_expiry: no expiresAt in {body!r:.80}") from None

    async def reauthorize(self, ttl: int = 3600) -> AuthToken:
        """``POST /profile/reauthorize-authorization-token``: extend the session by ``ttl`` s.

        The server answers either 200 with a new token or 202 with a command id (then the
        same token lives longer); both end with the client holding the fresh token.
        """
        require_int("ttl", ttl, minimum=1)
        return await self._client.tokens.reauthorize(await self._client.tokens.token(), ttl)

    async def revoke(self) -> None:
        """``POST /profile/revoke-authorization-token``: the current token stops working.

        With a username and password configured, the next call authenticates again.
        """
        await self._client.call("profile.revoke")
        self._client.tokens.forget()
