"""Data tokens: reserve a space, fill it (exchange or upstream upload), make it permanent,
read it back (request-data, then the downstream download), list, update and delete (§c4, §c5).

The SDK never sees plaintext here: ``exchange`` and ``upload`` take the caller's already
encrypted wire bytes, and ``download`` returns them as stored. Single-use auth tokens of the
upstream and downstream hosts travel as ``?auth=`` and are redacted from every log line.
"""

from __future__ import annotations

import base64
import binascii
import contextlib
import time
from collections.abc import AsyncGenerator, AsyncIterable, AsyncIterator
from typing import Any

from yarl import URL

from ..commands import CommandHandle
from ..crypto import OVERHEAD
from ..errors import InvalidArgumentError, PrivicoreError, ProtocolError, TransportError
from ..models import DataToken, DataTokenPage, TemporaryToken, structure
from ..models.converter import camel_case
from ..results import DataRequest
from ..wire.http import extract_command_id, extract_request_id
from ..wire.ws import STREAM_READY
from ._base import Resource, require_int, require_text, require_token

__all__ = ["DataTokens"]

STREAM_READY_WAIT = 5.0
"""How long a streamed answer waits for its optional ``STREAM-READY`` before downloading."""
MIN_TTL = 1
MAX_TTL = 60  # minutes; the probe's 300 was refused with a 422 and 5 works (§b row 23)
_PLAIN_TYPES = (str, int, float, bool)


def _require_bytes(argument: str, value: object, *, field: str | None = None) -> bytes:
    if not isinstance(value, bytes | bytearray | memoryview):
        raise InvalidArgumentError(
            argument, f"must be bytes, not {type(value).__name__}", field=field
        )
    data = bytes(value)
    if not data:
        raise InvalidArgumentError(argument, "must not be empty", field=field)
    return data


def _split_link(argument: str, link: str) -> tuple[str | None, str]:
    """``(url without auth, auth token)`` of a full link, or ``(None, token)`` of a bare token.

    The token is taken out of the URL so the transport sends it as the query-auth credential,
    which it redacts from logs and errors.
    """
    if not link.startswith(("http://", "https://")):
        return None, require_token(argument, link, field="auth")
    url = URL(link)
    auth = url.query.get("auth", "")
    if not auth.strip():
        raise InvalidArgumentError(argument, "a link must carry ?auth=<token>", field="auth")
    rest = [(key, value) for key, value in url.query.items() if key != "auth"]
    return str(url.with_query(rest)), auth


def _token_of(value: str | TemporaryToken | DataToken) -> object:
    return value.token if isinstance(value, TemporaryToken | DataToken) else value


def _single_token(body: object, endpoint: str) -> str:
    """The token of ``{"token": ...}`` or of a bare string answer."""
    if isinstance(body, dict):
        body = body.get("token")
    if isinstance(body, str) and body.strip():
        return body.strip()
    raise ProtocolError(f"{endpoint}: no token in the answer ({type(body).__name__})")


