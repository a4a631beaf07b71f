"""No secret ever reaches a log line, an exception message or a repr (DESIGN §3, errors).

One flow touches every place a secret could slip out: authenticate with a password, a token in
every header, a retried request, a 401 recovery, a transport error whose text quotes the token,
a rejected command, and a device configuration holding a client secret and a broker password.
"""

from __future__ import annotations

import asyncio
import logging
import traceback
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import aiohttp
import pytest
from aioresponses import CallbackResult

from privicore_async import PollPolicy, PrivicoreClient, RetryPolicy, errors
from privicore_async.http import MemoryReply, MemorySender, MemorySocket
from tests.wire_mock import API, count, mock_http

PASSWORD = "hunter2-secret"
TOKEN = "T-topsecret"  # every token in the flow starts with this
CLIENT_SECRET = "cs-very-secret"
RABBIT_PASS = "mq-very-secret"
SECRETS = (PASSWORD, TOKEN, CLIENT_SECRET, RABBIT_PASS)

CONFIGURATION = {
    "device-identifier": "dev-1",
    "client-id": "cid-1",
    "client-secret": CLIENT_SECRET,
    "rabbit-user": "mq-user",
    "rabbit-pass": RABBIT_PASS,
    "rabbit-host": "mq.test",
    "rabbit-port": 5672,
}

FAST = PollPolicy(initial_delay=0.0, min_interval=0.01, timeout=5)
RETRY = RetryPolicy(max_attempts=3, initial_backoff=0.001, max_backoff=0.002)


def texts_of(value: Any) -> list[str]:
    """Everything a user could print of ``value``: str, repr, and a formatted traceback."""
    texts = [str(value), repr(value)]
    if isinstance(value, BaseException):
        texts.append("".join(traceback.format_exception(value)))
    if isinstance(value, list | tuple):
        for item in value:
            texts += texts_of(item)
    return texts


def assert_no_secret(texts: list[str]) -> None:
    for text in texts:
        for secret in SECRETS:
            assert secret not in text, f"{secret!r} leaked into {text!r}"


def log_texts(caplog: pytest.LogCaptureFixture) -> list[str]:
    formatter = logging.Formatter("%(name)s %(levelname)s %(message)s")
    texts = [caplog.text]
    for record in caplog.records:
        texts += [record.getMessage(), formatter.format(record), repr(record.args)]
    return texts


def in_an_hour() -> str:
    return (datetime.now(UTC) + timedelta(hours=1)).isoformat()


def gate(valid: str, answer: Any) -> Any:
    async def respond(target: Any, **kwargs: Any) -> CallbackResult:
        await asyncio.sleep(0)
        if kwargs["headers"].get("X-DPT-AUTHORIZATION") == valid:
            return CallbackResult(status=200, payload=answer)
        return CallbackResult(status=401, payload={"message": "Unauthorized"})

    return respond


