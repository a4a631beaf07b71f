"""What every resource shares: the client it calls through, and argument checks."""

from __future__ import annotations

from typing import TYPE_CHECKING

from ..errors import InvalidArgumentError

if TYPE_CHECKING:
    from ..client import PrivicoreClient

__all__ = ["Resource", "require_int", "require_text"]


class Resource:
    """Base of the API groups: each method is one endpoint (or a documented chain of them)."""

    __slots__ = ("_client",)

    def __init__(self, client: PrivicoreClient) -> None:
        self._client = client

    def __repr__(self) -> str:
        return f"<{type(self).__name__} of {self._client!r}>"


def require_text(argument: str, value: object, *, field: str | None = None) -> str:
    """``value`` if it is non-blank text; otherwise InvalidArgumentError naming the argument."""
    if not isinstance(value, str):
        raise InvalidArgumentError(
            argument, f"must be a string, not {type(value).__name__}", field=field
        )
    if not value.strip():
        raise InvalidArgumentError(argument, "must not be blank", field=field)
    return value


def require_int(
    argument: str,
    value: object,
    *,
    minimum: int | None = None,
    maximum: int | None = None,
    field: str | None = None,
) -> int:
    """``value`` if it is an int within bounds; otherwise InvalidArgumentError."""
    if isinstance(value, bool) or not isinstance(value, int):
        raise InvalidArgumentError(
            argument, f"must be an integer, not {type(value).__name__}", field=field
        )
    if minimum is not None and value < minimum:
        raise InvalidArgumentError(argument, f"must be at least {minimum}", field=field)
    if maximum is not None and value > maximum:
        raise InvalidArgumentError(argument, f"must be at most {maximum}", field=field)
    return value
