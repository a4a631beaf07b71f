"""pytest-timeout's timer, with every asyncio task's stack in the failure.

A test that hangs in an event loop shows, in pytest-timeout's own report, only the main
thread idle in the loop's ``select``. These hooks (imported by ``tests/conftest.py``; they
run before pytest-timeout's own, which are ``trylast``) raise the same failure with the
await chain of every task of the running loop, which is where a hang is.
"""

from __future__ import annotations

import asyncio
import signal
from types import FrameType

import pytest

_ARMED = pytest.StashKey[bool]()


def _await_chain(awaitable: object) -> list[str]:
    """Where a task's coroutine waits: each frame down its await chain, and the last
    awaitable (a future, a task, a stream's waiter)."""
    lines = []
    current: object | None = awaitable
    for _ in range(60):
        if current is None:
            break
        frame = next(
            (
                getattr(current, name)
                for name in ("cr_frame", "ag_frame", "gi_frame")
                if getattr(current, name, None) is not None
            ),
            None,
        )
        if frame is not None:
            code = frame.f_code
            lines.append(f"    {code.co_filename}:{frame.f_lineno} in {code.co_name}")
        following = next(
            (
                getattr(current, name)
                for name in ("cr_await", "ag_await", "gi_yieldfrom")
                if getattr(current, name, None) is not None
            ),
            None,
        )
        if following is None:
            lines.append(f"    waiting on {current!r:.200}")
        current = following
    return lines


def tasks_report() -> str:
    """The await chain of every task of the running loop (empty if no loop runs)."""
    try:
        loop = asyncio.get_running_loop()
    except RuntimeError:
        return ""
    lines = ["", "asyncio tasks at the timeout:"]
    for task in asyncio.all_tasks(loop):
        lines.append(f"  {task!r:.300}")
        lines.extend(_await_chain(task.get_coro()))
    return "\n".join(lines)


def pytest_timeout_set_timer(item: pytest.Item, settings: object) -> bool | None:
    """The signal method's timer, failing with :func:`tasks_report`."""
    timeout = float(getattr(settings, "timeout", 0) or 0)
    if getattr(settings, "method", None) != "signal" or timeout <= 0:
        return None  # pytest-timeout's own

    def on_timeout(signum: int, frame: FrameType | None) -> None:
        __tracebackhide__ = True
        pytest.fail(f"Timeout (>{timeout:g} s) from pytest-timeout{tasks_report()}")

    signal.signal(signal.SIGALRM, on_timeout)
    signal.setitimer(signal.ITIMER_REAL, timeout)
    item.stash[_ARMED] = True
    return True


def pytest_timeout_cancel_timer(item: pytest.Item) -> bool | None:
    """Stop the timer of :func:`pytest_timeout_set_timer` (others: pytest-timeout's own)."""
    if not item.stash.get(_ARMED, False):
        return None
    signal.setitimer(signal.ITIMER_REAL, 0)
    signal.signal(signal.SIGALRM, signal.SIG_DFL)
    item.stash[_ARMED] = False
    return True
