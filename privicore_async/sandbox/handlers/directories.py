"""Directory group: directories, their users, invitations, devices and meta (§b rows 67-84).

The whole group is inferred (no public evidence), so these rules are what a real service would
plausibly do, kept consistent with each other:

* only a directory's owner manages it: every command about someone else's directory is
  rejected ``directory.not_owner`` at settle time (``directory.not_found`` if it does not exist);
  reads answer 404, except :func:`retrieve`, which members may read too;
* ``create-user`` creates a real profile (its id is the command id) with no password: it can
  authenticate once ``set-profile-password`` settled; invited profiles keep their own password;
* an invitation names an existing profile by username and shows in that profile's
  ``list-directory-invites``; accepting makes it a member (the directory is then "assigned"
  to it), declining just removes the invitation; only the invitee can process it;
* ``create-profile-device`` adds a pending device to the member's profile, which that profile
  approves as usual; ``add-storage-device-to-profile`` needs it approved;
* ``store-meta`` replaces the meta; ``create-voting-pool`` records a pool of approved member
  devices (none listed: all of them). The records live in ``SandboxState.directories``.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from typing import Any

from aiohttp import web

from ..answers import Refusal, iso_time, json_answer, message, not_found, validation_failed
from ..call import Call, Handler
from ..directory_state import Directory, Invitation, Member, VotingPool
from ..engine import Command, Outcome, Rule
from ..state import Device, DeviceStatus, Profile, SandboxState, StorageRole
from ..validation import BLANK, IDENTIFIER, NOT_AN_IDENTIFIER
from .devices import device_view

__all__ = ["HANDLERS"]

_ACCEPT = {"1": True, "true": True, "0": False, "false": False}

DirectoryRule = Callable[[Directory, Command], Outcome]
"""Decides a command about a directory once the caller is known to own it."""


def _owner_rule(call: Call, directory_id: str, rule: DirectoryRule) -> Rule:
    """At settle: ``directory.not_found`` / ``directory.not_owner``, else ``rule``."""
    registry, profile_id = call.ctx.state.directories, call.profile_id

    def settle(command: Command) -> Outcome:
        directory = registry.directories.get(directory_id)
        if directory is None:
            return Outcome.reject("directory.not_found")
        if directory.owner_id != profile_id:
            return Outcome.reject("directory.not_owner")
        return rule(directory, command)

    return settle


def _owned(call: Call, directory_id: str) -> Directory:
    """The caller's own directory, or a 404 refusal (others' directories are not shown)."""
    directory = call.ctx.state.directories.owned(call.profile_id, directory_id)
    if directory is None:
        raise Refusal(not_found())
    return directory


def directory_view(directory: Directory) -> dict[str, Any]:
    """A directory as retrieve-directory and the owned/assigned lists show it."""
    return {
        "directoryId": directory.directory_id,
        "directoryName": directory.name,
        "directoryShortName": directory.short_name,
        "profileId": directory.owner_id,
        "createdAt": iso_time(directory.created_at),
        "meta": directory.meta,
    }


def _device_view(device: Device) -> dict[str, Any]:
    """A member's device, with its profile and whether it holds the storage role."""
    return {**device_view(device), "profileId": device.profile_id, "storage": bool(device.storage)}


def profile_view(state: SandboxState, member: Member, *, devices: bool) -> dict[str, Any]:
    """A directory profile; with its devices for retrieve-directory-profile."""
    profile = state.profiles[member.profile_id]
    view: dict[str, Any] = {
        "profileId": member.profile_id,
        "username": profile.username,
        "givenName": member.given_name,
        "familyName": member.family_name,
        "createdAt": iso_time(profile.created_at),
    }
    if devices:
        view["devices"] = [_device_view(d) for d in state.devices_of(member.profile_id)]
    return view


async def _json(call: Call) -> dict[str, Any]:
    """The JSON object body, or a 422 refusal."""
    try:
        body = await call.request.json()
    except ValueError:
        raise Refusal(validation_failed({"body": ["This value should be valid JSON."]})) from None
    if not isinstance(body, dict):
        raise Refusal(validation_failed({"body": ["This value should be a JSON object."]}))
    return body


def _json_identifier(body: Mapping[str, Any], field: str, errors: dict[str, list[str]]) -> str:
    value = body.get(field)
    if not isinstance(value, str) or not value.strip():
        errors.setdefault(field, []).append(BLANK)
        return ""
    if IDENTIFIER.fullmatch(value.strip()) is None:
        errors.setdefault(field, []).append(NOT_AN_IDENTIFIER)
    return value.strip()


