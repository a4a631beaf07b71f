"""Every type a user's code handles, from one place: ``from privicore_async.types import ...``.

Annotate with these; each is defined in the module named beside it, and is the same object
when imported from there.

Commands (:mod:`privicore_async.commands`)
    :class:`CommandHandle` (``command_id: str``), :class:`AcceptedCommand` (the 202 that
    named no command: done, ``ACCEPTED``, ``has_id`` false), :class:`CommandResult`,
    :class:`CommandStatus`, :class:`CommandResponse` (the 202's status and headers, kept as
    ``handle.response``), :class:`PollPolicy`.
Bulk calls and flows (:mod:`privicore_async.results`)
    :class:`SyncReport`, :class:`DeviceSyncOutcome`, :class:`SyncOutcome`,
    :class:`SyncSource`, :class:`SyncProgress`; :class:`StoreRequest`, :class:`StoreReport`,
    :class:`StoreOutcome`, :class:`StoreProgress`, :class:`StoredData`, :class:`StoreMethod`,
    :data:`Source`; :class:`DataRequest`, :class:`AuthorizationRequest`, :class:`OAuthGrant`,
    :class:`ProvisionedProfile`, :class:`Recovery`.
Progress of bulk helpers
    :class:`Progress` (``done`` and ``total``) and :data:`ProgressCallback`: every bulk
    helper calls ``on_progress(progress)``; a ``ProgressCallback[Progress]`` serves them all.
Keys (:mod:`privicore_async.crypto`)
    :class:`DataKey`, :class:`KeyPair`.
JSON
    :data:`JSON` (a body or reason the SDK hands out) and :data:`JSONInput` (a JSON argument).

The server's answers (``Device``, ``StorageDevice``, ``AuthToken``, ``DataToken``, ...) are
in :mod:`privicore_async.models`; the exceptions in :mod:`privicore_async.errors`.
"""

from __future__ import annotations

from ._json import JSON, JSONInput
from .commands import (
    AcceptedCommand,
    CommandHandle,
    CommandResponse,
    CommandResult,
    CommandStatus,
    PollPolicy,
)
from .crypto import DataKey, KeyPair
from .results import (
    AuthorizationRequest,
    DataRequest,
    DeviceSyncOutcome,
    OAuthGrant,
    Progress,
    ProgressCallback,
    ProvisionedProfile,
    Recovery,
    Source,
    StoredData,
    StoreMethod,
    StoreOutcome,
    StoreProgress,
    StoreReport,
    StoreRequest,
    SyncOutcome,
    SyncProgress,
    SyncReport,
    SyncSource,
)

__all__ = [
    "JSON",
    "AcceptedCommand",
    "AuthorizationRequest",
    "CommandHandle",
    "CommandResponse",
    "CommandResult",
    "CommandStatus",
    "DataKey",
    "DataRequest",
    "DeviceSyncOutcome",
    "JSONInput",
    "KeyPair",
    "OAuthGrant",
    "PollPolicy",
    "Progress",
    "ProgressCallback",
    "ProvisionedProfile",
    "Recovery",
    "Source",
    "StoreMethod",
    "StoreOutcome",
    "StoreProgress",
    "StoreReport",
    "StoreRequest",
    "StoredData",
    "SyncOutcome",
    "SyncProgress",
    "SyncReport",
    "SyncSource",
]
