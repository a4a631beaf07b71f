"""What a request is sent with besides its route: timeouts, retry policy and extra headers.

A client's requests use its transport's options. A view of the client
(:meth:`~privicore_async.PrivicoreClient.with_options`) and a per-call ``timeout=`` pass their
own with each request; connections, rate limit and tracking stay shared. Everything is checked
here, at the edge, with :class:`~privicore_async.errors.InvalidArgumentError`.
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping
from typing import Any, TypeVar

import attrs

from ..errors import InvalidArgumentError
from ..wire.http import AUTHORIZATION_HEADER
from .retry import RetryPolicy
from .sender import Timeouts

__all__ = ["RESERVED_HEADERS", "RequestOptions", "require_instance"]

RESERVED_HEADERS = frozenset(
    name.lower()
    for name in (
        AUTHORIZATION_HEADER,
        "Authorization",
        "Content-Type",
        "Content-Length",
        "Transfer-Encoding",
        "Host",
        "User-Agent",
    )
)
"""Headers the SDK (or aiohttp under it) sets: extra headers may add others, never these."""

# RFC 9110's token: what a header name may be.
_HEADER_NAME = re.compile(r"[!#$%&'*+\-.^_`|~0-9A-Za-z]+")
_LINE_BREAK = re.compile(r"[\r\n\x00]")

T = TypeVar("T")


def require_instance(argument: str, value: object, cls: type[T]) -> T:
    """``value`` if it is a ``cls``; otherwise InvalidArgumentError naming both types."""
    if not isinstance(value, cls):
        raise InvalidArgumentError(
            argument, f"must be a {cls.__name__}, not {type(value).__name__}"
        )
    return value


def _instance_of(cls: type[Any]) -> Any:
    def check(instance: object, attribute: attrs.Attribute[Any], value: object) -> None:
        require_instance(attribute.name, value, cls)

    return check


def _check_headers(instance: object, attribute: attrs.Attribute[Any], value: object) -> None:
    if not isinstance(value, Mapping):
        raise InvalidArgumentError("extra_headers", "must be a mapping of names to values")
    for name, text in value.items():
        # Names are quoted in messages (they are not secrets); values never are.
        if not isinstance(name, str) or not _HEADER_NAME.fullmatch(name):
            raise InvalidArgumentError("extra_headers", "a header name must be an HTTP token")
        if name.lower() in RESERVED_HEADERS:
            raise InvalidArgumentError(
                "extra_headers", f"{name} is set by the SDK and cannot be replaced"
            )
        if not isinstance(text, str) or _LINE_BREAK.search(text):
            raise InvalidArgumentError("extra_headers", f"the value of {name} must be one line")


def _frozen_headers(value: object) -> Mapping[str, str]:
    return dict(value) if isinstance(value, Mapping) else value  # type: ignore[return-value]


@attrs.frozen
class RequestOptions:
    """The timeouts, retry policy and extra headers of a request.

    ``headers`` are added to every HTTP request (not to the WebSocket handshake); their values
    are treated as secrets (redacted from errors and logs, like credentials).
    """

    timeouts: Timeouts = attrs.field(factory=Timeouts, validator=_instance_of(Timeouts))
    retry: RetryPolicy = attrs.field(factory=RetryPolicy, validator=_instance_of(RetryPolicy))
    headers: Mapping[str, str] = attrs.field(
        factory=dict, converter=_frozen_headers, validator=_check_headers, repr=False
    )

    def replace(
        self,
        *,
        timeout: float | Timeouts | None = None,
        retry: RetryPolicy | None = None,
        extra_headers: Mapping[str, str] | None = None,
    ) -> RequestOptions:
        """These options with the given ones instead (``None``: keep); headers are added.

        ``timeout`` is a :class:`Timeouts`, or a number of seconds that bounds each request
        whole (``Timeouts.total``) and keeps the connect and read bounds.
        """
        if timeout is None and retry is None and extra_headers is None:
            return self
        if extra_headers is not None:
            _check_headers(self, attrs.fields(RequestOptions).headers, extra_headers)
        return RequestOptions(
            timeouts=self.timeouts if timeout is None else as_timeouts(timeout, self.timeouts),
            retry=self.retry if retry is None else retry,
            headers={**self.headers, **(extra_headers or {})},
        )


def as_timeouts(timeout: object, base: Timeouts) -> Timeouts:
    """``timeout`` as :class:`Timeouts`: one already, or a number of seconds for the total."""
    if isinstance(timeout, Timeouts):
        return timeout
    if isinstance(timeout, bool) or not isinstance(timeout, int | float):
        raise InvalidArgumentError(
            "timeout", f"must be a number of seconds or a Timeouts, not {type(timeout).__name__}"
        )
    if not (math.isfinite(timeout) and timeout > 0):
        raise InvalidArgumentError("timeout", "must be a finite number of seconds > 0")
    return attrs.evolve(base, total=float(timeout))
