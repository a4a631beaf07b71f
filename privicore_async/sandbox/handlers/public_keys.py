"""Public key group: the profile's signed key, the CAB's key, generation (§b rows 19-22, §a10)."""

from __future__ import annotations

from collections.abc import Mapping

from aiohttp import web

from ...wire.signed_key import KeyDefect, find_defect
from ..answers import json_answer, not_found, validation_failed
from ..call import Call, Handler
from ..engine import Command, Outcome
from ..key_pairs import generate_key_pair

__all__ = ["HANDLERS"]

_FIELD = "publicKey"

# The server's words for each defect (its validator's style).
_PROBLEMS = {
    KeyDefect.LENGTH: "This value should be exactly 200 hex characters.",
    KeyDefect.NOT_HEX: "This value should be hexadecimal.",
    KeyDefect.TAG: "This value has an unknown version tag.",
    KeyDefect.DIGEST: "This value's hash does not verify.",
}


def signed_key_problem(value: str) -> str | None:
    """Why ``value`` is not a signed key the server accepts, or ``None`` if it is one."""
    defect = find_defect(value)
    return None if defect is None else _PROBLEMS[defect]


async def register(call: Call) -> web.StreamResponse:
    """``register-public-key``: 422 unless the tag and hash verify; on settle the key is stored.

    Re-registering replaces the profile's key.
    """
    form = await call.form()
    value = form.text(_FIELD).strip()
    form.check()
    problem = signed_key_problem(value)
    if problem is not None:
        return validation_failed({_FIELD: [problem]})
    profile = call.ctx.state.profiles[call.profile_id]

    def store(command: Command) -> Outcome:
        profile.public_key = value.lower()
        return Outcome.success()

    return call.accept(store)


async def retrieve(call: Call) -> web.StreamResponse:
    """``retrieve-public-key``: the profile's key, or 404 before one was registered."""
    key = call.ctx.state.profiles[call.profile_id].public_key
    return not_found() if key is None else json_answer({_FIELD: key})


async def retrieve_cab_key(call: Call) -> web.StreamResponse:
    """``dptcab/public-key``: the sandbox's own signed key (made when the sandbox started)."""
    return json_answer({_FIELD: call.ctx.state.cab_public_key})


async def generate(call: Call) -> web.StreamResponse:
    """``generate-keys`` (no auth): a fresh pair, private key included — as the server does."""
    private, public = generate_key_pair()
    return json_answer({"private": private, "public": public})


HANDLERS: Mapping[str, Handler] = {
    "public_keys.generate": generate,
    "public_keys.register": register,
    "public_keys.retrieve": retrieve,
    "public_keys.retrieve_cab_key": retrieve_cab_key,
}
