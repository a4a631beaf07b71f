"""One class per API group; each method is one endpoint or a documented chain of them."""

from .commands import Commands
from .devices import Devices
from .profile import Profile
from .storage import Storage
from .utility import Utility

__all__ = ["Commands", "Devices", "Profile", "Storage", "Utility"]
