"""Fuzzing the public methods' arguments: a bad one is refused before anything is sent.

Every call runs on a client whose :class:`~privicore_async.http.MemorySender` records each
request and fails the test when one arrives for an input that should have been refused.
Hostile values (wrong types, blank or control-character text, lone surrogates, NaN,
infinities, negative and zero durations, a string where a collection belongs, callbacks that
cannot be called) must raise :class:`~privicore_async.errors.InvalidArgumentError` and leave
the sender untouched. Valid values are generated alongside and must go through, so these
tests fail if a check refuses too much as surely as if it lets garbage through.

Examples are derandomized and use no database, so every run tries the same inputs.
"""

from __future__ import annotations

import contextlib
import math
import os
from collections.abc import AsyncIterator, Callable
from typing import Any
from unittest import mock
from urllib.parse import parse_qsl

import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st
from hypothesis.provisional import domains

from privicore_async import PollPolicy, PrivicoreClient, errors, gather
from privicore_async.commands import CommandHandle
from privicore_async.errors import InvalidArgumentError
from privicore_async.http import MemoryReply, MemorySender, PreparedRequest
from privicore_async.results import SyncOutcome

FUZZ = settings(
    max_examples=60,
    deadline=None,
    derandomize=True,
    database=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much],
)

API = "http://privicore.test"
QUIET = PollPolicy(initial_delay=60.0, min_interval=30.0, timeout=60)  # no poll during a test

# -- strategies --------------------------------------------------------------------------------

CONTROL = [chr(c) for c in range(0x20)] + [chr(c) for c in range(0x7F, 0xA0)] + ["\u2028", "\u2029"]
WHITESPACE = list(" \t\n\r\x0b\x0c\x1c\x1d\x1e\x1f\x85\xa0\u1680\u2000\u2009\u200a\u3000")
SURROGATES = st.characters(min_codepoint=0xD800, max_codepoint=0xDFFF)

# What a method may rightly get: non-blank text without control characters (any other
# character, spaces and non-ASCII included, is the server's business).
PLAIN = st.characters(exclude_categories=("Cc", "Cs"), exclude_characters="\u2028\u2029")
VALID_TEXT = st.text(PLAIN, min_size=1, max_size=30).filter(lambda text: text.strip())
# A token goes into a header or a form verbatim: printable, no whitespace at all.
TOKEN_CHARS = st.characters(exclude_categories=("Cc", "Cf", "Cs", "Co", "Cn", "Zs", "Zl", "Zp"))
VALID_TOKEN = st.text(TOKEN_CHARS, min_size=1, max_size=40)
VALID_ID = st.text(TOKEN_CHARS, min_size=1, max_size=64)


def spliced(bad: st.SearchStrategy[str], around: st.SearchStrategy[str] = VALID_TEXT) -> Any:
    """Valid text with a bad character somewhere in it."""
    return st.builds(lambda a, c, b: a + c + b, st.one_of(st.just(""), around), bad, around)


NOT_TEXT = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(),
    st.floats(),
    st.binary(max_size=8),
    st.lists(st.text(max_size=3), max_size=2),
    st.dictionaries(st.text(max_size=3), st.integers(), max_size=2),
    st.builds(object),
)
BLANK = st.text(st.sampled_from(WHITESPACE), max_size=4)
WITH_CONTROL = spliced(st.sampled_from(CONTROL))
BAD_TEXT = st.one_of(NOT_TEXT, BLANK, WITH_CONTROL)
# The same, hashable (unhashable identifiers in sync_devices have a test of their own).
BAD_HASHABLE_TEXT = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(),
    st.floats(),
    st.binary(max_size=8),
    st.builds(object),
    BLANK,
    WITH_CONTROL,
)
BAD_TOKEN = st.one_of(
    BAD_TEXT,
    spliced(st.sampled_from([*WHITESPACE, "\u200b", "\ufeff", "\U000e0001", "\ue000"])),
    spliced(SURROGATES, VALID_TOKEN),
)

