"""A journal in Redis (redis-py's asyncio client), shared by every process that can reach it.

Keys, under a namespace (``privicore`` by default)::

    {ns}:meta           hash    format = 'privicore-async journal', version = '1'
    {ns}:entry:{key}    hash    kind, state, target, run_id, deadline, command_id, outcome,
                                reason (JSON), created_at, updated_at, seq
    {ns}:entries        zset    every key, scored by seq (creation order)
    {ns}:run:{run_id}   zset    the keys of one run, scored by seq
    {ns}:unsettled      zset    the keys not settled yet, scored by seq
    {ns}:seq            string  the last seq handed out

An absent hash field is a ``None``. Writes go through one Lua script that applies a whole
batch: one flush is one ``EVAL``, one round trip and atomic, and the sets can never disagree
with the hashes (a resubmission that changes its run moves the key between run sets; an
``accept`` or ``settle`` of an unknown key creates nothing). The script names keys it was not
given in ``KEYS``: a single Redis server (or a replicated one), not Redis Cluster.

Durability is the server's: a write is durable once Redis has it, and survives a restart only
as far as the server persists (AOF with ``appendfsync everysec`` or ``always``).
"""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Awaitable, Sequence
from itertools import chain
from typing import Any, TypeVar, cast

import redis.asyncio
from redis.exceptions import RedisError

from .batch import MAX_BATCH, GroupCommitter
from .entries import EntryState, Intent, JournalEntry, JournalError, Outcome

__all__ = ["FORMAT", "VERSION", "RedisJournal"]

T = TypeVar("T")

FORMAT = "privicore-async journal"
"""The ``{ns}:meta`` hash's ``format`` value: this namespace is a journal of this SDK."""
VERSION = 1
"""The layout this module writes, and the newest it reads."""

_READ_CHUNK = 1000  # HGETALLs per pipeline when reading many entries

# ARGV[1] is the namespace, then one record per write, in order:
#   code ('I' intend, 'U' update), key, now, n, n field/value pairs, m, m fields to delete
_SCRIPT = """
local ns = ARGV[1]
local all, unsettled = ns .. ':entries', ns .. ':unsettled'
local i = 2
while i <= #ARGV do
  local code, key, now = ARGV[i], ARGV[i + 1], ARGV[i + 2]
  local n = tonumber(ARGV[i + 3])
  local sets, values = {}, {}
  for j = 1, 2 * n, 2 do
    local field, value = ARGV[i + 3 + j], ARGV[i + 4 + j]
    sets[j], sets[j + 1], values[field] = field, value, value
  end
  i = i + 4 + 2 * n
  local m = tonumber(ARGV[i])
  local deleted = {}
  for j = 1, m do deleted[j] = ARGV[i + j] end
  i = i + 1 + m
  local entry = ns .. ':entry:' .. key
  local seq = redis.call('HGET', entry, 'seq')
  if code == 'I' then
    local old = redis.call('HMGET', entry, 'created_at', 'run_id')
    if not seq then seq = redis.call('INCR', ns .. ':seq') end
    redis.call('DEL', entry)
    redis.call('HSET', entry, 'seq', seq, 'created_at', old[1] or now, 'updated_at', now,
      unpack(sets))
    redis.call('ZADD', all, seq, key)
    if old[2] and old[2] ~= values['run_id'] then
      redis.call('ZREM', ns .. ':run:' .. old[2], key)
    end
    if values['run_id'] then redis.call('ZADD', ns .. ':run:' .. values['run_id'], seq, key) end
  elseif seq then
    redis.call('HSET', entry, 'updated_at', now, unpack(sets))
    if m > 0 then redis.call('HDEL', entry, unpack(deleted)) end
  end
  if seq then
    if values['state'] == 'settled' then
      redis.call('ZREM', unsettled, key)
    else
      redis.call('ZADD', unsettled, seq, key)
    end
  end
end
return 0
"""

_Record = tuple[str, ...]
_Hash = dict[str, str]  # what HGETALL gives with decode_responses=True


