"""resources/data_tokens.py and models/data_tokens.py: every data token endpoint pinned on the
wire (method, host, path and quoting, auth kind, content type, exact body or query), the answer
shapes each accepts, and argument checks that send nothing. HTTP is mocked with aioresponses."""

from __future__ import annotations

import base64
import logging
import re
from collections.abc import AsyncIterator
from typing import Any
from urllib.parse import parse_qsl, urlsplit

import pytest

from privicore_async import (
    AcceptedCommand,
    CommandStatus,
    PollPolicy,
    PrivicoreClient,
    RetryPolicy,
    errors,
)
from privicore_async.models import DataToken, DataTokenPage, TemporaryToken
from privicore_async.results import DataRequest
from tests.wire_mock import API, all_calls, calls, form, headers, mock_http, raw_body

TOKEN = "T-profile-token"
UP = "http://upstream.test"
DOWN = "http://downstream.test"
FORM_CT = "application/x-www-form-urlencoded"
WIRE = base64.b64decode("AAECAwQFBgcICQoLL2e6d6rFtXT/LfMFMBxWQ34jd7mO85YcJxko")
WIRE_B64 = "AAECAwQFBgcICQoLL2e6d6rFtXT/LfMFMBxWQ34jd7mO85YcJxko"
STREAM = "ST-stream/+=token"
TMP = "tmp-abc"
DTK = "dtk-xyz"

RESERVE = "/data-token/reserve-token-space"
TEMPORARY = "/data-token/retrieve-temporary-data-token/"
EXCHANGE = "/data-token/exchange-data-for-token"
REQUEST = "/data-token/request-data"
RISK = "/data-token/configure-information-security-risk-meta"
FILE_META = "/data-token/configure-file-meta"
LIST = "/data-token/list-data-tokens"
UPDATE = "/data-token/update-data-token"
DELETE = "/data-token/delete-data"


def make_client(**kwargs: Any) -> PrivicoreClient:
    kwargs.setdefault("token", TOKEN)
    kwargs.setdefault("poll", PollPolicy(initial_delay=0.0, min_interval=0.01, timeout=5))
    kwargs.setdefault("retry", RetryPolicy(max_attempts=2, initial_backoff=0.001))
    kwargs.setdefault("upstream_url", UP)
    kwargs.setdefault("downstream_url", DOWN)
    return PrivicoreClient(api_url=API, **kwargs)


def any_query(base: str, path: str) -> re.Pattern[str]:
    return re.compile(re.escape(base + path) + r"(\?.*)?$")


def assert_form_call(call: Any, expected: dict[str, str]) -> None:
    sent = headers(call)
    assert sent["content-type"] == FORM_CT
    assert sent["x-dpt-authorization"] == TOKEN
    assert "authorization" not in sent
    assert form(call) == expected


def only_call(m: Any) -> Any:
    (call,) = [call for recorded in m.requests.values() for call in recorded]
    return call


def query_of(m: Any) -> tuple[str, str, list[tuple[str, str]]]:
    ((method, target),) = all_calls(m)
    split = urlsplit(target)
    return method, split.path, parse_qsl(split.query, keep_blank_values=True)


# -- reserve / retrieve temporary -------------------------------------------------------------


async def test_reserve_token_space_posts_context_ttl_and_meta() -> None:
    with mock_http() as m:
        m.post(API + RESERVE, status=202, payload={"commandId": "res-1"})
        m.post(API + "/request-status/res-1", payload="succeeded")
        async with make_client() as c:
            handle = await c.data_tokens.reserve_token_space("docs", ttl=5, meta="note")
            await handle
    assert handle.command_id == "res-1"
    (call,) = calls(m, "POST", RESERVE)
    assert_form_call(call, {"context": "docs", "ttl": "5", "meta": "note"})


async def test_reserve_token_space_omits_unset_options() -> None:
    with mock_http() as m:
        m.post(API + RESERVE, status=202, body='"res-2"')
        async with make_client() as c:
            handle = await c.data_tokens.reserve_token_space("docs")
            handle.cancel()
    (call,) = calls(m, "POST", RESERVE)
    assert_form_call(call, {"context": "docs"})


