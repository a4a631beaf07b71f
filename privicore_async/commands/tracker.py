"""Tracked commands: :class:`CommandHandle` and the :class:`CommandTracker` that settles them.

Every accepted (202) command becomes a handle. A client owns one tracker: a heap of due times,
one scheduler task that wakes at the earliest and hands due handles to worker tasks, which
read statuses until none is due and then end: ``PollPolicy.concurrency`` of them, more (up to
``PollPolicy.max_concurrency``) while due reads pile up, so that a client busy submitting on
the same connections does not starve its own reads.
Ten thousand pending commands are ten thousand heap entries, not ten thousand sleeping tasks;
an idle tracker runs no task at all.

*When* a handle is read is its :class:`~privicore_async.commands.schedule.Schedule`'s call
(adaptive per kind of command, or plain exponential with ``PollPolicy(adaptive=False)``); what
a failed read means is the retry table's (:func:`~privicore_async.http.retry.decide`). Pushed
acks settle handles through :meth:`CommandTracker.settle`; while they flow, polling is only a
slow safety net, paced to ``PollPolicy.safety_rate`` reads per second in all. Work on many
handles at once (releasing parked ones, the ack channel joining) goes in slices that yield to
the event loop.

A 202 that names no command becomes an :class:`AcceptedCommand`: a handle that is done at
once (``ACCEPTED``), with nothing to track and no ``command_id``. Every other handle has an id,
so ``CommandHandle.command_id`` is a ``str``.

Handle and tracker are one unit: the tracker drives the handle's private state, nobody else.
"""

from __future__ import annotations

import asyncio
import heapq
import itertools
import logging
import time
from collections import deque
from collections.abc import Callable, Generator, Iterable
from datetime import UTC, datetime
from typing import Any, Protocol, cast

import attrs

from .. import errors
from .._json import JSON
from ..arguments import require_seconds
from ..http.retry import Action, RequestKind, decide, outcome_of
from ..wire.status import CommandStatus, StatusReading
from .policy import PollPolicy
from .response import CommandResponse
from .schedule import AdaptiveSchedule, ExponentialSchedule, Schedule

__all__ = [
    "AcceptedCommand",
    "CommandHandle",
    "CommandResult",
    "CommandTracker",
    "StatusSource",
]

logger = logging.getLogger("privicore_async.commands")


@attrs.frozen
class CommandResult:
    """The outcome of a settled command.

    ``command_id`` is ``None`` only for the result of an :class:`AcceptedCommand` (a 202 that
    named no command, status ``ACCEPTED``); ``has_id`` says which.
    """

    command_id: str | None
    status: CommandStatus
    body: JSON = None
    """The server's message (or rejection reason)."""
    submitted_at: datetime | None = None
    settled_at: datetime | None = None
    polls: int = 0
    """Status requests spent on this command."""

    @property
    def has_id(self) -> bool:
        """False only for the result of a 202 that named no command."""
        return self.command_id is not None


class StatusSource(Protocol):
    """Where the tracker reads a command's status from."""

    async def fetch(self, command_id: str) -> StatusReading:
        """One status read; raises :mod:`privicore_async.errors` types on failure."""
        ...


_LAST_READ = 0.05  # the read at a deadline may take this long before the handle expires
_SLICE = 512  # handles handled in one go before the scheduler yields to the event loop

_Callback = Callable[["CommandHandle"], object]


