"""The sans-IO wire readers (wire reference §a4, §a5, §a7, §a8): every listed shape, bad ones."""

from __future__ import annotations

import json
import math
import random
from datetime import UTC, datetime, timedelta, timezone
from email.utils import format_datetime
from typing import Any

import pytest
from multidict import CIMultiDict, CIMultiDictProxy

from privicore_async.errors import ProtocolError
from privicore_async.models import AuthToken
from privicore_async.wire import CommandStatus, StatusReading
from privicore_async.wire.http import (
    COMMAND_ID_HEADER,
    REQUEST_ID_HEADER,
    decode_body,
    extract_command_id,
    extract_request_id,
    parse_command_status,
    parse_retry_after,
    parse_token,
    parse_validation_errors,
)

CMD = "01927ba1-7c1e-7d4e-9a1c-3f5c2b8e9d10"

# -- extract_command_id (§a4) ----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("body", "expected"),
    [
        pytest.param(CMD, CMD, id="bare-json-string-decoded"),
        pytest.param(f'"{CMD}"', CMD, id="quoted-text-not-decoded"),
        pytest.param(f"  {CMD}\n", CMD, id="unquoted-text-with-whitespace"),
        pytest.param(f' " {CMD} " ', CMD, id="quotes-and-whitespace"),
        pytest.param([CMD], CMD, id="one-element-array"),
        pytest.param([f" {CMD} "], CMD, id="one-element-array-padded"),
        pytest.param({"commandId": CMD}, CMD, id="object"),
        pytest.param({"commandId": f"  {CMD} ", "extra": 1}, CMD, id="object-padded-extra-key"),
    ],
)
def test_extract_command_id_body_shapes(body: Any, expected: str) -> None:
    assert extract_command_id(body, {}) == expected


@pytest.mark.parametrize(
    "body",
    [CMD, [CMD], {"commandId": CMD}],
    ids=["string", "array", "object"],
)
def test_extract_command_id_body_wins_over_header(body: Any) -> None:
    assert extract_command_id(body, {COMMAND_ID_HEADER: "from-header"}) == CMD


@pytest.mark.parametrize(
    "headers",
    [
        pytest.param({"x-dpt-cab-id": CMD}, id="dict-lower"),
        pytest.param({"X-DPT-CAB-ID": CMD}, id="dict-upper"),
        pytest.param({"X-Dpt-Cab-Id": f" {CMD} "}, id="dict-mixed-padded"),
        pytest.param(CIMultiDict({"X-DPT-CAB-ID": CMD}), id="cimultidict"),
        pytest.param(CIMultiDictProxy(CIMultiDict({"x-DPT-cab-ID": CMD})), id="cimultidictproxy"),
    ],
)
@pytest.mark.parametrize(
    "body",
    [None, "", "   ", '""', [], {}],
    ids=["none", "empty", "blank", "empty-json-string", "empty-array", "empty-object"],
)
def test_extract_command_id_from_header_when_body_has_none(body: Any, headers: Any) -> None:
    assert extract_command_id(body, headers) == CMD


def test_extract_command_id_unrelated_object_with_header_uses_header() -> None:
    assert extract_command_id({"foo": 1}, {"X-DPT-CAB-ID": CMD}) == CMD


@pytest.mark.parametrize("body", [None, "", "  \n", '""', [], {}])
@pytest.mark.parametrize(
    "headers",
    [{}, {"x-dpt-cab-id": ""}, {"x-dpt-cab-id": "   "}, {REQUEST_ID_HEADER: "req-1"}],
    ids=["no-headers", "empty-header", "blank-header", "only-request-id"],
)
def test_extract_command_id_nothing_to_track(body: Any, headers: dict[str, str]) -> None:
    assert extract_command_id(body, headers) is None


