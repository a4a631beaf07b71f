"""``GET /_sandbox/due``: when each pending command is scheduled to settle (wall clock)."""

from __future__ import annotations

import time
from typing import Any

from .api import Api, serving


async def due(api: Api) -> dict[str, Any]:
    url = api.sb.api_url + "/_sandbox/due"
    async with api.http.get(url, headers={"X-Sandbox-Token": api.sb.admin_token}) as resp:
        assert resp.status == 200
        result: dict[str, Any] = await resp.json()
        return result


async def test_due_lists_every_pending_command_at_its_scheduled_wall_time() -> None:
    async with serving() as api:
        token = await api.profile()
        device = await api.storage_device(token)
        assert await due(api) == {}  # everything so far has settled
        api.sb.latency, api.sb.jitter = 0.3, 0.2
        before = time.time()
        ids = [
            await api.command("storage.sync_device", {"deviceIdentifier": device}, token)
            for _ in range(3)
        ]
        after = time.time()
        pending = await due(api)
        assert set(pending) == set(ids)
        for cid in ids:
            command = api.sb.state.commands[cid]
            assert pending[cid] == command.due_at == api.sb.due()[cid]
            assert before + 0.3 <= pending[cid] <= after + 0.5
        first = min(ids, key=pending.__getitem__)
        settled = await api.settled(first)
        assert settled.settled_at is not None
        # Settles at its due time (the engine's timer may run one clock resolution early).
        assert -0.005 <= settled.settled_at - pending[first] < 0.25
        assert first not in await due(api)
        for cid in ids:
            await api.settled(cid)
        assert await due(api) == {}
        assert all(api.sb.state.commands[cid].due_at == pending[cid] for cid in ids)


async def test_a_lost_command_is_never_due() -> None:
    async with serving() as api:
        token = await api.profile()
        device = await api.storage_device(token)
        api.sb.latency = 5.0
        api.sb.inject("storage.sync_device", "lost")
        lost = await api.command("storage.sync_device", {"deviceIdentifier": device}, token)
        kept = await api.command("storage.sync_device", {"deviceIdentifier": device}, token)
        assert api.sb.state.commands[lost].due_at is None
        assert set(await due(api)) == {kept}
