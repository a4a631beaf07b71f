"""End-to-end flows against the sandbox: provisioning, device lifecycle, rejections,
validation, every wire shape of ids and statuses, background workers and path quoting."""

from __future__ import annotations

import time

import pytest

from privicore_async import CommandResult, CommandStatus, PollPolicy, errors
from privicore_async.models import DeviceConfiguration
from privicore_async.sandbox import Sandbox
from privicore_async.sandbox.engine import Command, CommandState
from privicore_async.sandbox.state import DeviceStatus

from .conftest import (
    LATENCY,
    LEGACY_STATUS,
    PASSWORD,
    Provisioned,
    assert_approved_storage,
    auth_requests,
    make_client,
    onboard,
    onboard_storage,
    register_profile,
    unique_username,
)

# -- 1. provisioning ---------------------------------------------------------------------------


async def test_register_then_authenticate_on_first_use(sandbox: Sandbox) -> None:
    username = unique_username("alice")
    async with make_client(sandbox) as anonymous:
        handle = await anonymous.profile.register(username, PASSWORD)
        assert handle.command_id is not None
        assert sandbox.state.commands[handle.command_id].route == "profile.register"
        result = await handle
    assert isinstance(result, CommandResult)
    assert result.status is CommandStatus.SUCCEEDED
    assert result.command_id == handle.command_id
    assert result.polls >= 1
    assert result.settled_at is not None
    assert result.submitted_at is not None
    assert result.settled_at >= result.submitted_at
    profile = sandbox.state.profile_by_username(username)
    assert profile is not None
    assert auth_requests(sandbox) == 0

    async with make_client(sandbox, username=username, password=PASSWORD) as client:
        assert client.tokens.current is None  # nothing sent yet
        profile_id = await client.profile.retrieve_profile_id()
        assert client.tokens.authentications == 1
    assert profile_id == profile.profile_id
    assert auth_requests(sandbox) == 1
    assert sandbox.stats.requests["profile.retrieve_profile_id"] == 1


async def test_register_taken_username_is_a_conflict(sandbox: Sandbox) -> None:
    username = unique_username("bob")
    async with make_client(sandbox) as anonymous:
        first = await anonymous.profile.register(username, PASSWORD)
        # Still pending on the server: the name is reserved already.
        with pytest.raises(errors.ConflictError) as pending:
            await anonymous.profile.register(username, "another password")
        assert pending.value.status == 409
        await first
        with pytest.raises(errors.ConflictError) as taken:
            await anonymous.profile.register(username, "another password")
    assert taken.value.status == 409
    assert len([p for p in sandbox.state.profiles.values() if p.username == username]) == 1
    assert sandbox.stats.requests["profile.register"] == 3
    assert sandbox.stats.commands_accepted == 1


async def test_wrong_password_is_an_authentication_error(sandbox: Sandbox) -> None:
    username = unique_username()
    await register_profile(sandbox, username)
    async with make_client(sandbox, username=username, password="wrong password") as client:
        with pytest.raises(errors.AuthenticationError) as caught:
            await client.storage.list()
    assert caught.value.status == 401
    assert "wrong password" not in str(caught.value)
    assert "wrong password" not in repr(caught.value)
    assert sandbox.stats.requests["storage.list"] == 0  # the login failed first


# -- 2. the device lifecycle -------------------------------------------------------------------


