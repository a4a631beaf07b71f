"""The HTTP layer: a sender that moves bytes, one retry table, and the transport between them.

:mod:`.sender` the seam (``Sender``: send one prepared request, open a WebSocket),
:mod:`.aiohttp_sender` the real sender (the only module that touches aiohttp's client),
:mod:`.memory` senders for tests, :mod:`.retry` the one retry and recovery table,
:mod:`.transport` routes onto the wire with one attempt loop.
"""

from .aiohttp_sender import AiohttpSender
from .memory import MemoryReply, MemorySender, MemorySocket, RecordingSender
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
    "RetryPolicy",
    "SendError",
    "Sender",
    "Timeouts",
    "Transport",
    "WireResponse",
    "decide",
]
