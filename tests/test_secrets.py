"""No secret is reachable from what a failure leaves behind (CONTRIBUTING, "Secrets").

``tests/test_logging.py`` follows one flow with a password, profile tokens and a device
configuration. This file covers every kind of secret the SDK handles, each through the
failures that involve it:

========================  ===================================================================
secret                    failures driven
========================  ===================================================================
password                  a 401 login, a failed shared login, a bad username beside it, a
                          URL with user-info, a rejected password change, provisioning
profile token             every ``Failure`` kind of a sender whose detail quotes it (with a
                          journal recording the command), aiohttp exceptions that quote it,
                          a 401, a command that times out, a refused WebSocket join (the
                          join frame carries it), a bad token value
client secret             a transport failure quoting ``Authorization: Basic``, a 401, a
                          malformed answer, a single-use configuration read twice, bad values
access / refresh token    a refresh that fails (transport, 401, malformed), bad values
data key, key pair        reprs, a failing ``vault.store`` / ``store_many``, bad hex, a
                          wrong key, a failing ``profile.provision``
download / upload token   the ``?auth=`` of ``data_tokens.download`` / ``upload``: a failure
                          quoting the URL (as aiohttp's connect timeout does), an outage, a
                          401, bad values
========================  ===================================================================

After each flow the raised exceptions are walked: ``str``, ``repr``, the formatted traceback,
``args``, ``__cause__``, ``__context__``, ``__notes__``, sub-exceptions and ``vars()``,
recursively, with the ``repr`` of everything reachable that way; so are the reprs of the
client, its token keeper, the prepared requests, wire responses, handles, results and journal
entries, and every log record captured at DEBUG. No secret may appear there in any form it
takes on the wire: as is, percent-encoded (each way ``urllib`` and ``yarl`` encode), JSON- or
``repr``-escaped, base64 (the ``Basic`` pair), hex; nor may its distinctive core.
"""

from __future__ import annotations

import asyncio
import base64
import json
import logging
import re
import traceback
from collections.abc import Awaitable, Callable, Iterable
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import quote, quote_plus

import aiohttp
import pytest
from aioresponses import CallbackResult
from yarl import URL

from privicore_async import PollPolicy, PrivicoreClient, RetryPolicy, errors
from privicore_async.crypto import DataKey, KeyPair, decrypt, encrypt
from privicore_async.http import (
    Failure,
    MemoryReply,
    MemorySender,
    MemorySocket,
    PreparedRequest,
    SendError,
)
from privicore_async.journal.memory import MemoryJournal
from privicore_async.models import AuthToken, OAuthTokens
from privicore_async.results import StoreRequest
from tests.wire_mock import API, mock_http

# -- the secrets ---------------------------------------------------------------------------------
# Each carries a core ("..CORE") that no legitimate text contains: finding the core anywhere
# means some part of a secret escaped, whatever encoding it was in. The characters around the
# cores are those that change under form, percent, JSON or base64 encoding.

USERNAME = "alice"
PASSWORD = "pw PWCORE&é=+/?1"
NEW_PASSWORD = "pw PWCORE-new=2"
TOKEN = "T-TKCORE-1"
TOKEN_2 = "T-TKCORE-2"
CLIENT_ID = "cid-1"
CLIENT_SECRET = "cs-CSCORE/+=3"
ACCESS_TOKEN = "AT-ATCORE-4"
REFRESH_TOKEN = "RT-RTCORE-5"
NEW_ACCESS_TOKEN = "AT-ATCORE-6"
NEW_REFRESH_TOKEN = "RT-RTCORE-7"
TEMPORARY_TOKEN = "tmp-TMCORE-8"
UPLOAD_TOKEN = "up-UPCORE-9"
DOWNLOAD_TOKEN = "dl-DLCORE-10"
# Legal as a token (printable, no whitespace), and encoded differently by yarl's query
# quoting (":" kept, "+" and "é" escaped) than by any of urllib's quote functions.
DOWNLOAD_TOKEN_URLISH = "dl:DLCORE+é"
DATA_KEY_BYTES = b"DKCORE" + bytes(range(26))
PRIVATE_KEY_BYTES = b"PKCORE" + bytes(range(100, 126))
DATA_KEY = DataKey(DATA_KEY_BYTES)
KEY_PAIR = KeyPair.from_private_hex(PRIVATE_KEY_BYTES.hex())
CORES = ("PWCORE", "TKCORE", "CSCORE", "ATCORE", "RTCORE", "TMCORE", "UPCORE", "DLCORE")
BYTE_CORES = (b"DKCORE", b"PKCORE")

