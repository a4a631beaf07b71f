"""Drive the embedded sandbox over loopback with a plain aiohttp client, by route name."""

from __future__ import annotations

import asyncio
import re
import time
from collections.abc import AsyncIterator, Mapping
from contextlib import asynccontextmanager
from typing import Any

import aiohttp
import attrs
from multidict import CIMultiDictProxy

from privicore_async.routes import ROUTES
from privicore_async.sandbox import Sandbox
from privicore_async.sandbox.engine import Command, CommandState
from privicore_async.wire.http import decode_body, extract_command_id

LATENCY = 0.02
UNAUTHORIZED = {"message": "Unauthorized"}
NOT_FOUND = {"message": "Record not found"}
UUID = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}")


def invalid(field: str, text: str = "This value should not be blank.") -> dict[str, Any]:
    return {"message": "Validation failed", "errors": {field: [text]}}


@attrs.frozen
class Answer:
    status: int
    headers: CIMultiDictProxy[str]
    raw: bytes

    @property
    def body(self) -> Any:
        return decode_body(self.raw)

    @property
    def command_id(self) -> str | None:
        """The id wherever this 202 carries it (body by default, header for some routes)."""
        if self.status != 202:
            return None
        return extract_command_id(self.body, self.headers)


class Api:
    """Requests by route name against one sandbox."""

    def __init__(self, sb: Sandbox, http: aiohttp.ClientSession) -> None:
        self.sb = sb
        self.http = http

    async def call(
        self,
        name: str,
        data: Mapping[str, str] | None = None,
        *,
        token: str | None = None,
        path: Mapping[str, str] | None = None,
        method: str | None = None,
        http: aiohttp.ClientSession | None = None,
    ) -> Answer:
        route = ROUTES[name]
        headers = {"X-DPT-AUTHORIZATION": token} if token is not None else {}
        kwargs: dict[str, Any] = {"headers": headers}
        if route.method == "POST":
            kwargs["data"] = dict(data or {})  # always form-encoded, also when empty
        if name == "utility.command_status" and (method or route.method) == "POST":
            kwargs = {"headers": headers, "json": {}}
        url = self.sb.api_url + route.render_path(path)
        async with (http or self.http).request(method or route.method, url, **kwargs) as resp:
            return Answer(resp.status, resp.headers, await resp.read())

    async def command(self, name: str, data: Mapping[str, str], token: str | None) -> str:
        answer = await self.call(name, data, token=token)
        assert answer.status == 202, (answer.status, answer.body)
        assert answer.command_id is not None
        return answer.command_id

    async def settled(self, command_id: str, timeout: float = 2.0) -> Command:
        deadline = time.monotonic() + timeout
        while self.sb.settled_at(command_id) is None:
            assert time.monotonic() < deadline, f"command {command_id} did not settle"
            await asyncio.sleep(0.005)
        return self.sb.state.commands[command_id]

    async def run(self, name: str, data: Mapping[str, str], token: str | None) -> Command:
        return await self.settled(await self.command(name, data, token))

    async def status(self, command_id: str, method: str | None = None) -> Answer:
        return await self.call(
            "utility.command_status", path={"commandId": command_id}, method=method
        )

    async def profile(self, username: str = "alice", password: str = "s3cret") -> str:
        """Register, wait, authenticate: the caller's token (§c1)."""
        command = await self.run(
            "profile.register", {"username": username, "password": password}, None
        )
        assert command.state is CommandState.SUCCEEDED
        answer = await self.call(
            "profile.authenticate", {"username": username, "password": password}
        )
        assert answer.status == 200, answer.body
        token: str = answer.body["authorizationToken"]
        return token

    async def device(self, token: str, name: str = "phone", *, approve: bool = True) -> str:
        """Request an identifier, retrieve it, approve it (§c2)."""
        command = await self.run("devices.request_unique_identifier", {"deviceName": name}, token)
        answer = await self.call(
            "devices.retrieve_unique_identifier", {"id": command.command_id}, token=token
        )
        assert answer.status == 200, answer.body
        identifier: str = answer.body["deviceIdentifier"]
        if approve:
            approved = await self.run("devices.approve", {"deviceIdentifier": identifier}, token)
            assert approved.state is CommandState.SUCCEEDED
        return identifier

    async def storage_device(self, token: str, name: str = "nas") -> str:
        identifier = await self.device(token, name)
        command = await self.run("storage.register", {"deviceIdentifier": identifier}, token)
        assert command.state is CommandState.SUCCEEDED
        return identifier

    async def outcome(self, name: str, data: Mapping[str, str], token: str) -> tuple[int, Any]:
        command = await self.run(name, data, token)
        return int(command.state), command.body


@asynccontextmanager
async def serving(**kwargs: Any) -> AsyncIterator[Api]:
    kwargs.setdefault("latency", LATENCY)
    async with Sandbox(**kwargs) as sb, aiohttp.ClientSession() as http:
        yield Api(sb, http)
