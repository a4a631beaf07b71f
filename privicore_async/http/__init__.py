"""The HTTP layer: a sender that moves bytes, one retry table, and the transport between them.

:mod:`.sender` the seam (``Sender``: send one prepared request, open a WebSocket),
:mod:`.aiohttp_sender` the real sender (the only module that touches aiohttp's client),
:mod:`.memory` senders for tests, :mod:`.retry` the one retry and recovery table,
:mod:`.options` what a request is sent with (timeouts, retry policy, extra headers),
:mod:`.redact` secrets out of texts and exceptions,
:mod:`.transport` routes onto the wire with one attempt loop.
"""

from .aiohttp_sender import USER_AGENT, AiohttpSender
from .memory import MemoryReply, MemorySender, MemorySocket, RecordingSender
from .options import RequestOptions
from .retry import Action, RequestKind, RetryPolicy, decide
from .sender import AnswerTooLarge, Failure, Limits, PreparedRequest, Sender, SendError, Timeouts
from .transport import CallParts, Credential, CredentialSource, Transport, WireResponse

__all__ = [
    "Action",
    "AnswerTooLarge",
    "AiohttpSender",
    "CallParts",
    "Credential",
    "CredentialSource",
    "Failure",
    "Limits",
    "MemoryReply",
    "MemorySender",
    "MemorySocket",
    "PreparedRequest",
    "RecordingSender",
    "RequestKind",
    "RequestOptions",
    "RetryPolicy",
    "SendError",
    "Sender",
    "Timeouts",
    "Transport",
    "USER_AGENT",
    "WireResponse",
    "decide",
]
