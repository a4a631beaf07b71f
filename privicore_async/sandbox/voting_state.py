"""The sandbox's voting records: authenticator settings, voting configurations, policies, pools.

Verified authenticators vote on operations that an *active* policy gates (wire reference §c7).
The gate is the engine's general one (:attr:`~.engine.CommandEngine.gate`): when a command is
accepted whose route is named by an applying event of one of its profile's active policies,
:meth:`VotingRegistry.gate` opens a pool for it and holds the command. Votes arrive through
:meth:`VotingRegistry.vote` (on the real service from the authenticators' own app, which the SDK
does not cover; tests call :meth:`~privicore_async.sandbox.Sandbox.vote`). The command settles
with its own rule once the votes approve, ``vote.denied`` once approval can no longer be reached,
``vote.timeout`` after ``timeLimit * numberOfAttempts`` seconds, ``vote.cancelled`` when its
pool is cancelled (:meth:`VotingRegistry.cancel`, ``voting/cancel-pool``, a guide's call).

A gated command's pool id is the command id (the real service does not document where that id
comes from, §c7 step 9); a manual pool (``voting/create``) also takes its command id.
"""

from __future__ import annotations

import enum
import math
import time
from collections.abc import Mapping

import attrs

from .engine import Command, CommandEngine, Hold, Outcome

__all__ = [
    "STRATEGIES",
    "TEMPLATES",
    "AuthenticatorRole",
    "EventTemplate",
    "Policy",
    "PolicyTemplate",
    "Pool",
    "PoolStatus",
    "VotingConfiguration",
    "VotingRegistry",
    "VotingSettings",
]

STRATEGIES = ("unanimous", "consensus", "affirmative", "minimum_percentage")
DEFAULT_PERCENTAGE = {"unanimous": 100, "consensus": 51, "affirmative": 1}


@attrs.frozen
class EventTemplate:
    """An event a policy can apply to, and the command route it gates in the sandbox."""

    event_id: str
    name: str
    label: str
    route: str


@attrs.frozen
class PolicyTemplate:
    """One template of ``list-policy-templates``."""

    template_id: str
    name: str
    description: str
    events: tuple[EventTemplate, ...]
    configuration: tuple[str, ...] = ("reason",)
    voting_attributes: tuple[str, ...] = ("strategy", "timeLimit", "deviceIdentifiers")


TEMPLATES: Mapping[str, PolicyTemplate] = {
    t.template_id: t
    for t in (
        PolicyTemplate(
            "tpl-device-management",
            "Device management",
            "Authenticators vote before a device joins or leaves the profile.",
            (
                EventTemplate(
                    "evt-device-approve", "device.approve", "Approve a device", "devices.approve"
                ),
                EventTemplate(
                    "evt-device-remove", "device.remove", "Remove a device", "devices.remove"
                ),
            ),
        ),
        PolicyTemplate(
            "tpl-data-access",
            "Data access",
            "Authenticators vote before data is stored for a token.",
            (
                EventTemplate(
                    "evt-data-exchange",
                    "data-token.exchange",
                    "Exchange data for a token",
                    "data_tokens.exchange",
                ),
            ),
        ),
        PolicyTemplate(
            "tpl-storage-management",
            "Storage management",
            "Authenticators vote before a storage device is retired.",
            (
                EventTemplate(
                    "evt-storage-remove",
                    "storage.remove",
                    "Remove a storage device",
                    "storage.remove",
                ),
            ),
        ),
    )
}
EVENTS: Mapping[str, EventTemplate] = {e.event_id: e for t in TEMPLATES.values() for e in t.events}


@attrs.define(eq=False)
class AuthenticatorRole:
    """Present while an approved device is a verified authenticator."""

    device_identifier: str
    profile_id: str
    registered_at: float


@attrs.define(eq=False)
class VotingSettings:
    """A profile's own defaults (the ``set-*`` endpoints), used where no configuration applies."""

    strategy: str = "unanimous"
    strategy_params: int = 100
    time_limit: int = 60
    number_of_attempts: int = 1
    quorum_size: int = 1


@attrs.define(eq=False)
class VotingConfiguration:
    """A named voting configuration; its name is its id (the probe uses it as such)."""

    name: str
    profile_id: str
    strategy: str
    time_limit: int
    device_identifiers: list[str]
    percentage_required: int | None
    created_at: float


