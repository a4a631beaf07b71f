"""An embedded Privicore server: the same wire, in memory, on loopback.

::

    async with Sandbox(latency=0.05, users={"me": "secret"}, devices=3) as sb:
        ...  # point a client at sb.api_url; sb.seeded["me"].device_ids are ready to sync

``python -m privicore_async.sandbox --port 9009`` runs it as its own process. It listens on
loopback only unless allowed otherwise (then it warns with :class:`SandboxExposedWarning`), and
its ``/_sandbox/`` admin endpoints need ``Sandbox.admin_token``. From another process,
:class:`SandboxAdmin` drives those endpoints and :class:`SandboxProcess` runs the sandbox as a
child process. :func:`env_lines` gives the ``export PRIVICORE_...=`` lines that point a
client at a sandbox (what ``--print-env`` prints).
"""

from .access import SandboxExposedWarning
from .admin import SandboxAdmin, SandboxAdminError
from .child import SandboxProcess
from .faults import Faults
from .process import env_lines, main, serve
from .seeding import SeededUser
from .server import Sandbox
from .ws import WsFaults

__all__ = [
    "Faults",
    "Sandbox",
    "SandboxAdmin",
    "SandboxAdminError",
    "SandboxExposedWarning",
    "SandboxProcess",
    "SeededUser",
    "WsFaults",
    "env_lines",
    "main",
    "serve",
]
