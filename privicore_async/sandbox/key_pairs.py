"""X25519 key pairs made by the sandbox: ``/generate-keys`` answers and the CAB's own key."""

from __future__ import annotations

from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PrivateKey

from ..wire.signed_key import sign_public_key

__all__ = ["generate_key_pair"]


def generate_key_pair() -> tuple[str, str]:
    """A fresh X25519 pair: (private key as 64 hex, signed public key as 200 hex)."""
    private = X25519PrivateKey.generate()
    return private.private_bytes_raw().hex(), sign_public_key(
        private.public_key().public_bytes_raw()
    )