@attrs.define(eq=False)
class Policy:
    """A registered policy; it gates its events' routes only while ``active``."""

    policy_id: str
    profile_id: str
    name: str
    template_id: str
    event_ids: list[str]
    configuration: dict[str, object]
    voting_configuration_id: str | None
    created_at: float
    active: bool = False


class PoolStatus(enum.Enum):
    """A voting pool's state, as ``check-pool-status`` spells it."""

    OPEN = "open"
    APPROVED = "approved"
    DENIED = "denied"
    EXPIRED = "expired"
    CANCELLED = "cancelled"  # voting/cancel-pool (not in the seed; the sandbox's spelling)


@attrs.define(eq=False)
class Pool:
    """A voting pool: who may vote, what it takes, and the ballots so far."""

    pool_id: str
    profile_id: str
    eligible: list[str]  # authenticator device identifiers
    required: int  # yes votes that approve
    quorum: int  # ballots needed before an approval counts
    expires_at: float
    created_at: float
    description: str | None = None
    command_id: str | None = None  # the gated command, None for a manual pool
    configuration_id: str | None = None
    votes: dict[str, bool] = attrs.field(factory=dict)  # device identifier -> approve
    status: PoolStatus = PoolStatus.OPEN

    def refresh(self, now: float) -> PoolStatus:
        """Expire an open pool whose time is up; the current status."""
        if self.status is PoolStatus.OPEN and now >= self.expires_at:
            self.status = PoolStatus.EXPIRED
        return self.status

    def count(self) -> None:
        """Decide the pool from its ballots, if they decide it."""
        yes = sum(self.votes.values())
        undecided = len(self.eligible) - len(self.votes)
        if yes >= self.required and len(self.votes) >= min(self.quorum, len(self.eligible)):
            self.status = PoolStatus.APPROVED
        elif yes + undecided < self.required:
            self.status = PoolStatus.DENIED


def required_votes(strategy: str, percentage: int, eligible: int) -> int:
    """Yes votes that approve under ``strategy`` among ``eligible`` authenticators (≥ 1)."""
    if strategy == "unanimous":
        needed = eligible
    elif strategy == "consensus":
        needed = eligible // 2 + 1
    elif strategy == "affirmative":
        needed = 1
    else:
        needed = math.ceil(eligible * percentage / 100)
    return max(1, needed)


