"""Data tokens (wire reference §c4, §c5) end to end against the sandbox: store through exchange
and through the upstream host, read back through request-data and the downstream host."""

from __future__ import annotations

import base64
import time
from collections.abc import AsyncIterator

import pytest

from privicore_async import CommandStatus, PrivicoreClient, errors
from privicore_async.models import DataToken, TemporaryToken
from privicore_async.sandbox import Sandbox

from .conftest import (
    LEGACY_STATUS,
    PASSWORD,
    Provisioned,
    make_client,
    onboard_storage,
    register_profile,
    unique_username,
)

# The wire reference's AES-GCM test vector (§a9): opaque ciphertext, stored as given.
WIRE = base64.b64decode("AAECAwQFBgcICQoLL2e6d6rFtXT/LfMFMBxWQ34jd7mO85YcJxko")


@pytest.fixture
async def data_client(provisioned: Provisioned) -> AsyncIterator[PrivicoreClient]:
    """A client of the provisioned profile that knows the upstream and downstream hosts,
    with one storage device (exchange needs one)."""
    sb = provisioned.sb
    async with make_client(
        sb,
        username=provisioned.username,
        password=PASSWORD,
        upstream_url=sb.upstream_url,
        downstream_url=sb.downstream_url,
    ) as client:
        await onboard_storage(client, 1)
        yield client


async def _reserve(client: PrivicoreClient, context: str = "docs") -> TemporaryToken:
    handle = await client.data_tokens.reserve_token_space(context, ttl=5, meta="m")
    return await client.data_tokens.retrieve_temporary_token(handle)


async def _read_back(sb: Sandbox, client: PrivicoreClient, token: str) -> bytes:
    request = await client.data_tokens.request_data(token)
    result = await request.command_handle
    assert result.status is CommandStatus.SUCCEEDED
    return await client.data_tokens.download(sb.downstream_link(request.request_id))


async def test_store_through_exchange_and_read_back(
    provisioned: Provisioned, data_client: PrivicoreClient
) -> None:
    sb, tokens = provisioned.sb, data_client.data_tokens
    reserved = await tokens.reserve_token_space("docs", ttl=5, meta="m")
    # Before the reservation settled the server answers 404; with the handle the SDK waits.
    assert reserved.command_id is not None
    with pytest.raises(errors.NotFoundError):
        await tokens.retrieve_temporary_token(reserved.command_id)
    temporary = await tokens.retrieve_temporary_token(reserved)
    assert temporary.token.startswith("tmp-")
    assert temporary.stream is not None
    space = sb.state.data_tokens.spaces[reserved.command_id]
    assert (space.profile_id, space.context, space.meta) == (provisioned.profile_id, "docs", "m")
    assert 4 * 60 < space.expires_at - time.time() <= 5 * 60

    # configure-file-meta before any data is stored: 422.
    with pytest.raises(errors.ValidationError) as empty:
        await tokens.configure_file_meta(
            temporary, file_name="a", extension="bin", context="docs", size=11
        )
    assert empty.value.errors == {"token": ["data_token.no_data"]}

    exchanged = await tokens.exchange(temporary, WIRE)
    assert (await exchanged).status is CommandStatus.SUCCEEDED
    assert space.data == WIRE
    permanent = await tokens.configure_file_meta(
        temporary.token, file_name="hello", extension="txt", context="docs", size=11, path="/a"
    )
    assert permanent.startswith("dtk-")
    assert sb.state.data_tokens.tokens[permanent] is space
    assert (space.file_name, space.extension, space.size, space.path) == ("hello", "txt", 11, "/a")

    assert await _read_back(sb, data_client, permanent) == WIRE
    # The downstream token works once.
    request = await tokens.request_data(permanent)
    await request.command_handle
    link = sb.downstream_link(request.request_id)
    assert await tokens.download(link) == WIRE
    with pytest.raises(errors.AuthenticationError):
        await tokens.download(link)