@pytest.mark.parametrize(
    ("kwargs", "argument", "field"),
    [
        ({"context": " "}, "context", "context"),
        ({"context": "d", "ttl": 0}, "ttl", "ttl"),
        ({"context": "d", "ttl": -1}, "ttl", "ttl"),
        ({"context": "d", "ttl": 61}, "ttl", "ttl"),
        ({"context": "d", "ttl": 5.0}, "ttl", "ttl"),
        ({"context": "d", "ttl": True}, "ttl", "ttl"),
        ({"context": "d", "meta": ""}, "meta", "meta"),
    ],
)
async def test_reserve_refuses_bad_input_and_sends_nothing(
    kwargs: dict[str, Any], argument: str, field: str
) -> None:
    with mock_http() as m:
        async with make_client() as c:
            with pytest.raises(errors.InvalidArgumentError) as info:
                await c.data_tokens.reserve_token_space(**kwargs)
    assert info.value.argument == argument
    assert field in info.value.errors
    assert all_calls(m) == []


async def test_retrieve_temporary_token_quotes_the_id_and_parses_the_object() -> None:
    with mock_http() as m:
        m.get(API + TEMPORARY + "a%2Fb", payload={"token": TMP, "stream": STREAM, "x": 1})
        async with make_client() as c:
            temporary = await c.data_tokens.retrieve_temporary_token("a/b")
    assert isinstance(temporary, TemporaryToken)
    assert (temporary.token, temporary.stream, temporary.extra) == (TMP, STREAM, {"x": 1})
    assert TMP not in repr(temporary)
    assert STREAM not in repr(temporary)
    call = only_call(m)
    sent = headers(call)
    assert sent["x-dpt-authorization"] == TOKEN
    assert "content-type" not in sent
    assert call.kwargs.get("data") is None


async def test_retrieve_temporary_token_accepts_a_bare_string() -> None:
    with mock_http() as m:
        m.get(API + TEMPORARY + "r-1", body=TMP)
        async with make_client() as c:
            temporary = await c.data_tokens.retrieve_temporary_token("r-1")
    assert (temporary.token, temporary.stream) == (TMP, None)


async def test_retrieve_temporary_token_awaits_the_reservation_handle_first() -> None:
    with mock_http() as m:
        m.post(API + RESERVE, status=202, body='["res-3"]')
        m.post(API + "/request-status/res-3", payload="started")
        m.post(API + "/request-status/res-3", payload="succeeded")
        m.get(API + TEMPORARY + "res-3", payload={"token": TMP, "stream": STREAM})
        async with make_client() as c:
            handle = await c.data_tokens.reserve_token_space("docs")
            temporary = await c.data_tokens.retrieve_temporary_token(handle)
    assert handle.status is CommandStatus.SUCCEEDED
    assert temporary.token == TMP
    order = [target for _, target in all_calls(m)]
    assert order.index(TEMPORARY + "res-3") == len(order) - 1


async def test_retrieve_temporary_token_after_a_rejected_reservation_sends_nothing() -> None:
    with mock_http() as m:
        m.post(API + RESERVE, status=202, body='"res-4"')
        m.post(API + "/request-status/res-4", payload="rejected")
        async with make_client() as c:
            handle = await c.data_tokens.reserve_token_space("docs")
            with pytest.raises(errors.CommandRejected):
                await c.data_tokens.retrieve_temporary_token(handle)
    assert count_gets(m) == 0


async def test_retrieve_temporary_token_after_a_reservation_without_id_sends_nothing() -> None:
    with mock_http() as m:
        m.post(API + RESERVE, status=202, body="")
        async with make_client() as c:
            handle = await c.data_tokens.reserve_token_space("docs")
            assert isinstance(handle, AcceptedCommand)
            with pytest.raises(errors.ProtocolError, match="carried no id"):
                await c.data_tokens.retrieve_temporary_token(handle)
    assert count_gets(m) == 0


