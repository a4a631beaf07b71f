"""What the tests of the client and its resources share: a client on the mocked API,
the paths they meet most, and checks of a sent form or GET call."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from privicore_async import PollPolicy, PrivicoreClient, RetryPolicy
from tests.wire_mock import API, form, headers

TOKEN = "T-secret"
FAST = PollPolicy(initial_delay=0.0, min_interval=0.01, timeout=5)
QUIET = PollPolicy(initial_delay=60.0, min_interval=0.01, timeout=60)  # no poll during a test
FORM_CT = "application/x-www-form-urlencoded"
AUTHENTICATE = "/profile/authenticate"
PROFILE_ID = "/profile/retrieve-profile-id"
STORAGE_LIST = "/storage/list-storage-devices"


def make_client(**kwargs: Any) -> PrivicoreClient:
    kwargs.setdefault("token", TOKEN)
    kwargs.setdefault("poll", FAST)
    kwargs.setdefault(
        "retry", RetryPolicy(max_attempts=2, initial_backoff=0.001, max_backoff=0.002)
    )
    return PrivicoreClient(api_url=API, **kwargs)


def in_an_hour() -> str:
    return (datetime.now(UTC) + timedelta(hours=1)).isoformat()


def assert_form_call(call: Any, expected: dict[str, str], *, token: str | None = TOKEN) -> None:
    sent = headers(call)
    assert sent["content-type"] == FORM_CT
    assert form(call) == expected
    if token is None:
        assert "x-dpt-authorization" not in sent
    else:
        assert sent["x-dpt-authorization"] == token
    assert "authorization" not in sent


def assert_get_call(call: Any, *, token: str | None = TOKEN) -> None:
    sent = headers(call)
    assert "data" not in call.kwargs
    assert "content-type" not in sent
    if token is None:
        assert "x-dpt-authorization" not in sent
    else:
        assert sent["x-dpt-authorization"] == token
