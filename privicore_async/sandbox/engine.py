"""The command engine: accept now, settle later, from one timer.

Privicore answers every mutating call with 202 before doing the work. The engine mirrors that:
:meth:`CommandEngine.accept` records a :class:`Command` and returns at once; the business rule
runs when the command *settles*, ``latency + uniform(0, jitter)`` seconds later, so a rule sees
the state of the world at settle time, as on the real server.

All pending commands share one heap and one ``loop.call_at`` timer armed for the earliest due
time. Ten thousand pending commands cost ten thousand heap entries, not ten thousand tasks,
and closing the engine is one ``cancel()``.

A :data:`Gate` may hold a command at acceptance (voting policies do): it then stays started
until :meth:`CommandEngine.release` settles it or its hold expires, with no special case in any
handler.
"""

from __future__ import annotations

import asyncio
import enum
import heapq
import itertools
import logging
import random
import time
import uuid
from collections.abc import Callable

import attrs

from ..wire.status import STATUS_BY_CODE, STATUS_CODE, STATUS_WORD, CommandStatus
from .stats import SandboxStats

__all__ = [
    "Command",
    "CommandEngine",
    "CommandState",
    "Gate",
    "Hold",
    "Outcome",
    "Rule",
    "SettleListener",
]

_log = logging.getLogger(__name__)

SUCCESS_MESSAGE = "Command completed successfully"

# asyncio runs a timer up to one clock resolution early (BaseEventLoop._run_once).
_CLOCK_RESOLUTION = time.get_clock_info("monotonic").resolution


class CommandState(enum.IntEnum):
    """A command's state; the values are the wire's ``command_status`` codes (§a5)."""

    STARTED = STATUS_CODE[CommandStatus.PENDING]
    SUCCEEDED = STATUS_CODE[CommandStatus.SUCCEEDED]
    REJECTED = STATUS_CODE[CommandStatus.REJECTED]

    @property
    def status(self) -> CommandStatus:
        """The same state in the wire modules' terms."""
        return STATUS_BY_CODE[self]

    @property
    def word(self) -> str:
        """The status word of the string/array answer shapes."""
        return STATUS_WORD[self.status]


@attrs.frozen
class Outcome:
    """What a business rule decided: the final state and the body (message or reason key)."""

    state: CommandState
    body: object = None

    @classmethod
    def success(cls, body: object = SUCCESS_MESSAGE) -> Outcome:
        """The command did its work."""
        return cls(CommandState.SUCCEEDED, body)

    @classmethod
    def reject(cls, reason: str) -> Outcome:
        """A rule refused the command; ``reason`` is a short key such as ``device.offline``."""
        return cls(CommandState.REJECTED, reason)


Rule = Callable[["Command"], Outcome]
"""A business rule: evaluated once, when the command settles; it may change the state."""

SettleListener = Callable[["Command"], None]


@attrs.frozen
class Hold:
    """A gate's verdict: keep the command started for at most ``seconds``.

    It settles earlier only through :meth:`CommandEngine.release`; if nobody releases it in
    time, ``on_expiry`` decides its outcome (a voting pool that timed out, say).
    """

    seconds: float
    on_expiry: Rule


Gate = Callable[["Command"], Hold | None]
"""Consulted once per accepted command: ``None`` lets it settle at the configured latency."""


@attrs.define(eq=False)
class Command:
    """One accepted command and, once settled, its outcome."""

    command_id: str
    route: str  # the route name that accepted it
    profile_id: str | None
    accepted_at: float  # wall clock (time.time())
    state: CommandState = CommandState.STARTED
    body: object = None
    settled_at: float | None = None  # wall clock; None while started
    due_at: float | None = None  # wall clock it is scheduled to settle at; None if never (lost)
    lost: bool = False  # accepted, but will never settle (fault injection)
    held: bool = False  # a gate holds it until released or expired (voting policies)
    rule: Rule | None = attrs.field(default=None, repr=False)
    held_rule: Rule | None = attrs.field(default=None, repr=False)  # runs on release
    target: str | None = None  # what it is about (a device id), when the handler said

    @property
    def settled(self) -> bool:
        """True once the command has succeeded or been rejected."""
        return self.state is not CommandState.STARTED


