"""resources/oauth.py and models/oauth.py: every OAuth endpoint pinned on the wire (method, path,
query, Basic headers, form bodies), argument checks that send nothing, and secrets kept out of
every repr and error message. HTTP is mocked with aioresponses (see ``wire_mock``)."""

from __future__ import annotations

import base64
import re
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import parse_qsl, urlsplit

import pytest

from privicore_async import PollPolicy, PrivicoreClient, RetryPolicy, errors
from privicore_async.models import (
    AuthorizationCode,
    OAuthAppConfiguration,
    OAuthApplication,
    OAuthTokens,
)
from tests.wire_mock import API, all_calls, calls, form, headers, mock_http

TOKEN = "T-profile-token"
CLIENT_ID = "client-123"
CLIENT_SECRET = "s3cret/+=client"
ACCESS = "OA-access-token"
REFRESH = "OR-refresh-token"
CODE = "AC-the-code"
FORM_CT = "application/x-www-form-urlencoded"
BASIC = "Basic " + base64.b64encode(f"{CLIENT_ID}:{CLIENT_SECRET}".encode()).decode()

REGISTER = "/profile/oauth-application-register"
CONFIGURATION = "/profile/retrieve-oauth-application-configuration"
REQUEST_CODE = "/profile/oauth-application-request-authorization-code"
RETRIEVE_CODE = "/oauth-application/retrieve-authorization-code"
OBTAIN = "/oauth-application/obtain-access-token"
REFRESH_PATH = "/oauth-application/refresh-access-token"
SCOPE = "/oauth-application/retrieve-oauth-application-scope"
LIST = "/profile/retrieve-oauth-application-list"
REQUEST_CODE_ANY_QUERY = re.compile(re.escape(API + REQUEST_CODE) + r"\?.*")

SECRETS = (CLIENT_SECRET, ACCESS, REFRESH, CODE, BASIC.split()[1])


def make_client(**kwargs: Any) -> PrivicoreClient:
    kwargs.setdefault("token", TOKEN)
    kwargs.setdefault("poll", PollPolicy(initial_delay=0.0, min_interval=0.01, timeout=5))
    kwargs.setdefault("retry", RetryPolicy(max_attempts=2, initial_backoff=0.001))
    return PrivicoreClient(api_url=API, **kwargs)


def in_an_hour() -> str:
    return (datetime.now(UTC) + timedelta(hours=1)).isoformat()


def token_answer(token: str = ACCESS, refresh: str = REFRESH) -> dict[str, Any]:
    return {
        "clientId": CLIENT_ID,
        "token": token,
        "refreshToken": refresh,
        "type": "bearer",
        "scope": "all",
        "expiresAt": in_an_hour(),
        "refreshTokenExpiresAt": "2030-01-01T00:00:00+00:00",
        "issuer": "privicore",
    }


def assert_token_call(call: Any, expected: dict[str, str]) -> None:
    sent = headers(call)
    assert sent["content-type"] == FORM_CT
    assert sent["x-dpt-authorization"] == TOKEN
    assert "authorization" not in sent
    assert form(call) == expected


def assert_basic_call(call: Any, authorization: str, expected: dict[str, str]) -> None:
    sent = headers(call)
    assert sent["authorization"] == authorization
    assert "x-dpt-authorization" not in sent
    assert sent["content-type"] == FORM_CT
    assert form(call) == expected


def assert_no_secret(text: str) -> None:
    for secret in SECRETS:
        assert secret not in text


# -- register / configuration / list ----------------------------------------------------------


async def test_register_posts_comma_joined_scopes_and_the_id_is_the_application_id() -> None:
    with mock_http() as m:
        m.post(API + REGISTER, status=202, payload={"commandId": "app-1"})
        m.post(API + "/request-status/app-1", payload="succeeded")
        async with make_client() as c:
            handle = await c.oauth.register("My app", "https://x/cb", ["data-token:read", "all"])
            await handle
    assert handle.command_id == "app-1"
    (call,) = calls(m, "POST", REGISTER)
    assert_token_call(
        call, {"name": "My app", "redirectUri": "https://x/cb", "scopes": "data-token:read,all"}
    )
    assert "application id" in (type(c.oauth).register.__doc__ or "")


