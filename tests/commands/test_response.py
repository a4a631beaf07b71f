"""commands/response.py: what a handle keeps of the 202 that started it."""

from __future__ import annotations

from multidict import CIMultiDict, CIMultiDictProxy

from privicore_async.commands import CommandResponse
from privicore_async.http import WireResponse

SECRET = "tok-0123456789abcdef"


def wire(*headers: tuple[str, str], status: int = 202, body: object = "cmd-1") -> WireResponse:
    return WireResponse(status, CIMultiDictProxy(CIMultiDict(headers)), body, "storage.sync_device")


def test_status_route_request_id_and_headers_are_kept() -> None:
    response = CommandResponse.of(
        wire(
            ("Date", "Tue, 01 Dec 2026 10:00:00 GMT"),
            ("X-DPT-CAB-REQUEST-ID", "req-7"),
            ("x-dpt-cab-id", "cmd-1"),
            ("X-RateLimit-Remaining", "99"),
            ("Via", "1.1 a"),
            ("Via", "1.1 b"),
        )
    )
    assert (response.status, response.request_id, response.route) == (
        202,
        "req-7",
        "storage.sync_device",
    )
    assert response.headers["x-ratelimit-remaining"] == "99"  # any case
    assert response.headers["Date"].startswith("Tue")
    assert response.headers["X-DPT-CAB-ID"] == "cmd-1"
    assert list(response.headers.items()).count(("Via", "1.1 b")) == 1  # repeats kept


def test_headers_that_may_carry_a_credential_are_dropped() -> None:
    names = [
        "Set-Cookie",
        "X-DPT-AUTHORIZATION",
        "Authorization",
        "Proxy-Authenticate",
        "X-Session-Id",
        "X-Access-Token",
        "X-Client-Secret",
        "X-Api-Key",
        "X-Password-Hint",
    ]
    response = CommandResponse.of(wire(*((name, SECRET) for name in names), ("Server", "x")))
    assert dict(response.headers) == {"Server": "x"}
    assert SECRET not in repr(response)
    assert "cmd-1" not in repr(response)  # no body is kept


def test_a_malformed_request_id_is_none_and_nothing_raises() -> None:
    response = CommandResponse.of(wire(("x-dpt-cab-request-id", "two words")))
    assert response.request_id is None
    assert response.headers["x-dpt-cab-request-id"] == "two words"


def test_a_plain_dict_of_headers_works_too() -> None:
    response = CommandResponse.of(WireResponse(202, {"X-Trace": "t-1"}, None))
    assert response.headers["x-trace"] == "t-1"
    assert (response.request_id, response.route) == (None, "")
    assert repr(response) == "CommandResponse(status=202, request_id=None, route='')"
