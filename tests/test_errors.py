"""The exception tree (DESIGN §3) and the status → class mapping."""

from __future__ import annotations

import logging
import socket
from typing import Any
from urllib.parse import quote

import aiohttp
import pytest
from aiohttp.client_reqrep import ConnectionKey
from yarl import URL

from privicore_async import PrivicoreClient, RetryPolicy, errors
from privicore_async.errors import (
    BODY_EXCERPT,
    APIError,
    AuthenticationError,
    CommandError,
    CommandNotFound,
    CommandRejected,
    CommandTimeout,
    ConflictError,
    ConnectError,
    ConnectTimeout,
    InvalidArgumentError,
    NotFoundError,
    PermissionDeniedError,
    PrivicoreError,
    ProtocolError,
    RateLimitError,
    ReadTimeout,
    ServerError,
    TransportError,
    TransportTimeout,
    ValidationError,
    error_for_status,
)
from privicore_async.models import AuthToken
from tests.test_secrets import PASSWORD, TOKEN, USERNAME, assert_no_secret
from tests.wire_mock import API, mock_http


@pytest.mark.parametrize(
    ("status", "cls"),
    [
        (401, AuthenticationError),
        (403, PermissionDeniedError),
        (404, NotFoundError),
        (409, ConflictError),
        (422, ValidationError),
        (429, RateLimitError),
        (500, ServerError),
        (502, ServerError),
        (503, ServerError),
        (504, ServerError),
        (599, ServerError),
        (400, APIError),
        (405, APIError),
        (418, APIError),
    ],
)
def test_error_for_status(status: int, cls: type[APIError]) -> None:
    assert error_for_status(status) is cls


def test_tree_shape() -> None:
    for cls in (TransportError, ProtocolError, APIError, CommandError):
        assert issubclass(cls, PrivicoreError)
    for cls in (
        AuthenticationError,
        PermissionDeniedError,
        NotFoundError,
        ConflictError,
        ValidationError,
        RateLimitError,
        ServerError,
    ):
        assert issubclass(cls, APIError)
    for cls in (CommandRejected, CommandTimeout, CommandNotFound):
        assert issubclass(cls, CommandError)
    assert not issubclass(TransportError, APIError)
    assert not issubclass(CommandError, APIError)
    assert set(errors.__all__) >= {
        "PrivicoreError",
        "TransportError",
        "ProtocolError",
        "APIError",
        "AuthenticationError",
        "PermissionDeniedError",
        "NotFoundError",
        "ConflictError",
        "ValidationError",
        "RateLimitError",
        "ServerError",
        "CommandError",
        "CommandRejected",
        "CommandTimeout",
    }


@pytest.mark.parametrize("status", [401, 403, 404, 409, 418, 500, 503])
def test_api_error_message_names_method_path_status(status: int) -> None:
    cls = error_for_status(status)
    exc = cls(status, {"message": "nope"}, method="POST", path="/storage/sync-device")
    assert str(exc) == f"POST /storage/sync-device: HTTP {status} {{'message': 'nope'}}"
    assert exc.status == status
    assert exc.body == {"message": "nope"}
    assert (exc.method, exc.path, exc.request_id) == ("POST", "/storage/sync-device", None)


def test_api_error_without_body_or_request() -> None:
    assert str(APIError(418)) == "HTTP 418"
    assert str(APIError(500, "", method="GET", path="/health")) == "GET /health: HTTP 500"
    assert str(APIError(500, b"", method="GET", path="/health")) == "GET /health: HTTP 500"


def test_api_error_truncates_long_bodies() -> None:
    body = "x" * 5000
    exc = ServerError(500, body, method="GET", path="/health", request_id="req-9")
    message = str(exc)
    assert message.startswith("GET /health: HTTP 500 ")
    assert message.endswith("…")
    assert message.count("x") == BODY_EXCERPT
    assert len(message) < 300
    assert exc.body == body  # the full body stays available on the exception
    assert exc.request_id == "req-9"


def test_api_error_truncates_long_json_bodies() -> None:
    exc = ValidationError(422, {"errors": ["y" * 1000]}, method="POST", path="/x")
    assert len(str(exc)) < 300
    assert str(exc).endswith("…")


def test_validation_error_carries_field_errors() -> None:
    exc = ValidationError(422, {"ttl": ["too large"]}, errors={"ttl": ["too large"]})
    assert exc.errors == {"ttl": ["too large"]}
    assert ValidationError(422).errors == {}


def test_rate_limit_error_carries_retry_after() -> None:
    assert RateLimitError(429, retry_after=2.5).retry_after == 2.5
    assert RateLimitError(429).retry_after is None


