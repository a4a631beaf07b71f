"""Profile group: registration, tokens and their lifetime (wire reference §b rows 3-10, §a7)."""

from __future__ import annotations

import secrets
import time
from collections.abc import Mapping

from aiohttp import web

from ..answers import iso_time, json_answer, message, unauthorized
from ..call import Call, Handler
from ..engine import Command, Outcome

__all__ = ["HANDLERS", "MAX_TOKEN_TTL", "QR_TOKEN_TTL"]

MAX_TOKEN_TTL = 30 * 24 * 3600  # reauthorize's ttl bound (seconds)
QR_TOKEN_TTL = 300.0


async def register(call: Call) -> web.StreamResponse:
    """``register-profile``: 409 if the name is taken or pending; the profile exists on settle."""
    form = await call.form()
    username = form.text("username")
    password = form.text("password")
    form.check()
    state = call.ctx.state
    if state.username_taken(username):
        return message(409, "Username already taken")
    state.pending_usernames.add(username)

    def create(command: Command) -> Outcome:
        state.add_profile(username, password)
        return Outcome.success()

    return call.accept(create)


async def authenticate(call: Call) -> web.StreamResponse:
    """``authenticate``: a fresh token, or 401 for unknown users and wrong passwords."""
    form = await call.form()
    username = form.text("username")
    password = form.text("password")
    form.check()
    ctx = call.ctx
    profile = ctx.state.profile_by_username(username)
    if profile is None or not secrets.compare_digest(profile.password, password):
        return unauthorized()
    token = ctx.state.issue_token(profile.profile_id, ctx.settings.token_ttl)
    return json_answer({"authorizationToken": token.value, "expiresAt": iso_time(token.expires_at)})


async def retrieve_profile_id(call: Call) -> web.StreamResponse:
    """``retrieve-profile-id``: the caller's profile id."""
    return json_answer({"profileId": call.profile_id})


async def change_password(call: Call) -> web.StreamResponse:
    """``change-password``: rejected ``profile.invalid_password`` if the current one is wrong.

    Issued tokens stay valid (§a7).
    """
    form = await call.form()
    current = form.text("currentPassword")
    new = form.text("newPassword")
    form.check()
    profile = call.ctx.state.profiles[call.profile_id]

    def change(command: Command) -> Outcome:
        if not secrets.compare_digest(profile.password, current):
            return Outcome.reject("profile.invalid_password")
        profile.password = new
        return Outcome.success()

    return call.accept(change)


async def generate_qr_token(call: Call) -> web.StreamResponse:
    """``generate-token-qr``: a short-lived QR token (field names are never recorded; §b row 7)."""
    return json_answer(
        {
            "qrToken": "Q-" + secrets.token_urlsafe(24),
            "expiresAt": iso_time(time.time() + QR_TOKEN_TTL),
        }
    )


async def reauthorize(call: Call) -> web.StreamResponse:
    """``reauthorize-authorization-token`` form ``ttl`` seconds; sync or command (§a7)."""
    form = await call.form()
    ttl = form.integer("ttl", 1, MAX_TOKEN_TTL)
    form.check()
    ctx = call.ctx
    token = call.token
    assert token is not None
    if ctx.settings.reauthorize_mode == "sync":
        # A new token; the old one keeps working until its own expiry.
        fresh = ctx.state.issue_token(token.profile_id, ttl)
        return json_answer(
            {"authorizationToken": fresh.value, "expiresAt": iso_time(fresh.expires_at)}
        )

    def extend(command: Command) -> Outcome:
        if token.revoked:
            return Outcome.reject("token.revoked")
        token.expires_at = time.time() + ttl
        return Outcome.success()

    return call.accept(extend)


async def revoke(call: Call) -> web.StreamResponse:
    """``revoke-authorization-token``: 200, empty body; the token then gets 401 everywhere."""
    assert call.token is not None
    call.token.revoked = True
    return web.Response(status=200)


async def token_expiry(call: Call) -> web.StreamResponse:
    """``authorization-token/expiry``: when the caller's token stops working."""
    assert call.token is not None
    return json_answer({"expiresAt": iso_time(call.token.expires_at)})


HANDLERS: Mapping[str, Handler] = {
    "profile.register": register,
    "profile.authenticate": authenticate,
    "profile.retrieve_profile_id": retrieve_profile_id,
    "profile.change_password": change_password,
    "profile.generate_qr_token": generate_qr_token,
    "profile.reauthorize": reauthorize,
    "profile.revoke": revoke,
    "profile.token_expiry": token_expiry,
}
