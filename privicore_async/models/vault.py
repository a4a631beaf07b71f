"""Results of the vault's encrypted store flows."""

from __future__ import annotations

import enum
from collections.abc import AsyncIterable
from os import PathLike
from typing import Any, BinaryIO

import attrs

from ..vault import DataKey

__all__ = ["StoreMethod", "StoreOutcome", "StoreReport", "StoreRequest", "StoredData"]

Source = bytes | str | PathLike[str] | BinaryIO | AsyncIterable[bytes]
"""What can be stored: bytes, a file path, a binary file object, or an async iterator."""


class StoreMethod(enum.Enum):
    """How the ciphertext reached Privicore."""

    EXCHANGE = "exchange"  # base64 in exchange-data-for-token (small payloads)
    UPLOAD = "upload"  # raw bytes streamed to the upstream host (large payloads)


@attrs.frozen
class StoredData:
    """A payload stored through :meth:`~privicore_async.resources.vault.Vault.store`.

    ``token`` is the permanent ``dtk-`` token to keep (with the key) to read the data back.
    """

    token: str
    size: int
    """Plaintext bytes."""
    context: str
    file_name: str
    extension: str
    path: str
    method: StoreMethod


@attrs.frozen
class StoreRequest:
    """One item of :meth:`~privicore_async.resources.vault.Vault.store_many`."""

    data: Source = attrs.field(repr=False)
    key: DataKey
    context: str
    file_name: str
    extension: str | None = None
    path: str = "/"
    ttl: int | None = None


@attrs.frozen
class StoreOutcome:
    """One item's line in a :class:`StoreReport`: ``stored`` or ``error``, never both."""

    index: int
    file_name: str
    stored: StoredData | None = None
    error: BaseException | None = attrs.field(default=None, eq=False)

    @property
    def ok(self) -> bool:
        """True when the item was stored."""
        return self.stored is not None


@attrs.frozen
class StoreReport:
    """Per-item outcomes of ``store_many``, in input order."""

    outcomes: tuple[StoreOutcome, ...]
    elapsed: float

    @property
    def stored(self) -> list[StoredData]:
        """The items that were stored."""
        return [line.stored for line in self.outcomes if line.stored is not None]

    @property
    def failed(self) -> list[StoreOutcome]:
        """The items that were not, with their errors."""
        return [line for line in self.outcomes if line.stored is None]

    def counts(self) -> dict[str, Any]:
        """``{"stored": n, "failed": m}``."""
        return {"stored": len(self.stored), "failed": len(self.failed)}
