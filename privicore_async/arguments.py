"""Checks of the caller's arguments, made before anything is sent.

Each raises :class:`~privicore_async.errors.InvalidArgumentError` naming the Python argument
(and the wire field it becomes, when there is one). A value that may be a secret is never
echoed. The route table applies the text checks to the parameters it declares
(:meth:`privicore_async.routes.Route.bind`); resources use the others where a value needs more.
"""

from __future__ import annotations

from collections.abc import Sequence

from .errors import InvalidArgumentError

__all__ = ["require_int", "require_text", "require_texts", "require_token"]


def require_text(argument: str, value: object, *, field: str | None = None) -> str:
    """``value`` if it is non-blank text; otherwise InvalidArgumentError naming the argument."""
    if not isinstance(value, str):
        raise InvalidArgumentError(
            argument, f"must be a string, not {type(value).__name__}", field=field
        )
    if not value.strip():
        raise InvalidArgumentError(argument, "must not be blank", field=field)
    return value


def require_token(argument: str, value: object, *, field: str | None = None) -> str:
    """A token sent verbatim in a header, query or form: non-blank, no whitespace or controls.

    The value may be a secret, so the error names the argument only, never the value.
    """
    token = require_text(argument, value, field=field)
    if any(ch.isspace() or not ch.isprintable() for ch in token):
        raise InvalidArgumentError(argument, "must not contain whitespace", field=field)
    return token


def require_texts(
    argument: str, values: object, *, field: str, what: str = "strings", unique: bool = False
) -> list[str]:
    """A list (never a single string) of non-blank strings, optionally without repeats."""
    if isinstance(values, str | bytes) or not isinstance(values, Sequence):
        raise InvalidArgumentError(
            argument, f"must be a list of {what}, not a single value", field=field
        )
    texts = [require_text(argument, value, field=field) for value in values]
    if unique and len(set(texts)) != len(texts):
        raise InvalidArgumentError(argument, "must not repeat an entry", field=field)
    return texts


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
