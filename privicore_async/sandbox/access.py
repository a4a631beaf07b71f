"""Who may reach the sandbox: the admin token of ``/_sandbox/`` and the address it binds.

The admin endpoints can expire every token or take devices offline, so each request to them
carries the sandbox's admin token, in ``X-Sandbox-Token: <token>`` or ``Authorization: Bearer
<token>``; without it (or with another) the answer is 401 ``{"message": "admin token
required"}`` and nothing runs. The token is random per sandbox unless the caller fixes it.

The sandbox has no real security beyond that token (no TLS, well-known passwords), so it binds
a loopback address only, unless the caller allows others; then it warns
(:class:`SandboxExposedWarning` and a log line).
"""

from __future__ import annotations

import hmac
import ipaddress
import logging
import secrets
import warnings

from aiohttp import web
from aiohttp.typedefs import Handler, Middleware

from .answers import message

__all__ = [
    "ADMIN_TOKEN_HEADER",
    "SandboxExposedWarning",
    "admin_guard_middleware",
    "check_admin_token",
    "check_host",
    "is_loopback",
    "new_admin_token",
    "warn_exposed",
]

ADMIN_TOKEN_HEADER = "X-Sandbox-Token"
_REFUSED = "admin token required"

_log = logging.getLogger(__name__)


class SandboxExposedWarning(UserWarning):
    """The sandbox listens on an address other hosts can reach (``allow_remote=True``)."""


def new_admin_token() -> str:
    """A fresh random admin token (URL-safe, 256 bits)."""
    return secrets.token_urlsafe(32)


def check_admin_token(token: str) -> str:
    """``token`` if it can travel in a header and on one printed line; else ``ValueError``.

    The message never quotes the token: it is a secret.
    """
    if not isinstance(token, str) or not token:
        raise ValueError("admin_token must be a non-empty string")
    if not all("!" <= char <= "~" for char in token):
        raise ValueError("admin_token must be printable ASCII without spaces")
    return token


def admin_guard_middleware(prefix: str, token: str) -> Middleware:
    """Answer 401 to any request under ``prefix`` that does not carry ``token``.

    Outermost, so a refused request is neither counted, rate limited nor faulted. The path and
    the matched route name are both checked, so no spelling of a path slips past.
    """
    expected = token.encode()
    route_prefix = prefix.strip("/") + "."

    @web.middleware
    async def guard(request: web.Request, handler: Handler) -> web.StreamResponse:
        name = request.match_info.route.name or ""
        path = request.path
        admin = name.startswith(route_prefix) or path == prefix or path.startswith(prefix + "/")
        if admin and not _carries(request, expected):
            return message(401, _REFUSED)
        return await handler(request)

    return guard


def _carries(request: web.Request, expected: bytes) -> bool:
    offered = [request.headers.get(ADMIN_TOKEN_HEADER)]
    scheme, _, credentials = request.headers.get("Authorization", "").partition(" ")
    if scheme.lower() == "bearer":
        offered.append(credentials.strip())
    # Every candidate is compared, in constant time, so the timing says nothing of the token.
    # aiohttp decodes header bytes that are not UTF-8 as surrogates: encode them back as bytes.
    matches = [
        hmac.compare_digest(value.encode("utf-8", "surrogateescape"), expected)
        for value in offered
        if value
    ]
    return any(matches)


def is_loopback(host: str) -> bool:
    """Whether ``host`` is ``localhost``, in 127.0.0.0/8, or ``::1``."""
    if host.lower() == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:  # a host name other than localhost, or "" (every interface)
        return False


def check_host(host: str, *, allow_remote: bool) -> None:
    """Refuse (``ValueError``) a non-loopback ``host`` unless ``allow_remote``."""
    if not allow_remote and not is_loopback(host):
        raise ValueError(
            f"refusing to listen on {host!r}: it is not a loopback address, and the sandbox "
            "has no real security (anyone who reaches it can use it); pass allow_remote=True "
            "(--allow-remote on the command line) to listen there anyway"
        )


def warn_exposed(host: str) -> None:
    """Warn, once as a warning and once in the log, that ``host`` is reachable from others."""
    text = (
        f"the sandbox listens on {host!r}, reachable from other hosts; it has no real security "
        "(its admin token travels in clear text, and anyone can use its API)"
    )
    _log.warning("%s", text)
    # stacklevel 3: point at the caller of Sandbox.start(), not at the sandbox itself.
    warnings.warn(text, SandboxExposedWarning, stacklevel=3)