def test_invalid_argument_error_is_validation_and_value_error() -> None:
    exc = InvalidArgumentError("device_identifier", "must not be blank", field="deviceIdentifier")
    assert isinstance(exc, ValidationError)
    assert isinstance(exc, APIError)
    assert isinstance(exc, ValueError)
    assert exc.errors == {"deviceIdentifier": ["must not be blank"]}
    assert exc.argument == "device_identifier"
    assert exc.status == 0
    assert str(exc) == "device_identifier: must not be blank"
    assert "HTTP" not in str(exc)
    with pytest.raises(ValueError, match="device_identifier"):
        raise exc


def test_invalid_argument_error_without_field_keys_by_argument() -> None:
    exc = InvalidArgumentError("username", "must not be blank")
    assert exc.errors == {"username": ["must not be blank"]}


def test_command_errors_carry_command_id() -> None:
    rejected = CommandRejected("cmd-1", "device.not_storage")
    assert rejected.command_id == "cmd-1"
    assert rejected.reason == "device.not_storage"
    assert str(rejected) == "command cmd-1: rejected: device.not_storage"
    assert str(CommandRejected("cmd-1")) == "command cmd-1: rejected"

    timeout = CommandTimeout("cmd-2", "pending", timeout=1.5)
    assert timeout.command_id == "cmd-2"
    assert timeout.last_status == "pending"
    assert timeout.timeout == 1.5
    assert timeout.pending == ()
    assert str(timeout) == "command cmd-2: not settled after 1.5s (last status: pending)"

    missing = CommandNotFound("cmd-3", 10.0)
    assert missing.command_id == "cmd-3"
    assert missing.grace == 10.0
    assert "cmd-3" in str(missing)
    assert "10s" in str(missing)


def test_command_rejected_truncates_long_reasons() -> None:
    exc = CommandRejected("cmd-1", {"reason": "z" * 1000})
    assert len(str(exc)) < 300
    assert exc.reason == {"reason": "z" * 1000}


# -- transport errors: how the last attempt failed, and the scrubbed cause -------------------------


def test_transport_error_subclasses() -> None:
    for cls in (ConnectError, TransportTimeout, ConnectTimeout, ReadTimeout):
        assert issubclass(cls, TransportError)
        assert cls.__name__ in errors.__all__
    assert issubclass(ConnectTimeout, ConnectError)
    assert issubclass(ConnectTimeout, TransportTimeout)
    assert issubclass(ReadTimeout, TransportTimeout)
    assert not issubclass(ReadTimeout, ConnectError)
    # Not the builtin: inside asyncio.timeout() that one means the caller's own deadline.
    assert not issubclass(TransportTimeout, TimeoutError)
    assert ConnectError("x", may_have_arrived=False).may_have_arrived is False


def _closed_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
    return port  # nothing listens there once the probe is closed


async def test_a_refused_connection_is_a_connect_error_caused_by_aiohttps_error(
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.DEBUG)
    retry = RetryPolicy(max_attempts=2, initial_backoff=0.001, max_backoff=0.002, max_time=0.05)
    api = f"http://127.0.0.1:{_closed_port()}"
    async with PrivicoreClient(
        api, username=USERNAME, password=PASSWORD, retry=retry, env=False
    ) as client:
        with pytest.raises(ConnectError) as login:
            await client.devices.list()  # needs a login first: the password's request
        client.tokens.adopt(AuthToken(TOKEN))
        with pytest.raises(ConnectError) as listing:
            await client.devices.list()  # the token's request
    for raised in (login.value, listing.value):
        assert not raised.may_have_arrived
        assert isinstance(raised.__cause__, aiohttp.ClientConnectorError)
        assert raised.__cause__.__traceback__ is None
    assert_no_secret([login.value, listing.value], caplog)


async def test_a_connect_errors_cause_is_scrubbed_of_the_token_it_quoted(
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.DEBUG)

    def refuse(url: URL, **kwargs: Any) -> None:
        sent = kwargs["headers"]["X-DPT-AUTHORIZATION"]
        key = ConnectionKey("privicore.test", 80, False, True, None, None, None)
        raise aiohttp.ClientConnectorError(key, OSError(111, f"refused {sent} ({quote(sent)})"))

    retry = RetryPolicy(max_attempts=1, max_time=0.01)
    with mock_http() as m:
        m.get(API + "/device/retrieve-profile-devices", callback=refuse, repeat=True)
        async with PrivicoreClient(API, token=TOKEN, retry=retry, env=False) as client:
            with pytest.raises(ConnectError) as info:
                await client.devices.list()
    cause = info.value.__cause__
    assert type(cause) is aiohttp.ClientConnectorError
    assert cause.errno == 111
    assert "refused *** (***)" in str(cause)
    for text in (str(cause), repr(cause), repr(cause.args), str(cause.os_error)):
        assert TOKEN not in text
        assert PASSWORD not in text
    assert_no_secret([info.value], caplog)
