"""A journal in a dict: for tests and for processes that need no record past their own life.

Writes are instant, so there is nothing to group-commit. Entries outlive ``close()`` (the
object is the store): opening the same object again finds them.
"""

from __future__ import annotations

import json
import time
from collections.abc import Sequence
from typing import Any

import attrs

from .entries import EntryState, Intent, JournalEntry, JournalError, Outcome

__all__ = ["MemoryJournal"]


class MemoryJournal:
    """A :class:`~privicore_async.journal.CommandJournal` held in memory.

    ``accept`` and ``settle`` of a key the journal does not hold change nothing, as in every
    store. A ``reason`` is kept as its JSON round trip, so it reads back as from any store.
    """

    def __init__(self) -> None:
        self._entries: dict[str, JournalEntry] = {}  # insertion order is creation order
        self._open = False

    def __repr__(self) -> str:
        return f"<MemoryJournal {len(self._entries)} entries>"

    async def open(self) -> None:
        """Make the journal usable (idempotent)."""
        self._open = True

    async def close(self) -> None:
        """Refuse further use until opened again; the entries stay (idempotent)."""
        self._open = False

    async def intend(self, intent: Intent) -> None:
        """Record ``intent`` (a known key is reset to ``INTENT``, ``created_at`` kept)."""
        self._check()
        now = time.time()
        old = self._entries.get(intent.key)
        self._entries[intent.key] = JournalEntry(
            key=intent.key,
            kind=intent.kind,
            state=EntryState.INTENT,
            target=intent.target,
            run_id=intent.run_id,
            deadline=None if intent.deadline is None else float(intent.deadline),
            created_at=now if old is None else old.created_at,
            updated_at=now,
        )

    async def accept(self, key: str, command_id: str | None) -> None:
        """Record the 202 (``None``: no id, which settles the entry as ``ACCEPTED``)."""
        self._check()
        if command_id is None:
            self._update(key, state=EntryState.SETTLED, command_id=None, outcome=Outcome.ACCEPTED)
        else:
            self._update(key, state=EntryState.ACCEPTED, command_id=command_id, outcome=None)

    async def settle(self, key: str, outcome: Outcome, reason: Any = None) -> None:
        """Record how the command of ``key`` ended; ``reason`` must be JSON-serialisable."""
        self._check()
        stored = None if reason is None else json.loads(json.dumps(reason))
        self._update(key, state=EntryState.SETTLED, outcome=outcome, reason=stored)

    async def settle_many(self, settlements: Sequence[tuple[str, Outcome, Any]]) -> None:
        """``settle`` for each of ``(key, outcome, reason)``."""
        for key, outcome, reason in settlements:
            await self.settle(key, outcome, reason)

    async def get(self, key: str) -> JournalEntry | None:
        """The entry of ``key``, if any."""
        self._check()
        return self._entries.get(key)

    async def entries(
        self, *, run_id: str | None = None, unsettled: bool = False
    ) -> list[JournalEntry]:
        """Entries (of one run, and/or only those not settled), oldest first."""
        self._check()
        return [
            entry
            for entry in self._entries.values()
            if (run_id is None or entry.run_id == run_id)
            and not (unsettled and entry.state is EntryState.SETTLED)
        ]

    def _update(self, key: str, **changes: Any) -> None:
        old = self._entries.get(key)
        if old is not None:
            self._entries[key] = attrs.evolve(old, updated_at=time.time(), **changes)

    def _check(self) -> None:
        if not self._open:
            raise JournalError("the journal is not open")
