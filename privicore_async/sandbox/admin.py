"""Driving a sandbox from outside its process: the client of the ``/_sandbox/`` admin API.

:class:`SandboxAdmin` speaks the admin API (:mod:`.admin_routes`): one typed method per
endpoint, mirroring the :class:`~.server.Sandbox` methods an in-process test would call
(``sb.vote(...)`` there is ``await admin.vote(...)`` here). :class:`~.child.SandboxProcess`
runs the sandbox as a child process and hands out an admin client for it.

The admin token is a secret: it travels in a header of each admin request and appears in no
``repr``, exception message or log line of this module.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from types import TracebackType
from typing import Any, Self, TypeVar, overload
from urllib.parse import quote

import aiohttp
import attrs

from ..errors import PrivicoreError
from .access import ADMIN_TOKEN_HEADER

__all__ = [
    "Ballot",
    "SandboxAdmin",
    "SandboxAdminError",
    "SandboxPool",
    "SandboxUser",
]

T = TypeVar("T")


# -- what the admin API answers ---------------------------------------------------------------


class SandboxAdminError(PrivicoreError):
    """The admin API answered with an error status, or with a body that is not what the
    endpoint answers. ``status`` is the HTTP status, ``message`` the sandbox's own words (or
    what was wrong with the body), ``errors`` the refused fields of a 422. Never carries the
    admin token. Failing to reach the sandbox at all raises :class:`aiohttp.ClientError`."""

    def __init__(
        self, status: int, message: str, errors: Mapping[str, list[str]] | None = None
    ) -> None:
        self.status = status
        self.message = message
        self.errors: Mapping[str, list[str]] = dict(errors or {})
        details = "".join(f"; {field}: {' '.join(texts)}" for field, texts in self.errors.items())
        super().__init__(f"sandbox admin API answered {status}: {message}{details}")

    def __repr__(self) -> str:
        return f"SandboxAdminError(status={self.status}, message={self.message!r})"


@attrs.frozen
class Ballot:
    """One authenticator's vote in a pool."""

    device_identifier: str
    approve: bool


@attrs.frozen
class SandboxPool:
    """A voting pool as ``GET /_sandbox/pools`` shows it (any profile's).

    ``eligible`` are the devices that may vote; ``required`` the yes votes that approve;
    ``command_id`` the command the pool holds (``None`` for a manual pool); ``created_at`` and
    ``expires_at`` are ISO-8601 text, as Privicore writes times.
    """

    pool_id: str
    profile_id: str
    status: str
    eligible: tuple[str, ...]
    required: int
    ballots: tuple[Ballot, ...]
    command_id: str | None
    configuration_id: str | None
    description: str | None
    created_at: str
    expires_at: str

    @property
    def approvals(self) -> int:
        """Yes votes so far."""
        return sum(b.approve for b in self.ballots)

    @property
    def rejections(self) -> int:
        """No votes so far."""
        return len(self.ballots) - self.approvals


@attrs.frozen
class SandboxUser:
    """A seeded user as the admin API shows it: log in with its username (and the password
    it was seeded with, which the API never gives back); ``device_ids`` are approved, online
    storage devices, oldest first."""

    username: str
    profile_id: str
    device_ids: tuple[str, ...]


def _text(value: object) -> str:
    if not isinstance(value, str):
        raise TypeError("expected text")
    return value


def _optional_text(value: object) -> str | None:
    return None if value is None else _text(value)


def _whole(value: object) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise TypeError("expected a whole number")
    return value


def _number(value: object) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise TypeError("expected a number")
    return float(value)


def _object(value: object) -> dict[str, Any]:
    if not isinstance(value, dict):
        raise TypeError("expected an object")
    return value


def _list(value: object) -> list[Any]:
    if not isinstance(value, list):
        raise TypeError("expected an array")
    return value


def _map_of(values: Callable[[object], T]) -> Callable[[object], dict[str, T]]:
    return lambda body: {_text(k): values(v) for k, v in _object(body).items()}


def _pool(body: object) -> SandboxPool:
    pool = _object(body)
    return SandboxPool(
        pool_id=_text(pool["poolId"]),
        profile_id=_text(pool["profileId"]),
        status=_text(pool["status"]),
        eligible=tuple(_text(d) for d in _list(pool["eligible"])),
        required=_whole(pool["required"]),
        ballots=tuple(
            Ballot(_text(_object(v)["deviceIdentifier"]), bool(_object(v)["approve"]))
            for v in _list(pool["votes"])
        ),
        command_id=_optional_text(pool.get("commandId")),
        configuration_id=_optional_text(pool.get("configurationId")),
        description=_optional_text(pool.get("description")),
        created_at=_text(pool["createdAt"]),
        expires_at=_text(pool["expiresAt"]),
    )


