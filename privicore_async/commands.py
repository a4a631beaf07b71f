"""Tracked commands: :class:`CommandHandle`, :class:`CommandResult` and the :class:`CommandTracker`.

Every accepted (202) command becomes a handle. A client owns one tracker: a heap of due times,
one scheduler task that wakes at the earliest and hands due handles to at most
``PollPolicy.concurrency`` worker tasks, which read statuses until none is due and then end.
Ten thousand pending commands are ten thousand heap entries, not ten thousand sleeping tasks;
an idle tracker runs no task at all.

Polling is *adaptive*, per kind of command (its route name). A couple of commands of a kind
are *scouts*: they poll densely from the start and so measure how long such commands take.
Every other command of the kind waits (parked, costing no request) until a scout has settled,
then reads its status only inside the learned window of durations: once at the window's end
when the window is narrower than ``min_interval``, else swept from mean minus one deviation
in one-deviation steps; past the window it backs off exponentially (``backoff``'s generator).
A steady stream keeps an occasional scout, so the model follows the server when it speeds up
or slows down. Only scouts (and pushed acks) teach the model: the others' reads are placed by
the model itself, so learning from them would feed its own bias back.
``PollPolicy(adaptive=False)`` gives plain jittered exponential polling.

Pushed acks (the WebSocket channel) settle handles through :meth:`CommandTracker.settle`.
"""

from __future__ import annotations

import asyncio
import heapq
import itertools
import logging
import random
import time
from collections import deque
from collections.abc import AsyncIterator, Callable, Generator, Iterable
from datetime import UTC, datetime
from typing import Any, Protocol

import attrs
import backoff

from . import errors
from .http.retry import Action, RequestKind, decide, outcome_of
from .http.transport import Transport
from .routes import Route
from .wire import CommandStatus, StatusReading, parse_command_status

__all__ = [
    "CommandHandle",
    "CommandResult",
    "CommandStatus",
    "CommandTracker",
    "HttpStatusSource",
    "PollPolicy",
    "StatusSource",
    "as_completed",
    "gather",
]

logger = logging.getLogger("privicore_async")


@attrs.frozen
class PollPolicy:
    """How the tracker polls ``/request-status`` (kept apart from :class:`RetryPolicy`)."""

    timeout: float = attrs.field(default=300.0, validator=attrs.validators.gt(0))
    """Default deadline of a command, in seconds from submission; then ``CommandTimeout``."""
    initial_delay: float = attrs.field(default=0.1, validator=attrs.validators.ge(0))
    """First poll of a command of a kind the tracker knows nothing about yet."""
    min_interval: float = attrs.field(default=0.05, validator=attrs.validators.gt(0))
    max_interval: float = attrs.field(default=5.0, validator=attrs.validators.gt(0))
    factor: float = attrs.field(default=1.6, validator=attrs.validators.gt(1))
    jitter: float = attrs.field(
        default=0.1, validator=attrs.validators.and_(attrs.validators.ge(0), attrs.validators.lt(1))
    )
    """Each delay is scaled by a random factor in ``[1 - jitter, 1]``."""
    concurrency: int = attrs.field(default=32, validator=attrs.validators.ge(1))
    """Status requests in flight at once, per client."""
    not_found_grace: float = attrs.field(default=10.0, validator=attrs.validators.ge(0))
    """How long a 404 for a just-issued id counts as "not visible yet" rather than unknown."""
    adaptive: bool = True
    safety_interval: float = attrs.field(default=30.0, validator=attrs.validators.gt(0))
    """Poll interval while pushed acks are flowing (the ack channel's safety net)."""


@attrs.frozen
class CommandResult:
    """The outcome of a settled command."""

    command_id: str | None
    status: CommandStatus
    body: Any = None
    """The server's message (or rejection reason)."""
    submitted_at: datetime | None = None
    settled_at: datetime | None = None
    polls: int = 0
    """Status requests spent on this command."""


class StatusSource(Protocol):
    """Where the tracker reads a command's status from."""

    async def fetch(self, command_id: str) -> StatusReading:
        """One status read; raises :mod:`privicore_async.errors` types on failure."""
        ...


