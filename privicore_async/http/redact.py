"""Secrets out of what a failure leaves behind: texts, and the network library's exceptions.

The transport knows which secrets a request carries (its credential, an ``?auth=`` token, the
values of extra headers). :func:`redact` replaces them in a text, in every form a URL or a
header gives them. :func:`scrubbed` copies an exception (aiohttp's, say) with them replaced
wherever it keeps text, so that the copy can be chained to an SDK error as its ``__cause__``.
The copy has no traceback: the frames of the original hold the request, headers and all.
"""

from __future__ import annotations

import enum
from collections.abc import Iterable
from urllib.parse import quote, quote_plus

from yarl import URL

__all__ = ["redact", "scrubbed"]

_DEPTH = 4  # nested exceptions and containers copied; deeper ones are dropped


def redact(text: str, secrets: Iterable[str]) -> str:
    """``text`` without any secret, also in the percent-encoded forms a URL gives them."""
    for secret in secrets:
        if not secret:
            continue
        forms = {secret, quote(secret, safe=""), quote(secret), quote_plus(secret)}
        # yarl (which builds the URLs) encodes a query value and a path its own way.
        query = URL("http://h/").with_query({"q": secret}).raw_query_string
        forms |= {query.removeprefix("q="), URL("http://h/").joinpath(secret).raw_path[1:]}
        for form in sorted(forms, key=len, reverse=True):
            if form:
                text = text.replace(form, "***")
    return text


def scrubbed(exc: BaseException, secrets: Iterable[str]) -> BaseException | None:
    """A copy of ``exc``, of the same type, with every secret replaced by ``***``.

    Its ``args``, attributes, notes and chained exceptions are copied through :func:`redact`;
    objects that are not text are kept only when their ``repr`` shows no secret. ``None`` when
    no safe copy can be made (the type cannot be built without its constructor's arguments, or
    its text still shows a secret): then the SDK error has no cause rather than a leaky one.
    """
    secrets = tuple(secret for secret in secrets if secret)
    try:
        copy = _copy(exc, secrets, _DEPTH)
        shown = f"{copy!s} {copy!r}"  # an exception's str may be built from its attributes
    except Exception:
        return None
    return copy if redact(shown, secrets) == shown else None


def _copy(exc: BaseException, secrets: tuple[str, ...], depth: int) -> BaseException:
    cls = type(exc)
    # Not through the constructor: aiohttp's exceptions each take different arguments.
    copy = cls.__new__(cls)
    copy.args = tuple(_clean(arg, secrets, depth) for arg in exc.args)
    if isinstance(exc, OSError):
        # These live in OSError's own slots, not in args or __dict__ (aiohttp's connector
        # error sets them through OSError.__init__ and formats its message from strerror).
        for name in ("errno", "strerror", "filename", "filename2"):
            value = getattr(exc, name)
            if value is not None:  # unset differs from None: str() would show "None"
                setattr(copy, name, _clean(value, secrets, depth))
    for name, value in vars(exc).items():
        vars(copy)[name] = _clean(value, secrets, depth)
    if depth > 0:
        if exc.__cause__ is not None:
            copy.__cause__ = _copy(exc.__cause__, secrets, depth - 1)
        elif exc.__context__ is not None and not exc.__suppress_context__:
            copy.__context__ = _copy(exc.__context__, secrets, depth - 1)
    return copy


def _clean(value: object, secrets: tuple[str, ...], depth: int) -> object:
    if value is None or isinstance(value, bool | int | float | enum.Enum):
        return value
    if isinstance(value, str):
        return redact(value, secrets)
    if isinstance(value, bytes):
        return redact(value.decode("latin-1"), secrets).encode("latin-1")
    if depth <= 0:
        return None
    if isinstance(value, BaseException):
        return _copy(value, secrets, depth - 1)
    if isinstance(value, URL):
        return URL(redact(str(value), secrets), encoded=True)
    if isinstance(value, tuple):
        items = [_clean(item, secrets, depth - 1) for item in value]
        make = getattr(type(value), "_make", None)  # a NamedTuple (aiohttp's ConnectionKey)
        return make(items) if make is not None else tuple(items)
    if isinstance(value, list):
        return [_clean(item, secrets, depth - 1) for item in value]
    # Anything else (an SSL context, a request's info with its headers) stays only if it
    # shows no secret.
    shown = repr(value)
    return value if redact(shown, secrets) == shown else None
