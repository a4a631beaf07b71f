"""Data token group: reserve, fill, promote, read back, list, update, delete (§b rows 23-33).

``upload`` and ``download`` are served on the sandbox's upstream and downstream hosts (see
:mod:`~privicore_async.sandbox.data_hosts`) and check their single-use ``?auth=`` token
themselves; every other route is a token route on the API host. The records live in
``SandboxState.data_tokens``.
"""

from __future__ import annotations

import base64
import binascii
import time
import uuid
from collections.abc import Mapping

from aiohttp import web

from ...wire.http import REQUEST_ID_HEADER
from ..answers import iso_time, json_answer, not_found, unauthorized, validation_failed
from ..call import Call, Handler
from ..data_token_state import DataSpace
from ..engine import Command, Outcome
from ..validation import BLANK

__all__ = ["DEFAULT_TTL", "HANDLERS", "MAX_PER_PAGE", "MAX_TTL"]

DEFAULT_TTL = 5  # minutes (official docs)
MAX_TTL = 60  # minutes; the probe saw ttl=300 refused with a 422
DEFAULT_PER_PAGE = 20
MAX_PER_PAGE = 100
_NOT_BASE64 = "This value is not valid base64."
_NOT_FOUND = "data_token.not_found"
_CHUNK = 256 * 1024  # upstream bodies are read, downstream bodies written, this much at a time


def _space_of(call: Call, temporary_token: str) -> DataSpace | None:
    """The caller's unexpired space of a temporary token (others' spaces are unknown)."""
    space = call.ctx.state.data_tokens.temporary.get(temporary_token)
    if space is None or space.profile_id != call.profile_id or space.expired(time.time()):
        return None
    return space


def _has_storage(call: Call, profile_id: str) -> bool:
    return any(d.storage is not None for d in call.ctx.state.devices_of(profile_id))


def _item(space: DataSpace) -> dict[str, object]:
    return {
        "token": space.token,
        "context": space.context,
        "fileName": space.file_name,
        "extension": space.extension,
        "size": space.size,
        "path": space.path,
        "createdAt": iso_time(space.created_at),
    }


async def reserve_token_space(call: Call) -> web.StreamResponse:
    """``reserve-token-space``: on settle a space with a tmp- token and a stream token."""
    form = await call.form()
    context = form.text("context").strip()
    ttl = form.integer("ttl", 1, MAX_TTL) if form.optional("ttl") is not None else DEFAULT_TTL
    meta = form.optional("meta")
    form.check()
    profile_id = call.profile_id
    records = call.ctx.state.data_tokens

    def reserve(command: Command) -> Outcome:
        expires_at = time.time() + ttl * 60
        records.add_space(DataSpace(command.command_id, profile_id, context, meta, expires_at))
        return Outcome.success()

    return call.accept(reserve)


async def retrieve_temporary_token(call: Call) -> web.StreamResponse:
    """``retrieve-temporary-data-token/{commandId}``: 404 until the reservation settled."""
    space = call.ctx.state.data_tokens.spaces.get(call.request.match_info["commandId"])
    if space is None or space.profile_id != call.profile_id or space.expired(time.time()):
        return not_found()
    return json_answer({"token": space.temporary_token, "stream": space.stream})


async def exchange(call: Call) -> web.StreamResponse:
    """``exchange-data-for-token``: base64 ``data`` is stored as given on settle; rejected
    ``storage.no_storage_devices`` when the profile has no storage device."""
    form = await call.form()
    temporary_token = form.text("temporaryTokenSpace").strip()
    encoded = form.text("data").strip()
    data = b""
    if encoded:
        try:
            data = base64.b64decode(encoded, validate=True)
        except (binascii.Error, ValueError):
            form.errors.setdefault("data", []).append(_NOT_BASE64)
    form.check()
    space = _space_of(call, temporary_token)
    if space is None:
        return not_found()
    profile_id = call.profile_id
    records = call.ctx.state.data_tokens

    def store(command: Command) -> Outcome:
        if not _has_storage(call, profile_id):
            return Outcome.reject("storage.no_storage_devices")
        if space.expired(time.time()):
            return Outcome.reject("data_token.expired")
        if space.data is not None:
            return Outcome.reject("data_token.already_filled")
        records.fill(space, data)
        return Outcome.success()

    return call.accept(store)


async def upload(call: Call) -> web.StreamResponse:
    """Upstream ``POST /?auth=<stream>``: stores the raw body (read in chunks); the stream
    token works once."""
    records = call.ctx.state.data_tokens
    space = records.streams.pop(call.request.query.get("auth", ""), None)
    if space is None or space.expired(time.time()):
        return unauthorized()
    received = bytearray()
    async for chunk in call.request.content.iter_chunked(_CHUNK):
        received += chunk
    data = bytes(received)
    del received
    if not data:
        if space.stream is not None:
            records.streams[space.stream] = space  # nothing was used up
        return validation_failed({"body": [BLANK]})
    records.fill(space, data)
    return json_answer({"message": "Stream received", "size": len(data)})


async def request_data(call: Call) -> web.StreamResponse:
    """``request-data``: 202, empty body, ``x-dpt-cab-id`` and ``x-dpt-cab-request-id``;
    on settle a single-use downstream token for the request id, announced on the WebSocket
    (``X-DPT-CAB-REQUEST-ID``, see :class:`~..ws.WsProxy`). 404 for unknown tokens."""
    form = await call.form()
    token = form.text("token").strip()
    form.check()
    records = call.ctx.state.data_tokens
    if records.token_of(call.profile_id, token) is None:
        return not_found()
    profile_id = call.profile_id
    request_id = str(uuid.uuid4())
    channel = call.ctx.channel

    def deliver(command: Command) -> Outcome:
        space = records.token_of(profile_id, token)
        if space is None or space.data is None:
            return Outcome.reject(_NOT_FOUND)
        grant = records.grant(request_id, profile_id, space.data)
        if channel is not None:  # pushed after the command's own ack
            channel.request_ready(command, request_id, grant, space.context)
        return Outcome.success()

    response = call.accept(deliver, shape="header")
    response.headers[REQUEST_ID_HEADER] = request_id
    return response


