"""http/options.py: request options, checked at the edge; extra headers never replace the SDK's."""

from __future__ import annotations

from typing import Any

import pytest

from privicore_async import RetryPolicy, Timeouts, errors
from privicore_async.http.options import RESERVED_HEADERS, RequestOptions, as_timeouts


def test_defaults_are_the_policies_defaults() -> None:
    options = RequestOptions()
    assert options.timeouts == Timeouts()
    assert options.retry == RetryPolicy()
    assert options.headers == {}


@pytest.mark.parametrize(
    ("kwargs", "argument"),
    [
        ({"timeouts": 5}, "timeouts"),
        ({"timeouts": {"total": 5}}, "timeouts"),
        ({"retry": {"max_attempts": 2}}, "retry"),
        ({"headers": [("X-A", "1")]}, "extra_headers"),
    ],
)
def test_wrong_types_are_invalid_arguments(kwargs: dict[str, Any], argument: str) -> None:
    with pytest.raises(errors.InvalidArgumentError) as info:
        RequestOptions(**kwargs)
    assert info.value.argument == argument


def test_replace_keeps_what_is_not_given_and_adds_headers() -> None:
    retry = RetryPolicy(max_attempts=1)
    base = RequestOptions(headers={"X-Tenant": "a"})
    assert base.replace() is base
    changed = base.replace(timeout=5, retry=retry, extra_headers={"X-Trace": "t"})
    assert changed.timeouts == Timeouts(total=5.0)  # connect and read bounds kept
    assert changed.retry is retry
    assert changed.headers == {"X-Tenant": "a", "X-Trace": "t"}
    assert base.headers == {"X-Tenant": "a"}  # frozen: the original is unchanged
    again = changed.replace(extra_headers={"x-tenant": "b"})
    assert again.headers["x-tenant"] == "b"


def test_headers_are_copied_not_shared() -> None:
    given = {"X-A": "1"}
    options = RequestOptions(headers=given)
    given["X-A"] = "2"
    assert options.headers == {"X-A": "1"}


def test_header_values_never_appear_in_repr() -> None:
    assert "gateway-key" not in repr(RequestOptions(headers={"X-Api-Key": "gateway-key"}))


@pytest.mark.parametrize("name", sorted(RESERVED_HEADERS))
def test_the_sdks_own_headers_cannot_be_replaced(name: str) -> None:
    for spelled in (name, name.upper(), name.title()):
        with pytest.raises(errors.InvalidArgumentError, match="set by the SDK") as info:
            RequestOptions().replace(extra_headers={spelled: "x"})
        assert info.value.argument == "extra_headers"


def test_auth_and_user_agent_are_reserved() -> None:
    assert {"x-dpt-authorization", "authorization", "user-agent"} <= RESERVED_HEADERS


@pytest.mark.parametrize(
    "headers",
    [
        {"X-A": "line\r\nX-Injected: 1"},
        {"X-A": "nul\x00"},
        {"X-A": 5},
        {"Bad Name": "x"},
        {"X-A:": "x"},
        {"": "x"},
        {5: "x"},
    ],
)
def test_malformed_headers_are_refused_without_quoting_the_value(headers: Any) -> None:
    with pytest.raises(errors.InvalidArgumentError) as info:
        RequestOptions().replace(extra_headers=headers)
    assert "Injected" not in str(info.value)
    assert "nul" not in str(info.value)


@pytest.mark.parametrize("bad", [0, -1, float("nan"), float("inf"), True, "5", None])
def test_as_timeouts_refuses_nonsense(bad: object) -> None:
    with pytest.raises(errors.InvalidArgumentError) as info:
        as_timeouts(bad, Timeouts())
    assert info.value.argument == "timeout"


def test_as_timeouts_takes_seconds_or_timeouts() -> None:
    custom = Timeouts(connect=1, read=2, total=3)
    assert as_timeouts(custom, Timeouts()) is custom
    assert as_timeouts(2, custom) == Timeouts(connect=1, read=2, total=2.0)
