"""A Privicore client as an independent integrator would write it from the wire reference alone.

Plain aiohttp, nothing from ``privicore_async``, and deliberately narrow (wire reference §a4b):
a command's id is read from its 202 body only, which must be a bare JSON string (no header, no
array, no object); ``POST /request-status/{id}`` must answer a bare status word; and the first
``X-DPT-CAB-ID`` message with the command's id on the WebSocket is its outcome (2 succeeded,
3 rejected with ``body`` as the reason). Anything this client does not understand raises
:class:`WireError`, so a test that completes a flow with it shows the server spoke that wire.
"""

from __future__ import annotations

import asyncio
import json
import uuid
from typing import Any

import aiohttp

AUTH_HEADER = "X-DPT-AUTHORIZATION"
ACK = "X-DPT-CAB-ID"
WATCHED = (ACK, "X-DPT-CAB-REQUEST-ID", "STREAM-READY")  # every other message type is ignored
STATUS_WORDS = ("started", "succeeded", "rejected")
OUTCOMES = {2: "succeeded", 3: "rejected"}


class WireError(AssertionError):
    """The server answered something this client does not understand."""


class MinimalClient:
    def __init__(self, api_url: str, ws_url: str) -> None:
        self.api_url, self.ws_url = api_url, ws_url
        self.token: str | None = None
        self.accepted: list[str] = []  # every command id, as read from its 202 body
        self.messages: list[dict[str, Any]] = []  # every watched WebSocket message, in order
        self._firsts: dict[tuple[str, str], asyncio.Future[dict[str, Any]]] = {}
        self._ws: aiohttp.ClientWebSocketResponse | None = None
        self._listener: asyncio.Task[None] | None = None

    async def __aenter__(self) -> MinimalClient:
        self.session = aiohttp.ClientSession()
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        if self._listener is not None:
            self._listener.cancel()
            await asyncio.gather(self._listener, return_exceptions=True)
        if self._ws is not None:
            await self._ws.close()
        for future in self._firsts.values():
            future.cancel()  # nobody waited for it: no "exception never retrieved" later
        await self.session.close()

    async def request(
        self, method: str, path: str, *, auth: bool = True, **kwargs: Any
    ) -> tuple[int, Any, bytes]:
        """One request to the API host (or to a full URL): status, headers, raw body."""
        headers = dict(kwargs.pop("headers", {}))
        if auth and self.token is not None:
            headers[AUTH_HEADER] = self.token
        url = path if "://" in path else self.api_url + path
        async with self.session.request(method, url, headers=headers, **kwargs) as response:
            return response.status, response.headers, await response.read()

    async def call(self, method: str, path: str, *, expect: int = 200, **kwargs: Any) -> Any:
        """A request that must answer ``expect``: its JSON, or raw bytes if it is not JSON."""
        status, headers, raw = await self.request(method, path, **kwargs)
        if status != expect:
            raise WireError(f"{method} {path}: {status}, not {expect}: {raw[:200]!r}")
        is_json = headers.get("Content-Type", "").startswith("application/json")
        return json.loads(raw) if is_json else raw

    async def command(self, path: str, *, method: str = "POST", **kwargs: Any) -> str:
        """Send a command: 202 with a bare JSON string body, the command id."""
        status, _, raw = await self.request(method, path, **kwargs)
        if status != 202:
            raise WireError(f"{method} {path}: {status}, not 202: {raw[:200]!r}")
        try:
            command_id = json.loads(raw)
        except ValueError:
            raise WireError(f"{path}: the 202 body {raw[:100]!r} is not JSON") from None
        if not isinstance(command_id, str) or not command_id:
            raise WireError(f"{path}: the 202 body {raw[:100]!r} is not a bare JSON string")
        self.accepted.append(command_id)
        return command_id

    async def status(self, command_id: str) -> str:
        """One status read: the bare word."""
        word = await self.call("POST", f"/request-status/{command_id}", json={})
        if word not in STATUS_WORDS:
            raise WireError(f"status of {command_id}: {word!r} is not a bare status word")
        return str(word)

    async def poll(self, command_id: str, timeout: float = 5.0) -> str:
        """Read the status every 20 ms until it is not "started"."""
        async with asyncio.timeout(timeout):
            while True:
                word = await self.status(command_id)
                if word != "started":
                    return word
                await asyncio.sleep(0.02)

    async def login(self, username: str, password: str) -> None:
        """Authenticate (form), then join the WebSocket channel with the token."""
        form = {"username": username, "password": password}
        answer = await self.call("POST", "/profile/authenticate", data=form, auth=False)
        self.token = answer["authorizationToken"]
        self._ws = await self.session.ws_connect(self.ws_url)
        correlation = str(uuid.uuid4())
        join = {"authorizationToken": self.token}
        await self._ws.send_json(
            {"action": "joinChannel", "data": join, "correlationId": correlation}
        )
        async with asyncio.timeout(10):
            while (frame := await self._ws.receive_json()).get("status") != 200:
                if frame.get("status") is not None:  # a refusal; keep-alives carry no status
                    raise WireError(f"join refused: {frame!r}")
        if frame.get("correlationId") != correlation or not frame["data"].get("channelId"):
            raise WireError(f"join answer {frame!r}")
        self._listener = asyncio.create_task(self._listen(self._ws))

    async def _listen(self, ws: aiohttp.ClientWebSocketResponse) -> None:
        async for message in ws:
            if message.type is not aiohttp.WSMsgType.TEXT:
                continue
            data = json.loads(message.data).get("data")
            if isinstance(data, dict) and data.get("type") in WATCHED:
                self.messages.append(data)
                first = self._first(data["type"], data["id"])
                if not first.done():  # the first message of a kind for an id is the one
                    first.set_result(data)

    def _first(self, kind: str, message_id: str) -> asyncio.Future[dict[str, Any]]:
        if (kind, message_id) not in self._firsts:
            self._firsts[kind, message_id] = asyncio.get_running_loop().create_future()
        return self._firsts[kind, message_id]

    async def message(self, kind: str, message_id: str, timeout: float = 5.0) -> dict[str, Any]:
        """The first WebSocket message of ``kind`` for ``message_id`` (one that came early too)."""
        async with asyncio.timeout(timeout):
            return await asyncio.shield(self._first(kind, message_id))

    async def outcome(self, command_id: str) -> tuple[str, Any]:
        """The first ``X-DPT-CAB-ID`` of the command: ("succeeded" | "rejected", body)."""
        ack = await self.message(ACK, command_id)
        if ack.get("command_status") not in OUTCOMES:
            raise WireError(f"the first ack of {command_id} is not an outcome: {ack!r}")
        return OUTCOMES[ack["command_status"]], ack.get("body")

    async def run(self, path: str, **kwargs: Any) -> tuple[str, str, Any]:
        """A command and its outcome: (command id, "succeeded" | "rejected", body)."""
        command_id = await self.command(path, **kwargs)
        return (command_id, *await self.outcome(command_id))