async def test_onboard_register_storage_and_sync(provisioned: Provisioned) -> None:
    sb, client = provisioned.sb, provisioned.client
    identifier = await client.devices.onboard("kitchen-nas")
    device = sb.state.devices[identifier]
    assert device.profile_id == provisioned.profile_id
    assert device.status is DeviceStatus.APPROVED
    assert device.name == "kitchen-nas"

    registered = await (await client.storage.register(identifier))
    assert registered.status is CommandStatus.SUCCEEDED
    assert device.storage is not None

    handle = await client.storage.sync_device(identifier)
    # sync-device answers 202 with an empty body: the id comes from the x-dpt-cab-id header.
    assert handle.command_id is not None
    assert sb.state.commands[handle.command_id].route == "storage.sync_device"
    result = await handle
    assert result.status is CommandStatus.SUCCEEDED
    assert handle.done()
    assert handle.status is CommandStatus.SUCCEEDED
    assert handle.result() is result
    assert sb.state.commands[handle.command_id].state is CommandState.SUCCEEDED

    storage = await client.storage.list()
    assert [s.device_identifier for s in storage] == [identifier]
    assert storage[0].online is True
    assert storage[0].name == "kitchen-nas"
    assert storage[0].registered_at is not None

    devices = await client.devices.list()
    assert [(d.device_identifier, d.status, d.name) for d in devices] == [
        (identifier, "approved", "kitchen-nas")
    ]


@LEGACY_STATUS
async def test_configuration_rename_reject_and_removal(provisioned: Provisioned) -> None:
    sb, client = provisioned.sb, provisioned.client
    [kept, removed] = await onboard_storage(client, 2, prefix="box")

    configuration = await client.devices.retrieve_configuration(kept)
    assert isinstance(configuration, DeviceConfiguration)
    record = sb.state.devices[kept]
    assert configuration.device_identifier == kept
    assert configuration.client_id == record.client_id
    assert configuration.client_secret == record.client_secret
    assert configuration.rabbit_pass == record.rabbit_password
    assert configuration.rabbit_port == 5672
    shown = repr(configuration)
    assert record.client_secret not in shown
    assert record.rabbit_password not in shown
    assert record.client_id in shown  # not a secret

    renamed = await (await client.devices.configure_meta(kept, name="living-room"))
    assert renamed.status is CommandStatus.SUCCEEDED
    names = {d.device_identifier: d.name for d in await client.devices.list()}
    assert names[kept] == "living-room"
    assert sb.state.devices[kept].name == "living-room"

    # A device that was requested but never approved: reject it.
    requested = await client.devices.request_unique_identifier("stranger")
    await requested
    assert requested.command_id is not None
    pending_id = await client.devices.retrieve_unique_identifier(requested.command_id)
    assert sb.state.devices[pending_id].status is DeviceStatus.PENDING
    with pytest.raises(errors.ValidationError) as not_approved:
        await client.devices.retrieve_configuration(pending_id)
    assert not_approved.value.status == 422
    assert not_approved.value.errors["deviceIdentifier"]
    rejected = await (await client.devices.reject(pending_id))
    assert rejected.status is CommandStatus.SUCCEEDED
    statuses = {d.device_identifier: d.status for d in await client.devices.list()}
    assert statuses == {kept: "approved", removed: "approved", pending_id: "rejected"}
    # Rejecting twice is refused by the server's rule, with its reason.
    with pytest.raises(errors.CommandRejected) as again:
        await (await client.devices.reject(pending_id))
    assert again.value.reason == "device.not_pending"

    # Remove the storage role, then the device itself.
    await (await client.storage.remove(removed))
    assert [s.device_identifier for s in await client.storage.list()] == [kept]
    assert removed in sb.state.devices
    await (await client.devices.remove(removed))
    assert removed not in sb.state.devices
    listed = {d.device_identifier for d in await client.devices.list()}
    assert listed == {kept, pending_id}
    with pytest.raises(errors.NotFoundError):
        await client.devices.retrieve_configuration(removed)


@LEGACY_STATUS
async def test_devices_of_another_profile_are_invisible(provisioned: Provisioned) -> None:
    sb = provisioned.sb
    [mine] = await onboard_storage(provisioned.client, 1)
    other = unique_username("eve")
    await register_profile(sb, other)
    async with make_client(sb, username=other, password=PASSWORD) as eve:
        assert await eve.devices.list() == []
        assert await eve.storage.list() == []
        with pytest.raises(errors.CommandRejected) as caught:
            await (await eve.storage.sync_device(mine))
    assert caught.value.reason == "device.not_found"


# -- 3. rejections carry the server's reason ---------------------------------------------------


