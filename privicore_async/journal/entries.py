"""The journal's records: an intent to send, and an entry as it stands."""

from __future__ import annotations

import enum
from typing import Any

import attrs

from ..errors import PrivicoreError

__all__ = ["EntryState", "Intent", "JournalEntry", "JournalError", "Outcome"]


class JournalError(PrivicoreError):
    """The journal cannot be used: a corrupted or foreign file, an unreachable store, a
    version this SDK does not read. Never a silent fresh start."""


class EntryState(enum.Enum):
    """How far a command got."""

    INTENT = "intent"  # about to be sent (or sent, and then the process died: in doubt)
    ACCEPTED = "accepted"  # the server answered 202 with this command id
    SETTLED = "settled"  # the outcome is known (see Outcome)


class Outcome(enum.Enum):
    """How a settled entry ended."""

    SUCCEEDED = "succeeded"
    REJECTED = "rejected"
    TIMED_OUT = "timed_out"  # the client stopped waiting; the command may still run
    FAILED = "failed"  # the request was refused or never reached the server: not accepted
    ACCEPTED = "accepted"  # a 202 with no command id: accepted, outcome unknowable


@attrs.frozen
class Intent:
    """What is recorded before a command is sent."""

    key: str
    """The caller's key, unique in the journal (``"<run id>/<device id>"`` for fleet syncs)."""
    kind: str
    """The route name, e.g. ``"storage.sync_device"``."""
    target: str | None = None
    """What the command is about (a device id), for reports and resumption."""
    run_id: str | None = None
    """The run this command belongs to (``sync_devices(run_id=...)``)."""
    deadline: float | None = None
    """Wall-clock time (epoch seconds) after which nobody waits for it any more."""


@attrs.frozen
class JournalEntry:
    """One command as the journal knows it."""

    key: str
    kind: str
    state: EntryState
    target: str | None = None
    run_id: str | None = None
    deadline: float | None = None
    command_id: str | None = None
    outcome: Outcome | None = None
    reason: Any = None
    """The server's rejection reason, or the error's message (JSON-serialisable)."""
    created_at: float = 0.0
    updated_at: float = 0.0

    @property
    def in_doubt(self) -> bool:
        """True when the command may have been sent but its acceptance was never recorded."""
        return self.state is EntryState.INTENT