def _record(code: str, key: str, fields: dict[str, str | None]) -> _Record:
    """One write for the script: the fields to set (not ``None``) and to delete (``None``)."""
    pairs = [part for name, value in fields.items() if value is not None for part in (name, value)]
    deleted = [name for name, value in fields.items() if value is None]
    now = repr(time.time())
    return (code, key, now, str(len(pairs) // 2), *pairs, str(len(deleted)), *deleted)


def _number(value: float | None) -> str | None:
    # repr() of a float reads back exactly; str() of a Lua number would not.
    return None if value is None else repr(float(value))


class RedisJournal:
    """A :class:`~privicore_async.journal.CommandJournal` in the Redis at ``url``.

    ``flushes`` counts the batches written (one ``EVAL`` each); ``round_trips`` counts every
    command or pipeline sent to Redis, reads included. ``accept`` and ``settle`` of a key the
    journal does not hold change nothing. Neither ``repr`` nor any error quotes the URL,
    which may hold a password.
    """

    def __init__(
        self, url: str, namespace: str = "privicore", *, max_batch: int = MAX_BATCH
    ) -> None:
        if not namespace:
            raise ValueError("the namespace must not be empty")
        self.namespace = namespace
        self.flushes = 0
        """Batches written since this object was made (for tests and benchmarks)."""
        self.round_trips = 0
        """Commands and pipelines sent to Redis since this object was made."""
        self._url = url
        self._max_batch = max_batch
        self._redis: redis.asyncio.Redis | None = None
        self._committer: GroupCommitter[_Record] | None = None
        self._lifecycle = asyncio.Lock()

    def __repr__(self) -> str:
        state = "open" if self._redis is not None else "closed"
        return f"<RedisJournal namespace={self.namespace!r} {state}>"

    def _key(self, *parts: str) -> str:
        return ":".join((self.namespace, *parts))

    # -- lifecycle -----------------------------------------------------------------------------

    async def open(self) -> None:
        """Connect and check the namespace; ``JournalError`` if it is not usable."""
        async with self._lifecycle:
            if self._redis is not None:
                return
            client = self._connect()
            try:
                await self._check_namespace(client)
            except BaseException:
                await client.aclose()
                raise
            self._redis = client
            self._committer = GroupCommitter(
                self._write, max_batch=self._max_batch, name="privicore-journal-redis"
            )

    async def close(self) -> None:
        """Write what is queued, then disconnect (idempotent)."""
        async with self._lifecycle:
            committer, client = self._committer, self._redis
            self._committer = None  # new writes are refused; queued ones still need the client
            try:
                if committer is not None:
                    await committer.close()
            finally:
                self._redis = None
                if client is not None:
                    await client.aclose()

    def _connect(self) -> redis.asyncio.Redis:
        problem: str | None = None
        try:
            return redis.asyncio.Redis.from_url(self._url, decode_responses=True)
        except ValueError as exc:  # a malformed URL; its message may quote the URL
            problem = type(exc).__name__
        raise JournalError(f"Redis journal {self.namespace!r}: bad URL ({problem})")

    async def _check_namespace(self, client: redis.asyncio.Redis) -> None:
        meta_key = self._key("meta")
        meta = await self._call(client.hgetall(meta_key), "read the meta hash")
        if not meta:
            if await self._namespace_used(client):
                raise JournalError(
                    f"Redis namespace {self.namespace!r} holds keys but no journal meta: it "
                    f"belongs to another application; refusing to use it"
                )
            pipe = client.pipeline(transaction=True)
            pipe.hsetnx(meta_key, "format", FORMAT)
            pipe.hsetnx(meta_key, "version", str(VERSION))
            pipe.hgetall(meta_key)
            meta = (await self._call(pipe.execute(), "write the meta hash"))[-1]
        if meta.get("format") != FORMAT:
            raise JournalError(
                f"Redis namespace {self.namespace!r} belongs to another application (its "
                f"meta hash has no privicore-async format marker); refusing to use it"
            )
        version = str(meta.get("version", ""))
        if not version.isdigit() or int(version) < 1:
            raise JournalError(
                f"Redis namespace {self.namespace!r}: unreadable journal version {version!r}"
            )
        if int(version) > VERSION:
            raise JournalError(
                f"Redis namespace {self.namespace!r} holds a journal of version {version}, "
                f"newer than this privicore-async reads (version {VERSION}): upgrade it"
            )

    async def _namespace_used(self, client: redis.asyncio.Redis) -> bool:
        """Whether any key of the namespace exists (a SCAN: only when the meta is missing)."""
        pattern = "".join("\\" + c if c in "*?[]\\" else c for c in self.namespace) + ":*"
        cursor = 0
        while True:
            cursor, keys = await self._call(
                client.scan(cursor, match=pattern, count=1000), "scan the namespace"
            )
            if keys:
                return True
            if cursor == 0:
                return False

    # -- writes --------------------------------------------------------------------------------

    async def intend(self, intent: Intent) -> None:
        """Record ``intent`` (a known key is reset to ``INTENT``, ``created_at`` kept)."""
        fields = {
            "kind": intent.kind,
            "state": EntryState.INTENT.value,
            "target": intent.target,
            "run_id": intent.run_id,
            "deadline": _number(intent.deadline),
        }
        await self._submit(_record("I", intent.key, fields))

    async def accept(self, key: str, command_id: str | None) -> None:
        """Record the 202 (``None``: no id, which settles the entry as ``ACCEPTED``)."""
        if command_id is None:
            state, outcome = EntryState.SETTLED.value, Outcome.ACCEPTED.value
        else:
            state, outcome = EntryState.ACCEPTED.value, None
        fields = {"state": state, "command_id": command_id, "outcome": outcome}
        await self._submit(_record("U", key, fields))

    async def settle(self, key: str, outcome: Outcome, reason: Any = None) -> None:
        """Record how the command of ``key`` ended; ``reason`` must be JSON-serialisable."""
        await self.settle_many([(key, outcome, reason)])

    async def settle_many(self, settlements: Sequence[tuple[str, Outcome, Any]]) -> None:
        """Record many outcomes together (the client's settlement writer does)."""
        settled = EntryState.SETTLED.value
        records = [
            _record(
                "U",
                key,
                {
                    "state": settled,
                    "outcome": outcome.value,
                    "reason": None if reason is None else json.dumps(reason),
                },
            )
            for key, outcome, reason in settlements
        ]
        if self._committer is None:
            raise JournalError("the journal is not open")
        await self._committer.submit_many(records)

    async def _submit(self, record: _Record) -> None:
        if self._committer is None:
            raise JournalError("the journal is not open")
        await self._committer.submit(record)

    async def _write(self, records: Sequence[_Record]) -> None:
        """One flush: all of ``records`` in one script call (one round trip, atomic)."""
        client = self._redis
        if client is None:
            raise JournalError("the journal was closed")
        self.flushes += 1
        # EVAL, not EVALSHA: the server caches the compiled script by its hash either way, and
        # a restarted server (empty script cache) needs no second round trip.
        args = (self.namespace, *chain.from_iterable(records))
        await self._call(client.eval(_SCRIPT, 0, *args), "write")

    # -- reads ---------------------------------------------------------------------------------

    async def get(self, key: str) -> JournalEntry | None:
        """The entry of ``key``, if any."""
        fields = await self._call(self._client().hgetall(self._key("entry", key)), "read")
        return _entry(key, cast(_Hash, fields)) if fields else None

    async def entries(
        self, *, run_id: str | None = None, unsettled: bool = False
    ) -> list[JournalEntry]:
        """Entries (of one run, and/or only those not settled), oldest first.

        Two round trips and one more per thousand entries: the hashes are read in pipelines.
        """
        client = self._client()
        if run_id is not None:
            index = self._key("run", run_id)
        else:
            index = self._key("unsettled" if unsettled else "entries")
        keys = cast(list[str], await self._call(client.zrange(index, 0, -1), "read"))
        found: list[JournalEntry] = []
        for start in range(0, len(keys), _READ_CHUNK):
            chunk = keys[start : start + _READ_CHUNK]
            pipe = client.pipeline(transaction=False)
            for key in chunk:
                pipe.hgetall(self._key("entry", key))
            hashes: list[_Hash] = await self._call(pipe.execute(), "read")
            found.extend(
                _entry(key, fields) for key, fields in zip(chunk, hashes, strict=True) if fields
            )
        # The indexes follow the hashes inside the script; filtering again costs nothing and
        # keeps a hand-edited index from leaking a wrong entry.
        return [
            entry
            for entry in found
            if (run_id is None or entry.run_id == run_id)
            and not (unsettled and entry.state is EntryState.SETTLED)
        ]

    def _client(self) -> redis.asyncio.Redis:
        if self._redis is None:
            raise JournalError("the journal is not open")
        return self._redis

    async def _call(self, call: Awaitable[T], doing: str) -> T:
        """``await call`` (one round trip), with a Redis error turned into a ``JournalError``."""
        self.round_trips += 1
        try:
            return await call
        except (RedisError, OSError) as exc:
            # redis-py's messages name the server ("Error 111 connecting to host:port") or
            # the command's problem, never the password of the URL.
            problem = f"{type(exc).__name__}: {exc}"
        # Raised out here so that the Redis exception is not chained to it.
        raise JournalError(f"Redis journal {self.namespace!r}: {doing}: {problem}")


def _entry(key: str, fields: _Hash) -> JournalEntry:
    problem: str | None = None
    try:
        return JournalEntry(
            key=key,
            kind=fields["kind"],
            state=EntryState(fields["state"]),
            target=fields.get("target"),
            run_id=fields.get("run_id"),
            deadline=_float(fields.get("deadline")),
            command_id=fields.get("command_id"),
            outcome=None if "outcome" not in fields else Outcome(fields["outcome"]),
            reason=None if "reason" not in fields else json.loads(fields["reason"]),
            created_at=float(fields["created_at"]),
            updated_at=float(fields["updated_at"]),
        )
    except (KeyError, ValueError) as exc:  # a missing field, an unknown state, bad JSON
        problem = type(exc).__name__
    raise JournalError(f"journal entry {key!r} is malformed ({problem})")


def _float(text: str | None) -> float | None:
    return None if text is None else float(text)
