"""Answers of the device and storage groups."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import attrs

from .converter import wire_field

__all__ = [
    "Device",
    "DeviceConfiguration",
    "HealthStatus",
    "StorageDevice",
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
