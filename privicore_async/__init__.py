"""privicore-async: the asyncio SDK for the Privicore API.

Start with :class:`PrivicoreClient`; every accepted command comes back as a
:class:`CommandHandle`. :mod:`privicore_async.errors` holds the exception tree and
:mod:`privicore_async.sandbox` an embedded Privicore server for tests and demos.
"""

from . import errors
from .client import PrivicoreClient
from .commands import (
    CommandHandle,
    CommandResult,
    CommandStatus,
    PollPolicy,
    as_completed,
    gather,
)
from .http import Limits, RetryPolicy, Timeouts

__all__ = [
    "CommandHandle",
    "CommandResult",
    "CommandStatus",
    "Limits",
    "PollPolicy",
    "PrivicoreClient",
    "RetryPolicy",
    "Timeouts",
    "as_completed",
    "errors",
    "gather",
]

__version__ = "0.1.0"
