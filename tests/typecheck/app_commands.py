"""A user's app around commands, as the README writes it, with no ``assert x is not None``.

Type-checked with ``mypy --strict`` by ``test_user_app.py``, never run: every ``assert_type``
pins the type a user's code sees.
"""

from __future__ import annotations

import asyncio
from typing import assert_type

from privicore_async import (
    JSON,
    AcceptedCommand,
    CommandHandle,
    CommandResponse,
    CommandResult,
    CommandStatus,
    PrivicoreClient,
    as_completed,
    errors,
    gather,
)


def save(command_id: str) -> None:
    print("saved", command_id)


async def one_command(client: PrivicoreClient, device_id: str) -> str:
    handle = await client.storage.sync_device(device_id)
    assert_type(handle, CommandHandle)
    assert_type(handle.has_id, bool)
    assert_type(handle.response, CommandResponse | None)
    if isinstance(handle, AcceptedCommand):  # the rare 202 that named no command
        assert_type(handle.status, CommandStatus)
        return "accepted, nothing to follow"
    save(handle.command_id)  # a str: no assert needed
    result = await handle
    assert_type(result, CommandResult)
    assert_type(result.command_id, str | None)  # None only for an ACCEPTED result
    assert_type(result.body, JSON)
    if isinstance(result.body, dict):
        print(result.body.get("message"))
    if handle.response is not None:
        assert_type(handle.response.status, int)
        assert_type(handle.response.request_id, str | None)
        print(handle.response.headers.get("date"))
    resumed = client.commands.resume(handle.command_id)
    assert_type(resumed.command_id, str)
    return result.status.value


async def many_commands(client: PrivicoreClient, device_ids: list[str]) -> None:
    handles = [await client.storage.sync_device(d) for d in device_ids]
    results = await gather(*handles, timeout=60)
    assert_type(results, list[CommandResult])
    print([r.command_id for r in results if r.has_id])
    outcomes = await gather(*handles, timeout=60, return_exceptions=True)
    assert_type(outcomes, list[CommandResult | BaseException])
    for outcome in outcomes:
        if isinstance(outcome, errors.CommandRejected):
            print(outcome.reason)
        elif isinstance(outcome, CommandResult):
            print(outcome.status)
    async for handle in as_completed(handles, timeout=60):
        assert_type(handle, CommandHandle)
        print(handle.command_id if handle.has_id else "-", handle.status)


async def after_close(client: PrivicoreClient, handle: CommandHandle) -> None:
    await client.close()
    try:
        await handle
    except errors.ClientClosedError as exc:  # not a CancelledError: the task goes on
        assert_type(exc.command_id, str | None)


async def main() -> None:
    async with PrivicoreClient() as client:
        ids = [device.device_identifier for device in await client.storage.list()]
        print(await one_command(client, ids[0]))
        await many_commands(client, ids)


if __name__ == "__main__":
    asyncio.run(main())
