"""The OAuth authorization-code grant (wire reference §c6) end to end against the sandbox."""

from __future__ import annotations

import logging

import pytest

from privicore_async import PrivicoreClient, errors
from privicore_async.models import OAuthApplication, OAuthTokens
from privicore_async.results import OAuthGrant

from .conftest import LEGACY_STATUS, Provisioned

REDIRECT = "https://app.example/callback"


async def test_full_code_grant_with_refresh_and_rotation(provisioned: Provisioned) -> None:
    sb, client = provisioned.sb, provisioned.client
    oauth = client.oauth

    registered = await oauth.register("my app", REDIRECT, ["data-token:read", "all"])
    await registered
    application_id = registered.command_id
    assert application_id is not None
    config = await oauth.retrieve_configuration(application_id)
    assert config.application_id == application_id
    assert config.scope_names == ("data-token:read", "all")
    assert config.redirect_uri == REDIRECT
    assert config.client_secret not in repr(config)

    (listed,) = await oauth.list()
    assert isinstance(listed, OAuthApplication)
    assert (listed.application_id, listed.name) == (application_id, "my app")

    request = await oauth.request_authorization_code(config.client_id, ["all"])
    await request.handle
    assert request.request_id is not None
    assert request.nonce not in repr(request)
    code = await oauth.retrieve_authorization_code(
        request.request_id,
        request.nonce,
        client_id=config.client_id,
        client_secret=config.client_secret,
    )
    assert code.client_id == config.client_id
    assert code.nonce == request.nonce
    assert code.authorization_code not in repr(code)
    left = code.seconds_left()
    assert left is not None
    assert 0 < left <= 60

    tokens = await oauth.obtain_access_token(
        code.authorization_code, client_id=config.client_id, client_secret=config.client_secret
    )
    assert isinstance(tokens, OAuthTokens)
    assert tokens.type == "bearer"
    assert tokens.scope_names == ("all",)
    assert tokens.client_id == config.client_id
    assert not tokens.expired()
    assert tokens.refreshable()
    assert await oauth.retrieve_scope(tokens) == ("all",)

    # The code works once.
    with pytest.raises(errors.ValidationError):
        await oauth.obtain_access_token(
            code.authorization_code,
            client_id=config.client_id,
            client_secret=config.client_secret,
        )

    refreshed = await oauth.refresh_access_token(tokens)
    assert refreshed.token != tokens.token
    assert refreshed.refresh_token != tokens.refresh_token
    assert await oauth.retrieve_scope(refreshed.token) == ("all",)

    # The old refresh token was rotated out: with the new access token, and with the old one.
    assert tokens.refresh_token is not None
    for access in (refreshed.token, tokens.token):
        with pytest.raises(errors.AuthenticationError) as info:
            await oauth.refresh_access_token(access, tokens.refresh_token)
        assert tokens.refresh_token not in str(info.value)
        assert access not in str(info.value)
    with pytest.raises(errors.AuthenticationError):
        await oauth.retrieve_scope(tokens)

    assert len(sb.state.oauth.applications) == 1
    assert sb.stats.requests["oauth.refresh_access_token"] == 3


async def test_second_configuration_read_is_explained(client: PrivicoreClient) -> None:
    registered = await client.oauth.register("once", REDIRECT, ["all"])
    await registered
    assert registered.command_id is not None
    first = await client.oauth.retrieve_configuration(registered.command_id)
    with pytest.raises(errors.ValidationError) as info:
        await client.oauth.retrieve_configuration(registered.command_id)
    error = info.value
    assert type(error) is errors.ValidationError
    assert error.status == 422
    assert error.errors == {"applicationId": ["oauth.already_retrieved"]}
    assert "only once" in str(error)
    assert "client secret" in str(error)
    assert first.client_secret not in str(error)


async def test_wrong_client_secret_is_authentication_error(client: PrivicoreClient) -> None:
    registered = await client.oauth.register("app", REDIRECT, ["all"])
    await registered
    assert registered.command_id is not None
    config = await client.oauth.retrieve_configuration(registered.command_id)
    request = await client.oauth.request_authorization_code(config.client_id, ["all"])
    await request.handle
    assert request.request_id is not None
    with pytest.raises(errors.AuthenticationError) as info:
        await client.oauth.retrieve_authorization_code(
            request.request_id, request.nonce, client_id=config.client_id, client_secret="wrong"
        )
    assert "wrong" not in str(info.value)
    # A wrong nonce is refused even with the right secret; the right one still works after.
    with pytest.raises(errors.ValidationError) as mismatch:
        await client.oauth.retrieve_authorization_code(
            request.request_id,
            "not-the-nonce",
            client_id=config.client_id,
            client_secret=config.client_secret,
        )
    assert mismatch.value.errors == {"nonce": ["oauth.nonce_mismatch"]}
    code = await client.oauth.retrieve_authorization_code(
        request.request_id,
        request.nonce,
        client_id=config.client_id,
        client_secret=config.client_secret,
    )
    with pytest.raises(errors.AuthenticationError):
        await client.oauth.obtain_access_token(
            code.authorization_code, client_id=config.client_id, client_secret="wrong"
        )


@LEGACY_STATUS
async def test_unknown_client_id_rejects_the_request(client: PrivicoreClient) -> None:
    request = await client.oauth.request_authorization_code("no-such-client", ["all"])
    with pytest.raises(errors.CommandRejected) as info:
        await request.handle
    assert info.value.reason == "oauth.application_not_found"


async def test_authorize_runs_the_whole_grant(provisioned: Provisioned) -> None:
    oauth = provisioned.client.oauth
    grant = await oauth.authorize("flow", REDIRECT, ["data-token:read"])
    assert isinstance(grant, OAuthGrant)
    assert grant.application_id is not None
    assert grant.configuration.client_secret not in repr(grant)
    assert grant.tokens.token not in repr(grant)
    assert await oauth.retrieve_scope(grant.tokens) == ("data-token:read",)
    stats = provisioned.sb.stats.requests
    for name in (
        "oauth.register",
        "oauth.retrieve_configuration",
        "oauth.request_authorization_code",
        "oauth.retrieve_authorization_code",
        "oauth.obtain_access_token",
    ):
        assert stats[name] == 1, name
    # The configuration was consumed by the flow.
    with pytest.raises(errors.ValidationError, match="only once"):
        await oauth.retrieve_configuration(grant.application_id)


async def test_no_secret_reaches_a_log_line(
    provisioned: Provisioned, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG, logger="privicore_async")
    oauth = provisioned.client.oauth
    grant = await oauth.authorize("logged", REDIRECT, ["all"])
    refreshed = await oauth.refresh_access_token(grant.tokens)
    await oauth.retrieve_scope(refreshed)
    assert caplog.records, "expected debug log lines"
    for secret in (
        grant.configuration.client_secret,
        grant.tokens.token,
        grant.tokens.refresh_token,
        refreshed.token,
        refreshed.refresh_token,
    ):
        assert secret
        assert secret not in caplog.text
