"""Answers of the profile group."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import attrs

__all__ = ["AuthToken", "QrToken"]


@attrs.frozen
class AuthToken:
    """An authorization token and when it stops working (``None`` = the server did not say).

    The token itself never shows in ``repr``.
    """

    authorization_token: str = attrs.field(repr=False)
    expires_at: datetime | None = None
    extra: dict[str, Any] = attrs.field(factory=dict, repr=False)

    def seconds_left(self, now: datetime | None = None) -> float | None:
        """Seconds until ``expires_at`` (negative once past); ``None`` if unknown."""
        if self.expires_at is None:
            return None
        return (self.expires_at - (now or datetime.now(UTC))).total_seconds()


@attrs.frozen
class QrToken:
    """``POST /profile/generate-token-qr``: a short-lived token to show as a QR code.

    The answer's shape is declared ``{qrToken, expiresAt}`` but was never recorded, so both
    fields are optional and anything else is kept in ``extra``. The token never shows in ``repr``.
    """

    qr_token: str | None = attrs.field(default=None, repr=False)
    expires_at: datetime | None = None
    extra: dict[str, Any] = attrs.field(factory=dict, repr=False)