@pytest.mark.parametrize(
    "body",
    [
        pytest.param([CMD, "second"], id="two-strings"),
        pytest.param([1, 2], id="two-numbers"),
        pytest.param([1], id="one-number"),
        pytest.param([""], id="one-blank-string"),
        pytest.param([[CMD]], id="nested-array"),
        pytest.param({"foo": 1}, id="object-without-commandId"),
        pytest.param({"commandId": 12}, id="object-numeric-commandId"),
        pytest.param({"commandId": ""}, id="object-blank-commandId"),
        pytest.param(42, id="number"),
        pytest.param(4.2, id="float"),
        pytest.param(True, id="bool"),
    ],
)
def test_extract_command_id_bad_shapes_raise(body: Any) -> None:
    with pytest.raises(ProtocolError, match="command id"):
        extract_command_id(body, {})


def test_extract_command_id_bad_array_raises_even_with_header() -> None:
    # A two-element array is not any shape of §a4: the header does not excuse it.
    with pytest.raises(ProtocolError):
        extract_command_id([1, 2], {"x-dpt-cab-id": CMD})


def test_extract_command_id_error_quotes_the_body_truncated() -> None:
    body = {"foo": "x" * 500}
    with pytest.raises(ProtocolError) as info:
        extract_command_id(body, {})
    assert "foo" in str(info.value)
    assert len(str(info.value)) < 150


@pytest.mark.parametrize(
    ("headers", "expected"),
    [
        ({"X-DPT-CAB-REQUEST-ID": "req-1"}, "req-1"),
        (CIMultiDict({"x-dpt-cab-request-id": " req-1 "}), "req-1"),
        ({"x-dpt-cab-id": CMD}, None),
        ({}, None),
    ],
)
def test_extract_request_id(headers: Any, expected: str | None) -> None:
    assert extract_request_id(headers) == expected


# -- decode_body -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        pytest.param(b"", None, id="empty"),
        pytest.param(b"  \r\n\t", None, id="whitespace"),
        pytest.param(b"null", None, id="json-null"),
        pytest.param(b'"abc"', "abc", id="json-string"),
        pytest.param(b'["abc"]', ["abc"], id="json-array"),
        pytest.param(b'{"commandId": "abc"}', {"commandId": "abc"}, id="json-object"),
        pytest.param(b" 42 ", 42, id="json-number"),
        pytest.param(b"abc-123", "abc-123", id="unquoted-text"),
        pytest.param(b"<html>oops</html>", "<html>oops</html>", id="html"),
        pytest.param('"caf\u00e9"'.encode(), "caf\u00e9", id="utf8-json"),
    ],
)
def test_decode_body(raw: bytes, expected: Any) -> None:
    assert decode_body(raw) == expected


def test_decode_body_ignores_content_type() -> None:
    assert decode_body(b'{"a": 1}', "text/plain") == {"a": 1}
    assert decode_body(b"plain", "application/json") == "plain"


def test_decode_body_invalid_utf8_is_text_with_replacements() -> None:
    assert decode_body(b"ab\xff\xfecd") == "ab\ufffd\ufffdcd"


def test_decode_body_invalid_json_keeps_raw_text() -> None:
    assert decode_body(b'{"a": ') == '{"a": '


# -- parse_command_status (§a5) --------------------------------------------------------------------

_WORDS = {
    "started": CommandStatus.PENDING,
    "pending": CommandStatus.PENDING,
    "processing": CommandStatus.PENDING,
    "succeeded": CommandStatus.SUCCEEDED,
    "success": CommandStatus.SUCCEEDED,
    "completed": CommandStatus.SUCCEEDED,
    "rejected": CommandStatus.REJECTED,
    "failed": CommandStatus.REJECTED,
    "error": CommandStatus.REJECTED,
}


@pytest.mark.parametrize(("word", "status"), list(_WORDS.items()))
@pytest.mark.parametrize("wrap", ["bare", "array", "upper-padded"])
def test_parse_command_status_words(word: str, status: CommandStatus, wrap: str) -> None:
    body: Any = {"bare": word, "array": [word], "upper-padded": f"  {word.upper()} "}[wrap]
    assert parse_command_status(body) == StatusReading(status, None)


