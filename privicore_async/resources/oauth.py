"""OAuth applications: registration, the authorization-code grant and token refresh (§c6).

The two Basic auth kinds of wire reference §a2 are used here and nowhere else:
retrieve-authorization-code and obtain-access-token send
``Authorization: Basic base64(client_id:client_secret)``; refresh-access-token and
retrieve-oauth-application-scope send ``Authorization: Basic <access token verbatim>``.
Neither sends the profile token. Secrets and tokens never appear in an error message.
"""

from __future__ import annotations

import secrets
from collections.abc import Sequence
from typing import Any

import attrs

from ..commands import CommandHandle
from ..errors import InvalidArgumentError, ProtocolError, ValidationError
from ..models import (
    AuthorizationCode,
    OAuthAppConfiguration,
    OAuthApplication,
    OAuthTokens,
    structure,
)
from ..models.converter import list_items
from ..models.oauth import split_scopes
from ..results import AuthorizationRequest, OAuthGrant
from ._base import Resource, require_text, require_token

__all__ = ["OAuth"]

_ALREADY_READ = (
    "the configuration of an OAuth application can be read only once, so the client secret "
    "must be stored at the first read (Privicore never shows it again)"
)


def _require_scopes(scopes: object, *, field: str) -> tuple[str, ...]:
    """A non-empty sequence of non-blank scope names without commas."""
    if isinstance(scopes, str | bytes) or not isinstance(scopes, Sequence):
        raise InvalidArgumentError(
            "scopes", "must be a list of scope names, not a single string", field=field
        )
    names = tuple(require_text("scopes", scope, field=field).strip() for scope in scopes)
    if not names:
        raise InvalidArgumentError("scopes", "must name at least one scope", field=field)
    if any("," in name for name in names):
        raise InvalidArgumentError("scopes", "a scope name must not contain a comma", field=field)
    return names


def _require_client(client_id: object, client_secret: object) -> tuple[str, str]:
    """The Basic credential pair; RFC 7617 forbids a colon in the user part."""
    identifier = require_text("client_id", client_id)
    secret = require_text("client_secret", client_secret)
    if ":" in identifier:
        raise InvalidArgumentError("client_id", "must not contain a colon")
    return identifier, secret


