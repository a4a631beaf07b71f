"""The sandbox's fixed settings, validated once at construction."""

from __future__ import annotations

from typing import Any, Literal

import attrs

__all__ = [
    "ID_SHAPES",
    "REAUTHORIZE_MODES",
    "STATUS_METHODS",
    "STATUS_SHAPES",
    "IdShape",
    "ReauthorizeMode",
    "Settings",
    "StatusShape",
]

IdShape = Literal["json-string", "text", "array", "object", "header", "mixed"]
StatusShape = Literal["object", "string", "array", "mixed"]
ReauthorizeMode = Literal["sync", "command"]

# "mixed" rotates through these in this order (wire reference §a4, §a5).
ID_SHAPES: tuple[str, ...] = ("json-string", "text", "array", "object", "header")
STATUS_SHAPES: tuple[str, ...] = ("object", "string", "array")
STATUS_METHODS: tuple[str, ...] = ("POST", "GET")
REAUTHORIZE_MODES: tuple[str, ...] = ("sync", "command")


def _one_of(choices: tuple[str, ...]) -> Any:
    return attrs.validators.in_(choices)


def _methods(value: tuple[str, ...]) -> tuple[str, ...]:
    methods = tuple(dict.fromkeys(m.upper() for m in value))
    if not methods or not set(methods) <= set(STATUS_METHODS):
        raise ValueError(f"status_methods must be a non-empty subset of {STATUS_METHODS}")
    return methods


def _positive(instance: object, attribute: attrs.Attribute[float], value: float) -> None:
    if not value > 0:
        raise ValueError(f"{attribute.name} must be > 0, got {value!r}")


@attrs.frozen(kw_only=True)
class Settings:
    """How the sandbox shapes its answers; fixed for the lifetime of a :class:`Sandbox`."""

    # The defaults are the real server's wire (wire reference §a4b): the id in the body as a
    # bare JSON string, no id header, a bare status word. The other shapes are opt-in.
    id_shape: IdShape = attrs.field(default="json-string", validator=_one_of((*ID_SHAPES, "mixed")))
    id_header: bool = attrs.field(default=False, converter=bool)
    status_shape: StatusShape = attrs.field(
        default="string", validator=_one_of((*STATUS_SHAPES, "mixed"))
    )
    status_methods: tuple[str, ...] = attrs.field(default=STATUS_METHODS, converter=_methods)
    token_ttl: float = attrs.field(default=3600.0, validator=_positive)
    reauthorize_mode: ReauthorizeMode = attrs.field(
        default="sync", validator=_one_of(REAUTHORIZE_MODES)
    )