@pytest.mark.parametrize(
    ("code", "status"),
    [(1, CommandStatus.PENDING), (2, CommandStatus.SUCCEEDED), (3, CommandStatus.REJECTED)],
)
@pytest.mark.parametrize("key", ["command_status", "commandStatus", "status"])
def test_parse_command_status_object_keeps_body(code: int, status: CommandStatus, key: str) -> None:
    reading = parse_command_status({"commandId": CMD, key: code, "body": "profile.not_an_owner"})
    assert reading == StatusReading(status, "profile.not_an_owner")


def test_parse_command_status_object_as_string_code_and_object_body() -> None:
    body = {"message": "Command completed successfully"}
    reading = parse_command_status([{"command_status": "2", "body": body}])
    assert reading.status is CommandStatus.SUCCEEDED
    assert reading.body == body


def test_parse_command_status_numbers_bare() -> None:
    assert parse_command_status(2).status is CommandStatus.SUCCEEDED
    assert parse_command_status(["3"]).status is CommandStatus.REJECTED


@pytest.mark.parametrize(
    ("body", "named"),
    [
        pytest.param("weird-state", "'weird-state'", id="unknown-word"),
        pytest.param(["exploded"], "'exploded'", id="unknown-word-in-array"),
        pytest.param({"command_status": 7}, "7", id="unknown-code"),
        pytest.param(4, "4", id="unknown-number"),
        pytest.param(None, "None", id="none"),
        pytest.param(True, "True", id="bool"),
        pytest.param(2.0, "2.0", id="float"),
        pytest.param("", "''", id="empty"),
    ],
)
def test_parse_command_status_unknown_value_names_it(body: Any, named: str) -> None:
    with pytest.raises(ProtocolError) as info:
        parse_command_status(body)
    assert named in str(info.value)


@pytest.mark.parametrize(
    "body",
    [["started", "succeeded"], [], [["started"]], {"commandId": CMD}, {"body": "x"}],
    ids=["two-elements", "empty-array", "nested-array", "object-no-status", "object-body-only"],
)
def test_parse_command_status_bad_shapes(body: Any) -> None:
    with pytest.raises(ProtocolError, match="command status"):
        parse_command_status(body)


def test_command_status_final_flags() -> None:
    assert not CommandStatus.PENDING.final
    assert CommandStatus.SUCCEEDED.final
    assert CommandStatus.REJECTED.final
    assert CommandStatus.ACCEPTED.final


# -- parse_validation_errors (§a8: shape never recorded, parse defensively) ------------------------


@pytest.mark.parametrize(
    ("body", "expected"),
    [
        pytest.param(
            {"deviceIdentifier": ["must not be blank"], "ttl": "too large"},
            {"deviceIdentifier": ["must not be blank"], "ttl": ["too large"]},
            id="object-of-fields",
        ),
        pytest.param(
            {"message": "Validation failed", "errors": {"ttl": ["max 60"]}},
            {"ttl": ["max 60"]},
            id="errors-object",
        ),
        pytest.param(
            {"violations": [{"propertyPath": "username", "message": "taken"}]},
            {"username": ["taken"]},
            id="violations-list",
        ),
        pytest.param(
            [
                {"field": "ttl", "message": "too large"},
                {"propertyPath": "ttl", "message": "not a multiple of 5"},
                {"property_path": "context", "messages": ["blank", "too short"]},
                {"message": "general failure"},
            ],
            {
                "ttl": ["too large", "not a multiple of 5"],
                "context": ["blank", "too short"],
                "": ["general failure"],
            },
            id="list-of-field-message",
        ),
        pytest.param(
            ["oauth.already_retrieved", "second"],
            {"": ["oauth.already_retrieved", "second"]},
            id="list-of-strings",
        ),
        pytest.param("oauth.already_retrieved", {"": ["oauth.already_retrieved"]}, id="string"),
        pytest.param(None, {}, id="none"),
        pytest.param({}, {}, id="empty-object"),
        pytest.param([], {}, id="empty-list"),
        pytest.param({"message": "Parameter Error", "status": 422}, {"": ["Parameter Error"]}),
        pytest.param({"title": "Bad", "detail": "ttl"}, {"": ["Bad"]}, id="problem-json"),
        pytest.param({"ttl": {"message": "too large"}}, {"ttl": ["too large"]}, id="nested-msg"),
        pytest.param({"ttl": {"code": 7}}, {"ttl": ['{"code": 7}']}, id="odd-object"),
        pytest.param([{"ttl": "too large"}], {"ttl": ["too large"]}, id="list-of-objects"),
        pytest.param(42, {"": ["42"]}, id="number"),
        pytest.param({"errors": "flat"}, {"": ["flat"]}, id="errors-string"),
    ],
)
def test_parse_validation_errors_shapes(body: Any, expected: dict[str, list[str]]) -> None:
    assert parse_validation_errors(body) == expected


