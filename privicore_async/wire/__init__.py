"""Sans-IO wire modules: what Privicore's bytes mean, with no I/O (client and sandbox share them).

:mod:`.status` the command states and their one code table, :mod:`.http` the HTTP answers
(command ids, statuses, tokens, validation errors), :mod:`.ws` the WebSocket frames,
:mod:`.signed_key` the signed public-key format. The route table is :mod:`privicore_async.routes`.
"""

from .http import (
    AUTHORIZATION_HEADER,
    COMMAND_ID_HEADER,
    REQUEST_ID_HEADER,
    decode_body,
    extract_command_id,
    extract_request_id,
    parse_command_status,
    parse_retry_after,
    parse_token,
    parse_validation_errors,
)
from .status import CommandStatus, StatusReading

__all__ = [
    "AUTHORIZATION_HEADER",
    "COMMAND_ID_HEADER",
    "REQUEST_ID_HEADER",
    "CommandStatus",
    "StatusReading",
    "decode_body",
    "extract_command_id",
    "extract_request_id",
    "parse_command_status",
    "parse_retry_after",
    "parse_token",
    "parse_validation_errors",
]