async def test_no_secret_in_logs_errors_or_reprs(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG, logger="privicore_async")
    first, second = f"{TOKEN}-1", f"{TOKEN}-2"
    seen: list[Any] = []
    with mock_http() as m:
        m.post(API + "/profile/authenticate", payload={"authorizationToken": first,
                                                      "expiresAt": in_an_hour()})  # fmt: skip
        m.post(API + "/profile/authenticate", payload={"authorizationToken": second,
                                                      "expiresAt": in_an_hour()})  # fmt: skip
        # A retried read: 503, then a reset whose text quotes the token, then the answer.
        m.get(API + "/device/retrieve-profile-devices", status=503)
        m.get(
            API + "/device/retrieve-profile-devices",
            exception=aiohttp.ClientOSError(104, f"reset; X-DPT-AUTHORIZATION: {first}"),
        )
        m.get(API + "/device/retrieve-profile-devices", payload=[{"deviceIdentifier": "dev-1"}])
        # 401 recovery: the first token is refused, the second accepted.
        m.get(API + "/profile/retrieve-profile-id", callback=gate(second, {"profileId": "p"}),
              repeat=True)  # fmt: skip
        # A command POST that meets a disconnect quoting the token: a TransportError.
        m.post(
            API + "/device/approve-device",
            exception=aiohttp.ServerDisconnectedError(f"lost X-DPT-AUTHORIZATION: {second}"),
        )
        # A rejected command.
        m.post(API + "/device/reject-device", status=202, body='"cmd-rej"')
        m.post(API + "/request-status/cmd-rej", payload="started")
        m.post(API + "/request-status/cmd-rej",
               payload={"command_status": 3, "body": "device.not_pending"})  # fmt: skip
        # The configuration bundle, through the documented fallback.
        m.post(API + "/device/download-device-configuration", status=404)
        m.get(API + "/device/retrieve-device-configuration/dev-1", payload=CONFIGURATION)
        # A wrong password on an explicit authenticate.
        m.post(API + "/profile/authenticate", status=401, payload={"message": "Unauthorized"})

        async with PrivicoreClient(
            api_url=API, username="alice", password=PASSWORD, poll=FAST, retry=RETRY
        ) as client:
            seen += [client, client.tokens, client.devices]
            devices = await client.devices.list()
            seen += [devices, client.tokens.current]
            assert await client.profile.retrieve_profile_id() == "p"
            assert client.tokens.current is not None
            assert client.tokens.current.authorization_token == second
            seen.append(client.tokens.current)

            with pytest.raises(errors.TransportError) as transport_error:
                await client.devices.approve("dev-1")
            seen.append(transport_error.value)

            handle = await client.devices.reject("dev-1")
            with pytest.raises(errors.CommandRejected) as rejected:
                await handle
            seen += [handle, rejected.value]

            config = await client.devices.retrieve_configuration("dev-1")
            assert config.client_secret == CLIENT_SECRET  # the value is there, only hidden
            assert config.rabbit_pass == RABBIT_PASS
            seen.append(config)

            with pytest.raises(errors.AuthenticationError) as bad_login:
                await client.profile.authenticate("alice", f"{PASSWORD}-wrong")
            seen += [bad_login.value, client]

    assert count(m, "GET", "/device/retrieve-profile-devices") == 3
    assert count(m, "GET", "/profile/retrieve-profile-id") == 2
    assert count(m, "POST", "/profile/authenticate") == 3

    # The flow did log: retries, the failure and the authentications are visible ...
    messages = [record.getMessage() for record in caplog.records]
    assert any("retrying" in text for text in messages)
    assert any("failed after 1 attempt" in text for text in messages)
    assert any("authenticating as alice" in text for text in messages)
    assert any("-> 401" in text for text in messages)
    # ... and the redaction marker shows where a secret was removed.
    assert "***" in str(transport_error.value)

    texts: list[str] = log_texts(caplog)
    for value in seen:
        texts += texts_of(value)
    assert_no_secret(texts)


async def test_invalid_password_argument_is_not_echoed(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG, logger="privicore_async")
    with mock_http() as m:
        async with PrivicoreClient(api_url=API, token=TOKEN, poll=FAST) as client:
            with pytest.raises(errors.InvalidArgumentError) as info:
                await client.profile.register(PASSWORD, 12345)  # type: ignore[arg-type]
    assert m.requests == {}
    assert_no_secret([*texts_of(info.value), *log_texts(caplog)])


@pytest.mark.parametrize(
    ("path", "answer", "call"),
    [
        (
            "/device/download-device-configuration",
            [{"client-id": "cid-1", "client-secret": CLIENT_SECRET}],
            lambda c: c.devices.retrieve_configuration("dev-1"),
        ),
        (
            "/profile/authenticate",
            [f"{TOKEN}-3"],
            lambda c: c.profile.authenticate("alice", "pw"),
        ),
    ],
    ids=["configuration", "token"],
)
async def test_malformed_secret_answer_is_not_quoted(path: str, answer: Any, call: Any) -> None:
    with mock_http() as m:
        m.post(API + path, payload=answer)
        async with PrivicoreClient(api_url=API, token="T-x", poll=FAST) as client:
            with pytest.raises(errors.ProtocolError) as info:
                await call(client)
    assert_no_secret(texts_of(info.value))