@attrs.define(eq=False)
class VotingRegistry:
    """Every voting record of one sandbox, and the gate it puts on the command engine."""

    authenticators: dict[str, AuthenticatorRole] = attrs.field(factory=dict)  # by device id
    settings: dict[str, VotingSettings] = attrs.field(factory=dict)  # by profile id
    configurations: dict[tuple[str, str], VotingConfiguration] = attrs.field(factory=dict)
    policies: dict[str, Policy] = attrs.field(factory=dict)  # by policy id
    pools: dict[str, Pool] = attrs.field(factory=dict)  # by pool id
    _engine: CommandEngine | None = attrs.field(default=None, repr=False)
    _devices: Mapping[str, object] = attrs.field(factory=dict, repr=False)

    def attach(self, engine: CommandEngine, devices: Mapping[str, object]) -> None:
        """Install :meth:`gate` on ``engine``; ``devices`` is the sandbox's device table (a
        removed device no longer votes)."""
        self._engine = engine
        self._devices = devices
        engine.gate = self.gate

    def settings_of(self, profile_id: str) -> VotingSettings:
        """The profile's settings (the defaults until a ``set-*`` command changed them)."""
        return self.settings.setdefault(profile_id, VotingSettings())

    def configuration(self, profile_id: str, name: str) -> VotingConfiguration | None:
        """The profile's configuration called ``name``; others' configurations are unknown."""
        return self.configurations.get((profile_id, name))

    def policies_using(self, profile_id: str, configuration_name: str) -> list[Policy]:
        """The profile's policies (active or not) that link the configuration by name."""
        return [
            p
            for p in self.policies.values()
            if p.profile_id == profile_id and p.voting_configuration_id == configuration_name
        ]

    def policy_by_name(self, profile_id: str, name: str) -> Policy | None:
        """The profile's policy called ``name``."""
        return next(
            (p for p in self.policies.values() if p.profile_id == profile_id and p.name == name),
            None,
        )

    def open_pool(
        self,
        pool_id: str,
        profile_id: str,
        authenticators: list[str],
        configuration: VotingConfiguration | None,
        *,
        devices: list[str] | None = None,
        description: str | None = None,
        command_id: str | None = None,
    ) -> Pool:
        """A new open pool among ``authenticators`` (narrowed by the configuration or
        ``devices``), deciding by the configuration or else the profile's settings."""
        settings = self.settings_of(profile_id)
        if configuration is not None:
            strategy = configuration.strategy
            percentage = configuration.percentage_required or DEFAULT_PERCENTAGE.get(strategy, 100)
            time_limit = configuration.time_limit
            devices = devices or configuration.device_identifiers or None
        else:
            strategy, percentage = settings.strategy, settings.strategy_params
            time_limit = settings.time_limit
        eligible = [d for d in authenticators if devices is None or d in devices]
        now = time.time()
        pool = Pool(
            pool_id,
            profile_id,
            eligible,
            required_votes(strategy, percentage, len(eligible)),
            settings.quorum_size,
            now + time_limit * settings.number_of_attempts,
            now,
            description,
            command_id,
            None if configuration is None else configuration.name,
        )
        if not eligible:
            pool.status = PoolStatus.DENIED
        self.pools[pool_id] = pool
        return pool

    def gate(self, command: Command) -> Hold | None:
        """Hold ``command`` behind a new pool if an active policy of its profile gates it."""
        profile_id = command.profile_id
        policy = next(
            (
                p
                for p in self.policies.values()
                if p.active
                and p.profile_id == profile_id
                and any(EVENTS[e].route == command.route for e in p.event_ids if e in EVENTS)
            ),
            None,
        )
        if policy is None or profile_id is None:
            return None
        configuration = (
            None
            if policy.voting_configuration_id is None
            else self.configuration(profile_id, policy.voting_configuration_id)
        )
        pool = self.open_pool(
            command.command_id,
            profile_id,
            self.authenticators_of(profile_id),
            configuration,
            description=f"{policy.name}: {command.route}",
            command_id=command.command_id,
        )
        if pool.status is PoolStatus.DENIED:
            return Hold(0.0, lambda _command: Outcome.reject("vote.no_authenticators"))

        def expire(_command: Command) -> Outcome:
            pool.status = PoolStatus.EXPIRED
            return Outcome.reject("vote.timeout")

        return Hold(pool.expires_at - time.time(), expire)

    def authenticators_of(self, profile_id: str) -> list[str]:
        """Identifiers of the profile's authenticators whose device still exists, oldest first."""
        return [
            role.device_identifier
            for role in self.authenticators.values()
            if role.profile_id == profile_id and role.device_identifier in self._devices
        ]

    def vote(self, pool_id: str, device_identifier: str, approve: bool) -> Pool:
        """Record one authenticator's ballot; a decided pool settles the command it holds.

        ``KeyError`` for an unknown pool; ``ValueError`` if the device may not vote in it or
        the pool is no longer open.
        """
        pool = self.pools[pool_id]
        if pool.refresh(time.time()) is not PoolStatus.OPEN:
            raise ValueError(f"pool {pool_id} is {pool.status.value}, not open")
        if device_identifier not in pool.eligible:
            raise ValueError(f"device {device_identifier} is not an authenticator of this pool")
        if device_identifier in pool.votes:
            raise ValueError(f"device {device_identifier} already voted in pool {pool_id}")
        pool.votes[device_identifier] = bool(approve)
        pool.count()
        if pool.status is not PoolStatus.OPEN:
            denied = pool.status is PoolStatus.DENIED
            self._release(pool, Outcome.reject("vote.denied") if denied else None)
        return pool

    def cancel(self, pool_id: str) -> Pool:
        """Cancel an open pool; the command it holds is rejected ``vote.cancelled``.

        ``KeyError`` for an unknown pool; ``ValueError`` if the pool is no longer open.
        """
        pool = self.pools[pool_id]
        if pool.refresh(time.time()) is not PoolStatus.OPEN:
            raise ValueError(f"pool {pool_id} is {pool.status.value}, not open")
        pool.status = PoolStatus.CANCELLED
        self._release(pool, Outcome.reject("vote.cancelled"))
        return pool

    def _release(self, pool: Pool, outcome: Outcome | None) -> None:
        """Settle the command a decided pool holds: by its own rule, or with ``outcome``."""
        engine = self._engine
        if pool.command_id is None or engine is None:
            return
        command = engine.commands.get(pool.command_id)
        if command is not None:
            engine.release(command, outcome)
