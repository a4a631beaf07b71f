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
from .keys import GeneratedKeyPair
from .oauth import (
    AuthorizationCode,
    AuthorizationRequest,
    OAuthAppConfiguration,
    OAuthApplication,
    OAuthGrant,
    OAuthTokens,
)
from .profile import AuthToken, QrToken

__all__ = [
    "AuthToken",
    "AuthorizationCode",
    "AuthorizationRequest",
    "Device",
    "DeviceConfiguration",
    "DeviceSyncOutcome",
    "GeneratedKeyPair",
    "HealthStatus",
    "OAuthAppConfiguration",
    "OAuthApplication",
    "OAuthGrant",
    "OAuthTokens",
    "QrToken",
    "StorageDevice",
    "SyncOutcome",
    "SyncProgress",
    "SyncReport",
    "converter",
    "structure",
    "unstructure",
]