@LEGACY_STATUS
async def test_sync_rejections_carry_reason_and_command_id(provisioned: Provisioned) -> None:
    sb, client = provisioned.sb, provisioned.client
    [storage_device] = await onboard_storage(client, 1, prefix="store")
    [plain_device] = await onboard(client, 1, prefix="plain")

    cases = {
        "unknown-device-0001": "device.not_found",
        plain_device: "device.not_a_storage_device",
        storage_device: "device.offline",
    }
    sb.set_device_online(storage_device, False)
    for identifier, reason in cases.items():
        handle = await client.storage.sync_device(identifier)
        with pytest.raises(errors.CommandRejected) as caught:
            await handle
        assert caught.value.reason == reason
        assert caught.value.command_id is not None
        assert caught.value.command_id == handle.command_id
        assert reason in str(caught.value)
        assert handle.status is CommandStatus.REJECTED
        assert handle.body == reason
        assert sb.state.commands[handle.command_id].state is CommandState.REJECTED
        assert sb.state.commands[handle.command_id].body == reason
        with pytest.raises(errors.CommandRejected):
            handle.result()
        assert isinstance(handle.exception(), errors.CommandRejected)

    sb.set_device_online(storage_device, True)
    assert (await (await client.storage.sync_device(storage_device))).status is (
        CommandStatus.SUCCEEDED
    )


# -- 4. validation: server-side 422 and client-side refusal -------------------------------------


async def test_malformed_identifier_is_a_server_validation_error(provisioned: Provisioned) -> None:
    sb, client = provisioned.sb, provisioned.client
    accepted = sb.stats.commands_accepted
    with pytest.raises(errors.ValidationError) as caught:
        await client.storage.sync_device("bad id!")
    error = caught.value
    assert not isinstance(error, errors.InvalidArgumentError)
    assert error.status == 422
    assert error.errors["deviceIdentifier"]
    assert error.method == "POST"
    assert error.path == "/storage/sync-device"
    assert sb.stats.requests["storage.sync_device"] == 1
    assert sb.stats.commands_accepted == accepted  # refused before any command existed


@pytest.mark.parametrize("blank", ["", "   ", "\t\n"])
async def test_blank_identifier_is_refused_before_sending(
    provisioned: Provisioned, blank: str
) -> None:
    sb, client = provisioned.sb, provisioned.client
    total = sb.stats.requests_total
    with pytest.raises(errors.InvalidArgumentError) as caught:
        await client.storage.sync_device(blank)
    error = caught.value
    assert isinstance(error, errors.ValidationError)
    assert isinstance(error, ValueError)
    assert error.status == 0
    assert error.argument == "device_identifier"
    assert error.errors["deviceIdentifier"]
    assert sb.stats.requests_total == total  # no request reached the sandbox
    for method in (client.storage.register, client.devices.approve, client.devices.remove):
        with pytest.raises(errors.InvalidArgumentError):
            await method(blank)
    assert sb.stats.requests_total == total


async def test_sandbox_refuses_blank_identifier_itself(provisioned: Provisioned) -> None:
    """The raw transport call skips the SDK's check: the 422 comes from the server."""
    sb, client = provisioned.sb, provisioned.client
    with pytest.raises(errors.ValidationError) as caught:
        await client.transport.request(
            client.routes["storage.sync_device"],
            tokens=client.tokens,
            fields={"deviceIdentifier": " "},
        )
    error = caught.value
    assert not isinstance(error, errors.InvalidArgumentError)
    assert error.status == 422
    assert error.errors == {"deviceIdentifier": ["This value should not be blank."]}
    assert sb.stats.requests["storage.sync_device"] == 1


# -- 8. every command-id shape and every status shape -------------------------------------------