class HttpStatusSource:
    """Reads ``/request-status/{id}`` through the transport (which knows its GET alternative)."""

    def __init__(self, transport: Transport, route: Route) -> None:
        self._transport = transport
        self._route = route

    @property
    def method(self) -> str:
        """The method in use now (``POST`` until a 405 said otherwise)."""
        return self._transport.route_in_use(self._route).method

    async def fetch(self, command_id: str, *, retry: bool = False) -> StatusReading:
        """One status read of ``command_id``: a single attempt, or with retries if ``retry``."""
        response = await self._transport.request(
            self._route,
            path={"commandId": command_id},
            kind=RequestKind.READ if retry else RequestKind.STATUS_READ,
        )
        try:
            return parse_command_status(response.body)
        except errors.ProtocolError as exc:
            problem = errors.ProtocolError(f"command {command_id}: {exc}")
        raise problem


_Callback = Callable[["CommandHandle"], object]


class CommandHandle:
    """A command the server accepted, tracked until it succeeds, is rejected or times out.

    Await it (``await handle``) for the :class:`CommandResult`; a rejection raises
    :class:`~privicore_async.errors.CommandRejected`, a passed deadline
    :class:`~privicore_async.errors.CommandTimeout`. The handle progresses in the background
    whether or not anybody awaits it; :meth:`done` and :attr:`status` never do I/O.
    """

    __slots__ = (
        "_callbacks",
        "_deadline",
        "_due",
        "_error",
        "_pending_age",
        "_result",
        "_scout",
        "_submitted_mono",
        "_tracker",
        "_waiters",
        "body",
        "command_id",
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
        status: CommandStatus = CommandStatus.PENDING,
        body: Any = None,
    ) -> None:
        self._tracker = tracker
        self.command_id = command_id
        self.kind = kind
        self.status = status
        self.body = body
        self.polls = 0
        self.submitted_at = datetime.now(UTC)
        self._submitted_mono = time.monotonic()
        self._deadline = self._submitted_mono + (timeout if timeout is not None else 0.0)
        self._due = 0.0
        self._pending_age = 0.0  # age at the last "still pending" answer
        self._scout = False  # polls densely to measure its kind's duration
        self._result: CommandResult | None = None
        self._error: BaseException | None = None
        self._callbacks: list[_Callback] = []
        self._waiters: list[asyncio.Future[None]] = []
        if status.final:
            self._result = CommandResult(
                command_id, status, body, self.submitted_at, self.submitted_at, 0
            )

    def __repr__(self) -> str:
        return f"<CommandHandle {self.command_id} {self.status.value} polls={self.polls}>"

    # -- state, no I/O --------------------------------------------------------------------

    def done(self) -> bool:
        """True once the command settled, failed, timed out or was cancelled."""
        return self._result is not None or self._error is not None

    def cancelled(self) -> bool:
        """True if :meth:`cancel` stopped tracking before the command settled."""
        return isinstance(self._error, asyncio.CancelledError)

    def result(self) -> CommandResult:
        """The result if settled; raises the handle's error; ``InvalidStateError`` if pending."""
        if self._error is not None:
            raise self._error
        if self._result is None:
            raise asyncio.InvalidStateError(f"command {self.command_id} is still pending")
        return self._result

    def exception(self) -> BaseException | None:
        """The handle's error (``None`` on success); ``InvalidStateError`` if pending."""
        if not self.done():
            raise asyncio.InvalidStateError(f"command {self.command_id} is still pending")
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
                raise errors.CommandTimeout(self.command_id, self.status.value, timeout=timeout)
        return self.result()

    async def refresh(self) -> CommandStatus:
        """Read the status once now (one request) and settle the handle if it is final."""
        if self.done() or self.command_id is None or self._tracker is None:
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
            error=asyncio.CancelledError(f"tracking of command {self.command_id} cancelled")
        )
        return True

    # -- internals used by the tracker -------------------------------------------------------

    def _new_waiter(self) -> asyncio.Future[None]:
        waiter: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._waiters.append(waiter)
        return waiter

    def _forget_waiter(self, waiter: asyncio.Future[None]) -> None:
        if waiter in self._waiters:
            self._waiters.remove(waiter)

    @property
    def _age(self) -> float:
        return time.monotonic() - self._submitted_mono

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
            self._finish(error=errors.CommandRejected(self.command_id, reading.body))
        else:
            now = datetime.now(UTC)
            self._finish(
                result=CommandResult(
                    self.command_id,
                    reading.status,
                    reading.body,
                    self.submitted_at,
                    now,
                    self.polls,
                )
            )