NEGATIVE = st.one_of(
    st.floats(max_value=0, exclude_max=True).filter(lambda value: value < 0),
    st.integers(max_value=-1),
)
NON_NUMBERS = st.one_of(
    st.text(max_size=4),
    st.booleans(),
    st.binary(max_size=2),
    st.lists(st.integers(), max_size=1),
    st.builds(complex, st.integers(0, 3), st.integers(1, 3)),
)
NOT_FINITE = st.sampled_from([math.nan, math.inf, -math.inf])
# A command's deadline must be > 0; a wait may be 0 (look, do not wait).
BAD_DEADLINE = st.one_of(NON_NUMBERS, NOT_FINITE, NEGATIVE, st.sampled_from([0, 0.0, -0.0]))
BAD_WAIT = st.one_of(NON_NUMBERS, NOT_FINITE, NEGATIVE)
POSITIVE = st.one_of(
    st.floats(min_value=0, exclude_min=True, allow_infinity=False),
    st.integers(min_value=1),
)
VALID_DEADLINE = st.one_of(st.none(), POSITIVE)
VALID_WAIT = st.one_of(st.none(), st.just(0), st.just(0.0), POSITIVE)


# -- a client that refuses to send for invalid input ------------------------------------------


class Recorder:
    """The handler of a MemorySender: answers valid calls, fails the test on refused ones."""

    def __init__(self) -> None:
        self.allowed = True
        self.status_word = "succeeded"

    def __call__(self, request: PreparedRequest) -> MemoryReply:
        if not self.allowed:
            raise AssertionError(f"{request.route} was sent for an argument to refuse")
        if request.route == "utility.command_status":
            return MemoryReply(200, f'"{self.status_word}"'.encode())
        return MemoryReply(202)  # accepted, no command id: the handle is already done


@contextlib.asynccontextmanager
async def recording_client(**kwargs: Any) -> AsyncIterator[tuple[PrivicoreClient, MemorySender]]:
    recorder = Recorder()
    sender = MemorySender(recorder)
    kwargs.setdefault("poll", QUIET)
    async with PrivicoreClient(API, token="T-x", sender=sender, **kwargs) as client:
        yield client, sender


async def assert_refused(
    sender: MemorySender, call: Callable[[], Any], argument: str | None = None
) -> InvalidArgumentError:
    """``call()`` raises InvalidArgumentError (naming ``argument``) and sends nothing."""
    handler = sender._handler
    assert isinstance(handler, Recorder)
    before = len(sender.requests)
    handler.allowed = False
    try:
        with pytest.raises(InvalidArgumentError) as info:
            await call()
    finally:
        handler.allowed = True
    assert len(sender.requests) == before, "a request was sent for a refused argument"
    assert info.value.status == 0
    if argument is not None:
        assert info.value.argument == argument
    return info.value


def form_of(request: PreparedRequest) -> dict[str, str]:
    assert isinstance(request.body, bytes)
    return dict(parse_qsl(request.body.decode(), keep_blank_values=True))


# -- storage.sync_device / devices.approve -----------------------------------------------------

IDENTIFIED_COMMANDS = {
    "storage.sync_device": lambda c: c.storage.sync_device,
    "devices.approve": lambda c: c.devices.approve,
}


@pytest.mark.parametrize("name", sorted(IDENTIFIED_COMMANDS))
@FUZZ
@given(identifier=BAD_TEXT, timeout=VALID_DEADLINE)
@example(identifier="dev\x00", timeout=None)
@example(identifier="dev\r\nX-Forged: 1", timeout=None)
@example(identifier="dev\u2028", timeout=None)
@example(identifier=" \t ", timeout=None)
@example(identifier=b"dev-1", timeout=None)
async def test_a_bad_device_identifier_is_refused_before_sending(
    name: str, identifier: Any, timeout: float | None
) -> None:
    async with recording_client() as (client, sender):
        method = IDENTIFIED_COMMANDS[name](client)
        call = lambda: method(identifier, timeout=timeout)  # noqa: E731
        await assert_refused(sender, call, "device_identifier")


