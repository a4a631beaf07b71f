"""The endpoint table: its size and invariants, path rendering, user overrides, alternatives."""

from __future__ import annotations

import json
import os
import posixpath
from collections import Counter
from pathlib import Path
from typing import Any

import attrs
import pytest

from privicore_async import routes as routes_module
from privicore_async.errors import InvalidArgumentError
from privicore_async.routes import (
    ALTERNATIVES,
    ROUTES,
    Alternative,
    Auth,
    Encoding,
    Host,
    Location,
    Param,
    Phase,
    Route,
    RouteTable,
)

# DESIGN §3: the attribute names of the resources on the client.
RESOURCE_ATTRIBUTES = {
    "utility",
    "profile",
    "oauth",
    "public_keys",
    "data_tokens",
    "devices",
    "storage",
    "authenticators",
    "policies",
    "directories",
    "voting",
}

INFERRED = {
    "authenticators.list",
    "authenticators.retrieve_voting_strategy",
    "authenticators.set_quorum_size",
    "authenticators.update_voting_configuration",
    "authenticators.list_voting_configurations",
    "authenticators.retrieve_voting_configuration",
    "policies.list_active",
    "policies.list_inactive",
    "policies.delete",
    "policies.list",
    "directories.register",
    "directories.list_owned",
    "directories.list_assigned",
    "directories.retrieve",
    "directories.create_user",
    "directories.update_user",
    "directories.invite_profile",
    "directories.set_profile_password",
    "directories.list_invites",
    "directories.process_invitation",
    "directories.retrieve_profile",
    "directories.list_users",
    "directories.profiles_info",
    "directories.create_profile_device",
    "directories.add_storage_device",
    "directories.list_devices",
    "directories.create_voting_pool",
    "directories.store_meta",
    "voting.create",
}

SEED_ENDPOINTS = 86  # the seed document's table of contents (../shared/wire/000_*.txt)

# Calls the seed does not list, named only by a guide (wire reference §b3): kept apart from the
# seed rows (``seed = false``), inferred, and last in routes.toml.
NOT_IN_SEED = ("voting.cancel_pool", "authenticators.delete_voting_configuration")

# The shared wire folder sits beside the repository (where CI has it). In CI a missing file
# fails the test instead of skipping it: the comparison must not silently vanish.
ENDPOINTS_JSON = Path(__file__).resolve().parents[2] / "shared" / "wire" / "endpoints.json"


def _seed_rows() -> list[Route]:
    return [row for row in routes_module._ROWS if row.seed]


def _endpoints_json() -> list[dict[str, Any]]:
    if not ENDPOINTS_JSON.exists():
        if os.environ.get("CI"):
            pytest.fail(f"{ENDPOINTS_JSON} is missing: CI must have ../shared/wire/")
        pytest.skip(f"{ENDPOINTS_JSON} not present (outside CI)")
    rows: list[dict[str, Any]] = json.loads(ENDPOINTS_JSON.read_text())
    return rows


# -- the table -------------------------------------------------------------------------------------


def test_every_seed_endpoint_once_with_a_unique_name() -> None:
    assert len(_seed_rows()) == SEED_ENDPOINTS
    rows = routes_module._ROWS
    assert len(rows) == SEED_ENDPOINTS + len(NOT_IN_SEED)
    assert len({row.name for row in rows}) == len(rows)  # a duplicate would vanish in the dict
    assert len(ROUTES) == len(rows)
    assert list(ROUTES) == [row.name for row in rows]
    assert all(ROUTES[name].name == name for name in ROUTES)


def test_method_and_path_pairs_are_unique() -> None:
    pairs = Counter((r.method, r.path) for r in ROUTES.values())
    assert [pair for pair, n in pairs.items() if n > 1] == []
    host_pairs = Counter((r.host, r.method, r.path) for r in ROUTES.values())
    assert max(host_pairs.values()) == 1


