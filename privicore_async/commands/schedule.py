"""When is a handle's status read next: the tracker's schedule, as a strategy.

The tracker keeps the heap, the deadlines and the workers; a :class:`Schedule` only answers
"how long until this handle's next read" and learns from what reads find.

:class:`ExponentialSchedule` reads each command on a jittered exponential backoff grown from
its age. :class:`AdaptiveSchedule` learns, per kind of command (its route name), when such
commands settle, and places reads so that the detection lag stays near
``PollPolicy.target_lag`` for the fewest reads:

* What a read finds is an observation at an age, taken at the middle of the read's round
  trip (when the server looked), not when it was scheduled: *pending at a*, or *settled by
  b*. Per kind the schedule keeps the recent ones (the last pending age of each command, the
  age each command was first seen settled). ``lo`` is about the earliest settled age,
  ``hi`` about the latest pending age. A first read that finds a command already settled is
  censored (it only says "by b") and counts only as such.
* **Gap** (``hi < lo``): durations lie between the two, a narrow spread of unknown place.
  Reads bisect the gap (a few at a time, *probes*, ahead of the queue); the others wait for
  the gap to close and read at ``lo``, where they are known to have settled.
* **Window** (``lo <= hi``): a spread. Narrower than the read spacing, one read at its top
  catches nearly every command; wider, reads start at ``lo`` and come ``1.5 x target_lag``
  apart (median lag about ¾ of ``target_lag``). Past the top, reads back off exponentially
  from the spacing; a command found pending there moves the top up.
* **Drift**: every so many commands one probe reads below the window. Finding it settled
  means the server got faster; the probes then come often again. They fade (every 4th, 8th,
  ... up to every 64th command) while they find what the model expects.
* A new kind starts with two *scouts* reading on exponential backoff; the other commands of
  the kind are parked (no request) until a scout has settled, then read where the model
  says, at once if that moment has passed. In a burst (many commands as old as the scouts,
  whose lag is decided the moment a scout settles) up to eight scout, every ``target_lag``.

A handle's next read is planned from its age and the model *when it comes due* too
(:meth:`Schedule.recheck`): a model that moved meanwhile moves the read, so a burst of
commands released together does not read on a stale plan.
"""

from __future__ import annotations

import math
import random
from collections.abc import Generator, Hashable, Iterable
from typing import Generic, Protocol, TypeVar

import backoff

from .policy import PollPolicy

__all__ = ["AdaptiveSchedule", "ExponentialSchedule", "Schedule", "Tracked"]


class Tracked(Hashable, Protocol):
    """What a schedule sees of a tracked command (a :class:`~.tracker.CommandHandle`)."""

    @property
    def kind(self) -> str | None:
        """The route name of the command; the adaptive schedule learns per kind."""
        ...

    @property
    def age(self) -> float:
        """Seconds since the command was submitted."""
        ...

    @property
    def pending_age(self) -> float:
        """The age at which a read last found it pending (the middle of that read's round
        trip); 0.0 if none did."""
        ...

    @property
    def settled_age(self) -> float:
        """The age at which it was found settled (the middle of the settling read's round
        trip, or the moment an ack came)."""
        ...

    def done(self) -> bool:
        """True once settled."""
        ...


H = TypeVar("H", bound=Tracked)


class Schedule(Protocol[H]):
    """How long until a handle's next status read; what reads teach."""

    def first_delay(self, handle: H) -> float | None:
        """Seconds until the first read of a new handle; ``None`` parks it (no read yet)."""
        ...

    def next_delay(self, handle: H) -> float:
        """Seconds until the next read of a handle (after a read found it pending or
        failed, or when it is released)."""
        ...

    def recheck(self, handle: H) -> float:
        """``handle`` came due: 0.0 to read it now, else seconds to wait first."""
        ...

    def urgent(self, handle: H) -> bool:
        """Its read goes before the others waiting for a worker (it teaches the model)."""
        ...

    def pending(self, handle: H) -> None:
        """A read found ``handle`` pending (at ``handle.pending_age``)."""
        ...

    def settled(self, handle: H, *, exact: bool) -> Iterable[H]:
        """``handle`` settled (``exact``: at this very moment, from an ack); returns the
        parked handles to read again."""
        ...

    def forget(self, handle: H) -> Iterable[H]:
        """``handle`` is no longer tracked; returns the parked handles to read again."""
        ...