class CommandHandle:
    """A command the server accepted, tracked until it succeeds, is rejected or times out.

    Await it (``await handle``) for the :class:`CommandResult`; a rejection raises
    :class:`~privicore_async.errors.CommandRejected`, a passed deadline
    :class:`~privicore_async.errors.CommandTimeout`, and a client closed first
    :class:`~privicore_async.errors.ClientClosedError`. The handle progresses in the
    background whether or not anybody awaits it; :meth:`done` and :attr:`status` never do I/O.
    ``command_id`` is the server's id for the command (an :class:`AcceptedCommand`, the 202
    that named none, is the one handle without it: see :attr:`has_id`).
    """

    __slots__ = (
        "_callbacks",
        "_command_id",
        "_deadline",
        "_due",
        "_error",
        "_pending_age",
        "_response",
        "_result",
        "_settled_age",
        "_submitted_mono",
        "_tracker",
        "_waiters",
        "body",
        "kind",
        "polls",
        "status",
        "submitted_at",
    )

    def __init__(
        self,
        tracker: CommandTracker | None,
        command_id: str | None,
        *,
        kind: str | None = None,
        timeout: float | None = None,
        response: CommandResponse | None = None,
    ) -> None:
        # Made by the tracker only: ``command_id`` is None for an AcceptedCommand alone.
        self._tracker = tracker
        self._command_id = command_id
        self._response = response
        self.kind = kind
        self.status = CommandStatus.PENDING
        self.body: JSON = None
        self.polls = 0
        self.submitted_at = datetime.now(UTC)
        self._submitted_mono = time.monotonic()
        self._deadline = self._submitted_mono + (timeout if timeout is not None else 0.0)
        self._due = 0.0
        self._pending_age = 0.0  # age at the last "still pending" answer
        self._settled_age = 0.0  # age at which it was found settled
        self._result: CommandResult | None = None
        self._error: BaseException | None = None
        self._callbacks: list[_Callback] = []
        self._waiters: list[asyncio.Future[None]] = []

    def __repr__(self) -> str:
        return f"<CommandHandle {self._command_id} {self.status.value} polls={self.polls}>"

    # -- state, no I/O --------------------------------------------------------------------

    @property
    def command_id(self) -> str:
        """The server's id for the command: keep it to resume the command anywhere
        (``client.commands.resume(command_id)``). Typed ``str``: the one handle without an id
        is an :class:`AcceptedCommand`, whose ``command_id`` is ``None`` (see :attr:`has_id`)."""
        return cast("str", self._command_id)

    @property
    def has_id(self) -> bool:
        """True when the server named the command; False only for an :class:`AcceptedCommand`."""
        return self._command_id is not None

    @property
    def response(self) -> CommandResponse | None:
        """The HTTP answer that started the command: status, headers (credentials removed)
        and request id. ``None`` for a handle resumed from an id, which saw no answer."""
        return self._response

    def done(self) -> bool:
        """True once the command settled, failed, timed out or was cancelled."""
        return self._result is not None or self._error is not None

    def cancelled(self) -> bool:
        """True if tracking stopped before the command settled: :meth:`cancel` (awaiting then
        raises ``CancelledError``) or the client's close (``ClientClosedError``)."""
        return isinstance(self._error, asyncio.CancelledError | errors.ClientClosedError)

    def result(self) -> CommandResult:
        """The result if settled; raises the handle's error; ``InvalidStateError`` if pending."""
        if self._error is not None:
            raise self._error
        if self._result is None:
            raise asyncio.InvalidStateError(f"command {self._command_id} is still pending")
        return self._result

    def exception(self) -> BaseException | None:
        """The handle's error (``None`` on success); ``InvalidStateError`` if pending."""
        if not self.done():
            raise asyncio.InvalidStateError(f"command {self._command_id} is still pending")
        return self._error

    def add_done_callback(self, fn: _Callback) -> None:
        """Call ``fn(handle)`` once, on the event loop, when the handle settles."""
        if self.done():
            asyncio.get_running_loop().call_soon(fn, self)
        else:
            self._callbacks.append(fn)

    def remove_done_callback(self, fn: _Callback) -> int:
        """Forget ``fn``; returns how many registrations were removed."""
        before = len(self._callbacks)
        self._callbacks = [cb for cb in self._callbacks if cb != fn]
        return before - len(self._callbacks)

    # -- waiting ----------------------------------------------------------------------------

    def __await__(self) -> Generator[Any, None, CommandResult]:
        return self.wait().__await__()

    async def wait(self, timeout: float | None = None) -> CommandResult:
        """Wait for the outcome; ``timeout`` (seconds) bounds this wait only.

        Without ``timeout`` the wait ends at the latest at the command's deadline
        (``PollPolicy.timeout`` unless the call said otherwise). When ``timeout`` passes first,
        :class:`~privicore_async.errors.CommandTimeout` is raised and tracking goes on: the
        handle can be awaited again.
        """
        require_seconds("timeout", timeout, allow_zero=True)
        if not self.done():
            waiter = self._new_waiter()
            try:
                if timeout is None:
                    await waiter
                else:
                    await asyncio.wait((waiter,), timeout=timeout)
            finally:
                self._forget_waiter(waiter)
            if not self.done():
                raise errors.CommandTimeout(self._command_id, self.status.value, timeout=timeout)
        return self.result()

    async def refresh(self) -> CommandStatus:
        """Read the status once now (one request) and settle the handle if it is final."""
        if self.done() or self._tracker is None:
            return self.status
        await self._tracker.poll_now(self)
        return self.status

    def cancel(self) -> bool:
        """Stop tracking locally; awaiting the handle then raises ``CancelledError``.

        Privicore has no server-side cancel: the command itself runs on regardless.
        Returns ``False`` if the handle had already settled.
        """
        if self.done():
            return False
        self._finish(
            error=asyncio.CancelledError(f"tracking of command {self._command_id} cancelled")
        )
        return True

    def _close(self) -> None:
        """End tracking because the client closes (see :meth:`CommandTracker.close`)."""
        command_id = self._command_id
        self._finish(
            error=errors.ClientClosedError(
                f"command {command_id}: the client was closed before it settled; it runs on, "
                "and client.commands.resume(command_id) follows it from another client",
                command_id=command_id,
            )
        )

    # -- internals used by the tracker -------------------------------------------------------

    def _new_waiter(self) -> asyncio.Future[None]:
        waiter: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._waiters.append(waiter)
        return waiter

    def _forget_waiter(self, waiter: asyncio.Future[None]) -> None:
        if waiter in self._waiters:
            self._waiters.remove(waiter)

    @property
    def age(self) -> float:
        """Seconds since the command was submitted (or resumed)."""
        return time.monotonic() - self._submitted_mono

    @property
    def pending_age(self) -> float:
        """The age at which a status read last found the command still pending (the middle
        of that read's round trip: when the server looked); 0.0 if none did."""
        return self._pending_age

    @property
    def settled_age(self) -> float:
        """The age at which the command was found settled (the middle of the settling read's
        round trip, or when its ack came); 0.0 while pending."""
        return self._settled_age

    def _finish(
        self, *, result: CommandResult | None = None, error: BaseException | None = None
    ) -> None:
        if self.done():
            return
        self._result, self._error = result, error
        if result is not None:
            self.status, self.body = result.status, result.body
        # Waiters only get a wake-up signal, never the exception: an unawaited rejected
        # handle must not log "exception was never retrieved".
        for waiter in self._waiters:
            if not waiter.done():
                waiter.set_result(None)
        self._waiters.clear()
        callbacks, self._callbacks = self._callbacks, []
        if callbacks:
            loop = asyncio.get_running_loop()
            for fn in callbacks:
                loop.call_soon(fn, self)
        if self._tracker is not None:
            self._tracker._forget(self)

    def _settle(self, reading: StatusReading) -> None:
        if reading.status is CommandStatus.REJECTED:
            self.status, self.body = reading.status, reading.body
            self._finish(error=errors.CommandRejected(self._command_id, reading.body))
        else:
            now = datetime.now(UTC)
            self._finish(
                result=CommandResult(
                    self._command_id,
                    reading.status,
                    reading.body,
                    self.submitted_at,
                    now,
                    self.polls,
                )
            )


