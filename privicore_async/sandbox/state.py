"""The sandbox's in-memory world: profiles, tokens, devices and the commands about them.

Records are mutable attrs classes because commands change them when they settle; secrets
(passwords, tokens, client secrets) are kept out of every ``repr``.
"""

from __future__ import annotations

import enum
import secrets
import time
import uuid

import attrs

from .data_token_state import DataTokenRegistry
from .directory_state import DirectoryRegistry
from .engine import Command
from .key_pairs import generate_key_pair
from .oauth_state import OAuthRegistry
from .voting_state import VotingRegistry

__all__ = ["Device", "DeviceStatus", "Profile", "SandboxState", "StorageRole", "Token"]


@attrs.define(eq=False)
class Profile:
    """A registered profile."""

    profile_id: str
    username: str
    password: str = attrs.field(repr=False)
    created_at: float
    public_key: str | None = None  # the signed key of register-public-key (§a10)


@attrs.define(eq=False)
class Token:
    """An issued authorization token; ``expires_at`` is wall-clock seconds."""

    value: str = attrs.field(repr=False)
    profile_id: str
    expires_at: float
    revoked: bool = False

    def valid(self, now: float) -> bool:
        """True while neither revoked nor past its expiry."""
        return not self.revoked and now < self.expires_at


class DeviceStatus(enum.Enum):
    """A device's approval state, as ``retrieve-profile-devices`` spells it."""

    PENDING = "pending"
    APPROVED = "approved"
    REJECTED = "rejected"


@attrs.define(eq=False)
class StorageRole:
    """Present while a device is registered as a storage device."""

    registered_at: float


@attrs.define(eq=False)
class Device:
    """A device of one profile, from ``request-unique-identifier`` until ``remove``."""

    identifier: str
    profile_id: str
    name: str
    created_at: float
    command_id: str  # the request-unique-identifier command that created it
    status: DeviceStatus = DeviceStatus.PENDING
    online: bool = True
    storage: StorageRole | None = None
    client_id: str = attrs.field(factory=lambda: str(uuid.uuid4()))
    client_secret: str = attrs.field(factory=lambda: secrets.token_urlsafe(24), repr=False)
    rabbit_password: str = attrs.field(factory=lambda: secrets.token_urlsafe(18), repr=False)


def new_token_value() -> str:
    """An opaque token in the shape the wire examples show (``T-`` + 32 url-safe chars)."""
    return "T-" + secrets.token_urlsafe(24)


@attrs.define
class SandboxState:
    """Everything the sandbox knows. Handlers read and change it; tests assert on it."""

    profiles: dict[str, Profile] = attrs.field(factory=dict)  # by profile id
    usernames: dict[str, str] = attrs.field(factory=dict)  # username -> profile id
    pending_usernames: set[str] = attrs.field(factory=set)  # registration not yet settled
    tokens: dict[str, Token] = attrs.field(factory=dict, repr=False)  # by token value
    devices: dict[str, Device] = attrs.field(factory=dict)  # by device identifier
    device_by_command: dict[str, str] = attrs.field(factory=dict)  # command id -> identifier
    commands: dict[str, Command] = attrs.field(factory=dict)  # by command id
    cab_public_key: str = attrs.field(factory=lambda: generate_key_pair()[1])  # the CAB's key
    oauth: OAuthRegistry = attrs.field(factory=OAuthRegistry)  # applications, codes, grants
    data_tokens: DataTokenRegistry = attrs.field(factory=DataTokenRegistry)  # spaces, grants
    directories: DirectoryRegistry = attrs.field(factory=DirectoryRegistry)  # and invitations
    voting: VotingRegistry = attrs.field(factory=VotingRegistry)  # authenticators, policies, pools

    def username_taken(self, username: str) -> bool:
        """True if the username is registered or its registration is still in flight."""
        return username in self.usernames or username in self.pending_usernames

    def add_profile(self, username: str, password: str) -> Profile:
        """Create a profile (the settle step of ``register-profile``)."""
        profile = Profile(str(uuid.uuid4()), username, password, time.time())
        self.profiles[profile.profile_id] = profile
        self.usernames[username] = profile.profile_id
        self.pending_usernames.discard(username)
        return profile

    def profile_by_username(self, username: str) -> Profile | None:
        """The profile registered under ``username``, if any."""
        profile_id = self.usernames.get(username)
        return None if profile_id is None else self.profiles[profile_id]

    def issue_token(self, profile_id: str, ttl: float) -> Token:
        """A fresh token for ``profile_id`` that expires ``ttl`` seconds from now."""
        token = Token(new_token_value(), profile_id, time.time() + ttl)
        self.tokens[token.value] = token
        return token

    def add_device(self, profile_id: str, name: str, command_id: str) -> Device:
        """Create a pending device (the settle step of ``request-unique-identifier``)."""
        device = Device(str(uuid.uuid4()), profile_id, name, time.time(), command_id)
        self.devices[device.identifier] = device
        self.device_by_command[command_id] = device.identifier
        return device

    def device_of(self, profile_id: str, identifier: str) -> Device | None:
        """The device if it exists *and* belongs to ``profile_id``: others' devices are unknown."""
        device = self.devices.get(identifier)
        return device if device is not None and device.profile_id == profile_id else None

    def devices_of(self, profile_id: str) -> list[Device]:
        """The profile's devices, oldest first."""
        return [d for d in self.devices.values() if d.profile_id == profile_id]