def _json_identifiers(
    body: Mapping[str, Any], field: str, errors: dict[str, list[str]]
) -> list[str]:
    value = body.get(field, [])
    if not isinstance(value, list) or not all(
        isinstance(item, str) and IDENTIFIER.fullmatch(item) for item in value
    ):
        errors.setdefault(field, []).append("This value should be a list of identifiers.")
        return []
    return value


async def register(call: Call) -> web.StreamResponse:
    """``directory/register``: the directory exists on settle, under the command id."""
    form = await call.form()
    name = form.text("directoryName").strip()
    short_name = form.text("directoryShortName").strip()
    form.check()
    registry, profile_id = call.ctx.state.directories, call.profile_id

    def create(command: Command) -> Outcome:
        directory = Directory(command.command_id, profile_id, name, short_name, time.time())
        registry.directories[directory.directory_id] = directory
        return Outcome.success()

    return call.accept(create)


async def list_owned(call: Call) -> web.StreamResponse:
    """``retrieve-owned-directories``: the caller's directories, oldest first."""
    owned = call.ctx.state.directories.owned_by(call.profile_id)
    return json_answer([directory_view(d) for d in owned])


async def list_assigned(call: Call) -> web.StreamResponse:
    """``retrieve-assigned-directories``: the directories the caller is a member of."""
    assigned = call.ctx.state.directories.assigned_to(call.profile_id)
    return json_answer([directory_view(d) for d in assigned])


async def retrieve(call: Call) -> web.StreamResponse:
    """``retrieve-directory/{directoryId}``: for its owner and its members; 404 for others."""
    directory_id = call.request.match_info["directoryId"]
    directory = call.ctx.state.directories.visible_to(call.profile_id, directory_id)
    return not_found() if directory is None else json_answer(directory_view(directory))


async def create_user(call: Call) -> web.StreamResponse:
    """``create-user``: 409 if the username is taken or pending; on settle a password-less
    profile (id = command id) that is a managed member of the directory."""
    form = await call.form()
    directory_id = form.identifier("directoryId")
    username = form.text("username")
    given_name = form.text("givenName").strip()
    family_name = form.text("familyName").strip()
    form.check()
    state = call.ctx.state
    if state.username_taken(username):
        return message(409, "Username already taken")
    state.pending_usernames.add(username)

    def add_user(directory: Directory, command: Command) -> Outcome:
        now = time.time()
        # No password yet: authenticate refuses a blank password, so it cannot log in.
        profile = Profile(command.command_id, username, "", now)
        state.profiles[profile.profile_id] = profile
        state.usernames[username] = profile.profile_id
        directory.members[profile.profile_id] = Member(
            profile.profile_id, now, True, given_name, family_name
        )
        return Outcome.success()

    owner_rule = _owner_rule(call, directory_id, add_user)

    def settle(command: Command) -> Outcome:
        try:
            return owner_rule(command)
        finally:
            state.pending_usernames.discard(username)  # created or refused: no longer in flight

    return call.accept(settle)


async def update_user(call: Call) -> web.StreamResponse:
    """``update-user-information``: at least one of ``givenName``/``familyName``; a member only."""
    form = await call.form()
    directory_id = form.identifier("directoryId")
    profile_id = form.identifier("profileId")
    given_name = form.optional("givenName")
    family_name = form.optional("familyName")
    form.check()
    if given_name is None and family_name is None:
        text = "Give givenName, familyName or both."
        return validation_failed({"givenName": [text], "familyName": [text]})

    def update(directory: Directory, command: Command) -> Outcome:
        member = directory.members.get(profile_id)
        if member is None:
            return Outcome.reject("directory.profile_not_found")
        if given_name is not None:
            member.given_name = given_name
        if family_name is not None:
            member.family_name = family_name
        return Outcome.success()

    return call.accept(_owner_rule(call, directory_id, update))


async def invite_profile(call: Call) -> web.StreamResponse:
    """``invite-profile``: an existing profile, not yet a member nor invited, and not the owner."""
    form = await call.form()
    directory_id = form.identifier("directoryId")
    username = form.text("username")
    form.check()
    state = call.ctx.state

    def invite(directory: Directory, command: Command) -> Outcome:
        invitee = state.profile_by_username(username)
        if invitee is None:
            return Outcome.reject("profile.not_found")
        if invitee.profile_id == directory.owner_id:
            return Outcome.reject("directory.already_owner")
        if invitee.profile_id in directory.members:
            return Outcome.reject("directory.already_member")
        if any(
            i.directory_id == directory.directory_id
            for i in state.directories.pending_for(invitee.profile_id)
        ):
            return Outcome.reject("directory.already_invited")
        invitation = Invitation(
            command.command_id, directory.directory_id, invitee.profile_id, time.time()
        )
        state.directories.invitations[invitation.invitation_id] = invitation
        return Outcome.success()

    return call.accept(_owner_rule(call, directory_id, invite))