class _KindModel:
    """What the tracker knows about how long one kind of command takes."""

    __slots__ = ("dev", "mean", "parked", "samples", "scouts", "seen")

    def __init__(self) -> None:
        self.samples = 0
        self.mean = 0.0
        self.dev = 0.0
        self.scouts = 0  # scouts of this kind now pending
        self.seen = 0  # commands of this kind tracked so far
        self.parked: list[CommandHandle] = []  # waiting for the first sample

    def observe(self, low: float, high: float) -> None:
        """A command settled somewhere in ``[low, high]`` seconds after submission."""
        estimate, half_width = (low + high) / 2, (high - low) / 2
        if self.samples == 0:
            self.mean, self.dev = estimate, half_width
        else:
            # Early samples weigh more; later ones move the model at a steady 10 %.
            weight = max(0.1, 1 / (self.samples + 1))
            spread = max(abs(estimate - self.mean), half_width)
            self.mean += weight * (estimate - self.mean)
            self.dev += weight * (spread - self.dev)
        self.samples += 1


_WARM_UP = 8  # scouts at a time while a kind has fewer samples than this
_SCOUTS = 2  # scouts at a time after that
_SCOUT_EVERY = 16  # once the model exists, every 16th command of a kind scouts
_SCOUT_STEP = 0.03  # a scout reads again after 3 % of its age (at least min_interval)