def test_only_known_duplicate_path_is_the_data_plane_root() -> None:
    # Upload (upstream host, POST) and download (downstream host, GET) both live at "/".
    paths = Counter(r.path for r in ROUTES.values())
    assert {p for p, n in paths.items() if n > 1} == {"/"}
    at_root = {r.name: (r.host, r.method, r.auth) for r in ROUTES.values() if r.path == "/"}
    assert at_root == {
        "data_tokens.upload": (Host.UPSTREAM, "POST", Auth.QUERY_AUTH),
        "data_tokens.download": (Host.DOWNSTREAM, "GET", Auth.QUERY_AUTH),
    }
    assert all(r.host is Host.API for r in ROUTES.values() if r.path != "/")


def test_every_name_is_resource_dot_method() -> None:
    for name in ROUTES:
        resource, _, method = name.partition(".")
        assert resource in RESOURCE_ATTRIBUTES, name
        assert method.isidentifier(), name
        assert method == method.lower(), name
    assert {name.split(".")[0] for name in ROUTES} == RESOURCE_ATTRIBUTES


@pytest.mark.parametrize("name", list(ROUTES))
def test_route_invariants(name: str) -> None:
    route = ROUTES[name]
    path_params = [p.name for p in route.params if p.location is Location.PATH]
    assert list(route.path_params) == path_params, "placeholders must match PATH params"
    assert route.path.startswith("/")
    assert route.method in {"GET", "POST"}
    names = [p.name for p in route.params]
    assert len(names) == len(set(names)), "duplicate parameter"
    if route.method == "GET":
        assert route.encoding in {Encoding.NONE, Encoding.QUERY}, "a GET carries no body"
    if route.encoding is Encoding.NONE:
        assert {p.location for p in route.params} <= {Location.PATH}
    if route.encoding is Encoding.FORM:
        assert {p.location for p in route.params} <= {Location.FORM, Location.PATH}
    if route.encoding is Encoding.JSON:
        assert {p.location for p in route.params} <= {Location.JSON, Location.PATH}
    if route.phase_assumed:
        assert route.phase is Phase.COMMAND


def test_rows_not_in_the_seed_are_marked_inferred_and_come_last() -> None:
    rows = routes_module._ROWS
    assert tuple(row.name for row in rows[SEED_ENDPOINTS:]) == NOT_IN_SEED
    assert all(row.seed for row in rows[:SEED_ENDPOINTS])
    for name in NOT_IN_SEED:
        route = ROUTES[name]
        assert not route.seed
        assert route.inferred
        assert route.phase_assumed
    cancel = ROUTES["voting.cancel_pool"]
    assert (cancel.method, cancel.path, cancel.encoding, cancel.auth, cancel.phase) == (
        "POST",
        "/voting/cancel-pool",
        Encoding.JSON,
        Auth.TOKEN,
        Phase.COMMAND,
    )
    assert cancel.params == (Param("poolId", Location.JSON),)
    delete = ROUTES["authenticators.delete_voting_configuration"]
    assert (delete.method, delete.path, delete.encoding, delete.auth, delete.phase) == (
        "POST",
        "/verified-authenticator/voting-configuration/delete",
        Encoding.JSON,
        Auth.TOKEN,
        Phase.COMMAND,
    )
    assert delete.params == (Param("configurationId", Location.JSON),)
    # The rows endpoints.json mirrors are exactly the seed's.
    assert not any(name in {r.name for r in _seed_rows()} for name in NOT_IN_SEED)


def test_inferred_routes_are_flagged() -> None:
    inferred = {name for name, route in ROUTES.items() if route.inferred and route.seed}
    assert len(inferred) == 29
    assert inferred == INFERRED
    assert {n for n, r in ROUTES.items() if r.inferred and not r.seed} == set(NOT_IN_SEED)
    assert all(ROUTES[n].evidence == "inferred" for n in inferred)
    assert not any(r.inferred for n, r in ROUTES.items() if n not in INFERRED | set(NOT_IN_SEED))


