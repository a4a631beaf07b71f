"""How the sandbox puts answers on the wire: JSON bodies, error bodies, command-id shapes.

A command id goes out in the body in one of the forms of wire reference §a4 (by default a bare
JSON string, as the real server answers, §a4b), and in the ``x-dpt-cab-id`` header when the
shape is ``"header"`` or the header is switched on; status answers use the forms of §a5 (by
default a bare status word). ``"mixed"`` rotates through the forms deterministically so a
client meets all of them.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime

from aiohttp import web

from ..wire.http import COMMAND_ID_HEADER
from .config import ID_SHAPES, STATUS_SHAPES
from .engine import Command

__all__ = [
    "Refusal",
    "ShapeCycle",
    "command_accepted",
    "command_status",
    "id_shapes",
    "iso_time",
    "json_answer",
    "message",
    "not_found",
    "status_shapes",
    "unauthorized",
    "validation_failed",
]

_JSON = "application/json"


class Refusal(Exception):
    """Raised by a handler (or a helper it calls) to answer with an error response at once."""

    def __init__(self, response: web.Response) -> None:
        super().__init__(response.status)
        self.response = response


def iso_time(timestamp: float) -> str:
    """ISO-8601 with a numeric offset, as Privicore writes it: ``2026-02-21T15:33:44+00:00``."""
    return datetime.fromtimestamp(timestamp, UTC).isoformat(timespec="seconds")


def json_answer(value: object, status: int = 200) -> web.Response:
    """``value`` as an ``application/json`` body."""
    return web.Response(status=status, text=json.dumps(value), content_type=_JSON)


def message(status: int, text: str) -> web.Response:
    """The ``{"message": ...}`` error body every Privicore error status carries."""
    return json_answer({"message": text}, status)


def unauthorized() -> web.Response:
    """401: missing, unknown, revoked or expired token; bad credentials."""
    return message(401, "Unauthorized")


def not_found() -> web.Response:
    """404: the record does not exist or belongs to someone else."""
    return message(404, "Record not found")


def validation_failed(errors: dict[str, list[str]]) -> web.Response:
    """422 with the violations per wire field name."""
    return json_answer({"message": "Validation failed", "errors": errors}, 422)


class ShapeCycle:
    """Picks the answer shape: always the configured one, or the next in rotation for "mixed"."""

    def __init__(self, shape: str, rotation: tuple[str, ...]) -> None:
        self._fixed = None if shape == "mixed" else shape
        self._rotation = rotation
        self._turn = 0

    def next(self) -> str:
        """The shape for the next answer."""
        if self._fixed is not None:
            return self._fixed
        shape = self._rotation[self._turn % len(self._rotation)]
        self._turn += 1
        return shape


def id_shapes(shape: str) -> ShapeCycle:
    """The cycle of command-id shapes for a configured ``id_shape``."""
    return ShapeCycle(shape, ID_SHAPES)


def status_shapes(shape: str) -> ShapeCycle:
    """The cycle of status-answer shapes for a configured ``status_shape``."""
    return ShapeCycle(shape, STATUS_SHAPES)


def command_accepted(command_id: str, shape: str, *, header: bool = False) -> web.Response:
    """The 202 of an accepted command: the id in the body per ``shape`` (``"header"``: only in
    the ``x-dpt-cab-id`` header, empty body), and also in that header when ``header``."""
    headers = {COMMAND_ID_HEADER: command_id} if header or shape == "header" else {}
    if shape == "header":
        return web.Response(status=202, headers=headers)
    if shape == "text":
        return web.Response(status=202, text=command_id, headers=headers)
    if shape == "json-string":
        body = f'"{command_id}"'  # ids are uuid4 text: nothing to escape
    elif shape == "array":
        body = f'["{command_id}"]'
    else:
        body = json.dumps({"commandId": command_id})
    return web.Response(status=202, text=body, content_type=_JSON, headers=headers)


def command_status(command: Command, shape: str) -> web.Response:
    """The answer of ``/request-status/{commandId}`` in ``shape``."""
    state = command.state
    if shape == "string":
        value: object = state.word
    elif shape == "array":
        value = [state.word]
    else:
        value = {
            "commandId": command.command_id,
            "command_status": int(state),
            "body": command.body,
        }
    return json_answer(value)
