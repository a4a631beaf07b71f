"""Puts route calls on the wire: one attempt loop for plain and streamed answers alike.

The transport turns a :class:`~privicore_async.routes.Route` and its parts into a
:class:`~privicore_async.http.sender.PreparedRequest` (URL, credential header, body encoding),
hands it to the :class:`~privicore_async.http.sender.Sender`, and maps the answer: 2xx is a
:class:`WireResponse` (or a stream of chunks), an error status an
:class:`~privicore_async.errors.APIError` subclass, no answer a
:class:`~privicore_async.errors.TransportError`.

After every failed attempt it asks the retry table (:func:`~privicore_async.http.retry.decide`)
and does what it says: wait and repeat, get a fresh token and replay once (the only place a
401 is recovered), or switch to the route's documented alternative.

Each call is sent with :class:`~privicore_async.http.options.RequestOptions` (timeouts, retry
policy, extra headers): the transport's own, or those a client view or a call passes.

Logging goes to ``logging.getLogger("privicore_async.transport")`` and names only the method,
the path (never the query string), the status and the timing. Credentials never reach a log
line, an error message or an exception chained to one: a network error is chained as a copy
scrubbed of them (:func:`~privicore_async.http.redact.scrubbed`).
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import json
import logging
import string
import time
from collections.abc import AsyncIterable, AsyncIterator, Mapping, Sequence
from typing import TYPE_CHECKING, Any, Protocol, TypedDict, Unpack
from urllib.parse import quote_plus

import attrs
from yarl import URL

from .. import errors
from ..ratelimit import RateLimiter
from ..routes import ROUTES, Auth, Encoding, Host, Location, Route, RouteTable
from ..wire.http import (
    AUTHORIZATION_HEADER,
    REQUEST_ID_HEADER,
    decode_body,
    extract_request_id,
    parse_retry_after,
    parse_validation_errors,
)
from .options import RequestOptions
from .redact import redact, scrubbed
from .retry import Action, Outcome, RequestKind, RetryPolicy, decide
from .sender import (
    AnswerTooLarge,
    Failure,
    Limits,
    PreparedRequest,
    Reply,
    Sender,
    SendError,
    Timeouts,
)

if TYPE_CHECKING:
    from ..telemetry import Telemetry

__all__ = [
    "CallExtras",
    "CallParts",
    "Credential",
    "CredentialSource",
    "Fields",
    "Transport",
    "WireResponse",
    "logger",
]

logger = logging.getLogger("privicore_async.transport")

Fields = Mapping[str, Any] | Sequence[tuple[str, Any]]
"""Parameters of a call: a mapping, or (name, value) pairs for repeated keys like ``scope[]``."""

Credential = str | tuple[str, str] | None
"""A token (token, raw-basic and query-auth kinds) or ``(client_id, client_secret)``."""

_EMPTY_JSON = b"{}"  # the command-status body, sent thousands of times a second
_MAY_HAVE_ARRIVED = (Failure.LOST, Failure.GARBLED)


class CallParts(TypedDict, total=False):
    """What one call carries besides its route and credential (shared by client and transport)."""

    path: Mapping[str, str] | None  # values for the route's {placeholders}
    fields: Fields | None  # encoded as the route says: form, JSON or query
    content: bytes | AsyncIterable[bytes] | None  # a raw body (binary routes)
    url: str | None  # a full URL instead of base URL + path (upstream/downstream links)
    safe: bool | None  # a non-GET call that is safe to repeat (default: only GET is)


class CallExtras(TypedDict, total=False):
    """The parts of a call that are not route parameters (what resources pass besides args)."""

    content: bytes | AsyncIterable[bytes] | None  # a raw body (binary routes)
    url: str | None  # a full URL instead of base URL + path (upstream/downstream links)
    safe: bool | None  # a non-GET call that is safe to repeat (default: only GET is)


class CredentialSource(Protocol):
    """The client's token, renewed on demand (:class:`~privicore_async.auth.TokenKeeper`)."""

    async def token(self) -> str:
        """A usable token (authenticating or renewing first when needed)."""
        ...

    async def recover(self, failed: str) -> bool:
        """After ``failed`` got a 401: get a fresh token once. False if that is impossible."""
        ...


