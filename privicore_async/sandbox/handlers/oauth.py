"""OAuth application group: registration and the authorization-code grant (§a11, §b rows 11-18).

The code-grant routes use the two Basic auth kinds (§a2), which the route wrapper does not
check, so this module parses ``Authorization`` itself: ``Basic base64(clientId:clientSecret)``
for retrieve-authorization-code and obtain-access-token, ``Basic <access token verbatim>`` for
refresh-access-token and retrieve-oauth-application-scope. The OAuth records live in
``SandboxState.oauth``.
"""

from __future__ import annotations

import base64
import binascii
import secrets
import time
from collections.abc import Mapping

from aiohttp import web

from ..answers import iso_time, json_answer, unauthorized, validation_failed
from ..call import Call, Handler
from ..engine import Command, Outcome
from ..oauth_state import CODE_TTL, Application, Authorization, Grant
from ..validation import BLANK

__all__ = ["HANDLERS"]


def _basic(call: Call) -> str | None:
    """The credential part of ``Authorization: Basic <credential>``, or ``None``."""
    scheme, _, value = call.request.headers.get("Authorization", "").partition(" ")
    value = value.strip()
    return value if scheme.lower() == "basic" and value else None


def _client(call: Call) -> Application | None:
    """The application whose ``base64(clientId:clientSecret)`` the caller sent."""
    credential = _basic(call)
    if credential is None:
        return None
    try:
        decoded = base64.b64decode(credential, validate=True).decode()
    except (binascii.Error, UnicodeDecodeError):
        return None
    client_id, colon, client_secret = decoded.partition(":")
    application = call.ctx.state.oauth.by_client.get(client_id)
    if not colon or application is None:
        return None
    if not secrets.compare_digest(application.client_secret, client_secret):
        return None
    return application


def _grant(call: Call) -> Grant | None:
    """The grant whose access token the caller sent verbatim (expired ones included)."""
    credential = _basic(call)
    return None if credential is None else call.ctx.state.oauth.grants.get(credential)


def _tokens(grant: Grant) -> web.Response:
    return json_answer(
        {
            "clientId": grant.client_id,
            "token": grant.token,
            "refreshToken": grant.refresh_token,
            "type": "bearer",
            "scope": grant.scopes,
            "expiresAt": iso_time(grant.expires_at),
            "refreshTokenExpiresAt": iso_time(grant.refresh_expires_at),
        }
    )


def _refused(field: str, key: str) -> web.Response:
    return json_answer({"message": key, "errors": {field: [key]}}, 422)


async def register(call: Call) -> web.StreamResponse:
    """``oauth-application-register``: the application exists on settle, under the command id."""
    form = await call.form()
    name = form.text("name")
    redirect_uri = form.text("redirectUri")
    scopes = [s.strip() for s in form.text("scopes").split(",") if s.strip()]
    form.check()
    profile_id = call.profile_id
    records = call.ctx.state.oauth

    def create(command: Command) -> Outcome:
        application = Application(command.command_id, profile_id, name, redirect_uri, scopes)
        records.applications[application.application_id] = application
        records.by_client[application.client_id] = application
        return Outcome.success()

    return call.accept(create)


async def retrieve_configuration(call: Call) -> web.StreamResponse:
    """``retrieve-oauth-application-configuration``: once only; then 422 already_retrieved."""
    form = await call.form()
    application_id = form.text("applicationId")
    form.check()
    application = call.ctx.state.oauth.applications.get(application_id)
    if application is None or application.profile_id != call.profile_id:
        return json_answer({"message": "Record not found"}, 404)
    if application.configuration_read:
        return json_answer(
            {
                "message": "The configuration was already retrieved.",
                "errors": {"applicationId": ["oauth.already_retrieved"]},
            },
            422,
        )
    application.configuration_read = True
    return json_answer(
        {
            "applicationId": application.application_id,
            "clientId": application.client_id,
            "clientSecret": application.client_secret,
            "redirectUri": application.redirect_uri,
            "scopes": application.scopes,
        }
    )