def count_gets(m: Any) -> int:
    return sum(1 for method, _ in all_calls(m) if method == "GET")


@pytest.mark.parametrize("answer", [{"stream": STREAM}, ["x"], 42, None])
async def test_retrieve_temporary_token_bad_answer_is_protocol_error(answer: Any) -> None:
    with mock_http() as m:
        m.get(API + TEMPORARY + "r-1", payload=answer)
        async with make_client() as c:
            with pytest.raises(errors.ProtocolError):
                await c.data_tokens.retrieve_temporary_token("r-1")


async def test_retrieve_temporary_token_404_until_settled_is_not_found() -> None:
    with mock_http() as m:
        m.get(API + TEMPORARY + "r-1", status=404, payload={"message": "Record not found"})
        async with make_client() as c:
            with pytest.raises(errors.NotFoundError):
                await c.data_tokens.retrieve_temporary_token("r-1")


# -- exchange / upload --------------------------------------------------------------------------


async def test_exchange_sends_standard_base64_of_the_bytes() -> None:
    with mock_http() as m:
        m.post(API + EXCHANGE, status=202, payload={"commandId": "ex-1"})
        m.post(API + "/request-status/ex-1", payload="succeeded")
        async with make_client() as c:
            handle = await c.data_tokens.exchange(TemporaryToken(TMP, STREAM), WIRE)
            await handle
    (call,) = calls(m, "POST", EXCHANGE)
    assert_form_call(call, {"temporaryTokenSpace": TMP, "data": WIRE_B64})
    assert "+" in WIRE_B64 or "/" in WIRE_B64  # the standard alphabet, not the URL-safe one


@pytest.mark.parametrize(
    ("args", "argument"),
    [
        (("", WIRE), "temporary_token"),
        (("tmp a", WIRE), "temporary_token"),
        ((TMP, b""), "data"),
        ((TMP, "text"), "data"),
    ],
)
async def test_exchange_refuses_bad_input_and_sends_nothing(
    args: tuple[Any, ...], argument: str
) -> None:
    with mock_http() as m:
        async with make_client() as c:
            with pytest.raises(errors.InvalidArgumentError) as info:
                await c.data_tokens.exchange(*args)
    assert info.value.argument == argument
    assert all_calls(m) == []


async def test_upload_posts_raw_bytes_to_the_upstream_with_query_auth(
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.DEBUG, logger="privicore_async")
    with mock_http() as m:
        m.post(any_query(UP, "/"), payload={"message": "ok"})
        async with make_client() as c:
            assert await c.data_tokens.upload(STREAM, WIRE) is None
    method, path, query = query_of(m)
    assert (method, path, query) == ("POST", "/", [("auth", STREAM)])
    call = only_call(m)
    sent = headers(call)
    assert sent["content-type"] == "application/octet-stream"
    assert "x-dpt-authorization" not in sent
    assert "authorization" not in sent
    assert raw_body(call) == WIRE
    assert STREAM not in caplog.text


async def test_upload_uses_a_full_stream_url_as_is_and_the_model_stream() -> None:
    link = f"http://stream-7.test:8010/?auth={STREAM.replace('/', '%2F').replace('+', '%2B')}"
    with mock_http() as m:
        m.post(any_query("http://stream-7.test:8010", "/"), payload={"message": "ok"})
        async with make_client(upstream_url=None) as c:
            await c.data_tokens.upload(link, WIRE)
    ((method, target),) = all_calls(m)
    assert method == "POST"
    assert parse_qsl(urlsplit(target).query) == [("auth", STREAM)]
    with mock_http() as m:
        m.post(any_query(UP, "/"), payload={"message": "ok"})
        async with make_client() as c:
            await c.data_tokens.upload(TemporaryToken(TMP, "ST-1"), WIRE)
    assert query_of(m)[2] == [("auth", "ST-1")]


