"""attrs models of Privicore's answers, and the one cattrs converter that builds them."""

from .converter import converter, structure, unstructure
from .devices import (
    Device,
    DeviceConfiguration,
    DeviceSyncOutcome,
    HealthStatus,
    StorageDevice,
    SyncOutcome,
    SyncProgress,
    SyncReport,
)
from .profile import AuthToken

__all__ = [
    "AuthToken",
    "Device",
    "DeviceConfiguration",
    "DeviceSyncOutcome",
    "HealthStatus",
    "StorageDevice",
    "SyncOutcome",
    "SyncProgress",
    "SyncReport",
    "converter",
    "structure",
    "unstructure",
]
