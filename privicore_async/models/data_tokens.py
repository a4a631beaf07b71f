"""Answers of the data token group (wire reference §b rows 23-33, §c4, §c5).

Temporary tokens and stream auth tokens are single-use credentials: they never show in a
``repr``. Permanent ``dtk-`` tokens are handles that still need the profile's token to be
used, so they stay visible (a listing you cannot read would help nobody).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

import attrs

__all__ = ["DataToken", "DataTokenPage", "PageMeta", "TemporaryToken"]


@attrs.frozen
class TemporaryToken:
    """``retrieve-temporary-data-token``: the ``tmp-`` token of a reserved space.

    ``stream`` is the single-use upstream auth token (or a full upstream URL carrying it);
    ``None`` when the server answered with the bare token only.
    """

    token: str = attrs.field(repr=False)
    stream: str | None = attrs.field(default=None, repr=False)
    extra: dict[str, Any] = attrs.field(factory=dict, repr=False)


@attrs.frozen
class DataToken:
    """One permanent data token and its file metadata (``list-data-tokens`` items)."""

    token: str
    context: str | None = None
    file_name: str | None = None
    extension: str | None = None
    size: int | None = None
    path: str | None = None
    created_at: datetime | None = None
    extra: dict[str, Any] = attrs.field(factory=dict)


@attrs.frozen
class PageMeta:
    """The ``meta`` of a listing: total ``count`` and the page that was served."""

    count: int | None = None
    page: int | None = None
    per_page: int | None = None
    extra: dict[str, Any] = attrs.field(factory=dict)


@attrs.frozen
class DataTokenPage:
    """One page of ``list-data-tokens``; ``meta`` is ``None`` when a bare list came back."""

    items: list[DataToken]
    meta: PageMeta | None = None
    extra: dict[str, Any] = attrs.field(factory=dict)
