"""A journal in one SQLite file, written through aiosqlite with group commit.

The file is in WAL mode with ``synchronous=NORMAL``: a commit is an append to the WAL that the
operating system holds, so a write that returned survives the death of the process (SIGKILL
included), though not a power cut. That is the failure this journal is for.

Layout::

    meta(name, value)        format = 'privicore-async journal', version = '1'
    entries(key PRIMARY KEY, seq, kind, target, run_id, deadline, state, command_id,
            outcome, reason JSON, created_at, updated_at)    indexes on seq, run_id, state

``seq`` is the creation order: the next number when a key is first written, kept when the key
is resubmitted. ``open()`` refuses (``JournalError``) anything it did not create: bytes that
are not SQLite, a database of another application, a journal of a newer version. It never
starts afresh over a file it cannot read.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import sqlite3
import threading
import time
from collections.abc import Awaitable, Iterable, Iterator, Sequence
from typing import Any, TypeVar

import aiosqlite
import attrs

from .batch import MAX_BATCH, GroupCommitter
from .entries import EntryState, Intent, JournalEntry, JournalError, Outcome

__all__ = ["FORMAT", "VERSION", "SqliteJournal"]

_WORKER_STOP_WAIT = 5.0  # seconds for aiosqlite's thread to stop after a failed open

T = TypeVar("T")

FORMAT = "privicore-async journal"
"""The ``meta`` table's ``format`` value: this file is a journal of this SDK."""
VERSION = 1
"""The layout this module writes, and the newest it reads."""

_SCHEMA = f"""
BEGIN IMMEDIATE;
CREATE TABLE IF NOT EXISTS meta (name TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS entries (
    key TEXT PRIMARY KEY,
    seq INTEGER NOT NULL,
    kind TEXT NOT NULL,
    target TEXT,
    run_id TEXT,
    deadline REAL,
    state TEXT NOT NULL,
    command_id TEXT,
    outcome TEXT,
    reason TEXT,
    created_at REAL NOT NULL,
    updated_at REAL NOT NULL
);
CREATE INDEX IF NOT EXISTS entries_seq ON entries (seq);
CREATE INDEX IF NOT EXISTS entries_run_id ON entries (run_id);
CREATE INDEX IF NOT EXISTS entries_state ON entries (state);
INSERT OR IGNORE INTO meta (name, value) VALUES ('format', '{FORMAT}'), ('version', '{VERSION}');
COMMIT;
"""

# A resubmitted key keeps its seq and created_at; the rest is reset. The seq subquery runs on
# the index, and inside the flush's transaction, so two writers never take the same number.
_INTEND = """
INSERT INTO entries (key, seq, kind, target, run_id, deadline, state, created_at, updated_at)
VALUES (?1, (SELECT ifnull(max(seq), 0) + 1 FROM entries), ?2, ?3, ?4, ?5, 'intent', ?6, ?6)
ON CONFLICT (key) DO UPDATE SET
    kind = excluded.kind, target = excluded.target, run_id = excluded.run_id,
    deadline = excluded.deadline, state = 'intent', command_id = NULL, outcome = NULL,
    reason = NULL, updated_at = excluded.updated_at
"""
_ACCEPT = """
UPDATE entries SET state = ?2, command_id = ?3, outcome = ?4, updated_at = ?5 WHERE key = ?1
"""
_SETTLE = """
UPDATE entries SET state = 'settled', outcome = ?2, reason = ?3, updated_at = ?4 WHERE key = ?1
"""
_COLUMNS = (
    "key, kind, target, run_id, deadline, state, command_id, outcome, reason, created_at, "
    "updated_at"
)
_UNSETTLED = "state IN ('intent', 'accepted')"  # not "!= 'settled'": that one uses the index


@attrs.frozen
class _Write:
    """One queued write: a statement and its parameters (the key first)."""

    statement: str
    params: tuple[Any, ...]

    @property
    def key(self) -> str:
        key: str = self.params[0]
        return key


