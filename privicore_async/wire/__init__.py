"""Sans-IO wire modules: what Privicore's bytes mean, with no I/O (client and sandbox share them).

:mod:`.status` the command states and their one code table, :mod:`.http` the HTTP answers
(command ids, statuses, tokens, validation errors), :mod:`.ws` the WebSocket frames,
:mod:`.signed_key` the signed public-key format. The route table is :mod:`privicore_async.routes`.
"""

from .status import CommandStatus, StatusReading

__all__ = ["CommandStatus", "StatusReading"]