@pytest.mark.parametrize(
    ("name", "method", "path", "encoding", "auth", "phase"),
    [
        ("utility.health", "GET", "/health", Encoding.NONE, Auth.NONE, Phase.SYNC),
        (
            "utility.command_status",
            "POST",
            "/request-status/{commandId}",
            Encoding.JSON,
            Auth.NONE,
            Phase.SYNC,
        ),
        ("profile.register", "POST", "/profile/register-profile", Encoding.FORM, Auth.NONE,
         Phase.COMMAND),
        ("profile.authenticate", "POST", "/profile/authenticate", Encoding.FORM, Auth.NONE,
         Phase.SYNC),
        ("profile.retrieve_profile_id", "GET", "/profile/retrieve-profile-id", Encoding.NONE,
         Auth.TOKEN, Phase.SYNC),
        ("profile.reauthorize", "POST", "/profile/reauthorize-authorization-token",
         Encoding.FORM, Auth.TOKEN, Phase.SYNC_OR_COMMAND),
        ("profile.revoke", "POST", "/profile/revoke-authorization-token", Encoding.FORM,
         Auth.TOKEN, Phase.SYNC),
        ("profile.token_expiry", "POST", "/profile/authorization-token/expiry", Encoding.FORM,
         Auth.TOKEN, Phase.SYNC),
        ("devices.request_unique_identifier", "POST", "/device/request-unique-identifier",
         Encoding.FORM, Auth.TOKEN, Phase.COMMAND),
        ("devices.retrieve_unique_identifier", "POST", "/device/retrieve-unique-identifier",
         Encoding.FORM, Auth.TOKEN, Phase.SYNC),
        ("devices.list", "GET", "/device/retrieve-profile-devices", Encoding.NONE, Auth.TOKEN,
         Phase.SYNC),
        ("devices.configure_meta", "POST", "/device/configure-meta", Encoding.FORM, Auth.TOKEN,
         Phase.COMMAND),
        ("devices.approve", "POST", "/device/approve-device", Encoding.FORM, Auth.TOKEN,
         Phase.COMMAND),
        ("devices.reject", "POST", "/device/reject-device", Encoding.FORM, Auth.TOKEN,
         Phase.COMMAND),
        ("devices.retrieve_configuration", "POST", "/device/download-device-configuration",
         Encoding.FORM, Auth.TOKEN, Phase.SYNC),
        ("devices.remove", "POST", "/device/remove", Encoding.FORM, Auth.TOKEN, Phase.COMMAND),
        ("storage.register", "POST", "/storage/register", Encoding.FORM, Auth.TOKEN,
         Phase.COMMAND),
        ("storage.list", "GET", "/storage/list-storage-devices", Encoding.NONE, Auth.TOKEN,
         Phase.SYNC),
        ("storage.sync_device", "POST", "/storage/sync-device", Encoding.FORM, Auth.TOKEN,
         Phase.COMMAND_WITHOUT_ID),
        ("storage.remove", "POST", "/storage/remove", Encoding.FORM, Auth.TOKEN, Phase.COMMAND),
        ("oauth.obtain_access_token", "POST", "/oauth-application/obtain-access-token",
         Encoding.FORM, Auth.CLIENT_SECRET_BASIC, Phase.SYNC),
        ("oauth.refresh_access_token", "POST", "/oauth-application/refresh-access-token",
         Encoding.FORM, Auth.RAW_BASIC, Phase.SYNC),
        ("oauth.request_authorization_code", "GET",
         "/profile/oauth-application-request-authorization-code", Encoding.QUERY, Auth.TOKEN,
         Phase.COMMAND),
        ("data_tokens.request_data", "POST", "/data-token/request-data", Encoding.FORM,
         Auth.TOKEN, Phase.REQUEST),
    ],
)  # fmt: skip
def test_rows_in_scope_match_the_wire_reference(
    name: str, method: str, path: str, encoding: Encoding, auth: Auth, phase: Phase
) -> None:
    route = ROUTES[name]
    assert (route.method, route.path, route.encoding, route.auth, route.phase) == (
        method,
        path,
        encoding,
        auth,
        phase,
    )