async def test_wire_response_repr_hides_secret_answers() -> None:
    with mock_http() as m:
        m.post(API + "/device/download-device-configuration", payload=CONFIGURATION)
        async with PrivicoreClient(api_url=API, token="T-x", poll=FAST) as client:
            response = await client.call(
                "devices.retrieve_configuration", {"device_identifier": "dev-1"}
            )
    assert_no_secret([repr(response)])


# -- the loggers, and the PRIVICORE_LOG switch -----------------------------------------------------


async def test_records_come_from_child_loggers(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG, logger="privicore_async")
    sockets: list[MemorySocket] = []

    def open_socket(url: str) -> MemorySocket:
        socket = MemorySocket()
        socket.push('{"status": 200, "data": {"channelId": "ch-1"}}')
        sockets.append(socket)
        return socket

    sender = MemorySender(lambda request: MemoryReply(200, b"[]"), sockets=open_socket)
    client = PrivicoreClient(
        API, token=TOKEN, ws_url="ws://privicore.test/ws", sender=sender, env=False
    )
    async with client:
        await client.devices.list()
        assert client.acks is not None
        assert await client.acks.wait_joined(1.0)
    names = {record.name for record in caplog.records}
    assert {"privicore_async.transport", "privicore_async.acks"} <= names
    assert all(name.startswith("privicore_async") for name in names)


@pytest.fixture
def bare_logging(monkeypatch: pytest.MonkeyPatch) -> Callable[[], logging.Logger]:
    """Call it in the test: no handler anywhere (pytest adds its own to the root logger at
    each phase) and the SDK's logger as it ships; undone after the test."""

    def bare() -> logging.Logger:
        sdk = logging.getLogger("privicore_async")
        monkeypatch.setattr(logging.getLogger(), "handlers", [])
        monkeypatch.setattr(sdk, "handlers", [])
        monkeypatch.setattr(sdk, "level", logging.NOTSET)
        return sdk

    return bare


def _memory_client(**kwargs: Any) -> PrivicoreClient:
    sender = MemorySender(lambda request: MemoryReply(200, b"[]"))
    return PrivicoreClient(API, token=TOKEN, sender=sender, **kwargs)


async def test_privicore_log_debug_writes_the_sdks_records_to_stderr(
    bare_logging: Callable[[], logging.Logger],
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    sdk = bare_logging()
    monkeypatch.setenv("PRIVICORE_LOG", "DEBUG")
    client = _memory_client()
    _memory_client()  # read at each construction, but one handler only
    assert sdk.level == logging.DEBUG
    assert len(sdk.handlers) == 1
    async with client:
        await client.devices.list()
    err = capsys.readouterr().err
    assert "privicore_async.transport DEBUG GET /device/retrieve-profile-devices -> 200" in err
    assert TOKEN not in err


def test_the_applications_logging_setup_wins(
    bare_logging: Callable[[], logging.Logger], monkeypatch: pytest.MonkeyPatch
) -> None:
    sdk = bare_logging()
    monkeypatch.setenv("PRIVICORE_LOG", "debug")
    mine = logging.StreamHandler()
    monkeypatch.setattr(logging.getLogger(), "handlers", [mine])
    sdk.setLevel(logging.WARNING)
    _memory_client()
    assert sdk.level == logging.WARNING  # the level the application chose
    assert sdk.handlers == []  # the root's handler shows the records already


def test_privicore_log_is_not_read_with_env_false(
    bare_logging: Callable[[], logging.Logger], monkeypatch: pytest.MonkeyPatch
) -> None:
    sdk = bare_logging()
    monkeypatch.setenv("PRIVICORE_LOG", "debug")
    _memory_client(env=False)
    assert sdk.level == logging.NOTSET
    assert sdk.handlers == []


def test_an_unknown_privicore_log_level_is_refused(
    bare_logging: Callable[[], logging.Logger], monkeypatch: pytest.MonkeyPatch
) -> None:
    sdk = bare_logging()
    monkeypatch.setenv("PRIVICORE_LOG", "verbose")
    with pytest.raises(errors.InvalidArgumentError, match="PRIVICORE_LOG"):
        _memory_client()
    monkeypatch.setenv("PRIVICORE_LOG", "")
    _memory_client()
    assert sdk.handlers == []
