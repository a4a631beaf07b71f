"""journal/sqlite.py: what it refuses to open, and what survives a killed process."""

from __future__ import annotations

import asyncio
import os
import signal
import sqlite3
import sys
import threading
from pathlib import Path

import pytest

from privicore_async.journal import EntryState, Intent, JournalError, Outcome, SqliteJournal

ROOT = Path(__file__).resolve().parents[2]
KIND = "storage.sync_device"


async def refused(path: Path) -> JournalError:
    journal = SqliteJournal(path)
    with pytest.raises(JournalError) as raised:
        await journal.open()
    # Nothing of the driver's exception is chained to it.
    assert raised.value.__cause__ is None
    assert raised.value.__context__ is None
    assert asyncio.all_tasks() == {asyncio.current_task()}
    await journal.close()  # harmless on a journal that never opened
    return raised.value


async def test_a_new_file_gets_the_journal_format_in_wal_mode(tmp_path: Path) -> None:
    path = tmp_path / "new.db"
    journal = SqliteJournal(path)
    await journal.open()
    await journal.close()
    with sqlite3.connect(path) as db:
        meta = dict(db.execute("SELECT name, value FROM meta").fetchall())
        mode = db.execute("PRAGMA journal_mode").fetchone()[0]
    db.close()
    assert meta == {"format": "privicore-async journal", "version": "1"}
    assert mode == "wal"


async def test_bytes_that_are_not_sqlite_are_refused_and_left_alone(tmp_path: Path) -> None:
    path = tmp_path / "corrupted.db"
    garbage = b"this is not a database, it only pretends to be one\n" * 200
    path.write_bytes(garbage)
    error = await refused(path)
    assert "not a SQLite database" in str(error)
    assert str(path) in str(error)
    assert path.read_bytes() == garbage  # never a silent fresh start


async def test_a_sqlite_database_of_another_application_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "foreign.db"
    with sqlite3.connect(path) as db:
        db.execute("CREATE TABLE users (id INTEGER PRIMARY KEY, name TEXT)")
        db.execute("INSERT INTO users (name) VALUES ('ada')")
    db.close()
    before = path.read_bytes()
    error = await refused(path)
    assert "another application" in str(error)
    assert path.read_bytes() == before  # not even switched to WAL
    assert not (tmp_path / "foreign.db-wal").exists()


@pytest.mark.parametrize(
    "meta",
    [
        "CREATE TABLE meta (name TEXT, value TEXT); INSERT INTO meta VALUES ('format', 'other')",
        "CREATE TABLE meta (id INTEGER, blob BLOB)",  # a meta table of a different shape
    ],
)
async def test_a_foreign_meta_table_is_refused(tmp_path: Path, meta: str) -> None:
    path = tmp_path / "foreign.db"
    with sqlite3.connect(path) as db:
        db.executescript(meta)
    db.close()
    assert "another application" in str(await refused(path))


async def test_a_journal_of_a_newer_version_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "newer.db"
    journal = SqliteJournal(path)
    await journal.open()
    await journal.intend(Intent("k", KIND))
    await journal.close()
    with sqlite3.connect(path) as db:
        db.execute("UPDATE meta SET value = '2' WHERE name = 'version'")
    db.close()
    error = await refused(path)
    assert "version 2" in str(error)
    assert "newer" in str(error)


async def test_a_path_that_cannot_be_opened_is_a_journal_error(tmp_path: Path) -> None:
    await refused(tmp_path / "no such directory" / "journal.db")
    # aiosqlite's thread is gone too: left running, it posts to the event loop after the
    # caller may have closed it ("Event loop is closed" in a thread, seen under load).
    assert [t for t in threading.enumerate() if "_connection_worker_thread" in t.name] == []


async def test_a_failed_flush_fails_each_of_its_writers(tmp_path: Path) -> None:
    path = tmp_path / "journal.db"
    journal = SqliteJournal(path)
    await journal.open()
    try:
        with sqlite3.connect(path) as db:  # somebody damages the file under our feet
            db.execute("DROP TABLE entries")
        db.close()
        results = await asyncio.gather(
            *(journal.intend(Intent(f"k{i}", KIND)) for i in range(20)), return_exceptions=True
        )
        assert all(isinstance(result, JournalError) for result in results)
        for result in results:
            assert isinstance(result, JournalError)
            assert "no such table" in str(result)
            assert result.__context__ is None
            assert result.__cause__ is None
        assert journal.flushes == 1
    finally:
        await journal.close()


CHILD = """
import asyncio, sys
from privicore_async.journal import Intent, Outcome, SqliteJournal

async def main(path, count):
    journal = SqliteJournal(path)
    await journal.open()

    async def command(i):
        await journal.intend(Intent(f"k{i}", "storage.sync_device", f"dev-{i}", "run"))
        await journal.accept(f"k{i}", f"cmd-{i}")
        if i % 3 == 0:
            await journal.settle(f"k{i}", Outcome.SUCCEEDED, {"i": i})

    await asyncio.gather(*(command(i) for i in range(count)))
    print("done", journal.flushes, flush=True)
    await asyncio.sleep(3600)  # killed here, the journal never closed

asyncio.run(main(sys.argv[1], int(sys.argv[2])))
"""


async def test_a_killed_process_loses_no_committed_write(tmp_path: Path) -> None:
    path = tmp_path / "journal.db"
    count = 300
    child = await asyncio.create_subprocess_exec(
        *(sys.executable, "-c", CHILD, str(path), str(count)),
        cwd=ROOT,
        stdout=asyncio.subprocess.PIPE,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
    )
    try:
        assert child.stdout is not None
        line = (await asyncio.wait_for(child.stdout.readline(), 60)).decode()
        assert line.startswith("done"), line
    finally:
        child.send_signal(signal.SIGKILL)
        assert await child.wait() == -signal.SIGKILL
    assert (tmp_path / "journal.db-wal").stat().st_size > 0  # never checkpointed: in the WAL

    journal = SqliteJournal(path)
    await journal.open()
    try:
        found = await journal.entries(run_id="run")
    finally:
        await journal.close()
    assert [e.key for e in found] == [f"k{i}" for i in range(count)]
    for i, entry in enumerate(found):
        assert entry.command_id == f"cmd-{i}"
        if i % 3 == 0:
            assert (entry.state, entry.outcome, entry.reason) == (
                EntryState.SETTLED,
                Outcome.SUCCEEDED,
                {"i": i},
            )
        else:
            assert entry.state is EntryState.ACCEPTED


async def test_a_database_with_only_a_view_is_not_taken_for_a_new_one(tmp_path: Path) -> None:
    path = tmp_path / "view.db"
    with sqlite3.connect(path) as db:
        db.execute("CREATE VIEW answer AS SELECT 42 AS value")
    db.close()
    assert "another application" in str(await refused(path))