@pytest.mark.parametrize("id_shape", ["json-string", "text", "array", "object", "header", "mixed"])
async def test_every_command_id_shape_settles(id_shape: str) -> None:
    # The legacy status object: the rejection's reason is asserted and found by polling.
    async with Sandbox(latency=LATENCY, id_shape=id_shape, status_shape="object") as sb:  # type: ignore[arg-type]
        username = unique_username(id_shape)
        await register_profile(sb, username)
        async with make_client(sb, username=username, password=PASSWORD) as client:
            # Five commands of different routes: "mixed" rotates through all five shapes.
            [identifier] = await onboard(client, 1)  # request + approve
            handles = [
                await client.storage.register(identifier),
                await client.devices.configure_meta(identifier, name="renamed"),
                await client.devices.request_unique_identifier("second"),
            ]
            results = [await h for h in handles]
            with pytest.raises(errors.CommandRejected) as rejected:
                await (await client.devices.approve(identifier))  # already approved
        for handle, result in zip(handles, results, strict=True):
            assert result.status is CommandStatus.SUCCEEDED
            assert handle.command_id is not None
            assert sb.state.commands[handle.command_id].state is CommandState.SUCCEEDED
        assert rejected.value.reason == "device.not_pending"
        assert rejected.value.command_id in sb.state.commands
        assert sb.state.devices[identifier].name == "renamed"
        assert sb.state.devices[identifier].storage is not None


@pytest.mark.parametrize(
    ("status_shape", "reasons"),
    [
        ("object", {"device.not_found"}),
        ("string", {None}),
        ("array", {None}),
        ("mixed", {None, "device.not_found"}),
    ],
)
async def test_every_status_shape_settles(status_shape: str, reasons: set[str | None]) -> None:
    async with Sandbox(latency=LATENCY, status_shape=status_shape) as sb:  # type: ignore[arg-type]
        username = unique_username(status_shape)
        await register_profile(sb, username)
        async with make_client(sb, username=username, password=PASSWORD) as client:
            [identifier] = await onboard_storage(client, 1)
            ok = await (await client.storage.sync_device(identifier))
            handles = [await client.storage.sync_device(f"ghost-{i}") for i in range(3)]
            caught = []
            for handle in handles:
                with pytest.raises(errors.CommandRejected) as rejected:
                    await handle
                caught.append(rejected.value)
        assert ok.status is CommandStatus.SUCCEEDED
        assert_approved_storage(sb, [identifier])
        for handle, error in zip(handles, caught, strict=True):
            assert handle.status is CommandStatus.REJECTED
            assert error.command_id == handle.command_id
            assert error.reason in reasons
            assert sb.state.commands[handle.command_id].body == "device.not_found"
        if status_shape in ("string", "array"):
            assert ok.body is None  # the shape carries no body


# -- 11. background workers: a handle rebuilt from its id ---------------------------------------


@LEGACY_STATUS
async def test_resume_in_another_client_gets_the_same_outcome(provisioned: Provisioned) -> None:
    sb = provisioned.sb
    [identifier] = await onboard_storage(provisioned.client, 1)
    async with make_client(sb, username=provisioned.username, password=PASSWORD) as starter:
        good = (await starter.storage.sync_device(identifier)).command_id
        bad = (await starter.storage.sync_device("nobody-home")).command_id
        assert starter.commands.tracked == 2
    # The first client is gone (its handles were cancelled locally); the commands live on.
    assert good is not None
    assert bad is not None
    status_requests = sb.stats.status_requests
    # A fresh worker without any credentials: status reads need none.
    async with make_client(sb) as worker:
        resumed = worker.commands.resume(good, kind="storage.sync_device")
        assert worker.commands.resume(good) is resumed  # one handle per id
        result = await resumed
        with pytest.raises(errors.CommandRejected) as rejected:
            await worker.commands.resume(bad)
    assert result.status is CommandStatus.SUCCEEDED
    assert result.command_id == good
    assert rejected.value.command_id == bad
    assert rejected.value.reason == "device.not_found"
    assert sb.stats.status_requests > status_requests
    assert sb.state.commands[good].state is CommandState.SUCCEEDED