UPSTREAM = "https://up.privicore.test"
DOWNSTREAM = "https://down.privicore.test"
FAST = PollPolicy(initial_delay=0.0, min_interval=0.01, max_interval=0.02, timeout=5)
RETRY = RetryPolicy(max_attempts=2, initial_backoff=0.001, max_backoff=0.002, max_time=0.1)


def _yarl_query(secret: str) -> str:
    return URL("http://h.test/").with_query({"auth": secret}).raw_query_string[len("auth=") :]


def _yarl_path(secret: str) -> str:
    return URL("http://h.test/").joinpath(secret).raw_path[1:]


def text_forms(secret: str) -> set[str]:
    return {
        secret,
        quote(secret, safe=""),
        quote(secret),
        quote_plus(secret),
        _yarl_query(secret),
        _yarl_path(secret),
        json.dumps(secret)[1:-1],
        repr(secret)[1:-1],
        secret.encode("unicode_escape").decode(),
        base64.b64encode(secret.encode()).decode(),
    }


def byte_forms(secret: bytes) -> set[str]:
    return {
        secret.hex(),
        secret.hex().upper(),
        base64.b64encode(secret).decode(),
        base64.urlsafe_b64encode(secret).decode(),
        repr(secret)[2:-1],
        secret.decode("latin-1"),
    }


TEXT_SECRETS = {
    "password": PASSWORD,
    "new password": NEW_PASSWORD,
    "token": TOKEN,
    "second token": TOKEN_2,
    "client secret": CLIENT_SECRET,
    "Basic pair": base64.b64encode(f"{CLIENT_ID}:{CLIENT_SECRET}".encode()).decode(),
    "access token": ACCESS_TOKEN,
    "refresh token": REFRESH_TOKEN,
    "new access token": NEW_ACCESS_TOKEN,
    "new refresh token": NEW_REFRESH_TOKEN,
    "temporary token": TEMPORARY_TOKEN,
    "upload token": UPLOAD_TOKEN,
    "download token": DOWNLOAD_TOKEN,
    "URL-ish download token": DOWNLOAD_TOKEN_URLISH,
}
SECRET_FORMS: list[tuple[str, str]] = [
    *((name, form) for name, secret in TEXT_SECRETS.items() for form in text_forms(secret)),
    *(("data key", form) for form in byte_forms(DATA_KEY_BYTES)),
    *(("private key", form) for form in byte_forms(PRIVATE_KEY_BYTES)),
    *(("a secret's core", core) for core in CORES),
    *(("a key's core", form) for core in BYTE_CORES for form in byte_forms(core)),
]


# -- walking what a failure leaves behind ---------------------------------------------------------


def reachable_texts(*roots: object) -> list[str]:
    """``str``/``repr`` of the roots and everything reachable from exceptions among them.

    From an exception: ``args``, ``__cause__``, ``__context__``, ``__notes__``, sub-exceptions
    of a group and every attribute in ``vars()``; containers are walked item by item; the
    formatted traceback is included. Other objects contribute their ``str`` and ``repr``.
    """
    texts: list[str] = []
    keep: list[object] = []  # ids stay unique while the objects are alive
    seen: set[int] = set()
    todo = list(roots)
    while todo:
        item = todo.pop()
        if item is None or id(item) in seen:
            continue
        seen.add(id(item))
        keep.append(item)
        texts += [repr(item), str(item)]
        if isinstance(item, BaseException):
            texts.append("".join(traceback.format_exception(item)))
            todo += [item.__cause__, item.__context__, *item.args]
            todo += getattr(item, "__notes__", ())
            if isinstance(item, BaseExceptionGroup):
                todo += item.exceptions
            todo += vars(item).values()
        elif isinstance(item, dict):
            todo += [*item.keys(), *item.values()]
        elif isinstance(item, list | tuple | set | frozenset):
            todo += item
    return texts


def log_texts(caplog: pytest.LogCaptureFixture) -> list[str]:
    formatter = logging.Formatter("%(name)s %(levelname)s %(message)s")
    texts = [caplog.text]
    raised: list[BaseException] = []
    for record in caplog.records:
        texts += [record.getMessage(), formatter.format(record), repr(record.args)]
        if record.exc_info and record.exc_info[1] is not None:
            raised.append(record.exc_info[1])
    return texts + reachable_texts(*raised)