@pytest.mark.parametrize("name", sorted(IDENTIFIED_COMMANDS))
@FUZZ
@given(identifier=VALID_TEXT, timeout=BAD_DEADLINE)
@example(identifier="dev-1", timeout="5")
@example(identifier="dev-1", timeout=True)
@example(identifier="dev-1", timeout=math.nan)
@example(identifier="dev-1", timeout=math.inf)
@example(identifier="dev-1", timeout=-1)
@example(identifier="dev-1", timeout=0)
async def test_a_bad_command_timeout_is_refused_before_sending(
    name: str, identifier: str, timeout: Any
) -> None:
    async with recording_client() as (client, sender):
        method = IDENTIFIED_COMMANDS[name](client)
        await assert_refused(sender, lambda: method(identifier, timeout=timeout), "timeout")


@pytest.mark.parametrize("name", sorted(IDENTIFIED_COMMANDS))
@FUZZ
@given(identifier=VALID_TEXT, timeout=VALID_DEADLINE)
@example(identifier="dev 1 ünïcode", timeout=5e-324)
@example(identifier="dev-1", timeout=1.7976931348623157e308)
async def test_a_valid_device_identifier_is_sent_as_given(
    name: str, identifier: str, timeout: float | None
) -> None:
    async with recording_client() as (client, sender):
        handle = await IDENTIFIED_COMMANDS[name](client)(identifier, timeout=timeout)
        assert isinstance(handle, CommandHandle)
    assert len(sender.requests) == 1
    assert form_of(sender.requests[0]) == {"deviceIdentifier": identifier}


@pytest.mark.parametrize("name", sorted(IDENTIFIED_COMMANDS))
@pytest.mark.parametrize("identifier", ["\ud800", "dev-\udcff", "\udfff\ud800"])
async def test_an_identifier_that_cannot_be_encoded_is_refused_before_sending(
    name: str, identifier: str
) -> None:
    """A lone surrogate (``os.fsdecode`` of a bad file name, JSON ``"\\ud800"``) is text
    that has no UTF-8 form: it must be an argument error, not a ``UnicodeEncodeError``."""
    async with recording_client() as (client, sender):
        await assert_refused(sender, lambda: IDENTIFIED_COMMANDS[name](client)(identifier))


# -- storage.sync_devices ----------------------------------------------------------------------

NOT_A_COLLECTION = st.one_of(
    VALID_TEXT,
    st.binary(min_size=1, max_size=8),
    st.integers(),
    st.floats(),
    st.none(),
    st.booleans(),
    st.builds(object),
)
NOT_CALLABLE = st.one_of(
    st.integers(), st.text(max_size=3), st.lists(st.integers(), max_size=1), st.booleans()
)
BAD_CONCURRENCY = st.one_of(
    st.integers(max_value=0), st.floats(), st.booleans(), st.text(max_size=3), st.none()
)


@st.composite
def bad_sync_devices_arguments(draw: st.DrawFn) -> tuple[str, dict[str, Any]]:
    """One bad argument of sync_devices (the others valid), and the argument's name."""
    kwargs: dict[str, Any] = {"device_identifiers": draw(st.lists(VALID_TEXT, max_size=3))}
    which = draw(
        st.sampled_from(
            ["device_identifiers", "concurrency", "timeout", "on_progress", "on_accepted",
             "in_doubt", "run_id"]
        )
    )  # fmt: skip
    if which == "device_identifiers":
        kwargs[which] = draw(NOT_A_COLLECTION)
    elif which == "concurrency":
        kwargs[which] = draw(BAD_CONCURRENCY)
    elif which == "timeout":
        kwargs[which] = draw(BAD_DEADLINE)
    elif which in ("on_progress", "on_accepted"):
        kwargs[which] = draw(NOT_CALLABLE)
    elif which == "in_doubt":
        kwargs[which] = draw(st.one_of(st.text(max_size=8), st.none(), st.integers()))
        if kwargs[which] in ("resubmit", "report"):
            kwargs[which] = "resubmit!"
    else:
        kwargs[which] = draw(VALID_TEXT)  # a run id needs a journal: this client has none
    return which, kwargs