@attrs.frozen
class WireResponse:
    """A successful (2xx) answer: status, headers and the decoded body (JSON or text)."""

    status: int
    headers: Mapping[str, str] = attrs.field(repr=False)
    body: Any = attrs.field(repr=False)  # may hold a token or a client secret
    route: str = ""
    raw: bytes = attrs.field(default=b"", repr=False)  # the undecoded body (binary downloads)

    @property
    def request_id(self) -> str | None:
        """The server's ``x-dpt-cab-request-id`` header, when it sent a well-formed one."""
        try:
            return extract_request_id(self.headers)
        except errors.ProtocolError:
            return None


def _transport_error(failure: SendError) -> type[errors.TransportError]:
    """The error class for an attempt that got no answer (see the errors' docstrings)."""
    if failure.failure is Failure.NOT_SENT:
        return errors.ConnectTimeout if failure.timed_out else errors.ConnectError
    return errors.ReadTimeout if failure.timed_out else errors.TransportError


def _form_value(value: Any) -> str:
    if isinstance(value, bool):
        return "1" if value else "0"
    return str(value)


def _pairs(fields: Fields | None) -> list[tuple[str, str]]:
    if fields is None:
        return []
    items = fields.items() if isinstance(fields, Mapping) else fields
    return [(name, _form_value(value)) for name, value in items if value is not None]


# What quote_plus leaves as it is (RFC 3986's unreserved characters).
_UNRESERVED = string.ascii_letters + string.digits + "-._~"


def _form_text(text: str) -> str:
    # Ids and names rarely need escaping: only those that do pay for quote_plus.
    return quote_plus(text) if text.strip(_UNRESERVED) else text


def form_body(pairs: list[tuple[str, str]]) -> bytes:
    """``urlencode(pairs).encode()``, byte for byte, without its per-value work for the
    common values that need no escaping (on the path of every submit)."""
    return "&".join(f"{_form_text(name)}={_form_text(value)}" for name, value in pairs).encode()


def _rebind(parts: CallParts, route: Route) -> CallParts:
    """``parts`` re-split for ``route``: a value goes to the path iff it names a placeholder.

    An alternative route may take in its path what the first took as a field, or the reverse.
    """
    fields = parts.get("fields")
    values = dict(parts.get("path") or {})
    values.update(fields.items() if isinstance(fields, Mapping) else fields or ())
    path = {p.name: values.pop(p.name) for p in route.params if p.location is Location.PATH}
    return {**parts, "path": path, "fields": values or None}


@attrs.frozen
class _Prepared:
    """A request ready for the sender, with the secrets to redact from what it reports."""

    request: PreparedRequest
    route: Route
    path: str = attrs.field(repr=False)  # the quoted path, for logs and errors (never the query)
    secrets: tuple[str, ...] = attrs.field(repr=False)


@attrs.frozen
class _Attempt:
    """How one attempt ended: an answer (``status``), or a ``failure``."""

    prepared: _Prepared
    status: int | None = None
    headers: Mapping[str, str] = attrs.field(factory=dict, repr=False)
    raw: bytes | None = attrs.field(default=None, repr=False)
    reply: Reply | None = None  # still open: a streamed 2xx
    failure: SendError | None = None
    too_large: int | None = None  # the answer exceeded this many bytes and was not read

    @property
    def outcome(self) -> Outcome:
        return Outcome(self.status, None if self.failure is None else self.failure.failure)


