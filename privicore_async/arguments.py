"""Checks of the caller's arguments, made before anything is sent.

Each raises :class:`~privicore_async.errors.InvalidArgumentError` naming the Python argument
(and the wire field it becomes, when there is one). A value that may be a secret is never
echoed. The route table applies the text checks to the parameters it declares
(:meth:`privicore_async.routes.Route.bind`); resources use the others where a value needs more.
"""

from __future__ import annotations

import math
import re
from collections.abc import Sequence
from urllib.parse import urlsplit

from .errors import InvalidArgumentError

__all__ = [
    "require_callable",
    "require_int",
    "require_seconds",
    "require_text",
    "require_texts",
    "require_token",
    "require_url",
]

# Control characters (and line/paragraph separators) have no place in an identifier: sent
# percent-encoded they come back decoded in messages and logs, where they forge lines.
_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f\u2028\u2029]")
_SURROGATE = re.compile(r"[\ud800-\udfff]")  # not text: cannot be encoded to be sent


def require_text(argument: str, value: object, *, field: str | None = None) -> str:
    """``value`` if it is non-blank text with no control character; otherwise
    InvalidArgumentError naming the argument (never quoting the value)."""
    if not isinstance(value, str):
        raise InvalidArgumentError(
            argument, f"must be a string, not {type(value).__name__}", field=field
        )
    if not value.strip():
        raise InvalidArgumentError(argument, "must not be blank", field=field)
    if _CONTROL.search(value):
        raise InvalidArgumentError(argument, "must not contain control characters", field=field)
    if _SURROGATE.search(value):
        raise InvalidArgumentError(argument, "must be valid Unicode text", field=field)
    return value


def require_seconds(
    argument: str, value: object, *, allow_none: bool = True, allow_zero: bool = False
) -> float | None:
    """A duration: ``None`` (when allowed) or a finite number of seconds > 0 (>= 0 with
    ``allow_zero``). A string, a bool, ``nan``, ``inf`` or a negative number is refused."""
    if value is None and allow_none:
        return None
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise InvalidArgumentError(
            argument, f"must be a number of seconds, not {type(value).__name__}"
        )
    if not math.isfinite(value) or value < 0 or (value == 0 and not allow_zero):
        bound = ">= 0" if allow_zero else "> 0"
        raise InvalidArgumentError(argument, f"must be a finite number of seconds {bound}")
    return float(value)


def require_callable(argument: str, value: object) -> None:
    """``value`` is ``None`` or something that can be called (a callback)."""
    if value is not None and not callable(value):
        raise InvalidArgumentError(
            argument, f"must be callable (or None), not {type(value).__name__}"
        )


def require_url(argument: str, value: object, *, schemes: tuple[str, ...]) -> str:
    """An absolute URL of one of ``schemes`` with a host and no user-info, spaces or control
    characters. The value is not quoted in the error (it may hold a password)."""
    text = require_text(argument, value)
    if any(ch.isspace() for ch in text):
        raise InvalidArgumentError(argument, "must not contain whitespace")
    try:
        parts = urlsplit(text)
        host, port = parts.hostname, parts.port  # port: a bad one raises ValueError
    except ValueError:
        raise InvalidArgumentError(argument, "is not a valid URL") from None
    del port
    if parts.scheme not in schemes:
        raise InvalidArgumentError(argument, f"must start with {' or '.join(schemes)}://")
    if not host:
        raise InvalidArgumentError(argument, "has no host")
    if "@" in parts.netloc:
        raise InvalidArgumentError(
            argument, "must not carry user:password@ (give username and password instead)"
        )
    return text


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
