"""Handlers by route name. A new endpoint group is one module here and one line below."""

from __future__ import annotations

from collections.abc import Mapping

from aiohttp import web

from ..answers import message
from ..call import Call, Handler
from . import (
    authenticators,
    data_tokens,
    devices,
    directories,
    oauth,
    policies,
    profile,
    public_keys,
    storage,
    utility,
    voting,
)

__all__ = ["HANDLERS", "not_implemented"]


def _merge(*groups: Mapping[str, Handler]) -> dict[str, Handler]:
    merged: dict[str, Handler] = {}
    for group in groups:
        duplicated = merged.keys() & group.keys()
        if duplicated:
            raise RuntimeError(f"sandbox: two handlers for {sorted(duplicated)}")
        merged.update(group)
    return merged


HANDLERS: Mapping[str, Handler] = _merge(
    utility.HANDLERS,
    profile.HANDLERS,
    oauth.HANDLERS,
    public_keys.HANDLERS,
    data_tokens.HANDLERS,
    devices.HANDLERS,
    storage.HANDLERS,
    directories.HANDLERS,
    authenticators.HANDLERS,
    policies.HANDLERS,
    voting.HANDLERS,
)


async def not_implemented(call: Call) -> web.StreamResponse:
    """501 for a route in the table that the sandbox does not serve yet.

    Registered anyway so such a call fails loudly instead of looking like a 404 record lookup.
    """
    return message(501, f"{call.route.name} is not implemented by the sandbox")
