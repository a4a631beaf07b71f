"""The only module that talks HTTP.

One :class:`aiohttp.ClientSession` (owned, or injected and then left open), the credential
header of each auth kind, the body encodings, timeouts, retries and the mapping of error
statuses to :mod:`privicore_async.errors`.

Retry rule (why it is safe):

* A request that failed to *connect* (refused, DNS, connect timeout) never reached the server,
  so it is repeated whatever its method — including a command ``POST``.
* A request that may have reached the server (reset, disconnect, read timeout) or that got
  ``429``/``502``/``503``/``504`` is repeated only when it is safe to repeat: a ``GET``, or a
  call marked ``safe`` (the command-status read). A command ``POST`` that got *any* answer is
  never sent twice: it could start the same command twice.
* :meth:`Transport.stream` (bodies read chunk by chunk, e.g. single-use downloads) repeats
  only a request that failed to connect; anything that may have reached the server is final.

Waits come from ``backoff``'s exponential generator with full jitter, bounded by
:attr:`RetryPolicy.max_attempts` and :attr:`RetryPolicy.max_time`; a ``Retry-After`` header
replaces the computed wait when it fits in the remaining budget.

Logging goes to ``logging.getLogger("privicore_async")`` and names only the method, the path
(never the query string), the status and the timing. Credentials never reach a log line.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import json
import logging
import time
from collections.abc import AsyncIterable, AsyncIterator, Iterable, Mapping, Sequence
from typing import Any, TypedDict, Unpack
from urllib.parse import quote, quote_plus

import aiohttp
import attrs
import backoff
from multidict import CIMultiDictProxy
from yarl import URL

from . import errors
from .routes import Auth, Encoding, Host, Route
from .wire import (
    AUTHORIZATION_HEADER,
    REQUEST_ID_HEADER,
    decode_body,
    parse_retry_after,
    parse_validation_errors,
)

__all__ = [
    "CallParts",
    "Credential",
    "Fields",
    "RetryPolicy",
    "Timeouts",
    "Transport",
    "WireResponse",
    "logger",
]

logger = logging.getLogger("privicore_async")

Fields = Mapping[str, Any] | Sequence[tuple[str, Any]]
"""Parameters of a call: a mapping, or (name, value) pairs for repeated keys like ``scope[]``."""

Credential = str | tuple[str, str] | None
"""A token (token, raw-basic and query-auth kinds) or ``(client_id, client_secret)``."""

_RETRYABLE_STATUSES = frozenset({429, 502, 503, 504})
_EMPTY_JSON = b"{}"  # the command-status body, sent thousands of times a second
# Failures that happen before a single byte of the request can have reached the server.
_NOT_SENT = (aiohttp.ClientConnectorError, aiohttp.ConnectionTimeoutError, aiohttp.InvalidURL)


class CallParts(TypedDict, total=False):
    """What one call carries besides its route and credential (shared by client and transport)."""

    path: Mapping[str, str] | None  # values for the route's {placeholders}
    fields: Fields | None  # encoded as the route says: form, JSON or query
    content: bytes | AsyncIterable[bytes] | None  # a raw body (binary routes)
    url: str | None  # a full URL instead of base URL + path (upstream/downstream links)
    safe: bool | None  # a non-GET call that is safe to repeat (default: only GET is)


@attrs.frozen
class RetryPolicy:
    """How requests are retried (see the module docstring for *which* requests)."""

    max_attempts: int = attrs.field(default=4, validator=attrs.validators.ge(1))
    max_time: float = attrs.field(default=30.0, validator=attrs.validators.gt(0))
    initial_backoff: float = attrs.field(default=0.2, validator=attrs.validators.gt(0))
    max_backoff: float = attrs.field(default=5.0, validator=attrs.validators.gt(0))
    max_retry_after: float = 60.0
    """A ``Retry-After`` longer than this is not waited for: the RateLimitError is raised."""

    def waits(self) -> Iterable[float]:
        """The jittered exponential waits between attempts (``backoff.expo`` + full jitter)."""
        waits = backoff.expo(base=2, factor=self.initial_backoff, max_value=self.max_backoff)
        next(waits)  # backoff's generators yield once before the first value
        for value in waits:
            yield backoff.full_jitter(value)


@attrs.frozen
class Timeouts:
    """Per-request timeouts in seconds (``None`` = no limit)."""

    connect: float | None = 10.0
    read: float | None = 60.0
    total: float | None = None


@attrs.frozen
class WireResponse:
    """A successful (2xx) answer: status, headers and the decoded body (JSON or text)."""

    status: int
    headers: CIMultiDictProxy[str] = attrs.field(repr=False)
    body: Any = attrs.field(repr=False)  # may hold a token or a client secret
    route: str = ""
    raw: bytes = attrs.field(default=b"", repr=False)  # the undecoded body (binary downloads)


def _redact(text: str, secrets: Iterable[str]) -> str:
    """``text`` without any secret, also in the percent-encoded forms a URL gives them."""
    for secret in secrets:
        if not secret:
            continue
        for form in {secret, quote(secret, safe=""), quote(secret), quote_plus(secret)}:
            text = text.replace(form, "***")
    return text


def _form_value(value: Any) -> str:
    if isinstance(value, bool):
        return "1" if value else "0"
    return str(value)


def _pairs(fields: Fields | None) -> list[tuple[str, str]]:
    if fields is None:
        return []
    items = fields.items() if isinstance(fields, Mapping) else fields
    return [(name, _form_value(value)) for name, value in items if value is not None]


@attrs.frozen
class _Prepared:
    """One call ready for the wire: where, what, the secrets to redact, whether to repeat."""

    route: Route
    target: URL
    headers: dict[str, str]
    kwargs: dict[str, Any] = attrs.field(repr=False)
    secrets: list[str] = attrs.field(repr=False)
    repeatable: bool


class Transport:
    """Puts :class:`~privicore_async.routes.Route` calls on the wire and maps the answers."""

    def __init__(
        self,
        base_urls: Mapping[Host, str | None],
        *,
        session: aiohttp.ClientSession | None = None,
        retry: RetryPolicy | None = None,
        timeouts: Timeouts | None = None,
        max_connections: int = 100,
        user_agent: str = "privicore-async",
    ) -> None:
        self._base_urls = dict(base_urls)
        self._session = session
        self._owns_session = session is None
        self.retry = retry or RetryPolicy()
        self.timeouts = timeouts or Timeouts()
        self._max_connections = max_connections
        self._user_agent = user_agent
        self._closed = False
        # Passed per request, so an injected session gets the same limits as an owned one.
        self._timeout = aiohttp.ClientTimeout(
            total=self.timeouts.total,
            sock_connect=self.timeouts.connect,
            sock_read=self.timeouts.read,
        )

    def base_url(self, host: Host) -> str | None:
        """The configured base URL of a host (``None`` when not configured)."""
        return self._base_urls.get(host)

    def session(self) -> aiohttp.ClientSession:
        """The session, opened on first use (the ack channel's WebSocket shares it)."""
        return self._session_or_open()

    def _session_or_open(self) -> aiohttp.ClientSession:
        if self._closed:
            raise errors.PrivicoreError("the client is closed")
        if self._session is None:
            self._session = aiohttp.ClientSession(
                connector=aiohttp.TCPConnector(limit=self._max_connections),
                headers={"User-Agent": self._user_agent},
            )
        return self._session

    async def close(self) -> None:
        """Close the session if the transport created it; an injected one is left open."""
        self._closed = True
        if self._owns_session and self._session is not None:
            await self._session.close()
        self._session = None

    def _url(self, route: Route, path: Mapping[str, str] | None, url: str | None) -> URL:
        if url is not None:
            return URL(url)
        base = self._base_urls.get(route.host)
        if not base:
            raise errors.PrivicoreError(
                f"no base URL configured for the {route.host.value} host (route {route.name})"
            )
        # encoded=True: the path is already quoted by Route.render_path; yarl must not undo it.
        return URL(base.rstrip("/") + route.render_path(path), encoded=True)

    def _prepare(
        self,
        route: Route,
        fields: Fields | None,
        content: bytes | AsyncIterable[bytes] | None,
        credential: Credential,
    ) -> tuple[dict[str, str], dict[str, Any], list[str]]:
        headers: dict[str, str] = {}
        kwargs: dict[str, Any] = {}
        params: list[tuple[str, str]] = []
        secrets: list[str] = []

        if route.auth is not Auth.NONE and credential is None:
            raise errors.AuthenticationError(
                401,
                "no credential for this call; nothing was sent",
                method=route.method,
                path=route.path,
            )
        if route.auth is Auth.TOKEN:
            assert isinstance(credential, str)
            headers[AUTHORIZATION_HEADER] = credential
            secrets.append(credential)
        elif route.auth is Auth.CLIENT_SECRET_BASIC:
            assert isinstance(credential, tuple)
            client_id, client_secret = credential
            pair = base64.b64encode(f"{client_id}:{client_secret}".encode()).decode()
            headers["Authorization"] = f"Basic {pair}"
            secrets += [client_secret, pair]
        elif route.auth is Auth.RAW_BASIC:
            assert isinstance(credential, str)
            headers["Authorization"] = f"Basic {credential}"
            secrets.append(credential)
        elif route.auth is Auth.QUERY_AUTH:
            assert isinstance(credential, str)
            params.append(("auth", credential))
            secrets.append(credential)

        if route.encoding is Encoding.FORM:
            headers["Content-Type"] = "application/x-www-form-urlencoded"
            kwargs["data"] = aiohttp.FormData(_pairs(fields))() if fields else b""
        elif route.encoding is Encoding.JSON:
            headers["Content-Type"] = "application/json"
            kwargs["data"] = (
                _EMPTY_JSON
                if fields is None
                else json.dumps(dict(fields), separators=(",", ":")).encode()
            )
        elif route.encoding is Encoding.QUERY:
            params += _pairs(fields)
        elif route.encoding is Encoding.BINARY:
            headers["Content-Type"] = "application/octet-stream"
            kwargs["data"] = content if content is not None else b""
        elif fields:
            raise TypeError(f"route {route.name} takes no body fields")
        if params:
            kwargs["params"] = params
        return headers, kwargs, secrets

    def _begin(
        self, route: Route, credential: Credential, call: CallParts
    ) -> tuple[aiohttp.ClientSession, _Prepared]:
        """Everything one call needs before its first attempt (shared by request and stream)."""
        content, safe = call.get("content"), call.get("safe")
        session = self._session_or_open()
        target = self._url(route, call.get("path"), call.get("url"))
        headers, kwargs, secrets = self._prepare(route, call.get("fields"), content, credential)
        repeatable = (route.method == "GET") if safe is None else safe
        # A streamed body cannot be sent twice, whatever failed.
        if content is not None and not isinstance(content, bytes):
            repeatable = False
        return session, _Prepared(route, target, headers, kwargs, secrets, repeatable)

    def _send(
        self, session: aiohttp.ClientSession, call: _Prepared
    ) -> aiohttp.client._RequestContextManager:
        if self._closed:  # closed while this call was waiting to retry
            raise errors.PrivicoreError("the client is closed")
        return session.request(
            call.route.method,
            call.target,
            headers=call.headers,
            allow_redirects=False,
            timeout=self._timeout,
            **call.kwargs,
        )

    def _failed(
        self,
        session: aiohttp.ClientSession,
        call: _Prepared,
        exc: Exception,
        attempt: int,
        wait: float | None,
    ) -> float:
        """The wait before retrying a call that got no answer, or the error to raise."""
        route = call.route
        if isinstance(exc, RuntimeError):
            if session.closed:  # closed while this call was in flight
                raise errors.PrivicoreError("the client is closed") from None
            raise exc
        if isinstance(exc, aiohttp.InvalidURL):
            raise errors.TransportError(f"{route.method} {route.path}: invalid URL") from None
        reached = not isinstance(exc, _NOT_SENT)
        if wait is None or (reached and not call.repeatable):
            detail = _redact(f"{type(exc).__name__}: {exc}".rstrip(": "), call.secrets)
            logger.warning(
                "%s %s failed after %d attempt(s): %s", route.method, route.path, attempt, detail
            )
            raise errors.TransportError(f"{route.method} {call.target.path}: {detail}") from None
        logger.info(
            "%s %s: %s, retrying in %.2fs (attempt %d/%d)",
            route.method,
            route.path,
            type(exc).__name__,
            wait,
            attempt + 1,
            self.retry.max_attempts,
        )
        return wait

    @staticmethod
    def _answered(call: _Prepared, status: int, t0: float, attempt: int) -> None:
        if logger.isEnabledFor(logging.DEBUG):
            logger.debug(
                "%s %s -> %d in %.1f ms (attempt %d)",
                call.route.method,
                call.target.path,
                status,
                (time.monotonic() - t0) * 1000,
                attempt,
            )
        if 300 <= status < 400:
            # Redirects are not followed (a POST must not turn into a GET elsewhere),
            # and Privicore documents none.
            raise errors.ProtocolError(
                f"{call.route.method} {call.target.path}: unexpected redirect (HTTP {status})"
            )

    async def request(
        self,
        route: Route,
        *,
        credential: Credential = None,
        retry: bool = True,
        **call: Unpack[CallParts],
    ) -> WireResponse:
        """Send one call of ``route`` and return its answer, retrying per the module rule.

        ``call`` holds the parts of :class:`CallParts`. ``retry=False`` makes exactly one
        attempt (the tracker schedules its own retries). Raises
        :class:`~privicore_async.errors.APIError` subclasses for error statuses and
        :class:`~privicore_async.errors.TransportError` when no answer came.
        """
        session, prepared = self._begin(route, credential, call)
        policy = self.retry
        waits = iter(policy.waits())
        started = time.monotonic()
        attempt = 0
        while True:
            attempt += 1
            t0 = time.monotonic()
            try:
                async with self._send(session, prepared) as response:
                    raw = await response.read()
                    status = response.status
                    answer_headers = response.headers
            except (aiohttp.ClientError, TimeoutError, RuntimeError) as exc:
                wait = self._next_wait(waits, started, policy, attempt, None) if retry else None
                await asyncio.sleep(self._failed(session, prepared, exc, attempt, wait))
                continue

            self._answered(prepared, status, t0, attempt)
            body = decode_body(raw, answer_headers.get("Content-Type"))
            if status < 300:
                return WireResponse(status, answer_headers, body, route.name, raw)

            retry_after = parse_retry_after(answer_headers.get("Retry-After"))
            if retry and prepared.repeatable and status in _RETRYABLE_STATUSES:
                wait = self._next_wait(waits, started, policy, attempt, retry_after)
                if wait is not None:
                    logger.info(
                        "%s %s -> %d, retrying in %.2fs (attempt %d/%d)",
                        route.method,
                        route.path,
                        status,
                        wait,
                        attempt + 1,
                        policy.max_attempts,
                    )
                    await asyncio.sleep(wait)
                    continue
            raise self._error(route, prepared.target, status, body, answer_headers, retry_after)

    @contextlib.asynccontextmanager
    async def stream(
        self,
        route: Route,
        *,
        credential: Credential = None,
        chunk_size: int = 64 * 1024,
        **call: Unpack[CallParts],
    ) -> AsyncIterator[AsyncIterator[bytes]]:
        """Send one call of ``route`` and yield the chunks of its 2xx body as they arrive.

        An async context manager: the body is never read into memory as a whole, and the
        connection is released when the block ends. Error statuses raise the same
        :class:`~privicore_async.errors.APIError` subclasses as :meth:`request` (their small
        body is read). Only a request that failed to *connect* is repeated: anything that
        may have reached the server is final (downloads are single-use), so ``safe`` does
        not apply. A body cut short raises :class:`~privicore_async.errors.TransportError`.
        """
        if chunk_size < 1:
            raise ValueError("chunk_size must be at least 1")
        session, prepared = self._begin(route, credential, call)
        prepared = attrs.evolve(prepared, repeatable=False)
        policy = self.retry
        waits = iter(policy.waits())
        started = time.monotonic()
        attempt = 0
        while True:
            attempt += 1
            t0 = time.monotonic()
            try:
                response = await self._send(session, prepared)
            except (aiohttp.ClientError, TimeoutError, RuntimeError) as exc:
                wait = self._next_wait(waits, started, policy, attempt, None)
                await asyncio.sleep(self._failed(session, prepared, exc, attempt, wait))
                continue
            break
        async with response:
            status = response.status
            if status >= 300:
                try:
                    raw = await response.read()
                except (aiohttp.ClientError, TimeoutError, RuntimeError) as exc:
                    self._failed(session, prepared, exc, attempt, None)
                    raise  # unreachable: _failed raises when there is no wait
                self._answered(prepared, status, t0, attempt)
                headers = response.headers
                body = decode_body(raw, headers.get("Content-Type"))
                retry_after = parse_retry_after(headers.get("Retry-After"))
                raise self._error(route, prepared.target, status, body, headers, retry_after)
            self._answered(prepared, status, t0, attempt)
            yield self._chunks(session, prepared, response, chunk_size, attempt)

    async def _chunks(
        self,
        session: aiohttp.ClientSession,
        call: _Prepared,
        response: aiohttp.ClientResponse,
        chunk_size: int,
        attempt: int,
    ) -> AsyncIterator[bytes]:
        try:
            async for chunk in response.content.iter_chunked(chunk_size):
                yield chunk
        except (aiohttp.ClientError, TimeoutError, RuntimeError) as exc:
            self._failed(session, call, exc, attempt, None)
            raise  # unreachable: _failed raises when there is no wait

    @staticmethod
    def _next_wait(
        waits: Iterable[float],
        started: float,
        policy: RetryPolicy,
        attempt: int,
        retry_after: float | None,
    ) -> float | None:
        """The wait before the next attempt, or ``None`` when the budget is spent."""
        if attempt >= policy.max_attempts:
            return None
        wait = next(iter(waits))
        if retry_after is not None:
            if retry_after > policy.max_retry_after:
                return None
            wait = retry_after
        if time.monotonic() - started + wait > policy.max_time:
            return None
        return wait

    @staticmethod
    def _error(
        route: Route,
        target: URL,
        status: int,
        body: Any,
        headers: Mapping[str, str],
        retry_after: float | None,
    ) -> errors.APIError:
        common: dict[str, Any] = {
            "request_id": headers.get(REQUEST_ID_HEADER),
            "method": route.method,
            "path": target.path,
        }
        cls = errors.error_for_status(status)
        if issubclass(cls, errors.ValidationError):
            return cls(status, body, errors=parse_validation_errors(body), **common)
        if issubclass(cls, errors.RateLimitError):
            return cls(status, body, retry_after=retry_after, **common)
        return cls(status, body, **common)