class CommandEngine:
    """Accepts commands and settles each after ``latency + uniform(0, jitter)`` seconds.

    ``commands`` is the dict the engine records into (shared with the sandbox state, so tests
    see every command). ``latency`` and ``jitter`` may be changed at any time; a change applies
    to commands accepted afterwards.
    """

    def __init__(
        self,
        commands: dict[str, Command],
        stats: SandboxStats,
        *,
        latency: float,
        jitter: float,
        rng: random.Random,
    ) -> None:
        self.commands = commands
        self.latency = latency
        self.jitter = jitter
        self._stats = stats
        self._rng = rng
        self._heap: list[tuple[float, int, Command]] = []
        self._order = itertools.count()  # ties settle in acceptance order
        self._timer: asyncio.TimerHandle | None = None
        self._timer_when = 0.0
        self._loop: asyncio.AbstractEventLoop | None = None
        self._listeners: list[SettleListener] = []
        self._closed = False
        self.gate: Gate | None = None
        """Asked about every command at acceptance; a :class:`Hold` delays its settlement."""

    @property
    def latency(self) -> float:
        """Seconds from acceptance to settlement (before jitter)."""
        return self._latency

    @latency.setter
    def latency(self, value: float) -> None:
        if not value >= 0:
            raise ValueError(f"latency must be >= 0, got {value!r}")
        self._latency = float(value)

    @property
    def jitter(self) -> float:
        """Upper bound of the uniform random delay added to ``latency``."""
        return self._jitter

    @jitter.setter
    def jitter(self, value: float) -> None:
        if not value >= 0:
            raise ValueError(f"jitter must be >= 0, got {value!r}")
        self._jitter = float(value)

    @property
    def pending(self) -> int:
        """Commands waiting for their settle time (lost ones are not counted)."""
        return len(self._heap)

    def due(self) -> dict[str, float]:
        """``{command_id: due_at}`` of every command waiting to settle (wall clock,
        ``time.time()``); lost and settled commands are not in it.

        A held command's ``due_at`` is when its hold expires: it settles earlier if released.
        Costs one pass over the pending commands, not over every command ever accepted.
        """
        return {
            command.command_id: command.due_at
            for _, _, command in self._heap
            if command.due_at is not None
        }

    def add_listener(self, listener: SettleListener) -> None:
        """Call ``listener(command)`` whenever a command settles (the ack channel's hook)."""
        self._listeners.append(listener)

    def accept(
        self,
        route: str,
        profile_id: str | None,
        rule: Rule,
        *,
        lost: bool = False,
        latency: float | None = None,
        target: str | None = None,
    ) -> Command:
        """Record a new command and schedule its settlement; must run on the event loop.

        A ``lost`` command is recorded but never scheduled: its status stays ``started``.
        ``latency`` overrides the engine's latency and jitter for this command (``0``: it
        settles on the loop's next iteration; the ack channel's ``early_acks`` mode).
        """
        command = Command(
            str(uuid.uuid4()), route, profile_id, time.time(), lost=lost, target=target
        )
        self.commands[command.command_id] = command
        self._stats.commands_accepted += 1
        if lost:
            self._stats.commands_lost += 1
            return command
        command.rule = rule
        loop = self._loop or asyncio.get_running_loop()
        self._loop = loop
        hold = self._ask_gate(command)
        if hold is not None:
            command.held, command.held_rule, command.rule = True, rule, hold.on_expiry
            delay = max(0.0, hold.seconds)
        elif latency is not None:
            delay = max(0.0, latency)
        else:
            delay = self._latency
            if self._jitter:
                delay += self._rng.uniform(0.0, self._jitter)
        command.due_at = time.time() + delay
        due = loop.time() + delay
        heapq.heappush(self._heap, (due, next(self._order), command))
        if self._timer is None or due < self._timer_when:
            self._arm(due)
        return command

    def release(self, command: Command, outcome: Outcome | None = None) -> bool:
        """Settle a held command now: by its own rule, or with ``outcome`` (e.g. a denied vote).

        Returns False (and does nothing) if the command is not held or already settled.
        """
        if not command.held or command.settled or self._closed:
            return False
        entry = next((e for e in self._heap if e[2] is command), None)
        if entry is not None:
            self._heap.remove(entry)
            heapq.heapify(self._heap)
        if outcome is None:
            command.rule = command.held_rule
        else:
            command.rule = lambda _command: outcome
        self._settle(command)
        return True

    def _ask_gate(self, command: Command) -> Hold | None:
        if self.gate is None:
            return None
        try:
            return self.gate(command)
        except Exception:
            # A broken gate must not take the command down with it: it settles normally.
            _log.exception("sandbox gate failed for %s", command.route)
            return None

    def close(self) -> None:
        """Cancel the timer; commands still pending stay ``started`` forever. Idempotent."""
        self._closed = True
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
        self._heap.clear()

    def _arm(self, when: float) -> None:
        if self._closed or self._loop is None:
            return
        if self._timer is not None:
            self._timer.cancel()
        self._timer = self._loop.call_at(when, self._fire)
        self._timer_when = when

    def _fire(self) -> None:
        self._timer = None
        assert self._loop is not None
        # Settle everything the loop considered due, or an early wake-up would re-arm forever.
        horizon = self._loop.time() + _CLOCK_RESOLUTION
        heap = self._heap
        while heap and heap[0][0] <= horizon:
            self._settle(heapq.heappop(heap)[2])
        if heap:
            self._arm(heap[0][0])

    def _settle(self, command: Command) -> None:
        rule, command.rule, command.held_rule = command.rule, None, None
        try:
            outcome = rule(command) if rule is not None else Outcome.success()
        except Exception:
            # A bug in one rule must not stall every other command behind it in the heap.
            _log.exception("sandbox rule for %s failed", command.route)
            outcome = Outcome.reject("sandbox.internal_error")
        command.state = outcome.state
        command.body = outcome.body
        command.settled_at = time.time()
        stats = self._stats
        stats.commands_settled += 1
        if outcome.state is CommandState.SUCCEEDED:
            stats.commands_succeeded += 1
        else:
            stats.commands_rejected += 1
        for listener in self._listeners:
            listener(command)
