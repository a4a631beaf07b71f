"""Per test: ``@pytest.mark.privicore_sandbox(**kwargs)`` over the run's defaults.

The marker takes :class:`~privicore_async.sandbox.Sandbox` keywords. Markers on a module
(``pytestmark``), a class and a test all apply, key by key, the closest winning; the result
is laid over the run's defaults (:mod:`.options`). A keyword ``Sandbox`` does not take, or a
value it refuses, fails the test at setup with a message that names the keyword.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any

import pytest

if TYPE_CHECKING:  # the sandbox (aiohttp.web) is imported only when a test asks for it
    from ..sandbox import Sandbox

__all__ = ["MARKER", "MARKER_HELP", "build_sandbox", "marked_kwargs"]

MARKER = "privicore_sandbox"
MARKER_HELP = (
    f"{MARKER}(**kwargs): privicore_async.sandbox.Sandbox keywords for the {MARKER} fixture "
    "of privicore-async, over the run's defaults (e.g. latency=0.5, devices=10, users={...})"
)

_SECRET = frozenset({"users", "admin_token"})
"""Keywords whose values hold passwords or tokens: an error names them, never shows them."""


def marked_kwargs(node: pytest.Item) -> dict[str, Any]:
    """The keywords of every ``privicore_sandbox`` marker on ``node``, the closest winning.

    A marker with positional arguments fails the test: there is no order to Sandbox's keywords.
    """
    merged: dict[str, Any] = {}
    for mark in reversed(list(node.iter_markers(MARKER))):  # farthest first
        if mark.args:
            pytest.fail(
                f"@pytest.mark.{MARKER}: keyword arguments only, got {mark.args!r}",
                pytrace=False,
            )
        merged.update(mark.kwargs)
    return merged


def build_sandbox(defaults: Mapping[str, Any], marked: Mapping[str, Any]) -> Sandbox:
    """``Sandbox(**defaults, **marked)`` (not started); a bad ``marked`` keyword fails the test.

    ``users=None`` in the marker means no seeded user, like ``users={}``.
    """
    from ..sandbox import Sandbox

    unknown = sorted(set(marked) - set(inspect.signature(Sandbox).parameters))
    if unknown:
        pytest.fail(
            f"@pytest.mark.{MARKER}: Sandbox takes no argument {', '.join(map(repr, unknown))}",
            pytrace=False,
        )
    try:
        return _make(Sandbox, {**defaults, **marked})
    except Exception as exc:  # Sandbox's checks raise ValueError, TypeError and others
        message = _refused(Sandbox, defaults, marked, exc)
    # Failed outside the except block: the message is ours, nothing chained to it.
    pytest.fail(message, pytrace=False)


def _make(factory: Callable[..., Sandbox], kwargs: Mapping[str, Any]) -> Sandbox:
    if kwargs.get("users") is None:
        kwargs = {**kwargs, "users": {}}
    return factory(**kwargs)


def _refused(
    factory: Callable[..., Sandbox],
    defaults: Mapping[str, Any],
    marked: Mapping[str, Any],
    exc: Exception,
) -> str:
    """A message naming the marker keyword that ``Sandbox`` refused (found by trying each
    alone over the defaults; construction binds nothing, so this is cheap)."""
    reason = exc.args[0] if exc.args and isinstance(exc.args[0], str) else str(exc)
    reason = f"{type(exc).__name__}: {reason}"
    for name, value in marked.items():
        try:
            _make(factory, {**defaults, name: value})
        except Exception:  # the one to blame
            return f"@pytest.mark.{MARKER}({_shown(name, value)}): bad argument {name!r}: {reason}"
    names = ", ".join(_shown(name, value) for name, value in marked.items()) or "no arguments"
    return f"@pytest.mark.{MARKER}({names}): Sandbox refused these together: {reason}"


def _shown(name: str, value: object) -> str:
    return f"{name}=<hidden>" if name in _SECRET else f"{name}={value!r}"