class CommandTracker:
    """One scheduler per client: pending handles in a heap keyed by their next poll time."""

    def __init__(self, source: StatusSource, policy: PollPolicy | None = None) -> None:
        self._source = source
        self.policy = policy or PollPolicy()
        self._heap: list[tuple[float, int, CommandHandle]] = []
        self._seq = itertools.count()
        self._by_id: dict[str, CommandHandle] = {}
        self._kinds: dict[str, _KindModel] = {}
        self._backoffs: dict[int, Generator[float, None, None]] = {}
        self._paused_until = 0.0
        self._ready: deque[CommandHandle] = deque()  # due, waiting for a worker
        self._scheduler: asyncio.Task[None] | None = None
        self._wakeup: asyncio.Future[None] | None = None
        self._workers: set[asyncio.Task[None]] = set()  # at most PollPolicy.concurrency
        self._rng = random.Random()
        self._closed = False
        self.acks_live = False
        """True while the ack channel is joined: polling is then only a slow safety net."""
        self.early: Callable[[str], StatusReading | None] | None = None
        """Set by the ack channel: an ack that arrived before its handle existed, if any."""

    # -- public ------------------------------------------------------------------------------

    @property
    def pending(self) -> int:
        """How many handles are being tracked."""
        return len(self._by_id)

    def track(
        self, command_id: str | None, *, kind: str | None = None, timeout: float | None = None
    ) -> CommandHandle:
        """A handle for ``command_id`` (the same handle if the id is already tracked).

        ``None`` gives an ``ACCEPTED`` handle that is already done: nothing to track.
        """
        if self._closed:
            raise errors.PrivicoreError("the client is closed")
        if command_id is None:
            return CommandHandle(None, None, kind=kind, status=CommandStatus.ACCEPTED)
        existing = self._by_id.get(command_id)
        if existing is not None:
            return existing
        handle = CommandHandle(
            self, command_id, kind=kind, timeout=self.policy.timeout if timeout is None else timeout
        )
        self._by_id[command_id] = handle
        early = self.early(command_id) if self.early is not None else None
        if early is not None:
            handle._settle(early)  # the ack beat the HTTP answer
        else:
            self._start(handle)
        return handle

    def settle(self, command_id: str, status: CommandStatus, body: Any = None) -> bool:
        """Settle a tracked command from outside (a pushed ack). False if it is not tracked."""
        handle = self._by_id.get(command_id)
        if handle is None or not status.final:
            return False
        self._learn(handle, exact=True)
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
        for handle in list(self._by_id.values()):
            if handle.done():
                continue
            if live:
                self._schedule(handle, 0.0)
            elif handle._due - now > self.policy.max_interval:
                self._schedule(handle, self._next_delay(handle))

    async def poll_now(self, handle: CommandHandle) -> None:
        """One status request for ``handle`` now, outside the schedule."""
        await self._poll(handle)

    async def close(self) -> None:
        """Stop the scheduler and cancel every pending handle; leaves no task behind."""
        self._closed = True
        tasks = [t for t in (self._scheduler, *self._workers) if t is not None]
        for task in tasks:
            task.cancel()
        if tasks:
            await asyncio.gather(*tasks, return_exceptions=True)
        for handle in list(self._by_id.values()):
            handle.cancel()
        self._heap.clear()

    # -- scheduling --------------------------------------------------------------------------

    def _model(self, handle: CommandHandle) -> _KindModel | None:
        if not self.policy.adaptive or handle.kind is None:
            return None
        model = self._kinds.get(handle.kind)
        if model is None:
            model = self._kinds[handle.kind] = _KindModel()
        return model

    def _start(self, handle: CommandHandle) -> None:
        if self.acks_live:  # the ack will settle it; a read only if the ack never comes
            self._schedule(handle, self.policy.safety_interval)
            return
        model = self._model(handle)
        if model is None:
            self._schedule(handle, self.policy.initial_delay)
            return
        model.seen += 1
        scouting = model.samples < _WARM_UP or model.seen % _SCOUT_EVERY == 0
        if scouting and model.scouts < (_WARM_UP if model.samples < _WARM_UP else _SCOUTS):
            handle._scout = True
            model.scouts += 1
            self._schedule(handle, self.policy.initial_delay)
        elif model.samples == 0:
            # Park until a scout settles; the deadline entry still expires it if none does.
            model.parked.append(handle)
            self._schedule(handle, handle._deadline - time.monotonic())
        else:
            self._schedule(handle, self._next_delay(handle))

    def _release(self, model: _KindModel) -> None:
        parked, model.parked = model.parked, []
        for handle in parked:
            if not handle.done():
                self._schedule(handle, self._next_delay(handle))

    def _next_delay(self, handle: CommandHandle) -> float:
        policy = self.policy
        if self.acks_live:
            return policy.safety_interval
        age = handle._age
        model = self._model(handle)
        if model is not None and handle._scout:
            return min(policy.max_interval, max(policy.min_interval, age * _SCOUT_STEP))
        if model is not None and model.samples:
            step = max(policy.min_interval, model.dev)
            # A window narrower than one step is caught by one read at its end; a wider one
            # is swept from its start, one step at a time, so no command waits long for it.
            first = (
                model.mean + model.dev
                if model.dev < policy.min_interval
                else model.mean - model.dev
            )
            if age < first:
                return first - age
            if age < model.mean + 3 * model.dev:
                return step
        waits = self._backoffs.get(id(handle))
        if waits is None:
            # Grow from the command's age (a command pending for 10 s is not read every 50 ms),
            # or, past a learned window, from the window's own step.
            start = max(policy.min_interval, age * (policy.factor - 1), policy.initial_delay)
            if model is not None and model.samples:
                start = max(policy.min_interval, model.dev)
            waits = backoff.expo(base=policy.factor, factor=start, max_value=policy.max_interval)
            next(waits)  # backoff's generators yield once before the first value
            self._backoffs[id(handle)] = waits
        delay = max(policy.min_interval, next(waits))
        # Jitter spreads out commands that would otherwise poll in lockstep.
        return delay * (1 - policy.jitter * self._rng.random())

    def _schedule(self, handle: CommandHandle, delay: float) -> None:
        due = min(time.monotonic() + max(0.0, delay), handle._deadline)
        handle._due = due
        heapq.heappush(self._heap, (due, next(self._seq), handle))
        if self._scheduler is None or self._scheduler.done():
            self._scheduler = asyncio.get_running_loop().create_task(
                self._run(), name="privicore-command-tracker"
            )
        elif self._wakeup is not None and not self._wakeup.done() and self._heap[0][2] is handle:
            self._wakeup.set_result(None)

    def _forget(self, handle: CommandHandle) -> None:
        if handle.command_id is not None and self._by_id.get(handle.command_id) is handle:
            del self._by_id[handle.command_id]
        self._backoffs.pop(id(handle), None)
        if handle._scout and handle.kind is not None:
            model = self._kinds[handle.kind]
            model.scouts -= 1
            if model.samples == 0 and model.scouts == 0 and model.parked:
                # Every scout ended without a measurement: the parked fall back to backoff.
                self._release(model)

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
        heap = self._heap
        while heap:
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
            # Also at the deadline one last read is made: its "pending" answer expires it.
            self._ready.append(handle)
            if len(self._workers) < self.policy.concurrency:
                worker = asyncio.get_running_loop().create_task(self._work())
                self._workers.add(worker)
                worker.add_done_callback(self._workers.discard)

    async def _work(self) -> None:
        """Read due handles until none is left, then end (an idle tracker has no task)."""
        ready = self._ready
        while ready:
            handle = ready.popleft()
            if not handle.done():  # settled or cancelled while it waited for a worker
                await self._poll(handle)

    def _expire(self, handle: CommandHandle) -> None:
        timeout = handle._deadline - handle._submitted_mono
        handle._finish(
            error=errors.CommandTimeout(handle.command_id, handle.status.value, timeout=timeout)
        )

    def _learn(self, handle: CommandHandle, *, exact: bool = False) -> None:
        """Feed a settled command's duration to its kind's model, when it was measured."""
        model = self._model(handle)
        if model is None:
            return
        age = handle._age
        if exact:
            model.observe(age, age)
        elif handle._scout:
            model.observe(handle._pending_age, age)
        else:
            # A follower's reads were placed by the model: those that settled before the
            # first read are censored, and learning from the rest would drift the model late.
            return
        if model.samples == 1 and model.parked:
            self._release(model)

    async def _poll(self, handle: CommandHandle) -> None:
        assert handle.command_id is not None
        try:
            try:
                reading = await self._source.fetch(handle.command_id)
            finally:
                handle.polls += 1
        except asyncio.CancelledError:
            raise
        except Exception as exc:
            self._failed_read(handle, exc)
        else:
            if reading.status.final:
                self._learn(handle)
                handle._settle(reading)
            else:
                handle._pending_age = handle._age
                self._reschedule(handle)

    def _failed_read(self, handle: CommandHandle, exc: Exception) -> None:
        """Do what the retry table says about a status read that failed."""
        known = isinstance(exc, errors.APIError | errors.TransportError)
        action = decide(RequestKind.STATUS_READ, outcome_of(exc)) if known else Action.GIVE_UP
        if action is Action.NOT_YET and handle._age < self.policy.not_found_grace:
            self._reschedule(handle)
        elif action is Action.NOT_YET:
            assert handle.command_id is not None
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
            logger.info("status of %s unreadable for now: %s", handle.command_id, exc)
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