@FUZZ
@given(case=bad_sync_devices_arguments())
@example(case=("device_identifiers", {"device_identifiers": "dev-123"}))
@example(case=("device_identifiers", {"device_identifiers": b"dev-123"}))
@example(case=("concurrency", {"device_identifiers": ["d"], "concurrency": 0}))
@example(case=("concurrency", {"device_identifiers": ["d"], "concurrency": True}))
@example(case=("concurrency", {"device_identifiers": ["d"], "concurrency": 2.0}))
@example(case=("on_progress", {"device_identifiers": ["d"], "on_progress": "print"}))
@example(case=("timeout", {"device_identifiers": ["d"], "timeout": math.nan}))
async def test_a_bad_sync_devices_argument_is_refused_before_sending(
    case: tuple[str, dict[str, Any]],
) -> None:
    argument, kwargs = case
    async with recording_client() as (client, sender):
        await assert_refused(sender, lambda: client.storage.sync_devices(**kwargs), argument)


@FUZZ
@given(
    identifiers=st.lists(st.one_of(VALID_TEXT, BAD_HASHABLE_TEXT), max_size=6),
    concurrency=st.integers(1, 300),
    timeout=VALID_DEADLINE,
    progress=st.booleans(),
    container=st.sampled_from([list, tuple, iter]),
)
@example(
    identifiers=[None, 5, "dev-ok", "bad\x00", ""],
    concurrency=1,
    timeout=None,
    progress=True,
    container=list,
)
async def test_sync_devices_sends_each_valid_device_and_fails_each_bad_one(
    identifiers: list[Any],
    concurrency: int,
    timeout: float | None,
    progress: bool,
    container: Callable[[list[Any]], Any],
) -> None:
    """A bad identifier inside a good collection is that device's FAILED line, not sent."""
    seen: list[Any] = []
    on_progress = seen.append if progress else None
    async with recording_client() as (client, sender):
        report = await client.storage.sync_devices(
            container(identifiers),
            concurrency=concurrency,
            timeout=timeout,
            on_progress=on_progress,
        )
    valid = [
        ident
        for ident in identifiers
        if isinstance(ident, str) and ident.strip() and not any(ch in CONTROL for ch in ident)
    ]
    assert [line.device_identifier for line in report.outcomes] == identifiers
    assert sorted(form_of(r)["deviceIdentifier"] for r in sender.requests) == sorted(valid)
    for ident, line in zip(identifiers, report.outcomes, strict=True):
        if ident in valid:
            assert line.outcome is SyncOutcome.ACCEPTED
        else:
            assert line.outcome is SyncOutcome.FAILED
            assert isinstance(line.error, InvalidArgumentError)
    if progress:
        assert len(seen) == len(identifiers)


@pytest.mark.parametrize(
    "bad",
    [["dev-list"], {"dev": 1}, {"dev-set"}, "\ud800", "dev-\udcff"],
    ids=["list", "dict", "set", "surrogate", "surrogate-inside"],
)
async def test_sync_devices_gives_an_unusable_identifier_its_own_failed_line(bad: Any) -> None:
    """Storage.sync_devices promises "one line per device, never raising for one device":
    an identifier that is unhashable or cannot be encoded must not end the whole run."""
    async with recording_client() as (client, sender):
        report = await client.storage.sync_devices(["dev-1", bad, "dev-2"])
    assert [line.outcome for line in report.outcomes] == [
        SyncOutcome.ACCEPTED,
        SyncOutcome.FAILED,
        SyncOutcome.ACCEPTED,
    ]
    assert isinstance(report.outcomes[1].error, InvalidArgumentError)
    assert sorted(form_of(r)["deviceIdentifier"] for r in sender.requests) == ["dev-1", "dev-2"]


# -- data_tokens.delete ------------------------------------------------------------------------


@FUZZ
@given(token=BAD_TOKEN, timeout=VALID_DEADLINE)
@example(token="dtk-1 2", timeout=None)
@example(token="dtk-1\r\n", timeout=None)
@example(token="dtk\u200b1", timeout=None)
@example(token="\ud800", timeout=None)
@example(token=None, timeout=None)
async def test_a_bad_data_token_is_refused_before_sending(token: Any, timeout: Any) -> None:
    async with recording_client() as (client, sender):
        call = lambda: client.data_tokens.delete(token, timeout=timeout)  # noqa: E731
        error = await assert_refused(sender, call)
        assert error.argument == "token"


