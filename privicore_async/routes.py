"""The endpoint table: one :class:`Route` per endpoint of the seed document (86 rows).

This is the only module where a path string lives. Rows follow ``wire/endpoints.json``: method,
path, body encoding, auth kind, phase, and the evidence behind the row. Rows whose evidence is
``"inferred"`` were proposed from naming conventions and have never been seen on a live server;
:meth:`RouteTable.with_overrides` lets a user correct any of them without patching the package::

    PrivicoreClient(routes={"directories.register": ("POST", "/directory/register")})

Path parameters are URL-quoted with no safe characters, so an identifier such as ``../x`` or
``a/b`` always stays one path segment.
"""

from __future__ import annotations

import enum
import re
from collections.abc import Iterator, Mapping
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


P = Param
PATH, FORM, JSON, QUERY = Location.PATH, Location.FORM, Location.JSON, Location.QUERY
TOKEN, VALUE, CREDENTIAL = Check.TOKEN, Check.VALUE, Check.CREDENTIAL

_ROWS: tuple[Route, ...] = (
    Route(
        name="utility.health",
        group="Utility",
        title="Check server health",
        method="GET",
        path="/health",
        encoding=Encoding.NONE,
        auth=Auth.NONE,
        phase=Phase.SYNC,
        evidence="probe",
    ),
    Route(
        name="utility.command_status",
        group="Utility",
        title="Request command id status",
        method="POST",
        path="/request-status/{commandId}",
        encoding=Encoding.JSON,
        auth=Auth.NONE,
        phase=Phase.SYNC,
        evidence="probe",
        params=(P("commandId", PATH),),
    ),
    Route(
        name="profile.register",
        group="Profile",
        title="Register new profile",
        method="POST",
        path="/profile/register-profile",
        encoding=Encoding.FORM,
        auth=Auth.NONE,
        phase=Phase.COMMAND,
        evidence="probe",
        params=(P("username", FORM), P("password", FORM)),
    ),
    Route(
        name="profile.authenticate",
        group="Profile",
        title="Authenticate",
        method="POST",
        path="/profile/authenticate",
        encoding=Encoding.FORM,
        auth=Auth.NONE,
        phase=Phase.SYNC,
        evidence="probe",
        params=(P("username", FORM), P("password", FORM)),
    ),
    Route(
        name="profile.retrieve_profile_id",
        group="Profile",
        title="Retrieve profile id",
        method="GET",
        path="/profile/retrieve-profile-id",
        encoding=Encoding.NONE,
        auth=Auth.TOKEN,
        phase=Phase.SYNC,
        evidence="probe",
    ),
    Route(
        name="profile.change_password",
        group="Profile",
        title="Change password",
        method="POST",
        path="/profile/change-password",
        encoding=Encoding.FORM,
        auth=Auth.TOKEN,
        phase=Phase.COMMAND,
        evidence="probe",
        params=(P("currentPassword", FORM), P("newPassword", FORM)),
    ),
    Route(
        name="profile.generate_qr_token",
        group="Profile",
        title="Generate qr token for authorization",
        method="POST",
        path="/profile/generate-token-qr",
        encoding=Encoding.FORM,
        auth=Auth.TOKEN,
        phase=Phase.SYNC,
        evidence="probe",
    ),
    Route(
        name="profile.reauthorize",
        group="Profile",
        title="Reauthorize authorization token",
        method="POST",
        path="/profile/reauthorize-authorization-token",
        encoding=Encoding.FORM,
        auth=Auth.TOKEN,
        phase=Phase.SYNC_OR_COMMAND,
        evidence="probe",
        params=(P("ttl", FORM, check=VALUE),),
    ),
    Route(
        name="profile.revoke",
        group="Profile",
        title="Revoke authorization token",
        method="POST",
        path="/profile/revoke-authorization-token",
        encoding=Encoding.FORM,
        auth=Auth.TOKEN,
        phase=Phase.SYNC,
        evidence="probe",
    ),
    Route(
        name="profile.token_expiry",
        group="Profile",
        title="Retrieve token expiry",
        method="POST",
        path="/profile/authorization-token/expiry",
        encoding=Encoding.FORM,
        auth=Auth.TOKEN,
        phase=Phase.SYNC,
        evidence="probe",
    ),
    Route(
        name="oauth.register",
        group="OAuth Application",
        title="Register OAuth Application",
        method="POST",
        path="/profile/oauth-application-register",
        encoding=Encoding.FORM,
        auth=Auth.TOKEN,
        phase=Phase.COMMAND,
        evidence="probe",
        params=(P("name", FORM), P("redirectUri", FORM), P("scopes", FORM, check=VALUE)),
    ),
    Route(
        name="oauth.retrieve_configuration",
        group="OAuth Application",
        title="Retrieve OAuth app configuration",
        method="POST",
        path="/profile/retrieve-oauth-application-configuration",
        encoding=Encoding.FORM,
        auth=Auth.TOKEN,
        phase=Phase.SYNC,
        evidence="probe",
        params=(P("applicationId", FORM),),
    ),
    Route(
        name="oauth.request_authorization_code",
        group="OAuth Application",
        title="Request OAuth app authorization code",
        method="GET",
        path="/profile/oauth-application-request-authorization-code",
        encoding=Encoding.QUERY,
        auth=Auth.TOKEN,
        phase=Phase.COMMAND,
        evidence="probe",
        params=(
            P("client_id", QUERY),
            P("nonce", QUERY, check=TOKEN),
            P("scope[]", QUERY, check=VALUE),
        ),
    ),
    Route(
        name="oauth.retrieve_authorization_code",
        group="OAuth Application",
        title="Retrieve OAuth app authorization code",
        method="POST",
        path="/oauth-application/retrieve-authorization-code",
        encoding=Encoding.FORM,
        auth=Auth.CLIENT_SECRET_BASIC,
        phase=Phase.SYNC,
        evidence="probe",
        params=(P("id", FORM, arg="request_id"), P("nonce", FORM, check=TOKEN)),
    ),
    Route(
        name="oauth.obtain_access_token",
        group="OAuth Application",
        title="Obtain OAuth app access token",
        method="POST",
        path="/oauth-application/obtain-access-token",
        encoding=Encoding.FORM,
        auth=Auth.CLIENT_SECRET_BASIC,
        phase=Phase.SYNC,
        evidence="probe",
        params=(P("authorization_code", FORM, check=TOKEN),),
    ),
    Route(
        name="oauth.list",
        group="OAuth Application",
        title="OAuth application list",
        method="GET",
        path="/profile/retrieve-oauth-application-list",
        encoding=Encoding.NONE,
        auth=Auth.TOKEN,
        phase=Phase.SYNC,
        evidence="probe",
    ),
    Route(
        name="oauth.retrieve_scope",
        group="OAuth Application",
        title="Retrieve OAuth application scope",
        method="GET",
        path="/oauth-application/retrieve-oauth-application-scope",
        encoding=Encoding.NONE,
        auth=Auth.RAW_BASIC,
        phase=Phase.SYNC,
        evidence="probe-hint",
    ),
    Route(
        name="oauth.refresh_access_token",
        group="OAuth Application",
        title="Refresh OAuth app access token",
        method="POST",
        path="/oauth-application/refresh-access-token",
        encoding=Encoding.FORM,
        auth=Auth.RAW_BASIC,
        phase=Phase.SYNC,
        evidence="probe",
        params=(P("refresh_token", FORM, check=TOKEN),),
    ),
    Route(
        name="public_keys.generate",
        group="Public key",
        title="Generate your private and public keys",
        method="GET",
        path="/generate-keys",
        encoding=Encoding.NONE,
        auth=Auth.NONE,
        phase=Phase.SYNC,
        evidence="official-docs",
    ),
    Route(
        name="public_keys.register",
        group="Public key",
        title="Register public key",
        method="POST",
        path="/public-key/register-public-key",
        encoding=Encoding.FORM,
        auth=Auth.TOKEN,
        phase=Phase.COMMAND,
        evidence="probe",
        params=(P("publicKey", FORM),),
    ),
    Route(
        name="public_keys.retrieve",
        group="Public key",
        title="Retrieve public key",
        method="GET",
        path="/public-key/retrieve-public-key",
        encoding=Encoding.NONE,
        auth=Auth.TOKEN,
        phase=Phase.SYNC,
        evidence="probe",
    ),
    Route(
        name="public_keys.retrieve_cab_key",
        group="Public key",
        title="Retrieve CAB public key",
        method="GET",
        path="/dptcab/public-key",
        encoding=Encoding.NONE,
        auth=Auth.TOKEN,
        phase=Phase.SYNC,
        evidence="probe",
    ),
    Route(
        name="data_tokens.reserve_token_space",
        group="Data Token",
        title="Reserve token space",
        method="POST",
        path="/data-token/reserve-token-space",
        encoding=Encoding.FORM,
        auth=Auth.TOKEN,
        phase=Phase.COMMAND,
        evidence="probe",
        params=(
            P("context", FORM),
            P("ttl", FORM, required=False, check=VALUE),
            P("meta", FORM, required=False, check=VALUE),
        ),
    ),
    Route(
        name="data_tokens.retrieve_temporary_token",
        group="Data Token",
        title="Retrieve temporary data token",
        method="GET",
        path="/data-token/retrieve-temporary-data-token/{commandId}",
        encoding=Encoding.NONE,
        auth=Auth.TOKEN,
        phase=Phase.SYNC,
        evidence="probe",
        params=(P("commandId", PATH, arg="reservation_id"),),
    ),
    Route(
        name="data_tokens.exchange",
        group="Data Token",
        title="Exchange data for token",
        method="POST",
        path="/data-token/exchange-data-for-token",
        encoding=Encoding.FORM,
        auth=Auth.TOKEN,
        phase=Phase.COMMAND,
        evidence="probe",
        params=(
            P("temporaryTokenSpace", FORM, check=TOKEN, arg="temporary_token"),
            P("data", FORM, check=VALUE),
        ),
    ),
    Route(
        name="data_tokens.upload",
        group="Data Token",
        title="Upstream file via stream auth",
        method="POST",
        path="/",
        encoding=Encoding.BINARY,
        auth=Auth.QUERY_AUTH,
        phase=Phase.SYNC,
        evidence="official-docs",
        params=(P("auth", QUERY, check=CREDENTIAL),),
        host=Host.UPSTREAM,
    ),
    Route(
        name="data_tokens.request_data",
        group="Data Token",
        title="Request data via token",
        method="POST",
        path="/data-token/request-data",
        encoding=Encoding.FORM,
        auth=Auth.TOKEN,
        phase=Phase.REQUEST,
        evidence="probe",
        params=(P("token", FORM, check=TOKEN),),
    ),
    Route(
        name="data_tokens.download",
        group="Data Token",
        title="Download data",
        method="GET",
        path="/",
        encoding=Encoding.QUERY,
        auth=Auth.QUERY_AUTH,
        phase=Phase.SYNC,
        evidence="official-docs",
        params=(P("auth", QUERY, check=CREDENTIAL),),
        host=Host.DOWNSTREAM,
    ),
    Route(
        name="data_tokens.configure_information_security_risk_meta",
        group="Data Token",
        title="Configure information security risk meta",
        method="POST",
        path="/data-token/configure-information-security-risk-meta",
        encoding=Encoding.FORM,
        auth=Auth.TOKEN,
        phase=Phase.COMMAND,
        evidence="probe",
        params=(P("token", FORM, check=TOKEN),),
        open_fields=True,
    ),
    Route(
        name="data_tokens.configure_file_meta",
        group="Data Token",
        title="Configure file meta",
        method="POST",
        path="/data-token/configure-file-meta",
        encoding=Encoding.FORM,
        auth=Auth.TOKEN,
        phase=Phase.SYNC,
        evidence="probe",
        params=(
            P("token", FORM, check=TOKEN),
            P("fileName", FORM),
            P("extension", FORM),
            P("context", FORM),
            P("size", FORM, check=VALUE),
            P("path", FORM),
        ),
    ),
    Route(
        name="data_tokens.list",
        group="Data Token",
        title="List data tokens",
        method="GET",
        path="/data-token/list-data-tokens",
        encoding=Encoding.QUERY,
        auth=Auth.TOKEN,
        phase=Phase.SYNC,
        evidence="probe",
        params=(
            P("page", QUERY, required=False, check=VALUE),
            P("perPage", QUERY, required=False, check=VALUE),
        ),
    ),
    Route(
        name="data_tokens.update",
        group="Data Token",
        title="Update data token",
        method="POST",
        path="/data-token/update-data-token",
        encoding=Encoding.FORM,
        auth=Auth.TOKEN,
        phase=Phase.COMMAND,
        evidence="probe",
        params=(
            P("token", FORM, check=TOKEN),
            P("fileName", FORM, required=False),
            P("extension", FORM, required=False),
            P("context", FORM, required=False),
        ),
    ),
    Route(
        name="data_tokens.delete",
        group="Data Token",
        title="Delete data",
        method="POST",
        path="/data-token/delete-data",
        encoding=Encoding.FORM,
        auth=Auth.TOKEN,
        phase=Phase.COMMAND,
        evidence="probe",
        params=(P("token", FORM, check=TOKEN),),
    ),
    Route(
        name="devices.request_unique_identifier",
        group="Device",
        title="Request unique identifier (i.e. Register new device)",
        method="POST",
        path="/device/request-unique-identifier",
        encoding=Encoding.FORM,
        auth=Auth.TOKEN,
        phase=Phase.COMMAND,
        evidence="probe",
        params=(P("deviceName", FORM),),
    ),
    Route(
        name="devices.retrieve_unique_identifier",
        group="Device",
        title="Retrieve unique identifier",
        method="POST",
        path="/device/retrieve-unique-identifier",
        encoding=Encoding.FORM,
        auth=Auth.TOKEN,
        phase=Phase.SYNC,
        evidence="probe",
        params=(P("id", FORM, arg="command_id"),),
    ),
    Route(
        name="devices.list",
        group="Device",
        title="Retrieve profile devices",
        method="GET",
        path="/device/retrieve-profile-devices",
        encoding=Encoding.NONE,
        auth=Auth.TOKEN,
        phase=Phase.SYNC,
        evidence="probe",
    ),
    Route(
        name="devices.configure_meta",
        group="Device",
        title="Configure device meta",
        method="POST",
        path="/device/configure-meta",
        encoding=Encoding.FORM,
        auth=Auth.TOKEN,
        phase=Phase.COMMAND,
        evidence="probe",
        params=(P("deviceIdentifier", FORM), P("name", FORM, required=False, check=VALUE)),
    ),
    Route(
        name="devices.approve",
        group="Device",
        title="Approve device",
        method="POST",
        path="/device/approve-device",
        encoding=Encoding.FORM,
        auth=Auth.TOKEN,
        phase=Phase.COMMAND,
        evidence="probe",
        params=(P("deviceIdentifier", FORM),),
    ),
    Route(
        name="devices.reject",
        group="Device",
        title="Reject device",
        method="POST",
        path="/device/reject-device",
        encoding=Encoding.FORM,
        auth=Auth.TOKEN,
        phase=Phase.COMMAND,
        evidence="probe",
        params=(P("deviceIdentifier", FORM),),
    ),
    Route(
        name="devices.retrieve_configuration",
        group="Device",
        title="Retrieve device configuration",
        method="POST",
        path="/device/download-device-configuration",
        encoding=Encoding.FORM,
        auth=Auth.TOKEN,
        phase=Phase.SYNC,
        evidence="probe",
        params=(P("deviceIdentifier", FORM),),
    ),
    Route(
        name="devices.remove",
        group="Device",
        title="Remove device",
        method="POST",
        path="/device/remove",
        encoding=Encoding.FORM,
        auth=Auth.TOKEN,
        phase=Phase.COMMAND,
        evidence="probe",
        params=(P("deviceIdentifier", FORM),),
    ),
    Route(
        name="storage.register",
        group="Storage",
        title="Register storage device",
        method="POST",
        path="/storage/register",
        encoding=Encoding.FORM,
        auth=Auth.TOKEN,
        phase=Phase.COMMAND,
        evidence="probe",
        params=(P("deviceIdentifier", FORM),),
    ),
    Route(
        name="storage.list",
        group="Storage",
        title="List storage devices",
        method="GET",
        path="/storage/list-storage-devices",
        encoding=Encoding.NONE,
        auth=Auth.TOKEN,
        phase=Phase.SYNC,
        evidence="probe",
    ),
    Route(
        name="storage.sync_device",
        group="Storage",
        title="Synchronize device",
        method="POST",
        path="/storage/sync-device",
        encoding=Encoding.FORM,
        auth=Auth.TOKEN,
        phase=Phase.COMMAND_WITHOUT_ID,
        evidence="seed",
        params=(P("deviceIdentifier", FORM),),
    ),
    Route(
        name="storage.remove",
        group="Storage",
        title="Remove storage",
        method="POST",
        path="/storage/remove",
        encoding=Encoding.FORM,
        auth=Auth.TOKEN,
        phase=Phase.COMMAND,
        evidence="probe",
        params=(P("deviceIdentifier", FORM),),
    ),
    Route(
        name="authenticators.register",
        group="Verified authenticator",
        title="Register authenticator",
        method="POST",
        path="/verified-authenticator/register",
        encoding=Encoding.FORM,
        auth=Auth.TOKEN,
        phase=Phase.COMMAND,
        evidence="probe",
        params=(P("deviceIdentifier", FORM),),
    ),
    Route(
        name="authenticators.list",
        group="Verified authenticator",
        title="List verified authenticators",
        method="GET",
        path="/verified-authenticator/list-verified-authenticators",
        encoding=Encoding.NONE,
        auth=Auth.TOKEN,
        phase=Phase.SYNC,
        evidence="inferred",
    ),
    Route(
        name="authenticators.retrieve_voting_strategy",
        group="Verified authenticator",
        title="Retrieve voting strategy",
        method="GET",
        path="/verified-authenticator/retrieve-voting-strategy",
        encoding=Encoding.NONE,
        auth=Auth.TOKEN,
        phase=Phase.SYNC,
        evidence="inferred",
    ),
    Route(
        name="authenticators.set_quorum_size",
        group="Verified authenticator",
        title="Set quorum size",
        method="POST",
        path="/verified-authenticator/set-quorum-size",
        encoding=Encoding.FORM,
        auth=Auth.TOKEN,
        phase=Phase.COMMAND,
        evidence="inferred",
        params=(P("quorumSize", FORM, check=VALUE),),
        phase_assumed=True,
    ),
    Route(
        name="authenticators.set_quorum_strategy",
        group="Verified authenticator",
        title="Set quorum strategy",
        method="POST",
        path="/verified-authenticator/set-quorum-strategy",
        encoding=Encoding.FORM,
        auth=Auth.TOKEN,
        phase=Phase.COMMAND,
        evidence="official-docs",
        params=(P("strategy", FORM, check=VALUE), P("strategy_params", FORM, check=VALUE)),
        phase_assumed=True,
    ),
    Route(
        name="authenticators.set_voting_time_limit",
        group="Verified authenticator",
        title="Set voting time limit",
        method="POST",
        path="/verified-authenticator/set-voting-time-limit",
        encoding=Encoding.FORM,
        auth=Auth.TOKEN,
        phase=Phase.COMMAND,
        evidence="official-docs",
        params=(P("timeLimit", FORM, check=VALUE),),
        phase_assumed=True,
    ),
    Route(
        name="authenticators.set_maximum_voting_attempts",
        group="Verified authenticator",
        title="Set maximum voting attempts",
        method="POST",
        path="/verified-authenticator/set-maximum-voting-attempts",
        encoding=Encoding.FORM,
        auth=Auth.TOKEN,
        phase=Phase.COMMAND,
        evidence="official-docs",
        params=(P("numberOfAttempts", FORM, check=VALUE),),
        phase_assumed=True,
    ),
    Route(
        name="authenticators.remove",
        group="Verified authenticator",
        title="Remove authenticator",
        method="POST",
        path="/verified-authenticator/remove",
        encoding=Encoding.FORM,
        auth=Auth.TOKEN,
        phase=Phase.COMMAND,
        evidence="official-docs",
        params=(P("deviceIdentifier", FORM),),
        phase_assumed=True,
    ),
    Route(
        name="authenticators.register_voting_configuration",
        group="Verified authenticator",
        title="Register voting configuration",
        method="POST",
        path="/verified-authenticator/voting-configuration/register",
        encoding=Encoding.JSON,
        auth=Auth.TOKEN,
        phase=Phase.COMMAND,
        evidence="probe",
        params=(
            P("name", JSON),
            P("strategy", JSON, check=VALUE),
            P("timeLimit", JSON, check=VALUE),
            P("deviceIdentifiers", JSON, check=VALUE),
            P("percentageRequired", JSON, required=False, check=VALUE),
        ),
    ),
    Route(
        name="authenticators.update_voting_configuration",
        group="Verified authenticator",
        title="Update voting configuration",
        method="POST",
        path="/verified-authenticator/voting-configuration/update",
        encoding=Encoding.JSON,
        auth=Auth.TOKEN,
        phase=Phase.COMMAND,
        evidence="inferred",
        params=(
            P("configurationId", JSON),
            P("name", JSON, required=False),
            P("strategy", JSON, required=False, check=VALUE),
            P("timeLimit", JSON, required=False, check=VALUE),
            P("deviceIdentifiers", JSON, required=False, check=VALUE),
            P("percentageRequired", JSON, required=False, check=VALUE),
        ),
        phase_assumed=True,
    ),
    Route(
        name="authenticators.list_voting_configurations",
        group="Verified authenticator",
        title="List voting configurations",
        method="GET",
        path="/verified-authenticator/voting-configuration/list",
        encoding=Encoding.NONE,
        auth=Auth.TOKEN,
        phase=Phase.SYNC,
        evidence="inferred",
    ),
    Route(
        name="authenticators.retrieve_voting_configuration",
        group="Verified authenticator",
        title="Retrieve voting configuration",
        method="GET",
        path="/verified-authenticator/voting-configuration/retrieve/{configurationId}",
        encoding=Encoding.NONE,
        auth=Auth.TOKEN,
        phase=Phase.SYNC,
        evidence="inferred",
        params=(P("configurationId", PATH),),
    ),
    Route(
        name="policies.list_templates",
        group="Policy",
        title="List policy templates",
        method="GET",
        path="/policy/list-policy-templates",
        encoding=Encoding.NONE,
        auth=Auth.TOKEN,
        phase=Phase.SYNC,
        evidence="probe",
    ),
    Route(
        name="policies.register",
        group="Policy",
        title="Register policy",
        method="POST",
        path="/policy/register",
        encoding=Encoding.JSON,
        auth=Auth.TOKEN,
        phase=Phase.COMMAND,
        evidence="probe",
        params=(
            P("name", JSON),
            P("policyTemplateId", JSON, arg="template_id"),
            P("applyingEventIds", JSON, check=VALUE, arg="event_ids"),
            P("configuration", JSON, check=VALUE),
            P("votingConfigurationId", JSON, required=False, check=VALUE),
            P("configurationId", JSON, required=False, check=VALUE),
        ),
    ),
    Route(
        name="policies.list_active",
        group="Policy",
        title="List active policies",
        method="GET",
        path="/policy/list-active-policies",
        encoding=Encoding.NONE,
        auth=Auth.TOKEN,
        phase=Phase.SYNC,
        evidence="inferred",
    ),
    Route(
        name="policies.list_inactive",
        group="Policy",
        title="List inactive policies",
        method="GET",
        path="/policy/list-inactive-policies",
        encoding=Encoding.NONE,
        auth=Auth.TOKEN,
        phase=Phase.SYNC,
        evidence="inferred",
    ),
    Route(
        name="policies.activate",
        group="Policy",
        title="Activate policy",
        method="POST",
        path="/policy/activate",
        encoding=Encoding.FORM,
        auth=Auth.TOKEN,
        phase=Phase.COMMAND,
        evidence="probe",
        params=(P("policyId", FORM),),
    ),
    Route(
        name="policies.deactivate",
        group="Policy",
        title="Deactivate policy",
        method="POST",
        path="/policy/deactivate",
        encoding=Encoding.FORM,
        auth=Auth.TOKEN,
        phase=Phase.COMMAND,
        evidence="probe",
        params=(P("policyId", FORM),),
    ),
    Route(
        name="policies.delete",
        group="Policy",
        title="Delete policy",
        method="POST",
        path="/policy/delete",
        encoding=Encoding.FORM,
        auth=Auth.TOKEN,
        phase=Phase.COMMAND,
        evidence="inferred",
        params=(P("policyId", FORM),),
        phase_assumed=True,
    ),
    Route(
        name="policies.list",
        group="Policy",
        title="List registered policies",
        method="GET",
        path="/policy/list-policies",
        encoding=Encoding.NONE,
        auth=Auth.TOKEN,
        phase=Phase.SYNC,
        evidence="inferred",
    ),
    Route(
        name="policies.retrieve",
        group="Policy",
        title="Retrieve registered policy",
        method="GET",
        path="/policy/retrieve-policy/{name}",
        encoding=Encoding.NONE,
        auth=Auth.TOKEN,
        phase=Phase.SYNC,
        evidence="probe",
        params=(P("name", PATH),),
    ),
    Route(
        name="directories.register",
        group="Directory",
        title="Register Directory",
        method="POST",
        path="/directory/register",
        encoding=Encoding.FORM,
        auth=Auth.TOKEN,
        phase=Phase.COMMAND,
        evidence="inferred",
        params=(P("directoryName", FORM), P("directoryShortName", FORM)),
        phase_assumed=True,
    ),
    Route(
        name="directories.list_owned",
        group="Directory",
        title="Retrieve owned Directories",
        method="GET",
        path="/directory/retrieve-owned-directories",
        encoding=Encoding.NONE,
        auth=Auth.TOKEN,
        phase=Phase.SYNC,
        evidence="inferred",
    ),
    Route(
        name="directories.list_assigned",
        group="Directory",
        title="Retrieve assigned directories",
        method="GET",
        path="/directory/retrieve-assigned-directories",
        encoding=Encoding.NONE,
        auth=Auth.TOKEN,
        phase=Phase.SYNC,
        evidence="inferred",
    ),
    Route(
        name="directories.retrieve",
        group="Directory",
        title="Retrieve Directory",
        method="GET",
        path="/directory/retrieve-directory/{directoryId}",
        encoding=Encoding.NONE,
        auth=Auth.TOKEN,
        phase=Phase.SYNC,
        evidence="inferred",
        params=(P("directoryId", PATH),),
    ),
    Route(
        name="directories.create_user",
        group="Directory",
        title="Create Directory User",
        method="POST",
        path="/directory/create-user",
        encoding=Encoding.FORM,
        auth=Auth.TOKEN,
        phase=Phase.COMMAND,
        evidence="inferred",
        params=(
            P("directoryId", FORM),
            P("username", FORM),
            P("givenName", FORM),
            P("familyName", FORM),
        ),
        phase_assumed=True,
    ),
    Route(
        name="directories.update_user",
        group="Directory",
        title="Update user information",
        method="POST",
        path="/directory/update-user-information",
        encoding=Encoding.FORM,
        auth=Auth.TOKEN,
        phase=Phase.COMMAND,
        evidence="inferred",
        params=(
            P("directoryId", FORM),
            P("profileId", FORM),
            P("givenName", FORM, required=False),
            P("familyName", FORM, required=False),
        ),
        phase_assumed=True,
    ),
    Route(
        name="directories.invite_profile",
        group="Directory",
        title="Invite Profile",
        method="POST",
        path="/directory/invite-profile",
        encoding=Encoding.FORM,
        auth=Auth.TOKEN,
        phase=Phase.COMMAND,
        evidence="inferred",
        params=(P("directoryId", FORM), P("username", FORM)),
        phase_assumed=True,
    ),
    Route(
        name="directories.set_profile_password",
        group="Directory",
        title="Set profile password",
        method="POST",
        path="/directory/set-profile-password",
        encoding=Encoding.FORM,
        auth=Auth.TOKEN,
        phase=Phase.COMMAND,
        evidence="inferred",
        params=(P("directoryId", FORM), P("profileId", FORM), P("password", FORM)),
        phase_assumed=True,
    ),
    Route(
        name="directories.list_invites",
        group="Directory",
        title="List Directory Invites",
        method="GET",
        path="/directory/list-directory-invites",
        encoding=Encoding.NONE,
        auth=Auth.TOKEN,
        phase=Phase.SYNC,
        evidence="inferred",
    ),
    Route(
        name="directories.process_invitation",
        group="Directory",
        title="Process Invitation",
        method="POST",
        path="/directory/process-invitation",
        encoding=Encoding.FORM,
        auth=Auth.TOKEN,
        phase=Phase.COMMAND,
        evidence="inferred",
        params=(P("invitationId", FORM), P("accept", FORM, check=VALUE)),
        phase_assumed=True,
    ),
    Route(
        name="directories.retrieve_profile",
        group="Directory",
        title="Retrieve directory profile",
        method="GET",
        path="/directory/retrieve-directory-profile/{directoryId}/{profileId}",
        encoding=Encoding.NONE,
        auth=Auth.TOKEN,
        phase=Phase.SYNC,
        evidence="inferred",
        params=(P("directoryId", PATH), P("profileId", PATH)),
    ),
    Route(
        name="directories.list_users",
        group="Directory",
        title="List directory users",
        method="GET",
        path="/directory/list-directory-users/{directoryId}",
        encoding=Encoding.NONE,
        auth=Auth.TOKEN,
        phase=Phase.SYNC,
        evidence="inferred",
        params=(P("directoryId", PATH),),
    ),
    Route(
        name="directories.profiles_info",
        group="Directory",
        title="Directory profiles info",
        method="POST",
        path="/directory/profiles-info",
        encoding=Encoding.JSON,
        auth=Auth.TOKEN,
        phase=Phase.SYNC,
        evidence="inferred",
        params=(P("directoryId", JSON), P("profileIds", JSON, check=VALUE)),
    ),
    Route(
        name="directories.create_profile_device",
        group="Directory",
        title="Create profile device",
        method="POST",
        path="/directory/create-profile-device",
        encoding=Encoding.FORM,
        auth=Auth.TOKEN,
        phase=Phase.COMMAND,
        evidence="inferred",
        params=(P("directoryId", FORM), P("profileId", FORM), P("deviceName", FORM)),
        phase_assumed=True,
    ),
    Route(
        name="directories.add_storage_device",
        group="Directory",
        title="Add storage device to profile",
        method="POST",
        path="/directory/add-storage-device-to-profile",
        encoding=Encoding.FORM,
        auth=Auth.TOKEN,
        phase=Phase.COMMAND,
        evidence="inferred",
        params=(P("directoryId", FORM), P("profileId", FORM), P("deviceIdentifier", FORM)),
        phase_assumed=True,
    ),
    Route(
        name="directories.list_devices",
        group="Directory",
        title="List directory devices",
        method="GET",
        path="/directory/list-directory-devices/{directoryId}",
        encoding=Encoding.NONE,
        auth=Auth.TOKEN,
        phase=Phase.SYNC,
        evidence="inferred",
        params=(P("directoryId", PATH),),
    ),
    Route(
        name="directories.create_voting_pool",
        group="Directory",
        title="Create directory voting pool",
        method="POST",
        path="/directory/create-voting-pool",
        encoding=Encoding.JSON,
        auth=Auth.TOKEN,
        phase=Phase.COMMAND,
        evidence="inferred",
        params=(P("directoryId", JSON), P("deviceIdentifiers", JSON, required=False, check=VALUE)),
        phase_assumed=True,
    ),
    Route(
        name="directories.store_meta",
        group="Directory",
        title="Store directory meta information",
        method="POST",
        path="/directory/store-meta",
        encoding=Encoding.JSON,
        auth=Auth.TOKEN,
        phase=Phase.COMMAND,
        evidence="inferred",
        params=(P("directoryId", JSON), P("meta", JSON, check=VALUE)),
        phase_assumed=True,
    ),
    Route(
        name="voting.create",
        group="Voting",
        title="Create voting",
        method="POST",
        path="/voting/create",
        encoding=Encoding.JSON,
        auth=Auth.TOKEN,
        phase=Phase.COMMAND,
        evidence="inferred",
        params=(
            P("configurationId", JSON, required=False),
            P("deviceIdentifiers", JSON, required=False, check=VALUE),
            P("description", JSON, required=False),
        ),
        phase_assumed=True,
    ),
    Route(
        name="voting.check_pool_status",
        group="Voting",
        title="Check pool status",
        method="GET",
        path="/voting/check-pool-status/{poolId}",
        encoding=Encoding.NONE,
        auth=Auth.TOKEN,
        phase=Phase.SYNC,
        evidence="probe",
        params=(P("poolId", PATH),),
    ),
)
del P, PATH, FORM, JSON, QUERY, TOKEN, VALUE, CREDENTIAL


@attrs.frozen
class Alternative:
    """A documented second choice for a route, tried once when the first answers ``on``."""

    route: Route
    on: frozenset[int]


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
    # The seed TOC and the official page say GET; the probe (corrected live) uses POST. A 404
    # from the status endpoint means "no such command (yet)", so only a 405 switches.
    "utility.command_status": Alternative(
        attrs.evolve(
            _BY_NAME["utility.command_status"],
            method="GET",
            encoding=Encoding.NONE,
            evidence="seed",
        ),
        on=frozenset({405}),
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
}
"""Documented second choices (wire reference §b2), and the statuses that make them worth a try."""

ROUTES = RouteTable(_BY_NAME, ALTERNATIVES)
"""The seed endpoints, by name."""
