"""One class per API group; each method is one endpoint or a documented chain of them."""

from .commands import Commands
from .devices import Devices
from .oauth import OAuth
from .profile import Profile
from .public_keys import PublicKeys
from .storage import Storage
from .utility import Utility

__all__ = ["Commands", "Devices", "OAuth", "Profile", "PublicKeys", "Storage", "Utility"]
