"""http/redact.py: secrets out of texts and out of copies of aiohttp's exceptions."""

from __future__ import annotations

import ssl
import traceback
from urllib.parse import quote

import aiohttp
from aiohttp.client_reqrep import ConnectionKey
from yarl import URL

from privicore_async.http.redact import redact, scrubbed

TOKEN = "T-red/act+1"
SECRETS = (TOKEN, "")


def _texts(exc: BaseException) -> str:
    return " ".join(
        [str(exc), repr(exc), repr(exc.args), repr(vars(exc)), *traceback.format_exception(exc)]
    )


def _raised(exc: BaseException) -> BaseException:
    try:
        raise exc
    except BaseException as caught:
        return caught


def test_redact_takes_out_every_encoding_of_a_secret() -> None:
    text = f"{TOKEN} {quote(TOKEN, safe='')} {URL('http://h/').with_query({'a': TOKEN})}"
    assert TOKEN not in redact(text, SECRETS)
    assert "red" not in redact(text, SECRETS)
    assert redact("nothing here", SECRETS) == "nothing here"


def test_a_connector_error_keeps_its_type_message_and_errno() -> None:
    key = ConnectionKey("privicore.test", 443, True, True, None, None, None)
    original = _raised(aiohttp.ClientConnectorError(key, OSError(111, f"refused {TOKEN}")))
    copy = scrubbed(original, SECRETS)
    assert type(copy) is aiohttp.ClientConnectorError
    assert copy is not original
    assert copy.errno == 111
    assert copy.host == "privicore.test"
    assert copy.port == 443
    assert str(copy) == "Cannot connect to host privicore.test:443 ssl:default [refused ***]"
    assert copy.__traceback__ is None  # the original's frames hold the request's headers
    assert TOKEN not in _texts(copy)
    assert isinstance(copy.os_error, OSError)
    assert TOKEN not in str(copy.os_error)


def test_a_timeout_quoting_a_url_with_a_token() -> None:
    url = URL("https://down.privicore.test/").with_query({"auth": TOKEN})
    copy = scrubbed(aiohttp.ConnectionTimeoutError(f"Connection timeout to host {url}"), SECRETS)
    assert type(copy) is aiohttp.ConnectionTimeoutError
    assert isinstance(copy, TimeoutError)
    assert str(copy) == "Connection timeout to host https://down.privicore.test/?auth=***"


def test_chained_exceptions_attributes_and_notes_are_scrubbed() -> None:
    inner = _raised(ConnectionResetError(104, f"reset {TOKEN}"))
    try:
        raise aiohttp.ClientOSError(104, "reset") from inner
    except aiohttp.ClientOSError as exc:
        outer = exc
    outer.add_note(f"while sending {TOKEN}")
    outer.sent = {"X-DPT-AUTHORIZATION": TOKEN}  # type: ignore[attr-defined]
    outer.url = URL("https://h.test/").with_query({"auth": TOKEN})  # type: ignore[attr-defined]
    copy = scrubbed(outer, SECRETS)
    assert copy is not None
    assert type(copy.__cause__) is ConnectionResetError
    assert copy.__cause__.__traceback__ is None
    assert copy.__notes__ == ["while sending ***"]
    assert copy.sent is None  # type: ignore[attr-defined]  # a mapping showing the token
    assert str(copy.url) == "https://h.test/?auth=***"  # type: ignore[attr-defined]
    assert TOKEN not in _texts(copy)
    assert "red" not in _texts(copy)


def test_objects_that_show_no_secret_are_kept() -> None:
    context = ssl.create_default_context()
    exc = aiohttp.ClientOSError(1, "x")
    exc.context_used = context  # type: ignore[attr-defined]
    copy = scrubbed(exc, SECRETS)
    assert copy is not None
    assert copy.context_used is context  # type: ignore[attr-defined]


def test_without_secrets_the_copy_still_drops_the_traceback() -> None:
    original = _raised(aiohttp.ServerDisconnectedError("gone"))
    copy = scrubbed(original, ())
    assert type(copy) is aiohttp.ServerDisconnectedError
    assert str(copy) == str(original)
    assert copy.__traceback__ is None


def test_no_copy_when_the_text_would_still_show_a_secret() -> None:
    class Leaky(Exception):
        def __str__(self) -> str:
            return f"always {TOKEN}"  # reached by no attribute that could be redacted

    assert scrubbed(Leaky(), SECRETS) is None


def test_no_copy_when_the_type_cannot_be_rebuilt() -> None:
    class Picky(Exception):
        def __new__(cls, required: str) -> Picky:
            return super().__new__(cls, required)

    assert scrubbed(Picky("x"), SECRETS) is None
