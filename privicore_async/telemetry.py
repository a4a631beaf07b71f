"""OpenTelemetry spans for requests and commands, when asked for (the ``otel`` extra).

Off by default: ``PrivicoreClient(telemetry=True)`` traces through the global tracer provider,
``PrivicoreClient(telemetry=provider)`` through that one. Only then is ``opentelemetry``
imported; a client without telemetry never loads it and pays one ``is None`` test per request.
The spans (attribute names follow OpenTelemetry's HTTP conventions where there is one):

* one per HTTP request (each attempt is one): kind ``CLIENT``, named ``"{method} {route}"``
  (``"POST devices.approve"``), with ``http.request.method``, ``privicore.route``,
  ``url.template`` (the route's path, never the URL: a query may carry a token),
  ``server.address``, ``http.response.status_code``, ``http.request.resend_count`` (on a
  retry) and ``error.type`` (the status, or the network error's type);
* one per command, from its submission to its settling: named ``"command {route}"``, with
  ``privicore.route``, ``privicore.command.id``, ``privicore.command.polls`` (status reads
  spent), ``privicore.command.settled_by`` (``"ack"`` or ``"poll"``) and
  ``privicore.command.outcome`` (``succeeded``, ``accepted``, ``rejected``, ``timeout``,
  ``not_found``, ``cancelled``, ``closed`` when the client closed first, or ``failed`` when
  the submission itself failed). The submission's request and the command's status reads
  are its children.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Awaitable, Callable, Iterator
from typing import TYPE_CHECKING, Any, Protocol, TypeVar
from urllib.parse import urlsplit

from . import errors
from ._version import __version__

if TYPE_CHECKING:  # the otel extra; imported at run time only when telemetry is on
    from opentelemetry.trace import Span, Tracer, TracerProvider

    from .routes import Route
    from .wire.status import StatusReading


# What telemetry needs of a handle and of a status source, as protocols: this module sits below
# the commands package (the transport uses it), so it names none of its classes.


class _Status(Protocol):
    @property
    def value(self) -> str: ...


class TracedCommand(Protocol):
    """The parts of a :class:`~privicore_async.CommandHandle` a command span reads."""

    @property
    def command_id(self) -> str | None: ...
    @property
    def has_id(self) -> bool: ...
    @property
    def polls(self) -> int: ...
    @property
    def status(self) -> _Status: ...
    def done(self) -> bool: ...
    def exception(self) -> BaseException | None: ...
    def add_done_callback(self, fn: Callable[[Any], object]) -> None: ...


class RetryingSource(Protocol):
    """A status source whose reads may be retried (the commands package's)."""

    async def fetch(self, command_id: str, *, retry: bool = False) -> StatusReading: ...


__all__ = ["CommandSpan", "Telemetry", "TracedStatusSource", "telemetry_from"]

T = TypeVar("T")


def telemetry_from(option: object) -> Telemetry | None:
    """The client's ``telemetry=`` argument made real: ``False`` none, ``True`` the global
    tracer provider, or the ``TracerProvider`` given."""
    if option is False or option is None:
        return None
    if option is not True and not callable(getattr(option, "get_tracer", None)):
        raise errors.InvalidArgumentError("telemetry", "must be True, False or a TracerProvider")
    return Telemetry(None if option is True else option)  # type: ignore[arg-type]


class Telemetry:
    """Makes the SDK's spans with one tracer (see the module docstring)."""

    def __init__(self, tracer_provider: TracerProvider | None = None) -> None:
        try:
            from opentelemetry import context, trace
        except ImportError:
            missing = True
        else:
            missing = False
        if missing:  # raised outside the except block: nothing to chain
            raise errors.InvalidArgumentError(
                "telemetry", "needs opentelemetry-api: pip install 'privicore-async[otel]'"
            )
        self._trace = trace
        self._context = context
        self._tracer: Tracer = trace.get_tracer("privicore_async", __version__, tracer_provider)
        self._commands: dict[str, CommandSpan] = {}  # command id -> the span of its command

    # -- requests ------------------------------------------------------------------------------

    @contextlib.contextmanager
    def request(self, route: Route, url: str, retries: int) -> Iterator[RequestSpan]:
        """The span of one attempt of ``route``, current while the block runs."""
        attributes: dict[str, Any] = {
            "http.request.method": route.method,
            "privicore.route": route.name,
            "url.template": route.path,
        }
        host = urlsplit(url).hostname
        if host:
            attributes["server.address"] = host
        if retries:
            attributes["http.request.resend_count"] = retries
        with self._tracer.start_as_current_span(
            f"{route.method} {route.name}",
            kind=self._trace.SpanKind.CLIENT,
            attributes=attributes,
        ) as span:
            yield RequestSpan(span, self._trace)

    # -- commands ------------------------------------------------------------------------------

    def command(self, kind: str) -> CommandSpan:
        """Open the span of a command of route ``kind`` being submitted."""
        span = self._tracer.start_span(f"command {kind}", attributes={"privicore.route": kind})
        return CommandSpan(self, span)

    def acked(self, command_id: str) -> None:
        """A pushed ack settled ``command_id`` (its span says so when it ends)."""
        span = self._commands.get(command_id)
        if span is not None:
            span.settled_by = "ack"

    @contextlib.contextmanager
    def within(self, command_id: str) -> Iterator[None]:
        """Make the span of ``command_id`` (if traced) the parent of what the block does."""
        span = self._commands.get(command_id)
        if span is None:
            yield
            return
        token = self._context.attach(self._trace.set_span_in_context(span.span))
        try:
            yield
        finally:
            self._context.detach(token)


class RequestSpan:
    """What the transport tells the span of one attempt."""

    __slots__ = ("_span", "_trace")

    def __init__(self, span: Span, trace: Any) -> None:
        self._span = span
        self._trace = trace

    def answered(self, status: int) -> None:
        """The server answered ``status``."""
        self._span.set_attribute("http.response.status_code", status)
        if status >= 400:
            self._span.set_attribute("error.type", str(status))
            self._span.set_status(self._trace.StatusCode.ERROR)

    def failed(self, error_type: str) -> None:
        """No answer came (``error_type``: the network error's type name)."""
        self._span.set_attribute("error.type", error_type)
        self._span.set_status(self._trace.StatusCode.ERROR)


class CommandSpan:
    """The span of one command, from submission (:meth:`Telemetry.command`) to settling."""

    __slots__ = ("_telemetry", "command_id", "settled_by", "span")

    def __init__(self, telemetry: Telemetry, span: Span) -> None:
        self._telemetry = telemetry
        self.span = span
        self.command_id: str | None = None
        self.settled_by: str | None = None

    def around(self, send: Callable[[], Awaitable[T]]) -> Callable[[], Awaitable[T]]:
        """``send`` run with this span current (its request becomes a child)."""
        trace = self._telemetry._trace

        async def traced() -> T:
            with trace.use_span(
                self.span, end_on_exit=False, record_exception=False, set_status_on_exception=False
            ):
                return await send()

        return traced

    def failed(self, exc: BaseException) -> None:
        """The submission failed: the command never started (or is not known to have)."""
        self._end("failed", error_type=type(exc).__qualname__)

    def follow(self, handle: TracedCommand) -> None:
        """The command was accepted as ``handle``: end the span when it settles, fails or is
        cancelled. Call it before anything else runs on the loop (an ack may come next)."""
        command_id = self.command_id = handle.command_id if handle.has_id else None
        if command_id is not None:
            self.span.set_attribute("privicore.command.id", command_id)
            if handle.done():
                self.settled_by = "ack"  # settled before its first read: its ack beat the 202
            else:
                self._telemetry._commands[command_id] = self
        handle.add_done_callback(self._settled)

    def _settled(self, handle: TracedCommand) -> None:
        if self.command_id is not None:
            self._telemetry._commands.pop(self.command_id, None)
        self.span.set_attribute("privicore.command.polls", handle.polls)
        error = handle.exception()
        if isinstance(error, errors.ClientClosedError):
            self._end("closed")
        elif isinstance(error, asyncio.CancelledError):
            self._end("cancelled")
        elif error is None:
            self._end(handle.status.value, settled=True)
        elif isinstance(error, errors.CommandRejected):
            self._end("rejected", settled=True, error_type="CommandRejected")
        elif isinstance(error, errors.CommandTimeout):
            self._end("timeout", error_type="CommandTimeout")
        elif isinstance(error, errors.CommandNotFound):
            self._end("not_found", error_type="CommandNotFound")
        else:
            self._end("failed", error_type=type(error).__qualname__)

    def _end(self, outcome: str, *, settled: bool = False, error_type: str | None = None) -> None:
        span = self.span
        span.set_attribute("privicore.command.outcome", outcome)
        if settled and self.command_id is not None:
            span.set_attribute("privicore.command.settled_by", self.settled_by or "poll")
        if error_type is not None:
            span.set_attribute("error.type", error_type)
            span.set_status(self._telemetry._trace.StatusCode.ERROR)
        span.end()


class TracedStatusSource:
    """A status source whose reads run under their command's span (see :class:`Telemetry`)."""

    def __init__(self, inner: RetryingSource, telemetry: Telemetry) -> None:
        self.inner = inner
        """The source read from."""
        self._telemetry = telemetry

    async def fetch(self, command_id: str, *, retry: bool = False) -> StatusReading:
        """The inner source's read, as a child of the command's span."""
        with self._telemetry.within(command_id):
            return await self.inner.fetch(command_id, retry=retry)
