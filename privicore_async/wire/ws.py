"""The WebSocket frames of wire reference §a6, read and written with no I/O.

A client sends ``{"action": "joinChannel", "data": {"authorizationToken": ...},
"correlationId": ...}`` and is answered ``{"correlationId", "status": 200, "data":
{"channelId", "message"}}``. From then on the server sends ``{"data": {...}}`` messages,
told apart by ``data.type``: ``X-DPT-CAB-ID`` (a command's ``command_status``),
``X-DPT-CAB-REQUEST-ID`` (the answer of a data request) and ``STREAM-READY``. Anything else
(keep-alives, telemetry) is not for the SDK.

Both sides import this module: the ack channel reads what the sandbox writes with it.
"""

from __future__ import annotations

import enum
import json
from typing import Any

import attrs

from .status import STATUS_CODE, CommandStatus, status_from_code

__all__ = [
    "COMMAND_ACK",
    "JOIN_ACTION",
    "JOINED_MESSAGE",
    "KEEP_ALIVE_FRAME",
    "LEAVE_ACTION",
    "LEFT_MESSAGE",
    "REQUEST_ANSWER",
    "STREAM_READY",
    "Ack",
    "ClientFrame",
    "JoinAnswer",
    "RequestMessage",
    "ack_frame",
    "join_frame",
    "load_frame",
    "read_client_frame",
    "read_join_answer",
    "read_message",
    "reply_frame",
    "request_frame",
    "stream_ready_frame",
]

JOIN_ACTION = "joinChannel"
LEAVE_ACTION = "leaveChannel"
COMMAND_ACK = "X-DPT-CAB-ID"
REQUEST_ANSWER = "X-DPT-CAB-REQUEST-ID"
STREAM_READY = "STREAM-READY"
JOINED_MESSAGE = "Successfully joined profile channel."
LEFT_MESSAGE = "Successfully left profile channel."
KEEP_ALIVE_FRAME = json.dumps({"data": {"type": "keep-alive"}})


def load_frame(text: str) -> Any:
    """The JSON of a text frame, or ``None`` when it is not JSON (it is then not for us)."""
    try:
        return json.loads(text)
    except (ValueError, RecursionError):
        return None


# -- client → server ---------------------------------------------------------------------------


def join_frame(token: str, correlation_id: str) -> str:
    """The ``joinChannel`` frame. It carries the token: never log it."""
    return json.dumps(
        {
            "action": JOIN_ACTION,
            "data": {"authorizationToken": token},
            "correlationId": correlation_id,
        }
    )


@attrs.frozen
class ClientFrame:
    """A frame a client sent: its action, data and correlation id (any JSON type)."""

    action: object
    data: object = attrs.field(repr=False)  # a join carries the token
    correlation_id: object = None

    @property
    def token(self) -> str | None:
        """The ``authorizationToken`` of a join, if it is text."""
        value = self.data.get("authorizationToken") if isinstance(self.data, dict) else None
        return value if isinstance(value, str) else None


def read_client_frame(text: str) -> ClientFrame | str:
    """The frame a client sent, or the reason it is not one (for a 400 reply)."""
    payload = load_frame(text)
    if payload is None:
        return "Malformed JSON."
    if not isinstance(payload, dict):
        return "Expected a JSON object."
    return ClientFrame(payload.get("action"), payload.get("data"), payload.get("correlationId"))


# -- server → client ---------------------------------------------------------------------------


def reply_frame(correlation_id: object, status: int, data: dict[str, Any]) -> str:
    """The answer to a client's frame (a join, a leave, or a refusal)."""
    answer: dict[str, Any] = {}
    if correlation_id is not None:
        answer["correlationId"] = correlation_id
    answer["status"] = status
    answer["data"] = data
    return json.dumps(answer)


def ack_frame(command_id: str, status: CommandStatus, body: object = None) -> str:
    """An ``X-DPT-CAB-ID`` message: a command's state (a progress ack carries no body)."""
    ack = {
        "type": COMMAND_ACK,
        "id": command_id,
        "command_status": STATUS_CODE[status],
        "body": None if status is CommandStatus.PENDING else body,
    }
    return json.dumps({"data": ack})


def request_frame(request_id: str, output_type: int, body: object, data_context: str | None) -> str:
    """An ``X-DPT-CAB-REQUEST-ID`` message: the answer of a data request."""
    message = {
        "type": REQUEST_ANSWER,
        "id": request_id,
        "output_type": output_type,
        "body": body,
        "data_context": data_context,
    }
    return json.dumps({"data": message})


def stream_ready_frame(request_id: str, stream_url: str) -> str:
    """A ``STREAM-READY`` message (the id under both names the sources use)."""
    ready = {"type": STREAM_READY, "id": request_id, "requestId": request_id}
    return json.dumps({"data": {**ready, "streamUrl": stream_url}})


# -- what a client reads -----------------------------------------------------------------------


class JoinAnswer(enum.Enum):
    """How a frame received while joining reads."""

    JOINED = "joined"  # status 200 with a channelId
    REFUSED = "refused"  # status 401: the token was not accepted
    OTHER = "other"  # anything else (a keep-alive, say): not the answer


def read_join_answer(payload: Any) -> JoinAnswer:
    """Whether ``payload`` (a decoded frame) answers the join, and how."""
    if not isinstance(payload, dict):
        return JoinAnswer.OTHER
    data, status = payload.get("data"), payload.get("status")
    if status == 200 and isinstance(data, dict) and data.get("channelId"):
        return JoinAnswer.JOINED
    if status == 401:
        return JoinAnswer.REFUSED
    return JoinAnswer.OTHER


@attrs.frozen
class Ack:
    """An ``X-DPT-CAB-ID`` message: the state of ``command_id`` (``PENDING`` for progress)."""

    command_id: str
    status: CommandStatus
    body: Any = attrs.field(default=None, repr=False)


@attrs.frozen
class RequestMessage:
    """One ``X-DPT-CAB-REQUEST-ID`` or ``STREAM-READY`` message for a data request.

    ``body`` may hold a downstream token or inline ciphertext, so it never shows in ``repr``.
    """

    type: str
    request_id: str
    output_type: int | None = None
    body: Any = attrs.field(default=None, repr=False)
    data_context: str | None = None
    stream_url: str | None = attrs.field(default=None, repr=False)


def read_message(payload: Any) -> Ack | RequestMessage | None:
    """The message in a decoded ``{"data": {...}}`` frame; ``None`` when it is not for us."""
    data = payload.get("data") if isinstance(payload, dict) else None
    if not isinstance(data, dict):
        return None
    kind = data.get("type")
    if kind == COMMAND_ACK:
        command_id, status = data.get("id"), status_from_code(data.get("command_status"))
        if not isinstance(command_id, str) or status is None:
            return None
        return Ack(command_id, status, data.get("body"))
    if kind in (REQUEST_ANSWER, STREAM_READY):
        request_id = data.get("id") or data.get("requestId")
        if not isinstance(request_id, str):
            return None
        output_type, context = data.get("output_type"), data.get("data_context")
        stream_url = data.get("streamUrl")
        return RequestMessage(
            str(kind),
            request_id,
            output_type if isinstance(output_type, int) else None,
            data.get("body"),
            context if isinstance(context, str) else None,
            stream_url if isinstance(stream_url, str) else None,
        )
    return None
