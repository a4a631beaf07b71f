"""Answers of the verified authenticator, policy and voting groups (wire reference §b rows 46-66
and 85-86, §c7).

Most of these answers were never recorded (the routes are inferred): every model keeps unknown
keys in ``extra``, and only the one key a caller cannot do without is required.
"""

from __future__ import annotations

import enum
from datetime import datetime
from typing import Any

import attrs

from ..errors import ProtocolError
from .converter import structure, wire_field

__all__ = [
    "Authenticator",
    "Policy",
    "PolicyEvent",
    "PolicyTemplate",
    "QuorumStrategy",
    "VotingConfiguration",
    "VotingPool",
    "VotingStrategy",
    "parse_templates",
]


class QuorumStrategy(enum.StrEnum):
    """How the authenticators' votes decide (``strategy`` on the wire)."""

    UNANIMOUS = "unanimous"  # every authenticator approves
    CONSENSUS = "consensus"  # a majority approves
    AFFIRMATIVE = "affirmative"  # one approval is enough
    MINIMUM_PERCENTAGE = "minimum_percentage"  # at least N % approve


@attrs.frozen
class Authenticator:
    """A device in the verified authenticator role."""

    device_identifier: str
    name: str | None = None
    registered_at: datetime | None = None
    extra: dict[str, Any] = attrs.field(factory=dict)


@attrs.frozen
class VotingStrategy:
    """The profile-wide voting settings (``retrieve-voting-strategy``; shape never recorded)."""

    strategy: str | None = None
    strategy_params: int | None = wire_field("strategy_params", default=None)
    time_limit: int | None = None
    number_of_attempts: int | None = None
    quorum_size: int | None = None
    extra: dict[str, Any] = attrs.field(factory=dict)

    @property
    def worst_case_seconds(self) -> int | None:
        """How long a gated command may wait for its vote: ``timeLimit * numberOfAttempts``."""
        if self.time_limit is None:
            return None
        return self.time_limit * (self.number_of_attempts or 1)


@attrs.frozen
class VotingConfiguration:
    """A named voting configuration; the name doubles as its id (the probe uses it so)."""

    name: str
    configuration_id: str | None = None
    strategy: str | None = None
    time_limit: int | None = None
    device_identifiers: list[str] = attrs.field(factory=list)
    """Authenticators that vote; empty means all of the profile's authenticators."""
    percentage_required: int | None = None
    created_at: datetime | None = None
    extra: dict[str, Any] = attrs.field(factory=dict)

    @property
    def identifier(self) -> str:
        """What update/retrieve and ``policies.register`` take: the id, else the name."""
        return self.configuration_id or self.name


@attrs.frozen
class PolicyEvent:
    """An event a policy can apply to: ``events`` of a template, keyed by event id."""

    event_id: str
    name: str | None = None
    label: str | None = None


@attrs.frozen
class PolicyTemplate:
    """One policy template; its events are keyed by event id (``applyingEventIds`` values)."""

    template_id: str
    name: str | None = None
    description: str | None = None
    events: dict[str, PolicyEvent] = attrs.field(factory=dict)
    configuration: list[str] = attrs.field(factory=list)
    """The keys a policy's ``configuration`` object is expected to carry."""
    voting_attributes: list[str] = attrs.field(factory=list)
    extra: dict[str, Any] = attrs.field(factory=dict)

    def event_by_name(self, name: str) -> PolicyEvent | None:
        """The event whose name (or label) is ``name``."""
        return next((e for e in self.events.values() if name in (e.name, e.label)), None)


@attrs.frozen
class _TemplateBody:
    name: str | None = None
    description: str | None = None
    events: dict[str, Any] = attrs.field(factory=dict)
    configuration: list[str] = attrs.field(factory=list)
    voting_attributes: list[str] = attrs.field(factory=list)
    extra: dict[str, Any] = attrs.field(factory=dict)


def _event(event_id: str, value: object) -> PolicyEvent:
    # {<eventName>: label} per the probe and the official page; a bare label is tolerated.
    if isinstance(value, dict) and len(value) == 1:
        ((name, label),) = value.items()
        return PolicyEvent(event_id, str(name), None if label is None else str(label))
    if isinstance(value, str):
        return PolicyEvent(event_id, value, value)
    if isinstance(value, dict):
        return PolicyEvent(event_id, _text(value.get("name")), _text(value.get("label")))
    raise ProtocolError(f"policies.list_templates: event {event_id!r} is {type(value).__name__}")


def _text(value: object) -> str | None:
    return None if value is None else str(value)


def parse_templates(body: object) -> dict[str, PolicyTemplate]:
    """``list-policy-templates``: an object keyed by template id (§b2), events by event id."""
    endpoint = "policies.list_templates"
    if not isinstance(body, dict):
        raise ProtocolError(f"{endpoint}: expected an object keyed by template id")
    templates: dict[str, PolicyTemplate] = {}
    for template_id, raw in body.items():
        part = structure(raw, _TemplateBody, endpoint=endpoint)
        events = {str(k): _event(str(k), v) for k, v in part.events.items()}
        templates[str(template_id)] = PolicyTemplate(
            str(template_id),
            part.name,
            part.description,
            events,
            part.configuration,
            part.voting_attributes,
            part.extra,
        )
    return templates


@attrs.frozen
class Policy:
    """A registered policy. ``policy_id`` (wire ``id``) is what activate/deactivate/delete take."""

    policy_id: str = wire_field("id")
    name: str | None = None
    policy_template_id: str | None = None
    applying_event_ids: list[str] = attrs.field(factory=list)
    configuration: dict[str, Any] = attrs.field(factory=dict)
    voting_configuration_id: str | None = None
    active: bool | None = None
    created_at: datetime | None = None
    extra: dict[str, Any] = attrs.field(factory=dict)


@attrs.frozen
class VotingPool:
    """``check-pool-status``: a voting pool's status (``open``, ``approved``, ``denied``,
    ``expired``, ``cancelled`` in the sandbox; the real vocabulary was never recorded) and
    its ballots."""

    pool_id: str
    status: str
    description: str | None = None
    approvals: int | None = None
    rejections: int | None = None
    required: int | None = None
    votes: list[dict[str, Any]] = attrs.field(factory=list)
    expires_at: datetime | None = None
    extra: dict[str, Any] = attrs.field(factory=dict)

    @property
    def open(self) -> bool:
        """True while votes are still being collected."""
        return self.status == "open"