class SqliteJournal:
    """A :class:`~privicore_async.journal.CommandJournal` in the SQLite file at ``path``.

    ``flushes`` counts the transactions written: with many writers it stays far below the
    number of writes. ``accept`` and ``settle`` of a key the journal does not hold change
    nothing.
    """

    def __init__(self, path: str | os.PathLike[str], *, max_batch: int = MAX_BATCH) -> None:
        self.path = os.fspath(path)
        self.flushes = 0
        """Transactions written since this object was made (for tests and benchmarks)."""
        self._max_batch = max_batch
        self._db: aiosqlite.Connection | None = None
        self._committer: GroupCommitter[_Write] | None = None
        self._lifecycle = asyncio.Lock()
        # A flush spans several calls on the connection; a read between them would see writes
        # that are not committed yet. Reads and flushes take turns.
        self._busy = asyncio.Lock()

    def __repr__(self) -> str:
        state = "open" if self._db is not None else "closed"
        return f"<SqliteJournal {self.path!r} {state}>"

    # -- lifecycle -----------------------------------------------------------------------------

    async def open(self) -> None:
        """Open (create if new) and check the file; ``JournalError`` if it is not usable."""
        async with self._lifecycle:
            if self._db is not None:
                return
            connecting = aiosqlite.connect(self.path, isolation_level=None)
            try:
                db = await self._checked(connecting, "open")
            except BaseException:
                await _worker_gone(connecting)
                raise
            try:
                await self._prepare(db)
            except BaseException:
                await db.close()
                raise
            self._db = db
            self._committer = GroupCommitter(
                self._write, max_batch=self._max_batch, name="privicore-journal-sqlite"
            )

    async def close(self) -> None:
        """Write what is queued, then close the file (idempotent)."""
        async with self._lifecycle:
            committer, db = self._committer, self._db
            self._committer = None  # new writes are refused; queued ones still need the file
            try:
                if committer is not None:
                    await committer.close()
            finally:
                self._db = None
                if db is not None:
                    await db.close()

    async def _prepare(self, db: aiosqlite.Connection) -> None:
        objects = await self._read_schema(db)
        tables = {name for kind, name in objects if kind == "table"}
        if objects:  # anything at all in the file (a table, a view, an index): must be ours
            await self._check_format(db, tables)
        # After the check: a foreign database is never switched to WAL by looking at it.
        await self._checked(db.execute("PRAGMA journal_mode = WAL"), "switch to WAL")
        await self._checked(db.execute("PRAGMA synchronous = NORMAL"), "set synchronous")
        if not objects:
            await self._checked(db.executescript(_SCHEMA), "create the journal")

    async def _read_schema(self, db: aiosqlite.Connection) -> list[tuple[str, str]]:
        """The file's schema objects as ``(type, name)``; the first read of the file."""
        try:
            rows = await db.execute_fetchall("SELECT type, name FROM sqlite_master")
            return [(str(kind), str(name)) for kind, name in rows]
        except sqlite3.OperationalError as exc:  # locked, unreadable: not a verdict on the file
            problem = f"cannot read it: {exc}"
        except sqlite3.DatabaseError as exc:  # "file is not a database", "disk image is malformed"
            problem = f"not a SQLite database, or a corrupted one ({exc}); refusing to use it"
        raise JournalError(f"SQLite journal {self.path}: {problem}")

    async def _check_format(self, db: aiosqlite.Connection, tables: set[str]) -> None:
        meta: dict[str, str] = {}
        if "meta" in tables:
            rows = await self._checked(
                db.execute_fetchall("SELECT name, value FROM meta"),
                "a SQLite database of another application (its meta table is not ours)",
            )
            meta = {str(name): str(value) for name, value in rows}
        if meta.get("format") != FORMAT:
            raise JournalError(
                f"{self.path} is a SQLite database of another application, not a "
                f"privicore-async journal (no format marker): refusing to use it"
            )
        version = meta.get("version", "")
        if not version.isdigit() or int(version) < 1:
            raise JournalError(f"{self.path}: unreadable journal version {version!r}")
        if int(version) > VERSION:
            raise JournalError(
                f"{self.path} is a journal of version {version}, newer than this "
                f"privicore-async reads (version {VERSION}): upgrade privicore-async"
            )
        if "entries" not in tables:
            raise JournalError(f"{self.path}: the journal has no entries table (damaged)")

    # -- writes --------------------------------------------------------------------------------

    async def intend(self, intent: Intent) -> None:
        """Record ``intent`` (a known key is reset to ``INTENT``, ``created_at`` kept)."""
        deadline = None if intent.deadline is None else float(intent.deadline)
        params = (intent.key, intent.kind, intent.target, intent.run_id, deadline, time.time())
        await self._submit(_Write(_INTEND, params))

    async def accept(self, key: str, command_id: str | None) -> None:
        """Record the 202 (``None``: no id, which settles the entry as ``ACCEPTED``)."""
        if command_id is None:
            state, outcome = EntryState.SETTLED.value, Outcome.ACCEPTED.value
        else:
            state, outcome = EntryState.ACCEPTED.value, None
        await self._submit(_Write(_ACCEPT, (key, state, command_id, outcome, time.time())))

    async def settle(self, key: str, outcome: Outcome, reason: Any = None) -> None:
        """Record how the command of ``key`` ended; ``reason`` must be JSON-serialisable."""
        await self.settle_many([(key, outcome, reason)])

    async def settle_many(self, settlements: Sequence[tuple[str, Outcome, Any]]) -> None:
        """Record many outcomes together (the client's settlement writer does)."""
        now = time.time()
        writes = [
            _Write(_SETTLE, (key, outcome.value, None if r is None else json.dumps(r), now))
            for key, outcome, r in settlements
        ]
        if self._committer is None:
            raise JournalError("the journal is not open")
        await self._committer.submit_many(writes)

    async def _submit(self, write: _Write) -> None:
        if self._committer is None:
            raise JournalError("the journal is not open")
        await self._committer.submit(write)

    async def _write(self, writes: Sequence[_Write]) -> None:
        """One flush: all of ``writes`` in one transaction, in an order that keeps each key's
        writes in the order they were made."""
        db = self._db
        if db is None:
            raise JournalError("the journal was closed")
        self.flushes += 1
        async with self._busy:
            try:
                await self._checked(db.execute("BEGIN IMMEDIATE"), "write")
                for statement, rows in _grouped(writes):
                    await self._checked(db.executemany(statement, rows), "write")
                await self._checked(db.execute("COMMIT"), "commit")
            finally:
                if db.in_transaction:  # a statement failed (or we were cancelled)
                    await _rollback(db)

    # -- reads ---------------------------------------------------------------------------------

    async def get(self, key: str) -> JournalEntry | None:
        """The entry of ``key``, if any."""
        rows = await self._read(f"SELECT {_COLUMNS} FROM entries WHERE key = ?", (key,))
        return _entry(rows[0]) if rows else None

    async def entries(
        self, *, run_id: str | None = None, unsettled: bool = False
    ) -> list[JournalEntry]:
        """Entries (of one run, and/or only those not settled), oldest first."""
        where: list[str] = []
        params: list[Any] = []
        if run_id is not None:
            where.append("run_id = ?")
            params.append(run_id)
        if unsettled:
            where.append(_UNSETTLED)
        clause = f" WHERE {' AND '.join(where)}" if where else ""
        rows = await self._read(f"SELECT {_COLUMNS} FROM entries{clause} ORDER BY seq", params)
        return [_entry(row) for row in rows]

    async def _read(self, sql: str, params: Sequence[Any]) -> list[sqlite3.Row]:
        db = self._db
        if db is None:
            raise JournalError("the journal is not open")
        async with self._busy:
            return list(await self._checked(db.execute_fetchall(sql, params), "read"))

    async def _checked(self, call: Awaitable[T], doing: str) -> T:
        """``await call``, with a SQLite error turned into a ``JournalError``."""
        try:
            return await call
        except sqlite3.Error as exc:
            # SQLite's messages name the problem ("file is not a database", "database is
            # locked"), never a value that was written.
            problem = f"{type(exc).__name__}: {exc}"
        # Raised out here so that the sqlite3 exception is not chained to it.
        raise JournalError(f"SQLite journal {self.path}: {doing}: {problem}")