def assert_no_secret(
    seen: Iterable[object], caplog: pytest.LogCaptureFixture | None = None
) -> None:
    texts = reachable_texts(*seen)
    if caplog is not None:
        texts += log_texts(caplog)
    leaks: dict[tuple[str, str], list[str]] = {}
    for text in texts:
        for name, form in SECRET_FORMS:
            if form in text:
                leaks.setdefault((name, form), []).append(
                    text[max(0, text.find(form) - 100) :][:220]
                )
    report = [
        f"the {name} as {form!r}, {len(places)} times, e.g. in {places[0]!r}"
        for (name, form), places in sorted(leaks.items())
    ]
    assert not leaks, "secrets leaked:\n" + "\n".join(report)


def test_the_walk_finds_a_secret_wherever_it_hides() -> None:
    """The checks themselves: a secret in a context's attribute, in a group, in a note."""
    inner = ValueError("no secret here")
    inner.detail = f"X-DPT-AUTHORIZATION: {quote(TOKEN)}"  # type: ignore[attr-defined]
    outer = errors.ProtocolError("outer")
    outer.__context__ = inner
    for hidden in (
        outer,
        ExceptionGroup("group", [ValueError(DATA_KEY_BYTES)]),
        RuntimeError(f"token {base64.b64encode(TOKEN.encode()).decode()}"),
        [{"nested": (ACCESS_TOKEN,)}],
        DATA_KEY.to_hex(),
        f"?auth={_yarl_query(DOWNLOAD_TOKEN_URLISH)}",
    ):
        with pytest.raises(AssertionError, match="secrets leaked"):
            assert_no_secret([hidden])
    noted = errors.PrivicoreError("noted")
    noted.add_note(f"Basic {TEXT_SECRETS['Basic pair']}")
    with pytest.raises(AssertionError, match="Basic pair"):
        assert_no_secret([noted])


# -- helpers -------------------------------------------------------------------------------------


def in_an_hour() -> str:
    return (datetime.now(UTC) + timedelta(hours=1)).isoformat()


def token_answer(token: str) -> MemoryReply:
    body = {"authorizationToken": token, "expiresAt": in_an_hour()}
    return MemoryReply(200, json.dumps(body).encode())


def quoting(request: PreparedRequest) -> str:
    """What a sender's failure text may quote: the request line and every header."""
    head = "; ".join(f"{name}: {value}" for name, value in request.headers.items())
    return f"{request.method} {request.url} [{head}]"


Handler = Callable[[PreparedRequest], MemoryReply | Awaitable[MemoryReply]]


def memory_client(handler: Handler, **kwargs: Any) -> tuple[PrivicoreClient, MemorySender]:
    sender = MemorySender(handler, sockets=kwargs.pop("sockets", None))
    kwargs.setdefault("poll", FAST)
    kwargs.setdefault("retry", RETRY)
    return PrivicoreClient(API, sender=sender, **kwargs), sender


def reprs_of(client: PrivicoreClient, sender: MemorySender) -> list[object]:
    """What a user (or a debugger, or an error tracker) prints of a client."""
    shown: list[object] = [
        client,
        client.tokens,
        client.tokens.current,
        client.transport,
        client.devices,
        client.acks,
        *sender.requests,  # PreparedRequest: its headers, body and URL stay out of repr
    ]
    return [repr(value) for value in shown]


@pytest.fixture(autouse=True)
def _debug_logs(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)  # every logger, the SDK's and its libraries'


# -- the profile token ---------------------------------------------------------------------------

FAILURE_CASES = [
    # (failure, route the sender fails, the call, the error the call raises)
    (Failure.LOST, "devices.approve", lambda c: c.devices.approve("dev-1"), errors.TransportError),
    (Failure.NOT_SENT, "devices.list", lambda c: c.devices.list(), errors.TransportError),
    (Failure.GARBLED, "devices.list", lambda c: c.devices.list(), errors.ProtocolError),
    (Failure.INVALID, "storage.sync_device", lambda c: c.storage.sync_device("d"),
     errors.TransportError),
]  # fmt: skip