async def test_upload_streams_an_async_iterable_and_never_retries_it() -> None:
    async def chunks() -> AsyncIterator[bytes]:
        yield WIRE[:5]
        yield WIRE[5:]

    with mock_http() as m:
        m.post(any_query(UP, "/"), status=503, payload={"message": "busy"})
        async with make_client() as c:
            with pytest.raises(errors.ServerError):
                await c.data_tokens.upload(STREAM, chunks())
    assert len(all_calls(m)) == 1


async def test_upload_reused_stream_is_authentication_error_without_the_token() -> None:
    with mock_http() as m:
        m.post(any_query(UP, "/"), status=401, payload={"message": "Unauthorized"})
        async with make_client() as c:
            with pytest.raises(errors.AuthenticationError) as info:
                await c.data_tokens.upload(STREAM, WIRE)
    assert STREAM not in str(info.value)


@pytest.mark.parametrize(
    ("args", "argument"),
    [
        (("", WIRE), "stream"),
        (("ST 1", WIRE), "stream"),
        (("http://up.test/?x=1", WIRE), "stream"),
        ((STREAM, b""), "data"),
        ((TemporaryToken(TMP), WIRE), "stream"),
    ],
)
async def test_upload_refuses_bad_input_and_sends_nothing(
    args: tuple[Any, ...], argument: str
) -> None:
    with mock_http() as m:
        async with make_client() as c:
            with pytest.raises(errors.InvalidArgumentError) as info:
                await c.data_tokens.upload(*args)
    assert info.value.argument == argument
    assert all_calls(m) == []


async def test_upload_without_an_upstream_url_sends_nothing() -> None:
    with mock_http() as m:
        async with make_client(upstream_url=None) as c:
            with pytest.raises(errors.PrivicoreError, match="upstream"):
                await c.data_tokens.upload(STREAM, WIRE)
    assert all_calls(m) == []


# -- request data / download --------------------------------------------------------------------


async def test_request_data_reads_both_headers() -> None:
    answer_headers = {"x-dpt-cab-request-id": "req-1", "X-DPT-CAB-ID": "cmd-1"}
    with mock_http() as m:
        m.post(API + REQUEST, status=202, body="", headers=answer_headers)
        m.post(API + "/request-status/cmd-1", payload="succeeded")
        async with make_client() as c:
            request = await c.data_tokens.request_data(DataToken(DTK))
            await request.command_handle
    assert isinstance(request, DataRequest)
    assert request.request_id == "req-1"
    assert request.command_handle.command_id == "cmd-1"
    assert request.command_handle.status is CommandStatus.SUCCEEDED
    (call,) = calls(m, "POST", REQUEST)
    assert_form_call(call, {"token": DTK})
    assert "WebSocket" in (type(c.data_tokens).request_data.__doc__ or "")


async def test_request_data_without_a_command_header_gives_an_accepted_handle() -> None:
    with mock_http() as m:
        m.post(API + REQUEST, status=202, headers={"x-dpt-cab-request-id": "req-2"})
        async with make_client() as c:
            request = await c.data_tokens.request_data(DTK)
    assert request.command_handle.status is CommandStatus.ACCEPTED
    assert request.command_handle.done()
    assert isinstance(request.command_handle, AcceptedCommand)
    response = request.command_handle.response  # kept even without a command id
    assert response is not None
    assert (response.status, response.request_id) == (202, "req-2")


async def test_request_data_without_a_request_id_is_protocol_error() -> None:
    with mock_http() as m:
        m.post(API + REQUEST, status=202, headers={"x-dpt-cab-id": "cmd-1"})
        async with make_client() as c:
            with pytest.raises(errors.ProtocolError, match="x-dpt-cab-request-id"):
                await c.data_tokens.request_data(DTK)


async def test_request_data_unknown_token_is_not_found() -> None:
    with mock_http() as m:
        m.post(API + REQUEST, status=404, payload={"message": "Record not found"})
        async with make_client() as c:
            with pytest.raises(errors.NotFoundError):
                await c.data_tokens.request_data(DTK)


