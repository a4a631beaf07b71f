"""Answers of the device and storage groups."""

from __future__ import annotations

import enum
from datetime import datetime
from typing import Any

import attrs

from .converter import wire_field

__all__ = [
    "Device",
    "DeviceConfiguration",
    "DeviceSyncOutcome",
    "HealthStatus",
    "StorageDevice",
    "SyncOutcome",
    "SyncProgress",
    "SyncReport",
]


@attrs.frozen
class HealthStatus:
    """``GET /health``: the server's own word on its state (``"ok"`` when healthy)."""

    status: str
    extra: dict[str, Any] = attrs.field(factory=dict)


@attrs.frozen
class Device:
    """A device of the profile (the record's shape was never recorded: unknown keys are kept)."""

    device_identifier: str
    name: str | None = None
    status: str | None = None
    created_at: datetime | None = None
    extra: dict[str, Any] = attrs.field(factory=dict)


@attrs.frozen
class StorageDevice:
    """A device registered in the storage role."""

    device_identifier: str
    name: str | None = None
    online: bool | None = None
    registered_at: datetime | None = None
    extra: dict[str, Any] = attrs.field(factory=dict)


@attrs.frozen
class DeviceConfiguration:
    """The configuration bundle of a device. Its secrets never show in ``repr``."""

    device_identifier: str | None = wire_field("device-identifier", default=None)
    client_id: str | None = wire_field("client-id", default=None)
    client_secret: str | None = wire_field("client-secret", default=None, repr=False)
    rabbit_user: str | None = wire_field("rabbit-user", default=None)
    rabbit_pass: str | None = wire_field("rabbit-pass", default=None, repr=False)
    rabbit_host: str | None = wire_field("rabbit-host", default=None)
    rabbit_port: int | None = wire_field("rabbit-port", default=None)
    extra: dict[str, Any] = attrs.field(factory=dict, repr=False)


class SyncOutcome(enum.Enum):
    """How one device's synchronisation ended."""

    SUCCEEDED = "succeeded"
    REJECTED = "rejected"
    TIMED_OUT = "timed_out"
    FAILED = "failed"  # the request itself failed (validation, transport, auth, ...)
    ACCEPTED = "accepted"  # 202 without any command id: the outcome cannot be known


@attrs.frozen
class DeviceSyncOutcome:
    """One device's line in a :class:`SyncReport`."""

    device_identifier: str
    outcome: SyncOutcome
    command_id: str | None = None
    reason: Any = None
    """The server's rejection reason (REJECTED) or the error's message (FAILED)."""
    error: BaseException | None = attrs.field(default=None, eq=False)


@attrs.frozen
class SyncProgress:
    """Counts so far, passed to ``on_progress`` after each device finishes."""

    total: int
    done: int
    succeeded: int
    rejected: int
    timed_out: int
    failed: int


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