# -- waiting on many handles -------------------------------------------------------------------


def _deadline_error(pending: list[CommandHandle], timeout: float | None) -> errors.CommandTimeout:
    first = pending[0]
    return errors.CommandTimeout(
        first.command_id, first.status.value, timeout=timeout, pending=tuple(pending)
    )


async def gather(
    *handles: CommandHandle, timeout: float | None = None, return_exceptions: bool = False
) -> list[Any]:
    """Wait for many handles under one shared deadline; results in argument order.

    Like :func:`asyncio.gather`: the first failure is raised at once unless
    ``return_exceptions`` is true, in which case errors take their handle's place. When
    ``timeout`` passes, each unsettled handle counts as a
    :class:`~privicore_async.errors.CommandTimeout` (raised for the first of them, with
    ``pending`` listing all, unless ``return_exceptions``). Tracking goes on either way.
    No task is created per handle.
    """
    loop = asyncio.get_running_loop()
    wake: asyncio.Future[None] = loop.create_future()
    remaining = sum(1 for h in handles if not h.done())

    def on_done(handle: CommandHandle) -> None:
        nonlocal remaining
        remaining -= 1
        failed = handle._error is not None and not return_exceptions
        if (remaining <= 0 or failed) and not wake.done():
            wake.set_result(None)

    if not return_exceptions and any(h.done() and h._error is not None for h in handles):
        remaining = 0
    waiting = [h for h in handles if not h.done()]
    if remaining > 0:
        for handle in waiting:
            handle.add_done_callback(on_done)
        try:
            await asyncio.wait((wake,), timeout=timeout)
        finally:
            for handle in waiting:
                handle.remove_done_callback(on_done)
            if not wake.done():
                wake.cancel()
    if not return_exceptions:
        # A failure wins over the deadline: it is what woke us (or it came first).
        for handle in handles:
            if handle.done() and handle._error is not None:
                raise handle._error
    results: list[Any] = []
    pending = [h for h in handles if not h.done()]
    for handle in handles:
        if not handle.done():
            if not return_exceptions:
                raise _deadline_error(pending, timeout)
            results.append(
                errors.CommandTimeout(handle.command_id, handle.status.value, timeout=timeout)
            )
        elif handle._error is not None:
            results.append(handle._error)
        else:
            results.append(handle.result())
    return results