class DataTokens(Resource):
    """``client.data_tokens``."""

    __slots__ = ()

    async def reserve_token_space(
        self,
        context: str,
        *,
        ttl: int | None = None,
        meta: str | None = None,
        timeout: float | None = None,
    ) -> CommandHandle:
        """``POST /data-token/reserve-token-space``: reserve a temporary token space.

        ``ttl`` is in **minutes** (1-60; the server's default is 5 when omitted) and is
        refused before sending outside that range. ``meta`` is an optional free text
        (official docs only). The handle's ``command_id`` is the reservation id: pass the
        handle to :meth:`retrieve_temporary_token`, which awaits it first.
        """
        if ttl is not None:
            require_int("ttl", ttl, minimum=MIN_TTL, maximum=MAX_TTL)
        if meta is not None:
            require_text("meta", meta)
        args = {"context": context, "ttl": ttl, "meta": meta}
        return await self._client.command("data_tokens.reserve_token_space", args, timeout=timeout)

    async def retrieve_temporary_token(
        self, reservation_id: str | CommandHandle, *, timeout: float | None = None
    ) -> TemporaryToken:
        """``GET /data-token/retrieve-temporary-data-token/{commandId}``: the ``tmp-`` token.

        The server answers 404 until the reservation has settled, so pass the
        :class:`CommandHandle` of :meth:`reserve_token_space`: it is awaited first (up to
        ``timeout``; a rejected reservation raises ``CommandRejected``). A bare reservation id
        is sent at once. The answer ``{token, stream}`` and a bare token string are accepted.
        """
        if isinstance(reservation_id, CommandHandle):
            await reservation_id.wait(timeout=timeout)
            if not reservation_id.has_id:
                raise ProtocolError("data_tokens.reserve_token_space: the 202 carried no id")
            reservation_id = reservation_id.command_id
        response = await self._client.call(
            "data_tokens.retrieve_temporary_token", {"reservation_id": reservation_id}
        )
        body: Any = response.body
        if isinstance(body, str) and body.strip():
            body = {"token": body.strip()}
        return structure(body, TemporaryToken, endpoint="data_tokens.retrieve_temporary_token")

    async def exchange(
        self,
        temporary_token: str | TemporaryToken,
        data: bytes,
        *,
        timeout: float | None = None,
    ) -> CommandHandle:
        """``POST /data-token/exchange-data-for-token``: fill the space with ``data``.

        ``data`` is sent as standard base64 in the form field ``data``; pass the already
        encrypted wire bytes (``IV || ciphertext || tag``, §a9), they are stored as given.
        Meant for small payloads (~50 KB); use :meth:`upload` for larger ones. The command is
        rejected (``storage.no_storage_devices``) when the profile has no storage device, and
        may be delayed by a voting policy.
        """
        token = _token_of(temporary_token)
        payload = _require_bytes("data", data, field="data")
        args = {"temporary_token": token, "data": base64.b64encode(payload).decode()}
        return await self._client.command("data_tokens.exchange", args, timeout=timeout)

    async def upload(
        self, stream: str | TemporaryToken, data: bytes | AsyncIterable[bytes]
    ) -> None:
        """``POST {upstream}/?auth={stream}``: send the raw wire bytes to the upstream host.

        ``stream`` is the ``stream`` of :meth:`retrieve_temporary_token` (or that model
        itself): a full URL is used as is, a bare token goes to the configured
        ``PrivicoreClient(upstream_url=...)``. The body is ``application/octet-stream``;
        ``data`` may be bytes or an async iterable of chunks (streamed, never retried). The
        stream token works once and only before the reservation's ttl. Then call
        :meth:`configure_file_meta`. The answer is not documented, so nothing is returned.
        """
        if isinstance(stream, TemporaryToken):
            if stream.stream is None:
                raise InvalidArgumentError("stream", "the temporary token has no stream")
            stream = stream.stream
        link = require_text("stream", stream, field="auth")
        if isinstance(data, AsyncIterable):
            content: bytes | AsyncIterable[bytes] = data
        else:
            content = _require_bytes("data", data)
        url, auth = _split_link("stream", link)
        await self._client.call("data_tokens.upload", credential=auth, url=url, content=content)

    async def request_data(self, token: str | DataToken) -> DataRequest:
        """``POST /data-token/request-data``: ask for the data behind a permanent token.

        The server answers 202 with an empty body and two headers: ``x-dpt-cab-request-id``
        (returned as ``request_id``) and ``x-dpt-cab-id`` (tracked as ``command_handle``). The
        data itself arrives on the WebSocket as an ``X-DPT-CAB-REQUEST-ID`` message (inline
        base64, or a downstream link for :meth:`download`): :meth:`receive_data` waits for it
        on the client's ack channel (``ws_url``), and ``client.vault.retrieve`` does both
        steps. A deleted or unknown token is a 404 (``NotFoundError``).
        """
        response = await self._client.call("data_tokens.request_data", {"token": _token_of(token)})
        request_id = extract_request_id(response.headers)
        if request_id is None:
            raise ProtocolError("data_tokens.request_data: no x-dpt-cab-request-id header")
        command_id = extract_command_id(response.body, response.headers)
        handle = self._client.command_service.track(
            command_id, kind="data_tokens.request_data", response=response
        )
        return DataRequest(request_id, handle)

    @contextlib.asynccontextmanager
    async def download_stream(
        self, link: str, *, chunk_size: int = 64 * 1024
    ) -> AsyncIterator[AsyncIterator[bytes]]:
        """``GET {downstream}/?auth={token}``: the stored wire bytes, chunk by chunk.

        An async context manager yielding an async iterator of chunks (at most
        ``chunk_size`` bytes each) as they arrive, so a payload of any size is read with
        bounded memory::

            async with client.data_tokens.download_stream(link) as chunks:
                async for chunk in chunks:
                    sink.write(chunk)

        ``link`` is a full download URL (used as is) or a bare downstream token (sent to the
        configured ``PrivicoreClient(downstream_url=...)``). The token works once, so the
        request is never repeated after it may have reached the server; a 401 means it was
        used or is unknown (``AuthenticationError``, the token redacted).
        """
        url, auth = _split_link("link", require_text("link", link, field="auth"))
        require_int("chunk_size", chunk_size, minimum=1)
        async with self._client.stream(
            "data_tokens.download", credential=auth, url=url, safe=False, chunk_size=chunk_size
        ) as chunks:
            yield chunks

    async def receive_data(
        self,
        request: DataRequest | str | DataToken,
        *,
        timeout: float | None = 60.0,
        chunk_size: int = 64 * 1024,
    ) -> AsyncGenerator[bytes, None]:
        """The stored wire bytes behind a data request, in chunks, as Privicore pushes them.

        Pass the :class:`DataRequest` of :meth:`request_data`, or a permanent token (the
        request is then made first). The answer is the ``X-DPT-CAB-REQUEST-ID`` message on
        the client's WebSocket, so this needs ``ws_url`` (checked before anything is sent).
        ``output_type`` is read both ways the sources disagree on (§a6): 0 with base64 that
        decodes to an envelope is inline ciphertext, 0 with anything else a status text (keep
        waiting); 1 a downstream link: a URL as is, else a token for ``downstream_url``
        (after ``STREAM-READY``, whose ``streamUrl`` wins, if it comes). Decrypt with
        :mod:`privicore_async.vault` (``client.vault.retrieve`` does both). A streamed answer
        comes in chunks of at most ``chunk_size`` bytes.
        """
        require_int("chunk_size", chunk_size, minimum=1)
        acks = self._client.acks
        if acks is None:
            raise PrivicoreError(
                "retrieving data needs the WebSocket: create the client with ws_url= "
                "(Privicore delivers data only as a pushed X-DPT-CAB-REQUEST-ID message)"
            )
        if not isinstance(request, DataRequest):
            request = await self.request_data(request)
        deadline = None if timeout is None else time.monotonic() + timeout

        def left() -> float | None:
            return None if deadline is None else max(0.0, deadline - time.monotonic())

        while True:
            message = await acks.wait_request(request.request_id, timeout=left())
            body = message.body
            if message.output_type == 1 or (isinstance(body, str) and body.startswith("http")):
                if not isinstance(body, str) or not body.strip():
                    raise ProtocolError("data request: a streamed answer without a link")
                link = body
                if not body.startswith(("http://", "https://")):
                    remaining = left()
                    wait = (
                        STREAM_READY_WAIT
                        if remaining is None
                        else min(STREAM_READY_WAIT, remaining)
                    )
                    with contextlib.suppress(TransportError):
                        ready = await acks.wait_request(
                            request.request_id, types=(STREAM_READY,), timeout=wait
                        )
                        link = ready.stream_url or body
                async with self.download_stream(link, chunk_size=chunk_size) as chunks:
                    async for chunk in chunks:
                        yield chunk
                return
            inline = _inline_envelope(body)
            if inline is not None:
                yield inline
                return
            # output_type 0 with a status text (the official reading): more will follow

    async def download(self, link: str) -> bytes:
        """``GET {downstream}/?auth={token}``: the stored wire bytes, exactly as sent.

        The whole body in memory: :meth:`download_stream` joined (same ``link`` rules, never
        repeated). Use :meth:`download_stream` for large payloads.
        """
        parts = bytearray()
        async with self.download_stream(link) as chunks:
            async for chunk in chunks:
                parts += chunk
        return bytes(parts)

    async def configure_information_security_risk_meta(
        self,
        token: str | DataToken,
        *,
        timeout: float | None = None,
        **fields: str | int | float | bool,
    ) -> CommandHandle:
        """``POST /data-token/configure-information-security-risk-meta``: free-form risk meta.

        Form ``token`` plus every keyword argument as one form field; snake_case names go on
        the wire in camelCase (``retention_days=365`` → ``retentionDays=365``), camelCase
        ones unchanged. Values must be text, numbers or booleans (sent as ``1``/``0``); the
        schema is soft (the probe sends ``classification`` and ``retentionDays``).
        """
        args: dict[str, object] = {"token": _token_of(token)}
        for name, field_value in fields.items():
            wire = camel_case(name)
            if wire == "token" or not wire:
                raise InvalidArgumentError(name, "is not a risk meta field name", field=wire)
            if not isinstance(field_value, _PLAIN_TYPES):
                raise InvalidArgumentError(
                    name,
                    f"must be text, a number or a boolean, not {type(field_value).__name__}",
                    field=wire,
                )
            args[wire] = field_value
        return await self._client.command(
            "data_tokens.configure_information_security_risk_meta", args, timeout=timeout
        )

    async def configure_file_meta(
        self,
        temporary_token: str | TemporaryToken,
        *,
        file_name: str,
        extension: str,
        context: str,
        size: int,
        path: str = "/",
    ) -> str:
        """``POST /data-token/configure-file-meta``: make the data permanent.

        Send the **temporary** token once the space holds data (after the exchange settled or
        the upload finished); ``size`` is the plaintext length in bytes. Returns the
        permanent ``dtk-`` token (answer ``{token}`` or a bare string): store it.
        """
        token = require_token("temporary_token", _token_of(temporary_token), field="token")
        require_int("size", size, minimum=0)
        args = {
            "token": token,
            "file_name": file_name,
            "extension": extension,
            "context": context,
            "size": size,
            "path": path,
        }
        response = await self._client.call("data_tokens.configure_file_meta", args)
        return _single_token(response.body, "data_tokens.configure_file_meta")

    async def list(self, *, page: int | None = None, per_page: int | None = None) -> DataTokenPage:
        """``GET /data-token/list-data-tokens?page=&perPage=``: one page of permanent tokens.

        The answer ``{items: [...], meta: {count, page, perPage}}`` (declared, never recorded)
        and a bare list are both accepted. See :meth:`iterate` for every page.
        """
        if page is not None:
            require_int("page", page, minimum=1)
        if per_page is not None:
            require_int("per_page", per_page, minimum=1, field="perPage")
        response = await self._client.call("data_tokens.list", {"page": page, "per_page": per_page})
        body: Any = response.body
        if isinstance(body, list):
            body = {"items": body}
        return structure(body, DataTokenPage, endpoint="data_tokens.list")

    async def iterate(self, *, per_page: int = 50) -> AsyncIterator[DataToken]:
        """Every permanent token, page after page (chains :meth:`list`).

        Stops after a short or empty page, or once ``meta.count`` tokens were seen. A server
        that serves the same page twice (ignoring ``page``) is a ``ProtocolError`` rather
        than an endless loop.
        """
        require_int("per_page", per_page, minimum=1, field="perPage")
        seen = 0
        number = 1
        previous: list[DataToken] | None = None
        while True:
            page = await self.list(page=number, per_page=per_page)
            if not page.items:
                return
            if previous is not None and page.items == previous:
                raise ProtocolError(f"data_tokens.list: page {number} repeats the page before")
            for item in page.items:
                yield item
            seen += len(page.items)
            count = page.meta.count if page.meta is not None else None
            if len(page.items) < per_page or (count is not None and seen >= count):
                return
            previous = page.items
            number += 1

    async def update(
        self,
        token: str | DataToken,
        *,
        file_name: str | None = None,
        extension: str | None = None,
        context: str | None = None,
        timeout: float | None = None,
    ) -> CommandHandle:
        """``POST /data-token/update-data-token``: change a token's file metadata.

        At least one of ``file_name``, ``extension`` and ``context`` is required; omitted ones
        are not sent. (The official docs' JSON ``/data-token/update-data``, which replaces the
        data itself, is a different call and not this one.)
        """
        changes = {"file_name": file_name, "extension": extension, "context": context}
        if all(given is None for given in changes.values()):
            raise InvalidArgumentError(
                "file_name", "give at least one of file_name, extension, context"
            )
        return await self._client.command(
            "data_tokens.update", {"token": _token_of(token), **changes}, timeout=timeout
        )

    async def delete(
        self, token: str | DataToken, *, timeout: float | None = None
    ) -> CommandHandle:
        """``POST /data-token/delete-data``: delete the data behind a permanent token.

        The ack confirms dispatch, not deletion on every storage device; afterwards
        :meth:`request_data` on the token is a 404.
        """
        return await self._client.command(
            "data_tokens.delete", {"token": _token_of(token)}, timeout=timeout
        )


def _inline_envelope(body: Any) -> bytes | None:
    """The ciphertext of an inline answer, or ``None`` if ``body`` is not base64 of one."""
    if not isinstance(body, str):
        return None
    try:
        raw = base64.b64decode(body, validate=True)
    except (binascii.Error, ValueError):
        return None
    return raw if len(raw) >= OVERHEAD else None