@pytest.mark.parametrize(
    ("args", "argument"),
    [
        (("", "https://x/cb", ["all"]), "name"),
        (("app", " ", ["all"]), "redirect_uri"),
        (("app", "https://x/cb", []), "scopes"),
        (("app", "https://x/cb", "all"), "scopes"),
        (("app", "https://x/cb", ["all", " "]), "scopes"),
        (("app", "https://x/cb", ["a,b"]), "scopes"),
    ],
)
async def test_register_refuses_bad_input_and_sends_nothing(
    args: tuple[Any, ...], argument: str
) -> None:
    with mock_http() as m:
        async with make_client() as c:
            with pytest.raises(errors.InvalidArgumentError) as info:
                await c.oauth.register(*args)
    assert info.value.argument == argument
    assert all_calls(m) == []


async def test_retrieve_configuration() -> None:
    answer = {
        "applicationId": "app-1",
        "clientId": CLIENT_ID,
        "clientSecret": CLIENT_SECRET,
        "redirectUri": "https://x/cb",
        "scopes": ["all"],
        "createdBy": "p-1",
    }
    with mock_http() as m:
        m.post(API + CONFIGURATION, payload=answer)
        async with make_client() as c:
            config = await c.oauth.retrieve_configuration("app-1")
    assert isinstance(config, OAuthAppConfiguration)
    assert (config.application_id, config.client_id, config.client_secret) == (
        "app-1",
        CLIENT_ID,
        CLIENT_SECRET,
    )
    assert config.scope_names == ("all",)
    assert config.extra == {"createdBy": "p-1"}
    assert_no_secret(repr(config))
    (call,) = calls(m, "POST", CONFIGURATION)
    assert_token_call(call, {"applicationId": "app-1"})


async def test_retrieve_configuration_accepts_comma_separated_scopes() -> None:
    answer = {"clientId": CLIENT_ID, "clientSecret": CLIENT_SECRET, "scopes": "a,b"}
    with mock_http() as m:
        m.post(API + CONFIGURATION, payload=answer)
        async with make_client() as c:
            config = await c.oauth.retrieve_configuration("app-1")
    assert config.scopes == ["a", "b"]


async def test_second_configuration_read_is_explained_and_keeps_errors() -> None:
    body = {"message": "x", "errors": {"applicationId": ["oauth.already_retrieved"]}}
    with mock_http() as m:
        m.post(API + CONFIGURATION, status=422, payload=body)
        async with make_client() as c:
            with pytest.raises(errors.ValidationError) as info:
                await c.oauth.retrieve_configuration("app-1")
    error = info.value
    assert type(error) is errors.ValidationError
    assert (error.status, error.body, error.path) == (422, body, CONFIGURATION)
    assert error.errors == {"applicationId": ["oauth.already_retrieved"]}
    assert "read only once" in str(error)
    assert "client secret must be stored at the first read" in str(error)
    assert "app-1" in str(error)


async def test_configuration_other_errors_pass_through() -> None:
    with mock_http() as m:
        m.post(API + CONFIGURATION, status=404, payload={"message": "Record not found"})
        async with make_client() as c:
            with pytest.raises(errors.NotFoundError):
                await c.oauth.retrieve_configuration("app-1")


async def test_configuration_without_secret_is_a_protocol_error() -> None:
    with mock_http() as m:
        m.post(API + CONFIGURATION, payload={"clientId": CLIENT_ID})
        async with make_client() as c:
            with pytest.raises(errors.ProtocolError, match="clientSecret"):
                await c.oauth.retrieve_configuration("app-1")


@pytest.mark.parametrize(
    "answer",
    [
        [{"applicationId": "a-1", "name": "one", "redirectUri": "u", "scopes": ["all"]}],
        {"items": [{"applicationId": "a-1", "name": "one", "scopes": "all"}], "meta": {}},
    ],
)
async def test_list_accepts_a_list_or_items(answer: Any) -> None:
    with mock_http() as m:
        m.get(API + LIST, payload=answer)
        async with make_client() as c:
            (app,) = await c.oauth.list()
    assert isinstance(app, OAuthApplication)
    assert (app.application_id, app.name, app.scope_names) == ("a-1", "one", ("all",))
    (call,) = calls(m, "GET", LIST)
    assert headers(call)["x-dpt-authorization"] == TOKEN
    assert "data" not in call.kwargs


