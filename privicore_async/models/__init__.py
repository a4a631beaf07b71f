"""attrs models of Privicore's answers, and the one cattrs converter that builds them."""

from .converter import converter, structure, unstructure
from .data_tokens import DataToken, DataTokenPage, PageMeta, TemporaryToken
from .devices import (
    Device,
    DeviceConfiguration,
    HealthStatus,
    StorageDevice,
)
from .directories import Directory, DirectoryDevice, DirectoryInvitation, DirectoryProfile
from .oauth import (
    AuthorizationCode,
    OAuthAppConfiguration,
    OAuthApplication,
    OAuthTokens,
)
from .profile import AuthToken, QrToken
from .public_keys import GeneratedKeyPair
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
    "DataToken",
    "DataTokenPage",
    "Device",
    "DeviceConfiguration",
    "Directory",
    "DirectoryDevice",
    "DirectoryInvitation",
    "DirectoryProfile",
    "GeneratedKeyPair",
    "HealthStatus",
    "OAuthAppConfiguration",
    "OAuthApplication",
    "OAuthTokens",
    "PageMeta",
    "Policy",
    "PolicyEvent",
    "PolicyTemplate",
    "QrToken",
    "QuorumStrategy",
    "StorageDevice",
    "TemporaryToken",
    "VotingConfiguration",
    "VotingPool",
    "VotingStrategy",
    "converter",
    "structure",
    "unstructure",
]
