"""Utility group: health and the command-status endpoint (wire reference §b rows 1-2)."""

from __future__ import annotations

from collections.abc import Mapping

from aiohttp import web

from ..answers import command_status, json_answer, not_found
from ..call import Call, Handler

__all__ = ["HANDLERS"]


async def health(call: Call) -> web.StreamResponse:
    """``GET /health``: always ok while the sandbox runs."""
    return json_answer({"status": "ok"})


async def request_status(call: Call) -> web.StreamResponse:
    """``/request-status/{commandId}`` (POST or GET): the command's state, in the configured shape.

    Not scoped to a profile and needs no token: the register-profile flow polls it before any
    token exists (§c1).
    """
    ctx = call.ctx
    ctx.stats.status_requests += 1
    command = ctx.state.commands.get(call.request.match_info["commandId"])
    if command is None:
        return not_found()
    return command_status(command, ctx.status_shapes.next())


HANDLERS: Mapping[str, Handler] = {
    "utility.health": health,
    "utility.command_status": request_status,
}