class Transport:
    """Puts :class:`~privicore_async.routes.Route` calls on the wire and maps the answers."""

    def __init__(
        self,
        sender: Sender,
        base_urls: Mapping[Host, str | None],
        *,
        routes: RouteTable = ROUTES,
        retry: RetryPolicy | None = None,
        timeouts: Timeouts | None = None,
        limits: Limits | None = None,
        limiter: RateLimiter | None = None,
        telemetry: Telemetry | None = None,
    ) -> None:
        self.sender = sender
        self.limiter = limiter
        """Every attempt waits for a permit of this rate limit first (``None``: no limit)."""
        self._base_urls = dict(base_urls)
        self._base_paths: dict[str, str] = {}  # base URL -> its own raw path
        self._routes = routes
        self.options = RequestOptions(timeouts or Timeouts(), retry or RetryPolicy())
        """What a call is sent with unless it passes its own options."""
        self._stream_timeouts: dict[Timeouts, Timeouts] = {}  # a download has no total
        self.telemetry = telemetry
        """Spans of every attempt (``None``: no tracing)."""
        self.limits = limits or Limits()
        """The largest answers read into memory (a larger one is a ProtocolError)."""
        self._switched: dict[str, Route] = {}  # alternatives in use after a 405
        # Routes whose first choice has answered 2xx on this client (Alternative.switches).
        self._proven: set[str] = set()
        self._unreachable_since: float | None = None  # the outage under way, if any

    @property
    def retry(self) -> RetryPolicy:
        """The retry policy of calls that pass no options of their own."""
        return self.options.retry

    @property
    def timeouts(self) -> Timeouts:
        """The timeouts of calls that pass no options of their own."""
        return self.options.timeouts

    def base_url(self, host: Host) -> str | None:
        """The configured base URL of a host (``None`` when not configured)."""
        return self._base_urls.get(host)

    def route_in_use(self, route: Route) -> Route:
        """``route``, or its alternative once a 405 showed the server only takes that one."""
        return self._switched.get(route.name, route)

    async def close(self) -> None:
        """Close the sender (an injected aiohttp session is left open)."""
        await self.sender.close()

    # -- preparing --------------------------------------------------------------------------

    def _url(
        self, route: Route, parts: CallParts, params: list[tuple[str, str]]
    ) -> tuple[str, str]:
        """The request's URL and its raw path (for messages)."""
        url = parts.get("url")
        if url is not None:
            target = URL(url)
        else:
            base = self._base_urls.get(route.host)
            if not base:
                raise errors.PrivicoreError(
                    f"no base URL configured for the {route.host.value} host (route {route.name})"
                )
            path = route.render_path(parts.get("path"))
            if not params:
                # The common case, built without parsing: the base's own path is known.
                prefix = self._base_paths.get(base)
                if prefix is None:
                    prefix = self._base_paths[base] = URL(base.rstrip("/")).raw_path.rstrip("/")
                return base.rstrip("/") + path, prefix + path
            # encoded=True: the path is already quoted by Route.render_path; yarl must not undo it.
            target = URL(base.rstrip("/") + path, encoded=True)
        target = target.extend_query(params) if params else target
        return str(target), target.raw_path

    def _prepare(
        self,
        route: Route,
        parts: CallParts,
        credential: Credential,
        options: RequestOptions,
        *,
        stream: bool = False,
    ) -> _Prepared:
        # The caller's extra headers first: the SDK's own (checked to be other names) follow.
        # Their values may be keys of a gateway: redacted like credentials.
        headers: dict[str, str] = dict(options.headers) if options.headers else {}
        params: list[tuple[str, str]] = []
        secrets: list[str] = list(options.headers.values()) if options.headers else []

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

        fields, content = parts.get("fields"), parts.get("content")
        body: bytes | AsyncIterable[bytes] | None = None
        if route.encoding is Encoding.FORM:
            headers["Content-Type"] = "application/x-www-form-urlencoded"
            body = form_body(_pairs(fields)) if fields else b""
        elif route.encoding is Encoding.JSON:
            headers["Content-Type"] = "application/json"
            body = (
                _EMPTY_JSON
                if fields is None
                else json.dumps(dict(fields), separators=(",", ":")).encode()
            )
        elif route.encoding is Encoding.QUERY:
            params += _pairs(fields)
        elif route.encoding is Encoding.BINARY:
            headers["Content-Type"] = "application/octet-stream"
            body = content if content is not None else b""
        elif fields:
            raise TypeError(f"route {route.name} takes no body fields")

        url, raw_path = self._url(route, parts, params)
        timeouts = self._without_total(options.timeouts) if stream else options.timeouts
        request = PreparedRequest(route.method, url, headers, body, route.name, timeouts)
        return _Prepared(request, route, raw_path, tuple(secrets))

    def _without_total(self, timeouts: Timeouts) -> Timeouts:
        """``timeouts`` for a streamed answer: no total (a download may rightly take long)."""
        streamed = self._stream_timeouts.get(timeouts)
        if streamed is None:
            if len(self._stream_timeouts) >= 64:  # per-call timeouts: keep the cache small
                self._stream_timeouts.clear()
            streamed = self._stream_timeouts[timeouts] = attrs.evolve(timeouts, total=None)
        return streamed

    @staticmethod
    def _kind(route: Route, parts: CallParts, *, stream: bool) -> RequestKind:
        content = parts.get("content")
        if stream or (content is not None and not isinstance(content, bytes)):
            return RequestKind.STREAM  # a streamed body or answer cannot be had twice
        safe = parts.get("safe")
        # A command is never repeatable, even one sent as a GET: it could start twice.
        repeatable = (route.method == "GET" and not route.phase.tracked) if safe is None else safe
        return RequestKind.READ if repeatable else RequestKind.WRITE

    # -- the attempt loop ----------------------------------------------------------------------

    async def _exchange(
        self,
        route: Route,
        parts: CallParts,
        credential: Credential,
        tokens: CredentialSource | None,
        kind: RequestKind,
        stack: contextlib.AsyncExitStack | None,
        options: RequestOptions,
    ) -> _Attempt:
        """Attempts until an answer is 2xx or the retry table says to give up (then raises).

        ``stack`` is given for streamed answers: the 2xx reply is left open on it.
        """
        route = self.route_in_use(route)
        alternative = None if route.name in self._switched else self._routes.alternative(route.name)
        first: _Attempt | None = None  # the primary route's answer, once switched
        renewable = tokens is not None and credential is None and route.auth is Auth.TOKEN
        if renewable:
            assert tokens is not None
            credential = await tokens.token()
        budget = options.retry.budget()
        # A streamed body is gone once sent: no replay, even after a 401.
        replayable = isinstance(parts.get("content"), bytes | None)
        replayed = False
        reached = False  # whether any attempt may have reached the server
        while True:
            prepared = self._prepare(route, parts, credential, options, stream=stack is not None)
            started = time.monotonic()
            if self.telemetry is None:
                got = await self._send_once(prepared, keep_open=stack)
            else:
                got = await self._traced_send(self.telemetry, prepared, stack, budget.retries)
            reached = reached or got.failure is None or got.failure.failure in _MAY_HAVE_ARRIVED
            self._note_reachability(got)
            if got.status is not None:
                self._answered(prepared, got.status, started, budget.retries + 1)
                if got.status < 300 and alternative is not None and first is None:
                    self._proven.add(route.name)
                if got.status < 300 and got.too_large is None:
                    return got
                if got.status < 300:
                    raise self._give_up(got, budget.retries + 1)
            switch = (
                alternative is not None
                and first is None
                and alternative.switches(got.status, first_proven=route.name in self._proven)
            )
            action = decide(
                kind,
                got.outcome,
                can_reauth=renewable and replayable and not replayed,
                has_alternative=switch,
            )
            if action is Action.RETRY:
                # A failure to connect costs the server nothing: only time bounds those.
                not_sent = got.failure is not None and got.failure.failure is Failure.NOT_SENT
                wait = budget.next_wait(self._retry_after(got), count=not not_sent)
                if wait is not None:
                    self._log_retry(got, wait, budget.retries + 1, options.retry.max_attempts)
                    await asyncio.sleep(wait)
                    continue
            elif action is Action.REAUTH:
                replayed = True
                assert tokens is not None
                assert isinstance(credential, str)
                # A 401 means the server did not act on the call, so replaying it is safe.
                if await tokens.recover(credential):
                    credential = await tokens.token()
                    continue
            elif action is Action.SWITCH:
                assert alternative is not None
                first, route = got, alternative.route
                parts = _rebind(parts, route)
                if got.status == 405:
                    logger.info(
                        "%s refused %s (405); using %s for this client",
                        prepared.path,
                        prepared.route.method,
                        route.method,
                    )
                    self._switched[route.name] = route
                continue
            if first is not None and alternative is not None and got.status in alternative.on:
                got = first  # the alternative knew no better: the first answer is the one to show
            raise self._give_up(got, budget.retries + 1, reached=reached, kind=kind)

    async def _traced_send(
        self,
        telemetry: Telemetry,
        prepared: _Prepared,
        keep_open: contextlib.AsyncExitStack | None,
        retries: int,
    ) -> _Attempt:
        """:meth:`_send_once` inside the attempt's span."""
        with telemetry.request(prepared.route, prepared.request.url, retries) as span:
            got = await self._send_once(prepared, keep_open=keep_open)
            if got.status is not None:
                span.answered(got.status)
            elif got.failure is not None:
                cause = got.failure.cause
                span.failed(type(cause).__qualname__ if cause is not None else "SendError")
            return got

    async def _send_once(
        self, prepared: _Prepared, *, keep_open: contextlib.AsyncExitStack | None
    ) -> _Attempt:
        """One attempt. A 2xx kept open moves onto ``keep_open``; the rest is read and released."""
        if self.limiter is not None:
            await self.limiter.acquire()  # every attempt, retries and status reads included
        if keep_open is None:
            return await self._send_and_read(prepared)
        attempt = contextlib.AsyncExitStack()
        failure: SendError | None = None
        too_large: AnswerTooLarge | None = None
        try:
            reply = await attempt.enter_async_context(self.sender.send(prepared.request))
            status, headers = reply.status, reply.headers
            # Answers are read with a cap; a streamed 2xx is read by its consumer, uncapped.
            limit = self.limits.answer if status < 300 else self.limits.error_answer
            raw = None if keep_open is not None and status < 300 else await reply.read(limit)
        except SendError as exc:
            failure = exc
        except AnswerTooLarge as exc:
            too_large = exc
        except BaseException:
            await attempt.aclose()
            raise
        if failure is not None:
            await attempt.aclose()
            return _Attempt(prepared, failure=failure)
        if too_large is not None:
            await attempt.aclose()
            return _Attempt(prepared, status, headers, too_large=too_large.limit)
        if raw is None:
            assert keep_open is not None
            keep_open.push_async_exit(attempt)
            return _Attempt(prepared, status, headers, reply=reply)
        await attempt.aclose()
        return _Attempt(prepared, status, headers, raw)

    async def _send_and_read(self, prepared: _Prepared) -> _Attempt:
        """One attempt whose answer is read whole and released (no exit stack: the common
        case, on the path of every submit and status read)."""
        try:
            async with self.sender.send(prepared.request) as reply:
                status, headers = reply.status, reply.headers
                limit = self.limits.answer if status < 300 else self.limits.error_answer
                try:
                    raw = await reply.read(limit)
                except AnswerTooLarge as exc:
                    return _Attempt(prepared, status, headers, too_large=exc.limit)
        except SendError as exc:
            return _Attempt(prepared, failure=exc)
        return _Attempt(prepared, status, headers, raw)

    @staticmethod
    def _retry_after(got: _Attempt) -> float | None:
        return parse_retry_after(got.headers.get("Retry-After")) if got.status else None

    @staticmethod
    def _answered(prepared: _Prepared, status: int, started: float, attempt: int) -> None:
        if logger.isEnabledFor(logging.DEBUG):
            logger.debug(
                "%s %s -> %d in %.1f ms (attempt %d)",
                prepared.route.method,
                prepared.path,
                status,
                (time.monotonic() - started) * 1000,
                attempt,
            )
        if 300 <= status < 400:
            # Redirects are not followed (a POST must not turn into a GET elsewhere),
            # and Privicore documents none.
            raise errors.ProtocolError(
                f"{prepared.route.method} {prepared.path}: unexpected redirect (HTTP {status})"
            )

    @classmethod
    def _log_retry(cls, got: _Attempt, wait: float, attempt: int, attempts: int) -> None:
        route = got.prepared.route
        what = f" -> {got.status}" if got.failure is None else f": {cls._detail(got)}"
        logger.info(
            "%s %s%s, retrying in %.2fs (attempt %d/%d)",
            route.method,
            route.path,
            what,
            wait,
            attempt,
            attempts,
        )

    @staticmethod
    def _detail(got: _Attempt) -> str:
        assert got.failure is not None
        return redact(got.failure.detail, got.prepared.secrets)

    def _note_reachability(self, got: _Attempt) -> None:
        """One WARNING when the server stops answering, one INFO when it answers again."""
        not_sent = got.failure is not None and got.failure.failure is Failure.NOT_SENT
        if not_sent and self._unreachable_since is None:
            self._unreachable_since = time.monotonic()
            logger.warning(
                "the %s host is unreachable (%s); retrying for up to %.0fs per request",
                got.prepared.route.host.value,
                self._detail(got),
                self.retry.max_time,
            )
        elif got.status is not None and self._unreachable_since is not None:
            down = time.monotonic() - self._unreachable_since
            self._unreachable_since = None
            logger.info(
                "the %s host answers again after %.1fs", got.prepared.route.host.value, down
            )

    def _give_up(
        self,
        got: _Attempt,
        attempts: int,
        *,
        reached: bool = True,
        kind: RequestKind | None = None,
    ) -> errors.PrivicoreError:
        prepared = got.prepared
        route = prepared.route
        if got.too_large is not None:
            return errors.ProtocolError(
                f"{route.method} {prepared.path}: the HTTP {got.status} answer is larger than "
                f"{got.too_large} bytes (see Limits)"
            )
        if got.failure is not None:
            detail = self._detail(got)
            if got.failure.failure is Failure.INVALID:
                message = f"{route.method} {route.path}: invalid URL"
                return errors.TransportError(message, may_have_arrived=False)
            if got.failure.failure is Failure.GARBLED:
                # The server answered, just not in HTTP: a protocol violation, not an outage.
                return errors.ProtocolError(f"{route.method} {prepared.path}: {detail}")
            # The tracker reads a status again anyway, and an outage was announced once.
            quiet = kind is RequestKind.STATUS_READ or self._unreachable_since is not None
            logger.log(
                logging.DEBUG
                if kind is RequestKind.STATUS_READ
                else (logging.INFO if quiet else logging.WARNING),
                "%s %s failed after %d attempt(s): %s",
                route.method,
                route.path,
                attempts,
                detail,
            )
            message = f"{route.method} {prepared.path}: {detail}"
            error = _transport_error(got.failure)(message, may_have_arrived=reached)
            if got.failure.cause is not None:
                error.__cause__ = scrubbed(got.failure.cause, prepared.secrets)
                error.__suppress_context__ = True
            return error
        assert got.status is not None
        assert got.raw is not None
        body = decode_body(got.raw, got.headers.get("Content-Type"))
        return self._error(prepared, got.status, body, got.headers)

    @staticmethod
    def _error(
        prepared: _Prepared, status: int, body: Any, headers: Mapping[str, str]
    ) -> errors.APIError:
        common: dict[str, Any] = {
            "request_id": headers.get(REQUEST_ID_HEADER),
            "method": prepared.route.method,
            "path": prepared.path,
        }
        cls = errors.error_for_status(status)
        if issubclass(cls, errors.ValidationError):
            return cls(status, body, errors=parse_validation_errors(body), **common)
        if issubclass(cls, errors.RateLimitError):
            retry_after = parse_retry_after(headers.get("Retry-After"))
            return cls(status, body, retry_after=retry_after, **common)
        return cls(status, body, **common)

    # -- the two ways to call ----------------------------------------------------------------

    async def request(
        self,
        route: Route,
        *,
        credential: Credential = None,
        tokens: CredentialSource | None = None,
        kind: RequestKind | None = None,
        options: RequestOptions | None = None,
        **parts: Unpack[CallParts],
    ) -> WireResponse:
        """Send one call of ``route`` and return its 2xx answer, recovering per the retry table.

        ``credential`` is used as given; without one, a token route takes its token from
        ``tokens`` (and a 401 then gets one fresh token and one replay). ``kind`` overrides
        what the table treats the request as (the tracker's status reads are
        ``RequestKind.STATUS_READ``: one attempt, the tracker reads again later). ``options``
        replace the transport's own for this call. Raises
        :class:`~privicore_async.errors.APIError` subclasses for error statuses and
        :class:`~privicore_async.errors.TransportError` (or a subclass) when no answer came.
        """
        kind = kind or self._kind(route, parts, stream=False)
        got = await self._exchange(
            route, parts, credential, tokens, kind, None, options or self.options
        )
        assert got.status is not None
        assert got.raw is not None
        body = decode_body(got.raw, got.headers.get("Content-Type"))
        return WireResponse(got.status, got.headers, body, got.prepared.route.name, got.raw)

    @contextlib.asynccontextmanager
    async def stream(
        self,
        route: Route,
        *,
        credential: Credential = None,
        tokens: CredentialSource | None = None,
        chunk_size: int = 64 * 1024,
        options: RequestOptions | None = None,
        **parts: Unpack[CallParts],
    ) -> AsyncIterator[AsyncIterator[bytes]]:
        """Send one call of ``route`` and yield the chunks of its 2xx body as they arrive.

        An async context manager: the body is never held whole, and the connection is
        released when the block ends. The same attempt loop as :meth:`request` (error
        statuses, 401 replay), but only a request that failed to *connect* is repeated:
        anything that may have reached the server is final (downloads are single-use). A body
        cut short raises :class:`~privicore_async.errors.TransportError`. ``options`` as for
        :meth:`request`, without their total timeout (a download may rightly take long).
        """
        if chunk_size < 1:
            raise ValueError("chunk_size must be at least 1")
        kind = self._kind(route, parts, stream=True)
        async with contextlib.AsyncExitStack() as stack:
            got = await self._exchange(
                route, parts, credential, tokens, kind, stack, options or self.options
            )
            yield self._chunks(got, chunk_size)

    async def _chunks(self, got: _Attempt, chunk_size: int) -> AsyncIterator[bytes]:
        assert got.reply is not None
        chunks = got.reply.chunks(chunk_size)
        while True:
            failure: SendError | None = None
            try:
                chunk = await anext(chunks)
            except StopAsyncIteration:
                return
            except SendError as exc:
                failure = exc
            if failure is not None:
                raise self._give_up(attrs.evolve(got, failure=failure, status=None), 1)
            yield chunk
