"""The endpoint table: one :class:`Route` per endpoint of the seed document (86 rows), plus
a few calls the seed does not list (``seed = false``, :attr:`Route.seed`).

The rows are package data, ``routes.toml`` beside this module, loaded and checked at import;
no other file holds a path string. Seed rows follow ``wire/endpoints.json``: method, path, body
encoding, auth kind, phase, parameters, and the evidence behind the row. Rows whose evidence is
``"inferred"`` were proposed from naming conventions and have never been seen on a live server;
:meth:`RouteTable.with_overrides` lets a user correct any of them without patching the package::

    PrivicoreClient(routes={"directories.register": ("POST", "/directory/register")})

Path parameters are URL-quoted with no safe characters, so an identifier such as ``../x`` or
``a/b`` always stays one path segment.
"""

from __future__ import annotations

import enum
import re
import tomllib
from collections.abc import Iterable, Iterator, Mapping
from importlib import resources
from typing import Any
from urllib.parse import quote

import attrs

from .arguments import require_text, require_token

__all__ = [
    "ALTERNATIVES",
    "Alternative",
    "Bound",
    "Check",
    "ROUTES",
    "Auth",
    "Encoding",
    "Host",
    "Location",
    "Param",
    "Phase",
    "Route",
    "RouteTable",
]


class Encoding(enum.Enum):
    """How a request carries its parameters."""

    NONE = "none"
    FORM = "form"  # application/x-www-form-urlencoded
    JSON = "json"  # application/json
    QUERY = "query"  # query string (PHP-style repeated ``name[]`` keys allowed)
    BINARY = "binary"  # raw bytes (application/octet-stream)


class Auth(enum.Enum):
    """Which credential a request carries (wire reference §a2)."""

    NONE = "none"
    TOKEN = "token"  # X-DPT-AUTHORIZATION: <token>
    CLIENT_SECRET_BASIC = "basic-client-secret"  # Authorization: Basic base64(id:secret)
    RAW_BASIC = "raw-basic"  # Authorization: Basic <access token verbatim>
    QUERY_AUTH = "query-auth"  # ?auth=<single-use token>


class Phase(enum.Enum):
    """When the outcome of a call is known."""

    SYNC = "sync"  # in the HTTP answer
    COMMAND = "async-command"  # 202 + command id, settled later
    REQUEST = "async-request"  # 202 + request id header, answered on the WebSocket
    SYNC_OR_COMMAND = "sync-or-async-command"  # 200 with the answer, or 202 + command id
    COMMAND_WITHOUT_ID = "async-no-command-id"  # 202, id only if an x-dpt-cab-id header appears

    @property
    def tracked(self) -> bool:
        """True when a call's answer is a command to track: the SDK returns a handle for it."""
        return self in (Phase.COMMAND, Phase.COMMAND_WITHOUT_ID)


class Host(enum.Enum):
    """Which server a route lives on."""

    API = "api"
    UPSTREAM = "upstream"
    DOWNSTREAM = "downstream"


class Location(enum.Enum):
    """Where a parameter goes."""

    PATH = "path"
    FORM = "form"
    JSON = "json"
    QUERY = "query"


class Check(enum.Enum):
    """What :meth:`Route.bind` checks a parameter's value for."""

    TEXT = "text"  # a non-blank string
    TOKEN = "token"  # a non-blank string with no whitespace or control character; never echoed
    VALUE = "value"  # anything: the resource method checks it (numbers, lists, mappings, flags)
    CREDENTIAL = "credential"  # filled by the call's credential (``?auth=``), not by an argument


def _snake(name: str) -> str:
    return re.sub(r"(?<=[a-z0-9])(?=[A-Z])", "_", name.removesuffix("[]")).lower()


@attrs.frozen
class Param:
    """One documented wire parameter of a route, and the Python argument that fills it."""

    name: str
    location: Location
    required: bool = True
    check: Check = Check.TEXT
    arg: str = attrs.field(default=attrs.Factory(lambda self: _snake(self.name), takes_self=True))
    """The keyword of the resource method (``deviceIdentifier`` → ``device_identifier``)."""


