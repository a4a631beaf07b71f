"""Answers of the Directory group (wire reference §b rows 67-84).

No Directory answer was ever recorded: the only evidence is the seed's schema names
(``directoryId``, ``directoryName``, ``directoryShortName``, ``givenName``, ``familyName``,
``createdAt``, ``meta``, ``profileId``, ``deviceIdentifier``). Every field but the identifier
is optional and unknown keys are kept in ``extra``, so a differently shaped answer still parses.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

import attrs

__all__ = [
    "Directory",
    "DirectoryDevice",
    "DirectoryInvitation",
    "DirectoryProfile",
]


@attrs.frozen
class Directory:
    """A directory: retrieve-directory, and each entry of the owned/assigned lists."""

    directory_id: str
    directory_name: str | None = None
    directory_short_name: str | None = None
    profile_id: str | None = None
    """The owner's profile id, if the server says."""
    created_at: datetime | None = None
    meta: dict[str, Any] | None = None
    """What store-meta last stored (a JSON object)."""
    extra: dict[str, Any] = attrs.field(factory=dict)


@attrs.frozen
class DirectoryDevice:
    """A device of a directory profile (list-directory-devices, retrieve-directory-profile)."""

    device_identifier: str
    profile_id: str | None = None
    name: str | None = None
    status: str | None = None
    storage: bool | None = None
    """True once the device holds the storage role (add-storage-device-to-profile)."""
    created_at: datetime | None = None
    extra: dict[str, Any] = attrs.field(factory=dict)


@attrs.frozen
class DirectoryProfile:
    """A profile of a directory: a user it created, or a profile that accepted an invitation."""

    profile_id: str
    username: str | None = None
    given_name: str | None = None
    family_name: str | None = None
    created_at: datetime | None = None
    meta: dict[str, Any] | None = None
    devices: list[DirectoryDevice] = attrs.field(factory=list)
    """Filled by retrieve-directory-profile; list answers may leave it empty."""
    extra: dict[str, Any] = attrs.field(factory=dict)


@attrs.frozen
class DirectoryInvitation:
    """A pending invitation of the calling profile into a directory (list-directory-invites)."""

    invitation_id: str
    directory_id: str | None = None
    directory_name: str | None = None
    directory_short_name: str | None = None
    created_at: datetime | None = None
    extra: dict[str, Any] = attrs.field(factory=dict)