async def test_store_through_upload_and_read_back(
    provisioned: Provisioned, data_client: PrivicoreClient
) -> None:
    sb, tokens = provisioned.sb, data_client.data_tokens
    big = bytes(range(256)) * 400  # > 50 KB: the upstream path
    temporary = await _reserve(data_client)
    assert temporary.stream is not None
    await tokens.upload(temporary.stream, big)
    # The stream token is single-use.
    with pytest.raises(errors.AuthenticationError):
        await tokens.upload(temporary.stream, b"again")
    permanent = await tokens.configure_file_meta(
        temporary, file_name="big", extension="bin", context="docs", size=len(big) - 28
    )
    assert sb.state.data_tokens.tokens[permanent].data == big
    assert await _read_back(sb, data_client, permanent) == big
    assert sb.stats.requests["data_tokens.upload"] == 2
    assert sb.stats.requests["data_tokens.download"] == 1


async def test_upload_to_a_full_stream_url_and_streamed_chunks(
    provisioned: Provisioned, client: PrivicoreClient
) -> None:
    # No upstream_url configured: the full link is used as is, the body streamed in chunks.
    sb = provisioned.sb
    await onboard_storage(client, 1)
    temporary = await _reserve(client)

    async def chunks() -> AsyncIterator[bytes]:
        yield WIRE[:10]
        yield WIRE[10:]

    await client.data_tokens.upload(f"{sb.upstream_url}/?auth={temporary.stream}", chunks())
    permanent = await client.data_tokens.configure_file_meta(
        temporary, file_name="x", extension="bin", context="docs", size=11
    )
    assert sb.state.data_tokens.tokens[permanent].data == WIRE
    with pytest.raises(errors.AuthenticationError):
        await client.data_tokens.upload(f"{sb.upstream_url}/?auth=ST-unknown", WIRE)


@LEGACY_STATUS
async def test_exchange_without_a_storage_device_is_rejected(
    provisioned: Provisioned, client: PrivicoreClient
) -> None:
    temporary = await _reserve(client)
    handle = await client.data_tokens.exchange(temporary, WIRE)
    with pytest.raises(errors.CommandRejected) as info:
        await handle
    assert info.value.reason == "storage.no_storage_devices"
    space = provisioned.sb.state.data_tokens.temporary[temporary.token]
    assert space.data is None


async def test_exchange_refuses_bad_base64_and_unknown_spaces(
    provisioned: Provisioned, data_client: PrivicoreClient
) -> None:
    # The SDK always sends valid base64, so the sandbox's 422 is checked with a raw call.
    sb = provisioned.sb
    temporary = await _reserve(data_client)
    with pytest.raises(errors.ValidationError) as info:
        await data_client.transport.request(
            data_client.routes["data_tokens.exchange"],
            tokens=data_client.tokens,
            fields={"temporaryTokenSpace": temporary.token, "data": "!!"},
        )
    assert info.value.errors == {"data": ["This value is not valid base64."]}
    with pytest.raises(errors.NotFoundError):
        await data_client.data_tokens.exchange("tmp-unknown", WIRE)
    # An expired space is unknown too.
    sb.state.data_tokens.temporary[temporary.token].expires_at = time.time() - 1
    with pytest.raises(errors.NotFoundError):
        await data_client.data_tokens.exchange(temporary, WIRE)