async def test_list_of_something_else_is_a_protocol_error() -> None:
    with mock_http() as m:
        m.get(API + LIST, payload={"meta": {}})
        async with make_client() as c:
            with pytest.raises(errors.ProtocolError):
                await c.oauth.list()


# -- request / retrieve the authorization code ----------------------------------------------------


async def test_request_authorization_code_repeats_scope_in_the_query() -> None:
    with mock_http() as m:
        m.get(REQUEST_CODE_ANY_QUERY, status=202, body='["req-1"]')
        m.post(API + "/request-status/req-1", payload="succeeded")
        async with make_client() as c:
            request = await c.oauth.request_authorization_code(
                CLIENT_ID, ["all", "data-token:read"], nonce="n-1"
            )
            await request.handle
    assert (request.request_id, request.nonce, request.scopes) == (
        "req-1",
        "n-1",
        ("all", "data-token:read"),
    )
    assert "n-1" not in repr(request)
    ((method, target),) = [(m_, t) for m_, t in all_calls(m) if "request-status" not in t]
    assert method == "GET"
    split = urlsplit(target)
    assert split.path == REQUEST_CODE
    assert parse_qsl(split.query) == [
        ("client_id", CLIENT_ID),
        ("nonce", "n-1"),
        ("scope[]", "all"),
        ("scope[]", "data-token:read"),
    ]
    (call,) = [
        call for (verb, _), recorded in m.requests.items() if verb == "GET" for call in recorded
    ]
    sent = headers(call)
    assert sent["x-dpt-authorization"] == TOKEN
    assert "authorization" not in sent
    assert "data" not in call.kwargs


async def test_request_authorization_code_makes_a_fresh_nonce_each_time() -> None:
    with mock_http() as m:
        m.get(REQUEST_CODE_ANY_QUERY, status=202, body='"r-1"', repeat=True)
        async with make_client(poll=PollPolicy(initial_delay=60.0, timeout=60)) as c:
            first = await c.oauth.request_authorization_code(CLIENT_ID, ["all"])
            second = await c.oauth.request_authorization_code(CLIENT_ID, ["all"])
    assert len(first.nonce) >= 16
    assert first.nonce != second.nonce


@pytest.mark.parametrize(
    ("client_id", "scopes", "nonce", "argument"),
    [
        ("", ["all"], None, "client_id"),
        (CLIENT_ID, [], None, "scopes"),
        (CLIENT_ID, "all", None, "scopes"),
        (CLIENT_ID, ["all"], " ", "nonce"),
        (CLIENT_ID, ["all"], "two words", "nonce"),
    ],
)
async def test_request_authorization_code_refuses_bad_input(
    client_id: str, scopes: Any, nonce: str | None, argument: str
) -> None:
    with mock_http() as m:
        async with make_client() as c:
            with pytest.raises(errors.InvalidArgumentError) as info:
                await c.oauth.request_authorization_code(client_id, scopes, nonce=nonce)
    assert info.value.argument == argument
    assert all_calls(m) == []


async def test_retrieve_authorization_code_uses_basic_client_credentials() -> None:
    answer = {"clientId": CLIENT_ID, "nonce": "n-1", "authorizationCode": CODE}
    answer["expiresAt"] = (datetime.now(UTC) + timedelta(seconds=60)).isoformat()
    with mock_http() as m:
        m.post(API + RETRIEVE_CODE, payload=answer)
        async with make_client() as c:
            code = await c.oauth.retrieve_authorization_code(
                "req-1", "n-1", client_id=CLIENT_ID, client_secret=CLIENT_SECRET
            )
    assert isinstance(code, AuthorizationCode)
    assert (code.authorization_code, code.client_id, code.nonce) == (CODE, CLIENT_ID, "n-1")
    left = code.seconds_left()
    assert left is not None
    assert 50 < left <= 60
    assert_no_secret(repr(code))
    (call,) = calls(m, "POST", RETRIEVE_CODE)
    assert_basic_call(call, BASIC, {"id": "req-1", "nonce": "n-1"})