_PLACEHOLDER = re.compile(r"\{([A-Za-z_][A-Za-z0-9_]*)\}")


@attrs.frozen
class Route:
    """One endpoint: everything needed to put a call on the wire, and where that came from."""

    name: str  # "<resource attribute>.<method name>", e.g. "storage.sync_device"
    group: str  # the seed's group title
    title: str  # the seed's endpoint title
    method: str
    path: str
    encoding: Encoding
    auth: Auth
    phase: Phase
    evidence: str  # probe / probe-hint / seed / official-docs / inferred
    params: tuple[Param, ...] = ()
    open_fields: bool = False  # free-form extra fields are allowed
    phase_assumed: bool = False
    host: Host = Host.API
    seed: bool = True
    """False for a call the seed document does not list (wire reference §b3: named only by a
    guide); such rows are kept apart from the 86 that ``wire/endpoints.json`` mirrors."""
    _by_arg: dict[str, Param] = attrs.field(init=False, eq=False, repr=False)

    def __attrs_post_init__(self) -> None:
        object.__setattr__(self, "_by_arg", {p.arg: p for p in self.params})

    @property
    def inferred(self) -> bool:
        """True when no public evidence backs the path: confirm it against a live server."""
        return self.evidence == "inferred"

    @property
    def path_params(self) -> tuple[str, ...]:
        """Names of the ``{placeholders}`` in the path, in order."""
        return tuple(_PLACEHOLDER.findall(self.path))

    def render_path(self, values: Mapping[str, str] | None = None) -> str:
        """The path with every placeholder replaced by its URL-quoted value.

        Quoting uses no safe characters: ``/``, ``..``, ``?`` and ``#`` in a value can never
        change which resource the path names. A missing value is a ``KeyError`` naming it,
        an empty one a ``ValueError``.
        """
        values = values or {}

        def substitute(match: re.Match[str]) -> str:
            key = match.group(1)
            if key not in values:
                raise KeyError(f"route {self.name} needs path parameter {key!r}")
            if str(values[key]) == "":
                # An empty segment names another resource (e.g. "/request-status/").
                raise ValueError(f"route {self.name}: path parameter {key!r} is empty")
            quoted = quote(str(values[key]), safe="")
            # "." and ".." survive quote() but would be folded away as dot segments.
            return quoted.replace(".", "%2E") if quoted in (".", "..") else quoted

        return _PLACEHOLDER.sub(substitute, self.path)

    def bind(self, args: Mapping[str, object]) -> Bound:
        """Python-named arguments as this route's path values and wire fields, checked.

        Every argument must name a parameter (free-form routes take unknown names verbatim as
        wire fields), and every required parameter must be given: a mismatch is a
        ``TypeError``, a bug of the caller. Values are checked per :class:`Check`
        (:class:`~privicore_async.errors.InvalidArgumentError` naming the argument). A list
        or tuple given for a form or query parameter becomes one field per element, as
        ``scope[]`` wants. ``None`` of an optional parameter is passed on (form and query
        encodings leave it out).
        """
        params = self._by_arg
        missing = [
            p.arg
            for p in self.params
            if p.required and p.check is not Check.CREDENTIAL and p.arg not in args
        ]
        if missing:
            raise TypeError(f"route {self.name} needs {', '.join(missing)}")
        path: dict[str, str] = {}
        fields: list[tuple[str, object]] = []
        for arg, value in args.items():
            param = params.get(arg)
            if param is None or param.check is Check.CREDENTIAL:
                if not self.open_fields:
                    raise TypeError(f"route {self.name} has no parameter {arg!r}")
                fields.append((arg, value))
                continue
            if value is not None or param.required:
                _check(param, value)
            if param.location is Location.PATH:
                path[param.name] = str(value)
            elif isinstance(value, list | tuple) and param.location in _REPEATABLE:
                fields.extend((param.name, item) for item in value)
            else:
                fields.append((param.name, value))
        return Bound(path, fields)


