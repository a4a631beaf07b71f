"""When is a handle's status read next: the tracker's schedule, as a strategy.

The tracker keeps the heap, the deadlines and the workers; a :class:`Schedule` only answers
"how long until this handle's next read" and learns from settled commands.

:class:`ExponentialSchedule` reads each command on a jittered exponential backoff grown from
its age. :class:`AdaptiveSchedule` learns, per kind of command (its route name), how long
such commands take. A couple of commands of a kind are *scouts*: they read densely from the
start and so measure the duration. Every other command of the kind is parked (costing no
request) until a scout has settled, then reads only inside the learned window: once at the
window's end when the window is narrower than ``min_interval``, else swept from mean minus one
deviation in one-deviation steps; past the window it backs off exponentially. A steady stream
keeps an occasional scout, so the model follows the server when it speeds up or slows down.
Only scouts (and pushed acks) teach the model: the others' reads are placed by the model
itself, so learning from them would feed its own bias back.
"""

from __future__ import annotations

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
        """The age at which a read last found it pending."""
        ...

    def done(self) -> bool:
        """True once settled."""
        ...


H = TypeVar("H", bound=Tracked)


class Schedule(Protocol[H]):
    """How long until a handle's next status read; what settled commands teach."""

    def first_delay(self, handle: H) -> float | None:
        """Seconds until the first read of a new handle; ``None`` parks it (no read yet)."""
        ...

    def next_delay(self, handle: H) -> float:
        """Seconds until the next read of a handle still pending (or whose read failed)."""
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

    def settled(self, handle: H, *, exact: bool) -> Iterable[H]:
        """Nothing to learn."""
        return ()

    def forget(self, handle: H) -> Iterable[H]:
        """Drop the handle's backoff."""
        self._waits.pop(handle, None)
        return ()


class _KindModel(Generic[H]):
    """What the schedule knows about how long one kind of command takes."""

    __slots__ = ("dev", "mean", "parked", "samples", "scouts", "seen")

    def __init__(self) -> None:
        self.samples = 0
        self.mean = 0.0
        self.dev = 0.0
        self.scouts = 0  # scouts of this kind now pending
        self.seen = 0  # commands of this kind tracked so far
        self.parked: list[H] = []  # waiting for the first sample

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


class AdaptiveSchedule(Generic[H]):
    """Learns each kind's duration from scouts; see the module docstring."""

    def __init__(self, policy: PollPolicy, rng: random.Random | None = None) -> None:
        self.policy = policy
        self._fallback: ExponentialSchedule[H] = ExponentialSchedule(policy, rng)
        self._kinds: dict[str, _KindModel[H]] = {}
        self._scouts: set[H] = set()

    def _model(self, handle: H) -> _KindModel[H] | None:
        if handle.kind is None:
            return None
        model = self._kinds.get(handle.kind)
        if model is None:
            model = self._kinds[handle.kind] = _KindModel()
        return model

    def first_delay(self, handle: H) -> float | None:
        """Scouts read soon; the others wait for the first sample, then read in the window."""
        model = self._model(handle)
        if model is None:
            return self.policy.initial_delay
        model.seen += 1
        scouting = model.samples < _WARM_UP or model.seen % _SCOUT_EVERY == 0
        if scouting and model.scouts < (_WARM_UP if model.samples < _WARM_UP else _SCOUTS):
            self._scouts.add(handle)
            model.scouts += 1
            return self.policy.initial_delay
        if model.samples == 0:
            model.parked.append(handle)
            return None
        return self.next_delay(handle)

    def next_delay(self, handle: H) -> float:
        """Densely for scouts; inside the learned window for the others; then backoff."""
        policy = self.policy
        age = handle.age
        model = self._model(handle)
        if model is not None and handle in self._scouts:
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
            # Past the window: back off from the window's own step.
            return self._fallback.next_delay(handle, start=step)
        return self._fallback.next_delay(handle)

    def settled(self, handle: H, *, exact: bool) -> Iterable[H]:
        """Learn from a scout or an ack; release the parked at the kind's first sample."""
        model = self._model(handle)
        if model is None:
            return ()
        if exact:
            model.observe(handle.age, handle.age)
        elif handle in self._scouts:
            model.observe(handle.pending_age, handle.age)
        else:
            # A follower's reads were placed by the model: those that settled before the
            # first read are censored, and learning from the rest would drift the model late.
            return ()
        return self._release(model) if model.samples == 1 else ()

    def forget(self, handle: H) -> Iterable[H]:
        """Drop the handle; if the last scout of an unmeasured kind ended, free the parked."""
        self._fallback.forget(handle)
        if handle not in self._scouts:
            return ()
        self._scouts.discard(handle)
        model = self._model(handle)
        assert model is not None
        model.scouts -= 1
        if model.samples == 0 and model.scouts == 0:
            # Every scout ended without a measurement: the parked fall back to backoff.
            return self._release(model)
        return ()

    @staticmethod
    def _release(model: _KindModel[H]) -> list[H]:
        parked, model.parked = model.parked, []
        return [handle for handle in parked if not handle.done()]