class ExponentialSchedule(Generic[H]):
    """Jittered exponential backoff, grown from each command's age."""

    def __init__(self, policy: PollPolicy, rng: random.Random | None = None) -> None:
        self.policy = policy
        self._rng = rng or random.Random()
        self._waits: dict[H, Generator[float, None, None]] = {}

    def first_delay(self, handle: H) -> float | None:
        """The policy's ``initial_delay``."""
        return self.policy.initial_delay

    def next_delay(self, handle: H, *, start: float | None = None) -> float:
        """The handle's next backoff step; its first step is ``start`` if given."""
        policy = self.policy
        waits = self._waits.get(handle)
        if waits is None:
            if start is None:
                # A command pending for 10 s is not read every 50 ms.
                start = max(policy.min_interval, handle.age * (policy.factor - 1))
                start = max(start, policy.initial_delay)
            waits = backoff.expo(base=policy.factor, factor=start, max_value=policy.max_interval)
            next(waits)  # backoff's generators yield once before the first value
            self._waits[handle] = waits
        delay = max(policy.min_interval, next(waits))
        # Jitter spreads out commands that would otherwise poll in lockstep.
        return delay * (1 - policy.jitter * self._rng.random())

    def recheck(self, handle: H) -> float:
        """Always read when due."""
        return 0.0

    def urgent(self, handle: H) -> bool:
        """No read is."""
        return False

    def pending(self, handle: H) -> None:
        """Nothing to learn."""

    def settled(self, handle: H, *, exact: bool) -> Iterable[H]:
        """Nothing to learn."""
        return ()

    def forget(self, handle: H) -> Iterable[H]:
        """Drop the handle's backoff."""
        self._waits.pop(handle, None)
        return ()


_SCOUTS = 2  # scouts of a kind that has no observation yet
_PROBES = 4  # gap-bisecting reads of a kind in flight at once
_PROBE_EVERY = (4, 64)  # a drift probe every n-th command: n doubles while probes agree
_CROWD = 3  # parked commands let past per step of the oldest scout
_CROWD_SCOUTS = 8  # scouts of a new kind submitted in a burst
_TOLERANCE = 0.004  # a gap this narrow (s) is a known duration: read at its end
_EARLY = 0.1  # the share of commands the window's start lets settle before it
_LATE = 0.05  # the share of commands still pending at the window's top


class _Kind(Generic[H]):
    """What the schedule knows about when one kind of command settles.

    First a gap (``floor``, ``ceiling``): the latest age a command was seen pending and the
    earliest one was seen settled. When the gap closes, or a command is pending past another's
    settle (a spread), the window (``lo``, ``hi``) takes over and each is kept at its share
    (:data:`_EARLY`, :data:`_LATE`) by stochastic approximation: every observation at the
    window's edge moves the edge a step, sized by the window, towards where its share holds.
    """

    __slots__ = (
        "ceiling",
        "floor",
        "hi",
        "lo",
        "parked",
        "probe_every",
        "probes",
        "scouts",
        "until_probe",
    )

    def __init__(self) -> None:
        self.floor = 0.0
        self.ceiling = math.inf
        self.lo = math.nan  # nan: no window yet
        self.hi = math.nan
        self.scouts: dict[H, int] = {}  # scout -> its place among the kind's scouts
        self.parked: list[H] = []  # waiting for the first observation of a settle
        self.probes: dict[H, float] = {}  # reads placed to teach, at these ages
        self.probe_every = _PROBE_EVERY[0]
        self.until_probe = self.probe_every

    @property
    def known(self) -> bool:
        """Some command of the kind was seen settled."""
        return self.ceiling < math.inf

    @property
    def windowed(self) -> bool:
        return not math.isnan(self.lo)

    def narrow(self, tolerance: float) -> None:
        """Open the window once the gap is closed or crossed."""
        if self.windowed or not self.known:
            return
        if self.floor >= self.ceiling or self.ceiling - self.floor <= tolerance:
            self.lo, self.hi = sorted((self.floor, self.ceiling))

    def step(self, tolerance: float) -> float:
        """How far one observation moves an edge of the window."""
        return (self.hi - self.lo) / 4 + tolerance

    def early(self, settled: bool, tolerance: float) -> None:
        """A read at the window's start found the command ``settled`` or not."""
        self.lo -= self.step(tolerance) * ((1.0 if settled else 0.0) - _EARLY)
        self.lo = max(0.0, min(self.lo, self.hi))

    def late(self, settled: bool, tolerance: float) -> None:
        """A command was ``settled`` by the window's top, or still pending there."""
        self.hi -= self.step(tolerance) * ((1.0 if settled else 0.0) - (1 - _LATE))
        self.hi = max(self.hi, self.lo)