async def test_wrong_client_secret_401_never_shows_the_secret() -> None:
    with mock_http() as m:
        m.post(API + RETRIEVE_CODE, status=401, payload={"message": "Unauthorized"})
        async with make_client() as c:
            with pytest.raises(errors.AuthenticationError) as info:
                await c.oauth.retrieve_authorization_code(
                    "req-1", "n-1", client_id=CLIENT_ID, client_secret=CLIENT_SECRET
                )
    assert_no_secret(str(info.value))
    assert_no_secret(repr(info.value))


@pytest.mark.parametrize(
    ("request_id", "nonce", "client_id", "client_secret", "argument"),
    [
        ("", "n", CLIENT_ID, CLIENT_SECRET, "request_id"),
        ("r", "", CLIENT_ID, CLIENT_SECRET, "nonce"),
        ("r", "n", "", CLIENT_SECRET, "client_id"),
        ("r", "n", "a:b", CLIENT_SECRET, "client_id"),
        ("r", "n", CLIENT_ID, "", "client_secret"),
        ("r", "n", CLIENT_ID, None, "client_secret"),
    ],
)
async def test_retrieve_authorization_code_refuses_bad_input(
    request_id: str, nonce: str, client_id: str, client_secret: Any, argument: str
) -> None:
    with mock_http() as m:
        async with make_client() as c:
            with pytest.raises(errors.InvalidArgumentError) as info:
                await c.oauth.retrieve_authorization_code(
                    request_id, nonce, client_id=client_id, client_secret=client_secret
                )
    assert info.value.argument == argument
    assert all_calls(m) == []


# -- tokens ---------------------------------------------------------------------------------------


async def test_obtain_access_token() -> None:
    with mock_http() as m:
        m.post(API + OBTAIN, payload=token_answer())
        async with make_client() as c:
            tokens = await c.oauth.obtain_access_token(
                CODE, client_id=CLIENT_ID, client_secret=CLIENT_SECRET
            )
    assert isinstance(tokens, OAuthTokens)
    assert (tokens.token, tokens.refresh_token, tokens.type) == (ACCESS, REFRESH, "bearer")
    assert (tokens.client_id, tokens.scope_names) == (CLIENT_ID, ("all",))
    assert tokens.refresh_token_expires_at == datetime(2030, 1, 1, tzinfo=UTC)
    assert tokens.extra == {"issuer": "privicore"}
    assert_no_secret(repr(tokens))
    (call,) = calls(m, "POST", OBTAIN)
    assert_basic_call(call, BASIC, {"authorization_code": CODE})


async def test_obtain_access_token_refuses_a_blank_code() -> None:
    with mock_http() as m:
        async with make_client() as c:
            with pytest.raises(errors.InvalidArgumentError):
                await c.oauth.obtain_access_token(
                    " ", client_id=CLIENT_ID, client_secret=CLIENT_SECRET
                )
    assert all_calls(m) == []


async def test_obtain_access_token_answer_without_token_does_not_leak() -> None:
    with mock_http() as m:
        m.post(API + OBTAIN, payload={"refreshToken": REFRESH})
        async with make_client() as c:
            with pytest.raises(errors.ProtocolError) as info:
                await c.oauth.obtain_access_token(
                    CODE, client_id=CLIENT_ID, client_secret=CLIENT_SECRET
                )
    assert "token" in str(info.value)
    assert_no_secret(str(info.value))


@pytest.mark.parametrize("pass_model", [True, False])
async def test_refresh_uses_the_raw_access_token_as_basic(pass_model: bool) -> None:
    current = OAuthTokens(ACCESS, REFRESH)
    with mock_http() as m:
        m.post(API + REFRESH_PATH, payload=token_answer("OA-new", "OR-new"))
        async with make_client() as c:
            if pass_model:
                fresh = await c.oauth.refresh_access_token(current)
            else:
                fresh = await c.oauth.refresh_access_token(ACCESS, REFRESH)
    assert (fresh.token, fresh.refresh_token) == ("OA-new", "OR-new")
    (call,) = calls(m, "POST", REFRESH_PATH)
    assert_basic_call(call, f"Basic {ACCESS}", {"refresh_token": REFRESH})