@attrs.frozen
class Bound:
    """A call's values placed as its route says: path placeholders and wire fields."""

    path: dict[str, str] = attrs.field(repr=False)
    fields: list[tuple[str, object]] = attrs.field(repr=False)  # may hold passwords


_REPEATABLE = (Location.FORM, Location.QUERY)


def _check(param: Param, value: object) -> None:
    if param.check is Check.TEXT:
        require_text(param.arg, value, field=param.name)
    elif param.check is Check.TOKEN:
        require_token(param.arg, value, field=param.name)


_ROUTE_KEYS = frozenset(
    {
        "name",
        "group",
        "title",
        "method",
        "path",
        "encoding",
        "auth",
        "phase",
        "evidence",
        "params",
        "open_fields",
        "phase_assumed",
        "host",
        "seed",
    }
)
_PARAM_KEYS = frozenset({"name", "in", "required", "check", "arg"})


def _param(row: Mapping[str, Any], where: str) -> Param:
    unknown = set(row) - _PARAM_KEYS
    if unknown:
        raise ValueError(f"routes.toml: {where}: unknown param keys {sorted(unknown)}")
    param = Param(
        str(row["name"]),
        Location(row["in"]),
        required=bool(row.get("required", True)),
        check=Check(row.get("check", Check.TEXT.value)),
    )
    return attrs.evolve(param, arg=str(row["arg"])) if "arg" in row else param


def load_rows(text: str) -> tuple[Route, ...]:
    """The routes of a ``routes.toml`` text, every key and value checked."""
    rows = []
    for row in tomllib.loads(text)["route"]:
        where = row.get("name", "a route")
        unknown = set(row) - _ROUTE_KEYS
        if unknown:
            raise ValueError(f"routes.toml: {where}: unknown keys {sorted(unknown)}")
        rows.append(
            Route(
                name=row["name"],
                group=row["group"],
                title=row["title"],
                method=row["method"],
                path=row["path"],
                encoding=Encoding(row["encoding"]),
                auth=Auth(row["auth"]),
                phase=Phase(row["phase"]),
                evidence=row["evidence"],
                params=tuple(_param(p, where) for p in row.get("params", ())),
                open_fields=row.get("open_fields", False),
                phase_assumed=row.get("phase_assumed", False),
                host=Host(row.get("host", Host.API.value)),
                seed=bool(row.get("seed", True)),
            )
        )
    return tuple(rows)


# The rows are package data: one [[route]] table per endpoint, in the seed's order.
_ROWS = load_rows(resources.files(__package__).joinpath("routes.toml").read_text("utf-8"))


def _statuses(value: Iterable[int]) -> frozenset[int]:
    return frozenset(value)


def _within_on(
    instance: Alternative, attribute: attrs.Attribute[frozenset[int]], value: frozenset[int]
) -> None:
    if not value <= instance.on:
        raise ValueError("Alternative.unproven_only must be a subset of on")


@attrs.frozen
class Alternative:
    """A documented second choice for a route, tried once when the first answers ``on``.

    ``unproven_only`` names statuses of ``on`` that switch only while the first route has never
    answered 2xx on this client. Once it has, the first route is known to be served, and such
    a status is its own answer: for the status endpoint a 404 then means "no such command
    (yet)", and trying the alternative would only double every read of an id not visible yet.
    """

    route: Route
    on: frozenset[int] = attrs.field(converter=_statuses)
    unproven_only: frozenset[int] = attrs.field(
        default=frozenset(), converter=_statuses, validator=_within_on
    )

    def switches(self, status: int | None, *, first_proven: bool) -> bool:
        """Whether the first route's answer ``status`` makes this alternative worth a try.

        ``first_proven``: the first route has answered 2xx on this client before.
        """
        if status is None or status not in self.on:
            return False
        return not (first_proven and status in self.unproven_only)


