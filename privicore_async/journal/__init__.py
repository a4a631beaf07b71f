"""The command journal: what was sent, what was accepted, what settled, on disk or in Redis.

An accepted command must survive the process that sent it. With a journal the client records
every command in steps, each durable before the next thing happens:

* **intent** before the request is sent (kind, target, the caller's key, run, deadline);
* **accepted** with the command id, before the handle is handed to the caller;
* **settled** with the outcome, once known.

An entry left at *intent* is **in doubt**: the process died after (or while) sending, and the
command may have run. :mod:`.memory`, :mod:`.sqlite` and :mod:`.redis` implement the one
:class:`CommandJournal` protocol; ``RedisJournal`` needs the ``redis`` extra.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from .entries import (
    EntryState,
    Intent,
    JournalEntry,
    JournalError,
    Outcome,
)
from .memory import MemoryJournal
from .protocol import CommandJournal
from .sqlite import SqliteJournal

if TYPE_CHECKING:
    from .redis import RedisJournal

__all__ = [
    "CommandJournal",
    "EntryState",
    "Intent",
    "JournalEntry",
    "JournalError",
    "MemoryJournal",
    "Outcome",
    "RedisJournal",
    "SqliteJournal",
]


def __getattr__(name: str) -> Any:
    # RedisJournal imports redis-py, an optional dependency: only when asked for.
    if name == "RedisJournal":
        from .redis import RedisJournal

        return RedisJournal
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