@FUZZ
@given(token=VALID_TOKEN, timeout=st.one_of(VALID_DEADLINE, BAD_DEADLINE))
async def test_data_tokens_delete_checks_the_timeout_and_sends_a_valid_token(
    token: str, timeout: Any
) -> None:
    async with recording_client() as (client, sender):
        if timeout is None or (
            isinstance(timeout, int | float)
            and not isinstance(timeout, bool)
            and math.isfinite(timeout)
            and timeout > 0
        ):
            await client.data_tokens.delete(token, timeout=timeout)
            assert [form_of(r) for r in sender.requests] == [{"token": token}]
        else:
            await assert_refused(
                sender, lambda: client.data_tokens.delete(token, timeout=timeout), "timeout"
            )


# -- commands.resume, CommandHandle.wait, gather -----------------------------------------------

BAD_COMMAND_ID = st.one_of(
    BAD_TEXT,
    spliced(st.sampled_from([*WHITESPACE, "\ufffd", "\u200b"]), VALID_ID),
    st.text(st.sampled_from("abc-"), min_size=257, max_size=300),
    spliced(SURROGATES, VALID_ID),
)


@FUZZ
@given(command_id=BAD_COMMAND_ID, timeout=VALID_DEADLINE)
@example(command_id="cmd 1", timeout=None)
@example(command_id="x" * 257, timeout=None)
@example(command_id="cmd\ufffd", timeout=None)
async def test_resume_refuses_what_cannot_be_a_command_id(command_id: Any, timeout: Any) -> None:
    async with recording_client() as (client, sender):

        async def call() -> Any:
            return client.commands.resume(command_id, timeout=timeout)

        await assert_refused(sender, call, "command_id")


@FUZZ
@given(command_id=VALID_ID, timeout=st.one_of(VALID_DEADLINE, BAD_DEADLINE))
@example(command_id="x" * 256, timeout=None)
@example(command_id="cmd-1", timeout=0)
async def test_resume_checks_the_timeout_and_reads_a_valid_id(
    command_id: str, timeout: Any
) -> None:
    async with recording_client() as (client, sender):

        async def call() -> Any:
            return client.commands.resume(command_id, timeout=timeout)

        valid = timeout is None or (
            isinstance(timeout, int | float)
            and not isinstance(timeout, bool)
            and math.isfinite(timeout)
            and timeout > 0
        )
        if not valid:
            await assert_refused(sender, call, "timeout")
            return
        handle = await call()
        assert handle.command_id == command_id
        with contextlib.suppress(errors.CommandTimeout):  # a deadline of 5e-324 s is valid
            await handle.wait(timeout=1)  # read at once: the answer settles it
        assert {r.route for r in sender.requests} <= {"utility.command_status"}


@FUZZ
@given(timeout=BAD_WAIT)
@example(timeout="1")
@example(timeout=True)
@example(timeout=-0.001)
@example(timeout=math.nan)
async def test_a_bad_wait_timeout_is_refused(timeout: Any) -> None:
    async with recording_client() as (client, sender):
        done = await client.storage.sync_device("dev-1")
        recorder = sender._handler
        assert isinstance(recorder, Recorder)
        recorder.status_word = "started"  # the resumed one stays pending
        pending = client.commands.resume("cmd-pending")
        for handle in (done, pending):
            await assert_refused(sender, lambda h=handle: h.wait(timeout=timeout), "timeout")
        await assert_refused(sender, lambda: gather(done, pending, timeout=timeout), "timeout")
        await assert_refused(sender, lambda: gather(timeout=timeout), "timeout")