def _user(body: object) -> SandboxUser:
    user = _object(body)
    return SandboxUser(
        _text(user["username"]),
        _text(user["profileId"]),
        tuple(_text(d) for d in _list(user["deviceIds"])),
    )


_NOT_PARSED: Any = object()


def _json(raw: bytes) -> object:
    """The body as JSON, or :data:`_NOT_PARSED`."""
    try:
        return json.loads(raw)
    except ValueError:  # also bytes that are not UTF-8
        return _NOT_PARSED


def _flag(value: bool) -> str:
    return "1" if value else "0"


def _segment(value: str) -> str:
    """``value`` as one path segment (a ``/`` in an id must not make two)."""
    return quote(value, safe="")


# -- the client -----------------------------------------------------------------------------------


class SandboxAdmin:
    """A client of a sandbox's ``/_sandbox/`` admin API (see :mod:`.admin_routes`).

    ``url`` is the sandbox's API URL (``Sandbox.api_url``, ``SandboxProcess.api_url``),
    ``token`` its admin token (``Sandbox.admin_token``, ``SandboxProcess.admin_token``). Use it
    as ``async with SandboxAdmin(url, token) as admin:``, or call :meth:`close`: it owns the
    aiohttp session it opens, unless one is given as ``session`` (then closing it is the
    caller's business). ``timeout`` bounds each request, in seconds.

    Any non-2xx answer, or a body that is not what the endpoint answers, raises
    :class:`SandboxAdminError`.
    """

    def __init__(
        self,
        url: str,
        token: str,
        *,
        session: aiohttp.ClientSession | None = None,
        timeout: float = 30.0,
    ) -> None:
        if not isinstance(token, str) or not token:
            raise ValueError("SandboxAdmin needs the sandbox's admin token (a non-empty string)")
        self._base = url.rstrip("/") + "/_sandbox"
        self._token = token
        # Per request, not on the session: a given session may also talk to other hosts.
        self._headers = {ADMIN_TOKEN_HEADER: token}
        self._given = session
        self._owned: aiohttp.ClientSession | None = None
        self._timeout = aiohttp.ClientTimeout(total=timeout)

    def __repr__(self) -> str:
        return f"SandboxAdmin({self._base.removesuffix('/_sandbox')!r})"  # never the token

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.close()

    async def close(self) -> None:
        """Close the session this client opened (a given one stays open). Idempotent."""
        owned, self._owned = self._owned, None
        if owned is not None:
            await owned.close()

    def _session(self) -> aiohttp.ClientSession:
        if self._given is not None:
            return self._given
        if self._owned is None:
            # Opened on first use, inside the running loop (aiohttp wants one).
            self._owned = aiohttp.ClientSession()
        return self._owned

    async def _call(
        self,
        method: str,
        path: str,
        parse: Callable[[object], T],
        *,
        data: Mapping[str, str] | None = None,
        params: Mapping[str, str] | None = None,
    ) -> T:
        """Send one admin request; the answer's JSON body through ``parse``."""
        request = self._session().request(
            method,
            self._base + path,
            headers=self._headers,
            data=data,
            params=params,
            timeout=self._timeout,
        )
        async with request as response:
            status, raw = response.status, await response.read()
        body = _json(raw)
        if not 200 <= status < 300:
            raise self._refused(status, body)
        understood = True
        try:
            parsed = parse(body)
        except (TypeError, KeyError, ValueError):
            understood = False
        if not understood:
            # Raised here, not in the except: nothing of the body is chained to the error.
            raise SandboxAdminError(status, f"unexpected answer to {method} {path}")
        return parsed

    def _refused(self, status: int, body: object) -> SandboxAdminError:
        text, errors = f"HTTP {status}", None
        if isinstance(body, dict):
            if isinstance(body.get("message"), str):
                text = body["message"]
            if isinstance(body.get("errors"), dict):
                errors = {
                    str(k): [str(t) for t in v] if isinstance(v, list) else [str(v)]
                    for k, v in body["errors"].items()
                }
        # The sandbox never echoes the token; a proxy in between might: take it out anyway.
        redacted = {k: [self._redact(t) for t in v] for k, v in (errors or {}).items()}
        return SandboxAdminError(status, self._redact(text), redacted)

    def _redact(self, text: str) -> str:
        return text.replace(self._token, "[admin token]")

    # -- counters and clocks ---------------------------------------------------------------

    async def stats(self) -> dict[str, Any]:
        """The sandbox's counters (``requests``, ``status_requests``, ``commands_*``, ``ws``)."""
        return await self._call("GET", "/stats", _object)

    async def settled(self) -> dict[str, float]:
        """``{command_id: settled_at}`` (wall clock, ``time.time()``) of every settled command."""
        return await self._call("GET", "/settled", _map_of(_number))

    async def due(self) -> dict[str, float]:
        """``{command_id: due_at}`` (wall clock) of every pending command: when it settles."""
        return await self._call("GET", "/due", _map_of(_number))

    @overload
    async def commands_by_target(self) -> dict[str, dict[str, int]]: ...

    @overload
    async def commands_by_target(self, route: str) -> dict[str, int]: ...

    async def commands_by_target(
        self, route: str | None = None
    ) -> dict[str, int] | dict[str, dict[str, int]]:
        """Accepted commands per target device: of ``route`` (a route name such as
        ``"storage.sync_device"``) as ``{device: count}``, else ``{route: {device: count}}``.

        Every acceptance counts, so a command sent twice shows as 2.
        """
        counts = _map_of(_whole)
        if route is None:
            return await self._call("GET", "/commands/by-target", _map_of(counts))
        return await self._call("GET", "/commands/by-target", counts, params={"route": route})

    # -- knobs -----------------------------------------------------------------------------

    async def set_latency(
        self, latency: float | None = None, jitter: float | None = None
    ) -> tuple[float, float]:
        """Latency and jitter (seconds) of commands accepted from now on; ``None`` keeps one as
        it is. Returns both as now set."""
        form = {
            name: repr(float(value))
            for name, value in (("latency", latency), ("jitter", jitter))
            if value is not None
        }

        def both(body: object) -> tuple[float, float]:
            answer = _object(body)
            return _number(answer["latency"]), _number(answer["jitter"])

        return await self._call("POST", "/latency", both, data=form)

    async def set_device_online(self, device_identifier: str, online: bool) -> None:
        """Mark a device online or offline (``sync-device`` rejects offline ones on settle)."""
        path = f"/devices/{_segment(device_identifier)}/online"
        await self._call("POST", path, _object, data={"online": _flag(online)})

    async def expire_tokens(self) -> int:
        """Expire every token issued so far (they answer 401 from now on); returns how many."""
        return await self._call("POST", "/tokens/expire", lambda b: _whole(_object(b)["expired"]))

    # -- voting ----------------------------------------------------------------------------

    async def pools(self, *, status: str | None = None) -> list[SandboxPool]:
        """Every voting pool, oldest first; ``status`` (``"open"``, ``"approved"``, ...) filters."""
        params = None if status is None else {"status": status}
        return await self._call(
            "GET", "/pools", lambda b: [_pool(p) for p in _list(b)], params=params
        )

    async def vote(self, pool_id: str, device_identifier: str, approve: bool) -> str:
        """Cast an authenticator's ballot (what its own app would do); the pool's status after.

        A decided pool settles the command it holds. Errors: 404 for an unknown pool, 409 for a
        pool no longer open or a device that already voted, 422 for a device that may not vote.
        """
        path = f"/pools/{_segment(pool_id)}/votes"
        form = {"device": device_identifier, "approve": _flag(approve)}
        return await self._call("POST", path, lambda b: _text(_object(b)["status"]), data=form)

    # -- seeding ---------------------------------------------------------------------------

    async def seed_user(self, username: str, password: str, *, devices: int = 0) -> SandboxUser:
        """Add a user with ``devices`` approved, online storage devices, without commands.

        409 if the username is taken, 422 for a bad argument.
        """
        form = {"username": username, "password": password, "devices": str(devices)}
        return await self._call("POST", "/users", _user, data=form)

    async def users(self) -> list[SandboxUser]:
        """The seeded users (``--user``, ``users=``, :meth:`seed_user`), oldest first."""
        return await self._call("GET", "/users", lambda b: [_user(u) for u in _list(b)])

    # -- faults ----------------------------------------------------------------------------

    async def inject(
        self,
        route_name: str,
        fault: str,
        times: int = 1,
        *,
        retry_after: float | None = None,
        delay: float | None = None,
    ) -> None:
        """Make the next ``times`` requests to ``route_name`` meet ``fault`` (``"error"``,
        ``"reset"``, ``"rate_limit"``, ``"slow"``, ``"unauthorized"``, ``"lost"``); as
        :meth:`Sandbox.inject <privicore_async.sandbox.Sandbox.inject>`."""
        form = {"route": route_name, "fault": fault, "times": str(times)}
        if retry_after is not None:
            form["retry_after"] = repr(float(retry_after))
        if delay is not None:
            form["delay"] = repr(float(delay))
        await self._call("POST", "/faults", _object, data=form)

    async def ws_drop_next(self, n: int = 1) -> None:
        """Never send the settle acks of the next ``n`` settles."""
        await self._call("POST", "/ws/drop-next", _object, data={"n": str(n)})

    async def ws_refuse_joins(self, n: int = 1) -> None:
        """Answer the next ``n`` ``joinChannel`` with 401, valid token or not."""
        await self._call("POST", "/ws/refuse-joins", _object, data={"n": str(n)})

    async def ws_disconnect_all(self) -> int:
        """Close every client socket of the ack channel now; returns how many."""
        return await self._call(
            "POST", "/ws/disconnect-all", lambda b: _whole(_object(b)["disconnected"])
        )