async def test_refresh_rejected_is_401_without_tokens_in_the_message() -> None:
    with mock_http() as m:
        m.post(API + REFRESH_PATH, status=401, payload={"message": "Unauthorized"})
        async with make_client() as c:
            with pytest.raises(errors.AuthenticationError) as info:
                await c.oauth.refresh_access_token(ACCESS, REFRESH)
    assert_no_secret(str(info.value))


@pytest.mark.parametrize(
    ("tokens", "refresh", "argument"),
    [
        (ACCESS, None, "refresh_token"),
        (OAuthTokens(ACCESS), None, "refresh_token"),
        ("", REFRESH, "access_token"),
        ("OA bad\r\nX: y", REFRESH, "access_token"),
        (ACCESS, "", "refresh_token"),
    ],
)
async def test_refresh_refuses_bad_input(tokens: Any, refresh: str | None, argument: str) -> None:
    with mock_http() as m:
        async with make_client() as c:
            with pytest.raises(errors.InvalidArgumentError) as info:
                await c.oauth.refresh_access_token(tokens, refresh)
    assert info.value.argument == argument
    assert "bad" not in str(info.value)
    assert all_calls(m) == []


@pytest.mark.parametrize(
    ("answer", "expected"),
    [
        ({"scope": ["all", "x"]}, ("all", "x")),
        ({"scopes": "all,x"}, ("all", "x")),
        (["all"], ("all",)),
        ("all", ("all",)),
    ],
)
async def test_retrieve_scope(answer: Any, expected: tuple[str, ...]) -> None:
    with mock_http() as m:
        m.get(API + SCOPE, payload=answer)
        async with make_client() as c:
            assert await c.oauth.retrieve_scope(OAuthTokens(ACCESS, REFRESH)) == expected
    (call,) = calls(m, "GET", SCOPE)
    sent = headers(call)
    assert sent["authorization"] == f"Basic {ACCESS}"
    assert "x-dpt-authorization" not in sent
    assert "data" not in call.kwargs


@pytest.mark.parametrize("status", [404, 405])
async def test_retrieve_scope_falls_back_to_a_post_form(status: int) -> None:
    with mock_http() as m:
        m.get(API + SCOPE, status=status, repeat=True)
        m.post(API + SCOPE, payload={"scope": "read,write"}, repeat=True)
        async with make_client() as c:
            for _ in range(2):
                assert await c.oauth.retrieve_scope(ACCESS) == ("read", "write")
    # §b row 17: the POST the raw-Basic helper sends, with an (empty) form body.
    post = calls(m, "POST", SCOPE)[0]
    sent = headers(post)
    assert sent["authorization"] == f"Basic {ACCESS}"
    assert sent["content-type"] == FORM_CT
    assert "x-dpt-authorization" not in sent
    assert form(post) == {}
    # A 405 keeps the client on the POST; a 404 proves nothing and is not remembered.
    assert len(calls(m, "GET", SCOPE)) == (1 if status == 405 else 2)
    assert len(calls(m, "POST", SCOPE)) == 2


async def test_retrieve_scope_shows_the_get_answer_when_the_post_fails_too() -> None:
    with mock_http() as m:
        m.get(API + SCOPE, status=404, payload={"message": "get"})
        m.post(API + SCOPE, status=405, payload={"message": "post"})
        async with make_client() as c:
            with pytest.raises(errors.NotFoundError) as info:
                await c.oauth.retrieve_scope(ACCESS)
    assert info.value.body == {"message": "get"}
    assert len(all_calls(m)) == 2
    assert_no_secret(str(info.value))


async def test_retrieve_scope_of_an_unknown_shape_is_a_protocol_error() -> None:
    with mock_http() as m:
        m.get(API + SCOPE, payload={"granted": True})
        async with make_client() as c:
            with pytest.raises(errors.ProtocolError) as info:
                await c.oauth.retrieve_scope(ACCESS)
    assert_no_secret(str(info.value))