class AdaptiveSchedule(Generic[H]):
    """Learns when each kind of command settles; see the module docstring."""

    def __init__(self, policy: PollPolicy, rng: random.Random | None = None) -> None:
        self.policy = policy
        self._fallback: ExponentialSchedule[H] = ExponentialSchedule(policy, rng)
        self._kinds: dict[str, _Kind[H]] = {}
        self._past: dict[H, int] = {}  # reads a handle had past the window's top
        self._first: set[H] = set()  # handles whose first read was seen
        self._drift: set[H] = set()  # handles whose first read is a drift probe

    @property
    def spacing(self) -> float:
        """Seconds between two reads of a command inside a wide window."""
        return max(self.policy.min_interval, 1.5 * self.policy.target_lag)

    def _kind(self, handle: H) -> _Kind[H] | None:
        if handle.kind is None:
            return None
        model = self._kinds.get(handle.kind)
        if model is None:
            model = self._kinds[handle.kind] = _Kind()
        return model

    # -- the schedule ------------------------------------------------------------------------

    def first_delay(self, handle: H) -> float | None:
        """Scouts read soon; the others wait for a scout, then read where the model says."""
        model = self._kind(handle)
        if model is None:
            return self.policy.initial_delay
        if not model.known:
            if len(model.scouts) < _SCOUTS or self._crowded(model, handle):
                model.scouts[handle] = len(model.scouts)
                return self.policy.initial_delay
            model.parked.append(handle)
            return None
        model.until_probe -= 1
        if model.until_probe <= 0:
            model.until_probe = model.probe_every
            self._drift.add(handle)
        return self.next_delay(handle)

    def next_delay(self, handle: H) -> float:
        """Seconds until the read the model plans for ``handle`` (0.0: due now)."""
        model = self._kind(handle)
        if model is None:
            return self._fallback.next_delay(handle)
        if handle in model.scouts:
            return self._scout_delay(model, handle)
        if not model.known:  # released because no scout could measure: plain backoff
            return self._fallback.next_delay(handle)
        return max(0.0, self._plan(model, handle) - handle.age)

    def _crowded(self, model: _Kind[H], handle: H) -> bool:
        """A burst of a new kind: commands keep coming within ``target_lag`` of the first
        scout. Then up to eight scout, so that the first settle the parked wait for comes
        from a fair sample of the spread, not from two commands."""
        if len(model.scouts) >= _CROWD_SCOUTS or len(model.parked) < _CROWD:
            return False
        return max(scout.age for scout in model.scouts) < self.policy.target_lag

    def _scout_delay(self, model: _Kind[H], handle: H) -> float:
        """Exponential steps for a lone command. But the commands parked behind the oldest
        scouts all read the moment one settles: those that settled meanwhile have waited
        since, so these scouts step to let about :data:`_CROWD` of them pass per step (never
        more than ``target_lag``: ~0.15 s in a stream of 20/s), and in a burst the eight of
        them read on one grid, each shifted by an eighth of a step: together they find the
        first settle eight times as closely as one of them."""
        delay = self._fallback.next_delay(handle)
        parked, age = model.parked, handle.age
        oldest = max(scout.age for scout in model.scouts)
        if not parked or age < oldest - self.policy.target_lag:
            return delay
        step = max(self.policy.target_lag, _CROWD * age / len(parked))
        if step >= delay:
            return delay
        phase = step * model.scouts[handle] / _CROWD_SCOUTS
        next_read = phase + step * (math.floor((age - phase) / step) + 1)
        return max(self.policy.min_interval, next_read - age)

    def recheck(self, handle: H) -> float:
        """Plan again with what the model knows now; 0.0 if the read is due."""
        model = self._kind(handle)
        if model is None or not model.known or handle in model.scouts:
            return 0.0
        delay = self._plan(model, handle) - handle.age
        return delay if delay > 0.0005 else 0.0

    def urgent(self, handle: H) -> bool:
        """Scouts and probes: their reads teach the model."""
        model = self._kind(handle)
        return model is not None and (handle in model.probes or handle in model.scouts)

    def _plan(self, model: _Kind[H], handle: H) -> float:
        """The age at which ``handle`` is read next. May make it a probe."""
        planned = model.probes.get(handle)
        if planned is not None:
            return planned
        age, last = handle.age, handle.pending_age
        if not model.windowed:  # a gap: a narrow spread of durations somewhere in it
            floor, ceiling = model.floor, model.ceiling
            if age >= ceiling:
                return max(ceiling, last + self._step())
            if age < floor:
                return floor  # plan again there, with what is known then
            if len(model.probes) < _PROBES:
                # Bisect what is left of the gap.
                model.probes[handle] = at = (max(age, floor) + ceiling) / 2
                return at
            # Probes are out: look again when they may have narrowed the gap.
            return min(ceiling, age + max(self._tolerance, (ceiling - age) / 4))
        lo, top = model.lo, model.hi
        spacing = self.spacing
        wide = top - lo > spacing
        if handle in self._drift and last == 0.0:
            # Below the window: settled there means the server got faster.
            probe = lo - max(spacing, (top - lo) / 2, 0.05 * lo)
            if probe > 0.0:
                model.probes[handle] = probe
                return probe
        if last == 0.0:  # the first read: at the window's start, or the top of a narrow one
            return lo if wide else top
        if wide and last + spacing <= top:
            return last + spacing
        if last < top:
            return max(top, last + self._step())
        # Past the window. Wide: go on at the spacing for another window's width (the tail
        # of a spread), then back off. Narrow: a near miss; back off from one short step.
        # Either way the step stays within a share of the time past the top, as if the
        # backoff had started there: a window learned too narrow costs reads, not seconds.
        if wide:
            if last - top < top - lo:
                return last + spacing
            first = spacing
        else:
            first = self._step()
        past = max(1, self._past.get(handle, 1))
        step = min(self.policy.max_interval, first * self.policy.factor ** (past - 1))
        return last + min(step, max(spacing, (self.policy.factor - 1) * (last - top)))

    def _step(self) -> float:
        """The smallest gap between two reads of a command."""
        return max(self.policy.min_interval, _TOLERANCE)

    @property
    def _tolerance(self) -> float:
        """How exactly a duration is worth knowing: 4 ms, or a twentieth of ``target_lag``,
        whichever is larger."""
        return max(_TOLERANCE, self.policy.target_lag / 20)

    # -- learning ------------------------------------------------------------------------------

    def pending(self, handle: H) -> None:
        """A read found ``handle`` pending (at ``handle.pending_age``)."""
        model = self._kind(handle)
        if model is None:
            return
        age = handle.pending_age
        was_probe = model.probes.pop(handle, None) is not None
        if handle in self._drift:
            self._drift.discard(handle)
            if was_probe:  # as expected: probes fade
                model.probe_every = min(_PROBE_EVERY[1], model.probe_every * 2)
        tolerance = self._tolerance
        if not model.windowed:
            model.floor = max(model.floor, age)
            model.narrow(tolerance)
            return
        if handle not in self._first and not was_probe:
            self._first.add(handle)
            if abs(age - model.lo) <= self.spacing / 2:
                model.early(False, tolerance)
        past = self._past.get(handle, 0)
        if age >= model.hi:
            if past == 0:
                model.late(False, tolerance)  # still pending at the top: once per command
            # Evidence of a longer spread than the window says: meet it halfway.
            model.hi += (age - model.hi) / 2
            self._past[handle] = past + 1

    def settled(self, handle: H, *, exact: bool) -> Iterable[H]:
        """Learn when ``handle`` settled; release the parked at the kind's first sample."""
        model = self._kind(handle)
        if model is None:
            return ()
        age, tolerance = handle.settled_age, self._tolerance
        first = not model.known
        was_probe = handle in model.probes
        if was_probe and handle in self._drift and model.windowed and age < model.lo:
            # A probe below the window found it settled: the server got faster.
            model.lo = age
            model.probe_every = _PROBE_EVERY[0]
            model.until_probe = 1
        elif not model.windowed:
            model.ceiling = min(model.ceiling, age)
            if exact:
                model.floor = max(model.floor, age - tolerance / 2)
            model.narrow(tolerance)
        else:
            if handle not in self._first and not was_probe:
                # Its first read (or its ack): was it settled at the window's start?
                if exact:
                    model.early(age <= model.lo, tolerance)
                elif abs(age - model.lo) <= self.spacing / 2:
                    model.early(True, tolerance)
            if handle not in self._past and (exact or age <= model.hi + tolerance):
                model.late(True, tolerance)  # settled by the top
        self._drop(model, handle)
        if first:
            # Measured: the other scouts are ordinary commands now, the parked read.
            model.scouts.clear()
            parked, model.parked = model.parked, []
            return [h for h in parked if not h.done()]
        return ()

    def forget(self, handle: H) -> Iterable[H]:
        """Drop the handle; if the last scout of an unmeasured kind ended, free the parked."""
        self._fallback.forget(handle)
        model = self._kind(handle)
        if model is None:
            return ()
        was_scout = handle in model.scouts
        self._drop(model, handle)
        if was_scout and not model.known and not model.scouts:
            # Every scout ended without a measurement: the next parked one scouts.
            while model.parked:
                successor = model.parked.pop(0)
                if not successor.done():
                    model.scouts[successor] = 0
                    return [successor]
        return ()

    def _drop(self, model: _Kind[H], handle: H) -> None:
        model.scouts.pop(handle, None)
        model.probes.pop(handle, None)
        self._drift.discard(handle)
        self._past.pop(handle, None)
        self._first.discard(handle)
