"""The sandbox's Directory records: directories, their members, invitations and voting pools.

The Directory group is entirely inferred (wire reference §b rows 67-84), so these records hold
what a real service would plausibly keep: an owner, the profiles the directory created or that
accepted an invitation, pending invitations, stored meta and voting pools.
"""

from __future__ import annotations

from typing import Any

import attrs

__all__ = ["Directory", "DirectoryRegistry", "Invitation", "Member", "VotingPool"]


@attrs.define(eq=False)
class Member:
    """A profile of a directory: created by it (``managed``) or joined by invitation."""

    profile_id: str
    joined_at: float
    managed: bool
    given_name: str | None = None
    family_name: str | None = None


@attrs.define(eq=False)
class VotingPool:
    """A voting pool of directory devices (its id is the create-voting-pool command id)."""

    pool_id: str
    device_identifiers: list[str]
    created_at: float


@attrs.define(eq=False)
class Directory:
    """A registered directory (its id is the register command id)."""

    directory_id: str
    owner_id: str
    name: str
    short_name: str
    created_at: float
    meta: dict[str, Any] = attrs.field(factory=dict)
    members: dict[str, Member] = attrs.field(factory=dict)  # by profile id
    voting_pools: dict[str, VotingPool] = attrs.field(factory=dict)  # by pool id


@attrs.define(eq=False)
class Invitation:
    """A pending invitation of one profile into one directory (its id is the invite command id)."""

    invitation_id: str
    directory_id: str
    profile_id: str  # the invitee
    created_at: float


@attrs.define(eq=False)
class DirectoryRegistry:
    """Every Directory record of one sandbox."""

    directories: dict[str, Directory] = attrs.field(factory=dict)  # by directory id
    invitations: dict[str, Invitation] = attrs.field(factory=dict)  # by invitation id

    def owned_by(self, profile_id: str) -> list[Directory]:
        """The directories ``profile_id`` owns, oldest first."""
        return [d for d in self.directories.values() if d.owner_id == profile_id]

    def assigned_to(self, profile_id: str) -> list[Directory]:
        """The directories ``profile_id`` is a member of, oldest first."""
        return [d for d in self.directories.values() if profile_id in d.members]

    def visible_to(self, profile_id: str, directory_id: str) -> Directory | None:
        """The directory if ``profile_id`` owns it or is a member; others see nothing."""
        directory = self.directories.get(directory_id)
        if directory is None:
            return None
        if directory.owner_id == profile_id or profile_id in directory.members:
            return directory
        return None

    def owned(self, profile_id: str, directory_id: str) -> Directory | None:
        """The directory only if ``profile_id`` owns it."""
        directory = self.directories.get(directory_id)
        return directory if directory is not None and directory.owner_id == profile_id else None

    def pending_for(self, profile_id: str) -> list[Invitation]:
        """The invitations waiting for ``profile_id``, oldest first."""
        return [i for i in self.invitations.values() if i.profile_id == profile_id]
