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

__all__ = [
    "ALTERNATIVES",
    "Alternative",
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


@attrs.frozen
class Param:
    """One documented wire parameter of a route."""

    name: str
    location: Location
    required: bool = True


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


R = Route
P = Param
PATH, FORM, JSON, QUERY = Location.PATH, Location.FORM, Location.JSON, Location.QUERY

_ROWS: tuple[Route, ...] = (
    R(
        "utility.health",
        "Utility",
        "Check server health",
        "GET",
        "/health",
        Encoding.NONE,
        Auth.NONE,
        Phase.SYNC,
        "probe",
        (),
    ),
    R(
        "utility.command_status",
        "Utility",
        "Request command id status",
        "POST",
        "/request-status/{commandId}",
        Encoding.JSON,
        Auth.NONE,
        Phase.SYNC,
        "probe",
        (P("commandId", PATH),),
    ),
    R(
        "profile.register",
        "Profile",
        "Register new profile",
        "POST",
        "/profile/register-profile",
        Encoding.FORM,
        Auth.NONE,
        Phase.COMMAND,
        "probe",
        (P("username", FORM), P("password", FORM)),
    ),
    R(
        "profile.authenticate",
        "Profile",
        "Authenticate",
        "POST",
        "/profile/authenticate",
        Encoding.FORM,
        Auth.NONE,
        Phase.SYNC,
        "probe",
        (P("username", FORM), P("password", FORM)),
    ),
    R(
        "profile.retrieve_profile_id",
        "Profile",
        "Retrieve profile id",
        "GET",
        "/profile/retrieve-profile-id",
        Encoding.NONE,
        Auth.TOKEN,
        Phase.SYNC,
        "probe",
        (),
    ),
    R(
        "profile.change_password",
        "Profile",
        "Change password",
        "POST",
        "/profile/change-password",
        Encoding.FORM,
        Auth.TOKEN,
        Phase.COMMAND,
        "probe",
        (P("currentPassword", FORM), P("newPassword", FORM)),
    ),
    R(
        "profile.generate_qr_token",
        "Profile",
        "Generate qr token for authorization",
        "POST",
        "/profile/generate-token-qr",
        Encoding.FORM,
        Auth.TOKEN,
        Phase.SYNC,
        "probe",
        (),
    ),
    R(
        "profile.reauthorize",
        "Profile",
        "Reauthorize authorization token",
        "POST",
        "/profile/reauthorize-authorization-token",
        Encoding.FORM,
        Auth.TOKEN,
        Phase.SYNC_OR_COMMAND,
        "probe",
        (P("ttl", FORM),),
    ),
    R(
        "profile.revoke",
        "Profile",
        "Revoke authorization token",
        "POST",
        "/profile/revoke-authorization-token",
        Encoding.FORM,
        Auth.TOKEN,
        Phase.SYNC,
        "probe",
        (),
    ),
    R(
        "profile.token_expiry",
        "Profile",
        "Retrieve token expiry",
        "POST",
        "/profile/authorization-token/expiry",
        Encoding.FORM,
        Auth.TOKEN,
        Phase.SYNC,
        "probe",
        (),
    ),
    R(
        "oauth.register",
        "OAuth Application",
        "Register OAuth Application",
        "POST",
        "/profile/oauth-application-register",
        Encoding.FORM,
        Auth.TOKEN,
        Phase.COMMAND,
        "probe",
        (P("name", FORM), P("redirectUri", FORM), P("scopes", FORM)),
    ),
    R(
        "oauth.retrieve_configuration",
        "OAuth Application",
        "Retrieve OAuth app configuration",
        "POST",
        "/profile/retrieve-oauth-application-configuration",
        Encoding.FORM,
        Auth.TOKEN,
        Phase.SYNC,
        "probe",
        (P("applicationId", FORM),),
    ),
    R(
        "oauth.request_authorization_code",
        "OAuth Application",
        "Request OAuth app authorization code",
        "GET",
        "/profile/oauth-application-request-authorization-code",
        Encoding.QUERY,
        Auth.TOKEN,
        Phase.COMMAND,
        "probe",
        (P("client_id", QUERY), P("nonce", QUERY), P("scope[]", QUERY)),
    ),
    R(
        "oauth.retrieve_authorization_code",
        "OAuth Application",
        "Retrieve OAuth app authorization code",
        "POST",
        "/oauth-application/retrieve-authorization-code",
        Encoding.FORM,
        Auth.CLIENT_SECRET_BASIC,
        Phase.SYNC,
        "probe",
        (P("id", FORM), P("nonce", FORM)),
    ),
    R(
        "oauth.obtain_access_token",
        "OAuth Application",
        "Obtain OAuth app access token",
        "POST",
        "/oauth-application/obtain-access-token",
        Encoding.FORM,
        Auth.CLIENT_SECRET_BASIC,
        Phase.SYNC,
        "probe",
        (P("authorization_code", FORM),),
    ),
    R(
        "oauth.list",
        "OAuth Application",
        "OAuth application list",
        "GET",
        "/profile/retrieve-oauth-application-list",
        Encoding.NONE,
        Auth.TOKEN,
        Phase.SYNC,
        "probe",
        (),
    ),
    R(
        "oauth.retrieve_scope",
        "OAuth Application",
        "Retrieve OAuth application scope",
        "GET",
        "/oauth-application/retrieve-oauth-application-scope",
        Encoding.NONE,
        Auth.RAW_BASIC,
        Phase.SYNC,
        "probe-hint",
        (),
    ),
    R(
        "oauth.refresh_access_token",
        "OAuth Application",
        "Refresh OAuth app access token",
        "POST",
        "/oauth-application/refresh-access-token",
        Encoding.FORM,
        Auth.RAW_BASIC,
        Phase.SYNC,
        "probe",
        (P("refresh_token", FORM),),
    ),
    R(
        "public_keys.generate",
        "Public key",
        "Generate your private and public keys",
        "GET",
        "/generate-keys",
        Encoding.NONE,
        Auth.NONE,
        Phase.SYNC,
        "official-docs",
        (),
    ),
    R(
        "public_keys.register",
        "Public key",
        "Register public key",
        "POST",
        "/public-key/register-public-key",
        Encoding.FORM,
        Auth.TOKEN,
        Phase.COMMAND,
        "probe",
        (P("publicKey", FORM),),
    ),
    R(
        "public_keys.retrieve",
        "Public key",
        "Retrieve public key",
        "GET",
        "/public-key/retrieve-public-key",
        Encoding.NONE,
        Auth.TOKEN,
        Phase.SYNC,
        "probe",
        (),
    ),
    R(
        "public_keys.retrieve_cab_key",
        "Public key",
        "Retrieve CAB public key",
        "GET",
        "/dptcab/public-key",
        Encoding.NONE,
        Auth.TOKEN,
        Phase.SYNC,
        "probe",
        (),
    ),
    R(
        "data_tokens.reserve_token_space",
        "Data Token",
        "Reserve token space",
        "POST",
        "/data-token/reserve-token-space",
        Encoding.FORM,
        Auth.TOKEN,
        Phase.COMMAND,
        "probe",
        (P("context", FORM), P("ttl", FORM, required=False), P("meta", FORM, required=False)),
    ),
    R(
        "data_tokens.retrieve_temporary_token",
        "Data Token",
        "Retrieve temporary data token",
        "GET",
        "/data-token/retrieve-temporary-data-token/{commandId}",
        Encoding.NONE,
        Auth.TOKEN,
        Phase.SYNC,
        "probe",
        (P("commandId", PATH),),
    ),
    R(
        "data_tokens.exchange",
        "Data Token",
        "Exchange data for token",
        "POST",
        "/data-token/exchange-data-for-token",
        Encoding.FORM,
        Auth.TOKEN,
        Phase.COMMAND,
        "probe",
        (P("temporaryTokenSpace", FORM), P("data", FORM)),
    ),
    R(
        "data_tokens.upload",
        "Data Token",
        "Upstream file via stream auth",
        "POST",
        "/",
        Encoding.BINARY,
        Auth.QUERY_AUTH,
        Phase.SYNC,
        "official-docs",
        (P("auth", QUERY),),
        host=Host.UPSTREAM,
    ),
    R(
        "data_tokens.request_data",
        "Data Token",
        "Request data via token",
        "POST",
        "/data-token/request-data",
        Encoding.FORM,
        Auth.TOKEN,
        Phase.REQUEST,
        "probe",
        (P("token", FORM),),
    ),
    R(
        "data_tokens.download",
        "Data Token",
        "Download data",
        "GET",
        "/",
        Encoding.QUERY,
        Auth.QUERY_AUTH,
        Phase.SYNC,
        "official-docs",
        (P("auth", QUERY),),
        host=Host.DOWNSTREAM,
    ),
    R(
        "data_tokens.configure_information_security_risk_meta",
        "Data Token",
        "Configure information security risk meta",
        "POST",
        "/data-token/configure-information-security-risk-meta",
        Encoding.FORM,
        Auth.TOKEN,
        Phase.COMMAND,
        "probe",
        (P("token", FORM),),
        open_fields=True,
    ),
    R(
        "data_tokens.configure_file_meta",
        "Data Token",
        "Configure file meta",
        "POST",
        "/data-token/configure-file-meta",
        Encoding.FORM,
        Auth.TOKEN,
        Phase.SYNC,
        "probe",
        (
            P("token", FORM),
            P("fileName", FORM),
            P("extension", FORM),
            P("context", FORM),
            P("size", FORM),
            P("path", FORM),
        ),
    ),
    R(
        "data_tokens.list",
        "Data Token",
        "List data tokens",
        "GET",
        "/data-token/list-data-tokens",
        Encoding.QUERY,
        Auth.TOKEN,
        Phase.SYNC,
        "probe",
        (P("page", QUERY, required=False), P("perPage", QUERY, required=False)),
    ),
    R(
        "data_tokens.update",
        "Data Token",
        "Update data token",
        "POST",
        "/data-token/update-data-token",
        Encoding.FORM,
        Auth.TOKEN,
        Phase.COMMAND,
        "probe",
        (
            P("token", FORM),
            P("fileName", FORM, required=False),
            P("extension", FORM, required=False),
            P("context", FORM, required=False),
        ),
    ),
    R(
        "data_tokens.delete",
        "Data Token",
        "Delete data",
        "POST",
        "/data-token/delete-data",
        Encoding.FORM,
        Auth.TOKEN,
        Phase.COMMAND,
        "probe",
        (P("token", FORM),),
    ),
    R(
        "devices.request_unique_identifier",
        "Device",
        "Request unique identifier (i.e. Register new device)",
        "POST",
        "/device/request-unique-identifier",
        Encoding.FORM,
        Auth.TOKEN,
        Phase.COMMAND,
        "probe",
        (P("deviceName", FORM),),
    ),
    R(
        "devices.retrieve_unique_identifier",
        "Device",
        "Retrieve unique identifier",
        "POST",
        "/device/retrieve-unique-identifier",
        Encoding.FORM,
        Auth.TOKEN,
        Phase.SYNC,
        "probe",
        (P("id", FORM),),
    ),
    R(
        "devices.list",
        "Device",
        "Retrieve profile devices",
        "GET",
        "/device/retrieve-profile-devices",
        Encoding.NONE,
        Auth.TOKEN,
        Phase.SYNC,
        "probe",
        (),
    ),
    R(
        "devices.configure_meta",
        "Device",
        "Configure device meta",
        "POST",
        "/device/configure-meta",
        Encoding.FORM,
        Auth.TOKEN,
        Phase.COMMAND,
        "probe",
        (P("deviceIdentifier", FORM), P("name", FORM, required=False)),
    ),
    R(
        "devices.approve",
        "Device",
        "Approve device",
        "POST",
        "/device/approve-device",
        Encoding.FORM,
        Auth.TOKEN,
        Phase.COMMAND,
        "probe",
        (P("deviceIdentifier", FORM),),
    ),
    R(
        "devices.reject",
        "Device",
        "Reject device",
        "POST",
        "/device/reject-device",
        Encoding.FORM,
        Auth.TOKEN,
        Phase.COMMAND,
        "probe",
        (P("deviceIdentifier", FORM),),
    ),
    R(
        "devices.retrieve_configuration",
        "Device",
        "Retrieve device configuration",
        "POST",
        "/device/download-device-configuration",
        Encoding.FORM,
        Auth.TOKEN,
        Phase.SYNC,
        "probe",
        (P("deviceIdentifier", FORM),),
    ),
    R(
        "devices.remove",
        "Device",
        "Remove device",
        "POST",
        "/device/remove",
        Encoding.FORM,
        Auth.TOKEN,
        Phase.COMMAND,
        "probe",
        (P("deviceIdentifier", FORM),),
    ),
    R(
        "storage.register",
        "Storage",
        "Register storage device",
        "POST",
        "/storage/register",
        Encoding.FORM,
        Auth.TOKEN,
        Phase.COMMAND,
        "probe",
        (P("deviceIdentifier", FORM),),
    ),
    R(
        "storage.list",
        "Storage",
        "List storage devices",
        "GET",
        "/storage/list-storage-devices",
        Encoding.NONE,
        Auth.TOKEN,
        Phase.SYNC,
        "probe",
        (),
    ),
    R(
        "storage.sync_device",
        "Storage",
        "Synchronize device",
        "POST",
        "/storage/sync-device",
        Encoding.FORM,
        Auth.TOKEN,
        Phase.COMMAND_WITHOUT_ID,
        "seed",
        (P("deviceIdentifier", FORM),),
    ),
    R(
        "storage.remove",
        "Storage",
        "Remove storage",
        "POST",
        "/storage/remove",
        Encoding.FORM,
        Auth.TOKEN,
        Phase.COMMAND,
        "probe",
        (P("deviceIdentifier", FORM),),
    ),
    R(
        "authenticators.register",
        "Verified authenticator",
        "Register authenticator",
        "POST",
        "/verified-authenticator/register",
        Encoding.FORM,
        Auth.TOKEN,
        Phase.COMMAND,
        "probe",
        (P("deviceIdentifier", FORM),),
    ),
    R(
        "authenticators.list",
        "Verified authenticator",
        "List verified authenticators",
        "GET",
        "/verified-authenticator/list-verified-authenticators",
        Encoding.NONE,
        Auth.TOKEN,
        Phase.SYNC,
        "inferred",
        (),
    ),
    R(
        "authenticators.retrieve_voting_strategy",
        "Verified authenticator",
        "Retrieve voting strategy",
        "GET",
        "/verified-authenticator/retrieve-voting-strategy",
        Encoding.NONE,
        Auth.TOKEN,
        Phase.SYNC,
        "inferred",
        (),
    ),
    R(
        "authenticators.set_quorum_size",
        "Verified authenticator",
        "Set quorum size",
        "POST",
        "/verified-authenticator/set-quorum-size",
        Encoding.FORM,
        Auth.TOKEN,
        Phase.COMMAND,
        "inferred",
        (P("quorumSize", FORM),),
        phase_assumed=True,
    ),
    R(
        "authenticators.set_quorum_strategy",
        "Verified authenticator",
        "Set quorum strategy",
        "POST",
        "/verified-authenticator/set-quorum-strategy",
        Encoding.FORM,
        Auth.TOKEN,
        Phase.COMMAND,
        "official-docs",
        (P("strategy", FORM), P("strategy_params", FORM)),
        phase_assumed=True,
    ),
    R(
        "authenticators.set_voting_time_limit",
        "Verified authenticator",
        "Set voting time limit",
        "POST",
        "/verified-authenticator/set-voting-time-limit",
        Encoding.FORM,
        Auth.TOKEN,
        Phase.COMMAND,
        "official-docs",
        (P("timeLimit", FORM),),
        phase_assumed=True,
    ),
    R(
        "authenticators.set_maximum_voting_attempts",
        "Verified authenticator",
        "Set maximum voting attempts",
        "POST",
        "/verified-authenticator/set-maximum-voting-attempts",
        Encoding.FORM,
        Auth.TOKEN,
        Phase.COMMAND,
        "official-docs",
        (P("numberOfAttempts", FORM),),
        phase_assumed=True,
    ),
    R(
        "authenticators.remove",
        "Verified authenticator",
        "Remove authenticator",
        "POST",
        "/verified-authenticator/remove",
        Encoding.FORM,
        Auth.TOKEN,
        Phase.COMMAND,
        "official-docs",
        (P("deviceIdentifier", FORM),),
        phase_assumed=True,
    ),
    R(
        "authenticators.register_voting_configuration",
        "Verified authenticator",
        "Register voting configuration",
        "POST",
        "/verified-authenticator/voting-configuration/register",
        Encoding.JSON,
        Auth.TOKEN,
        Phase.COMMAND,
        "probe",
        (
            P("name", JSON),
            P("strategy", JSON),
            P("timeLimit", JSON),
            P("deviceIdentifiers", JSON),
            P("percentageRequired", JSON, required=False),
        ),
    ),
    R(
        "authenticators.update_voting_configuration",
        "Verified authenticator",
        "Update voting configuration",
        "POST",
        "/verified-authenticator/voting-configuration/update",
        Encoding.JSON,
        Auth.TOKEN,
        Phase.COMMAND,
        "inferred",
        (
            P("configurationId", JSON),
            P("name", JSON, required=False),
            P("strategy", JSON, required=False),
            P("timeLimit", JSON, required=False),
            P("deviceIdentifiers", JSON, required=False),
            P("percentageRequired", JSON, required=False),
        ),
        phase_assumed=True,
    ),
    R(
        "authenticators.list_voting_configurations",
        "Verified authenticator",
        "List voting configurations",
        "GET",
        "/verified-authenticator/voting-configuration/list",
        Encoding.NONE,
        Auth.TOKEN,
        Phase.SYNC,
        "inferred",
        (),
    ),
    R(
        "authenticators.retrieve_voting_configuration",
        "Verified authenticator",
        "Retrieve voting configuration",
        "GET",
        "/verified-authenticator/voting-configuration/retrieve/{configurationId}",
        Encoding.NONE,
        Auth.TOKEN,
        Phase.SYNC,
        "inferred",
        (P("configurationId", PATH),),
    ),
    R(
        "policies.list_templates",
        "Policy",
        "List policy templates",
        "GET",
        "/policy/list-policy-templates",
        Encoding.NONE,
        Auth.TOKEN,
        Phase.SYNC,
        "probe",
        (),
    ),
    R(
        "policies.register",
        "Policy",
        "Register policy",
        "POST",
        "/policy/register",
        Encoding.JSON,
        Auth.TOKEN,
        Phase.COMMAND,
        "probe",
        (
            P("name", JSON),
            P("policyTemplateId", JSON),
            P("applyingEventIds", JSON),
            P("configuration", JSON),
            P("votingConfigurationId", JSON, required=False),
            P("configurationId", JSON, required=False),
        ),
    ),
    R(
        "policies.list_active",
        "Policy",
        "List active policies",
        "GET",
        "/policy/list-active-policies",
        Encoding.NONE,
        Auth.TOKEN,
        Phase.SYNC,
        "inferred",
        (),
    ),
    R(
        "policies.list_inactive",
        "Policy",
        "List inactive policies",
        "GET",
        "/policy/list-inactive-policies",
        Encoding.NONE,
        Auth.TOKEN,
        Phase.SYNC,
        "inferred",
        (),
    ),
    R(
        "policies.activate",
        "Policy",
        "Activate policy",
        "POST",
        "/policy/activate",
        Encoding.FORM,
        Auth.TOKEN,
        Phase.COMMAND,
        "probe",
        (P("policyId", FORM),),
    ),
    R(
        "policies.deactivate",
        "Policy",
        "Deactivate policy",
        "POST",
        "/policy/deactivate",
        Encoding.FORM,
        Auth.TOKEN,
        Phase.COMMAND,
        "probe",
        (P("policyId", FORM),),
    ),
    R(
        "policies.delete",
        "Policy",
        "Delete policy",
        "POST",
        "/policy/delete",
        Encoding.FORM,
        Auth.TOKEN,
        Phase.COMMAND,
        "inferred",
        (P("policyId", FORM),),
        phase_assumed=True,
    ),
    R(
        "policies.list",
        "Policy",
        "List registered policies",
        "GET",
        "/policy/list-policies",
        Encoding.NONE,
        Auth.TOKEN,
        Phase.SYNC,
        "inferred",
        (),
    ),
    R(
        "policies.retrieve",
        "Policy",
        "Retrieve registered policy",
        "GET",
        "/policy/retrieve-policy/{name}",
        Encoding.NONE,
        Auth.TOKEN,
        Phase.SYNC,
        "probe",
        (P("name", PATH),),
    ),
    R(
        "directories.register",
        "Directory",
        "Register Directory",
        "POST",
        "/directory/register",
        Encoding.FORM,
        Auth.TOKEN,
        Phase.COMMAND,
        "inferred",
        (P("directoryName", FORM), P("directoryShortName", FORM)),
        phase_assumed=True,
    ),
    R(
        "directories.list_owned",
        "Directory",
        "Retrieve owned Directories",
        "GET",
        "/directory/retrieve-owned-directories",
        Encoding.NONE,
        Auth.TOKEN,
        Phase.SYNC,
        "inferred",
        (),
    ),
    R(
        "directories.list_assigned",
        "Directory",
        "Retrieve assigned directories",
        "GET",
        "/directory/retrieve-assigned-directories",
        Encoding.NONE,
        Auth.TOKEN,
        Phase.SYNC,
        "inferred",
        (),
    ),
    R(
        "directories.retrieve",
        "Directory",
        "Retrieve Directory",
        "GET",
        "/directory/retrieve-directory/{directoryId}",
        Encoding.NONE,
        Auth.TOKEN,
        Phase.SYNC,
        "inferred",
        (P("directoryId", PATH),),
    ),
    R(
        "directories.create_user",
        "Directory",
        "Create Directory User",
        "POST",
        "/directory/create-user",
        Encoding.FORM,
        Auth.TOKEN,
        Phase.COMMAND,
        "inferred",
        (P("directoryId", FORM), P("username", FORM), P("givenName", FORM), P("familyName", FORM)),
        phase_assumed=True,
    ),
    R(
        "directories.update_user",
        "Directory",
        "Update user information",
        "POST",
        "/directory/update-user-information",
        Encoding.FORM,
        Auth.TOKEN,
        Phase.COMMAND,
        "inferred",
        (
            P("directoryId", FORM),
            P("profileId", FORM),
            P("givenName", FORM, required=False),
            P("familyName", FORM, required=False),
        ),
        phase_assumed=True,
    ),
    R(
        "directories.invite_profile",
        "Directory",
        "Invite Profile",
        "POST",
        "/directory/invite-profile",
        Encoding.FORM,
        Auth.TOKEN,
        Phase.COMMAND,
        "inferred",
        (P("directoryId", FORM), P("username", FORM)),
        phase_assumed=True,
    ),
    R(
        "directories.set_profile_password",
        "Directory",
        "Set profile password",
        "POST",
        "/directory/set-profile-password",
        Encoding.FORM,
        Auth.TOKEN,
        Phase.COMMAND,
        "inferred",
        (P("directoryId", FORM), P("profileId", FORM), P("password", FORM)),
        phase_assumed=True,
    ),
    R(
        "directories.list_invites",
        "Directory",
        "List Directory Invites",
        "GET",
        "/directory/list-directory-invites",
        Encoding.NONE,
        Auth.TOKEN,
        Phase.SYNC,
        "inferred",
        (),
    ),
    R(
        "directories.process_invitation",
        "Directory",
        "Process Invitation",
        "POST",
        "/directory/process-invitation",
        Encoding.FORM,
        Auth.TOKEN,
        Phase.COMMAND,
        "inferred",
        (P("invitationId", FORM), P("accept", FORM)),
        phase_assumed=True,
    ),
    R(
        "directories.retrieve_profile",
        "Directory",
        "Retrieve directory profile",
        "GET",
        "/directory/retrieve-directory-profile/{directoryId}/{profileId}",
        Encoding.NONE,
        Auth.TOKEN,
        Phase.SYNC,
        "inferred",
        (P("directoryId", PATH), P("profileId", PATH)),
    ),
    R(
        "directories.list_users",
        "Directory",
        "List directory users",
        "GET",
        "/directory/list-directory-users/{directoryId}",
        Encoding.NONE,
        Auth.TOKEN,
        Phase.SYNC,
        "inferred",
        (P("directoryId", PATH),),
    ),
    R(
        "directories.profiles_info",
        "Directory",
        "Directory profiles info",
        "POST",
        "/directory/profiles-info",
        Encoding.JSON,
        Auth.TOKEN,
        Phase.SYNC,
        "inferred",
        (P("directoryId", JSON), P("profileIds", JSON)),
    ),
    R(
        "directories.create_profile_device",
        "Directory",
        "Create profile device",
        "POST",
        "/directory/create-profile-device",
        Encoding.FORM,
        Auth.TOKEN,
        Phase.COMMAND,
        "inferred",
        (P("directoryId", FORM), P("profileId", FORM), P("deviceName", FORM)),
        phase_assumed=True,
    ),
    R(
        "directories.add_storage_device",
        "Directory",
        "Add storage device to profile",
        "POST",
        "/directory/add-storage-device-to-profile",
        Encoding.FORM,
        Auth.TOKEN,
        Phase.COMMAND,
        "inferred",
        (P("directoryId", FORM), P("profileId", FORM), P("deviceIdentifier", FORM)),
        phase_assumed=True,
    ),
    R(
        "directories.list_devices",
        "Directory",
        "List directory devices",
        "GET",
        "/directory/list-directory-devices/{directoryId}",
        Encoding.NONE,
        Auth.TOKEN,
        Phase.SYNC,
        "inferred",
        (P("directoryId", PATH),),
    ),
    R(
        "directories.create_voting_pool",
        "Directory",
        "Create directory voting pool",
        "POST",
        "/directory/create-voting-pool",
        Encoding.JSON,
        Auth.TOKEN,
        Phase.COMMAND,
        "inferred",
        (P("directoryId", JSON), P("deviceIdentifiers", JSON, required=False)),
        phase_assumed=True,
    ),
    R(
        "directories.store_meta",
        "Directory",
        "Store directory meta information",
        "POST",
        "/directory/store-meta",
        Encoding.JSON,
        Auth.TOKEN,
        Phase.COMMAND,
        "inferred",
        (P("directoryId", JSON), P("meta", JSON)),
        phase_assumed=True,
    ),
    R(
        "voting.create",
        "Voting",
        "Create voting",
        "POST",
        "/voting/create",
        Encoding.JSON,
        Auth.TOKEN,
        Phase.COMMAND,
        "inferred",
        (
            P("configurationId", JSON, required=False),
            P("deviceIdentifiers", JSON, required=False),
            P("description", JSON, required=False),
        ),
        phase_assumed=True,
    ),
    R(
        "voting.check_pool_status",
        "Voting",
        "Check pool status",
        "GET",
        "/voting/check-pool-status/{poolId}",
        Encoding.NONE,
        Auth.TOKEN,
        Phase.SYNC,
        "probe",
        (P("poolId", PATH),),
    ),
)

del R, P, PATH, FORM, JSON, QUERY


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
