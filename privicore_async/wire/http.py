"""Sans-IO readers of Privicore's HTTP answers (wire reference §a4, §a5, §a7, §a8).

Pure functions over already-decoded bodies and header mappings: no I/O and no aiohttp, so
they are trivially testable and fuzzable. Every shape the reference lists is accepted; a value
it does not allow raises :class:`~privicore_async.errors.ProtocolError` naming the value.
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping
from typing import Any

from ..errors import ProtocolError
from ..models.converter import structure
from ..models.profile import AuthToken
from .status import StatusReading, status_from_word

__all__ = [
    "AUTHORIZATION_HEADER",
    "COMMAND_ID_HEADER",
    "REQUEST_ID_HEADER",
    "decode_body",
    "extract_command_id",
    "extract_request_id",
    "parse_command_status",
    "parse_retry_after",
    "parse_token",
    "parse_validation_errors",
]

AUTHORIZATION_HEADER = "X-DPT-AUTHORIZATION"  # raw token, no "Bearer " prefix (§a2)
COMMAND_ID_HEADER = "x-dpt-cab-id"
REQUEST_ID_HEADER = "x-dpt-cab-request-id"


def decode_body(raw: bytes, content_type: str | None = None) -> Any:
    """JSON if the bytes parse as JSON, else the text; ``None`` for an empty body.

    The content type is not trusted: the probes show JSON sent as text and bare ids sent
    without quotes, so parsing is attempted whatever the header says.
    """
    del content_type  # kept in the signature for callers that have it; never trusted
    if not raw or not raw.strip():
        return None
    text = raw.decode("utf-8", errors="replace")
    try:
        return json.loads(text)
    except ValueError:
        return text


def _header(headers: Mapping[str, str], name: str) -> str | None:
    value = headers.get(name)
    if value is None:
        # Plain dicts are case-sensitive; aiohttp's CIMultiDict is not. Support both.
        lowered = name.lower()
        for key, candidate in headers.items():
            if key.lower() == lowered:
                value = candidate
                break
    if value is None:
        return None
    value = value.strip()
    return value or None


def extract_command_id(body: Any, headers: Mapping[str, str]) -> str | None:
    """The command id of a 202, from any shape of §a4; ``None`` when there is none.

    Body shapes: a JSON string, unquoted text, a one-element array, ``{"commandId": ...}``;
    then the ``x-dpt-cab-id`` header in any case. A body of another shape is a ProtocolError.
    """
    if isinstance(body, str):
        text = body.strip().strip('"').strip()
        if text:
            return text
    elif isinstance(body, list):
        if len(body) == 1 and isinstance(body[0], str) and body[0].strip():
            return body[0].strip()
        if body:
            raise ProtocolError(f"command id: expected a one-element array, got {body!r:.80}")
    elif isinstance(body, dict):
        value = body.get("commandId")
        if isinstance(value, str) and value.strip():
            return value.strip()
        if body and not _header(headers, COMMAND_ID_HEADER):
            raise ProtocolError(f"command id: no commandId in {body!r:.80}")
    elif body is not None:
        raise ProtocolError(f"command id: unexpected body {body!r:.80}")
    return _header(headers, COMMAND_ID_HEADER)


def extract_request_id(headers: Mapping[str, str]) -> str | None:
    """The ``x-dpt-cab-request-id`` header (the WebSocket correlator of data requests)."""
    return _header(headers, REQUEST_ID_HEADER)


def parse_command_status(body: Any) -> StatusReading:
    """Read a command-status answer in any shape of §a5.

    ``"started"`` / ``["started"]`` (and the other words), or
    ``{"command_status": 1|2|3, "body": ...}``. Unknown values raise ProtocolError.
    """
    if isinstance(body, list):
        if len(body) != 1:
            raise ProtocolError(f"command status: expected one element, got {body!r:.80}")
        body = body[0]
    if isinstance(body, dict):
        for key in ("command_status", "commandStatus", "status"):
            if key in body:
                return StatusReading(status_from_word(body[key]), body.get("body"))
        raise ProtocolError(f"command status: no command_status in {body!r:.80}")
    return StatusReading(status_from_word(body))


def _messages(value: Any) -> list[str]:
    if value is None:
        return []
    if isinstance(value, str):
        return [value]
    if isinstance(value, list):
        return [m for item in value for m in _messages(item)]
    if isinstance(value, dict):
        for key in ("message", "messages", "error", "errors", "title", "detail"):
            if key in value:
                return _messages(value[key])
        return [json.dumps(value, sort_keys=True)]
    return [str(value)]


_NESTED_KEYS = ("errors", "violations", "fields")
_FIELD_KEYS = ("field", "property", "propertyPath", "property_path", "path", "name", "parameter")


def parse_validation_errors(body: Any) -> dict[str, list[str]]:
    """``ValidationErrors`` bodies into ``{wire field: [messages]}``, whatever their shape.

    The schema is named in the seed but its shape was never recorded (§a8), so this accepts an
    object of fields (optionally under ``errors``/``violations``), a list of
    ``{field, message}`` items, a list of strings, or a plain message. Messages with no field
    go under ``""``. Never raises.
    """
    result: dict[str, list[str]] = {}

    def add(field: str, messages: list[str]) -> None:
        if messages:
            result.setdefault(field, []).extend(messages)

    if isinstance(body, dict):
        nested = next((body[k] for k in ("errors", "violations", "fields") if body.get(k)), None)
        if nested is not None:
            found = parse_validation_errors(nested)
            if not found:
                outer = _messages({k: v for k, v in body.items() if k not in _NESTED_KEYS})
                found = {"": outer} if outer else {}
            return found
        for key, value in body.items():
            if key in ("message", "title", "detail", "status", "code", "type"):
                continue
            add(str(key), _messages(value))
        if not result:
            add("", _messages(body.get("message") or body.get("title") or body.get("detail")))
    elif isinstance(body, list):
        for item in body:
            if isinstance(item, dict):
                field = next((str(item[k] or "") for k in _FIELD_KEYS if k in item), "")
                if field or any(k in item for k in ("message", "messages", "error")):
                    add(field, _messages({k: v for k, v in item.items() if k not in _FIELD_KEYS}))
                else:
                    for key, value in item.items():
                        add(str(key), _messages(value))
            else:
                add("", _messages(item))
    else:
        add("", _messages(body))
    return result


def parse_token(body: Any, *, endpoint: str) -> AuthToken:
    """An :class:`AuthToken` from ``{authorizationToken, expiresAt}`` (or a bare token string)."""
    if isinstance(body, str) and body.strip():
        return AuthToken(body.strip())
    token = structure(body, AuthToken, endpoint=endpoint)
    if not token.authorization_token.strip():
        raise ProtocolError(f"{endpoint}: blank authorizationToken")
    return token


def parse_retry_after(value: str | None, *, now: float | None = None) -> float | None:
    """Seconds to wait from a ``Retry-After`` header: delta-seconds or an HTTP date."""
    if value is None or not value.strip():
        return None
    value = value.strip()
    try:
        seconds = float(value)
    except ValueError:
        from email.utils import parsedate_to_datetime

        try:
            when = parsedate_to_datetime(value)
        except (TypeError, ValueError):
            return None
        import time

        seconds = when.timestamp() - (time.time() if now is None else now)
    if not math.isfinite(seconds):
        return None
    return max(0.0, seconds)
