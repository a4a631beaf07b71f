"""What the SDK's flows give back: reports of bulk calls and results that hold live objects.

:mod:`privicore_async.models` holds the server's answers only; a value here is made by the SDK
(a per-device report, a stored item's line, a started request with its tracked handle, a key
pair made on this machine) and may hold a :class:`~privicore_async.commands.CommandHandle`
or a key. Users import these from :mod:`privicore_async.types`.

Every bulk helper reports progress the same way: ``on_progress(progress)`` with one argument
that has ``done`` and ``total`` (a :class:`Progress`), plus the helper's own counts
(:class:`SyncProgress`, :class:`StoreProgress`). A function taking a :class:`Progress` fits
them all: ``def show(p: Progress) -> None``.
"""

from __future__ import annotations

import enum
from collections.abc import AsyncIterable, Callable
from os import PathLike
from typing import BinaryIO, Protocol, TypeAlias, TypeVar

import attrs

from ._json import JSON
from .commands import CommandHandle
from .crypto import DataKey, KeyPair
from .journal.entries import JournalEntry
from .models import AuthToken, OAuthAppConfiguration, OAuthTokens

__all__ = [
    "AuthorizationRequest",
    "DataRequest",
    "DeviceSyncOutcome",
    "OAuthGrant",
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

# -- progress of bulk helpers ----------------------------------------------------------------


class Progress(Protocol):
    """What every bulk helper passes to ``on_progress``: items finished of how many."""

    @property
    def total(self) -> int:
        """Items in the call."""
        ...

    @property
    def done(self) -> int:
        """Items finished so far, whatever their outcome."""
        ...


_ProgressT = TypeVar("_ProgressT", bound=Progress)

ProgressCallback: TypeAlias = Callable[[_ProgressT], object]
"""``on_progress(progress)``; ``ProgressCallback[SyncProgress]`` for ``sync_devices``,
``ProgressCallback[StoreProgress]`` for ``store_many``, ``ProgressCallback[Progress]`` for a
function that serves every helper. What it returns is ignored."""

# -- bulk synchronisation ----------------------------------------------------------------------


class SyncOutcome(enum.Enum):
    """How one device's synchronisation ended."""

    SUCCEEDED = "succeeded"
    REJECTED = "rejected"
    TIMED_OUT = "timed_out"
    FAILED = "failed"
    """It did not run: refused before sending, answered with an error, or never connected."""
    ACCEPTED = "accepted"  # 202 without any command id: the outcome cannot be known
    IN_DOUBT = "in_doubt"
    """It may have run: the request may have reached the server (a reset or a timeout after
    sending, a garbled answer) or was accepted and then could not be followed; or a resumed
    run found it maybe sent and was told not to resend (``in_doubt="report"``). The line
    keeps what is known (command id, error)."""


class SyncSource(enum.Enum):
    """Where a device's line comes from in a run that may resume an earlier one."""

    SUBMITTED = "submitted"  # sent in this run
    RESUBMITTED = "resubmitted"  # sent again: an earlier run left it in doubt or refused
    RESUMED = "resumed"  # accepted in an earlier run; waited for in this one
    JOURNAL = "journal"  # settled in an earlier run: skipped, its line read from the journal


@attrs.frozen
class DeviceSyncOutcome:
    """One device's line in a :class:`SyncReport`."""

    device_identifier: str
    outcome: SyncOutcome
    command_id: str | None = None
    """``None`` when the device's request got no command id (``FAILED``, ``ACCEPTED``, most
    of ``IN_DOUBT``)."""
    reason: JSON = None
    """The server's rejection reason (REJECTED) or the error's message (FAILED)."""
    error: BaseException | None = attrs.field(default=None, eq=False)
    source: SyncSource = SyncSource.SUBMITTED


@attrs.frozen
class SyncProgress:
    """Counts so far, passed to ``on_progress`` after each device finishes (a
    :class:`Progress`)."""

    total: int
    done: int
    succeeded: int
    rejected: int
    timed_out: int
    failed: int
    in_doubt: int = 0


@attrs.frozen
class SyncReport:
    """Per-device outcomes of :meth:`~privicore_async.resources.storage.Storage.sync_devices`."""

    outcomes: tuple[DeviceSyncOutcome, ...]
    elapsed: float
    """Seconds from the first request to the last outcome."""

    def by_outcome(self, outcome: SyncOutcome) -> list[DeviceSyncOutcome]:
        """The lines with that outcome, in input order."""
        return [line for line in self.outcomes if line.outcome is outcome]

    @property
    def succeeded(self) -> list[DeviceSyncOutcome]:
        """Devices whose synchronisation succeeded."""
        return self.by_outcome(SyncOutcome.SUCCEEDED)

    @property
    def rejected(self) -> list[DeviceSyncOutcome]:
        """Devices whose synchronisation the server rejected (``reason`` says why)."""
        return self.by_outcome(SyncOutcome.REJECTED)

    @property
    def timed_out(self) -> list[DeviceSyncOutcome]:
        """Devices whose command did not settle in time."""
        return self.by_outcome(SyncOutcome.TIMED_OUT)

    @property
    def failed(self) -> list[DeviceSyncOutcome]:
        """Devices whose request failed (``error`` says how)."""
        return self.by_outcome(SyncOutcome.FAILED)

    def counts(self) -> dict[SyncOutcome, int]:
        """How many devices ended each way."""
        result = dict.fromkeys(SyncOutcome, 0)
        for line in self.outcomes:
            result[line.outcome] += 1
        return result

    def sources(self) -> dict[SyncSource, int]:
        """How many lines came from where: sent, sent again, resumed, or the journal."""
        result = dict.fromkeys(SyncSource, 0)
        for line in self.outcomes:
            result[line.source] += 1
        return result

    @property
    def resumed(self) -> list[DeviceSyncOutcome]:
        """Devices accepted by an earlier run of the same ``run_id`` and waited for here."""
        return [line for line in self.outcomes if line.source is SyncSource.RESUMED]

    @property
    def resubmitted(self) -> list[DeviceSyncOutcome]:
        """Devices an earlier run left in doubt or failed to send, sent again here."""
        return [line for line in self.outcomes if line.source is SyncSource.RESUBMITTED]

    @property
    def skipped(self) -> list[DeviceSyncOutcome]:
        """Devices settled by an earlier run: not sent again, their line from the journal."""
        return [line for line in self.outcomes if line.source is SyncSource.JOURNAL]


# -- encrypted storage -------------------------------------------------------------------------

Source = bytes | str | PathLike[str] | BinaryIO | AsyncIterable[bytes]
"""What can be stored: bytes, a file path, a binary file object, or an async iterator."""


class StoreMethod(enum.Enum):
    """How the ciphertext reached Privicore."""

    EXCHANGE = "exchange"  # base64 in exchange-data-for-token (small payloads)
    UPLOAD = "upload"  # raw bytes streamed to the upstream host (large payloads)


@attrs.frozen
class StoredData:
    """A payload stored through :meth:`~privicore_async.resources.vault.Vault.store`.

    ``token`` is the permanent ``dtk-`` token to keep (with the key) to read the data back.
    """

    token: str
    size: int
    """Plaintext bytes."""
    context: str
    file_name: str
    extension: str
    path: str
    method: StoreMethod


@attrs.frozen
class StoreRequest:
    """One item of :meth:`~privicore_async.resources.vault.Vault.store_many`."""

    data: Source = attrs.field(repr=False)
    key: DataKey
    context: str
    file_name: str
    extension: str | None = None
    path: str = "/"
    ttl: int | None = None


@attrs.frozen
class StoreOutcome:
    """One item's line in a :class:`StoreReport`: ``stored`` or ``error``, never both."""

    index: int
    file_name: str
    stored: StoredData | None = None
    error: BaseException | None = attrs.field(default=None, eq=False)

    @property
    def ok(self) -> bool:
        """True when the item was stored."""
        return self.stored is not None


@attrs.frozen
class StoreProgress:
    """Counts so far, passed to ``store_many``'s ``on_progress`` after each item (a
    :class:`Progress`)."""

    total: int
    done: int
    stored: int
    failed: int


@attrs.frozen
class StoreReport:
    """Per-item outcomes of ``store_many``, in input order."""

    outcomes: tuple[StoreOutcome, ...]
    elapsed: float

    @property
    def stored(self) -> list[StoredData]:
        """The items that were stored."""
        return [line.stored for line in self.outcomes if line.stored is not None]

    @property
    def failed(self) -> list[StoreOutcome]:
        """The items that were not, with their errors."""
        return [line for line in self.outcomes if line.stored is None]

    def counts(self) -> dict[str, int]:
        """``{"stored": n, "failed": m}``."""
        return {"stored": len(self.stored), "failed": len(self.failed)}


# -- started requests and provisioned identities ---------------------------------------------


@attrs.frozen
class DataRequest:
    """A started ``request-data``: the WebSocket correlator and the command it started.

    ``request_id`` (header ``x-dpt-cab-request-id``) is the ``id`` of the
    ``X-DPT-CAB-REQUEST-ID`` message that delivers the data; ``command_handle`` tracks the
    ``x-dpt-cab-id`` command (an :class:`~privicore_async.commands.AcceptedCommand`, already
    done with status ``ACCEPTED``, when there was none).
    """

    request_id: str
    command_handle: CommandHandle


@attrs.frozen
class AuthorizationRequest:
    """A started ``request-authorization-code`` command and the nonce it was sent with.

    Await ``handle`` before :meth:`~privicore_async.resources.OAuth.retrieve_authorization_code`;
    its ``command_id`` is the request ``id`` that call takes, and ``nonce`` must be echoed.
    """

    handle: CommandHandle
    nonce: str = attrs.field(repr=False)
    client_id: str
    scopes: tuple[str, ...]

    @property
    def request_id(self) -> str:
        """The command id, i.e. the ``id`` of retrieve-authorization-code."""
        return self.handle.command_id


@attrs.frozen
class OAuthGrant:
    """What :meth:`~privicore_async.resources.OAuth.authorize` produced: the application's
    single-use configuration (with its client secret) and the first token pair."""

    configuration: OAuthAppConfiguration
    tokens: OAuthTokens

    @property
    def application_id(self) -> str | None:
        """The application's id (the register command id)."""
        return self.configuration.application_id


@attrs.frozen
class ProvisionedProfile:
    """What :meth:`~privicore_async.resources.profile.Profile.provision` set up.

    Keep ``key_pair`` (its private half never shows in ``repr``) and log in with the
    username and password; the token is the one the client now uses.
    """

    username: str
    token: AuthToken
    key_pair: KeyPair
    signed_public_key: str


@attrs.frozen
class Recovery:
    """What :meth:`~privicore_async.resources.tracking.Commands.recover` found in the journal."""

    handles: tuple[CommandHandle, ...]
    """One per accepted command still unsettled: awaiting them finishes the wait."""
    in_doubt: tuple[JournalEntry, ...]
    """Commands that may or may not have been sent: nobody knows their id."""