@FUZZ
@given(timeout=VALID_WAIT)
@example(timeout=0)
@example(timeout=5e-324)
@example(timeout=1e300)
async def test_a_valid_wait_timeout_is_accepted(timeout: Any) -> None:
    async with recording_client() as (client, _):
        done = await client.storage.sync_device("dev-1")
        assert (await done.wait(timeout=timeout)).status.value == "accepted"
        assert len(await gather(done, timeout=timeout)) == 1


# -- PrivicoreClient(...) ----------------------------------------------------------------------

VALID_HTTPS = st.builds(
    lambda host, port, path: f"https://{host}{port}{path}",
    domains(max_length=40),
    st.sampled_from(["", ":443", ":8443"]),
    st.sampled_from(["", "/", "/api", "/api/v1/"]),
)
VALID_LOCAL_HTTP = st.builds(
    lambda host, port: f"http://{host}{port}",
    st.sampled_from(["localhost", "127.0.0.1", "[::1]", "privicore.test", "api.example"]),
    st.sampled_from(["", ":8080"]),
)
VALID_API_URL = st.one_of(VALID_HTTPS, VALID_LOCAL_HTTP)
VALID_WS_URL = st.one_of(
    VALID_HTTPS.map(lambda url: "wss" + url[len("https") :]),
    VALID_LOCAL_HTTP.map(lambda url: "ws" + url[len("http") :]),
)


@st.composite
def broken_urls(draw: st.DrawFn, valid: st.SearchStrategy[str], schemes: tuple[str, str]) -> Any:
    url = draw(valid)
    scheme, rest = url.split("://", 1)
    kind = draw(
        st.sampled_from(
            ["char", "userinfo", "scheme", "nohost", "port", "type", "relative", "blank"]
        )
    )
    if kind == "char":  # a CR, LF, NUL, space, tab or separator anywhere
        index = draw(st.integers(0, len(url)))
        bad = draw(st.sampled_from(CONTROL + WHITESPACE))
        return url[:index] + bad + url[index:]
    if kind == "userinfo":
        who = draw(st.sampled_from(["user:pw@", "user@", ":pw@", "a%40b:c@"]))
        return f"{scheme}://{who}{rest}"
    if kind == "scheme":
        other = draw(
            st.sampled_from(["ftp", "file", "gopher", "javascript", "https+unix", *schemes])
        )
        return f"{other}://{rest}"
    if kind == "nohost":
        return draw(
            st.sampled_from([f"{scheme}://", f"{scheme}:///x", f"{scheme}://:443", f"{scheme}:"])
        )
    if kind == "port":
        return f"{scheme}://h.test:{draw(st.sampled_from(['x', '99999', '-1', '1:2', '']))}9z"
    if kind == "type":
        return draw(st.one_of(st.binary(min_size=1, max_size=8), st.integers(1), st.builds(object)))
    if kind == "relative":
        return draw(st.sampled_from(["privicore.test", "/api", "//h.test/x", "h.test:443"]))
    return draw(st.text(st.sampled_from(WHITESPACE), min_size=1, max_size=3))


@st.composite
def bad_client_arguments(draw: st.DrawFn) -> tuple[str, dict[str, Any]]:
    """Valid PrivicoreClient arguments but one, and that one's name."""
    kwargs: dict[str, Any] = {
        "api_url": draw(VALID_API_URL),
        "ws_url": draw(st.one_of(st.none(), VALID_WS_URL)),
        "token": draw(VALID_TOKEN),
    }
    which = draw(
        st.sampled_from(
            ["api_url", "ws_url", "upstream_url", "downstream_url", "token", "max_connections",
             "reauthorize_ttl", "token_refresh_margin"]
        )
    )  # fmt: skip
    if which in ("api_url", "upstream_url", "downstream_url"):
        kwargs[which] = draw(broken_urls(VALID_API_URL, ("ws", "wss")))
    elif which == "ws_url":
        kwargs[which] = draw(broken_urls(VALID_WS_URL, ("http", "https")))
    elif which == "token":
        kwargs[which] = draw(BAD_TOKEN.filter(lambda token: token is not None))
    elif which in ("max_connections", "reauthorize_ttl"):
        kwargs[which] = draw(BAD_CONCURRENCY)
    else:  # None has a test of its own (test_a_refresh_margin_of_none_is_refused...)
        kwargs[which] = draw(st.one_of(NON_NUMBERS, NOT_FINITE, NEGATIVE))
    return which, kwargs