@pytest.mark.parametrize(
    ("failure", "route", "call", "raised"), FAILURE_CASES, ids=[c[0].value for c in FAILURE_CASES]
)
async def test_a_sender_failure_quoting_the_token_reaches_no_error_log_or_journal(
    caplog: pytest.LogCaptureFixture,
    failure: Failure,
    route: str,
    call: Callable[[PrivicoreClient], Any],
    raised: type[errors.PrivicoreError],
) -> None:
    def handler(request: PreparedRequest) -> MemoryReply:
        if request.route == route:
            raise SendError(failure, f"failed: {quoting(request)} token={TOKEN}")
        if request.route == "profile.authenticate":
            return token_answer(TOKEN)
        return MemoryReply(200, b"[]")

    journal = MemoryJournal()
    client, sender = memory_client(handler, token=TOKEN, journal=journal)
    seen: list[object] = []
    async with client:
        response = await client.call("profile.authenticate", {"username": "u", "password": "p"})
        seen.append(response)
        with pytest.raises(raised) as info:
            await call(client)
        entries = await client.command_service.entries()
        seen += [info.value, entries]
        seen += reprs_of(client, sender)
    if failure is not Failure.INVALID:  # the detail was quoted, with the token taken out
        assert "***" in str(info.value)
    if route == "devices.approve":
        assert [entry.kind for entry in entries] == [route]
    assert_no_secret(seen, caplog)


@pytest.mark.parametrize(
    ("method", "path", "exception"),
    [
        ("POST", "/device/approve-device", aiohttp.ServerTimeoutError),
        ("POST", "/device/approve-device", aiohttp.ClientPayloadError),
        ("POST", "/device/approve-device", aiohttp.ClientConnectionResetError),
        ("GET", "/device/retrieve-profile-devices", aiohttp.SocketTimeoutError),
        ("GET", "/device/retrieve-profile-devices", aiohttp.ConnectionTimeoutError),
    ],
)
async def test_an_aiohttp_exception_quoting_the_token_reaches_no_error_or_log(
    caplog: pytest.LogCaptureFixture, method: str, path: str, exception: type[Exception]
) -> None:
    def fail(url: URL, **kwargs: Any) -> CallbackResult:
        sent = kwargs["headers"]["X-DPT-AUTHORIZATION"]
        raise exception(f"while talking to {url}: X-DPT-AUTHORIZATION={sent} ({quote(sent)})")

    seen: list[object] = []
    with mock_http() as m:
        m.add(API + path, method, callback=fail, repeat=True)
        async with PrivicoreClient(API, token=TOKEN, poll=FAST, retry=RETRY) as client:
            call = client.devices.list() if method == "GET" else client.devices.approve("d")
            with pytest.raises(errors.TransportError) as info:
                await call
            seen += [info.value, client, client.tokens]
    assert "***" in str(info.value)
    assert_no_secret(seen, caplog)


async def test_a_refused_token_and_a_command_whose_status_reads_fail(
    caplog: pytest.LogCaptureFixture,
) -> None:
    """A 401 with no way to log in again; a command whose status reads all fail (their
    detail quoting the request) until its deadline passes."""

    def handler(request: PreparedRequest) -> MemoryReply:
        if request.route == "devices.list":
            return MemoryReply(401, b'{"message": "Unauthorized"}')
        if request.route == "devices.reject":
            return MemoryReply(202, b'"cmd-1"')
        raise SendError(Failure.LOST, f"status read lost: {quoting(request)}")

    policy = PollPolicy(initial_delay=0.0, min_interval=0.01, max_interval=0.02, timeout=0.2)
    client, sender = memory_client(handler, token=TOKEN, poll=policy)
    seen: list[object] = []
    async with client:
        with pytest.raises(errors.AuthenticationError) as refused:
            await client.devices.list()
        handle = await client.devices.reject("dev-1")
        with pytest.raises(errors.PrivicoreError) as unsettled:
            await handle
        seen += [refused.value, unsettled.value, handle, *reprs_of(client, sender)]
    assert isinstance(unsettled.value, errors.CommandTimeout)
    assert sum(r.route == "utility.command_status" for r in sender.requests) >= 2
    assert_no_secret(seen, caplog)