def test_table_matches_endpoints_json_row_by_row() -> None:
    rows = _endpoints_json()
    seed = _seed_rows()
    assert len(rows) == len(seed)
    for row, route in zip(rows, seed, strict=True):
        where = f"{route.name} ({row['group']} / {row['name']})"
        assert (row["group"], row["name"]) == (route.group, route.title), where
        assert row["method"] == route.method, where
        assert row["encoding"] == route.encoding.value, where
        assert row["auth"] == route.auth.value, where
        assert row["phase"] == route.phase.value, where
        assert row["evidence"] == route.evidence, where
        assert row["phase_assumed"] == route.phase_assumed, where
        if route.host is Host.API:
            assert row["path"] == route.path, where
        else:  # "{upstream stream server}/?auth={stream}": the host is configured, the path is "/"
            assert row["path"].startswith("{"), where
            assert "/?auth=" in row["path"], where
        # Header parameters are carried by the auth kind; a raw body is the `content` argument;
        # "<arbitrary fields>" is the open_fields flag.
        documented = [
            (p["name"], p["in"], p["required"])
            for p in row["params"]
            if p["in"] not in ("header", "body") and not p["name"].startswith("<")
        ]
        assert documented == [(p.name, p.location.value, p.required) for p in route.params], where
        assert route.open_fields == any(p["name"].startswith("<") for p in row["params"]), where


# -- render_path -----------------------------------------------------------------------------------

STATUS = ROUTES["utility.command_status"]


@pytest.mark.parametrize(
    ("value", "rendered"),
    [
        ("01927ba1-7c1e", "/request-status/01927ba1-7c1e"),
        ("../x", "/request-status/..%2Fx"),
        ("../../profile/authenticate", "/request-status/..%2F..%2Fprofile%2Fauthenticate"),
        ("a/b", "/request-status/a%2Fb"),
        ("?#%", "/request-status/%3F%23%25"),
        ("%2F", "/request-status/%252F"),
        (".", "/request-status/%2E"),
        ("..", "/request-status/%2E%2E"),
        ("...", "/request-status/..."),
        ("caf\u00e9", "/request-status/caf%C3%A9"),
        ("\u65e5\u672c", "/request-status/%E6%97%A5%E6%9C%AC"),
        ("a b+c&d=e;f", "/request-status/a%20b%2Bc%26d%3De%3Bf"),
        ("\\..\\x", "/request-status/%5C..%5Cx"),
    ],
)
def test_render_path_quotes_to_one_segment(value: str, rendered: str) -> None:
    path = STATUS.render_path({"commandId": value})
    assert path == rendered
    # One segment, and nothing a dot-segment normaliser or a query/fragment parser could act on.
    assert path.count("/") == 2
    assert posixpath.normpath(path) == path
    assert "?" not in path
    assert "#" not in path


def test_render_path_two_parameters_and_non_text_values() -> None:
    route = ROUTES["directories.retrieve_profile"]
    assert route.path_params == ("directoryId", "profileId")
    rendered = route.render_path({"directoryId": "..", "profileId": 42})  # type: ignore[dict-item]
    assert rendered == "/directory/retrieve-directory-profile/%2E%2E/42"


def test_render_path_without_placeholders_ignores_values() -> None:
    assert ROUTES["utility.health"].render_path() == "/health"
    assert ROUTES["utility.health"].render_path({"commandId": "x"}) == "/health"


def test_render_path_missing_parameter_is_key_error_naming_it() -> None:
    with pytest.raises(KeyError, match="commandId"):
        STATUS.render_path({})
    with pytest.raises(KeyError, match="profileId"):
        ROUTES["directories.retrieve_profile"].render_path({"directoryId": "d"})


def test_render_path_refuses_an_empty_value() -> None:
    with pytest.raises((KeyError, ValueError)):
        STATUS.render_path({"commandId": ""})


# -- with_overrides --------------------------------------------------------------------------------


def test_with_overrides_by_method_and_path() -> None:
    table = ROUTES.with_overrides({"directories.register": ("put", "/directory/create")})
    route = table["directories.register"]
    assert (route.method, route.path) == ("PUT", "/directory/create")
    # Everything else about the route is kept.
    old = ROUTES["directories.register"]
    assert attrs.evolve(route, method=old.method, path=old.path) == old
    # The original table is untouched, and other routes are the same objects.
    assert ROUTES["directories.register"].path == "/directory/register"
    assert table["storage.sync_device"] is ROUTES["storage.sync_device"]
    assert len(table) == len(ROUTES)
    assert isinstance(table, RouteTable)


