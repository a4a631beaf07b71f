"""``wait_for_run`` without Redis: a cancellation lost in a journal read still ends it."""

from __future__ import annotations

import asyncio

import pytest

from privicore_async.contrib.progress import wait_for_run
from privicore_async.journal import Intent, MemoryJournal
from privicore_async.resources.bulk_sync import KIND
from tests.contrib.lost_cancel import LosesOneCancel


async def test_a_timeout_ends_the_wait_although_a_journal_read_lost_its_cancellation(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    journal = MemoryJournal()
    await journal.open()
    await journal.intend(Intent("k1", KIND, "dev-1", "stuck"))  # never settles
    entries = LosesOneCancel(journal.entries)
    monkeypatch.setattr(journal, "entries", entries)

    async def wait() -> None:
        async with asyncio.timeout(0.1):  # lands in the first read (it takes 0.2 s)
            await wait_for_run(journal, "stuck", 1, poll=0.01)

    waiting = asyncio.create_task(wait())
    done, _ = await asyncio.wait({waiting}, timeout=5)
    assert entries.lost
    assert done == {waiting}, "wait_for_run reads on after its cancellation"
    with pytest.raises(TimeoutError):
        waiting.result()
    await journal.close()