async def test_download_bare_token_goes_to_the_downstream_and_returns_bytes(
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.DEBUG, logger="privicore_async")
    binary = bytes(range(256))  # not UTF-8, not JSON: the raw bytes must come back
    with mock_http() as m:
        m.get(any_query(DOWN, "/"), body=binary, content_type="application/octet-stream")
        async with make_client() as c:
            data = await c.data_tokens.download("DS-1/+")
    assert data == binary
    assert query_of(m) == ("GET", "/", [("auth", "DS-1/+")])
    sent = headers(only_call(m))
    assert "x-dpt-authorization" not in sent
    assert "content-type" not in sent
    assert "DS-1/+" not in caplog.text


async def test_download_full_link_is_used_as_is_and_never_repeated() -> None:
    with mock_http() as m:
        m.get(any_query("http://dl-3.test:8011", "/"), status=503, payload={"message": "x"})
        async with make_client(downstream_url=None) as c:
            with pytest.raises(errors.ServerError) as info:
                await c.data_tokens.download("http://dl-3.test:8011/?auth=DS-9")
    assert len(all_calls(m)) == 1  # single-use token: a GET that reached the server is final
    assert query_of(m)[2] == [("auth", "DS-9")]
    assert "DS-9" not in str(info.value)


@pytest.mark.parametrize("link", ["", " ", "DS 1", "https://dl.test/?auth="])
async def test_download_refuses_bad_links_and_sends_nothing(link: str) -> None:
    with mock_http() as m:
        async with make_client() as c:
            with pytest.raises(errors.InvalidArgumentError) as info:
                await c.data_tokens.download(link)
    assert info.value.argument == "link"
    assert all_calls(m) == []


# -- metadata -----------------------------------------------------------------------------------


async def test_configure_information_security_risk_meta_sends_free_fields() -> None:
    with mock_http() as m:
        m.post(API + RISK, status=202, body='"risk-1"')
        m.post(API + "/request-status/risk-1", payload="succeeded")
        async with make_client() as c:
            handle = await c.data_tokens.configure_information_security_risk_meta(
                DTK, classification="confidential", retention_days=365, retentionLevel=2, pii=True
            )
            await handle
    (call,) = calls(m, "POST", RISK)
    assert_form_call(
        call,
        {
            "token": DTK,
            "classification": "confidential",
            "retentionDays": "365",
            "retentionLevel": "2",
            "pii": "1",
        },
    )


@pytest.mark.parametrize(
    ("token", "fields", "argument"),
    [
        ("", {}, "token"),
        (DTK, {"level": [1]}, "level"),
        (DTK, {"level": None}, "level"),
    ],
)
async def test_risk_meta_refuses_bad_input_and_sends_nothing(
    token: str, fields: dict[str, Any], argument: str
) -> None:
    with mock_http() as m:
        async with make_client() as c:
            with pytest.raises(errors.InvalidArgumentError) as info:
                await c.data_tokens.configure_information_security_risk_meta(token, **fields)
    assert info.value.argument == argument
    assert all_calls(m) == []


@pytest.mark.parametrize("answer", [{"token": DTK}, DTK, f'"{DTK}"'])
async def test_configure_file_meta_returns_the_permanent_token(answer: Any) -> None:
    with mock_http() as m:
        if isinstance(answer, dict):
            m.post(API + FILE_META, payload=answer)
        else:
            m.post(API + FILE_META, body=answer)
        async with make_client() as c:
            token = await c.data_tokens.configure_file_meta(
                TMP, file_name="hello", extension="txt", context="docs", size=11
            )
    assert token == DTK
    (call,) = calls(m, "POST", FILE_META)
    assert_form_call(
        call,
        {
            "token": TMP,
            "fileName": "hello",
            "extension": "txt",
            "context": "docs",
            "size": "11",
            "path": "/",
        },
    )