async def test_a_refused_websocket_join(caplog: pytest.LogCaptureFixture) -> None:
    """The join frame carries the token; a 401 to it is logged and retried, never quoted."""
    sockets: list[MemorySocket] = []

    def open_socket(url: str) -> MemorySocket:
        socket = MemorySocket()
        socket.push(json.dumps({"status": 401, "data": {"message": f"bad token {TOKEN}?"}}))
        sockets.append(socket)
        return socket

    client, sender = memory_client(
        lambda request: token_answer(TOKEN_2),
        token=TOKEN,
        ws_url="ws://privicore.test/ws",
        sockets=open_socket,
    )
    async with client:
        for _ in range(100):
            if len(sockets) >= 2:
                break
            await asyncio.sleep(0.01)
        seen = [client.acks, *reprs_of(client, sender)]
    assert len(sockets) >= 2, "the channel did not try again"
    assert TOKEN in sockets[0].sent[0]  # the join really carried it
    assert_no_secret(seen, caplog)


@pytest.mark.parametrize("bad", [f"{TOKEN}\r\n", f" {TOKEN}", f"{TOKEN}\x00", f"{TOKEN} x"])
async def test_a_bad_token_value_is_refused_without_quoting_it(
    caplog: pytest.LogCaptureFixture, bad: str
) -> None:
    with pytest.raises(errors.InvalidArgumentError) as at_construction:
        PrivicoreClient(API, token=bad, sender=MemorySender(lambda request: MemoryReply()))
    client, sender = memory_client(lambda request: MemoryReply(202), token=TOKEN)
    async with client:
        with pytest.raises(errors.InvalidArgumentError) as as_access_token:
            await client.oauth.retrieve_scope(bad)
        with pytest.raises(errors.InvalidArgumentError) as as_download_token:
            await client.data_tokens.download(bad)
    assert sender.requests == []
    assert_no_secret([at_construction.value, as_access_token.value, as_download_token.value])


# -- the password ----------------------------------------------------------------------------------


async def test_a_wrong_password_shared_by_concurrent_calls(
    caplog: pytest.LogCaptureFixture,
) -> None:
    """Three calls need a login; the one login is refused and all three get its error."""

    async def handler(request: PreparedRequest) -> MemoryReply:
        assert request.route == "profile.authenticate"
        await asyncio.sleep(0.01)  # the other calls arrive while the login is in flight
        return MemoryReply(401, b'{"message": "Invalid credentials"}')

    client, sender = memory_client(handler, username=USERNAME, password=PASSWORD)
    async with client:
        failures = await asyncio.gather(
            client.devices.list(),
            client.storage.list(),
            client.profile.retrieve_profile_id(),
            return_exceptions=True,
        )
        seen: list[object] = [*failures, *reprs_of(client, sender)]
    assert all(isinstance(f, errors.AuthenticationError) for f in failures)
    assert len(sender.requests) == 1
    assert_no_secret(seen, caplog)


async def test_password_flows_that_fail(caplog: pytest.LogCaptureFixture) -> None:
    """A login lost in transit, a bad username next to the password, a rejected password
    change, a password in the URL's user-info."""

    def handler(request: PreparedRequest) -> MemoryReply:
        if request.route == "profile.authenticate":
            raise SendError(Failure.LOST, f"reset: {quoting(request)}")
        if request.route == "profile.change_password":
            return MemoryReply(202, b'"cmd-pw"')
        if request.route == "utility.command_status":
            return MemoryReply(200, b'{"command_status": 3, "body": "profile.wrong_password"}')
        return MemoryReply(404)

    client, sender = memory_client(handler, username=USERNAME, password=PASSWORD)
    seen: list[object] = []
    async with client:
        with pytest.raises(errors.TransportError) as lost:
            await client.profile.authenticate(USERNAME, PASSWORD)
        with pytest.raises(errors.InvalidArgumentError) as bad_username:
            await client.profile.authenticate(f"{USERNAME}\n", PASSWORD)
        with pytest.raises(errors.InvalidArgumentError) as bad_password:
            await client.profile.authenticate(USERNAME, f"{PASSWORD}\x00")
        client.tokens.adopt(AuthToken(TOKEN, datetime.now(UTC) + timedelta(hours=1)))
        handle = await client.profile.change_password(PASSWORD, NEW_PASSWORD)
        with pytest.raises(errors.CommandRejected) as rejected:
            await handle
        seen += [lost.value, bad_username.value, bad_password.value, handle, rejected.value]
        seen += reprs_of(client, sender)
    for url in (
        f"https://{USERNAME}:{PASSWORD}@privicore.test",
        f"https://{USERNAME}:{quote(PASSWORD, safe='')}@privicore.test",
        f"https://{USERNAME}:{quote(PASSWORD, safe='')}@privicore.test:port",
    ):
        with pytest.raises(errors.InvalidArgumentError) as in_url:
            PrivicoreClient(url, username=USERNAME, password=PASSWORD)
        seen.append(in_url.value)
    assert_no_secret(seen, caplog)


