"""The JSON type aliases: what the server's bodies and reasons are, and what JSON arguments take.

A leaf module (it imports nothing of the SDK) so that every layer may use them; users import
them from :mod:`privicore_async.types`.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import TypeAlias

__all__ = ["JSON", "JSONInput"]

JSON: TypeAlias = str | int | float | bool | list["JSON"] | dict[str, "JSON"] | None
"""A decoded JSON value, as the SDK hands it out (a command's body, a rejection's reason).

A body that is not JSON at all arrives as its text, which is a ``str`` too. Narrow it with
``isinstance`` before indexing: ``if isinstance(result.body, dict): result.body.get("id")``.
"""

JSONInput: TypeAlias = (
    str | int | float | bool | Sequence["JSONInput"] | Mapping[str, "JSONInput"] | None
)
"""A value the SDK can send as JSON (an argument such as a directory's ``meta``).

Read-only containers, so that a ``dict[str, str]`` or a ``tuple`` of numbers fits as it is;
``JSON`` (whose ``list`` and ``dict`` are invariant) would refuse them.
"""
