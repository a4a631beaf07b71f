"""The Directory group end to end against the sandbox: a directory, a user it creates (who then
logs in), an invited profile that accepts, profile devices with the storage role, a voting pool,
meta, and the refusals around them (non-owners, foreign and unknown invitations, bad input)."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator

import aiohttp
import pytest

from privicore_async import CommandHandle, PrivicoreClient, errors
from privicore_async.models import Directory, DirectoryProfile
from privicore_async.sandbox import Sandbox
from privicore_async.sandbox.state import DeviceStatus

from .conftest import (
    LEGACY_STATUS,
    PASSWORD,
    Provisioned,
    make_client,
    register_profile,
    unique_username,
)

USER_PASSWORD = "directory user's pass/word"


@contextlib.asynccontextmanager
async def logged_in(
    sb: Sandbox, username: str, password: str = PASSWORD
) -> AsyncIterator[PrivicoreClient]:
    async with make_client(sb, username=username, password=password) as client:
        await client.profile.authenticate()
        yield client


@contextlib.asynccontextmanager
async def other_profile(sb: Sandbox) -> AsyncIterator[tuple[PrivicoreClient, str, str]]:
    """A second registered profile, logged in: (client, username, profile id)."""
    username = unique_username("other")
    profile_id = await register_profile(sb, username)
    async with logged_in(sb, username) as client:
        yield client, username, profile_id


async def settled(handle: CommandHandle) -> str:
    await handle
    assert handle.command_id is not None
    return handle.command_id


async def rejected(handle: CommandHandle) -> str:
    with pytest.raises(errors.CommandRejected) as info:
        await handle
    return str(info.value.reason)


async def new_directory(client: PrivicoreClient, name: str = "Acme staff") -> str:
    return await settled(await client.directories.register(name, "acme"))


@LEGACY_STATUS
async def test_directory_lifecycle(provisioned: Provisioned) -> None:
    sb, owner = provisioned.sb, provisioned.client
    directories = owner.directories

    # Register: the directory id is the command id.
    directory_id = await new_directory(owner)
    record = sb.state.directories.directories[directory_id]
    assert (record.owner_id, record.name, record.short_name) == (
        provisioned.profile_id,
        "Acme staff",
        "acme",
    )
    (owned,) = await directories.list_owned()
    assert isinstance(owned, Directory)
    assert (owned.directory_id, owned.directory_name, owned.directory_short_name) == (
        directory_id,
        "Acme staff",
        "acme",
    )
    assert owned.profile_id == provisioned.profile_id
    assert owned.created_at is not None
    assert await directories.list_assigned() == []
    assert (await directories.retrieve(directory_id)).directory_id == directory_id

    # A user the directory creates: a real profile, which logs in once it has a password.
    username = unique_username("member")
    user_id = await settled(
        await directories.create_user(
            directory_id, username=username, given_name="Alice", family_name="Liddell"
        )
    )
    (user,) = await directories.list_users(directory_id)
    assert (user.profile_id, user.username) == (user_id, username)
    assert (user.given_name, user.family_name) == ("Alice", "Liddell")
    assert sb.state.profile_by_username(username) is sb.state.profiles[user_id]
    async with make_client(sb, username=username, password=USER_PASSWORD) as early:
        with pytest.raises(errors.AuthenticationError):
            await early.profile.authenticate()
    await settled(await directories.set_profile_password(directory_id, user_id, USER_PASSWORD))
    assert sb.state.profiles[user_id].password == USER_PASSWORD

    await settled(await directories.update_user(directory_id, user_id, given_name="Alicia"))
    profile = await directories.retrieve_profile(directory_id, user_id)
    assert (profile.given_name, profile.family_name) == ("Alicia", "Liddell")

    async with (
        logged_in(sb, username, USER_PASSWORD) as member,
        other_profile(sb) as (invitee, invitee_name, invitee_id),
    ):
        assert await member.profile.retrieve_profile_id() == user_id
        (assigned,) = await member.directories.list_assigned()
        assert assigned.directory_id == directory_id
        # A member may read the directory, but not manage it.
        assert (await member.directories.retrieve(directory_id)).directory_name == "Acme staff"
        assert await rejected(await member.directories.store_meta(directory_id, {"a": 1})) == (
            "directory.not_owner"
        )

        # An invitation to an existing profile shows in its own list; accepting joins.
        assert await invitee.directories.list_invites() == []
        invitation_id = await settled(await directories.invite_profile(directory_id, invitee_name))
        (invitation,) = await invitee.directories.list_invites()
        assert (invitation.invitation_id, invitation.directory_id) == (invitation_id, directory_id)
        assert invitation.directory_name == "Acme staff"
        assert await member.directories.list_invites() == []
        await settled(await invitee.directories.process_invitation(invitation_id, True))
        assert await invitee.directories.list_invites() == []
        assert [d.directory_id for d in await invitee.directories.list_assigned()] == [directory_id]
        assert invitation_id not in sb.state.directories.invitations
        assert {u.profile_id for u in await directories.list_users(directory_id)} == {
            user_id,
            invitee_id,
        }
        # The directory did not create the invitee: its password stays its own.
        assert await rejected(
            await directories.set_profile_password(directory_id, invitee_id, "x")
        ) == ("directory.profile_not_managed")
        assert sb.state.profiles[invitee_id].password == PASSWORD

        infos = await directories.profiles_info(directory_id, [invitee_id, user_id, "nobody"])
        assert [(p.profile_id, p.username) for p in infos] == [
            (invitee_id, invitee_name),
            (user_id, username),
        ]
        invited_profile = await directories.retrieve_profile(directory_id, invitee_id)
        assert isinstance(invited_profile, DirectoryProfile)
        assert (invited_profile.username, invited_profile.devices) == (invitee_name, [])

        # A device created on the member's profile, approved by the member, made storage.
        device_command = await settled(
            await directories.create_profile_device(directory_id, user_id, "alice-phone")
        )
        (device,) = await member.devices.list()
        assert (device.name, device.status) == ("alice-phone", "pending")
        identifier = device.device_identifier
        assert sb.state.device_by_command[device_command] == identifier
        (listed,) = await directories.list_devices(directory_id)
        assert (listed.device_identifier, listed.profile_id) == (identifier, user_id)
        assert (listed.status, listed.storage) == ("pending", False)
        (on_profile,) = (await directories.retrieve_profile(directory_id, user_id)).devices
        assert on_profile.device_identifier == identifier
        assert await rejected(
            await directories.add_storage_device(directory_id, user_id, identifier)
        ) == ("device.not_approved")
        assert await rejected(await directories.create_voting_pool(directory_id)) == (
            "directory.no_devices"
        )
        await settled(await member.devices.approve(identifier))
        await settled(await directories.add_storage_device(directory_id, user_id, identifier))
        assert sb.state.devices[identifier].status is DeviceStatus.APPROVED
        assert sb.state.devices[identifier].storage is not None
        (listed,) = await directories.list_devices(directory_id)
        assert (listed.status, listed.storage) == ("approved", True)
        assert [d.device_identifier for d in await member.storage.list()] == [identifier]
        # The device belongs to the member, not to the invitee.
        assert await rejected(
            await directories.add_storage_device(directory_id, invitee_id, identifier)
        ) == ("device.not_found")

        pool_id = await settled(await directories.create_voting_pool(directory_id, [identifier]))
        all_pool = await settled(await directories.create_voting_pool(directory_id))
        pools = sb.state.directories.directories[directory_id].voting_pools
        assert pools[pool_id].device_identifiers == [identifier]
        assert pools[all_pool].device_identifiers == [identifier]
        assert await rejected(
            await directories.create_voting_pool(directory_id, ["no-such-device"])
        ) == ("device.not_found")

    # Meta: stored, read back, and replaced (not merged) by the next store.
    await settled(await directories.store_meta(directory_id, {"region": "eu", "seats": [1, 2]}))
    assert (await directories.retrieve(directory_id)).meta == {"region": "eu", "seats": [1, 2]}
    await settled(await directories.store_meta(directory_id, {"plan": "gold"}))
    assert (await directories.retrieve(directory_id)).meta == {"plan": "gold"}
    assert sb.state.directories.directories[directory_id].meta == {"plan": "gold"}

    stats = sb.stats.requests
    for name in ("directories.register", "directories.profiles_info", "directories.store_meta"):
        assert stats[name] >= 1, name


@LEGACY_STATUS
async def test_only_the_owner_manages_a_directory(provisioned: Provisioned) -> None:
    sb, owner = provisioned.sb, provisioned.client
    directory_id = await new_directory(owner)
    member_name = unique_username("member")
    member_id = await settled(
        await owner.directories.create_user(
            directory_id, username=member_name, given_name="A", family_name="B"
        )
    )
    async with other_profile(sb) as (stranger, stranger_name, _):
        theirs = stranger.directories
        # Started together (gather awaits every coroutine, even if an assertion fails later).
        handles = await asyncio.gather(
            theirs.create_user(
                directory_id, username=unique_username(), given_name="X", family_name="Y"
            ),
            theirs.update_user(directory_id, member_id, family_name="Z"),
            theirs.invite_profile(directory_id, stranger_name),
            theirs.set_profile_password(directory_id, member_id, "hijack"),
            theirs.create_profile_device(directory_id, member_id, "rogue"),
            theirs.add_storage_device(directory_id, member_id, "dev-x"),
            theirs.create_voting_pool(directory_id),
            theirs.store_meta(directory_id, {"owned": "by me"}),
        )
        assert len(handles) == 8
        for handle in handles:
            assert await rejected(handle) == "directory.not_owner"
        # Reads answer as if the directory did not exist.
        reads = await asyncio.gather(
            theirs.retrieve(directory_id),
            theirs.list_users(directory_id),
            theirs.list_devices(directory_id),
            theirs.retrieve_profile(directory_id, member_id),
            theirs.profiles_info(directory_id, [member_id]),
            return_exceptions=True,
        )
        assert [type(r) for r in reads] == [errors.NotFoundError] * 5
        assert await theirs.list_owned() == []
        assert await theirs.list_assigned() == []
        # An unknown directory is rejected as such.
        assert await rejected(await theirs.store_meta("no-such-directory", {"a": 1})) == (
            "directory.not_found"
        )

    record = sb.state.directories.directories[directory_id]
    assert list(record.members) == [member_id]
    assert record.meta == {}
    assert record.voting_pools == {}
    assert sb.state.profiles[member_id].password == ""
    assert sb.state.directories.invitations == {}
    # The owner reading a profile that is not a member: 404.
    with pytest.raises(errors.NotFoundError):
        await owner.directories.retrieve_profile(directory_id, provisioned.profile_id)


@LEGACY_STATUS
async def test_invitation_rules(provisioned: Provisioned) -> None:
    sb, owner = provisioned.sb, provisioned.client
    directory_id = await new_directory(owner)
    async with (
        other_profile(sb) as (invitee, invitee_name, invitee_id),
        other_profile(sb) as (
            bystander,
            _,
            _,
        ),
    ):
        assert await rejected(await invitee.directories.process_invitation("no-such", True)) == (
            "directory.invitation_not_found"
        )
        assert await rejected(
            await owner.directories.invite_profile(directory_id, unique_username("ghost"))
        ) == ("profile.not_found")
        assert await rejected(
            await owner.directories.invite_profile(directory_id, provisioned.username)
        ) == ("directory.already_owner")

        invitation_id = await settled(
            await owner.directories.invite_profile(directory_id, invitee_name)
        )
        assert await rejected(
            await owner.directories.invite_profile(directory_id, invitee_name)
        ) == ("directory.already_invited")
        # Someone else's invitation cannot be processed, and stays pending.
        assert await rejected(
            await bystander.directories.process_invitation(invitation_id, True)
        ) == ("directory.invitation_not_found")
        assert await bystander.directories.list_assigned() == []
        assert invitation_id in sb.state.directories.invitations

        # Declining removes the invitation and joins nothing.
        await settled(await invitee.directories.process_invitation(invitation_id, False))
        assert await invitee.directories.list_invites() == []
        assert await invitee.directories.list_assigned() == []
        assert sb.state.directories.directories[directory_id].members == {}
        assert await rejected(
            await invitee.directories.process_invitation(invitation_id, True)
        ) == ("directory.invitation_not_found")

        # Invited again, accepted; a member cannot be invited once more.
        again = await settled(await owner.directories.invite_profile(directory_id, invitee_name))
        await settled(await invitee.directories.process_invitation(again, True))
        assert invitee_id in sb.state.directories.directories[directory_id].members
        assert await rejected(
            await owner.directories.invite_profile(directory_id, invitee_name)
        ) == ("directory.already_member")


async def test_taken_username_is_a_conflict(provisioned: Provisioned) -> None:
    owner = provisioned.client
    directory_id = await new_directory(owner)
    with pytest.raises(errors.ConflictError):
        await owner.directories.create_user(
            directory_id, username=provisioned.username, given_name="A", family_name="B"
        )
    assert provisioned.sb.state.directories.directories[directory_id].members == {}


@pytest.mark.parametrize(
    ("path", "kwargs", "fields"),
    [
        ("/directory/register", {"data": {"directoryName": "x"}}, {"directoryShortName"}),
        (
            "/directory/create-user",
            {"data": {"directoryId": "../d", "username": "u", "givenName": "", "familyName": "f"}},
            {"directoryId", "givenName"},
        ),
        (
            "/directory/update-user-information",
            {"data": {"directoryId": "d", "profileId": "p"}},
            {"givenName", "familyName"},
        ),
        (
            "/directory/process-invitation",
            {"data": {"invitationId": "i", "accept": "maybe"}},
            {"accept"},
        ),
        (
            "/directory/profiles-info",
            {"json": {"directoryId": "d", "profileIds": []}},
            {"profileIds"},
        ),
        (
            "/directory/profiles-info",
            {"json": {"directoryId": "d", "profileIds": "p"}},
            {"profileIds"},
        ),
        ("/directory/store-meta", {"json": {"directoryId": "d", "meta": []}}, {"meta"}),
        ("/directory/store-meta", {"json": {"meta": {"a": 1}}}, {"directoryId"}),
        (
            "/directory/create-voting-pool",
            {"json": {"directoryId": "d", "deviceIdentifiers": [1]}},
            {"deviceIdentifiers"},
        ),
        ("/directory/store-meta", {"data": b"not json"}, {"body"}),
    ],
)
async def test_sandbox_answers_422_for_malformed_input(
    provisioned: Provisioned, path: str, kwargs: dict[str, object], fields: set[str]
) -> None:
    """The SDK refuses these before sending; other clients get the 422 naming the fields."""
    token = await provisioned.client.tokens.token()
    async with (
        aiohttp.ClientSession() as session,
        session.post(
            provisioned.sb.api_url + path, headers={"X-DPT-AUTHORIZATION": token}, **kwargs
        ) as response,
    ):
        assert response.status == 422
        body = await response.json()
    assert set(body["errors"]) == fields
    assert not provisioned.sb.state.directories.directories