# -- the client secret, access and refresh tokens (OAuth) ------------------------------------------


async def test_client_secret_and_oauth_tokens_in_failing_flows(
    caplog: pytest.LogCaptureFixture,
) -> None:
    answers: dict[str, list[Any]] = {
        "oauth.obtain_access_token": [
            SendError(Failure.LOST, "{quoting}"),
            MemoryReply(401, b'{"message": "invalid client"}'),
            MemoryReply(
                200,
                json.dumps(
                    {"token": ACCESS_TOKEN, "refreshToken": REFRESH_TOKEN, "expiresAt": "soon"}
                ).encode(),
            ),
        ],
        "oauth.refresh_access_token": [
            SendError(Failure.LOST, "{quoting}"),
            MemoryReply(401, b'{"message": "refresh token revoked"}'),
            MemoryReply(200, json.dumps({"token": NEW_ACCESS_TOKEN, "refreshToken": 5}).encode()),
            MemoryReply(
                200,
                json.dumps({"token": NEW_ACCESS_TOKEN, "refreshToken": NEW_REFRESH_TOKEN}).encode(),
            ),
        ],
        "oauth.retrieve_configuration": [
            MemoryReply(
                200,
                json.dumps(
                    {"clientId": CLIENT_ID, "clientSecret": CLIENT_SECRET, "applicationId": "a"}
                ).encode(),
            ),
            MemoryReply(422, b'{"errors": {"applicationId": ["already read"]}}'),
            MemoryReply(200, json.dumps({"clientSecret": CLIENT_SECRET}).encode()),
        ],
    }

    def handler(request: PreparedRequest) -> MemoryReply:
        answer = answers[request.route].pop(0)
        if isinstance(answer, SendError):
            raise SendError(answer.failure, f"lost: {quoting(request)}")
        assert isinstance(answer, MemoryReply)
        return answer

    client, sender = memory_client(handler, token=TOKEN)
    seen: list[object] = []
    tokens = OAuthTokens(ACCESS_TOKEN, REFRESH_TOKEN)
    async with client:
        for expected in (errors.TransportError, errors.AuthenticationError, errors.ProtocolError):
            with pytest.raises(expected) as obtain:
                await client.oauth.obtain_access_token(
                    "code-1", client_id=CLIENT_ID, client_secret=CLIENT_SECRET
                )
            seen.append(obtain.value)
        assert "***" in str(seen[0])  # "Authorization: Basic <pair>" was quoted, then redacted
        for expected in (errors.TransportError, errors.AuthenticationError):
            with pytest.raises(expected) as refresh:
                await client.oauth.refresh_access_token(tokens)
            seen.append(refresh.value)
        assert "***" in str(seen[-2])  # "Authorization: Basic <access token>"
        refreshed = await client.oauth.refresh_access_token(tokens)  # refreshToken 5: "5"
        seen.append(refreshed)
        refreshed = await client.oauth.refresh_access_token(ACCESS_TOKEN, REFRESH_TOKEN)
        assert refreshed.refresh_token == NEW_REFRESH_TOKEN  # the value is there, only hidden
        seen.append(refreshed)
        configuration = await client.oauth.retrieve_configuration("a")
        assert configuration.client_secret == CLIENT_SECRET
        seen.append(configuration)
        for expected in (errors.ValidationError, errors.ProtocolError):
            with pytest.raises(expected) as again:
                await client.oauth.retrieve_configuration("a")
            seen.append(again.value)
        bad_calls = [
            lambda: client.oauth.obtain_access_token(
                "code-1", client_id="cid:1", client_secret=CLIENT_SECRET
            ),
            lambda: client.oauth.obtain_access_token(
                "code-1", client_id=CLIENT_ID, client_secret=f"{CLIENT_SECRET}\n"
            ),
            lambda: client.oauth.refresh_access_token(f"{ACCESS_TOKEN} ", REFRESH_TOKEN),
            lambda: client.oauth.refresh_access_token(ACCESS_TOKEN, f"{REFRESH_TOKEN}\r\n"),
            lambda: client.oauth.refresh_access_token(OAuthTokens(ACCESS_TOKEN)),
        ]
        before = len(sender.requests)
        for bad in bad_calls:
            with pytest.raises(errors.InvalidArgumentError) as refused:
                await bad()
            seen.append(refused.value)
        assert len(sender.requests) == before
        seen += reprs_of(client, sender)
    assert all(not pending for pending in answers.values())
    assert_no_secret(seen, caplog)


