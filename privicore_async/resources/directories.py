"""Directories: a profile's own user directory, its members, invitations, devices and meta.

**Every path and field of this group is inferred** (wire reference §b rows 67-84): the seed
lists only the endpoint titles and the schema names, and no probe or official page shows a
request. The table in :mod:`privicore_async.routes` holds the guesses; correct any of them
without patching the package, e.g.::

    PrivicoreClient(url, routes={"directories.register": ("POST", "/directory/register")})

Which calls are commands (202 + command id) is assumed too, from the evidenced groups: the
mutating ones return a :class:`~privicore_async.commands.CommandHandle`.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from typing import Any

from .._json import JSONInput
from ..commands import CommandHandle
from ..errors import InvalidArgumentError
from ..models import (
    Directory,
    DirectoryDevice,
    DirectoryInvitation,
    DirectoryProfile,
    structure,
)
from ..models.converter import list_items
from ._base import Resource, require_texts

__all__ = ["Directories"]

_PROFILE = "profileId"


def _require_meta(meta: object) -> dict[str, Any]:
    """A non-empty mapping with string keys that JSON can carry."""
    if not isinstance(meta, Mapping):
        raise InvalidArgumentError(
            "meta", f"must be a mapping, not {type(meta).__name__}", field="meta"
        )
    if not meta:
        raise InvalidArgumentError("meta", "must not be empty", field="meta")
    if not all(isinstance(key, str) for key in meta):
        raise InvalidArgumentError("meta", "keys must be strings", field="meta")
    value = dict(meta)
    try:
        json.dumps(value, allow_nan=False)
    except (TypeError, ValueError) as exc:
        raise InvalidArgumentError(
            "meta", f"must be JSON-serialisable ({exc})", field="meta"
        ) from None
    return value


class Directories(Resource):
    """``client.directories``.

    Every path and field of this group is inferred (no public evidence); correct them with
    ``PrivicoreClient(routes={...})``.
    """

    __slots__ = ()

    async def register(
        self, directory_name: str, directory_short_name: str, *, timeout: float | None = None
    ) -> CommandHandle:
        """``POST /directory/register`` form ``directoryName``, ``directoryShortName``: create
        a directory owned by the calling profile.

        The handle's ``command_id`` is presumably the new directory's id (as it is the
        application id of an OAuth application); :meth:`list_owned` shows it either way.
        Path and fields are inferred (no public evidence); correct them with
        ``PrivicoreClient(routes={"directories.register": ("POST", "/directory/register")})``.
        """
        args = {"directory_name": directory_name, "directory_short_name": directory_short_name}
        return await self._client.command("directories.register", args, timeout=timeout)

    async def list_owned(self) -> list[Directory]:
        """``GET /directory/retrieve-owned-directories``: the directories the caller owns.

        A bare JSON array, or one inside ``directories``/``items``, is accepted. Path and
        answer shape are inferred (no public evidence); correct the path with
        ``PrivicoreClient(routes={"directories.list_owned": ("GET", "/...")})``.
        """
        response = await self._client.call("directories.list_owned")
        body = list_items(response.body, "directories")
        return structure(body, list[Directory], endpoint="directories.list_owned")

    async def list_assigned(self) -> list[Directory]:
        """``GET /directory/retrieve-assigned-directories``: the directories the caller is a
        member of (it accepted an invitation, or a directory created it).

        Path and answer shape are inferred (no public evidence); correct the path with
        ``PrivicoreClient(routes={"directories.list_assigned": ("GET", "/...")})``.
        """
        response = await self._client.call("directories.list_assigned")
        body = list_items(response.body, "directories")
        return structure(body, list[Directory], endpoint="directories.list_assigned")

    async def retrieve(self, directory_id: str) -> Directory:
        """``GET /directory/retrieve-directory/{directoryId}`` (the id URL-quoted as one path
        segment): one directory, with its stored ``meta``.

        Path and answer shape are inferred (no public evidence); correct the path with
        ``PrivicoreClient(routes={"directories.retrieve": ("GET", "/.../{directoryId}")})``.
        """
        response = await self._client.call("directories.retrieve", {"directory_id": directory_id})
        return structure(response.body, Directory, endpoint="directories.retrieve")

    async def create_user(
        self,
        directory_id: str,
        *,
        username: str,
        given_name: str,
        family_name: str,
        timeout: float | None = None,
    ) -> CommandHandle:
        """``POST /directory/create-user`` form ``directoryId``, ``username``, ``givenName``,
        ``familyName``: create a profile managed by the directory (owner only).

        The new profile has no password until :meth:`set_profile_password` settles. How its
        ``profileId`` is delivered is undocumented (presumably the command id);
        :meth:`list_users` shows it with its username. Path and fields are inferred (no
        public evidence); correct them with
        ``PrivicoreClient(routes={"directories.create_user": ("POST", "/...")})``.
        """
        args = {
            "directory_id": directory_id,
            "username": username,
            "given_name": given_name,
            "family_name": family_name,
        }
        return await self._client.command("directories.create_user", args, timeout=timeout)

    async def update_user(
        self,
        directory_id: str,
        profile_id: str,
        *,
        given_name: str | None = None,
        family_name: str | None = None,
        timeout: float | None = None,
    ) -> CommandHandle:
        """``POST /directory/update-user-information`` form ``directoryId``, ``profileId`` and
        at least one of ``givenName``, ``familyName``; a field left ``None`` is not sent.

        Path and fields are inferred (no public evidence); correct them with
        ``PrivicoreClient(routes={"directories.update_user": ("POST", "/...")})``.
        """
        if given_name is None and family_name is None:
            raise InvalidArgumentError(
                "given_name", "give given_name, family_name or both", field="givenName"
            )
        # A name left None is not sent (the form encoding drops it).
        args = {
            "directory_id": directory_id,
            "profile_id": profile_id,
            "given_name": given_name,
            "family_name": family_name,
        }
        return await self._client.command("directories.update_user", args, timeout=timeout)

    async def invite_profile(
        self, directory_id: str, username: str, *, timeout: float | None = None
    ) -> CommandHandle:
        """``POST /directory/invite-profile`` form ``directoryId``, ``username``: invite an
        existing profile; it sees the invitation in its own :meth:`list_invites`.

        The invitee might be named by ``profileId`` instead of ``username`` on the real
        server. Path and fields are inferred (no public evidence); correct the path with
        ``PrivicoreClient(routes={"directories.invite_profile": ("POST", "/...")})``.
        """
        return await self._client.command(
            "directories.invite_profile",
            {"directory_id": directory_id, "username": username},
            timeout=timeout,
        )

    async def set_profile_password(
        self, directory_id: str, profile_id: str, password: str, *, timeout: float | None = None
    ) -> CommandHandle:
        """``POST /directory/set-profile-password`` form ``directoryId``, ``profileId``,
        ``password``: set the password of a profile the directory created, after which it
        can authenticate. The password never appears in a message or a log line.

        Path and fields are inferred (no public evidence); correct them with
        ``PrivicoreClient(routes={"directories.set_profile_password": ("POST", "/...")})``.
        """
        args = {"directory_id": directory_id, "profile_id": profile_id, "password": password}
        return await self._client.command("directories.set_profile_password", args, timeout=timeout)

    async def list_invites(self) -> list[DirectoryInvitation]:
        """``GET /directory/list-directory-invites``: the caller's pending invitations.

        Path and answer shape are inferred (no public evidence); correct the path with
        ``PrivicoreClient(routes={"directories.list_invites": ("GET", "/...")})``.
        """
        response = await self._client.call("directories.list_invites")
        body = list_items(response.body, "invitations", "invites")
        return structure(body, list[DirectoryInvitation], endpoint="directories.list_invites")

    async def process_invitation(
        self, invitation_id: str, accept: bool, *, timeout: float | None = None
    ) -> CommandHandle:
        """``POST /directory/process-invitation`` form ``invitationId``, ``accept``: accept
        (``True``) or decline (``False``) one of the caller's invitations.

        ``accept`` goes on the wire as ``"1"`` or ``"0"``: a guess (it may be
        ``true``/``false``). Path and fields are inferred (no public evidence); correct the
        path with ``PrivicoreClient(routes={"directories.process_invitation": ("POST", "/...")})``.
        """
        if not isinstance(accept, bool):
            raise InvalidArgumentError(
                "accept", f"must be True or False, not {type(accept).__name__}", field="accept"
            )
        args = {"invitation_id": invitation_id, "accept": "1" if accept else "0"}
        return await self._client.command("directories.process_invitation", args, timeout=timeout)

    async def retrieve_profile(self, directory_id: str, profile_id: str) -> DirectoryProfile:
        """``GET /directory/retrieve-directory-profile/{directoryId}/{profileId}`` (both
        URL-quoted): one profile of the directory, with its devices.

        Path and answer shape are inferred (no public evidence); correct the path with
        ``PrivicoreClient(routes={"directories.retrieve_profile":
        ("GET", "/.../{directoryId}/{profileId}")})``.
        """
        response = await self._client.call(
            "directories.retrieve_profile",
            {"directory_id": directory_id, "profile_id": profile_id},
        )
        return structure(response.body, DirectoryProfile, endpoint="directories.retrieve_profile")

    async def list_users(self, directory_id: str) -> list[DirectoryProfile]:
        """``GET /directory/list-directory-users/{directoryId}``: the directory's profiles
        (created users and accepted invitees).

        Path and answer shape are inferred (no public evidence); correct the path with
        ``PrivicoreClient(routes={"directories.list_users": ("GET", "/.../{directoryId}")})``.
        """
        response = await self._client.call("directories.list_users", {"directory_id": directory_id})
        body = list_items(response.body, "users", "profiles")
        return structure(body, list[DirectoryProfile], endpoint="directories.list_users")

    async def profiles_info(
        self, directory_id: str, profile_ids: Sequence[str]
    ) -> list[DirectoryProfile]:
        """``POST /directory/profiles-info`` with a JSON body ``{"directoryId": ...,
        "profileIds": [...]}`` (a real array, at least one id): several profiles at once.

        Also accepts an answer keyed by profile id. Path, fields and the JSON encoding are
        inferred (no public evidence); correct the path with
        ``PrivicoreClient(routes={"directories.profiles_info": ("POST", "/...")})``.
        """
        ids = require_texts("profile_ids", profile_ids, field="profileIds")
        if not ids:
            raise InvalidArgumentError(
                "profile_ids", "must name at least one profile", field="profileIds"
            )
        response = await self._client.call(
            "directories.profiles_info", {"directory_id": directory_id, "profile_ids": ids}
        )
        body = list_items(response.body, "profiles")
        if (
            isinstance(body, Mapping)
            and body
            and all(isinstance(v, Mapping) for v in body.values())
        ):
            # {profileId: {...}}: the key is the id.
            body = [{_PROFILE: key, **value} for key, value in body.items()]
        return structure(body, list[DirectoryProfile], endpoint="directories.profiles_info")

    async def create_profile_device(
        self,
        directory_id: str,
        profile_id: str,
        device_name: str,
        *,
        timeout: float | None = None,
    ) -> CommandHandle:
        """``POST /directory/create-profile-device`` form ``directoryId``, ``profileId``,
        ``deviceName``: a new (pending) device on a directory profile.

        Like ``devices.request_unique_identifier``, the device must then be approved (by its
        profile) before it can take the storage role. Path and fields are inferred (no public
        evidence); correct them with
        ``PrivicoreClient(routes={"directories.create_profile_device": ("POST", "/...")})``.
        """
        args = {"directory_id": directory_id, "profile_id": profile_id, "device_name": device_name}
        return await self._client.command(
            "directories.create_profile_device", args, timeout=timeout
        )

    async def add_storage_device(
        self,
        directory_id: str,
        profile_id: str,
        device_identifier: str,
        *,
        timeout: float | None = None,
    ) -> CommandHandle:
        """``POST /directory/add-storage-device-to-profile`` form ``directoryId``,
        ``profileId``, ``deviceIdentifier``: give an approved device of a directory profile
        the storage role.

        Path and fields are inferred (no public evidence); correct them with
        ``PrivicoreClient(routes={"directories.add_storage_device": ("POST", "/...")})``.
        """
        args = {
            "directory_id": directory_id,
            "profile_id": profile_id,
            "device_identifier": device_identifier,
        }
        return await self._client.command("directories.add_storage_device", args, timeout=timeout)

    async def list_devices(self, directory_id: str) -> list[DirectoryDevice]:
        """``GET /directory/list-directory-devices/{directoryId}``: the devices of the
        directory's profiles.

        Path and answer shape are inferred (no public evidence); correct the path with
        ``PrivicoreClient(routes={"directories.list_devices": ("GET", "/.../{directoryId}")})``.
        """
        response = await self._client.call(
            "directories.list_devices", {"directory_id": directory_id}
        )
        body = list_items(response.body, "devices")
        return structure(body, list[DirectoryDevice], endpoint="directories.list_devices")

    async def create_voting_pool(
        self,
        directory_id: str,
        device_identifiers: Sequence[str] = (),
        *,
        timeout: float | None = None,
    ) -> CommandHandle:
        """``POST /directory/create-voting-pool`` with a JSON body ``{"directoryId": ...,
        "deviceIdentifiers": [...]}``: a voting pool of directory devices.

        ``deviceIdentifiers`` is always sent as a real array; empty presumably means every
        device (as in voting-configuration/register). The pool id is presumably the command
        id. Path, fields and the JSON encoding are inferred (no public evidence); correct the
        path with ``PrivicoreClient(routes={"directories.create_voting_pool": ("POST", "/...")})``.
        """
        identifiers = require_texts(
            "device_identifiers", device_identifiers, field="deviceIdentifiers"
        )
        args = {"directory_id": directory_id, "device_identifiers": identifiers}
        return await self._client.command("directories.create_voting_pool", args, timeout=timeout)

    async def store_meta(
        self, directory_id: str, meta: Mapping[str, JSONInput], *, timeout: float | None = None
    ) -> CommandHandle:
        """``POST /directory/store-meta`` with a JSON body ``{"directoryId": ..., "meta":
        {...}}``: replace the directory's meta information (a non-empty JSON object, read
        back by :meth:`retrieve`).

        Path, fields and the JSON encoding are inferred (no public evidence); correct the
        path with ``PrivicoreClient(routes={"directories.store_meta": ("POST", "/...")})``.
        """
        value = _require_meta(meta)
        return await self._client.command(
            "directories.store_meta", {"directory_id": directory_id, "meta": value}, timeout=timeout
        )