async def set_profile_password(call: Call) -> web.StreamResponse:
    """``set-profile-password``: only for profiles the directory created (``managed``)."""
    form = await call.form()
    directory_id = form.identifier("directoryId")
    profile_id = form.identifier("profileId")
    password = form.text("password")
    form.check()
    profiles = call.ctx.state.profiles

    def set_password(directory: Directory, command: Command) -> Outcome:
        member = directory.members.get(profile_id)
        if member is None:
            return Outcome.reject("directory.profile_not_found")
        if not member.managed:
            return Outcome.reject("directory.profile_not_managed")
        profiles[profile_id].password = password
        return Outcome.success()

    return call.accept(_owner_rule(call, directory_id, set_password))


async def list_invites(call: Call) -> web.StreamResponse:
    """``list-directory-invites``: the caller's pending invitations, oldest first."""
    registry = call.ctx.state.directories
    answer = []
    for invitation in registry.pending_for(call.profile_id):
        directory = registry.directories.get(invitation.directory_id)
        if directory is not None:
            answer.append(
                {
                    "invitationId": invitation.invitation_id,
                    "directoryId": directory.directory_id,
                    "directoryName": directory.name,
                    "directoryShortName": directory.short_name,
                    "createdAt": iso_time(invitation.created_at),
                }
            )
    return json_answer(answer)


async def process_invitation(call: Call) -> web.StreamResponse:
    """``process-invitation`` form ``invitationId``, ``accept`` (1/0 or true/false): accepting
    makes the caller a member; either way the invitation is gone. Someone else's or an unknown
    invitation is rejected ``directory.invitation_not_found``."""
    form = await call.form()
    invitation_id = form.identifier("invitationId")
    raw = form.text("accept").strip().lower()
    form.check()
    if raw not in _ACCEPT:
        return validation_failed({"accept": ["This value should be 1 or 0."]})
    accept = _ACCEPT[raw]
    registry, profile_id = call.ctx.state.directories, call.profile_id

    def process(command: Command) -> Outcome:
        invitation = registry.invitations.get(invitation_id)
        if invitation is None or invitation.profile_id != profile_id:
            return Outcome.reject("directory.invitation_not_found")
        del registry.invitations[invitation_id]
        directory = registry.directories.get(invitation.directory_id)
        if directory is None:
            return Outcome.reject("directory.not_found")
        if accept:
            directory.members[profile_id] = Member(profile_id, time.time(), False)
        return Outcome.success()

    return call.accept(process)


async def retrieve_profile(call: Call) -> web.StreamResponse:
    """``retrieve-directory-profile/{directoryId}/{profileId}``: a member, with its devices."""
    directory = _owned(call, call.request.match_info["directoryId"])
    member = directory.members.get(call.request.match_info["profileId"])
    if member is None:
        return not_found()
    return json_answer(profile_view(call.ctx.state, member, devices=True))


async def list_users(call: Call) -> web.StreamResponse:
    """``list-directory-users/{directoryId}``: the members, oldest first (owner only)."""
    directory = _owned(call, call.request.match_info["directoryId"])
    state = call.ctx.state
    return json_answer([profile_view(state, m, devices=False) for m in directory.members.values()])


async def profiles_info(call: Call) -> web.StreamResponse:
    """``profiles-info`` (JSON ``directoryId``, non-empty ``profileIds``): the members among
    the ids, in the order asked; ids that are no member are left out."""
    body = await _json(call)
    errors: dict[str, list[str]] = {}
    directory_id = _json_identifier(body, "directoryId", errors)
    profile_ids = _json_identifiers(body, "profileIds", errors)
    if not profile_ids and "profileIds" not in errors:
        errors["profileIds"] = [BLANK]
    if errors:
        return validation_failed(errors)
    directory = _owned(call, directory_id)
    state = call.ctx.state
    members = [directory.members[p] for p in dict.fromkeys(profile_ids) if p in directory.members]
    return json_answer([profile_view(state, m, devices=False) for m in members])


