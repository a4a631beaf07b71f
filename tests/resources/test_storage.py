"""resources/storage.py: storage devices listed and synced, pinned on the wire."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from privicore_async import CommandStatus, errors
from privicore_async.models import StorageDevice
from tests.client_helpers import STORAGE_LIST, assert_get_call, make_client
from tests.wire_mock import API, all_calls, calls, mock_http


async def test_sync_device_header_only_answer_is_tracked() -> None:
    # The seed documents sync-device as 202 with no body; the id only in x-dpt-cab-id.
    with mock_http() as m:
        m.post(API + "/storage/sync-device", status=202, body="", headers={"x-dpt-cab-id": "cmd-s"})
        m.post(API + "/request-status/cmd-s", payload="succeeded")
        async with make_client() as c:
            handle = await c.storage.sync_device("dev-1")
            assert handle.command_id == "cmd-s"
            result = await handle
    assert result.status is CommandStatus.SUCCEEDED
    assert all_calls(m) == [("POST", "/storage/sync-device"), ("POST", "/request-status/cmd-s")]


async def test_storage_list_models() -> None:
    answer = [
        {"deviceIdentifier": "s-1", "name": "NAS", "online": True,
         "registeredAt": "2026-03-04T05:06:07Z", "quotaGb": 500},
        {"deviceIdentifier": 1234},
    ]  # fmt: skip
    with mock_http() as m:
        m.get(API + STORAGE_LIST, payload=answer)
        async with make_client() as c:
            devices = await c.storage.list()
    assert devices == [
        StorageDevice(
            "s-1", "NAS", True, datetime(2026, 3, 4, 5, 6, 7, tzinfo=UTC), {"quotaGb": 500}
        ),
        StorageDevice("1234"),
    ]
    assert_get_call(calls(m, "GET", STORAGE_LIST)[0])


async def test_storage_list_missing_identifier_is_protocol_error() -> None:
    with mock_http() as m:
        m.get(API + STORAGE_LIST, payload=[{"name": "NAS"}])
        async with make_client() as c:
            with pytest.raises(errors.ProtocolError, match=r"storage\.list"):
                await c.storage.list()
