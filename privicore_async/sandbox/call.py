"""What a handler sees: the shared :class:`Context` and one :class:`Call` per request.

:func:`endpoint` turns a handler into an aiohttp handler for one route: it enforces the
route's auth kind from the route table (so no handler can forget it) and turns a
:class:`~.answers.Refusal` into its response.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING

import attrs
from aiohttp import web
from aiohttp.typedefs import Handler as AiohttpHandler

from ..routes import Auth, Route
from ..wire.http import AUTHORIZATION_HEADER
from .answers import Refusal, ShapeCycle, command_accepted, unauthorized
from .config import Settings
from .engine import Command, CommandEngine, Outcome, Rule
from .faults import FaultInjector
from .state import Device, SandboxState, Token
from .stats import SandboxStats
from .validation import FormReader

if TYPE_CHECKING:
    from .ws import WsProxy

__all__ = ["AUTH_HEADER", "Call", "Context", "DeviceRule", "Handler", "endpoint"]

AUTH_HEADER = AUTHORIZATION_HEADER


@attrs.define(eq=False)
class Context:
    """Everything handlers share: one per sandbox."""

    settings: Settings
    state: SandboxState
    engine: CommandEngine
    faults: FaultInjector
    stats: SandboxStats
    id_shapes: ShapeCycle
    status_shapes: ShapeCycle
    channel: WsProxy | None = None  # the WebSocket ack channel, once the sandbox has one
    early_ack_delay: float | None = None  # early acks: settle at once, answer 202 this late


@attrs.define(eq=False)
class Call:
    """One request to one route, after authentication."""

    request: web.Request
    ctx: Context
    route: Route
    token: Token | None  # set for Auth.TOKEN routes, None otherwise

    @property
    def profile_id(self) -> str:
        """The caller's profile (token-auth routes only)."""
        assert self.token is not None, f"{self.route.name} is not a token route"
        return self.token.profile_id

    async def form(self) -> FormReader:
        """The urlencoded body, ready for validated reads."""
        return FormReader(await self.request.post())

    def accept(
        self, rule: Rule, *, shape: str | None = None, target: str | None = None
    ) -> web.Response:
        """Accept a command and answer 202 with its id (``shape`` overrides the configured one).

        ``rule`` runs when the command settles, or never if fault injection loses it;
        ``target`` (a device id) is recorded with the command.
        """
        name = self.route.name
        ctx = self.ctx
        lost = ctx.faults.take_lost(name)
        if lost:
            ctx.stats.faults["lost"] += 1
        profile_id = self.token.profile_id if self.token is not None else None
        early = ctx.early_ack_delay is not None
        command = ctx.engine.accept(
            name, profile_id, rule, lost=lost, latency=0.0 if early else None, target=target
        )
        if ctx.channel is not None:
            ctx.channel.accepted(command)
        return command_accepted(
            command.command_id, shape or ctx.id_shapes.next(), header=ctx.settings.id_header
        )

    def accept_for_device(
        self, identifier: str, rule: DeviceRule, *, shape: str | None = None
    ) -> web.Response:
        """Accept a command about one of the caller's devices.

        On settle an unknown device (or another profile's) is rejected ``device.not_found``;
        otherwise ``rule(device)`` decides.
        """
        state, profile_id = self.ctx.state, self.profile_id

        def on_device(command: Command) -> Outcome:
            device = state.device_of(profile_id, identifier)
            return Outcome.reject("device.not_found") if device is None else rule(device)

        return self.accept(on_device, shape=shape, target=identifier)


DeviceRule = Callable[[Device], Outcome]
"""Decides a device command's outcome once the device is known to exist."""

Handler = Callable[[Call], Awaitable[web.StreamResponse]]
"""A sandbox handler: one per route name."""


def endpoint(route: Route, handler: Handler, ctx: Context) -> AiohttpHandler:
    """The aiohttp handler serving ``route`` with ``handler``."""
    tokens = ctx.state.tokens
    if ctx.early_ack_delay is not None:
        handler = _answer_accepts_late(handler, ctx.early_ack_delay)

    if route.auth is Auth.TOKEN:

        async def authenticated(request: web.Request) -> web.StreamResponse:
            token = tokens.get(request.headers.get(AUTH_HEADER, ""))
            if token is None or not token.valid(time.time()):
                return unauthorized()
            try:
                return await handler(Call(request, ctx, route, token))
            except Refusal as refusal:
                return refusal.response

        return authenticated

    async def public(request: web.Request) -> web.StreamResponse:
        try:
            return await handler(Call(request, ctx, route, None))
        except Refusal as refusal:
            return refusal.response

    return public


def _answer_accepts_late(handler: Handler, delay: float) -> Handler:
    """``handler``, with every 202 held back ``delay`` seconds (so its ack arrives first)."""

    async def late(call: Call) -> web.StreamResponse:
        response = await handler(call)
        if response.status == 202:
            await asyncio.sleep(delay)
        return response

    return late
