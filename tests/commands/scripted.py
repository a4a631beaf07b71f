"""A status source that answers like the status endpoint, on a script."""

from __future__ import annotations

import asyncio
import time

from privicore_async import PollPolicy
from privicore_async.wire import CommandStatus, StatusReading

FAST = PollPolicy(initial_delay=0.0, min_interval=0.01, max_interval=0.05, timeout=5.0)


class ScriptedSource:
    """Answers like the status endpoint: pending until a command's settle time has passed."""

    def __init__(self, *, rtt: float = 0.0) -> None:
        self.plans: dict[str, tuple[float, CommandStatus, object]] = {}
        self.fetches: dict[str, int] = {}
        self.fetch_times: list[float] = []
        self.in_flight = 0
        self.max_in_flight = 0
        self.max_tasks = 0
        self.rtt = rtt
        self.raise_next: list[BaseException] = []

    def plan(
        self,
        command_id: str,
        after: float,
        status: CommandStatus = CommandStatus.SUCCEEDED,
        body: object = "done",
    ) -> None:
        self.plans[command_id] = (time.monotonic() + after, status, body)

    async def fetch(self, command_id: str) -> StatusReading:
        self.fetches[command_id] = self.fetches.get(command_id, 0) + 1
        self.fetch_times.append(time.monotonic())
        self.in_flight += 1
        self.max_in_flight = max(self.max_in_flight, self.in_flight)
        self.max_tasks = max(self.max_tasks, len(asyncio.all_tasks()))
        try:
            await asyncio.sleep(self.rtt)
            if self.raise_next:
                raise self.raise_next.pop(0)
            settle_at, status, body = self.plans[command_id]
            if time.monotonic() >= settle_at:
                return StatusReading(status, body)
            return StatusReading(CommandStatus.PENDING)
        finally:
            self.in_flight -= 1

    @property
    def total(self) -> int:
        return sum(self.fetches.values())