class RouteTable(Mapping[str, Route]):
    """An immutable name → :class:`Route` mapping, with user corrections applied.

    It also knows each route's documented :class:`Alternative` (wire reference §b2).
    """

    __slots__ = ("_alternatives", "_routes")

    def __init__(
        self, routes: Mapping[str, Route], alternatives: Mapping[str, Alternative] | None = None
    ) -> None:
        self._routes = dict(routes)
        self._alternatives = dict(alternatives or {})

    def __getitem__(self, name: str) -> Route:
        return self._routes[name]

    def __iter__(self) -> Iterator[str]:
        return iter(self._routes)

    def __len__(self) -> int:
        return len(self._routes)

    def alternative(self, name: str) -> Alternative | None:
        """The documented second choice for route ``name``, if it has one."""
        return self._alternatives.get(name)

    def with_overrides(
        self, overrides: Mapping[str, tuple[str, str] | str | Route] | None
    ) -> RouteTable:
        """A copy where each named route takes a new ``(method, path)``, path, or whole Route.

        Unknown names are refused (a typo must not silently leave the wrong path in use),
        and so are paths that would drop or add a path parameter.
        """
        if not overrides:
            return self
        routes = dict(self._routes)
        for name, value in overrides.items():
            if name not in routes:
                raise ValueError(f"routes: unknown route name {name!r}")
            old = routes[name]
            if isinstance(value, Route):
                new = value
            elif isinstance(value, str):
                new = attrs.evolve(old, path=value)
            else:
                method, path = value
                new = attrs.evolve(old, method=method.upper(), path=path)
            if not new.path.startswith("/"):
                raise ValueError(f"routes: path for {name!r} must start with '/'")
            if sorted(new.path_params) != sorted(old.path_params):
                raise ValueError(
                    f"routes: path for {name!r} must keep the parameters {old.path_params}"
                )
            routes[name] = new
        return RouteTable(routes, self._alternatives)


_BY_NAME = {route.name: route for route in _ROWS}

ALTERNATIVES: Mapping[str, Alternative] = {
    # The seed TOC and the official page say GET; the probe (corrected live) uses POST; the
    # wire reference: "try POST; on 404/405 retry once with GET" (§a5). Once the POST has
    # answered 2xx on a client, a 404 is "no such command (yet)" and no longer switches.
    "utility.command_status": Alternative(
        attrs.evolve(
            _BY_NAME["utility.command_status"],
            method="GET",
            encoding=Encoding.NONE,
            evidence="seed",
        ),
        on=frozenset({404, 405}),
        unproven_only=frozenset({404}),
    ),
    # The official page documents this GET; the probe uses POST download-device-configuration.
    "devices.retrieve_configuration": Alternative(
        attrs.evolve(
            _BY_NAME["devices.retrieve_configuration"],
            method="GET",
            path="/device/retrieve-device-configuration/{deviceIdentifier}",
            encoding=Encoding.NONE,
            evidence="official-docs",
            params=(Param("deviceIdentifier", Location.PATH),),
        ),
        on=frozenset({404, 405}),
    ),
    # The official TOC says GET; the raw-Basic helper of the independent client that names
    # this path is POST-only, with a form body (§b row 17).
    "oauth.retrieve_scope": Alternative(
        attrs.evolve(
            _BY_NAME["oauth.retrieve_scope"],
            method="POST",
            encoding=Encoding.FORM,
            evidence="probe-hint",
        ),
        on=frozenset({404, 405}),
    ),
    # Our path is inferred from the group's naming; a guide says /retrieve-strategy (§b2).
    "authenticators.retrieve_voting_strategy": Alternative(
        attrs.evolve(
            _BY_NAME["authenticators.retrieve_voting_strategy"],
            path="/verified-authenticator/retrieve-strategy",
            evidence="guide",
        ),
        on=frozenset({404, 405}),
    ),
}
"""Documented second choices (wire reference §b2), and the statuses that make them worth a try."""

ROUTES = RouteTable(_BY_NAME, ALTERNATIVES)
"""The endpoints, by name: the seed's 86 and the non-seed calls (``Route.seed`` is False)."""