@pytest.mark.parametrize("answer", [{"tok": DTK}, {"token": ""}, [DTK], None])
async def test_configure_file_meta_without_a_token_is_protocol_error(answer: Any) -> None:
    with mock_http() as m:
        m.post(API + FILE_META, payload=answer)
        async with make_client() as c:
            with pytest.raises(errors.ProtocolError):
                await c.data_tokens.configure_file_meta(
                    TMP, file_name="a", extension="b", context="c", size=1
                )


@pytest.mark.parametrize(
    ("kwargs", "argument"),
    [
        ({"file_name": ""}, "file_name"),
        ({"extension": " "}, "extension"),
        ({"context": ""}, "context"),
        ({"size": -1}, "size"),
        ({"size": "11"}, "size"),
        ({"path": ""}, "path"),
    ],
)
async def test_configure_file_meta_refuses_bad_input_and_sends_nothing(
    kwargs: dict[str, Any], argument: str
) -> None:
    arguments: dict[str, Any] = {"file_name": "a", "extension": "b", "context": "c", "size": 1}
    arguments.update(kwargs)
    with mock_http() as m:
        async with make_client() as c:
            with pytest.raises(errors.InvalidArgumentError) as info:
                await c.data_tokens.configure_file_meta(TMP, **arguments)
    assert info.value.argument == argument
    assert all_calls(m) == []


# -- list / iterate -----------------------------------------------------------------------------


def item(n: int) -> dict[str, Any]:
    return {
        "token": f"dtk-{n}",
        "context": "docs",
        "fileName": f"f{n}",
        "extension": "txt",
        "size": n,
        "createdAt": "2026-02-21T15:33:44+00:00",
        "owner": "p-1",
    }


async def test_list_sends_page_and_per_page_and_parses_items_and_meta() -> None:
    answer = {"items": [item(1)], "meta": {"count": 1, "page": 2, "perPage": 5}}
    with mock_http() as m:
        m.get(any_query(API, LIST), payload=answer)
        async with make_client() as c:
            page = await c.data_tokens.list(page=2, per_page=5)
    assert query_of(m) == ("GET", LIST, [("page", "2"), ("perPage", "5")])
    assert headers(only_call(m))["x-dpt-authorization"] == TOKEN
    assert isinstance(page, DataTokenPage)
    (token,) = page.items
    assert (token.token, token.file_name, token.size, token.extra) == (
        "dtk-1",
        "f1",
        1,
        {"owner": "p-1"},
    )
    assert token.created_at is not None
    assert token.created_at.year == 2026
    assert page.meta is not None
    assert (page.meta.count, page.meta.page, page.meta.per_page) == (1, 2, 5)


async def test_list_without_arguments_sends_no_query_and_accepts_a_bare_list() -> None:
    with mock_http() as m:
        m.get(any_query(API, LIST), payload=[item(1), item(2)])
        async with make_client() as c:
            page = await c.data_tokens.list()
    assert query_of(m) == ("GET", LIST, [])
    assert [t.token for t in page.items] == ["dtk-1", "dtk-2"]
    assert page.meta is None


@pytest.mark.parametrize("answer", [{"meta": {}}, {"items": [{"fileName": "x"}]}, "nope"])
async def test_list_bad_answer_is_protocol_error(answer: Any) -> None:
    with mock_http() as m:
        m.get(any_query(API, LIST), payload=answer)
        async with make_client() as c:
            with pytest.raises(errors.ProtocolError):
                await c.data_tokens.list()


@pytest.mark.parametrize(
    ("kwargs", "argument"), [({"page": 0}, "page"), ({"per_page": 0}, "per_page")]
)
async def test_list_refuses_bad_input_and_sends_nothing(
    kwargs: dict[str, Any], argument: str
) -> None:
    with mock_http() as m:
        async with make_client() as c:
            with pytest.raises(errors.InvalidArgumentError) as info:
                await c.data_tokens.list(**kwargs)
    assert info.value.argument == argument
    assert all_calls(m) == []