def _random_json(rng: random.Random, depth: int = 0) -> Any:
    scalars: list[Any] = [
        None,
        True,
        False,
        0,
        -1,
        3.5,
        "",
        "msg",
        "field",
        "\u00e9\u00e8",
        float("nan"),
    ]
    if depth > 4 or rng.random() < 0.3:
        return rng.choice(scalars)
    keys = ["errors", "violations", "fields", "message", "messages", "field", "propertyPath",
            "path", "name", "title", "detail", "status", "code", "error", "x", ""]  # fmt: skip
    if rng.random() < 0.5:
        return [_random_json(rng, depth + 1) for _ in range(rng.randint(0, 4))]
    return {rng.choice(keys): _random_json(rng, depth + 1) for _ in range(rng.randint(0, 4))}


@pytest.mark.parametrize("seed", range(20))
def test_parse_validation_errors_never_raises_and_returns_str_lists(seed: int) -> None:
    rng = random.Random(seed)
    for _ in range(200):
        body = _random_json(rng)
        result = parse_validation_errors(body)
        assert isinstance(result, dict)
        for field, messages in result.items():
            assert isinstance(field, str)
            assert isinstance(messages, list)
            assert all(isinstance(m, str) for m in messages)
        json.dumps(result)  # plain data


@pytest.mark.parametrize("body", [{"errors": [None]}, {"errors": [[]]}, {"errors": [[], None]}])
def test_parse_validation_errors_never_maps_a_field_to_no_messages(body: Any) -> None:
    result = parse_validation_errors(body)
    assert all(result.values()), result


def test_parse_validation_errors_null_field_goes_under_empty_key() -> None:
    assert parse_validation_errors([{"field": None, "message": "m"}]) == {"": ["m"]}


# -- parse_token (§a7) -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("expires_at", "expected"),
    [
        ("2026-02-21T15:33:44+00:00", datetime(2026, 2, 21, 15, 33, 44, tzinfo=UTC)),
        ("2026-02-21T15:33:44Z", datetime(2026, 2, 21, 15, 33, 44, tzinfo=UTC)),
        (
            "2026-02-21T17:33:44+02:00",
            datetime(2026, 2, 21, 17, 33, 44, tzinfo=timezone(timedelta(hours=2))),
        ),
        ("2026-02-21T15:33:44", datetime(2026, 2, 21, 15, 33, 44, tzinfo=UTC)),
        (1771688024, datetime.fromtimestamp(1771688024, UTC)),
    ],
)
def test_parse_token_expiry_forms(expires_at: Any, expected: datetime) -> None:
    token = parse_token(
        {"authorizationToken": "T-MUIFA", "expiresAt": expires_at}, endpoint="profile.authenticate"
    )
    assert token.authorization_token == "T-MUIFA"
    assert token.expires_at == expected
    assert token.expires_at is not None
    assert token.expires_at.tzinfo is not None


def test_parse_token_offsets_compare_as_instants() -> None:
    a = parse_token(
        {"authorizationToken": "T", "expiresAt": "2026-02-21T17:33:44+02:00"}, endpoint="e"
    )
    b = parse_token({"authorizationToken": "T", "expiresAt": "2026-02-21T15:33:44Z"}, endpoint="e")
    assert a.expires_at == b.expires_at