class AcceptedCommand(CommandHandle):
    """A 202 that named no command (no id in the body, no ``x-dpt-cab-id`` header).

    The command was accepted but nothing can follow it: the handle is done at once, with
    status ``ACCEPTED``; awaiting it gives a :class:`CommandResult` with that status. It has
    no command id: ``command_id`` is ``None`` (as the public contract has always said of an
    id-less 202) and ``has_id`` is false, but :attr:`response` shows the answer.
    """

    __slots__ = ()

    @property
    def command_id(self) -> None:  # type: ignore[override]
        """``None``: the server named no command (an ``AcceptedCommand`` is typed so)."""
        return None

    def __init__(self, *, kind: str | None = None, response: CommandResponse | None = None) -> None:
        super().__init__(None, None, kind=kind, response=response)
        self.status = CommandStatus.ACCEPTED
        at = self.submitted_at
        self._result = CommandResult(None, CommandStatus.ACCEPTED, None, at, at, 0)

    def __repr__(self) -> str:
        return f"<AcceptedCommand (no command id) {self.status.value}>"


class CommandTracker:
    """One scheduler per client: pending handles in a heap keyed by their next poll time."""

    def __init__(
        self,
        source: StatusSource,
        policy: PollPolicy | None = None,
        schedule: Schedule[CommandHandle] | None = None,
    ) -> None:
        self._source = source
        self.policy = policy = policy or PollPolicy()
        self.schedule: Schedule[CommandHandle] = schedule or (
            AdaptiveSchedule(policy) if policy.adaptive else ExponentialSchedule(policy)
        )
        """When each handle is read next (see :mod:`privicore_async.commands.schedule`)."""
        self._heap: list[tuple[float, int, CommandHandle]] = []
        self._seq = itertools.count()
        self._by_id: dict[str, CommandHandle] = {}
        self._paused_until = 0.0
        self._ready: deque[CommandHandle] = deque()  # due, waiting for a worker
        self._urgent: deque[CommandHandle] = deque()  # due reads that teach: taken first
        # Handles to (re)schedule, in slices: (handle, delay; None: the schedule's next).
        self._backlog: deque[tuple[CommandHandle, float | None]] = deque()
        self._safety_slot = 0.0  # the next free moment for a safety-net read
        self._slotted: set[CommandHandle] = set()  # due safety reads holding a later slot
        self._scheduler: asyncio.Task[None] | None = None
        self._wakeup: asyncio.Future[None] | None = None
        self._workers: set[asyncio.Task[None]] = set()  # at most PollPolicy.max_concurrency
        self._closed = False
        self.acks_live = False
        """True while the ack channel is joined: polling is then only a slow safety net."""

    # -- public ------------------------------------------------------------------------------

    @property
    def pending(self) -> int:
        """How many handles are being tracked."""
        return len(self._by_id)

    def find(self, command_id: str) -> CommandHandle | None:
        """The handle tracking ``command_id``, if any."""
        return self._by_id.get(command_id)

    def track(
        self,
        command_id: str | None,
        *,
        kind: str | None = None,
        timeout: float | None = None,
        early: StatusReading | None = None,
        read_now: bool = False,
        response: CommandResponse | None = None,
    ) -> CommandHandle:
        """A handle for ``command_id`` (the same handle if the id is already tracked).

        ``None`` gives an :class:`AcceptedCommand`, already done: nothing to track.
        ``early`` is an ack that beat the HTTP answer: the new handle settles with it.
        ``read_now``: read its status at once (a command started elsewhere may have settled
        long ago, and its ack will never come again). ``response`` is the answer that
        started it (:attr:`CommandHandle.response`).
        """
        if self._closed:
            raise errors.ClientClosedError("the client is closed", command_id=command_id)
        if command_id is None:
            return AcceptedCommand(kind=kind, response=response)
        existing = self._by_id.get(command_id)
        if existing is not None:
            if existing._response is None:  # resumed first, its 202 seen only now
                existing._response = response
            return existing
        handle = CommandHandle(
            self,
            command_id,
            kind=kind,
            timeout=self.policy.timeout if timeout is None else timeout,
            response=response,
        )
        self._by_id[command_id] = handle
        if early is not None:
            handle._settle(early)  # the ack beat the HTTP answer
        elif read_now:
            self._schedule(handle, 0.0)
        else:
            self._start(handle)
        return handle

    def settle(self, command_id: str, status: CommandStatus, body: JSON = None) -> bool:
        """Settle a tracked command from outside (a pushed ack). False if it is not tracked."""
        handle = self._by_id.get(command_id)
        if handle is None or not status.final:
            return False
        handle._settled_age = handle.age
        self._learned(handle, exact=True)
        handle._settle(StatusReading(status, body))
        return True

    def set_acks_live(self, live: bool) -> None:
        """The ack channel joined (``True``) or dropped (``False``).

        Joined: every pending command is read once now, since acks of what settled while the
        channel was down are never replayed; after that polling is the slow safety net.
        Dropped: pending commands go back to normal polling at once.
        """
        self.acks_live = live
        now = time.monotonic()
        if not live:
            self._safety_slot = 0.0
            self._slotted.clear()
        for handle in self._by_id.values():
            if live:
                self._slotted.add(handle)  # the catch-up read is not paced: read it now
                self._backlog.append((handle, 0.0))
            elif handle._due - now > self.policy.max_interval:
                self._backlog.append((handle, None))
        self._kick()

    async def poll_now(self, handle: CommandHandle) -> None:
        """One status request for ``handle`` now, outside the schedule."""
        await self._poll(handle)

    async def close(self) -> None:
        """Stop the scheduler and end every pending handle with
        :class:`~privicore_async.errors.ClientClosedError`; leaves no task behind."""
        self._closed = True
        tasks = [t for t in (self._scheduler, *self._workers) if t is not None]
        for task in tasks:
            task.cancel()
        if tasks:
            await asyncio.gather(*tasks, return_exceptions=True)
        for handle in list(self._by_id.values()):
            handle._close()
        self._heap.clear()
        self._backlog.clear()

    # -- scheduling --------------------------------------------------------------------------

    def _start(self, handle: CommandHandle) -> None:
        if self.acks_live:  # the ack will settle it; a read only if the ack never comes
            self._schedule(handle, self._safety_delay(handle))
            return
        delay = self.schedule.first_delay(handle)
        # A parked handle waits for the schedule to release it; its deadline still expires it.
        self._schedule(handle, handle._deadline - time.monotonic() if delay is None else delay)

    def _next_delay(self, handle: CommandHandle) -> float:
        if self.acks_live:
            return self._safety_delay(handle)
        return self.schedule.next_delay(handle)

    def _safety_delay(self, handle: CommandHandle) -> float:
        """When the safety net reads ``handle`` next: after ``safety_interval``, or its age
        (up to ten intervals), and in a free slot of ``safety_rate`` reads per second, so
        that 50,000 pending commands cost no more reads than fifty."""
        policy = self.policy
        return min(max(policy.safety_interval, handle.age), 10 * policy.safety_interval)

    def _safety_slot_for(self, handle: CommandHandle, now: float) -> float:
        """Seconds ``handle``'s due safety read waits for a free slot (0.0: read now).

        Slots are taken when a read comes due, not when it is planned: commands that their
        acks settle first never hold one, so a lost ack is read soon after its interval."""
        if handle in self._slotted:
            self._slotted.discard(handle)
            return 0.0
        slot = max(now, self._safety_slot)
        self._safety_slot = slot + 1 / self.policy.safety_rate
        if slot > now:
            self._slotted.add(handle)
        return slot - now

    def _release(self, handles: Iterable[CommandHandle]) -> None:
        before = len(self._backlog)
        self._backlog.extend((handle, None) for handle in handles)
        if len(self._backlog) > before:
            self._kick()

    def _kick(self) -> None:
        """Make the scheduler run (or wake up) to take in the backlog."""
        if self._backlog and not self._closed:
            self._run_scheduler(wake=True)

    def _run_scheduler(self, *, wake: bool) -> None:
        """Start the scheduler task if none runs; else wake it from its sleep if ``wake``."""
        if self._scheduler is None or self._scheduler.done():
            self._scheduler = asyncio.get_running_loop().create_task(
                self._run(), name="privicore-command-tracker"
            )
        elif wake and self._wakeup is not None and not self._wakeup.done():
            self._wakeup.set_result(None)

    def _schedule(self, handle: CommandHandle, delay: float) -> None:
        due = min(time.monotonic() + max(0.0, delay), handle._deadline)
        handle._due = due
        heapq.heappush(self._heap, (due, next(self._seq), handle))
        self._run_scheduler(wake=self._heap[0][2] is handle)  # now the earliest: wake for it

    def _forget(self, handle: CommandHandle) -> None:
        command_id = handle._command_id
        if command_id is not None and self._by_id.get(command_id) is handle:
            del self._by_id[command_id]
        self._slotted.discard(handle)
        self._release(self.schedule.forget(handle))

    async def _sleep_until(self, when: float) -> None:
        loop = asyncio.get_running_loop()
        self._wakeup = loop.create_future()
        timer = loop.call_later(max(0.0, when - time.monotonic()), _wake, self._wakeup)
        try:
            await self._wakeup
        finally:
            timer.cancel()
            self._wakeup = None

    async def _run(self) -> None:
        heap, backlog = self._heap, self._backlog
        steps = 0
        while heap or backlog:
            steps += 1
            if steps % _SLICE == 0:
                await asyncio.sleep(0)  # many due at once: let the loop breathe in between
            if backlog:
                for _ in range(min(len(backlog), _SLICE)):
                    handle, delay = backlog.popleft()
                    if not handle.done():
                        self._schedule(handle, self._next_delay(handle) if delay is None else delay)
                await asyncio.sleep(0)
                continue
            due, _, handle = heap[0]
            if handle.done() or handle._due != due:
                heapq.heappop(heap)  # settled or rescheduled since: a stale entry
                continue
            now = time.monotonic()
            if due > now:
                await self._sleep_until(due)
                continue
            heapq.heappop(heap)
            if now < self._paused_until:
                # The server asked for a pause (429): no read now, but a deadline that falls
                # inside the pause still ends the wait on time.
                if now >= handle._deadline:
                    self._expire(handle)
                else:
                    self._schedule(handle, self._paused_until - now)
                continue
            if self.acks_live and now < handle._deadline:
                wait = self._safety_slot_for(handle, now)
                if wait > 0.0:
                    self._schedule(handle, wait)
                    continue
            if not self.acks_live and now < handle._deadline:
                # What the schedule learned since it planned this read may move it.
                wait = self.schedule.recheck(handle)
                if wait > 0.0:
                    self._schedule(handle, wait)
                    continue
            # Also at the deadline one last read is made: its "pending" answer expires it.
            # A read that teaches the model goes ahead of the queue.
            (self._urgent if self.schedule.urgent(handle) else self._ready).append(handle)
            workers, waiting = len(self._workers), len(self._ready) + len(self._urgent)
            if workers < self.policy.concurrency or (
                workers < self.policy.max_concurrency and waiting > workers
            ):
                self._workers.add(asyncio.get_running_loop().create_task(self._work()))

    async def _work(self) -> None:
        """Read due handles until none is left, then end (an idle tracker has no task)."""
        ready, urgent = self._ready, self._urgent
        try:
            while urgent or ready:
                handle = urgent.popleft() if urgent else ready.popleft()
                if handle.done():  # settled or cancelled while it waited for a worker
                    continue
                if time.monotonic() >= handle._deadline + _LAST_READ:
                    self._expire(handle)  # its deadline passed while it waited: no late read
                    continue
                await self._poll(handle)
        finally:
            # Leave the count in the same step as the last look at ``ready``: a done callback
            # runs a loop turn later, and a read queued meanwhile would find every slot
            # taken by a worker that has ended, and wait forever.
            task = asyncio.current_task()
            if task is not None:
                self._workers.discard(task)

    def _expire(self, handle: CommandHandle) -> None:
        timeout = handle._deadline - handle._submitted_mono
        handle._finish(
            error=errors.CommandTimeout(handle._command_id, handle.status.value, timeout=timeout)
        )

    def _learned(self, handle: CommandHandle, *, exact: bool = False) -> None:
        """Tell the schedule a handle is settling; read the handles it releases."""
        self._release(self.schedule.settled(handle, exact=exact))

    async def _poll(self, handle: CommandHandle) -> None:
        # A read never outlives its own budget nor (by more than the last read's moment) the
        # command's deadline: the deadline is kept by this timer, not by the server's pace.
        left = handle._deadline - time.monotonic()
        budget = min(self.policy.read_timeout, max(left, 0.0) + _LAST_READ)
        failure: Exception | None = None
        sent = handle.age
        try:
            try:
                async with asyncio.timeout(budget):
                    reading = await self._source.fetch(handle.command_id)
            finally:
                handle.polls += 1
        except asyncio.CancelledError:
            raise
        except TimeoutError:
            failure = errors.TransportError(f"status read took longer than {budget:.2f}s")
        except Exception as exc:
            failure = exc
        if failure is not None:
            self._failed_read(handle, failure)
        else:
            # The server looked at some moment of the round trip: take its middle.
            looked = (sent + handle.age) / 2
            if reading.status.final:
                handle._settled_age = looked
                self._learned(handle)
                handle._settle(reading)
            else:
                handle._pending_age = looked
                self.schedule.pending(handle)
                self._reschedule(handle)

    def _failed_read(self, handle: CommandHandle, exc: Exception) -> None:
        """Do what the retry table says about a status read that failed."""
        known = isinstance(exc, errors.APIError | errors.TransportError)
        action = decide(RequestKind.STATUS_READ, outcome_of(exc)) if known else Action.GIVE_UP
        if action is Action.NOT_YET and handle.age < self.policy.not_found_grace:
            self._reschedule(handle)
        elif action is Action.NOT_YET:
            handle._finish(
                error=errors.CommandNotFound(handle.command_id, self.policy.not_found_grace)
            )
        elif action is Action.PAUSE:
            retry_after = exc.retry_after if isinstance(exc, errors.RateLimitError) else None
            pause = self.policy.max_interval if retry_after is None else retry_after
            self._paused_until = max(self._paused_until, time.monotonic() + pause)
            logger.info("status polling paused for %.2fs (429)", pause)
            self._reschedule(handle)
        elif action is Action.LATER:
            logger.info("status of %s unreadable for now: %s", handle._command_id, exc)
            self._reschedule(handle)
        else:  # anything else would leave the handle hanging forever
            handle._finish(error=exc)

    def _reschedule(self, handle: CommandHandle) -> None:
        if handle.done() or self._closed:
            return
        if time.monotonic() >= handle._deadline:
            self._expire(handle)
        else:
            self._schedule(handle, self._next_delay(handle))


def _wake(future: asyncio.Future[None]) -> None:
    if not future.done():
        future.set_result(None)
