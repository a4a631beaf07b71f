"""The :class:`CommandJournal` protocol every store implements."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Protocol

from .entries import Intent, JournalEntry, Outcome

__all__ = ["CommandJournal"]


class CommandJournal(Protocol):
    """A durable record of commands. Every write returns once it is durable.

    Concurrent writes are group-committed (one transaction, one pipeline) so a thousand
    commands in flight do not cost a thousand commits.
    """

    async def open(self) -> None:
        """Open (create on first use) and check the store; ``JournalError`` if unusable.

        Idempotent; the client calls it before its first command.
        """
        ...

    async def close(self) -> None:
        """Write what is queued, then release the store. Idempotent."""
        ...

    async def intend(self, intent: Intent) -> None:
        """Record that the command of ``intent.key`` is about to be sent.

        A key that exists is reset to ``INTENT`` (a resubmission): its command id, outcome
        and reason are cleared, ``created_at`` kept.
        """
        ...

    async def accept(self, key: str, command_id: str | None) -> None:
        """The command of ``key`` was accepted (``command_id`` ``None``: a 202 with no id,
        which also settles it as ``Outcome.ACCEPTED``)."""
        ...

    async def settle(self, key: str, outcome: Outcome, reason: Any = None) -> None:
        """The command of ``key`` ended so."""
        ...

    async def settle_many(self, settlements: Sequence[tuple[str, Outcome, Any]]) -> None:
        """``settle`` for many ``(key, outcome, reason)`` at once (one group, no task each)."""
        ...

    async def get(self, key: str) -> JournalEntry | None:
        """The entry of ``key``, if any."""
        ...

    async def entries(
        self, *, run_id: str | None = None, unsettled: bool = False
    ) -> list[JournalEntry]:
        """Entries (of one run, and/or only those not settled), oldest first."""
        ...
