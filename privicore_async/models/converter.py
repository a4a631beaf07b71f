"""The one cattrs converter: camelCase (or an explicit wire name) on the wire, snake_case here.

Unknown keys in an answer are kept in the model's ``extra`` mapping instead of failing, because
the wire reference lists many answer shapes as "never recorded". A missing required key raises
:class:`~privicore_async.errors.ProtocolError` naming the field and the endpoint.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from datetime import UTC, datetime
from typing import Any, TypeVar

import attrs
import cattrs
from cattrs.gen import make_dict_structure_fn, make_dict_unstructure_fn, override

from ..errors import ProtocolError

__all__ = [
    "EXTRA",
    "camel_case",
    "converter",
    "list_items",
    "parse_datetime",
    "structure",
    "unstructure",
    "wire_field",
]

T = TypeVar("T")

EXTRA = "extra"  # the attribute that collects unknown keys
_WIRE = "privicore_wire_name"
_EXTRA_KEY = "\x00extra"  # never a real wire key


def wire_field(name: str, **kwargs: Any) -> Any:
    """An ``attrs.field`` whose wire name is not the camelCase of the attribute name."""
    metadata = dict(kwargs.pop("metadata", {}) or {})
    metadata[_WIRE] = name
    return attrs.field(metadata=metadata, **kwargs)


def camel_case(name: str) -> str:
    """The wire spelling of a snake_case name (``retention_days`` → ``retentionDays``)."""
    head, *rest = name.split("_")
    return head + "".join(part[:1].upper() + part[1:] for part in rest)


def _wire_name(field: attrs.Attribute[Any]) -> str:
    return str(field.metadata.get(_WIRE) or camel_case(field.name))


def parse_datetime(value: object) -> datetime:
    """An aware datetime from ISO-8601 text (``Z`` or an offset) or epoch seconds."""
    if isinstance(value, datetime):
        return value
    if isinstance(value, int | float) and not isinstance(value, bool):
        return datetime.fromtimestamp(value, UTC)
    if isinstance(value, str):
        try:
            parsed = datetime.fromisoformat(value.strip())
        except ValueError:
            pass
        else:
            return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)
    raise ValueError(f"not a timestamp: {value!r}")


def _structure_str(value: object, _: type[Any]) -> str:
    # Identifiers may come as JSON numbers; anything else that is not text is a shape error.
    if isinstance(value, str):
        return value
    if isinstance(value, int | float) and not isinstance(value, bool):
        return str(value)
    raise ValueError(f"expected text, got {type(value).__name__}")


converter = cattrs.Converter()
converter.register_structure_hook(str, _structure_str)
converter.register_structure_hook(datetime, lambda value, _: parse_datetime(value))
converter.register_unstructure_hook(datetime, lambda value: value.isoformat())


def _structure_factory(cls: type[Any]) -> Callable[[Any, type[Any]], Any]:
    fields = attrs.fields(cls)
    has_extra = any(f.name == EXTRA for f in fields)
    renames = {f.name: override(rename=_wire_name(f)) for f in fields if f.name != EXTRA}
    if has_extra:
        renames[EXTRA] = override(rename=_EXTRA_KEY)
    base = make_dict_structure_fn(cls, converter, **renames)  # type: ignore[arg-type]
    known = {_wire_name(f) for f in fields if f.name != EXTRA}
    required = [_wire_name(f) for f in fields if f.default is attrs.NOTHING and f.name != EXTRA]

    def structure_model(data: Any, _: type[Any]) -> Any:
        # Only the type is named: the raw answer may hold a secret (a token, a client secret).
        if not isinstance(data, Mapping):
            raise ProtocolError(f"expected a JSON object, got {type(data).__name__}")
        missing = [name for name in required if name not in data]
        if missing:
            raise ProtocolError(f"missing field {missing[0]!r}")
        if has_extra:
            extra = {k: v for k, v in data.items() if k not in known}
            data = {**data, _EXTRA_KEY: extra}
        return base(data, cls)

    return structure_model


def _unstructure_factory(cls: type[Any]) -> Callable[[Any], Any]:
    fields = attrs.fields(cls)
    renames = {f.name: override(rename=_wire_name(f)) for f in fields if f.name != EXTRA}
    if any(f.name == EXTRA for f in fields):
        renames[EXTRA] = override(omit=True)
    return make_dict_unstructure_fn(cls, converter, **renames)  # type: ignore[arg-type]


converter.register_structure_hook_factory(attrs.has, _structure_factory)
converter.register_unstructure_hook_factory(attrs.has, _unstructure_factory)


def list_items(body: object, *keys: str) -> object:
    """The list inside a list answer: the body itself, or the first of ``keys`` (or
    ``items``) that holds a list. Anything else is returned unchanged, for the converter
    to refuse with a :class:`~privicore_async.errors.ProtocolError`."""
    if isinstance(body, Mapping):
        for key in (*keys, "items"):
            if isinstance(body.get(key), list):
                return body[key]
    return body


def structure(data: object, cls: type[T], *, endpoint: str) -> T:
    """Build ``cls`` from a decoded answer of ``endpoint``; shape errors become ProtocolError."""
    try:
        return converter.structure(data, cls)
    except ProtocolError as exc:
        raise ProtocolError(f"{endpoint}: {exc}") from None
    except (cattrs.BaseValidationError, KeyError, ValueError, TypeError) as exc:
        if isinstance(exc, cattrs.BaseValidationError):
            detail = "; ".join(cattrs.transform_error(exc, path=cls.__name__))
        elif isinstance(exc, KeyError):
            detail = f"missing field {exc.args[0]!r}"
        else:
            detail = str(exc)
        raise ProtocolError(f"{endpoint}: unexpected answer: {detail}") from None


def unstructure(obj: Any) -> Any:
    """The wire form (camelCase keys) of a model."""
    return converter.unstructure(obj)
