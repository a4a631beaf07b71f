"""attrs models of Privicore's answers, and the one cattrs converter that builds them."""

from .converter import converter, structure, unstructure
from .data_tokens import DataRequest, DataToken, DataTokenPage, PageMeta, TemporaryToken
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
from .directories import Directory, DirectoryDevice, DirectoryInvitation, DirectoryProfile
from .keys import GeneratedKeyPair
from .oauth import (
    AuthorizationCode,
    AuthorizationRequest,
    OAuthAppConfiguration,
    OAuthApplication,
    OAuthGrant,
    OAuthTokens,
)
from .profile import AuthToken, ProvisionedProfile, QrToken
from .vault import StoredData, StoreMethod, StoreOutcome, StoreReport, StoreRequest
from .voting import (
    Authenticator,
    Policy,
    PolicyEvent,
    PolicyTemplate,
    QuorumStrategy,
    VotingConfiguration,
    VotingPool,
    VotingStrategy,
)

__all__ = [
    "AuthToken",
    "Authenticator",
    "AuthorizationCode",
    "AuthorizationRequest",
    "DataRequest",
    "DataToken",
    "DataTokenPage",
    "Device",
    "DeviceConfiguration",
    "DeviceSyncOutcome",
    "Directory",
    "DirectoryDevice",
    "DirectoryInvitation",
    "DirectoryProfile",
    "GeneratedKeyPair",
    "HealthStatus",
    "OAuthAppConfiguration",
    "OAuthApplication",
    "OAuthGrant",
    "OAuthTokens",
    "PageMeta",
    "Policy",
    "PolicyEvent",
    "PolicyTemplate",
    "ProvisionedProfile",
    "QrToken",
    "QuorumStrategy",
    "StorageDevice",
    "StoreMethod",
    "StoreOutcome",
    "StoreReport",
    "StoreRequest",
    "StoredData",
    "SyncOutcome",
    "SyncProgress",
    "SyncReport",
    "TemporaryToken",
    "VotingConfiguration",
    "VotingPool",
    "VotingStrategy",
    "converter",
    "structure",
    "unstructure",
]