@LEGACY_STATUS
async def test_update_risk_meta_list_and_delete(
    provisioned: Provisioned, data_client: PrivicoreClient
) -> None:
    sb, tokens = provisioned.sb, data_client.data_tokens
    temporary = await _reserve(data_client)
    await (await tokens.exchange(temporary, WIRE))
    permanent = await tokens.configure_file_meta(
        temporary, file_name="a", extension="txt", context="docs", size=11
    )
    space = sb.state.data_tokens.tokens[permanent]

    await (await tokens.update(permanent, file_name="b", context="mail"))
    assert (space.file_name, space.extension, space.context) == ("b", "txt", "mail")
    await (
        await tokens.configure_information_security_risk_meta(
            permanent, classification="confidential", retention_days=365
        )
    )
    assert space.risk_meta == {"classification": "confidential", "retentionDays": "365"}

    page = await tokens.list()
    assert [item.token for item in page.items] == [permanent]
    assert page.items[0].file_name == "b"
    assert page.meta is not None
    assert (page.meta.count, page.meta.page, page.meta.per_page) == (1, 1, 20)

    await (await tokens.delete(permanent))
    assert permanent not in sb.state.data_tokens.tokens
    with pytest.raises(errors.NotFoundError):
        await tokens.request_data(permanent)
    # Commands about a token that is gone are rejected when they settle.
    for handle in (
        await tokens.delete(permanent),
        await tokens.update(permanent, extension="md"),
        await tokens.configure_information_security_risk_meta(permanent, level=1),
    ):
        with pytest.raises(errors.CommandRejected) as info:
            await handle
        assert info.value.reason == "data_token.not_found"
    assert (await tokens.list()).items == []


async def test_iterate_pages_over_25_tokens(
    provisioned: Provisioned, data_client: PrivicoreClient
) -> None:
    sb, tokens = provisioned.sb, data_client.data_tokens
    made = []
    for i in range(25):
        temporary = await _reserve(data_client)
        await tokens.upload(temporary, WIRE + bytes([i]))
        made.append(
            await tokens.configure_file_meta(
                temporary, file_name=f"f{i}", extension="bin", context="docs", size=12
            )
        )
    before = sb.stats.requests["data_tokens.list"]
    seen = [item async for item in tokens.iterate(per_page=10)]
    assert [item.token for item in seen] == made
    assert all(isinstance(item, DataToken) for item in seen)
    assert sb.stats.requests["data_tokens.list"] - before == 3  # 10 + 10 + 5
    page = await tokens.list(page=3, per_page=10)
    assert [item.file_name for item in page.items] == [f"f{i}" for i in range(20, 25)]


async def test_tokens_are_scoped_to_their_profile(
    provisioned: Provisioned, data_client: PrivicoreClient
) -> None:
    sb = provisioned.sb
    reserved = await data_client.data_tokens.reserve_token_space("docs")
    temporary = await data_client.data_tokens.retrieve_temporary_token(reserved)
    assert reserved.command_id is not None
    await (await data_client.data_tokens.exchange(temporary, WIRE))
    permanent = await data_client.data_tokens.configure_file_meta(
        temporary, file_name="a", extension="b", context="c", size=1
    )
    other = unique_username()
    await register_profile(sb, other)
    async with make_client(sb, username=other, password=PASSWORD) as stranger:
        with pytest.raises(errors.NotFoundError):
            await stranger.data_tokens.request_data(permanent)
        with pytest.raises(errors.NotFoundError):
            await stranger.data_tokens.retrieve_temporary_token(reserved.command_id)
        with pytest.raises(errors.NotFoundError):
            await stranger.data_tokens.exchange(temporary, WIRE)
        assert (await stranger.data_tokens.list()).items == []


@pytest.mark.parametrize(
    ("call", "argument"),
    [
        (lambda t: t.reserve_token_space("docs", ttl=-1), "ttl"),
        (lambda t: t.reserve_token_space("docs", ttl=61), "ttl"),
        (lambda t: t.request_data(" "), "token"),
        (lambda t: t.delete(""), "token"),
        (lambda t: t.exchange("tmp-x", b""), "data"),
    ],
)
async def test_bad_input_is_refused_with_nothing_sent(
    provisioned: Provisioned, call: object, argument: str
) -> None:
    sb = provisioned.sb
    async with make_client(sb, username=provisioned.username, password=PASSWORD) as client:
        before = sum(sb.stats.requests.values())
        with pytest.raises(errors.InvalidArgumentError) as info:
            await call(client.data_tokens)  # type: ignore[operator]
        assert info.value.argument == argument
        assert sum(sb.stats.requests.values()) == before