async def test_resume_of_an_already_settled_command(provisioned: Provisioned) -> None:
    sb, client = provisioned.sb, provisioned.client
    [identifier] = await onboard_storage(client, 1)
    handle = await client.storage.sync_device(identifier)
    await handle
    assert handle.command_id is not None
    assert sb.settled_at(handle.command_id) is not None
    async with make_client(sb) as worker:
        resumed = worker.commands.resume(handle.command_id)
        assert resumed is not handle
        assert resumed.status is CommandStatus.PENDING
        assert await resumed.refresh() is CommandStatus.SUCCEEDED  # one request
        assert resumed.done()
        assert resumed.polls == 1
        reading = await worker.utility.command_status(handle.command_id)
    assert reading.status is CommandStatus.SUCCEEDED


async def test_blank_resume_is_refused_locally(sandbox: Sandbox) -> None:
    async with make_client(sandbox) as client:
        with pytest.raises(errors.InvalidArgumentError):
            client.commands.resume("  ")
    assert sandbox.stats.requests_total == 0


# -- 13. path quoting end to end -----------------------------------------------------------------


@pytest.mark.parametrize("command_id", ["../x", "a/b", "..", "x?y=1#z"])
@LEGACY_STATUS
async def test_path_parameters_stay_one_literal_segment(sandbox: Sandbox, command_id: str) -> None:
    """The sandbox receives the literal id as the status route's parameter, nothing else."""
    now = time.time()
    sandbox.state.commands[command_id] = Command(
        command_id, "storage.sync_device", None, now, CommandState.SUCCEEDED, "ok", now
    )
    async with make_client(sandbox) as client:
        result = await client.commands.resume(command_id)
    assert result.status is CommandStatus.SUCCEEDED
    assert result.body == "ok"
    assert dict(sandbox.stats.requests) == {"utility.command_status": 1}


async def test_resume_of_unknown_dotted_id_ends_as_command_not_found(sandbox: Sandbox) -> None:
    poll = PollPolicy(
        initial_delay=0.01, min_interval=0.01, max_interval=0.05, timeout=10, not_found_grace=0.2
    )
    started = time.monotonic()
    async with make_client(sandbox, poll=poll) as client:
        handle = client.commands.resume("../x")
        with pytest.raises(errors.CommandNotFound) as caught:
            await handle
    elapsed = time.monotonic() - started
    assert caught.value.command_id == "../x"
    assert caught.value.grace == 0.2
    assert 0.2 <= elapsed < 2.0
    assert handle.polls >= 2  # 404s inside the grace period were retried
    # Every request went to the status route (404 from its handler), never another route. No
    # POST has answered this client, so each read's 404 also tried the GET once (§a5).
    assert set(sandbox.stats.requests) == {"utility.command_status"}
    assert sandbox.stats.requests["utility.command_status"] == 2 * handle.polls
    assert sandbox.stats.status_requests == 2 * handle.polls


async def test_unknown_id_costs_one_read_per_poll_once_the_status_post_has_answered(
    sandbox: Sandbox,
) -> None:
    poll = PollPolicy(
        initial_delay=0.01, min_interval=0.01, max_interval=0.05, timeout=10, not_found_grace=0.2
    )
    now = time.time()
    sandbox.state.commands["known"] = Command(
        "known", "storage.sync_device", None, now, CommandState.SUCCEEDED, None, now
    )
    async with make_client(sandbox, poll=poll) as client:
        assert (await client.utility.command_status("known")).status is CommandStatus.SUCCEEDED
        before = sandbox.stats.status_requests
        handle = client.commands.resume("not-yet")
        with pytest.raises(errors.CommandNotFound):
            await handle
    # The POST is known to be served: a 404 is "not visible yet", read again later, no GET.
    assert handle.polls >= 2
    assert sandbox.stats.status_requests - before == handle.polls


async def test_default_poll_policy_settles_too(sandbox: Sandbox) -> None:
    """The shipped PollPolicy (not the fast test one) settles a command near its latency."""
    username = unique_username()
    await register_profile(sandbox, username)
    async with make_client(
        sandbox, username=username, password=PASSWORD, poll=PollPolicy()
    ) as client:
        started = time.monotonic()
        await (await client.devices.request_unique_identifier("defaults"))
        assert time.monotonic() - started < 2.0