def test_parse_token_without_expiry_and_extra_keys() -> None:
    token = parse_token({"authorizationToken": "T-1", "scope": ["all"]}, endpoint="e")
    assert token == AuthToken("T-1", None, {"scope": ["all"]})
    assert token.seconds_left() is None


def test_parse_token_bare_string() -> None:
    assert parse_token("  T-bare  ", endpoint="e") == AuthToken("T-bare")


def test_parse_token_seconds_left() -> None:
    now = datetime(2026, 1, 1, tzinfo=UTC)
    token = AuthToken("T", now + timedelta(seconds=90))
    assert token.seconds_left(now) == 90.0
    assert token.seconds_left(now + timedelta(seconds=100)) == -10.0


@pytest.mark.parametrize(
    "body",
    [{"expiresAt": "2026-02-21T15:33:44Z"}, {}, None, ["T-1", "T-2"], 7, ""],
    ids=["no-token", "empty-object", "none", "array", "number", "empty-string"],
)
def test_parse_token_missing_token_raises_naming_endpoint(body: Any) -> None:
    with pytest.raises(ProtocolError) as info:
        parse_token(body, endpoint="profile.authenticate")
    assert "profile.authenticate" in str(info.value)


def test_parse_token_missing_token_names_the_field() -> None:
    with pytest.raises(ProtocolError) as info:
        parse_token({"expiresAt": "2026-02-21T15:33:44Z"}, endpoint="profile.reauthorize")
    message = str(info.value)
    assert "profile.reauthorize" in message
    assert "authorization_token" in message or "authorizationToken" in message


def test_parse_token_missing_token_names_the_wire_field() -> None:
    with pytest.raises(ProtocolError, match="authorizationToken"):
        parse_token({"expiresAt": "2026-02-21T15:33:44Z"}, endpoint="profile.authenticate")


def test_parse_token_bad_expiry_raises() -> None:
    with pytest.raises(ProtocolError, match=r"profile\.authenticate"):
        parse_token(
            {"authorizationToken": "T", "expiresAt": "soon"}, endpoint="profile.authenticate"
        )


@pytest.mark.parametrize("blank", ["", "   "])
def test_parse_token_blank_token_is_a_protocol_error(blank: str) -> None:
    with pytest.raises(ProtocolError):
        parse_token(
            {"authorizationToken": blank, "expiresAt": "2026-02-21T15:33:44Z"}, endpoint="e"
        )


# -- parse_retry_after -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("1", 1.0),
        ("  120 ", 120.0),
        ("0", 0.0),
        ("1.5", 1.5),
        ("-5", 0.0),
        (None, None),
        ("", None),
        ("   ", None),
        ("soon", None),
        ("nan", None),
        ("Mon, 99 Foo 2015 07:28:00 GMT", None),
    ],
)
def test_parse_retry_after_seconds_and_garbage(value: str | None, expected: float | None) -> None:
    assert parse_retry_after(value) == expected


def test_parse_retry_after_http_date() -> None:
    now = datetime(2015, 10, 21, 7, 28, 0, tzinfo=UTC)
    date = format_datetime(now + timedelta(seconds=30), usegmt=True)
    assert date == "Wed, 21 Oct 2015 07:28:30 GMT"
    assert parse_retry_after(date, now=now.timestamp()) == 30.0


def test_parse_retry_after_http_date_in_the_past_is_zero() -> None:
    now = datetime(2015, 10, 21, 7, 28, 0, tzinfo=UTC)
    assert parse_retry_after("Wed, 21 Oct 2015 07:27:00 GMT", now=now.timestamp()) == 0.0


def test_parse_retry_after_http_date_uses_the_clock_by_default() -> None:
    future = format_datetime(datetime.now(UTC) + timedelta(seconds=100), usegmt=True)
    wait = parse_retry_after(future)
    assert wait is not None
    assert 95.0 <= wait <= 100.0


@pytest.mark.parametrize("value", ["inf", "Infinity", "1e400"])
def test_parse_retry_after_infinite_is_garbage(value: str) -> None:
    result = parse_retry_after(value)
    assert result is None or math.isfinite(result)