async def _worker_gone(connection: aiosqlite.Connection) -> None:
    """Wait until the worker thread of a connection that failed to open has ended.

    aiosqlite stops that thread without waiting for it, and the thread's last act posts to
    the event loop: if the loop ended first (a program that gives up on a bad path),
    the thread dies with "Event loop is closed". Bounded: the thread only has a stop left.
    """
    # aiosqlite >= 0.21 keeps its thread in ``_thread``; older versions are the thread.
    thread = getattr(connection, "_thread", connection)
    if isinstance(thread, threading.Thread) and thread.is_alive():
        await asyncio.to_thread(thread.join, _WORKER_STOP_WAIT)


def _grouped(writes: Sequence[_Write]) -> Iterator[tuple[str, list[tuple[Any, ...]]]]:
    """``(statement, rows)`` for ``executemany``, few of them, each key's writes in order.

    The k-th write of each key goes to round k; in a round every key appears once, so its
    writes may run grouped by statement (the statements of one round, in first-seen order).
    A usual batch is one round of at most three statements.
    """
    rounds: list[dict[str, list[tuple[Any, ...]]]] = []
    seen: dict[str, int] = {}
    for write in writes:
        index = seen.get(write.key, 0)
        seen[write.key] = index + 1
        if index == len(rounds):
            rounds.append({})
        rounds[index].setdefault(write.statement, []).append(write.params)
    for statements in rounds:
        yield from statements.items()


async def _rollback(db: aiosqlite.Connection) -> None:
    # The write already failed and says so; if even the rollback fails, closing rolls back.
    with contextlib.suppress(sqlite3.Error):
        await db.execute("ROLLBACK")


def _entry(row: Iterable[Any]) -> JournalEntry:
    key, kind, target, run_id, deadline, state, command_id, outcome, reason, created, updated = row
    problem: str | None = None
    try:
        return JournalEntry(
            key=key,
            kind=kind,
            state=EntryState(state),
            target=target,
            run_id=run_id,
            deadline=deadline,
            command_id=command_id,
            outcome=None if outcome is None else Outcome(outcome),
            reason=None if reason is None else json.loads(reason),
            created_at=created,
            updated_at=updated,
        )
    except ValueError as exc:  # an unknown state or outcome, a reason that is not JSON
        problem = type(exc).__name__
    raise JournalError(f"journal entry {key!r} is malformed ({problem})")
