"""Tracked commands: handles, the tracker and its schedules, and waiting on many at once.

:mod:`.tracker` the handle and the tracker (one unit), :mod:`.response` the 202 a handle keeps,
:mod:`.schedule` when a handle is read next, :mod:`.status` where statuses are read from,
:mod:`.waiting` :func:`gather` and :class:`as_completed`, :mod:`.service` the client's one
place for accepted commands and acks.
"""

from ..wire.status import CommandStatus
from .policy import PollPolicy
from .response import CommandResponse
from .schedule import AdaptiveSchedule, ExponentialSchedule, Schedule
from .service import CommandService
from .status import HttpStatusSource
from .tracker import AcceptedCommand, CommandHandle, CommandResult, CommandTracker, StatusSource
from .waiting import as_completed, gather

__all__ = [
    "AcceptedCommand",
    "AdaptiveSchedule",
    "CommandHandle",
    "CommandResponse",
    "CommandResult",
    "CommandService",
    "CommandStatus",
    "CommandTracker",
    "ExponentialSchedule",
    "HttpStatusSource",
    "PollPolicy",
    "Schedule",
    "StatusSource",
    "as_completed",
    "gather",
]
