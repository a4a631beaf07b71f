"""The CommandJournal contract, one suite run against every store: memory, SQLite, Redis.

Each test gets ``store``: a function that makes a journal object on one store (a fresh object
on the same file or the same Redis namespace; for memory, the one object that is the store).
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any

import pytest

from privicore_async.journal import (
    CommandJournal,
    EntryState,
    Intent,
    JournalEntry,
    JournalError,
    MemoryJournal,
    Outcome,
    RedisJournal,
    SqliteJournal,
)

KIND = "storage.sync_device"
Store = Callable[[], CommandJournal]


@pytest.fixture(params=["memory", "sqlite", "redis"])
def store(request: pytest.FixtureRequest, tmp_path: Path) -> Store:
    if request.param == "memory":
        memory = MemoryJournal()
        return lambda: memory
    if request.param == "sqlite":
        return lambda: SqliteJournal(tmp_path / "journal.db")
    url: str = request.getfixturevalue("redis_clean")  # a real redis-server, emptied
    return lambda: RedisJournal(url)


@pytest.fixture
async def journal(store: Store) -> AsyncIterator[CommandJournal]:
    opened = store()
    await opened.open()
    yield opened
    await opened.close()


def group_committing(journal: CommandJournal) -> bool:
    return isinstance(journal, SqliteJournal | RedisJournal)


async def entry(journal: CommandJournal, key: str) -> JournalEntry:
    found = await journal.get(key)
    assert found is not None, key
    return found


async def test_an_entry_goes_from_intent_to_accepted_to_settled(journal: CommandJournal) -> None:
    deadline = time.time() + 600.123456
    before = time.time()
    await journal.intend(Intent("run-1/dev-1", KIND, "dev-1", "run-1", deadline))
    intended = await entry(journal, "run-1/dev-1")
    assert intended == JournalEntry(
        key="run-1/dev-1",
        kind=KIND,
        state=EntryState.INTENT,
        target="dev-1",
        run_id="run-1",
        deadline=deadline,  # exactly: no float lost its last digits on the way
        created_at=intended.created_at,
        updated_at=intended.created_at,
    )
    assert intended.in_doubt
    assert before <= intended.created_at <= time.time()

    await journal.accept("run-1/dev-1", "cmd-1")
    accepted = await entry(journal, "run-1/dev-1")
    assert (accepted.state, accepted.command_id, accepted.outcome) == (
        EntryState.ACCEPTED,
        "cmd-1",
        None,
    )
    assert not accepted.in_doubt

    await journal.settle("run-1/dev-1", Outcome.REJECTED, {"code": "device.offline"})
    settled = await entry(journal, "run-1/dev-1")
    assert settled == JournalEntry(
        key="run-1/dev-1",
        kind=KIND,
        state=EntryState.SETTLED,
        target="dev-1",
        run_id="run-1",
        deadline=deadline,
        command_id="cmd-1",
        outcome=Outcome.REJECTED,
        reason={"code": "device.offline"},
        created_at=intended.created_at,
        updated_at=settled.updated_at,
    )
    assert intended.created_at <= accepted.updated_at <= settled.updated_at


async def test_optional_fields_may_be_absent(journal: CommandJournal) -> None:
    await journal.intend(Intent("k", KIND))
    found = await entry(journal, "k")
    assert (found.target, found.run_id, found.deadline) == (None, None, None)
    await journal.settle("k", Outcome.SUCCEEDED)
    assert (await entry(journal, "k")).reason is None


async def test_a_resubmission_resets_the_entry_and_keeps_its_place(
    journal: CommandJournal,
) -> None:
    await journal.intend(Intent("first", KIND, "dev-1", "run-a", 10.0))
    await journal.intend(Intent("second", KIND, "dev-2", "run-a"))
    await journal.accept("first", "cmd-1")
    await journal.settle("first", Outcome.TIMED_OUT, "gave up")
    created = (await entry(journal, "first")).created_at

    await journal.intend(Intent("first", "storage.remove", "dev-9", "run-b", 20.0))
    again = await entry(journal, "first")
    assert again == JournalEntry(
        key="first",
        kind="storage.remove",
        state=EntryState.INTENT,
        target="dev-9",
        run_id="run-b",
        deadline=20.0,
        created_at=created,
        updated_at=again.updated_at,
    )
    assert [e.key for e in await journal.entries()] == ["first", "second"]
    assert [e.key for e in await journal.entries(run_id="run-a")] == ["second"]
    assert [e.key for e in await journal.entries(run_id="run-b")] == ["first"]
    assert [e.key for e in await journal.entries(unsettled=True)] == ["first", "second"]


async def test_an_accept_without_a_command_id_settles_as_accepted(
    journal: CommandJournal,
) -> None:
    await journal.intend(Intent("k", KIND, run_id="r"))
    await journal.accept("k", None)
    found = await entry(journal, "k")
    assert (found.state, found.command_id, found.outcome) == (
        EntryState.SETTLED,
        None,
        Outcome.ACCEPTED,
    )
    assert not found.in_doubt
    assert await journal.entries(unsettled=True) == []
    assert await journal.entries(run_id="r", unsettled=True) == []


async def test_entries_by_run_and_unsettled_oldest_first(journal: CommandJournal) -> None:
    for i in range(6):
        await journal.intend(Intent(f"k{i}", KIND, f"dev-{i}", "even" if i % 2 == 0 else "odd"))
    await journal.intend(Intent("loose", KIND))
    await journal.accept("k0", "c0")
    await journal.accept("k1", "c1")
    await journal.settle("k1", Outcome.SUCCEEDED, "done")
    await journal.settle("k2", Outcome.FAILED, "HTTP 503")
    await journal.accept("k4", None)

    def keys(found: list[JournalEntry]) -> list[str]:
        return [e.key for e in found]

    assert keys(await journal.entries()) == ["k0", "k1", "k2", "k3", "k4", "k5", "loose"]
    assert keys(await journal.entries(run_id="even")) == ["k0", "k2", "k4"]
    assert keys(await journal.entries(run_id="odd")) == ["k1", "k3", "k5"]
    assert keys(await journal.entries(unsettled=True)) == ["k0", "k3", "k5", "loose"]
    assert keys(await journal.entries(run_id="even", unsettled=True)) == ["k0"]
    assert keys(await journal.entries(run_id="odd", unsettled=True)) == ["k3", "k5"]
    assert await journal.entries(run_id="none such") == []


async def test_in_doubt_is_an_entry_left_at_intent(journal: CommandJournal) -> None:
    await journal.intend(Intent("sent?", KIND, run_id="r"))
    await journal.intend(Intent("accepted", KIND, run_id="r"))
    await journal.accept("accepted", "cmd")
    await journal.intend(Intent("refused", KIND, run_id="r"))
    await journal.settle("refused", Outcome.FAILED, "HTTP 422")
    unsettled = await journal.entries(run_id="r", unsettled=True)
    assert [(e.key, e.in_doubt) for e in unsettled] == [("sent?", True), ("accepted", False)]


async def test_accept_or_settle_of_an_unknown_key_creates_nothing(
    journal: CommandJournal,
) -> None:
    await journal.accept("ghost", "cmd")
    await journal.settle("phantom", Outcome.SUCCEEDED, "done")
    assert await journal.get("ghost") is None
    assert await journal.get("phantom") is None
    assert await journal.entries() == []
    assert await journal.entries(unsettled=True) == []


@pytest.mark.parametrize(
    ("reason", "read_back"),
    [
        ("device.offline", "device.offline"),
        ("é ✓ \u0000 \"quoted\" 'single'", "é ✓ \u0000 \"quoted\" 'single'"),
        (42, 42),
        (2.5, 2.5),
        (True, True),
        ([1, "two", None, 3.25], [1, "two", None, 3.25]),
        (("a", 1), ["a", 1]),  # JSON has no tuple
        ({"errors": {"deviceIdentifier": ["unknown"]}, "n": 0}, None),
        ({}, {}),
        ("", ""),
    ],
)
async def test_reasons_round_trip_as_json(
    journal: CommandJournal, reason: Any, read_back: Any
) -> None:
    expected = reason if read_back is None else read_back
    await journal.intend(Intent("k", KIND))
    await journal.settle("k", Outcome.REJECTED, reason)
    assert (await entry(journal, "k")).reason == expected
    assert (await journal.entries())[0].reason == expected


async def test_a_reason_that_is_not_json_is_refused(journal: CommandJournal) -> None:
    await journal.intend(Intent("k", KIND))
    with pytest.raises(TypeError):
        await journal.settle("k", Outcome.FAILED, object())
    assert (await entry(journal, "k")).state is EntryState.INTENT


async def test_entries_survive_close_and_reopen(store: Store) -> None:
    first = store()
    await first.open()
    await first.intend(Intent("a", KIND, "dev-a", "r", 123.5))
    await first.accept("a", "cmd-a")
    await first.intend(Intent("b", KIND, "dev-b", "r"))
    await first.settle("b", Outcome.REJECTED, ["why", 1])
    await first.intend(Intent("c", KIND, "dev-c", "r"))
    before = await first.entries()
    await first.close()
    await first.close()  # idempotent

    second = store()
    await second.open()
    try:
        assert await second.entries() == before
        assert [e.key for e in await second.entries(run_id="r", unsettled=True)] == ["a", "c"]
        await second.intend(Intent("d", KIND, run_id="r"))  # and it goes on writing
        assert [e.key for e in await second.entries(run_id="r")] == ["a", "b", "c", "d"]
    finally:
        await second.close()


async def test_open_is_idempotent_and_a_closed_journal_refuses(store: Store) -> None:
    journal = store()
    with pytest.raises(JournalError, match="not open"):
        await journal.intend(Intent("k", KIND))
    await journal.open()
    await journal.open()
    await journal.intend(Intent("k", KIND))
    await journal.close()
    for refused in (
        journal.intend(Intent("k2", KIND)),
        journal.accept("k", "c"),
        journal.settle("k", Outcome.SUCCEEDED),
        journal.get("k"),
        journal.entries(),
    ):
        with pytest.raises(JournalError):
            await refused


async def test_concurrent_writes_are_group_committed(journal: CommandJournal) -> None:
    commands = 500

    async def command(i: int) -> None:
        await journal.intend(Intent(f"k{i}", KIND, f"dev-{i}", "run"))
        await asyncio.sleep(0.001 * (i % 7))  # answers come back at different times
        await journal.accept(f"k{i}", f"cmd-{i}")

    await asyncio.gather(*(command(i) for i in range(commands)))
    found = await journal.entries(run_id="run")
    assert [e.key for e in found] == [f"k{i}" for i in range(commands)]
    assert [(e.state, e.command_id) for e in found] == [
        (EntryState.ACCEPTED, f"cmd-{i}") for i in range(commands)
    ]
    if group_committing(journal):
        assert isinstance(journal, SqliteJournal | RedisJournal)
        writes = 2 * commands
        assert journal.flushes * 20 <= writes, f"{journal.flushes} flushes for {writes} writes"
    # Idle again: the flusher ended with its last batch.
    assert asyncio.all_tasks() == {asyncio.current_task()}


async def test_close_writes_what_is_queued_and_leaves_no_task(store: Store) -> None:
    journal = store()
    await journal.open()
    writers = [asyncio.create_task(journal.intend(Intent(f"k{i}", KIND))) for i in range(200)]
    await asyncio.sleep(0)  # queued, and the first flush under way
    await journal.close()
    await asyncio.gather(*writers)  # every one of them was written, none failed
    assert asyncio.all_tasks() == {asyncio.current_task()}

    reopened = store()
    await reopened.open()
    try:
        assert len(await reopened.entries()) == 200
    finally:
        await reopened.close()
    assert asyncio.all_tasks() == {asyncio.current_task()}
