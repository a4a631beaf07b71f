"""privicore-async: the asyncio SDK for the Privicore API.

Start with :class:`PrivicoreClient`; every accepted command comes back as a
:class:`CommandHandle` (an :class:`AcceptedCommand` when the 202 named no command).
:mod:`privicore_async.types` gathers every type your code handles (reports, progress,
requests, keys, the ``JSON`` alias), :mod:`privicore_async.errors` holds the exception tree
and :mod:`privicore_async.sandbox` an embedded Privicore server for tests and demos.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from . import errors, types
    from ._json import JSON
    from .client import PrivicoreClient
    from .commands import (
        AcceptedCommand,
        CommandHandle,
        CommandResponse,
        CommandResult,
        CommandStatus,
        PollPolicy,
        as_completed,
        gather,
    )
    from .http import Limits, RetryPolicy, Timeouts
    from .raw_response import RawResponse

__all__ = [
    "JSON",
    "AcceptedCommand",
    "CommandHandle",
    "CommandResponse",
    "CommandResult",
    "CommandStatus",
    "Limits",
    "PollPolicy",
    "PrivicoreClient",
    "RawResponse",
    "RetryPolicy",
    "Timeouts",
    "as_completed",
    "errors",
    "gather",
    "types",
]

from ._version import __version__ as __version__

# The public names are imported on first use, not with the package: the pytest plugin this
# package installs loads ``privicore_async.testing`` into every pytest run of an environment,
# and the client (aiohttp, cryptography, ...) costs a few hundred milliseconds to import.
_HOME = {
    "errors": ".errors",
    "types": ".types",
    "JSON": "._json",
    "PrivicoreClient": ".client",
    "AcceptedCommand": ".commands",
    "CommandHandle": ".commands",
    "CommandResponse": ".commands",
    "CommandResult": ".commands",
    "CommandStatus": ".commands",
    "PollPolicy": ".commands",
    "as_completed": ".commands",
    "gather": ".commands",
    "Limits": ".http",
    "RetryPolicy": ".http",
    "Timeouts": ".http",
    "RawResponse": ".raw_response",
}


def __getattr__(name: str) -> Any:
    home = _HOME.get(name)
    if home is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    module = importlib.import_module(home, __name__)
    value = module if name in ("errors", "types") else getattr(module, name)
    globals()[name] = value  # later lookups skip this function
    return value


def __dir__() -> list[str]:
    return sorted({*globals(), *__all__})