def _construct(**kwargs: Any) -> tuple[PrivicoreClient, MemorySender]:
    def refuse(request: PreparedRequest) -> MemoryReply:
        raise AssertionError(f"{request.route} was sent while constructing a client")

    sender = MemorySender(refuse)
    clean = {k: v for k, v in os.environ.items() if not k.startswith("PRIVICORE_")}
    with mock.patch.dict(os.environ, clean, clear=True):
        return PrivicoreClient(sender=sender, **kwargs), sender


async def _construct_and_close(**kwargs: Any) -> None:
    """Construct (the step that must refuse) and, if that wrongly worked, close again."""
    client, sender = _construct(**kwargs)
    await client.close()
    assert sender.requests == []


@FUZZ
@given(case=bad_client_arguments())
@example(case=("api_url", {"api_url": "https://privicore.test\r\nX-Forged: 1"}))
@example(case=("api_url", {"api_url": "https://alice:hunter2@privicore.test"}))
@example(case=("api_url", {"api_url": "ws://privicore.test"}))
@example(case=("api_url", {"api_url": "https://"}))
@example(case=("ws_url", {"api_url": API, "ws_url": "wss://privicore.test/\nws"}))
@example(case=("ws_url", {"api_url": API, "ws_url": "https://privicore.test"}))
@example(case=("token", {"api_url": API, "token": "T-1\r\nX-Forged: 1"}))
@example(case=("max_connections", {"api_url": API, "max_connections": 0}))
@example(case=("reauthorize_ttl", {"api_url": API, "reauthorize_ttl": 1.5}))
@example(case=("token_refresh_margin", {"api_url": API, "token_refresh_margin": math.nan}))
async def test_a_bad_client_argument_is_refused_at_construction(
    case: tuple[str, dict[str, Any]],
) -> None:
    argument, kwargs = case
    with pytest.raises(InvalidArgumentError) as info:
        await _construct_and_close(**kwargs)
    assert info.value.argument == argument


@FUZZ
@given(
    api_url=VALID_API_URL,
    ws_url=st.one_of(st.none(), VALID_WS_URL),
    token=st.one_of(st.none(), VALID_TOKEN),
    max_connections=st.integers(1, 10_000),
    reauthorize_ttl=st.integers(1, 10**9),
    token_refresh_margin=st.one_of(
        st.integers(0, 10**6), st.floats(0, 1e9, allow_nan=False, allow_infinity=False)
    ),
)
async def test_valid_client_arguments_are_accepted_and_send_nothing(
    api_url: str,
    ws_url: str | None,
    token: str | None,
    max_connections: int,
    reauthorize_ttl: int,
    token_refresh_margin: float,
) -> None:
    client, sender = _construct(
        api_url=api_url,
        ws_url=ws_url,
        token=token,
        max_connections=max_connections,
        reauthorize_ttl=reauthorize_ttl,
        token_refresh_margin=token_refresh_margin,
    )
    assert client.api_url == api_url.rstrip("/")
    await client.close()
    assert sender.requests == []


async def test_a_refresh_margin_of_none_is_refused_not_a_type_error_later() -> None:
    """``token_refresh_margin: float``; ``None`` passes ``require_seconds`` (which allows
    None by default) and the keeper then compares ``seconds_left < None`` on the first call
    after a token with an expiry was adopted."""
    with pytest.raises(InvalidArgumentError):
        await _construct_and_close(api_url=API, token="T-x", token_refresh_margin=None)


async def test_errors_are_value_errors_and_validation_errors() -> None:
    """What ``except`` clauses rely on (DESIGN §3): the refusal is both kinds at once."""
    async with recording_client() as (client, sender):
        error = await assert_refused(sender, lambda: client.devices.approve(""))
    assert isinstance(error, ValueError)
    assert isinstance(error, errors.ValidationError)
    assert error.errors == {"deviceIdentifier": ["must not be blank"]}
