"""journal/redis.py: the namespace it refuses, round trips per command, unreachable servers."""

from __future__ import annotations

import asyncio
import socket
from collections.abc import AsyncIterator

import pytest
import redis.asyncio

from privicore_async.journal import EntryState, Intent, JournalError, Outcome, RedisJournal
from tests.redis_server import redis_server

KIND = "storage.sync_device"


@pytest.fixture
async def server(redis_clean: str) -> AsyncIterator[redis.asyncio.Redis]:
    """A plain client of the test's Redis, to look at (and tamper with) what the journal wrote."""
    client = redis.asyncio.Redis.from_url(redis_clean, decode_responses=True)
    yield client
    await client.aclose()


async def refused(url: str, namespace: str = "privicore") -> JournalError:
    journal = RedisJournal(url, namespace)
    with pytest.raises(JournalError) as raised:
        await journal.open()
    assert raised.value.__cause__ is None
    assert raised.value.__context__ is None
    await journal.close()
    return raised.value


async def test_the_layout_of_keys(redis_clean: str, server: redis.asyncio.Redis) -> None:
    journal = RedisJournal(redis_clean, "ns")
    await journal.open()
    try:
        await journal.intend(Intent("run/dev", KIND, "dev", "run", 12.5))
        await journal.accept("run/dev", "cmd")
    finally:
        await journal.close()
    assert await server.hgetall("ns:meta") == {
        "format": "privicore-async journal",
        "version": "1",
    }
    fields = await server.hgetall("ns:entry:run/dev")
    assert {k: v for k, v in fields.items() if not str(k).endswith("_at")} == {
        "seq": "1",
        "kind": KIND,
        "state": "accepted",
        "target": "dev",
        "run_id": "run",
        "deadline": "12.5",
        "command_id": "cmd",
    }
    assert await server.zrange("ns:entries", 0, -1) == ["run/dev"]
    assert await server.zrange("ns:run:run", 0, -1) == ["run/dev"]
    assert await server.zrange("ns:unsettled", 0, -1) == ["run/dev"]
    assert sorted(await server.keys("*")) == sorted(
        ["ns:meta", "ns:seq", "ns:entry:run/dev", "ns:entries", "ns:run:run", "ns:unsettled"]
    )


async def test_a_namespace_of_another_application_is_refused(
    redis_clean: str, server: redis.asyncio.Redis
) -> None:
    await server.hset("privicore:meta", mapping={"format": "something else", "version": "1"})
    assert "another application" in str(await refused(redis_clean))
    assert await server.hgetall("privicore:meta") == {"format": "something else", "version": "1"}


async def test_keys_without_meta_are_refused(redis_clean: str, server: redis.asyncio.Redis) -> None:
    await server.set("privicore:session:42", "theirs")
    assert "no journal meta" in str(await refused(redis_clean))
    assert await server.exists("privicore:meta") == 0  # not claimed either


async def test_keys_of_other_namespaces_do_not_matter(
    redis_clean: str, server: redis.asyncio.Redis
) -> None:
    await server.set("privicore-other:x", "1")  # shares a prefix, not the namespace
    await server.set("privicor:x", "1")
    journal = RedisJournal(redis_clean)
    await journal.open()
    await journal.close()


async def test_a_journal_of_a_newer_version_is_refused(
    redis_clean: str, server: redis.asyncio.Redis
) -> None:
    journal = RedisJournal(redis_clean)
    await journal.open()
    await journal.close()
    await server.hset("privicore:meta", "version", "2")
    error = await refused(redis_clean)
    assert "version 2" in str(error)
    assert "newer" in str(error)


async def test_namespaces_are_separate_journals(redis_clean: str) -> None:
    one, two = RedisJournal(redis_clean, "one"), RedisJournal(redis_clean, "two")
    await one.open()
    await two.open()
    try:
        await one.intend(Intent("k", KIND, run_id="r"))
        assert await two.get("k") is None
        assert await two.entries() == []
        assert await two.entries(run_id="r") == []
    finally:
        await one.close()
        await two.close()


async def test_an_unreachable_server_is_a_journal_error_that_quotes_no_password() -> None:
    with socket.socket() as probe:  # a port nobody listens on
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    url = f"redis://journal:s3cret-pw@127.0.0.1:{port}/0"
    journal = RedisJournal(url)
    error = await refused(url)
    assert "s3cret-pw" not in str(error)
    assert "s3cret-pw" not in repr(journal)
    assert asyncio.all_tasks() == {asyncio.current_task()}


async def test_a_lost_server_fails_each_writer_of_the_flush() -> None:
    with redis_server() as url:  # a server of this test's own, to stop
        journal = RedisJournal(url)
        await journal.open()
    try:
        results = await asyncio.gather(
            *(journal.intend(Intent(f"k{i}", KIND)) for i in range(10)), return_exceptions=True
        )
        for result in results:
            assert isinstance(result, JournalError), result
            assert "ConnectionError" in str(result)
            assert result.__context__ is None
            assert result.__cause__ is None
        assert journal.flushes == 1
    finally:
        await journal.close()
    assert asyncio.all_tasks() == {asyncio.current_task()}


async def test_at_most_half_a_round_trip_per_command(redis_clean: str) -> None:
    commands = 1000
    journal = RedisJournal(redis_clean)
    await journal.open()
    try:
        before = journal.round_trips

        async def command(i: int) -> None:
            await journal.intend(Intent(f"run/dev-{i}", KIND, f"dev-{i}", "run"))
            await asyncio.sleep(0.001 * (i % 10))  # 202s come back at different times
            await journal.accept(f"run/dev-{i}", f"cmd-{i}")
            await asyncio.sleep(0.001 * (i % 13))
            await journal.settle(f"run/dev-{i}", Outcome.SUCCEEDED, "done")

        await asyncio.gather(*(command(i) for i in range(commands)))
        per_command = (journal.round_trips - before) / commands
        assert per_command <= 0.5, f"{per_command} round trips per command"

        before = journal.round_trips
        found = await journal.entries(run_id="run")
        assert journal.round_trips - before == 2  # the index, then one pipeline of HGETALLs
        assert len(found) == commands
        assert all(e.state is EntryState.SETTLED for e in found)
    finally:
        await journal.close()


async def test_reading_many_entries_pipelines_them_by_the_thousand(redis_clean: str) -> None:
    journal = RedisJournal(redis_clean)
    await journal.open()
    try:
        await asyncio.gather(*(journal.intend(Intent(f"k{i}", KIND)) for i in range(2500)))
        before = journal.round_trips
        found = await journal.entries(unsettled=True)
        assert [e.key for e in found] == [f"k{i}" for i in range(2500)]
        assert journal.round_trips - before == 1 + 3
    finally:
        await journal.close()