def test_with_overrides_by_path_string_keeps_method() -> None:
    table = ROUTES.with_overrides({"utility.command_status": "/status/{commandId}"})
    route = table["utility.command_status"]
    assert (route.method, route.path) == ("POST", "/status/{commandId}")
    assert route.render_path({"commandId": "a/b"}) == "/status/a%2Fb"


def test_with_overrides_by_whole_route() -> None:
    replacement = Route(
        "voting.create",
        "Voting",
        "Create voting",
        "POST",
        "/voting/create-voting",
        Encoding.JSON,
        Auth.TOKEN,
        Phase.COMMAND,
        "user",
        (Param("description", Location.JSON, required=False),),
    )
    table = ROUTES.with_overrides({"voting.create": replacement})
    assert table["voting.create"] is replacement


def test_with_overrides_empty_returns_the_same_table() -> None:
    assert ROUTES.with_overrides(None) is ROUTES
    assert ROUTES.with_overrides({}) is ROUTES


def test_with_overrides_unknown_name_is_refused() -> None:
    with pytest.raises(ValueError, match=r"unknown route name 'storage\.synch_device'"):
        ROUTES.with_overrides({"storage.synch_device": "/storage/sync"})


@pytest.mark.parametrize(
    ("name", "path"),
    [
        ("utility.command_status", "/request-status"),  # drops {commandId}
        ("utility.command_status", "/request-status/{id}"),  # renames it
        ("storage.sync_device", "/storage/sync/{deviceIdentifier}"),  # adds one
        ("directories.retrieve_profile", "/directory/profile/{directoryId}"),
    ],
)
def test_with_overrides_changing_placeholders_is_refused(name: str, path: str) -> None:
    with pytest.raises(ValueError, match="must keep the parameters"):
        ROUTES.with_overrides({name: path})


def test_with_overrides_may_reorder_placeholders() -> None:
    table = ROUTES.with_overrides(
        {"directories.retrieve_profile": "/directory/{profileId}/in/{directoryId}"}
    )
    rendered = table["directories.retrieve_profile"].render_path(
        {"directoryId": "d", "profileId": "p"}
    )
    assert rendered == "/directory/p/in/d"


def test_with_overrides_relative_path_is_refused() -> None:
    with pytest.raises(ValueError, match="must start with '/'"):
        ROUTES.with_overrides({"storage.list": "storage/list"})


def test_route_table_is_a_read_only_mapping() -> None:
    with pytest.raises(TypeError):
        ROUTES["storage.list"] = ROUTES["storage.list"]  # type: ignore[index]
    with pytest.raises(attrs.exceptions.FrozenInstanceError):
        ROUTES["storage.list"].path = "/x"  # type: ignore[misc]


# -- ALTERNATIVES ----------------------------------------------------------------------------------