class as_completed:  # noqa: N801 - reads like asyncio.as_completed, which it mirrors
    """Iterate handles in the order they settle: ``async for handle in as_completed(hs): ...``.

    Each handle is yielded once, settled (call ``handle.result()``). When the shared
    ``timeout`` passes, iteration raises :class:`~privicore_async.errors.CommandTimeout`
    whose ``pending`` lists the handles still unsettled (they go on being tracked).
    """

    def __init__(self, handles: Iterable[CommandHandle], *, timeout: float | None = None) -> None:
        # A dict as an ordered set: O(1) removal with 10,000 handles.
        self._waiting: dict[CommandHandle, None] = dict.fromkeys(handles)
        self._ready: deque[CommandHandle] = deque(h for h in self._waiting if h.done())
        for handle in self._ready:
            del self._waiting[handle]
        self._timeout = timeout
        self._deadline: float | None = None
        self._wake: asyncio.Future[None] | None = None
        self._started = False

    def __aiter__(self) -> AsyncIterator[CommandHandle]:
        return self

    def _on_done(self, handle: CommandHandle) -> None:
        if self._waiting.pop(handle, 0) is None:
            self._ready.append(handle)
            if self._wake is not None and not self._wake.done():
                self._wake.set_result(None)

    async def __anext__(self) -> CommandHandle:
        loop = asyncio.get_running_loop()
        if not self._started:
            self._started = True
            if self._timeout is not None:
                self._deadline = loop.time() + self._timeout
            for handle in self._waiting:
                handle.add_done_callback(self._on_done)
        while not self._ready:
            if not self._waiting:
                raise StopAsyncIteration
            remaining = None if self._deadline is None else self._deadline - loop.time()
            if remaining is not None and remaining <= 0:
                unsettled = list(self._waiting)
                self._detach()
                raise _deadline_error(unsettled, self._timeout)
            self._wake = loop.create_future()
            try:
                await asyncio.wait((self._wake,), timeout=remaining)
            finally:
                if not self._wake.done():
                    self._wake.cancel()
                self._wake = None
        return self._ready.popleft()

    def _detach(self) -> None:
        for handle in self._waiting:
            handle.remove_done_callback(self._on_done)
        self._waiting.clear()
