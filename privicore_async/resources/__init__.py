"""One class per API group; each method is one endpoint or a documented chain of them."""

from .authenticators import Authenticators
from .data_tokens import DataTokens
from .devices import Devices
from .directories import Directories
from .oauth import OAuth
from .policies import Policies
from .profile import Profile
from .public_keys import PublicKeys
from .storage import Storage
from .tracking import Commands
from .utility import Utility
from .vault import Vault
from .voting import Voting

__all__ = [
    "Authenticators",
    "Commands",
    "DataTokens",
    "Devices",
    "Directories",
    "OAuth",
    "Policies",
    "Profile",
    "PublicKeys",
    "Storage",
    "Utility",
    "Vault",
    "Voting",
]