class OAuth(Resource):
    """``client.oauth``."""

    __slots__ = ()

    async def register(
        self,
        name: str,
        redirect_uri: str,
        scopes: Sequence[str],
        *,
        timeout: float | None = None,
    ) -> CommandHandle:
        """``POST /profile/oauth-application-register``: register an OAuth application.

        ``scopes`` go on the wire comma-joined. The handle's ``command_id`` **is** the
        application id: once the handle settled, pass it to :meth:`retrieve_configuration`.
        """
        names = _require_scopes(scopes, field="scopes")
        args = {"name": name, "redirect_uri": redirect_uri, "scopes": ",".join(names)}
        return await self._client.command("oauth.register", args, timeout=timeout)

    async def retrieve_configuration(self, application_id: str) -> OAuthAppConfiguration:
        """``POST /profile/retrieve-oauth-application-configuration``: client id and secret.

        **Single use**: only the first read succeeds, so store ``client_secret`` at once. A
        second read is a 422; it is raised as :class:`~privicore_async.errors.ValidationError`
        (same ``status`` and ``errors``) whose message explains this.
        """
        try:
            response = await self._client.call(
                "oauth.retrieve_configuration", {"application_id": application_id}
            )
        except ValidationError as exc:
            if exc.status != 422:
                raise
            explained = type(exc)(
                exc.status,
                exc.body,
                errors=exc.errors,
                request_id=exc.request_id,
                method=exc.method,
                path=exc.path,
            )
            explained.args = (f"application {application_id}: {_ALREADY_READ} ({exc})",)
            raise explained from None
        body: Any = response.body
        if isinstance(body, dict) and "scopes" in body and isinstance(body["scopes"], str):
            body = {**body, "scopes": list(split_scopes(body["scopes"]))}
        return structure(body, OAuthAppConfiguration, endpoint="oauth.retrieve_configuration")

    async def request_authorization_code(
        self,
        client_id: str,
        scopes: Sequence[str],
        *,
        nonce: str | None = None,
        timeout: float | None = None,
    ) -> AuthorizationRequest:
        """``GET /profile/oauth-application-request-authorization-code`` (the consenting
        profile's token): ask for an authorization code.

        Sends ``client_id``, ``nonce`` (a fresh random one unless given; never reuse one) and
        one PHP-style ``scope[]`` per scope. Await ``.handle``; its command id is the ``id``
        for :meth:`retrieve_authorization_code`, together with ``.nonce``.
        """
        names = _require_scopes(scopes, field="scope[]")
        if nonce is None:
            nonce = secrets.token_urlsafe(24)
        args = {"client_id": client_id, "nonce": nonce, "scope": names}
        handle = await self._client.command(
            "oauth.request_authorization_code", args, timeout=timeout
        )
        return AuthorizationRequest(handle, nonce, client_id, names)

    async def retrieve_authorization_code(
        self, request_id: str, nonce: str, *, client_id: str, client_secret: str
    ) -> AuthorizationCode:
        """``POST /oauth-application/retrieve-authorization-code`` with
        ``Authorization: Basic base64(client_id:client_secret)``.

        ``request_id`` is the settled request-authorization-code command id and ``nonce``
        the one sent with it.
        """
        credential = _require_client(client_id, client_secret)
        response = await self._client.call(
            "oauth.retrieve_authorization_code",
            {"request_id": request_id, "nonce": nonce},
            credential=credential,
        )
        return structure(
            response.body, AuthorizationCode, endpoint="oauth.retrieve_authorization_code"
        )

    async def obtain_access_token(
        self, authorization_code: str, *, client_id: str, client_secret: str
    ) -> OAuthTokens:
        """``POST /oauth-application/obtain-access-token`` with
        ``Authorization: Basic base64(client_id:client_secret)``: trade a code for tokens.

        The code is sent as the form field ``authorization_code``; it works once.
        """
        credential = _require_client(client_id, client_secret)
        response = await self._client.call(
            "oauth.obtain_access_token",
            {"authorization_code": authorization_code},
            credential=credential,
        )
        return structure(response.body, OAuthTokens, endpoint="oauth.obtain_access_token")

    async def refresh_access_token(
        self, tokens: OAuthTokens | str, refresh_token: str | None = None
    ) -> OAuthTokens:
        """``POST /oauth-application/refresh-access-token`` with
        ``Authorization: Basic <access token verbatim>`` and form ``refresh_token``.

        Pass the current :class:`~privicore_async.models.OAuthTokens` (its refresh token is
        used unless ``refresh_token`` is given), or an access token and ``refresh_token``.
        Replace both tokens with the answer: the old refresh token stops working.
        """
        if isinstance(tokens, OAuthTokens):
            access_token: object = tokens.token
            refresh_token = refresh_token if refresh_token is not None else tokens.refresh_token
        else:
            access_token = tokens
        access = require_token("access_token", access_token)
        if refresh_token is None:
            raise InvalidArgumentError(
                "refresh_token", "is required (no refresh token known)", field="refresh_token"
            )
        response = await self._client.call(
            "oauth.refresh_access_token",
            {"refresh_token": refresh_token},
            credential=access,
        )
        return structure(response.body, OAuthTokens, endpoint="oauth.refresh_access_token")

    async def retrieve_scope(self, access_token: OAuthTokens | str) -> tuple[str, ...]:
        """``GET /oauth-application/retrieve-oauth-application-scope`` with
        ``Authorization: Basic <access token verbatim>``: the scopes the token grants.

        The official TOC says GET; the independent client's helper for this path sends a POST
        with a form body (§b row 17), so a 404 or 405 is tried once more as that POST (an
        empty form; a 405 keeps the client on POST). The answer's shape was never recorded:
        ``{"scope": ...}``, ``{"scopes": ...}``, a list or a comma-separated string are all
        accepted.
        """
        token = access_token.token if isinstance(access_token, OAuthTokens) else access_token
        credential = require_token("access_token", token)
        response = await self._client.call("oauth.retrieve_scope", credential=credential)
        body = response.body
        if isinstance(body, dict):
            for key in ("scope", "scopes"):
                if key in body:
                    return split_scopes(body[key])
        elif isinstance(body, list | str):
            return split_scopes(body)
        raise ProtocolError(f"oauth.retrieve_scope: expected scopes, got {type(body).__name__}")

    async def list(self) -> list[OAuthApplication]:
        """``GET /profile/retrieve-oauth-application-list``: the profile's applications.

        Declared as ``{items: [...], meta: {...}}`` but never recorded; a bare list is
        accepted too.
        """
        response = await self._client.call("oauth.list")
        return structure(list_items(response.body), list[OAuthApplication], endpoint="oauth.list")

    async def authorize(
        self,
        name: str,
        redirect_uri: str,
        scopes: Sequence[str],
        *,
        timeout: float | None = None,
    ) -> OAuthGrant:
        """Register an application and run the whole code grant for this profile. Chains
        seven calls (wire reference §c6 steps 1-5):

        register → await → retrieve configuration → request authorization code → await →
        retrieve authorization code → obtain access token. ``timeout`` applies to each
        awaited command. The result holds the (single-use) configuration with its client
        secret, and the first token pair.
        """
        names = _require_scopes(scopes, field="scopes")
        registered = await self.register(name, redirect_uri, names, timeout=timeout)
        await registered
        if not registered.has_id:
            raise ProtocolError("oauth.register: the 202 carried no command id")
        configuration = await self.retrieve_configuration(registered.command_id)
        if configuration.application_id is None:
            configuration = _with_application_id(configuration, registered.command_id)
        request = await self.request_authorization_code(
            configuration.client_id, names, timeout=timeout
        )
        await request.handle
        if not request.handle.has_id:
            raise ProtocolError("oauth.request_authorization_code: the answer carried no id")
        code = await self.retrieve_authorization_code(
            request.request_id,
            request.nonce,
            client_id=configuration.client_id,
            client_secret=configuration.client_secret,
        )
        tokens = await self.obtain_access_token(
            code.authorization_code,
            client_id=configuration.client_id,
            client_secret=configuration.client_secret,
        )
        return OAuthGrant(configuration, tokens)


def _with_application_id(
    configuration: OAuthAppConfiguration, application_id: str
) -> OAuthAppConfiguration:
    return attrs.evolve(configuration, application_id=application_id)
