"""The command states and the one table of their wire codes and words (§a5, §a6).

``command_status`` is ``1`` (in flight), ``2`` (succeeded) or ``3`` (rejected) in status
answers and in ``X-DPT-CAB-ID`` acks alike; the string answers use words, several per state.
Client and sandbox both read and write statuses through this table, so they cannot disagree.
"""

from __future__ import annotations

import enum
from types import MappingProxyType
from typing import Any

import attrs

from ..errors import ProtocolError

__all__ = [
    "STATUS_BY_CODE",
    "STATUS_CODE",
    "STATUS_WORD",
    "CommandStatus",
    "StatusReading",
    "status_from_code",
    "status_from_word",
]


class CommandStatus(enum.Enum):
    """The state of a command as far as the client knows."""

    PENDING = "pending"  # accepted, not settled
    SUCCEEDED = "succeeded"
    REJECTED = "rejected"
    ACCEPTED = "accepted"  # 202 with no command id: nothing to track

    @property
    def final(self) -> bool:
        """True for states that will not change any more."""
        return self is not CommandStatus.PENDING


STATUS_BY_CODE: MappingProxyType[int, CommandStatus] = MappingProxyType(
    {1: CommandStatus.PENDING, 2: CommandStatus.SUCCEEDED, 3: CommandStatus.REJECTED}
)
"""``command_status`` code → state."""

STATUS_CODE: MappingProxyType[CommandStatus, int] = MappingProxyType(
    {status: code for code, status in STATUS_BY_CODE.items()}
)
"""State → ``command_status`` code (``ACCEPTED`` has none: it never goes on the wire)."""

STATUS_WORD: MappingProxyType[CommandStatus, str] = MappingProxyType(
    {
        CommandStatus.PENDING: "started",
        CommandStatus.SUCCEEDED: "succeeded",
        CommandStatus.REJECTED: "rejected",
    }
)
"""State → the word the server writes in the string and array answer shapes."""

# §a5's suggested normalisation; the codes are accepted as text too ("2").
_SYNONYMS: dict[str, CommandStatus] = {
    "started": CommandStatus.PENDING,
    "pending": CommandStatus.PENDING,
    "processing": CommandStatus.PENDING,
    "succeeded": CommandStatus.SUCCEEDED,
    "success": CommandStatus.SUCCEEDED,
    "completed": CommandStatus.SUCCEEDED,
    "rejected": CommandStatus.REJECTED,
    "failed": CommandStatus.REJECTED,
    "error": CommandStatus.REJECTED,
    **{str(code): status for code, status in STATUS_BY_CODE.items()},
}


@attrs.frozen
class StatusReading:
    """One reading of a command's state: a status answer or an ack, and the server's body."""

    status: CommandStatus
    body: Any = None


def status_from_code(value: Any) -> CommandStatus | None:
    """The state of a ``command_status`` code; ``None`` for anything else (booleans included)."""
    if isinstance(value, bool) or not isinstance(value, int):
        return None
    return STATUS_BY_CODE.get(value)


def status_from_word(value: Any) -> CommandStatus:
    """The state of a status word or code, in any case; ProtocolError for an unknown one."""
    key = str(value).strip().lower() if isinstance(value, str | int) else None
    if isinstance(value, bool) or key is None or key not in _SYNONYMS:
        raise ProtocolError(f"command status: unknown value {value!r:.80}")
    return _SYNONYMS[key]
