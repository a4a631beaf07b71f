"""Answers of the public key group."""

from __future__ import annotations

from typing import Any

import attrs

from .converter import wire_field

__all__ = ["GeneratedKeyPair"]


@attrs.frozen
class GeneratedKeyPair:
    """``GET /generate-keys``: a key pair the *server* generated (wire reference §b row 19).

    ``private_key`` is the X25519 secret key (64 hex chars) and never shows in ``repr``;
    ``public_key`` is the 200-hex signed key (§a10), ready for ``register-public-key``.
    """

    private_key: str = wire_field("private", repr=False)
    public_key: str = wire_field("public")
    extra: dict[str, Any] = attrs.field(factory=dict, repr=False)
