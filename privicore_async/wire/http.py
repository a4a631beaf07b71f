"""Sans-IO readers of Privicore's HTTP answers (wire reference §a4, §a5, §a7, §a8).

Pure functions over already-decoded bodies and header mappings: no I/O and no aiohttp, so
they are trivially testable and fuzzable. Every shape the reference lists is accepted; a value
it does not allow raises :class:`~privicore_async.errors.ProtocolError` naming the value.
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Mapping
from typing import Any

from ..errors import ProtocolError
from ..models.converter import structure
from ..models.profile import AuthToken
from .status import StatusReading, status_from_word

__all__ = [
    "AUTHORIZATION_HEADER",
    "MAX_ID_LENGTH",
    "COMMAND_ID_HEADER",
    "REQUEST_ID_HEADER",
    "checked_id",
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
    except RecursionError:
        pass  # raised below, outside the handler: a deep stack is no context to keep
    raise ProtocolError("the answer is JSON nested too deeply to read")


MAX_ID_LENGTH = 256
_ASCII_ID = re.compile(r"[!-~]{1,256}")  # the usual case, checked in one step


def checked_id(value: str, what: str) -> str:
    """``value`` if it can be an id: 1-256 printable characters, no whitespace or control
    character, no U+FFFD (what invalid UTF-8 decodes to). Otherwise a ProtocolError that
    does not quote the value (it may be a page, a megabyte, or forged log lines)."""
    if _ASCII_ID.fullmatch(value) or (
        0 < len(value) <= MAX_ID_LENGTH
        and "\ufffd" not in value
        and all(ch.isprintable() and not ch.isspace() for ch in value)
    ):
        return value
    raise ProtocolError(
        f"{what}: not an id ({len(value)} characters; an id is 1 to {MAX_ID_LENGTH} printable "
        "characters with no whitespace)"
    )


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
    found: str | None = None
    if isinstance(body, str):
        found = body.strip().strip('"').strip() or None
    elif isinstance(body, list):
        if len(body) == 1 and isinstance(body[0], str) and body[0].strip():
            found = body[0].strip()
        elif body:
            raise ProtocolError(f"command id: expected a one-element array, got {body!r:.80}")
    elif isinstance(body, dict):
        value = body.get("commandId")
        if isinstance(value, str) and value.strip():
            found = value.strip()
        elif body and not _header(headers, COMMAND_ID_HEADER):
            raise ProtocolError(f"command id: no commandId in {body!r:.80}")
    elif body is not None:
        raise ProtocolError(f"command id: unexpected body {body!r:.80}")
    if found is None:
        found = _header(headers, COMMAND_ID_HEADER)
    return None if found is None else checked_id(found, "command id")


def extract_request_id(headers: Mapping[str, str]) -> str | None:
    """The ``x-dpt-cab-request-id`` header (the WebSocket correlator of data requests)."""
    found = _header(headers, REQUEST_ID_HEADER)
    return None if found is None else checked_id(found, "request id")


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
    try:
        return _validation_errors(body)
    except RecursionError:  # a hostile body nested past reading: say so, do not crash
        return {"": ["the validation errors are nested too deeply to read"]}


def _validation_errors(body: Any) -> dict[str, list[str]]:
    result: dict[str, list[str]] = {}

    def add(field: str, messages: list[str]) -> None:
        if messages:
            result.setdefault(field, []).extend(messages)

    if isinstance(body, dict):
        nested = next((body[k] for k in ("errors", "violations", "fields") if body.get(k)), None)
        if nested is not None:
            found = _validation_errors(nested)
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
        token = AuthToken(body.strip())
    else:
        token = structure(body, AuthToken, endpoint=endpoint)
    value = token.authorization_token
    # It goes into a header verbatim: whitespace or a control character would break (or
    # forge) the request. The message never shows the value.
    if not value.strip() or any(ch.isspace() or not ch.isprintable() for ch in value):
        raise ProtocolError(f"{endpoint}: the authorizationToken is blank or not a token")
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