# -- the ?auth= of downloads and uploads -----------------------------------------------------------


def _link(base: str, token: str) -> str:
    return str(URL(base + "/").with_query({"auth": token, "name": "a.bin"}))


@pytest.mark.parametrize("token", [DOWNLOAD_TOKEN, DOWNLOAD_TOKEN_URLISH], ids=["plain", "urlish"])
@pytest.mark.parametrize("link", [True, False], ids=["link", "bare"])
async def test_a_download_token_in_a_failing_download(
    caplog: pytest.LogCaptureFixture, token: str, link: bool
) -> None:
    """aiohttp's connect timeout reads "Connection timeout to host {req.url}" (client.py):
    the full URL, query and all; the sender here quotes it the same way."""
    answers: list[SendError | MemoryReply] = [
        SendError(Failure.LOST, "ServerDisconnectedError: {url}"),
        SendError(Failure.NOT_SENT, "ConnectionTimeoutError: Connection timeout to host {url}"),
        MemoryReply(401, b'{"message": "token used"}'),
    ]
    answer = answers[0]

    def handler(request: PreparedRequest) -> MemoryReply:
        assert request.route == "data_tokens.download"
        if isinstance(answer, SendError):
            raise SendError(answer.failure, answer.detail.format(url=request.url))
        return answer

    client, sender = memory_client(handler, token=TOKEN, downstream_url=DOWNSTREAM)
    target = _link(DOWNSTREAM, token) if link else token
    seen: list[object] = []
    async with client:
        expected = (errors.TransportError, errors.TransportError, errors.AuthenticationError)
        for answer, raised in zip(answers, expected, strict=True):  # noqa: B007 (read by handler)
            with pytest.raises(raised) as info:
                await client.data_tokens.download(target)
            seen.append(info.value)
        seen += reprs_of(client, sender)
    assert URL(sender.requests[0].url).query["auth"] == token  # it really went as ?auth=
    assert_no_secret(seen, caplog)
    assert "***" in str(seen[0])


@pytest.mark.parametrize("token", [UPLOAD_TOKEN, DOWNLOAD_TOKEN_URLISH], ids=["plain", "urlish"])
async def test_an_upload_token_in_a_failing_upload(
    caplog: pytest.LogCaptureFixture, token: str
) -> None:
    def handler(request: PreparedRequest) -> MemoryReply:
        raise SendError(Failure.LOST, f"ClientOSError: [Errno 104] reset; {request.url}")

    client, sender = memory_client(handler, token=TOKEN, upstream_url=UPSTREAM)
    seen: list[object] = []
    async with client:
        for stream in (_link(UPSTREAM, token), token):
            with pytest.raises(errors.TransportError) as info:
                await client.data_tokens.upload(stream, b"\x00" * 64)
            seen.append(info.value)
        with pytest.raises(errors.InvalidArgumentError) as no_auth:
            await client.data_tokens.upload(f"{UPSTREAM}/?name={token}", b"\x00")
        seen.append(no_auth.value)
        seen += reprs_of(client, sender)
    assert_no_secret(seen, caplog)


async def test_a_download_through_aiohttp_that_times_out_connecting(
    caplog: pytest.LogCaptureFixture,
) -> None:
    """The real sender and aiohttp's own exception, quoting the URL it was given."""

    def fail(url: URL, **kwargs: Any) -> CallbackResult:
        raise aiohttp.ConnectionTimeoutError(f"Connection timeout to host {url}")

    seen: list[object] = []
    with mock_http() as m:
        m.get(re.compile(r"^https://down\.privicore\.test/.*"), callback=fail, repeat=True)
        async with PrivicoreClient(API, token=TOKEN, poll=FAST, retry=RETRY) as client:
            with pytest.raises(errors.TransportError) as info:
                await client.data_tokens.download(_link(DOWNSTREAM, DOWNLOAD_TOKEN))
            seen += [info.value, client]
    assert "***" in str(info.value)
    assert_no_secret(seen, caplog)


