"""The exception tree of the SDK.

Every error the SDK raises on purpose is a :class:`PrivicoreError`.  HTTP answers map to
:class:`APIError` subclasses by status, command outcomes to :class:`CommandError` subclasses.

No message built here ever contains a credential: API errors quote at most the first
:data:`BODY_EXCERPT` characters of the server's *error* body, which never carries one.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

__all__ = [
    "APIError",
    "AuthenticationError",
    "ClientClosedError",
    "CommandError",
    "CommandNotFound",
    "CommandRejected",
    "CommandTimeout",
    "ConflictError",
    "ConnectError",
    "ConnectTimeout",
    "DecryptionError",
    "InsecureTransportWarning",
    "InvalidArgumentError",
    "NotFoundError",
    "PermissionDeniedError",
    "PrivicoreError",
    "ProtocolError",
    "RateLimitError",
    "ReadTimeout",
    "ServerError",
    "TransportError",
    "TransportTimeout",
    "ValidationError",
    "error_for_status",
]

BODY_EXCERPT = 200


class PrivicoreError(Exception):
    """Base class of every error raised by the SDK."""


class InsecureTransportWarning(UserWarning):
    """Credentials would travel in clear text (``http://`` or ``ws://`` to another host)."""


class TransportError(PrivicoreError):
    """The request did not get an HTTP answer (refused, reset, DNS, timeout), after retries.

    ``may_have_arrived`` is False only when no attempt can have reached the server (every one
    failed to connect): a command is then known not to have started. The subclasses say how
    the last attempt failed (:class:`ConnectError`, :class:`ConnectTimeout`,
    :class:`ReadTimeout`); a reset or an answer cut short is a plain ``TransportError``. When
    the network library raised, ``__cause__`` is a scrubbed copy of its exception.
    """

    def __init__(self, message: str, *, may_have_arrived: bool = True) -> None:
        super().__init__(message)
        self.may_have_arrived = may_have_arrived


# The subclasses name how the last attempt failed; ``may_have_arrived`` still speaks for all
# attempts (a request lost once and then refused may have reached the server). The timeouts
# do not derive from the builtin TimeoutError: inside ``asyncio.timeout()`` that one means
# "your own deadline passed", and an SDK timeout must not be mistaken for it.


class ConnectError(TransportError):
    """No connection could be made (refused, DNS, TLS, unreachable) on the last attempt.

    ``__cause__`` is the network library's exception (e.g. ``aiohttp.ClientConnectorError``),
    copied without its traceback and with every credential of the request replaced by ``***``.
    """


class TransportTimeout(TransportError):
    """A timeout of :class:`~privicore_async.Timeouts` passed on the last attempt."""


class ConnectTimeout(ConnectError, TransportTimeout):
    """The connection was not made within ``Timeouts.connect``: nothing reached the server."""


class ReadTimeout(TransportTimeout):
    """Connected, but the answer did not come within ``Timeouts.read`` or ``Timeouts.total``:
    the request may have reached the server."""


class DecryptionError(PrivicoreError):
    """An envelope did not authenticate: the key is wrong or the bytes were altered."""


class ProtocolError(PrivicoreError):
    """The server answered something the wire reference does not allow."""


def _excerpt(body: object) -> str:
    text = body if isinstance(body, str) else repr(body)
    return text if len(text) <= BODY_EXCERPT else text[:BODY_EXCERPT] + "…"


class APIError(PrivicoreError):
    """The server answered with an error status.

    ``status`` is the HTTP status, ``body`` the decoded answer (JSON value or text),
    ``request_id`` the ``x-dpt-cab-request-id`` header when the server sent one,
    ``method`` and ``path`` name the request (path only: query strings may hold secrets).
    """

    def __init__(
        self,
        status: int,
        body: object = None,
        *,
        request_id: str | None = None,
        method: str | None = None,
        path: str | None = None,
    ) -> None:
        self.status = status
        self.body = body
        self.request_id = request_id
        self.method = method
        self.path = path
        where = f"{method} {path}: " if method and path else ""
        detail = f" {_excerpt(body)}" if body not in (None, "", b"") else ""
        super().__init__(f"{where}HTTP {status}{detail}")


class AuthenticationError(APIError):
    """401: missing, wrong, expired or revoked credentials."""


class PermissionDeniedError(APIError):
    """403: authenticated, but not allowed."""


class NotFoundError(APIError):
    """404: the path or the record does not exist (or is not visible to the caller)."""


class ConflictError(APIError):
    """409: the request conflicts with existing state (e.g. a username already taken)."""


class ValidationError(APIError):
    """422: the server refused the parameters.

    ``errors`` maps a wire field name (``""`` when the server named none) to its messages.
    """

    def __init__(
        self,
        status: int,
        body: object = None,
        *,
        errors: Mapping[str, list[str]] | None = None,
        request_id: str | None = None,
        method: str | None = None,
        path: str | None = None,
    ) -> None:
        super().__init__(status, body, request_id=request_id, method=method, path=path)
        self.errors: dict[str, list[str]] = dict(errors or {})


class InvalidArgumentError(ValidationError, ValueError):
    """An argument was refused by the SDK before anything was sent.

    It is a :class:`ValidationError` (so one ``except`` handles client- and server-side
    refusals alike, with the same ``errors`` mapping) and a :class:`ValueError`.
    ``status`` is ``0``: no request was made.
    """

    def __init__(self, argument: str, message: str, *, field: str | None = None) -> None:
        self.argument = argument
        super().__init__(0, None, errors={field or argument: [message]})
        # Replace the HTTP-shaped message: nothing was sent.
        self.args = (f"{argument}: {message}",)


class RateLimitError(APIError):
    """429: too many requests. ``retry_after`` is the server's hint in seconds, if any."""

    def __init__(
        self,
        status: int,
        body: object = None,
        *,
        retry_after: float | None = None,
        request_id: str | None = None,
        method: str | None = None,
        path: str | None = None,
    ) -> None:
        super().__init__(status, body, request_id=request_id, method=method, path=path)
        self.retry_after = retry_after


class ServerError(APIError):
    """5xx: the server failed."""


class CommandError(PrivicoreError):
    """A tracked command did not succeed. ``command_id`` names it."""

    def __init__(self, command_id: str | None, message: str) -> None:
        self.command_id = command_id
        super().__init__(f"command {command_id}: {message}")


class CommandRejected(CommandError):
    """The command was accepted (202) but then rejected. ``reason`` is the server's body."""

    def __init__(self, command_id: str | None, reason: Any = None) -> None:
        self.reason = reason
        text = "rejected" if reason in (None, "") else f"rejected: {_excerpt(reason)}"
        super().__init__(command_id, text)


class CommandTimeout(CommandError):
    """The deadline passed before the command settled. ``last_status`` is the last known state.

    ``pending`` lists the handles still unsettled when a shared deadline of
    :func:`privicore_async.gather` or :func:`privicore_async.as_completed` passed.
    """

    def __init__(
        self,
        command_id: str | None,
        last_status: Any = None,
        *,
        timeout: float | None = None,
        pending: tuple[Any, ...] = (),
    ) -> None:
        self.last_status = last_status
        self.timeout = timeout
        self.pending = pending
        after = f" after {timeout:g}s" if timeout is not None else ""
        super().__init__(command_id, f"not settled{after} (last status: {last_status})")


class CommandNotFound(CommandError):
    """The status endpoint kept answering 404 for this id past the grace period."""

    def __init__(self, command_id: str | None, grace: float) -> None:
        self.grace = grace
        super().__init__(command_id, f"unknown to the server for more than {grace:g}s")


class ClientClosedError(PrivicoreError):
    """The client was closed: a handle still pending then ends with this error (awaiting it,
    or ``gather``/``as_completed`` over it, raises it), and so does a command sent after.

    Not an ``asyncio.CancelledError``, which in a TaskGroup or a web framework would read as
    the awaiting task being cancelled. ``command_id`` names the command, which runs on: resume
    it from another client (``client.commands.resume(command_id)``).
    """

    def __init__(self, message: str, *, command_id: str | None = None) -> None:
        self.command_id = command_id
        super().__init__(message)


_BY_STATUS: dict[int, type[APIError]] = {
    401: AuthenticationError,
    403: PermissionDeniedError,
    404: NotFoundError,
    409: ConflictError,
    422: ValidationError,
    429: RateLimitError,
}


def error_for_status(status: int) -> type[APIError]:
    """The :class:`APIError` subclass for an HTTP error status."""
    if status >= 500:
        return ServerError
    return _BY_STATUS.get(status, APIError)
