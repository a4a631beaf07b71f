"""Seed data: users with approved storage devices, straight into the sandbox's state.

A test or a demo that needs "a user with five devices" should not spend twenty commands on
it. Seeding writes what the register / request / approve / register-storage commands would
have left behind once settled, instantly and without commands, so the seeded world looks
exactly like one built over the wire.
"""

from __future__ import annotations

import time
from collections.abc import Mapping

import attrs

from .state import DeviceStatus, SandboxState, StorageRole

__all__ = ["SeededUser", "check_seed", "seed_user"]


@attrs.frozen
class SeededUser:
    """A seeded profile: log in with ``username``/``password``; ``device_ids`` are approved,
    online storage devices of this profile, oldest first."""

    username: str
    password: str = attrs.field(repr=False)  # a secret, even in a sandbox
    profile_id: str
    device_ids: tuple[str, ...]


def check_seed(users: Mapping[str, str] | None, devices: int) -> dict[str, str]:
    """``users`` as a plain dict after checking both arguments; ``ValueError`` otherwise.

    The message names the argument, never a password.
    """
    if isinstance(devices, bool) or not isinstance(devices, int) or devices < 0:
        raise ValueError(f"devices: a count >= 0, not {devices!r}")
    if users is None:
        if devices:
            raise ValueError("devices: needs users= (whose devices would they be?)")
        return {}
    if not isinstance(users, Mapping):
        raise ValueError("users: a mapping of username to password")
    checked: dict[str, str] = {}
    for username, password in users.items():
        if not isinstance(username, str) or not username.strip() or ":" in username:
            raise ValueError(f"users: {username!r} is not a username (non-empty, no ':')")
        if not isinstance(password, str) or not password:
            raise ValueError(f"users: the password of {username!r} must be a non-empty string")
        checked[username] = password
    return checked


def seed_user(state: SandboxState, username: str, password: str, devices: int) -> SeededUser:
    """Add ``username`` with ``devices`` approved storage devices; ``ValueError`` if taken."""
    check_seed({username: password}, devices)
    if state.username_taken(username):
        raise ValueError(f"users: {username!r} is already registered")
    profile = state.add_profile(username, password)
    identifiers = []
    for n in range(1, devices + 1):
        device = state.add_device(
            profile.profile_id, f"{username}-device-{n}", f"seed-{profile.profile_id}-{n}"
        )
        device.status = DeviceStatus.APPROVED
        device.storage = StorageRole(time.time())
        identifiers.append(device.identifier)
    return SeededUser(username, password, profile.profile_id, tuple(identifiers))
