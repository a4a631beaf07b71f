"""A user's app around the bulk helpers and flows, annotated with ``privicore_async.types``.

Type-checked with ``mypy --strict`` by ``test_user_app.py``, never run.
"""

from __future__ import annotations

import secrets
from typing import assert_type

from privicore_async import PrivicoreClient
from privicore_async.types import (
    JSON,
    AuthorizationRequest,
    DataKey,
    DataRequest,
    DeviceSyncOutcome,
    KeyPair,
    Progress,
    ProgressCallback,
    StoredData,
    StoreProgress,
    StoreReport,
    StoreRequest,
    SyncOutcome,
    SyncProgress,
    SyncReport,
)


def show(progress: Progress) -> None:
    """One progress function for every bulk helper."""
    print(f"{progress.done}/{progress.total}", end="\r")


def show_sync(progress: SyncProgress) -> None:
    print(progress.rejected, progress.in_doubt)


async def bulk(client: PrivicoreClient, device_ids: list[str], key: DataKey) -> None:
    every: ProgressCallback[Progress] = show
    report = await client.storage.sync_devices(device_ids, on_progress=every)
    assert_type(report, SyncReport)
    report = await client.storage.sync_devices(device_ids, on_progress=show_sync)
    line: DeviceSyncOutcome
    for line in report.by_outcome(SyncOutcome.REJECTED):
        assert_type(line.reason, JSON)
        assert_type(line.command_id, str | None)  # FAILED lines never got one
    items = [StoreRequest(b"payload", key, context="demo", file_name=f"f{i}.bin") for i in range(3)]
    stored = await client.vault.store_many(items, on_progress=show)
    assert_type(stored, StoreReport)
    assert_type(stored.counts(), dict[str, int])
    seen: list[StoreProgress] = []
    await client.vault.store_many(items, on_progress=seen.append)
    first: StoredData = stored.stored[0]
    print(first.token)


async def directories(client: PrivicoreClient) -> None:
    handle = await client.directories.register("Acme staff", "acme")
    await handle
    directory_id = handle.command_id  # the directory's id is its command's: a str
    created = await client.directories.create_user(
        directory_id, username="alice", given_name="Alice", family_name="Liddell"
    )
    await created
    await (await client.directories.store_meta(directory_id, {"region": "eu", "seats": 3}))


async def oauth(client: PrivicoreClient, client_id: str, client_secret: str) -> None:
    request = await client.oauth.request_authorization_code(client_id, ["profile"])
    assert_type(request, AuthorizationRequest)
    await request.handle
    code = await client.oauth.retrieve_authorization_code(
        request.request_id, request.nonce, client_id=client_id, client_secret=client_secret
    )
    print(code)


async def data(client: PrivicoreClient, token: str) -> None:
    request = await client.data_tokens.request_data(token)
    assert_type(request, DataRequest)
    if client.acks is not None:  # optional: the channel exists only with a ws_url
        message = await client.acks.wait_request(request.request_id, timeout=10)
        print(message.output_type)


def keys() -> tuple[DataKey, KeyPair]:
    return DataKey.generate(), KeyPair.generate()


def nonce() -> str:
    return secrets.token_urlsafe(8)