async def create_profile_device(call: Call) -> web.StreamResponse:
    """``create-profile-device``: on settle a pending device on the member's profile."""
    form = await call.form()
    directory_id = form.identifier("directoryId")
    profile_id = form.identifier("profileId")
    name = form.text("deviceName").strip()
    form.check()
    state = call.ctx.state

    def create(directory: Directory, command: Command) -> Outcome:
        if profile_id not in directory.members:
            return Outcome.reject("directory.profile_not_found")
        state.add_device(profile_id, name, command.command_id)
        return Outcome.success()

    return call.accept(_owner_rule(call, directory_id, create))


async def add_storage_device(call: Call) -> web.StreamResponse:
    """``add-storage-device-to-profile``: an approved device of that member takes the
    storage role."""
    form = await call.form()
    directory_id = form.identifier("directoryId")
    profile_id = form.identifier("profileId")
    identifier = form.identifier("deviceIdentifier")
    form.check()
    state = call.ctx.state

    def promote(directory: Directory, command: Command) -> Outcome:
        if profile_id not in directory.members:
            return Outcome.reject("directory.profile_not_found")
        device = state.device_of(profile_id, identifier)
        if device is None:
            return Outcome.reject("device.not_found")
        if device.status is not DeviceStatus.APPROVED:
            return Outcome.reject("device.not_approved")
        if device.storage is not None:
            return Outcome.reject("storage.already_registered")
        device.storage = StorageRole(time.time())
        return Outcome.success()

    return call.accept(_owner_rule(call, directory_id, promote))


async def list_devices(call: Call) -> web.StreamResponse:
    """``list-directory-devices/{directoryId}``: every device of every member (owner only)."""
    directory = _owned(call, call.request.match_info["directoryId"])
    state = call.ctx.state
    return json_answer(
        [_device_view(d) for member in directory.members for d in state.devices_of(member)]
    )


async def create_voting_pool(call: Call) -> web.StreamResponse:
    """``create-voting-pool`` (JSON ``directoryId``, ``deviceIdentifiers``): a pool (id =
    command id) of approved member devices; an empty list means all of them."""
    body = await _json(call)
    errors: dict[str, list[str]] = {}
    directory_id = _json_identifier(body, "directoryId", errors)
    identifiers = _json_identifiers(body, "deviceIdentifiers", errors)
    if errors:
        return validation_failed(errors)
    state = call.ctx.state

    def create(directory: Directory, command: Command) -> Outcome:
        devices = {
            d.identifier: d for member in directory.members for d in state.devices_of(member)
        }
        chosen = identifiers or [i for i, d in devices.items() if d.status is DeviceStatus.APPROVED]
        if not chosen:
            return Outcome.reject("directory.no_devices")
        for identifier in chosen:
            if identifier not in devices:
                return Outcome.reject("device.not_found")
            if devices[identifier].status is not DeviceStatus.APPROVED:
                return Outcome.reject("device.not_approved")
        pool = VotingPool(command.command_id, list(chosen), time.time())
        directory.voting_pools[pool.pool_id] = pool
        return Outcome.success()

    return call.accept(_owner_rule(call, directory_id, create))


async def store_meta(call: Call) -> web.StreamResponse:
    """``store-meta`` (JSON ``directoryId``, ``meta``: a non-empty object): replaces the meta."""
    body = await _json(call)
    errors: dict[str, list[str]] = {}
    directory_id = _json_identifier(body, "directoryId", errors)
    meta = body.get("meta")
    if not isinstance(meta, dict) or not meta:
        errors["meta"] = ["This value should be a non-empty JSON object."]
        meta = {}
    if errors:
        return validation_failed(errors)
    stored = dict(meta)

    def replace(directory: Directory, command: Command) -> Outcome:
        directory.meta = stored
        return Outcome.success()

    return call.accept(_owner_rule(call, directory_id, replace))


HANDLERS: Mapping[str, Handler] = {
    "directories.register": register,
    "directories.list_owned": list_owned,
    "directories.list_assigned": list_assigned,
    "directories.retrieve": retrieve,
    "directories.create_user": create_user,
    "directories.update_user": update_user,
    "directories.invite_profile": invite_profile,
    "directories.set_profile_password": set_profile_password,
    "directories.list_invites": list_invites,
    "directories.process_invitation": process_invitation,
    "directories.retrieve_profile": retrieve_profile,
    "directories.list_users": list_users,
    "directories.profiles_info": profiles_info,
    "directories.create_profile_device": create_profile_device,
    "directories.add_storage_device": add_storage_device,
    "directories.list_devices": list_devices,
    "directories.create_voting_pool": create_voting_pool,
    "directories.store_meta": store_meta,
}