async def test_iterate_walks_pages_until_a_short_one() -> None:
    pages = [[item(1), item(2)], [item(3), item(4)], [item(5)]]
    with mock_http() as m:
        for number, items in enumerate(pages, start=1):
            m.get(
                API + LIST + f"?page={number}&perPage=2",
                payload={"items": items, "meta": {"count": 5, "page": number, "perPage": 2}},
            )
        async with make_client() as c:
            tokens = [t.token async for t in c.data_tokens.iterate(per_page=2)]
    assert tokens == [f"dtk-{n}" for n in range(1, 6)]
    assert len(all_calls(m)) == 3


async def test_iterate_stops_at_the_count_and_on_an_empty_page() -> None:
    with mock_http() as m:
        m.get(
            API + LIST + "?page=1&perPage=2",
            payload={"items": [item(1), item(2)], "meta": {"count": 2}},
        )
        async with make_client() as c:
            assert [t.token async for t in c.data_tokens.iterate(per_page=2)] == ["dtk-1", "dtk-2"]
    assert len(all_calls(m)) == 1
    with mock_http() as m:
        m.get(API + LIST + "?page=1&perPage=2", payload=[item(1), item(2)])
        m.get(API + LIST + "?page=2&perPage=2", payload=[])
        async with make_client() as c:
            assert len([t async for t in c.data_tokens.iterate(per_page=2)]) == 2
    assert len(all_calls(m)) == 2


async def test_iterate_refuses_a_server_that_ignores_the_page() -> None:
    with mock_http() as m:
        m.get(any_query(API, LIST), payload=[item(1), item(2)], repeat=True)
        async with make_client() as c:
            with pytest.raises(errors.ProtocolError, match="repeats"):
                _ = [t async for t in c.data_tokens.iterate(per_page=2)]
    assert len(all_calls(m)) == 2


async def test_iterate_refuses_a_bad_per_page_before_sending() -> None:
    with mock_http() as m:
        async with make_client() as c:
            with pytest.raises(errors.InvalidArgumentError):
                _ = [t async for t in c.data_tokens.iterate(per_page=0)]
    assert all_calls(m) == []


# -- update / delete ----------------------------------------------------------------------------


async def test_update_sends_only_the_given_fields() -> None:
    with mock_http() as m:
        m.post(API + UPDATE, status=202, payload={"commandId": "up-1"})
        m.post(API + "/request-status/up-1", payload="succeeded")
        async with make_client() as c:
            await (await c.data_tokens.update(DTK, file_name="b", context="mail"))
    (call,) = calls(m, "POST", UPDATE)
    assert_form_call(call, {"token": DTK, "fileName": "b", "context": "mail"})


@pytest.mark.parametrize(
    ("token", "kwargs", "argument"),
    [
        (DTK, {}, "file_name"),
        (DTK, {"extension": ""}, "extension"),
        ("", {"file_name": "a"}, "token"),
    ],
)
async def test_update_refuses_bad_input_and_sends_nothing(
    token: str, kwargs: dict[str, Any], argument: str
) -> None:
    with mock_http() as m:
        async with make_client() as c:
            with pytest.raises(errors.InvalidArgumentError) as info:
                await c.data_tokens.update(token, **kwargs)
    assert info.value.argument == argument
    assert all_calls(m) == []


async def test_delete_posts_the_token() -> None:
    with mock_http() as m:
        m.post(API + DELETE, status=202, body='["del-1"]')
        m.post(API + "/request-status/del-1", payload="succeeded")
        async with make_client() as c:
            result = await (await c.data_tokens.delete(DataToken(DTK)))
    assert result.command_id == "del-1"
    (call,) = calls(m, "POST", DELETE)
    assert_form_call(call, {"token": DTK})


@pytest.mark.parametrize("token", ["", " ", "dtk x", None])
async def test_delete_and_request_data_refuse_blank_tokens(token: Any) -> None:
    with mock_http() as m:
        async with make_client() as c:
            for method in (c.data_tokens.delete, c.data_tokens.request_data):
                with pytest.raises(errors.InvalidArgumentError) as info:
                    await method(token)
                assert info.value.argument == "token"
                assert "token" in info.value.errors
    assert all_calls(m) == []
