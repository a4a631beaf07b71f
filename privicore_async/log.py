"""The SDK's loggers, and the ``PRIVICORE_LOG`` switch that shows them without any setup.

Every logger is a child of ``privicore_async``: ``privicore_async.transport`` (requests,
retries, outages), ``privicore_async.acks`` (the WebSocket ack channel) and
``privicore_async.commands`` (tracking); configure the parent to see them all. No record
carries a credential (CONTRIBUTING, "Secrets").

``PRIVICORE_LOG=debug`` (or ``info``, ``warning``, ``error``), read when a client is built,
sets the ``privicore_async`` logger to that level unless the application set one, and gives
it a handler that writes to stderr unless some handler would already show its records.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping

from .errors import InvalidArgumentError

__all__ = ["LOGGER", "LOG_VARIABLE", "configure_from_env"]

LOGGER = "privicore_async"
"""The name of the parent of the SDK's loggers."""

LOG_VARIABLE = "PRIVICORE_LOG"

_LEVELS = {
    "debug": logging.DEBUG,
    "info": logging.INFO,
    "warning": logging.WARNING,
    "error": logging.ERROR,
}


def configure_from_env(env: Mapping[str, str]) -> None:
    """Apply ``PRIVICORE_LOG`` from ``env`` (see the module docstring); idempotent.

    An unknown level raises :class:`~privicore_async.errors.InvalidArgumentError`: a typo
    must not silently leave the logs off.
    """
    value = env.get(LOG_VARIABLE, "").strip().lower()
    if not value:
        return
    level = _LEVELS.get(value)
    if level is None:
        raise InvalidArgumentError(LOG_VARIABLE, f"must be one of {', '.join(_LEVELS)}")
    logger = logging.getLogger(LOGGER)
    if logger.level == logging.NOTSET:  # the application's own choice wins
        logger.setLevel(level)
    if not logger.hasHandlers():  # nothing would show the records: write them to stderr
        handler = logging.StreamHandler()
        handler.setFormatter(logging.Formatter("%(asctime)s %(name)s %(levelname)s %(message)s"))
        logger.addHandler(handler)