def test_alternatives_are_the_documented_second_choices() -> None:
    assert set(ALTERNATIVES) == {
        "utility.command_status",
        "devices.retrieve_configuration",
        "oauth.retrieve_scope",
        "authenticators.retrieve_voting_strategy",
    }

    # §a5: "try POST; on 404/405 retry once with GET"; a 404 only until the POST has answered.
    assert ALTERNATIVES["utility.command_status"].on == {404, 405}
    assert ALTERNATIVES["utility.command_status"].unproven_only == {404}
    for name in (
        "devices.retrieve_configuration",
        "oauth.retrieve_scope",
        "authenticators.retrieve_voting_strategy",
    ):
        assert ALTERNATIVES[name].on == {404, 405}, name
        assert ALTERNATIVES[name].unproven_only == frozenset(), name
        assert ALTERNATIVES[name].route.name == name
    assert all(ROUTES.alternative(name) is alt for name, alt in ALTERNATIVES.items())
    assert ROUTES.alternative("storage.sync_device") is None

    status = ALTERNATIVES["utility.command_status"].route
    assert (status.method, status.path, status.encoding, status.auth) == (
        "GET",
        "/request-status/{commandId}",
        Encoding.NONE,
        Auth.NONE,
    )
    assert status.name == "utility.command_status"
    assert status.evidence == "seed"

    config = ALTERNATIVES["devices.retrieve_configuration"].route
    assert (config.method, config.path, config.encoding, config.auth) == (
        "GET",
        "/device/retrieve-device-configuration/{deviceIdentifier}",
        Encoding.NONE,
        Auth.TOKEN,
    )
    assert config.params == (Param("deviceIdentifier", Location.PATH),)
    assert config.path_params == ("deviceIdentifier",)
    assert config.evidence == "official-docs"
    assert config.render_path({"deviceIdentifier": "../d"}) == (
        "/device/retrieve-device-configuration/..%2Fd"
    )
    # §b row 17: the raw-Basic helper that names this path is POST-only, with a form body.
    scope = ALTERNATIVES["oauth.retrieve_scope"].route
    assert (scope.method, scope.path, scope.encoding, scope.auth, scope.params) == (
        "POST",
        "/oauth-application/retrieve-oauth-application-scope",
        Encoding.FORM,
        Auth.RAW_BASIC,
        (),
    )
    assert scope.evidence == "probe-hint"

    # §b2: the guide's path for the (inferred) voting strategy read.
    strategy = ALTERNATIVES["authenticators.retrieve_voting_strategy"].route
    assert (strategy.method, strategy.path, strategy.encoding, strategy.auth) == (
        "GET",
        "/verified-authenticator/retrieve-strategy",
        Encoding.NONE,
        Auth.TOKEN,
    )
    assert strategy.evidence == "guide"

    # The primary choices stay the probe's (and the official TOC's, and the convention's).
    assert ROUTES["utility.command_status"].method == "POST"
    assert ROUTES["devices.retrieve_configuration"].path == "/device/download-device-configuration"
    assert ROUTES["oauth.retrieve_scope"].method == "GET"
    assert ROUTES["authenticators.retrieve_voting_strategy"].path == (
        "/verified-authenticator/retrieve-voting-strategy"
    )


def test_an_unproven_only_status_switches_until_the_first_route_has_answered() -> None:
    status = ALTERNATIVES["utility.command_status"]
    assert status.switches(405, first_proven=False)
    assert status.switches(405, first_proven=True)  # a refused method stays refused
    assert status.switches(404, first_proven=False)  # the POST may not exist here
    assert not status.switches(404, first_proven=True)  # the POST exists: "not yet"
    assert not status.switches(500, first_proven=False)
    assert not status.switches(None, first_proven=False)  # no answer: nothing to switch on
    config = ALTERNATIVES["devices.retrieve_configuration"]
    assert config.switches(404, first_proven=True)


def test_an_alternative_takes_any_iterable_and_checks_unproven_only() -> None:
    route = ROUTES["utility.command_status"]
    alternative = Alternative(route, on=[405, 404], unproven_only={404})
    assert alternative.on == frozenset({404, 405})
    assert isinstance(alternative.unproven_only, frozenset)
    with pytest.raises(ValueError, match="subset"):
        Alternative(route, on={405}, unproven_only={404})


# -- keyword rows, and the route placing and checking a call's arguments ---------------------------


def test_the_rows_are_package_data_with_named_keys_only() -> None:
    text = (Path(routes_module.__file__).parent / "routes.toml").read_text()
    assert routes_module.load_rows(text) == routes_module._ROWS
    row = """
[[route]]
name = "x.y"
group = "X"
title = "Y"
method = "GET"
path = "/y"
encoding = "none"
auth = "none"
phase = "sync"
evidence = "probe"
"""
    assert routes_module.load_rows(row)[0].params == ()
    with pytest.raises(ValueError, match=r"x\.y: unknown keys \['pth'\]"):
        routes_module.load_rows(row + 'pth = "/z"\n')
    with pytest.raises(ValueError, match="unknown param keys"):
        routes_module.load_rows(row + 'params = [{ name = "a", in = "query", where = "b" }]\n')
    with pytest.raises(ValueError, match="'POSTAL' is not a valid"):
        routes_module.load_rows(row.replace('encoding = "none"', 'encoding = "POSTAL"'))
    assert routes_module.load_rows(row)[0].seed
    assert not routes_module.load_rows(row + "seed = false\n")[0].seed