async def download(call: Call) -> web.StreamResponse:
    """Downstream ``GET /?auth=<token>``: the stored bytes written in chunks, once (401 after,
    or if unknown)."""
    grant = call.ctx.state.data_tokens.downstream.get(call.request.query.get("auth", ""))
    if grant is None or grant.used:
        return unauthorized()
    grant.used = True
    response = web.StreamResponse()
    response.content_type = "application/octet-stream"
    response.content_length = len(grant.data)
    await response.prepare(call.request)
    view = memoryview(grant.data)
    for offset in range(0, len(view), _CHUNK):
        await response.write(view[offset : offset + _CHUNK])
    await response.write_eof()
    return response


async def configure_information_security_risk_meta(call: Call) -> web.StreamResponse:
    """``configure-information-security-risk-meta``: ``token`` + free fields, kept on settle."""
    form = await call.form()
    token = form.text("token").strip()
    form.check()
    fields = {
        key: value
        for key, value in (await call.request.post()).items()
        if key != "token" and isinstance(value, str)
    }
    profile_id = call.profile_id
    records = call.ctx.state.data_tokens

    def configure(command: Command) -> Outcome:
        space = records.token_of(profile_id, token)
        if space is None:
            return Outcome.reject(_NOT_FOUND)
        space.risk_meta.update(fields)
        return Outcome.success()

    return call.accept(configure)


async def configure_file_meta(call: Call) -> web.StreamResponse:
    """``configure-file-meta``: promotes a filled tmp- space to a dtk- token (422 if empty)."""
    form = await call.form()
    temporary_token = form.text("token").strip()
    file_name = form.text("fileName").strip()
    extension = form.text("extension").strip()
    context = form.text("context").strip()
    size = form.integer("size", 0, 2**53)
    path = form.text("path").strip()
    form.check()
    space = _space_of(call, temporary_token)
    if space is None:
        return not_found()
    if space.data is None:
        return validation_failed({"token": ["data_token.no_data"]})
    space.file_name, space.extension, space.context = file_name, extension, context
    space.size, space.path = size, path
    return json_answer({"token": call.ctx.state.data_tokens.promote(space)})


async def list_data_tokens(call: Call) -> web.StreamResponse:
    """``list-data-tokens?page=&perPage=``: ``{items, meta: {count, page, perPage}}``."""
    query = call.request.query
    numbers: dict[str, int] = {}
    errors: dict[str, list[str]] = {}
    for name, default, high in (("page", 1, 2**31), ("perPage", DEFAULT_PER_PAGE, MAX_PER_PAGE)):
        raw = query.get(name, "").strip()
        try:
            numbers[name] = int(raw) if raw else default
        except ValueError:
            errors[name] = ["This value should be a valid number."]
            continue
        if not 1 <= numbers[name] <= high:
            errors[name] = [f"This value should be between 1 and {high}."]
    if errors:
        return validation_failed(errors)
    page, per_page = numbers["page"], numbers["perPage"]
    spaces = call.ctx.state.data_tokens.tokens_of(call.profile_id)
    chunk = spaces[(page - 1) * per_page : page * per_page]
    return json_answer(
        {
            "items": [_item(space) for space in chunk],
            "meta": {"count": len(spaces), "page": page, "perPage": per_page},
        }
    )


async def update(call: Call) -> web.StreamResponse:
    """``update-data-token``: ``token`` and at least one of fileName/extension/context."""
    form = await call.form()
    token = form.text("token").strip()
    changes = {name: form.optional(name) for name in ("fileName", "extension", "context")}
    if all(value is None for value in changes.values()):
        form.errors.setdefault("fileName", []).append(BLANK)
    form.check()
    profile_id = call.profile_id
    records = call.ctx.state.data_tokens

    def apply(command: Command) -> Outcome:
        space = records.token_of(profile_id, token)
        if space is None:
            return Outcome.reject(_NOT_FOUND)
        space.file_name = changes["fileName"] or space.file_name
        space.extension = changes["extension"] or space.extension
        space.context = changes["context"] or space.context
        return Outcome.success()

    return call.accept(apply)


async def delete(call: Call) -> web.StreamResponse:
    """``delete-data``: the token and its data are gone on settle (request-data then 404s)."""
    form = await call.form()
    token = form.text("token").strip()
    form.check()
    profile_id = call.profile_id
    records = call.ctx.state.data_tokens

    def remove(command: Command) -> Outcome:
        space = records.token_of(profile_id, token)
        if space is None:
            return Outcome.reject(_NOT_FOUND)
        del records.tokens[token]
        space.data = None
        return Outcome.success()

    return call.accept(remove)


HANDLERS: Mapping[str, Handler] = {
    "data_tokens.reserve_token_space": reserve_token_space,
    "data_tokens.retrieve_temporary_token": retrieve_temporary_token,
    "data_tokens.exchange": exchange,
    "data_tokens.upload": upload,
    "data_tokens.request_data": request_data,
    "data_tokens.download": download,
    "data_tokens.configure_information_security_risk_meta": (
        configure_information_security_risk_meta
    ),
    "data_tokens.configure_file_meta": configure_file_meta,
    "data_tokens.list": list_data_tokens,
    "data_tokens.update": update,
    "data_tokens.delete": delete,
}
