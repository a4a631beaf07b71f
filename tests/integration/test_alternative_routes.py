"""Documented second-choice routes (``routes.ALTERNATIVES``, wire reference §b2) end to end:
what the sandbox serves under ``alternative_routes`` and how the client falls back to them.

By default the sandbox serves the first choices only (the real server's wire as far as known);
``alternative_routes="only"`` serves each alternative in place of its first choice, so the
client meets the 404 or 405 that makes it switch, over real sockets.
"""

from __future__ import annotations

import aiohttp
import pytest

from privicore_async import PrivicoreClient
from privicore_async.models import VotingStrategy
from privicore_async.sandbox import Sandbox
from privicore_async.wire.http import AUTHORIZATION_HEADER

from .conftest import Provisioned, RequestLog, make_client, onboard

SCOPE = "/oauth-application/retrieve-oauth-application-scope"
STRATEGY = "/verified-authenticator/retrieve-voting-strategy"
GUIDE_STRATEGY = "/verified-authenticator/retrieve-strategy"
CONFIG_GET = "/device/retrieve-device-configuration/"
CONFIG_POST = "/device/download-device-configuration"
ALTERNATIVES_ONLY = pytest.mark.sandbox_options(alternative_routes="only")
ALTERNATIVES_TOO = pytest.mark.sandbox_options(alternative_routes=True)


async def token_of(client: PrivicoreClient) -> str:
    return await client.tokens.token()


async def status_of(sb: Sandbox, method: str, path: str, token: str | None = None) -> int:
    headers = {AUTHORIZATION_HEADER: token} if token is not None else {}
    async with (
        aiohttp.ClientSession() as session,
        session.request(method, sb.api_url + path, headers=headers) as reply,
    ):
        await reply.read()
        return reply.status


async def grant_tokens(client: PrivicoreClient) -> str:
    """An OAuth access token of a fresh application (for the raw-Basic scope read)."""
    grant = await client.oauth.authorize("scopes", "https://app.example/cb", ["data-token:read"])
    return grant.tokens.token


# -- what the sandbox serves -----------------------------------------------------------------


async def test_by_default_only_the_first_choices_are_served(provisioned: Provisioned) -> None:
    sb, client = provisioned.sb, provisioned.client
    token = await token_of(client)
    assert await status_of(sb, "GET", STRATEGY, token) == 200
    assert await status_of(sb, "GET", GUIDE_STRATEGY, token) == 404
    assert await status_of(sb, "POST", SCOPE) == 405  # the GET is served, not the POST
    assert await status_of(sb, "GET", CONFIG_GET + "d-1", token) == 404
    with pytest.raises(ValueError, match="alternative_routes"):
        Sandbox(alternative_routes="both")  # type: ignore[arg-type]


@ALTERNATIVES_TOO
async def test_alternative_routes_true_serves_both(provisioned: Provisioned) -> None:
    sb, client = provisioned.sb, provisioned.client
    token = await token_of(client)
    assert await status_of(sb, "GET", STRATEGY, token) == 200
    assert await status_of(sb, "GET", GUIDE_STRATEGY, token) == 200
    assert await status_of(sb, "GET", GUIDE_STRATEGY) == 401  # the route's auth still applies
    # A request on the alternative's own path counts under the route's name.
    assert sb.stats.requests["authenticators.retrieve_voting_strategy"] == 3
    access = await grant_tokens(client)
    assert await client.oauth.retrieve_scope(access) == ("data-token:read",)
    async with (
        aiohttp.ClientSession() as session,
        session.post(sb.api_url + SCOPE, headers={"Authorization": f"Basic {access}"}) as reply,
    ):
        assert reply.status == 200
        assert await reply.json() == {"scope": ["data-token:read"]}


# -- the client's fallback, over loopback ------------------------------------------------------


@ALTERNATIVES_ONLY
async def test_retrieve_scope_falls_back_to_the_post_form(provisioned: Provisioned) -> None:
    sb = provisioned.sb
    access = await grant_tokens(provisioned.client)
    log = RequestLog()
    async with (
        aiohttp.ClientSession(trace_configs=[log.trace_config()]) as session,
        make_client(sb, session=session) as other,
    ):
        assert await other.oauth.retrieve_scope(access) == ("data-token:read",)
        assert await other.oauth.retrieve_scope(access) == ("data-token:read",)
    # GET answered 405 (the POST is served in its place): switched, and remembered.
    assert [(s.method, s.status) for s in log.to(SCOPE)] == [
        ("GET", 405),
        ("POST", 200),
        ("POST", 200),
    ]


@ALTERNATIVES_ONLY
async def test_voting_strategy_falls_back_to_the_guide_path(provisioned: Provisioned) -> None:
    sb, client = provisioned.sb, provisioned.client
    await (await client.authenticators.set_quorum_size(2))
    strategy = await client.authenticators.retrieve_voting_strategy()
    assert isinstance(strategy, VotingStrategy)
    assert strategy.quorum_size == 2
    assert await status_of(sb, "GET", STRATEGY, await token_of(client)) == 404
    # The first path answered 404 (not served here), the guide's path 200.
    assert sb.stats.requests["authenticators.retrieve_voting_strategy"] == 1


@ALTERNATIVES_ONLY
async def test_device_configuration_falls_back_to_the_official_get(
    provisioned: Provisioned,
) -> None:
    sb, client = provisioned.sb, provisioned.client
    (device,) = await onboard(client, 1, "cfg")
    configuration = await client.devices.retrieve_configuration(device)
    assert configuration.device_identifier == device
    # The alternative takes the id in its path; the handler reads it like the form field.
    assert sb.stats.requests["devices.retrieve_configuration"] == 1
    token = await token_of(client)
    assert await status_of(sb, "POST", CONFIG_POST, token) == 404
    assert await status_of(sb, "GET", CONFIG_GET + "unknown-device", token) == 404