def test_each_parameter_has_a_python_argument_of_its_own() -> None:
    for route in ROUTES.values():
        args = [p.arg for p in route.params]
        assert all(arg.isidentifier() for arg in args), route.name
        assert len(set(args)) == len(args), route.name
    assert ROUTES["storage.sync_device"].params[0].arg == "device_identifier"
    assert ROUTES["oauth.request_authorization_code"].params[2].arg == "scope"  # from scope[]
    assert ROUTES["devices.retrieve_unique_identifier"].params[0].arg == "command_id"


def test_the_phase_says_which_calls_are_tracked() -> None:
    tracked = {p for p in Phase if p.tracked}
    assert tracked == {Phase.COMMAND, Phase.COMMAND_WITHOUT_ID}


def test_bind_places_args_by_location_in_the_given_order() -> None:
    bound = ROUTES["data_tokens.configure_file_meta"].bind(
        {
            "token": "tmp-1",
            "file_name": "a.txt",
            "extension": "txt",
            "context": "ctx",
            "size": 3,
            "path": "/",
        }
    )
    assert bound.path == {}
    assert bound.fields == [
        ("token", "tmp-1"),
        ("fileName", "a.txt"),
        ("extension", "txt"),
        ("context", "ctx"),
        ("size", 3),
        ("path", "/"),
    ]
    bound = ROUTES["directories.retrieve_profile"].bind({"directory_id": "d", "profile_id": "p"})
    assert (bound.path, bound.fields) == ({"directoryId": "d", "profileId": "p"}, [])


def test_bind_repeats_a_list_for_query_and_form_but_not_json() -> None:
    query = ROUTES["oauth.request_authorization_code"].bind(
        {"client_id": "c", "nonce": "n", "scope": ["all", "read"]}
    )
    assert query.fields == [
        ("client_id", "c"),
        ("nonce", "n"),
        ("scope[]", "all"),
        ("scope[]", "read"),
    ]
    json_body = ROUTES["voting.create"].bind({"device_identifiers": ["a", "b"]})
    assert json_body.fields == [("deviceIdentifiers", ["a", "b"])]


SYNC_ID = ("device_identifier", "deviceIdentifier")


@pytest.mark.parametrize(
    ("name", "args", "argument", "field", "message"),
    [
        ("storage.sync_device", {"device_identifier": " "}, *SYNC_ID, "blank"),
        ("storage.sync_device", {"device_identifier": 5}, *SYNC_ID, "string"),
        ("data_tokens.delete", {"token": "dtk x"}, "token", "token", "whitespace"),
        ("devices.retrieve_unique_identifier", {"command_id": ""}, "command_id", "id", "blank"),
    ],
)  # fmt: skip
def test_bind_checks_text_before_anything_is_sent(
    name: str, args: dict[str, object], argument: str, field: str, message: str
) -> None:
    with pytest.raises(InvalidArgumentError, match=message) as info:
        ROUTES[name].bind(args)
    assert info.value.argument == argument
    assert list(info.value.errors) == [field]


def test_a_refused_token_is_not_echoed() -> None:
    with pytest.raises(InvalidArgumentError) as info:
        ROUTES["data_tokens.delete"].bind({"token": "secret\r\nvalue"})
    assert "secret" not in str(info.value)


def test_bind_refuses_unknown_and_missing_arguments() -> None:
    with pytest.raises(TypeError, match="no parameter 'device'"):
        ROUTES["storage.sync_device"].bind({"device_identifier": "d", "device": "d"})
    with pytest.raises(TypeError, match="needs device_identifier"):
        ROUTES["storage.sync_device"].bind({})
    # The credential fills ?auth=: it is neither an argument nor missing.
    assert ROUTES["data_tokens.download"].bind({}).fields == []
    with pytest.raises(TypeError, match="no parameter 'auth'"):
        ROUTES["data_tokens.download"].bind({"auth": "x"})


def test_bind_passes_optional_nones_and_free_fields() -> None:
    bound = ROUTES["devices.configure_meta"].bind({"device_identifier": "d", "name": None})
    assert bound.fields == [("deviceIdentifier", "d"), ("name", None)]
    route = ROUTES["data_tokens.configure_information_security_risk_meta"]
    assert route.open_fields
    assert route.bind({"token": "dtk-1", "retentionDays": 7}).fields == [
        ("token", "dtk-1"),
        ("retentionDays", 7),
    ]