async def request_authorization_code(call: Call) -> web.StreamResponse:
    """``oauth-application-request-authorization-code``: query ``client_id``, ``nonce``,
    ``scope[]``; on settle a pending authorization keyed by the command id."""
    query = call.request.query
    client_id = query.get("client_id", "").strip()
    nonce = query.get("nonce", "").strip()
    scopes = [s.strip() for s in query.getall("scope[]", []) if s.strip()]
    problems = {
        name: [BLANK]
        for name, value in (("client_id", client_id), ("nonce", nonce), ("scope[]", scopes))
        if not value
    }
    if problems:
        return validation_failed(problems)
    profile_id = call.profile_id
    records = call.ctx.state.oauth

    def authorize(command: Command) -> Outcome:
        if client_id not in records.by_client:
            return Outcome.reject("oauth.application_not_found")
        records.authorizations[command.command_id] = Authorization(
            command.command_id, client_id, profile_id, nonce, scopes
        )
        return Outcome.success()

    return call.accept(authorize)


async def retrieve_authorization_code(call: Call) -> web.StreamResponse:
    """``retrieve-authorization-code``: Basic client credentials, ``id`` and matching ``nonce``."""
    application = _client(call)
    if application is None:
        return unauthorized()
    form = await call.form()
    request_id = form.text("id")
    nonce = form.text("nonce")
    form.check()
    records = call.ctx.state.oauth
    authorization = records.authorizations.get(request_id)
    if authorization is None or authorization.client_id != application.client_id:
        return _refused("id", "oauth.authorization_request_not_found")
    if not secrets.compare_digest(authorization.nonce, nonce):
        return _refused("nonce", "oauth.nonce_mismatch")
    if authorization.code is not None:
        return _refused("id", "oauth.already_retrieved")
    authorization.code = "AC-" + secrets.token_urlsafe(24)
    authorization.code_expires_at = time.time() + CODE_TTL
    records.codes[authorization.code] = authorization
    return json_answer(
        {
            "clientId": application.client_id,
            "nonce": authorization.nonce,
            "authorizationCode": authorization.code,
            "expiresAt": iso_time(authorization.code_expires_at),
        }
    )


async def obtain_access_token(call: Call) -> web.StreamResponse:
    """``obtain-access-token``: Basic client credentials; the code works once, for 60 s."""
    application = _client(call)
    if application is None:
        return unauthorized()
    form = await call.form()
    code = form.text("authorization_code")
    form.check()
    records = call.ctx.state.oauth
    authorization = records.codes.get(code)
    if (
        authorization is None
        or authorization.client_id != application.client_id
        or authorization.code_used
        or authorization.code_expires_at <= time.time()
    ):
        return _refused("authorization_code", "oauth.invalid_authorization_code")
    authorization.code_used = True
    return _tokens(
        records.issue(application.client_id, authorization.profile_id, authorization.scopes)
    )


async def refresh_access_token(call: Call) -> web.StreamResponse:
    """``refresh-access-token``: raw Basic access token + ``refresh_token``; both are rotated."""
    grant = _grant(call)
    if grant is None:
        return unauthorized()
    form = await call.form()
    refresh = form.text("refresh_token")
    form.check()
    if (
        not secrets.compare_digest(grant.refresh_token, refresh)
        or grant.refresh_expires_at <= time.time()
    ):
        return unauthorized()
    records = call.ctx.state.oauth
    del records.grants[grant.token]
    return _tokens(records.issue(grant.client_id, grant.profile_id, grant.scopes))


async def retrieve_scope(call: Call) -> web.StreamResponse:
    """``retrieve-oauth-application-scope``: the scopes of a live access token (raw Basic).

    Served for GET; also for the POST (empty form) alternative when the sandbox serves
    alternatives (``Sandbox(alternative_routes=...)``): this handler reads no body either way.
    """
    grant = _grant(call)
    if grant is None or grant.expires_at <= time.time():
        return unauthorized()
    return json_answer({"scope": grant.scopes})


async def list_applications(call: Call) -> web.StreamResponse:
    """``retrieve-oauth-application-list``: the caller's applications, as a JSON array."""
    profile_id = call.profile_id
    return json_answer(
        [
            {
                "applicationId": a.application_id,
                "name": a.name,
                "redirectUri": a.redirect_uri,
                "scopes": a.scopes,
            }
            for a in call.ctx.state.oauth.applications.values()
            if a.profile_id == profile_id
        ]
    )


HANDLERS: Mapping[str, Handler] = {
    "oauth.register": register,
    "oauth.retrieve_configuration": retrieve_configuration,
    "oauth.request_authorization_code": request_authorization_code,
    "oauth.retrieve_authorization_code": retrieve_authorization_code,
    "oauth.obtain_access_token": obtain_access_token,
    "oauth.refresh_access_token": refresh_access_token,
    "oauth.retrieve_scope": retrieve_scope,
    "oauth.list": list_applications,
}