# -- the data key and the key pair -----------------------------------------------------------------


async def test_data_key_in_failing_stores(caplog: pytest.LogCaptureFixture) -> None:
    """The key seals the payload locally; a store that fails after the temporary token
    and the stream token arrived leaves none of the three anywhere."""

    def handler(request: PreparedRequest) -> MemoryReply:
        if request.route == "data_tokens.reserve_token_space":
            return MemoryReply(202, b'"res-1"')
        if request.route == "utility.command_status":
            return MemoryReply(200, b'"succeeded"')
        if request.route == "data_tokens.retrieve_temporary_token":
            body = {"token": TEMPORARY_TOKEN, "stream": UPLOAD_TOKEN}
            return MemoryReply(200, json.dumps(body).encode())
        raise SendError(Failure.LOST, f"lost: {quoting(request)}")

    client, sender = memory_client(handler, token=TOKEN)
    seen: list[object] = [DATA_KEY, KEY_PAIR]
    async with client:
        with pytest.raises(errors.TransportError) as stored:
            await client.vault.store(b"plaintext", DATA_KEY, context="c", file_name="a.txt")
        items = [StoreRequest(b"x" * n, DATA_KEY, "c", f"f{n}.bin") for n in (1, 2)]
        report = await client.vault.store_many(items, concurrency=2)
        assert [line.ok for line in report.outcomes] == [False, False]
        seen += [stored.value, report, *report.outcomes, *items]
        seen += [line.error for line in report.outcomes]
        seen += reprs_of(client, sender)
    assert_no_secret(seen, caplog)


def test_data_key_and_key_pair_values_and_errors() -> None:
    seen: list[object] = [DATA_KEY, KEY_PAIR, str(DATA_KEY), str(KEY_PAIR)]
    for bad in (DATA_KEY.to_hex()[:-2] + "zz", DATA_KEY.to_hex()[:-2], DATA_KEY.to_hex() + "00"):
        with pytest.raises(ValueError, match="a data key is") as from_hex:
            DataKey.from_hex(bad)
        seen.append(from_hex.value)
    with pytest.raises(ValueError, match="a data key is") as short:
        DataKey(DATA_KEY_BYTES[:-1])
    seen.append(short.value)
    for bad in (KEY_PAIR.private_hex()[:-2] + "zz", KEY_PAIR.private_hex()[:-2]):
        with pytest.raises(ValueError, match="X25519 private key") as private:
            KeyPair.from_private_hex(bad)
        seen.append(private.value)
    wire = encrypt(DATA_KEY, b"payload")
    with pytest.raises(errors.DecryptionError) as wrong_key:
        decrypt(DataKey(DATA_KEY_BYTES[::-1]), wire)
    with pytest.raises(errors.DecryptionError) as altered:
        decrypt(DATA_KEY, wire[:-1] + bytes([wire[-1] ^ 1]))
    seen += [wrong_key.value, altered.value]
    assert decrypt(DATA_KEY, wire) == b"payload"
    assert_no_secret(seen)


@pytest.mark.parametrize("fails", [True, False], ids=["key-refused", "provisioned"])
async def test_key_pair_and_password_when_provisioning(
    caplog: pytest.LogCaptureFixture, fails: bool
) -> None:
    def handler(request: PreparedRequest) -> MemoryReply:
        if request.route in ("profile.register", "public_keys.register") and not (
            fails and request.route == "public_keys.register"
        ):
            return MemoryReply(202, f'"{request.route}-1"'.encode())
        if request.route == "utility.command_status":
            return MemoryReply(200, b'{"command_status": 2}')
        if request.route == "profile.authenticate":
            return token_answer(TOKEN)
        return MemoryReply(500, b'{"message": "key store down"}')

    client, sender = memory_client(handler)
    seen: list[object] = []
    async with client:
        if fails:
            with pytest.raises(errors.ServerError) as info:
                await client.profile.provision(USERNAME, PASSWORD, key_pair=KEY_PAIR)
            seen.append(info.value)
        else:
            provisioned = await client.profile.provision(USERNAME, PASSWORD, key_pair=KEY_PAIR)
            assert provisioned.key_pair is KEY_PAIR
            seen += [provisioned, provisioned.token]
        seen += reprs_of(client, sender)
    assert_no_secret(seen, caplog)
