"""The 202 behind a handle, as :attr:`CommandHandle.response` keeps it: status and headers.

Only what is safe to log is kept: the body is dropped (the command id is already on the
handle) and so is every header whose name says it may carry a credential or a session.
"""

from __future__ import annotations

from collections.abc import Mapping

import attrs
from multidict import CIMultiDict, CIMultiDictProxy

from ..errors import ProtocolError
from ..http.transport import WireResponse
from ..wire.http import extract_request_id

__all__ = ["CommandResponse"]

# A header is dropped when its lower-cased name contains one of these. A denylist, not an
# allowlist: rate-limit, tracing and proxy headers are what people look for in a 202.
_SECRET_MARKS = (
    "authorization",
    "authenticate",
    "cookie",
    "token",
    "secret",
    "password",
    "session",
    "api-key",
    "apikey",
    "credential",
)


def _kept(name: str) -> bool:
    lowered = name.lower()
    return not any(mark in lowered for mark in _SECRET_MARKS)


@attrs.frozen
class CommandResponse:
    """The HTTP answer (usually ``202 Accepted``) that started a command.

    ``headers`` is read-only and case-insensitive, without any header that may carry a
    credential (``Set-Cookie``, ``X-DPT-AUTHORIZATION``, anything naming a token, secret or
    session). ``request_id`` is Privicore's ``x-dpt-cab-request-id`` header when it sent a
    well-formed one, as in :attr:`privicore_async.errors.APIError.request_id`. ``route`` names
    the endpoint (``"storage.sync_device"``).
    """

    status: int
    headers: Mapping[str, str] = attrs.field(repr=False)
    request_id: str | None = None
    route: str = ""

    @classmethod
    def of(cls, response: WireResponse) -> CommandResponse:
        """What may be kept of ``response``."""
        kept: CIMultiDict[str] = CIMultiDict(
            (name, value) for name, value in response.headers.items() if _kept(name)
        )
        try:
            request_id = extract_request_id(response.headers)
        except ProtocolError:  # malformed: the header itself is kept, as sent
            request_id = None
        return cls(response.status, CIMultiDictProxy(kept), request_id, response.route)