async def test_basic_routes_work_without_a_profile_token() -> None:
    with mock_http() as m:
        m.post(API + OBTAIN, payload=token_answer())
        async with make_client(token=None) as c:
            await c.oauth.obtain_access_token(
                CODE, client_id=CLIENT_ID, client_secret=CLIENT_SECRET
            )
    (call,) = calls(m, "POST", OBTAIN)
    assert "x-dpt-authorization" not in headers(call)


# -- models ---------------------------------------------------------------------------------------


def test_token_expiry_helpers() -> None:
    now = datetime(2026, 1, 1, tzinfo=UTC)
    tokens = OAuthTokens(
        ACCESS,
        REFRESH,
        expires_at=now + timedelta(seconds=30),
        refresh_token_expires_at=now + timedelta(days=1),
    )
    assert tokens.seconds_left(now) == 30
    assert not tokens.expired(now=now)
    assert tokens.expired(margin=60, now=now)
    assert tokens.refresh_seconds_left(now) == 86400
    assert tokens.refreshable(now=now)
    assert not tokens.refreshable(now=now + timedelta(days=2))
    assert not OAuthTokens(ACCESS).refreshable()
    unknown = OAuthTokens(ACCESS, REFRESH)
    assert unknown.seconds_left() is None
    assert not unknown.expired(margin=60)
    assert unknown.refreshable()
    assert_no_secret(repr(tokens))


# -- the flow -------------------------------------------------------------------------------------


async def test_authorize_chains_the_grant_in_order() -> None:
    config = {"clientId": CLIENT_ID, "clientSecret": CLIENT_SECRET, "scopes": ["all"]}
    code = {"clientId": CLIENT_ID, "nonce": "n", "authorizationCode": CODE}
    with mock_http() as m:
        m.post(API + REGISTER, status=202, body='"app-9"')
        m.post(API + "/request-status/app-9", payload="succeeded")
        m.post(API + CONFIGURATION, payload=config)
        m.get(REQUEST_CODE_ANY_QUERY, status=202, payload={"commandId": "req-9"})
        m.post(API + "/request-status/req-9", payload="succeeded")
        m.post(API + RETRIEVE_CODE, payload=code)
        m.post(API + OBTAIN, payload=token_answer())
        async with make_client() as c:
            grant = await c.oauth.authorize("app", "https://x/cb", ["all"])
    assert grant.application_id == "app-9"
    assert grant.tokens.token == ACCESS
    assert_no_secret(repr(grant))
    (retrieve,) = calls(m, "POST", RETRIEVE_CODE)
    sent = form(retrieve)
    assert sent["id"] == "req-9"
    ((_, target),) = [(v, t) for v, t in all_calls(m) if t.startswith(REQUEST_CODE)]
    assert dict(parse_qsl(urlsplit(target).query))["nonce"] == sent["nonce"]
    assert_basic_call(calls(m, "POST", OBTAIN)[0], BASIC, {"authorization_code": CODE})


async def test_authorize_stops_when_registration_is_rejected() -> None:
    with mock_http() as m:
        m.post(API + REGISTER, status=202, body='"app-9"')
        m.post(API + "/request-status/app-9", payload="rejected")
        async with make_client() as c:
            with pytest.raises(errors.CommandRejected):
                await c.oauth.authorize("app", "https://x/cb", ["all"])
    assert calls(m, "POST", CONFIGURATION) == []


@pytest.mark.parametrize("which", ["register", "request-code"])
async def test_authorize_refuses_a_202_without_an_id_as_a_protocol_error(which: str) -> None:
    config = {"clientId": CLIENT_ID, "clientSecret": CLIENT_SECRET, "scopes": ["all"]}
    with mock_http() as m:
        if which == "register":
            m.post(API + REGISTER, status=202, body="")
        else:
            m.post(API + REGISTER, status=202, body='"app-9"')
            m.post(API + "/request-status/app-9", payload="succeeded")
            m.post(API + CONFIGURATION, payload=config)
            m.get(REQUEST_CODE_ANY_QUERY, status=202, body="")
        async with make_client() as c:
            # A ProtocolError naming the step, not a None id passed on.
            with pytest.raises(errors.ProtocolError, match=r"no command id|no id"):
                await c.oauth.authorize("app", "https://x/cb", ["all"])
    assert calls(m, "POST", RETRIEVE_CODE) == []
